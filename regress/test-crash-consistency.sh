#!/bin/sh
# Crash consistency: each workload of regress/crash/crash.subr runs on its
# image through the recording I/O layer; the image is then rebuilt as a
# crash would have left it after every prefix of the host calls, and
# after random subsets (some torn into sectors) of the writes between
# two syncs.  Every state must pass `qemu-img check` (leaks allowed; a
# dirty one after our layer repaired it, without even a leak), open in
# our layer, and hold every write acknowledged before the last completed
# flush.  Prints the number of states; at least CRASH_MIN_STATES.

set -u
: "${B:=build}"
. regress/qemu.subr
. regress/crash/crash.subr
TO="timeout -k 5 300"
SIM=$B/regress/crash/crashsim
# A fixed seed, so that a failure can be run again: CRASH_SEED=N.
SEED=${CRASH_SEED:-1}
# Subsets tried per window between two syncs.
TRIALS=6
# What issue 7 asks of `make test`.
CRASH_MIN_STATES=2000

[ -x "$SIM" ] || { echo "SKIP: $SIM not built"; exit 77; }
total=0
for wl in $CRASH_WORKLOADS; do
	crash_run "$wl" "$wl" states "$SIM" -s "$SEED" -r $TRIALS
done
if [ "$total" -ge $CRASH_MIN_STATES ]; then
	ok "$total crash states judged (at least $CRASH_MIN_STATES)"
else
	notok "only $total crash states judged (at least $CRASH_MIN_STATES)"
fi
echo "1..$n"
[ "$fails" -eq 0 ]
