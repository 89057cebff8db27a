#!/bin/sh
ffmpeg -re -i in.mp4 -f flv "rtmp://live.twitch.tv/app/${STREAM_KEY}"
