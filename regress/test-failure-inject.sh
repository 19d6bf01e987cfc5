#!/bin/sh
# Failure injection, as qemu's iotest 026 does it: for each workload of
# regress/crash/crash.subr, every write-side host call in turn fails with
# EIO, then with ENOSPC, then every sync does.  The request during which
# it failed must return that error, the process carries on and closes
# the image, `qemu-img check` finds at most leaks, and every write
# acknowledged before the last successful flush is there.  A failed sync
# is sticky: every later flush of the workload fails with EIO, though the
# later syncs would succeed.  One more run lets every pwritev write only
# half its bytes: nothing may fail.

set -u
: "${B:=build}"
. regress/qemu.subr
. regress/crash/crash.subr
TO="timeout -k 5 300"
FI=$B/regress/crash/failinject
SEED=${CRASH_SEED:-1}
# Ops per workload: every call of every op is failed twice, keep it short.
OPS=15

[ -x "$FI" ] || { echo "SKIP: $FI not built"; exit 77; }
total=0
for wl in $CRASH_WORKLOADS; do
	crash_run "$wl" "$wl" runs "$FI" -n $OPS -s "$SEED"
done
echo "# $total runs with one failed host call each"
echo "1..$n"
[ "$fails" -eq 0 ]
