#!/bin/sh
curl -H 'Content-Type: application/json' -d '{"text":"ok"}' 'https://prod-65.westeurope.logic.azure.com:443/workflows/fa9cee926662093e3ba15b0fef6737aa/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=5IjCMzNGeTG7Z9gKBQ9lsf--1qwoI6x3BgAzRfZbLKE'
