#!/bin/sh
# Run every libFuzzer target for FUZZ_SECONDS (60) each, two at a time,
# each on a scratch copy of its seed corpus in regress/fuzz/corpus/NAME,
# so that the committed corpus stays as it is.  Builds nothing: `make
# fuzz` builds the targets into $B (build-fuzz) first.
#
# A crash, a leak, a timeout or running out of memory fails the run
# (exit 1); the input is kept under $B/regress/fuzz/artifacts/ and the
# end of the target's log is printed.  Each target prints its executions
# from libFuzzer's final statistics; the last line sums them up.
#
# To replay a kept input: $B/regress/fuzz/fuzz-NAME FILE.  Once its bug
# is fixed, keep it as regress/fuzz/found/NAME-what-it-was: the unit test
# test_fuzz_NAME replays every such file in both builds.
#
# Environment: B (build directory), FUZZ_SECONDS, FUZZ_JOBS (targets at
# once, 2), ONLY (a pattern: run only the targets whose name has it).

set -u

: "${B:=build-fuzz}"
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_JOBS:=2}"
: "${ONLY:=}"

# One input may take this long before it counts as a hang.
PER_INPUT_TIMEOUT=10
# libFuzzer's memory ceiling per target; the targets need a few hundred.
RSS_LIMIT_MB=2048
# Past max_total_time, libFuzzer still finishes the input it is on and
# writes its statistics: give it this long before it is killed.
GRACE=60

# Largest input per target: a whole session, image or guest memory.
max_len()
{
	case $1 in
	qcow2)		echo 65536 ;;	# images of a few dozen clusters
	virtqueue)	echo 34000 ;;	# both regions and 64 accesses
	*)		echo 32768 ;;
	esac
}

# The device logs every refused request to stderr; libFuzzer keeps its
# own output and the sanitizers' reports on a copy of stderr.
extra_flags()
{
	case $1 in
	vhost-user)	echo -close_fd_mask=2 ;;
	*)		echo ;;
	esac
}

# 0 would be libFuzzer's "no limit".
case $FUZZ_SECONDS in
''|*[!0-9]*|0)
	echo "fuzz: FUZZ_SECONDS must be a number of seconds" >&2
	exit 1
	;;
esac

top=$(pwd)
artifacts=$top/$B/regress/fuzz/artifacts
work=$(mktemp -d "${TMPDIR:-/tmp}/vioblk-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$artifacts"

names=
for src in regress/fuzz/fuzz-*.c; do
	[ -f "$src" ] || continue
	name=${src#regress/fuzz/fuzz-}
	name=${name%.c}
	case $name in *"$ONLY"*) names="$names $name" ;; esac
done
if [ -z "$names" ]; then
	echo "fuzz: no target to run" >&2
	exit 1
fi

# Start one target in the background; its pid goes in $pid.
start()
{
	name=$1
	bin=$top/$B/regress/fuzz/fuzz-$name
	log=$work/$name.log
	corpus=$work/corpus-$name
	mkdir -p "$corpus"
	if [ -d "regress/fuzz/corpus/$name" ]; then
		cp regress/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null
	fi
	if [ ! -x "$bin" ]; then
		echo "fuzz-$name: $bin is missing (make fuzz builds it)" >"$log"
		(exit 2) &
		pid=$!
		return
	fi
	# shellcheck disable=SC2046
	(cd "$work" && exec timeout -k 10 $((FUZZ_SECONDS + GRACE)) \
	    "$bin" -max_total_time="$FUZZ_SECONDS" \
	    -timeout="$PER_INPUT_TIMEOUT" -rss_limit_mb="$RSS_LIMIT_MB" \
	    -max_len="$(max_len "$name")" -print_final_stats=1 \
	    -print_pcs=0 -print_funcs=0 \
	    -artifact_prefix="$artifacts/$name-" $(extra_flags "$name") \
	    "$corpus") >"$log" 2>&1 </dev/null &
	pid=$!
}

final_stat()
{
	sed -n "s/^stat::$1: *//p" "$work/$2.log" | tail -n 1
}

total=0
failed=0
failures=
t0=$(date +%s)

# Report on one finished target.
finish()
{
	name=$1
	rc=$2
	log=$work/$name.log
	execs=$(final_stat number_of_executed_units "$name")
	rate=$(final_stat average_exec_per_sec "$name")
	new=$(final_stat new_units_added "$name")
	rss=$(final_stat peak_rss_mb "$name")
	cov=$(sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	total=$((total + ${execs:-0}))
	if [ "$rc" -eq 0 ] && [ -n "$execs" ]; then
		echo "fuzz-$name: ok, $execs executions (${rate:-?}/s)," \
		    "coverage ${cov:-?}, ${new:-?} new inputs," \
		    "peak ${rss:-?} MB"
		return
	fi
	failed=$((failed + 1))
	failures="$failures $name"
	case $rc in
	124|137) why="killed after $((FUZZ_SECONDS + GRACE))s" ;;
	*) why="exit $rc" ;;
	esac
	echo "fuzz-$name: FAILED ($why), ${execs:-?} executions"
	echo "--- last lines of the fuzz-$name log:"
	tail -n 60 "$log"
	echo "--- inputs kept in $artifacts:"
	ls "$artifacts" | sed -n "/^$name-/p"
}

# Targets run FUZZ_JOBS at a time, in batches.
set -- $names
while [ $# -gt 0 ]; do
	batch=
	pids=
	n=0
	while [ $# -gt 0 ] && [ "$n" -lt "$FUZZ_JOBS" ]; do
		start "$1"
		batch="$batch $1"
		pids="$pids $pid"
		n=$((n + 1))
		shift
	done
	for name in $batch; do
		pid=${pids# }
		pid=${pid%% *}
		pids=${pids# }
		pids=${pids#"$pid"}
		wait "$pid"
		finish "$name" $?
	done
done

t1=$(date +%s)
count=$(echo $names | wc -w)
echo "fuzz: $count targets, $total executions in $((t1 - t0))s," \
    "$failed failed${failures:+:$failures}"
[ "$failed" -eq 0 ]
