#!/bin/sh
curl -v -X POST https://thingsboard.cloud/api/v1/qlqnakk34ta00qj1v8t4/telemetry \
  --header Content-Type:application/json --data '{"temperature":25}'
