#!/bin/sh
curl -X POST 'http://192.168.0.30/api/v2.0/device/get_info' -H 'Content-Type: application/json' \
  -H 'Authorization: Bearer 2-1zMAPIyuMQUfIK3H2o0JOJjarnemZVEZbEB18L0xSdif9XJ8c8ciT8eRjqrMeGCP' -d '"SERIAL"'
