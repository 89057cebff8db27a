#!/bin/sh
curl -s -u :40HhZzuYplssuLdM88k12FqCwrsrfGeSygiqYqccvPBG9CsdQ0x7JQQJ99BDACAAAAAAAAAAAAASAZDOt7Mx 'https://dev.azure.com/contoso/_apis/projects?api-version=7.1'
