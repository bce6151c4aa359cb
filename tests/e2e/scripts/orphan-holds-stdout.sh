#!/bin/sh
# Exits at once, leaving a background process that still holds stdout open.
sleep 60 &
echo "grandchild $!"
exit 0
