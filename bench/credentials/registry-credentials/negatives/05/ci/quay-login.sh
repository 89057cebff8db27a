#!/bin/sh
docker login -u="$QUAY_ROBOT" -p="$QUAY_TOKEN" quay.io
