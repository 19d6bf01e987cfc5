#!/bin/sh
# Writes through our layer to an image with internal snapshots made by
# `qemu-img snapshot -c`: the shared clusters are copied, never changed, so
# each snapshot reads as it did before (`qemu-img convert -l`), the image
# equals the model, and `qemu-img check` stays clean.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 120"
WL=$B/regress/tools/workload
M=$((1024 * 1024))

# snapcase NAME FILE CREATE-OPTIONS SEED PAD [workload options]: PAD=1
# rounds the file up to 512 bytes after qemu wrote the snapshot table,
# which qemu leaves unpadded at the end of the file.
snapcase()
{
	name=$1
	img=$W/$2.qcow2
	copts=$3
	seed=$4
	pad=$5
	shift 5
	rm -f "$img" "$W"/*.raw
	$TO qemu-img create -q -f qcow2 -o "$copts" "$img" 24M
	$TO qemu-io -f qcow2 -c "write -P 0x51 0 6m" \
	    -c "write -P 0x52 $((8 * M + 512)) 3m" -c "write -z 12m 1m" \
	    "$img" >/dev/null
	$TO qemu-img snapshot -c s1 "$img"
	$TO qemu-io -f qcow2 -c "write -P 0x53 $((2 * M)) 8m" "$img" >/dev/null
	$TO qemu-img snapshot -c s2 "$img"
	if [ "$pad" = 1 ]; then
		size=$(wc -c <"$img")
		truncate -s $(( (size + 511) / 512 * 512 )) "$img"
	fi
	$TO qemu-img convert -l s1 -O raw "$img" "$W/s1-before.raw"
	$TO qemu-img convert -l s2 -O raw "$img" "$W/s2-before.raw"
	$TO qemu-img convert -O raw "$img" "$W/model.raw"
	if ! $TO "$WL" "$@" -n 1200 -s "$seed" "$W/model.raw" "$img" \
	    2>"$W/err"; then
		notok "$name: workload ($(why "$W/err"))"
		return
	fi
	$TO qemu-img convert -l s1 -O raw "$img" "$W/s1-after.raw"
	$TO qemu-img convert -l s2 -O raw "$img" "$W/s2-after.raw"
	if cmp -s "$W/s1-before.raw" "$W/s1-after.raw" &&
	    cmp -s "$W/s2-before.raw" "$W/s2-after.raw"; then
		ok "$name: snapshots read as before"
	else
		notok "$name: a snapshot changed under writes to the image"
	fi
	if $TO qemu-img check "$img" >"$W/check" 2>&1 &&
	    grep -q "No errors were found" "$W/check" &&
	    ! grep -q leaked "$W/check"; then
		ok "$name: qemu-img check clean"
	else
		notok "$name: qemu-img check ($(grep -v '^$' "$W/check" |
		    head -1))"
	fi
	if $TO qemu-img compare -q -f raw "$W/model.raw" "$img"; then
		ok "$name: image equals the model"
	else
		notok "$name: image differs from the model"
	fi
	# Going back to s1 gives s1's data: its clusters were never written.
	$TO qemu-img snapshot -a s1 "$img"
	$TO qemu-img convert -O raw "$img" "$W/applied.raw"
	if cmp -s "$W/s1-before.raw" "$W/applied.raw"; then
		ok "$name: applied snapshot reads as before"
	else
		notok "$name: applied snapshot differs"
	fi
}

snapcase "v3, 64 KiB clusters" a cluster_size=65536 1 0
snapcase "v3, 4 KiB clusters, 64-bit refcounts" b \
    cluster_size=4096,refcount_bits=64 2 0
snapcase "v2, 64 KiB clusters" c compat=0.10 3 0
snapcase "v3, 4 KiB clusters, snapshot table padded" d cluster_size=4096 4 1

echo "1..$n"
[ "$fails" -eq 0 ]
