#!/bin/sh
sshpass -p 'B2Y=felGClW6jk' rsync -az -e ssh /srv/data backup@10.0.0.5:/backups/
