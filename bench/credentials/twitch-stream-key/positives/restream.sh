#!/bin/sh
ffmpeg -re -i /media/loop.mp4 -c:v libx264 -preset veryfast -b:v 3000k -c:a aac \
  -f flv rtmp://live.twitch.tv/app/live_915477047_H11E6L0cJzRJUAP9y0B3vssCVbnDSy
