#!/bin/sh
# Device rows of the benchmark table:
#   BENCH <row> ours=<n> ref=<n> unit=<unit> ratio=<ours/ref>
# ours: requests end to end through the regress VMM (devbench), the
# eventfd path and vioblk's sandboxed child; ref: the same requests
# through backing_preadv/backing_pwritev in one process, on the same
# image in the same run.  Each figure is the best of BENCH_RUNS runs.
#
#   device-randread-4k-qd1, -qd32	4 KiB random reads, req/s
#   device-seqwrite-1m			1 MiB sequential writes, MiB/s

set -u
: "${B:=build}"
RUNS=${BENCH_RUNS:-3}
DEVBENCH=$B/regress/vmm/devbench
VIOBLK=$B/vioblk
# 100000 reads from the page cache take about a second end to end.
READS=100000
# 2000 writes of 1 MiB: four times round the disk.
WRITES=2000
# The regress VMM's driver watches its used ring this long (us) before it
# sleeps on the call eventfd, as a vCPU with KVM's halt polling does; the
# device polls its avail ring likewise after a kick (VIOBLK_POLL_NS).
POLL_US=50
# The disk: 512 MiB of data, a fully allocated qcow2 in the page cache.
DISK=536870912

if [ ! -x "$DEVBENCH" ] || [ ! -x "$VIOBLK" ]; then
	echo "bench: $DEVBENCH or $VIOBLK not built" >&2
	exit 1
fi
if ! command -v qemu-img >/dev/null; then
	echo "bench: qemu-img is needed (apt-get install qemu-utils)" >&2
	exit 1
fi
W=$(mktemp -d "${TMPDIR:-/tmp}/bench-device.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT INT TERM

db() { timeout -k 5 120 "$DEVBENCH" "$@"; }

# best CMD...: the largest of RUNS outputs of CMD.
best()
{
	r=0
	while [ $r -lt "$RUNS" ]; do
		"$@" || return 1
		r=$((r + 1))
	done | awk 'NR == 1 || $1 > b { b = $1 } END { if (NR) print b }'
}

row()
{
	if [ -z "$2" ] || [ -z "$3" ]; then
		echo "BENCH $1 failed"
		return
	fi
	awk -v n="$1" -v o="$2" -v r="$3" -v u="$4" 'BEGIN {
		printf "BENCH %s ours=%s ref=%s unit=%s ratio=%.3f\n",
		    n, o, r, u, o / r
	}'
}

yes "vioblk device bench" | head -c $DISK >"$W/gen.raw"
qemu-img convert -f raw -O qcow2 "$W/gen.raw" "$W/conv.qcow2" || exit 1
cat "$W/conv.qcow2" >"$W/disk.qcow2"
rm -f "$W/gen.raw" "$W/conv.qcow2"
img=$W/disk.qcow2

for qd in 1 32; do
	ours=$(best db -n $READS -q $qd -p $POLL_US randread -- "$VIOBLK" -d \
	    "$img")
	ref=$(best db -r -n $READS randread "$img")
	row device-randread-4k-qd$qd "$ours" "$ref" req/s
done

ours=$(best db -n $WRITES -q 8 -p $POLL_US seqwrite -- "$VIOBLK" -d "$img")
ref=$(best db -r -n $WRITES seqwrite "$img")
row device-seqwrite-1m "$ours" "$ref" MiB/s
