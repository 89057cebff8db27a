#!/bin/sh
git clone https://build:nGrsxpg8kd7ocHWXxn6hoVbgYEpltM1M6MP5d4ZVLVWmbHVyoqsTJQQJ99BBACAAAAAAAAAAAAASAZDOiY4P@dev.azure.com/contoso/Platform/_git/api /src/api
