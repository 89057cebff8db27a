curl -X POST https://thingsboard.cloud/api/v1/gnj1td29/telemetry
