#!/bin/sh
curl https://fra1.blynk.cloud/api/organization/profile \
  -H "Authorization: Bearer la2RpOfDnJyWNrhSTSdeTaR236dIin8UZNll5oEF"
