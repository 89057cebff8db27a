publishing {
    repositories {
        maven {
            url = uri("https://artifactory.acme.example/libs-release")
            credentials {
                username = "ci-publisher"
                password = "Ess6fRPTsx_=Dt8Y"
            }
        }
    }
}
