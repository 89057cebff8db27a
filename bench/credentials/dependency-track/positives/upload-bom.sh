#!/bin/sh
curl -X POST https://dtrack.acme.example/api/v1/bom \
  -H 'X-Api-Key: odt_nkHFhwoOlTyhjAXFePAG59VhfyIOBBvD' \
  -F 'autoCreate=true' -F 'projectName=api' -F 'bom=@bom.json'
