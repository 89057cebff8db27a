#!/bin/sh
curl "https://blynk.cloud/external/api/update?token=${BLYNK_TOKEN}&V1=1"
