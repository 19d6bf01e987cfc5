#!/bin/sh
# `vioblkctl map --json` prints, byte for byte, what `qemu-img map
# --output=json` prints: across cluster sizes, versions and refcount
# widths, with zero and compressed clusters, over a chain of relative
# names, over a short base and for a raw image.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 120"

# samemap NAME IMAGE [qemu-img map options]
samemap()
{
	name=$1
	img=$2
	shift 2
	if ! $TO qemu-img map --output=json "$@" "$img" >"$W/ref.json"; then
		notok "$name (qemu-img map failed)"
		return
	fi
	# Some chains name bases above their images: -B allows all of $W.
	if ! $TO "$CTL" -B "$W" map --json "$img" >"$W/ours.json" \
	    2>"$W/err"; then
		notok "$name ($(why "$W/err"))"
		return
	fi
	if cmp "$W/ref.json" "$W/ours.json" >/dev/null 2>&1; then
		ok "$name"
	else
		notok "$name (differs: $(diff "$W/ref.json" "$W/ours.json" |
		    sed -n 2p))"
	fi
}

qcow2_matrix samemap map

raw=$W/mixed.raw
$TO qemu-img create -q -f raw "$raw" 8M
$TO qemu-io -f raw -c "write -P 0x61 0 1m" -c "write -P 0x62 3m 512k" \
    "$raw" >/dev/null
dd if=/dev/urandom of="$raw" bs=64k seek=20 count=8 conv=notrunc 2>/dev/null
for ct in zlib zstd; do
	img=$W/c-$ct.qcow2
	$TO qemu-img convert -c -f raw -O qcow2 -o compression_type=$ct \
	    "$raw" "$img"
	$TO qemu-io -f qcow2 -c "write -P 0x71 $((512 * 1024 + 512)) 3k" \
	    -c "write -z 2m 64k" "$img" >/dev/null
	samemap "map compressed $ct" "$img"
done
samemap "map raw image" "$raw" -f raw

c=$W/chain
mkdir -p "$c/d1/d2"
$TO qemu-img create -q -f qcow2 -o cluster_size=4096 "$c/l0.qcow2" 8M
$TO qemu-io -f qcow2 -c "write -P 0xa0 0 2m" -c "write -z 4m 1m" \
    "$c/l0.qcow2" >/dev/null
$TO qemu-img create -q -f qcow2 -b ../l0.qcow2 -F qcow2 "$c/d1/l1.qcow2"
$TO qemu-img create -q -f qcow2 -o cluster_size=512 -b ../l1.qcow2 \
    -F qcow2 "$c/d1/d2/l2.qcow2"
$TO qemu-io -f qcow2 -c "write -P 0xa1 4096 1m" -c "write -z 6m 64k" \
    "$c/d1/l1.qcow2" >/dev/null
$TO qemu-io -f qcow2 -c "write -P 0xa2 $((512 * 1024 + 512)) 1m" \
    -c "write -z 3m 128k" "$c/d1/d2/l2.qcow2" >/dev/null
samemap "map chain of three with relative names" "$c/d1/d2/l2.qcow2"

$TO qemu-img create -q -f qcow2 "$W/short.qcow2" 3M
$TO qemu-io -f qcow2 -c "write -P 0xb1 0 1m" "$W/short.qcow2" >/dev/null
$TO qemu-img create -q -f qcow2 -b short.qcow2 -F qcow2 "$W/mid.qcow2" 5M
$TO qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 "$W/tall.qcow2" 9M
$TO qemu-io -f qcow2 -c "write -P 0xb2 $((2 * 1024 * 1024 + 512)) 1m" \
    "$W/tall.qcow2" >/dev/null
samemap "map over bases shorter than the top" "$W/tall.qcow2"

$TO qemu-img create -q -f raw "$W/base.raw" 5M
$TO qemu-io -f raw -c "write -P 0xc1 1m 1m" "$W/base.raw" >/dev/null
$TO qemu-img create -q -f qcow2 -b base.raw -F raw "$W/over-raw.qcow2" 6M
$TO qemu-io -f qcow2 -c "write -P 0xc2 $((64 * 1024 - 512)) 1k" \
    "$W/over-raw.qcow2" >/dev/null
samemap "map qcow2 over a raw base" "$W/over-raw.qcow2"

# Images our layer wrote at random: many extents of every kind.
WL=$B/regress/tools/workload
for spec in 65536:1 4096:2 512:3; do
	cs=${spec%:*}
	seed=${spec#*:}
	img=$W/w$seed.qcow2
	$TO qemu-img create -q -f qcow2 -o cluster_size=$cs "$img" 24M
	$TO qemu-img convert -O raw "$img" "$W/model.raw"
	if $TO "$WL" -n 400 -s $seed "$W/model.raw" "$img" 2>"$W/err"; then
		samemap "map after a random workload, cluster_size=$cs" "$img"
	else
		notok "workload for map, cluster_size=$cs: $(why "$W/err")"
	fi
done
$TO qemu-img create -q -f qcow2 -o cluster_size=4096 -b l2.qcow2 -F qcow2 \
    "$c/d1/d2/w.qcow2"
$TO qemu-img convert -O raw "$c/d1/d2/w.qcow2" "$W/model.raw"
if $TO "$WL" -n 300 -s 4 "$W/model.raw" "$c/d1/d2/w.qcow2" \
    "$c/d1/d2/l2.qcow2" "$c/d1/l1.qcow2" "$c/l0.qcow2" 2>"$W/err"; then
	samemap "map after a random workload over a chain" "$c/d1/d2/w.qcow2"
else
	notok "workload for map over a chain: $(why "$W/err")"
fi

$TO qemu-img create -q -f qcow2 "$W/empty.qcow2" 0
samemap "map empty image" "$W/empty.qcow2"

echo "1..$n"
[ "$fails" -eq 0 ]
