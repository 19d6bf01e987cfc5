#!/bin/sh
# The benchmark table: every regress/bench/bench-*.sh in turn, each
# printing one line per row:
#   BENCH <row> ours=<n> ref=<n> unit=<unit> ratio=<r>
# where ratio > 1 means we are better (ours/ref for rates, ref/ours for
# times and sizes), both figures measured in the same run.

set -u
: "${B:=build}"
export B

rc=0
for s in regress/bench/bench-*.sh; do
	echo "=== ${s##*/}"
	sh "$s" || { echo "bench: ${s##*/} failed"; rc=1; }
done
exit $rc
