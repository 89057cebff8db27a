#!/bin/sh
mosquitto_pub -d -q 1 -h thingsboard.cloud -p 1883 -t v1/devices/me/telemetry \
  -u "ziagv3vcmtppwr2bm5e0" -m '{"temperature":25}'
