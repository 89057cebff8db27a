#!/bin/sh
curl -H "Authorization: Bearer ${TRUENAS_API_KEY}" http://nas01.lan/api/v2.0/system/info
