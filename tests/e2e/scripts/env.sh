#!/bin/sh
# Prints the environment, one VAR=value per line, then exits.
exec env
