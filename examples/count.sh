#!/bin/bash
# Counts to 10, one number a second: each line becomes one WebSocket message.
for ((COUNT = 1; COUNT <= 10; COUNT++)); do
    echo "$COUNT"
    sleep 1
done
