#!/bin/sh
# Prints "bye" and exits with status $1.
echo bye
exit "$1"
