#!/bin/sh
# Busy for 5 s without reading stdin (pings must still be answered).
echo busy
sleep 5
echo done
