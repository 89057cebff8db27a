#!/bin/sh
curl https://api.postmarkapp.com/email -H "X-Postmark-Server-Token: $POSTMARK_TOKEN" -d @mail.json
