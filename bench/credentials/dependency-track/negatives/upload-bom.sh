#!/bin/sh
curl -X POST "$DT_URL/api/v1/bom" -H "X-Api-Key: ${DT_API_KEY}" -F 'bom=@bom.json'
