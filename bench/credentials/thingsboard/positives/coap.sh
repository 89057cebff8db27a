#!/bin/sh
coap-client -m post coap://coap.thingsboard.cloud/api/v1/85m46bw8rext0jfjv1gl/telemetry -t json -e '{"hum":40}'
