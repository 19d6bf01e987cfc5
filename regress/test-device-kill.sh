#!/bin/sh
# The real kill test: the regress VMM drives writes, write-zeroes and
# periodic flushes into the sandboxed vioblk child and kills it with
# SIGKILL at a random moment (just after a flush or a write went out,
# after a random number of completions, at a random time, or the moment
# it is seen inside a write or an fdatasync).  After every kill the
# corrupt bit is clear, `qemu-img check` finds 0 errors (leaks allowed;
# an image that lazy refcounts left dirty is checked once vioblk has
# opened, and so repaired, it), every write a completed flush covered
# reads back with exactly its data and every other sector holds an
# allowed value, and qemu reads the same as vioblk.  The kills go on on
# the same image, so damage would pile up.  One line per image kind:
# plain, lazy refcounts, over a base, 512-byte clusters.
#
# KILL_COUNT (200) kills in all; KILL_SEED reruns a seed; KILL_KEEP
# names a directory for failing images.
. regress/vioblk.subr
KILLTEST=$BDIR/regress/vmm/killtest
need_built "$KILLTEST"

COUNT=${KILL_COUNT:-200}
SEED=${KILL_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
# Each kind's run: 5 to 15 s, a few times that under the sanitizers.
KIND_TIMEOUT=600
KINDS="plain lazy base small"
each=$((COUNT / 4))
echo "# seed $SEED: rerun with KILL_SEED=$SEED"

d=$TMPDIR/kill
mkdir -p "$d"
i=0
for kind in $KINDS; do
	i=$((i + 1))
	img=$d/img-$kind.qcow2
	case $kind in
	plain)	qemu-img create -q -f qcow2 "$img" 8M ;;
	lazy)	qemu-img create -q -f qcow2 -o lazy_refcounts=on "$img" 8M ;;
	# 512-byte clusters: a one-cluster refcount table covers 8 MiB of
	# file, and 7 MiB written first leave the growth to vioblk.
	small)	qemu-img create -q -f qcow2 -o cluster_size=512 "$img" 12M &&
		qemu-io -f qcow2 -c "write -P 0x3d 0 7M" "$img" >/dev/null ;;
	base)	qemu-img create -q -f qcow2 "$d/base.qcow2" 8M &&
		qemu-io -f qcow2 -c "write -P 0x5b 0 3M" \
		    -c "write -P 0x7c 5M 2M" "$d/base.qcow2" >/dev/null &&
		qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 "$img" ;;
	esac || { not_ok "$kind: cannot make the image"; continue; }
	timeout -k 5 "$KIND_TIMEOUT" "$KILLTEST" -s $((SEED + i)) -n "$each" \
	    -t "$kind" ${KILL_KEEP:+-K "$KILL_KEEP"} kill -- \
	    "$VIOBLK" -d "$img" >"$out" 2>"$err"
	rc=$?
	kills=$(sed -n 's/^kills=\([0-9]*\) .*/\1/p' "$out")
	if [ "$rc" -eq 0 ] && [ "${kills:-0}" -eq "$each" ]; then
		ok "$kind: $kills kills, image sound and flushed writes there"
	else
		not_ok "$kind: ${kills:-0} of $each kills, exit $rc"
		sed -n "s/^FAIL/# FAIL/p" "$out"
		grep '^# ' "$out" | tail -n +2
		tail -5 "$err" | sed 's/^/# /'
	fi
	sed -n 's/^kills=/# kills=/p' "$out"
	# The refcount table's clusters: a 32-bit field at byte 56.
	echo "# $kind: $(wc -c <"$img") bytes, refcount table of" \
	    "$(od -An -tu4 --endian=big -j56 -N4 "$img" | tr -d ' ')" \
	    "cluster(s)"
done

finish
