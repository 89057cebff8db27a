#!/bin/sh
echo 'deploy:$5$ckjQs7kZj4D1Iiul$SfNtoMlqFkgt/OaJp4X83PBkMT2O0UOs232OIet66J5' | chpasswd -e
