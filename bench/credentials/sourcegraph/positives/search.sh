#!/bin/bash
curl -s -H 'Authorization: token sgp_45f886e24dfbaae502051d297935604c32ed40e3' \
  -d '{"query":"query { currentUser { username } }"}' https://sourcegraph.com/.api/graphql
