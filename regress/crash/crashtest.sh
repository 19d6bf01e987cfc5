#!/bin/sh
# make crashtest: the crash simulation of regress/test-crash-consistency.sh
# at about ten times its size: CRASHTEST_SEEDS seeds per workload, longer
# workloads and more subsets per window.  Prints the number of states.

set -u
: "${B:=build}"
. regress/qemu.subr
. regress/crash/crash.subr
TO="timeout -k 5 1800"
SIM=$B/regress/crash/crashsim
SEEDS=${CRASHTEST_SEEDS:-6}
# Ops per workload and subsets per window: both above make test's.
OPS=60
TRIALS=10

[ -x "$SIM" ] || { echo "crashtest: $SIM not built" >&2; exit 1; }
total=0
start=$(date +%s)
for wl in $CRASH_WORKLOADS; do
	s=1
	while [ $s -le "$SEEDS" ]; do
		crash_run "$wl seed $s" "$wl" states "$SIM" -n $OPS -s $s \
		    -r $TRIALS
		s=$((s + 1))
	done
done
echo "1..$n"
echo "crashtest: $total crash states in $(( $(date +%s) - start ))s," \
    "$fails failed"
[ "$fails" -eq 0 ]
