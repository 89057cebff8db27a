#!/bin/sh
curl https://api.postmarkapp.com/email -X POST -H 'Accept: application/json' \
  -H 'Content-Type: application/json' -H 'X-Postmark-Server-Token: 260a0e02-6682-475e-9d43-6dea4810eac8' \
  -d '{"From":"ops@acme.example","To":"a@b.example","Subject":"hi","TextBody":"hi"}'
