#!/bin/sh
# Prints $0 and each argument on its own line.
echo "$0"
for a in "$@"; do
    echo "$a"
done
