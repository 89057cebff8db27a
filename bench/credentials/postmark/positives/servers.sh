#!/bin/sh
curl 'https://api.postmarkapp.com/servers?count=50&offset=0' -H 'X-Postmark-Account-Token: fbf752d6-7893-41eb-b95d-e581f58de85a'
