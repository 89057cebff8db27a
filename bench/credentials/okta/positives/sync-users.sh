#!/bin/sh
set -eu
curl -s -H 'Accept: application/json' \
  -H 'Authorization: SSWS 00PDbZy_98A-jEZiKtLgCE-KzTn6twERJ_FPi8OR2g' \
  'https://acme.okta.com/api/v1/users?limit=200' > /tmp/users.json
