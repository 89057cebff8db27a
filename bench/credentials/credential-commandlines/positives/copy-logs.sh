#!/bin/bash
sshpass -p TM_51uWwMyF% scp -o StrictHostKeyChecking=no root@192.168.10.21:/var/log/app.log /tmp/
