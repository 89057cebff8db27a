#!/bin/sh
export VAULT_TOKEN=s.GfhOVOUsv1gjdEBCuZ45WnBP
vault kv get secret/app
