#!/bin/sh
sshpass -f /run/secrets/backup_pw rsync -az /srv/data backup@10.0.0.5:/backups/
SSHPASS="$(cat /run/secrets/pw)" sshpass -e ssh backup@10.0.0.5 true
