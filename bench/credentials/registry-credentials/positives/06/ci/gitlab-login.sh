#!/bin/sh
echo 'gldt-sdLG6SgICzW8CYrqHAcR' | docker login registry.gitlab.com -u gitlab+deploy-token-4821 --password-stdin
