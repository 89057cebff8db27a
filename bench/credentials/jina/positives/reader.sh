#!/bin/sh
curl -s https://r.jina.ai/https://example.com \
  -H 'Authorization: Bearer jina_374ae236d60df43bba38f777ba1e384eXQUSSEOxdhBAXYD3NwjZkARvyjdC'
