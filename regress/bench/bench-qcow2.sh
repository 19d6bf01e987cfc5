#!/bin/sh
# The qcow2 rows of the benchmark table (see run.sh for the line format).
# Each figure is the best of BENCH_RUNS short runs with a fixed seed, on
# images in the page cache.
#
# qcow2 rows: our backing layer against a raw file read or written with
# plain pread/pwrite (the limit), against `qemu-img bench`, and our peak
# memory against the cache budget.

set -u
: "${B:=build}"
RUNS=${BENCH_RUNS:-3}
QBENCH=$B/regress/tools/qbench
# 200000 random 4 KiB requests take a fraction of a second from the page
# cache: enough to average out, short enough for three runs a row.
COUNT=200000
# The qemu-img bench stride: a prime number of 4 KiB blocks near 256 MiB,
# so that successive requests land far apart, wrapping round the image.
STEP=$((65521 * 4096))
GIB=1073741824
# BACKING_CACHE_DEFAULT, in KiB: the memory budget the rss row checks.
CACHE_KIB=32768

if [ ! -x "$QBENCH" ]; then
	echo "bench: $QBENCH not built" >&2
	exit 1
fi
if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	echo "bench: qemu-img and qemu-io are needed (apt-get install" \
	    "qemu-utils)" >&2
	exit 1
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT INT TERM

qb() { timeout -k 5 120 "$QBENCH" "$@"; }

# pair max|min: RUNS runs each of run_ours and run_ref, alternated
# so that neither always follows the other's dirty pages (written out
# first, untimed); sets $ours and $ref to the best output of each.
pair()
{
	r=0
	: >"$W/ours.out"
	: >"$W/ref.out"
	while [ $r -lt "$RUNS" ]; do
		sync
		run_ours >>"$W/ours.out" || break
		sync
		run_ref >>"$W/ref.out" || break
		r=$((r + 1))
	done
	ours=$(pick "$1" <"$W/ours.out")
	ref=$(pick "$1" <"$W/ref.out")
}

pick()
{
	awk -v how="$1" 'NR == 1 || (how == "max" && $1 > b) ||
	    (how == "min" && $1 < b) { b = $1 } END { if (NR) print b }'
}

# wall CMD...: seconds CMD takes, start to exit.
wall()
{
	t0=$(date +%s%N)
	timeout -k 5 120 "$@" >/dev/null || return 1
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", (b - a) / 1e9 }'
}

# row NAME OURS REF UNIT rate|time
row()
{
	if [ -z "$2" ] || [ -z "$3" ]; then
		echo "BENCH $1 failed"
		return
	fi
	awk -v n="$1" -v o="$2" -v r="$3" -v u="$4" -v k="$5" 'BEGIN {
		ratio = (k == "rate") ? o / r : r / o
		printf "BENCH %s ours=%s ref=%s unit=%s ratio=%.3f\n",
		    n, o, r, u, ratio
	}'
}

# A 1 GiB disk of non-zero data, raw and as a fully allocated qcow2.  Both
# files are written the same way, by cat: how a file was written (in
# place by qemu, or in small or large chunks) changes the speed of later
# 4 KiB overwrites into its cached pages by up to 3 times.
yes "vioblk bench data" | head -c $GIB >"$W/gen.raw"
dd if=/dev/urandom of="$W/gen.raw" bs=1M count=64 seek=100 conv=notrunc \
    2>/dev/null
cat "$W/gen.raw" >"$W/full.raw"
rm -f "$W/gen.raw"
timeout -k 5 120 qemu-img convert -f raw -O qcow2 "$W/full.raw" \
    "$W/conv.qcow2"
cat "$W/conv.qcow2" >"$W/full.qcow2"
rm -f "$W/conv.qcow2"
cat "$W/full.raw" "$W/full.qcow2" >/dev/null

run_ours() { qb randread -n $COUNT "$W/full.qcow2"; }
run_ref() { qb randread -r -n $COUNT "$W/full.raw"; }
pair max
row qcow2-randread-4k "$ours" "$ref" req/s rate

run_ours() { qb seqread "$W/full.qcow2"; }
run_ref() { qb seqread -r "$W/full.raw"; }
pair max
row qcow2-seqread-1m "$ours" "$ref" MiB/s rate

run_ours() { wall "$QBENCH" randread -n $COUNT -S $STEP "$W/full.qcow2"; }
run_ref()
{
	wall qemu-img bench -f qcow2 -s 4096 -c $COUNT -d 1 -S $STEP \
	    "$W/full.qcow2"
}
pair min
row qcow2-randread-4k-vs-qemu "$ours" "$ref" s time

# Allocating writes: a fresh empty image each run, filled then flushed.
run_ours()
{
	rm -f "$W/empty.qcow2"
	qemu-img create -q -f qcow2 "$W/empty.qcow2" 1G || return 1
	wall "$QBENCH" allocwrite "$W/empty.qcow2"
}
run_ref()
{
	rm -f "$W/empty.qcow2"
	qemu-img create -q -f qcow2 "$W/empty.qcow2" 1G || return 1
	wall qemu-img bench -f qcow2 -w -s 65536 -c 16384 -d 1 -t writeback \
	    "$W/empty.qcow2"
}
pair min
rm -f "$W/empty.qcow2"
row qcow2-alloc-write-64k "$ours" "$ref" s time

run_ours() { qb overwrite -n $COUNT "$W/full.qcow2"; }
run_ref() { qb overwrite -r -n $COUNT "$W/full.raw"; }
pair max
row qcow2-overwrite-4k "$ours" "$ref" req/s rate
rm -f "$W/full.raw" "$W/full.qcow2"

# Memory: a 64 GiB disk of 4 KiB clusters with one cluster written every
# 2 MiB has an L2 table for every 2 MiB, 128 MiB of them in all, four
# times the cache budget.  Random reads over it must stay in budget.
qemu-img create -q -f qcow2 -o cluster_size=4096 "$W/big.qcow2" 64G
timeout -k 5 120 qemu-img bench -f qcow2 -w -s 4096 -S 2M -c 32768 -d 1 \
    "$W/big.qcow2" >/dev/null
ours=$(for r in $(seq "$RUNS"); do qb rss -n $COUNT "$W/big.qcow2"; done |
    pick min)
row qcow2-rss "$ours" "$CACHE_KIB" KiB time
