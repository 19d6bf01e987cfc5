#!/bin/sh
# A writer that dies mid-workload (it leaves with _exit() after a random
# number of operations without flushing, or is killed with SIGKILL) leaves
# an image that `qemu-img check` finds free of errors: leaked clusters are
# allowed, corruption is not.  With lazy refcounts the image is left
# dirty, and opening it read-write through our layer repairs it fully.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 120"
WL=$B/regress/tools/workload
QDUMP=$B/regress/tools/qdump
# The kill points come from a fixed seed so that a failure can be rerun.
SEED=${CRASH_SEED:-20240601}

# consistent NAME IMAGE: `qemu-img check` exits 0 (clean) or 3 (leaks
# only); 2 would be corruption, 1 a check that could not finish.
consistent()
{
	$TO qemu-img check "$2" >"$W/check" 2>&1
	rc=$?
	if [ $rc -eq 0 ] || [ $rc -eq 3 ]; then
		leak=$(grep -h leaked "$W/check" | head -1)
		ok "$1 (${leak:-no leaks})"
	else
		notok "$1: qemu-img check exit $rc: $(grep -i -m1 error \
		    "$W/check")"
	fi
}

new() { $TO qemu-img create -q -f qcow2 "$@"; }

$TO qemu-img create -q -f qcow2 -o cluster_size=4096 "$W/base.qcow2" 16M
$TO qemu-io -f qcow2 -c "write -P 0x61 0 12m" "$W/base.qcow2" >/dev/null

i=0
for shape in cluster_size=65536 cluster_size=4096 cluster_size=512 \
    cluster_size=4096,refcount_bits=64 compat=0.10 base \
    cluster_size=65536 cluster_size=4096 cluster_size=512 base \
    cluster_size=2M cluster_size=4096,refcount_bits=1; do
	i=$((i + 1))
	img=$W/k$i.qcow2
	if [ "$shape" = base ]; then
		new -b base.qcow2 -F qcow2 "$img" 16M
		chain="$img $W/base.qcow2"
	else
		new -o "$shape" "$img" 16M
		chain=$img
	fi
	$TO qemu-img convert -O raw "$img" "$W/model.raw"
	kill_at=$(( (SEED / i + i * 7919) % 500 + 20 ))
	if ! $TO "$WL" -k $kill_at -n 1000 -s $((SEED + i)) \
	    "$W/model.raw" $chain 2>"$W/err"; then
		notok "$shape: workload failed ($(why "$W/err"))"
		continue
	fi
	consistent "$shape: _exit after $kill_at operations" "$img"
	# A writer that opens the crashed image carries on from what is there.
	if [ $((i % 3)) -eq 0 ]; then
		$TO qemu-img convert -O raw "$img" "$W/model.raw"
		if $TO "$WL" -n 600 -s $((SEED - i)) "$W/model.raw" $chain \
		    2>"$W/err" &&
		    $TO qemu-img compare -q -f raw "$W/model.raw" "$img"; then
			consistent "$shape: writes after the crash" "$img"
		else
			notok "$shape: writes after the crash: $(why \
			    "$W/err")"
		fi
	fi
done

# SIGKILL at a point in time rather than at an operation.
for i in 1 2 3; do
	img=$W/s$i.qcow2
	new -o cluster_size=4096 "$img" 64M
	$TO qemu-img convert -O raw "$img" "$W/model.raw"
	delay=0.$(( (SEED / i) % 6 + 2 ))
	timeout -s KILL "$delay" "$WL" -n 100000 -s $((SEED * i)) \
	    "$W/model.raw" "$img" 2>/dev/null
	consistent "SIGKILL after ${delay}s" "$img"
done

# Lazy refcounts: the crash leaves the dirty bit set; a read-write open
# by our layer rebuilds the refcounts, after which qemu finds no error and
# no leak, and the dirty bit is clear.  Fixed seeds and kill points: the
# bit is clear again after a flush, so not every kill point leaves it.
for lazy in 101:300 102:77 103:640; do
	seed=${lazy%:*}
	kill_at=${lazy#*:}
	img=$W/lazy$seed.qcow2
	new -o lazy_refcounts=on,cluster_size=4096 "$img" 16M
	$TO qemu-img convert -O raw "$img" "$W/model.raw"
	$TO "$WL" -l -k $kill_at -n 1000 -s $seed "$W/model.raw" "$img" \
	    2>/dev/null
	dirty=$(( $(od -An -tu1 -j 79 -N1 "$img") & 1 ))
	if [ "$dirty" -ne 1 ]; then
		notok "lazy refcounts, seed $seed: dirty bit clear after crash"
		continue
	fi
	if ! $TO "$QDUMP" -w "$img" 2>"$W/err"; then
		notok "lazy refcounts, seed $seed: read-write open failed" \
		    "($(why "$W/err"))"
		continue
	fi
	dirty=$(( $(od -An -tu1 -j 79 -N1 "$img") & 1 ))
	if $TO qemu-img check "$img" >"$W/check" 2>&1 &&
	    grep -q "No errors were found" "$W/check" &&
	    ! grep -q leaked "$W/check" && [ "$dirty" -eq 0 ]; then
		ok "lazy refcounts, seed $seed: dirty after the crash," \
		    "repaired by a read-write open"
	else
		notok "lazy refcounts, seed $seed: repaired: dirty=$dirty," \
		    "$(grep -v '^$' "$W/check" | head -1)"
	fi
done

echo "1..$n"
[ "$fails" -eq 0 ]
