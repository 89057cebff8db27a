#!/bin/sh
curl -s https://r.jina.ai/https://example.com -H "Authorization: Bearer $JINA_API_KEY"
