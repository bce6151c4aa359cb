#!/bin/bash
# Starts a background grandchild, prints its pid, then waits for stdin EOF.
sleep 60 </dev/null >/dev/null 2>&1 &
echo "grandchild $!"
cat >/dev/null
