repositories {
    maven {
        url = uri("https://nexus.acme.example/repository/releases/")
        credentials {
            username = System.getenv("MAVEN_USER")
            password = System.getenv("MAVEN_PASSWORD")
        }
    }
}
