#!/bin/sh
# Images written by qemu-io read back through our backing layer exactly as
# `qemu-img convert -O raw` reads them: every cluster size, both versions,
# 1-, 16- and 64-bit refcounts, zero clusters, compressed clusters (zlib and
# zstd), a chain of five with relative names, a base shorter than its top,
# a raw base.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 120"
QDUMP=$B/regress/tools/qdump

# readback NAME QDUMP-ARGS...: our dump of the chain equals qemu's.
readback()
{
	name=$1
	shift
	opts=
	if [ "$1" = -c ]; then
		opts="-c $2"
		shift 2
	fi
	top=$1
	rm -f "$W/ours.raw" "$W/ref.raw"
	if ! $TO qemu-img convert -O raw "$top" "$W/ref.raw"; then
		notok "$name (qemu-img convert failed)"
		return
	fi
	if ! $TO "$QDUMP" $opts -o "$W/ours.raw" "$@" 2>"$W/err"; then
		notok "$name ($(why "$W/err"))"
		return
	fi
	if cmp "$W/ref.raw" "$W/ours.raw" >"$W/cmp" 2>&1; then
		ok "$name"
	else
		notok "$name ($(head -1 "$W/cmp"))"
	fi
}

# The matrix, with one more write that ends 512 bytes past 4 MiB.
qcow2_matrix readback read \
    "write -P 0x45 $((4 * 1024 * 1024 - 3 * 512)) 2048"

# A cache far smaller than the L2 tables: every read evicts.
readback "read 512 B clusters through a tiny cache" -c 4096 \
    "$W/m-512-1.1-16.qcow2"

# Compressed clusters, from data part compressible and part random.
raw=$W/mixed.raw
$TO qemu-img create -q -f raw "$raw" 8M
$TO qemu-io -f raw -c "write -P 0x61 0 1m" -c "write -P 0x62 3m 512k" \
    "$raw" >/dev/null
dd if=/dev/urandom of="$raw" bs=64k seek=20 count=8 conv=notrunc 2>/dev/null
dd if=/dev/urandom of="$raw" bs=4k seek=1100 count=3 conv=notrunc 2>/dev/null
for ct in zlib zstd; do
	for cs in 4096 65536; do
		img=$W/c-$ct-$cs.qcow2
		$TO qemu-img convert -c -f raw -O qcow2 \
		    -o compression_type=$ct,cluster_size=$cs "$raw" "$img"
		readback "compressed $ct cluster_size=$cs" "$img"
	done
done
# Compressed clusters overwritten in part by plain ones.
img=$W/c-zstd-65536.qcow2
$TO qemu-io -f qcow2 -c "write -P 0x71 $((512 * 1024 + 512)) 3k" \
    -c "write -z 2m 64k" "$img" >/dev/null
readback "compressed zstd, partly overwritten" "$img"

# A chain of five; each names its base relative to its own directory.
c=$W/chain
mkdir -p "$c/d1/d2/d3/d4"
$TO qemu-img create -q -f qcow2 -o cluster_size=4096 "$c/l0.qcow2" 8M
$TO qemu-io -f qcow2 -c "write -P 0xa0 0 8m" "$c/l0.qcow2" >/dev/null
$TO qemu-img create -q -f qcow2 -b ../l0.qcow2 -F qcow2 "$c/d1/l1.qcow2"
$TO qemu-img create -q -f qcow2 -o cluster_size=65536 -b ../l1.qcow2 \
    -F qcow2 "$c/d1/d2/l2.qcow2"
$TO qemu-img create -q -f qcow2 -o cluster_size=512 -b ../l2.qcow2 \
    -F qcow2 "$c/d1/d2/d3/l3.qcow2"
$TO qemu-img create -q -f qcow2 -b ../l3.qcow2 -F qcow2 \
    "$c/d1/d2/d3/d4/l4.qcow2"
$TO qemu-io -f qcow2 -c "write -P 0xa1 4096 1m" "$c/d1/l1.qcow2" >/dev/null
$TO qemu-io -f qcow2 -c "write -P 0xa2 $((512 * 1024 + 512)) 1m" \
    -c "write -z 3m 128k" "$c/d1/d2/l2.qcow2" >/dev/null
$TO qemu-io -f qcow2 -c "write -P 0xa3 $((900 * 1024)) 300k" \
    "$c/d1/d2/d3/l3.qcow2" >/dev/null
$TO qemu-io -f qcow2 -c "write -P 0xa4 $((5 * 1024 * 1024 - 512)) 1k" \
    -c "write -z 1m 4k" "$c/d1/d2/d3/d4/l4.qcow2" >/dev/null
readback "chain of five with relative names" "$c/d1/d2/d3/d4/l4.qcow2" \
    "$c/d1/d2/d3/l3.qcow2" "$c/d1/d2/l2.qcow2" "$c/d1/l1.qcow2" \
    "$c/l0.qcow2"

# A base shorter than its top: past its end the top reads zeroes.
$TO qemu-img create -q -f qcow2 "$W/short.qcow2" 3M
$TO qemu-io -f qcow2 -c "write -P 0xb1 0 3m" "$W/short.qcow2" >/dev/null
$TO qemu-img create -q -f qcow2 -b short.qcow2 -F qcow2 "$W/tall.qcow2" 9M
$TO qemu-io -f qcow2 -c "write -P 0xb2 $((2 * 1024 * 1024 + 512)) 2m" \
    "$W/tall.qcow2" >/dev/null
readback "base shorter than the top" "$W/tall.qcow2" "$W/short.qcow2"

# A raw base; also one of an odd size.
$TO qemu-img create -q -f raw "$W/base.raw" $((5 * 1024 * 1024 + 512))
$TO qemu-io -f raw -c "write -P 0xc1 0 5m" "$W/base.raw" >/dev/null
$TO qemu-img create -q -f qcow2 -b base.raw -F raw "$W/over-raw.qcow2" 6M
$TO qemu-io -f qcow2 -c "write -P 0xc2 $((64 * 1024 - 512)) 1k" \
    "$W/over-raw.qcow2" >/dev/null
readback "qcow2 over a raw base of odd size" "$W/over-raw.qcow2" \
    "$W/base.raw"
readback "raw image alone" "$W/base.raw"

echo "1..$n"
[ "$fails" -eq 0 ]
