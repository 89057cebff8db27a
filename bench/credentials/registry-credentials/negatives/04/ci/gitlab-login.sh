#!/bin/sh
docker login registry.gitlab.com -u gitlab+deploy-token-1 -p gldt-xxxxxxxxxxxxxxxxxxxx
