#!/bin/sh
# Guest benchmark rows: a Linux guest under QEMU (TCG) times, itself, a
# dd of 64 MiB with bs=1M and O_DIRECT to then from /dev/vda, on vioblk
# and on qemu-storage-daemon's vhost-user-blk export, each serving a
# fresh, identical empty qcow2 image; same guest, same run, alternated.
#   BENCH guest-seqwrite-64m ours=<ms> ref=<ms> unit=ms ratio=<ref/ours>
#   BENCH guest-seqread-64m  ours=<ms> ref=<ms> unit=ms ratio=<ref/ours>
# ratio > 1 means vioblk is faster.  Each figure is the best of
# BENCH_RUNS boots with BENCH_REPS passes each; the first write pass of
# a boot allocates the image's clusters, the later ones overwrite them.

set -u
: "${B:=build}"
top=$(pwd)
. "$top/regress/guest.subr"

RUNS=${BENCH_RUNS:-3}
REPS=${BENCH_REPS:-3}
VIOBLK=$top/$B/vioblk
# The bytes each dd moves, as the row names say, and the disk around them.
BENCH_MIB=64
DISK_MIB=128
# One boot: start, REPS passes under TCG, power-off.
BOOT_TIMEOUT=300
# How long a back-end may take to listen, in tenths of a second.
WAIT_TENTHS=100

fail()
{
	echo "BENCH guest-seqwrite-${BENCH_MIB}m failed"
	echo "BENCH guest-seqread-${BENCH_MIB}m failed"
	echo "bench-guest: $*" >&2
	exit 1
}

[ -x "$VIOBLK" ] || fail "$VIOBLK not built"
for t in qemu-system-x86_64 qemu-storage-daemon qemu-img; do
	command -v "$t" >/dev/null || fail "$t not installed"
done
guest=$(guest_cache_dir)/guest
guest_build "$guest" >&2 || fail "no guest kernel"

W=$(mktemp -d "${TMPDIR:-/tmp}/bench-guest.XXXXXX") || exit 1
cleanup_on_exit "$W"
sock=$W/vhost.sock

# The back-end of each kind of boot.
start_ours()
{
	vioblk_start "$BOOT_TIMEOUT" "$sock" "$W/disk.qcow2" "$W/backend.log"
}

start_ref()
{
	qsd_start "$BOOT_TIMEOUT" "$sock" "$W/disk.qcow2" "$W/backend.log"
}

# boot ours|ref: one boot on a fresh image; appends "write <ms>" and
# "read <ms>" lines to $W/$1.out.
boot()
{
	rm -f "$W/disk.qcow2" "$sock"
	qemu-img create -q -f qcow2 "$W/disk.qcow2" "${DISK_MIB}M" || return 1
	"start_$1"
	wait_for_socket "$sock" "$WAIT_TENTHS" ||
	    { cat "$W/backend.log" >&2; return 1; }
	sh "$top/regress/guest/boot.sh" -t "$BOOT_TIMEOUT" \
	    -l "$W/console.log" -a "vioblk.mode=bench
	    vioblk.disk_mib=$DISK_MIB vioblk.bench_mib=$BENCH_MIB
	    vioblk.bench_reps=$REPS" "$guest" "$sock" >"$W/boot.out" 2>&1
	rc=$?
	backend_kill
	[ "$rc" -eq 0 ] || { cat "$W/boot.out" >&2; return 1; }
	tr -d '\r' <"$W/console.log" |
	    sed -n 's/^GUEST BENCH \([a-z]*\) \([0-9]*\)$/\1 \2/p' >>"$W/$1.out"
}

: >"$W/ours.out"
: >"$W/ref.out"
r=0
while [ "$r" -lt "$RUNS" ]; do
	boot ours || fail "boot on vioblk failed"
	boot ref || fail "boot on qemu-storage-daemon failed"
	r=$((r + 1))
done

# best KIND FILE: the smallest time of that kind.
best()
{
	awk -v k="$1" '$1 == k && (b == "" || $2 < b) { b = $2 }
	    END { print b }' "$2"
}

row()
{
	o=$(best "$2" "$W/ours.out")
	f=$(best "$2" "$W/ref.out")
	if [ -z "$o" ] || [ -z "$f" ] || [ "$o" -eq 0 ]; then
		echo "BENCH $1 failed"
		return
	fi
	awk -v n="$1" -v o="$o" -v r="$f" 'BEGIN {
		printf "BENCH %s ours=%d ref=%d unit=ms ratio=%.3f\n",
		    n, o, r, r / o
	}'
}

row "guest-seqwrite-${BENCH_MIB}m" write
row "guest-seqread-${BENCH_MIB}m" read
if [ -n "${BENCH_VERBOSE:-}" ]; then
	sed 's/^/ours /' "$W/ours.out" >&2
	sed 's/^/ref /' "$W/ref.out" >&2
fi
