#!/bin/sh
export DOPPLER_TOKEN=dp.pt.DmmUG1EyAVwRCqOKQDZGB9PGQuBxe9c4wpVH1SgzpBw
doppler secrets download --no-file --format env > .env
