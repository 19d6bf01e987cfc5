#!/bin/sh
# Build the corpus of damaged qcow2 images on which `vioblkctl check` and
# `qemu-img check` must agree: each image is made by qemu-img (and written
# by qemu-io), then patched in place with printf and dd, so that the damage
# is plain in this script.  Every image is small and its layout is read
# from its own header, never assumed.
#
# usage: sh regress/images/damaged.sh DIR
# Writes DIR/NAME.qcow2 for every case and prints the names, one a line.
# Clean images (name starting with "clean-") are there to stay clean.

set -eu

[ $# -eq 1 ] || { echo "usage: damaged.sh DIR" >&2; exit 1; }
D=$1
mkdir -p "$D"
TO="timeout -k 5 60"

# rd FILE OFF N: the N-byte big-endian field at OFF (N <= 7), in decimal.
rd()
{
	v=0
	for b in $(od -An -tu1 -j "$2" -N "$3" "$1"); do
		v=$((v * 256 + b))
	done
	echo $v
}

# wr FILE OFF N VALUE: store VALUE (< 2^63) as an N-byte big-endian field.
wr()
{
	i=$(($3 - 1))
	s=
	while [ $i -ge 0 ]; do
		s="$s\\$(printf %o $(((${4} >> (i * 8)) & 255)))"
		i=$((i - 1))
	done
	# shellcheck disable=SC2059
	printf "$s" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# bit FILE OFF MASK on|off: set or clear bits of one byte.
bit()
{
	b=$(rd "$1" "$2" 1)
	if [ "$4" = on ]; then b=$((b | $3)); else b=$((b & ~$3 & 255)); fi
	wr "$1" "$2" 1 $b
}

# An 8-byte table entry's offset (bits 9-55) and its COPIED bit.
eoff() { echo $(( $(rd "$1" $(($2 + 1)) 7) & 0xfffffffffffe00 )); }
copied() { echo $(( $(rd "$1" "$2" 1) >> 7 )); }
# entry FILE OFF HOSTOFF COPIED: write a standard table entry.
entry()
{
	wr "$1" "$2" 8 "$3"
	[ "$4" = 1 ] && bit "$1" "$2" 128 on
	return 0
}

# The layout of image $1 into CB (cluster bits), CS, L1, RT, ORD.
layout()
{
	CB=$(rd "$1" 20 4)
	CS=$((1 << CB))
	L1=$(rd "$1" 41 7)
	RT=$(rd "$1" 49 7)
	if [ "$(rd "$1" 4 4)" -ge 3 ]; then ORD=$(rd "$1" 96 4); else ORD=4; fi
}

# Where L1 entry I and entry J of the L2 table it names lie.
l1at() { echo $((L1 + $2 * 8)); }
l2at() { echo $(( $(eoff "$1" $(l1at "$1" "$2")) + $3 * 8 )); }
# The host offset entry J of L2 table I maps.
dataoff() { eoff "$1" "$(l2at "$1" "$2" "$3")"; }

# rc FILE CLUSTER VALUE: store a refcount in the block that holds it.
rc()
{
	layout "$1"
	rbb=$((CB + 3 - ORD))
	blk=$(eoff "$1" $((RT + ($2 >> rbb) * 8)))
	idx=$(($2 & ((1 << rbb) - 1)))
	if [ "$ORD" -ge 3 ]; then
		w=$(((1 << ORD) / 8))
		wr "$1" $((blk + idx * w)) $w "$3"
	else
		bits=$((1 << ORD))
		per=$((8 / bits))
		at=$((blk + idx / per))
		sh=$(((idx % per) * bits))
		m=$((((1 << bits) - 1) << sh))
		b=$(rd "$1" $at 1)
		wr "$1" $at 1 $(((b & ~m & 255) | (($3 << sh) & m)))
	fi
}

# new NAME [qemu-img create options...]: an image of $SIZE (64 MiB unless
# set) with data in its first 256 KiB and at 32 MiB.
new()
{
	img=$D/$1.qcow2
	shift
	$TO qemu-img create -q -f qcow2 "$@" "$img" "${SIZE:-64M}"
	$TO qemu-io -f qcow2 -c "write -P 0x11 0 256k" \
	    -c "write -P 0x22 32M 64k" "$img" >/dev/null
	layout "$img"
}

snap() { $TO qemu-img snapshot -c "$2" "$1"; }
fsize() { wc -c <"$1"; }
# grow FILE N: N more clusters of file, each with refcount VALUE.
leak()
{
	end=$(( ($(fsize "$1") + CS - 1) / CS ))
	truncate -s $(((end + $2) * CS)) "$1"
	k=0
	while [ $k -lt "$2" ]; do
		rc "$1" $((end + k)) 1
		k=$((k + 1))
	done
}

out() { echo "$1"; }

# Clean images, to stay clean.
new clean-plain; out clean-plain
new clean-snapshot; snap "$img" s1; out clean-snapshot
new clean-rb1 -o refcount_bits=1; out clean-rb1
new clean-rb64 -o refcount_bits=64; snap "$img" s1; out clean-rb64
$TO qemu-img convert -c -f qcow2 -O qcow2 "$D/clean-plain.qcow2" \
    "$D/clean-compressed.qcow2"
out clean-compressed

# Leaked clusters: three clusters past the data that nothing uses.
new leak; leak "$img" 3; out leak
new leak-snapshot; snap "$img" s1; leak "$img" 2; out leak-snapshot
new leak-rb1 -o refcount_bits=1; leak "$img" 2; out leak-rb1
new leak-v2 -o compat=0.10; leak "$img" 1; out leak-v2
# A refcount above its references is a leak too.
new leak-high; snap "$img" s1
rc "$img" $(( $(dataoff "$img" 0 1) / CS )) 3; out leak-high

# A refcount too low: a cluster shared with a snapshot counted once.
new rc-low; snap "$img" s1
rc "$img" $(( $(dataoff "$img" 0 2) / CS )) 1; out rc-low
new rc-low-rb64 -o refcount_bits=64; snap "$img" s1
rc "$img" $(( $(dataoff "$img" 0 0) / CS )) 1; out rc-low-rb64

# A refcount of zero for a cluster in use: data, then an L2 table.
new rc-zero; rc "$img" $(( $(dataoff "$img" 0 1) / CS )) 0; out rc-zero
new rc-zero-l2; rc "$img" $(( $(eoff "$img" $(l1at "$img" 0)) / CS )) 0
out rc-zero-l2
new rc-zero-512 -o cluster_size=512
rc "$img" $(( $(dataoff "$img" 0 3) / CS )) 0; out rc-zero-512
# The refcount block's own count gone.
new rc-zero-refblock; rc "$img" $(( $(eoff "$img" "$RT") / CS )) 0
out rc-zero-refblock

# COPIED wrong both ways, on a data cluster and on an L2 table.
new copied-clear-data; bit "$img" "$(l2at "$img" 0 1)" 128 off
out copied-clear-data
new copied-clear-l2; bit "$img" "$(l1at "$img" 0)" 128 off
out copied-clear-l2
new copied-set-data; snap "$img" s1; bit "$img" "$(l2at "$img" 0 1)" 128 on
out copied-set-data
new copied-set-l2; snap "$img" s1; bit "$img" "$(l1at "$img" 0)" 128 on
out copied-set-l2

# L2 entries pointing where no data may be.
new l2-past-eof
entry "$img" "$(l2at "$img" 0 8)" $(( ($(fsize "$img") / CS + 16) * CS )) 1
out l2-past-eof
new l2-past-eof-nocopied
entry "$img" "$(l2at "$img" 0 8)" $(( ($(fsize "$img") / CS + 16) * CS )) 0
out l2-past-eof-nocopied
new l2-into-l1; entry "$img" "$(l2at "$img" 0 8)" "$L1" 1; out l2-into-l1
new l2-into-reftable; entry "$img" "$(l2at "$img" 0 8)" "$RT" 1
out l2-into-reftable
new l2-into-refblock
entry "$img" "$(l2at "$img" 0 8)" "$(eoff "$img" "$RT")" 1
out l2-into-refblock

# Two L2 entries sharing one cluster whose refcount is 1.
new shared-cluster; entry "$img" "$(l2at "$img" 0 8)" \
    "$(dataoff "$img" 0 0)" 1; out shared-cluster
# Two L1 entries sharing one L2 table (a disk that needs two).
SIZE=1G new shared-l2; entry "$img" "$(l1at "$img" 1)" \
    "$(eoff "$img" "$(l1at "$img" 0)")" 1; out shared-l2

# Malformed entries.
new l2-reserved; bit "$img" $(( $(l2at "$img" 0 2) + 7 )) 2 on
out l2-reserved
new l2-unaligned-zero
at=$(l2at "$img" 0 3)
wr "$img" "$at" 8 $(( $(eoff "$img" "$at") + 512 + 1 )); out l2-unaligned-zero

# Compressed clusters share host clusters: drop one of those counts.
$TO qemu-img convert -c -f qcow2 -O qcow2 "$D/clean-plain.qcow2" \
    "$D/compressed-low.qcow2"
img=$D/compressed-low.qcow2
layout "$img"
# A compressed entry: the host offset is in its low bits (62 - (CB - 8)).
e=$(rd "$img" $(( $(l2at "$img" 0 1) + 1 )) 7)
coff=$((e & ((1 << (62 - (CB - 8))) - 1)))
rc "$img" $((coff / CS)) 0; out compressed-low
cp "$D/clean-compressed.qcow2" "$D/compressed-leak.qcow2"
img=$D/compressed-leak.qcow2; layout "$img"; leak "$img" 2
out compressed-leak

# A dirty image: lazy refcounts, killed before its refcounts were written.
img=$D/dirty.qcow2
$TO qemu-img create -q -f qcow2 -o lazy_refcounts=on "$img" 64M
$TO qemu-io -f qcow2 -c "write -P 0x33 0 64k" "$img" >/dev/null
timeout -s KILL 10 qemu-io -f qcow2 -c "write -P 0x44 1M 192k" \
    -c "write -P 0x55 48M 64k" -c "sigraise 9" "$img" >/dev/null 2>&1 ||
    true
out dirty
