#!/bin/sh
# Prints 1..N (default 3), one line at a time.
n=${1:-3}
i=1
while [ "$i" -le "$n" ]; do
    echo "$i"
    i=$((i + 1))
done
