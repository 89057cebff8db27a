#!/bin/sh
mosquitto_pub -h io.adafruit.com -p 8883 -u greenhouse_lab -P aio_78VTOEPoBhPQuMvgfqi1qYGE05Zj \
  -t greenhouse_lab/feeds/humidity -m 48
