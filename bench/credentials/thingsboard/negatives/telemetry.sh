#!/bin/sh
curl -X POST http://localhost:8080/api/v1/$ACCESS_TOKEN/telemetry -d '{"t":1}'
