curl -v -X POST http://thingsboard.cloud/api/v1/YOUR_ACCESS_TOKEN/telemetry --data '{"temperature":25}'
