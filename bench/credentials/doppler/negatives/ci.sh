#!/bin/sh
doppler run --token "$DOPPLER_TOKEN" -- ./start.sh
