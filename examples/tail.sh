#!/bin/sh
# A live log viewer for many browsers at once: one program, every client
# sees the same lines.
#
#   wsd --port=8080 --shared --devconsole examples/tail.sh /var/log/syslog
#
# then open http://localhost:8080/ in as many tabs as you like and press
# Connect: one `tail -F` runs for all of them (without --shared, wsd would
# start one per client). Without a file it follows a demo log that it writes
# itself, a line a second.
if [ -n "$1" ]; then
    exec tail -n 10 -F "$1"
fi
log=$(mktemp "${TMPDIR:-/tmp}/wsd-tail-demo.XXXXXX")
trap 'rm -f "$log"' EXIT INT TERM
( n=0; while :; do n=$((n + 1)); echo "$(date '+%H:%M:%S') demo line $n" >>"$log"; sleep 1; done ) &
writer=$!
tail -n 10 -F "$log"
kill "$writer" 2>/dev/null
