#!/bin/sh
echo "$HARBOR_ROBOT_SECRET" | docker login harbor.acme.example -u 'robot$ci-push' --password-stdin
