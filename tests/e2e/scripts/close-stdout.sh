#!/bin/sh
# Prints one line (with its pid), closes its stdout, then keeps running
# (reads stdin).
echo "closing stdout $$"
exec >&-
cat >/dev/null
sleep 60
