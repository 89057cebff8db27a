#!/bin/sh
mvn -B verify sonar:sonar -Dsonar.host.url=https://sonar.acme.example -Dsonar.login=01d161817002705b3d133886699347b0522ac8b2
