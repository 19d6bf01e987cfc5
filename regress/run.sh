#!/bin/sh
# Run every test suite and sum the results into one line:
#   N passed, N failed[, N skipped]
#
# Suites: each cmocka binary under $B/regress/unit (TAP output) and each
# regress/test-*.sh script.  A script exits 0 (pass), 77 (skip) or
# anything else (fail); it may print TAP lines ("ok N - x", "not ok N - x",
# "ok N - x # SKIP why") to report several cases, which are then counted
# one by one; cmocka says "not ok N # SKIP x" for a skip, which counts as
# one too.  A suite that dies without reporting a failure counts as one.
#
# Environment: B (build directory), SANITIZE (0 or 1), ONLY (a pattern:
# run only the suites whose name contains it).

set -u

: "${B:=build}"
: "${SANITIZE:=0}"
: "${ONLY:=}"
export B SANITIZE

# Each suite gets at most this long: a hung test must not hang CI.
SUITE_TIMEOUT=${SUITE_TIMEOUT:-900}

# The sandboxed child cannot be stopped by LeakSanitizer's ptrace; tests
# that start it set their own ASAN_OPTIONS.  Elsewhere leaks are errors.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export CMOCKA_MESSAGE_OUTPUT=TAP

top=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vioblk-test.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

passed=0
failed=0
skipped=0
failures=

run_suite()
{
	name=$1
	shift
	case $name in *"$ONLY"*) ;; *) return ;; esac
	out=$work/out
	scratch=$work/scratch
	mkdir -p "$scratch"
	echo "=== $name"
	(cd "$top" && TMPDIR=$scratch timeout -k 10 "$SUITE_TIMEOUT" "$@") \
	    >"$out" 2>&1 </dev/null
	rc=$?
	rm -rf "$scratch"
	cat "$out"
	p=$(grep '^ok [0-9]' "$out" | grep -vc '# SKIP')
	s=$(grep -E '^(not )?ok [0-9]' "$out" | grep -c '# SKIP')
	f=$(grep '^not ok [0-9]' "$out" | grep -vc '# SKIP')
	if [ $((p + s + f)) -eq 0 ]; then
		case $rc in
		0)	p=1 ;;
		77)	s=1 ;;
		*)	f=1 ;;
		esac
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$f" -eq 0 ]; then
		echo "$name: exited $rc after reporting no failure"
		f=1
	fi
	[ "$rc" -eq 124 ] && echo "$name: timed out after ${SUITE_TIMEOUT}s"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failures="$failures $name"
	echo "--- $name: $p passed, $f failed, $s skipped"
}

for t in "$B"/regress/unit/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit/${t##*/}" "$t"
done

for t in regress/test-*.sh; do
	[ -f "$t" ] || continue
	run_suite "${t%.sh}" sh "$t"
done

[ -n "$failures" ] && echo "failed suites:$failures"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
