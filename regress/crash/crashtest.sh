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
		mkdir "$W/$wl"
		if ! chain=$(crash_setup "$wl" "$W/$wl" 2>"$W/err"); then
			notok "$wl: making the image: $(why "$W/err")"
			rm -rf "${W:?}/$wl"
			s=$((s + 1))
			continue
		fi
		# shellcheck disable=SC2086
		$TO "$SIM" -n $OPS -s $s -r $TRIALS -w "$wl" "$W/$wl" $chain \
		    >"$W/out" 2>"$W/err"
		rc=$?
		grep '^#' "$W/out" | head -20
		line=$(grep '^crashsim: ' "$W/out")
		states=$(echo "$line" | sed -n 's/.*: \([0-9]*\) states.*/\1/p')
		if [ $rc -eq 0 ] && [ -n "$states" ]; then
			total=$((total + states))
			ok "$wl seed $s: ${line#crashsim: $wl: }"
		else
			notok "$wl seed $s: crashsim exit $rc:" \
			    "${line:-$(why "$W/err")}"
		fi
		rm -rf "${W:?}/$wl"
		s=$((s + 1))
	done
done
echo "1..$n"
echo "crashtest: $total crash states in $(( $(date +%s) - start ))s," \
    "$fails failed"
[ "$fails" -eq 0 ]
