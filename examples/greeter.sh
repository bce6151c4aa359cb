#!/bin/bash
# Reads a line per message and answers it: an interactive example.
while read -r name; do
    echo "Hello, $name!"
done
