#!/bin/sh
git clone https://build:<your-pat>@dev.azure.com/contoso/Platform/_git/api
