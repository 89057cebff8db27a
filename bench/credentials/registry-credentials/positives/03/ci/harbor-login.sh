#!/bin/sh
docker login harbor.acme.example -u 'robot$ci-push' -p 'EiapLlbaAkUjAoVqGCfkpvLEp3HBZ8vD'
