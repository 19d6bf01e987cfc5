#!/bin/sh
# vioblk.8 stays clean under mandoc's linter.
if ! command -v mandoc >/dev/null 2>&1; then
	echo "SKIP: mandoc not installed"
	exit 77
fi
out=$(mandoc -Tlint -W warning vioblk.8 2>&1)
status=$?
[ -n "$out" ] && echo "$out"
[ "$status" -eq 0 ] && [ -z "$out" ]
