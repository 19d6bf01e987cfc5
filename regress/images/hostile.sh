#!/bin/sh
# The hostile image corpus: qcow2 files crafted to break one rule each,
# made from small good images that qemu-img writes, by patching bytes at
# the offsets of qemu's docs/interop/qcow2.rst.
#
#	sh regress/images/hostile.sh OUTDIR
#
# Writes OUTDIR/NAME.qcow2 for every image (and OUTDIR/NAME.* for the
# files an image needs beside it), the good sources under OUTDIR/src, and
# OUTDIR/MANIFEST, one line per image saying what every opener must do:
#
#	NAME refuse ERE		every open fails; the one line matches ERE
#	NAME readfail OFF LEN REF
#				the image opens; reading guest bytes
#				[OFF, OFF+LEN) fails, the rest reads as the
#				raw file OUTDIR/REF.  LEN is the cluster size.
#
# Needs qemu-img and qemu-io; every one of them runs under a time bound.

set -u
if [ $# -ne 1 ]; then
	echo "usage: hostile.sh OUTDIR" >&2
	exit 2
fi
O=$1
. "$(dirname "$0")/../image.subr"
TO="timeout -k 5 60"
# Bits of table entries (qcow2.rst, "Cluster mapping").
COPIED=$((1 << 63))
COMPRESSED=$((1 << 62))
# Guest size of every source: small, so that reading one whole is quick.
SIZE=$((8 * 1024 * 1024))

mkdir -p "$O/src" || exit 1
: >"$O/MANIFEST"

# start NAME SOURCE: $img, the image NAME, begins as a copy of SOURCE.
start()
{
	img=$O/$1.qcow2
	cur=$1
	cp "$O/src/$2.qcow2" "$img"
}

# refuse ERE / readfail OFF LEN REF: what the image just made must do.
refuse()
{
	echo "$cur refuse $1" >>"$O/MANIFEST"
}
readfail()
{
	echo "$cur readfail $1 $2 $3" >>"$O/MANIFEST"
}

# garbage FILE OFFSET LEN SEED: LEN bytes of a fixed pseudo-random stream.
garbage()
{
	printf "$(awk -v n="$3" -v seed="$4" 'BEGIN {
		srand(seed)
		for (i = 0; i < n; i++)
			printf "\\%03o", int(rand() * 256)
	}')" | dd of="$1" bs=4096 seek="$2" oflag=seek_bytes conv=notrunc \
	    2>/dev/null
}

# The sources.  good: version 3, 4 KiB clusters so that the L1 table has
# four entries, data in three of its L2 ranges (at 7 MiB, 2 KiB that do
# not compress well); qemu lays it out as header, refcount table,
# refcount block, L1 table, L2 table, data.  snap: good with a snapshot,
# the file padded to whole clusters.  comp and zstd: good compressed,
# with clusters of the default 64 KiB.
sources()
{
	g=$O/src/good.qcow2
	$TO qemu-img create -q -f qcow2 -o cluster_size=4096 "$g" $SIZE &&
	: >"$O/src/noise" &&
	garbage "$O/src/noise" 0 2048 11 &&
	$TO qemu-io -f qcow2 -c "write -P 0x11 0 128k" \
	    -c "write -P 0x12 4m 64k" -c "write -P 0x13 6m 4k" \
	    -c "write -s $O/src/noise 7m 2k" "$g" >/dev/null &&
	$TO qemu-img convert -O raw "$g" "$O/src/good.raw" &&
	cp "$g" "$O/src/snap.qcow2" &&
	$TO qemu-img snapshot -c s1 "$O/src/snap.qcow2" &&
	truncate -s %4096 "$O/src/snap.qcow2" &&
	$TO qemu-img create -q -f qcow2 -o compat=0.10 "$O/src/v2.qcow2" \
	    $SIZE &&
	$TO qemu-img convert -c -O qcow2 "$O/src/good.raw" \
	    "$O/src/comp.qcow2" &&
	$TO qemu-img convert -c -O qcow2 -o compression_type=zstd \
	    "$O/src/good.raw" "$O/src/zstd.qcow2" || exit 1
	CS=4096
	L1=$(get64 "$g" 40)
	RT=$(get64 "$g" 48)
	RB=$(get64 "$g" "$RT")
	L2=$(( $(get64 "$g" "$L1") & 0x00fffffffffffe00 ))
	D0=$(( $(get64 "$g" "$L2") & 0x00fffffffffffe00 ))
	HLEN=$(get32 "$g" 100)
	EOFOFF=$(( ($(wc -c <"$g") / CS + 16) * CS ))
	SN=$(get64 "$O/src/snap.qcow2" 64)
	SNL1=$(get64 "$O/src/snap.qcow2" "$SN")
	SL1=$(get64 "$O/src/snap.qcow2" 40)
	CL1=$(get64 "$O/src/comp.qcow2" 40)
	CL2=$(( $(get64 "$O/src/comp.qcow2" "$CL1") & 0x00fffffffffffe00 ))
	CRT=$(get64 "$O/src/comp.qcow2" 48)
	CE7=$(get64 "$O/src/comp.qcow2" $((CL2 + 7 * 16 * 8)))
	ZL1=$(get64 "$O/src/zstd.qcow2" 40)
	ZL2=$(( $(get64 "$O/src/zstd.qcow2" "$ZL1") & 0x00fffffffffffe00 ))
	ZRT=$(get64 "$O/src/zstd.qcow2" 48)
}

# --- Header fields out of range ---

# A base recorded as qcow2 whose magic is wrong (a file without the magic
# is otherwise raw, not refused).
bad_magic()
{
	cp "$O/src/good.qcow2" "$O/bad_magic.base"
	put "$O/bad_magic.base" 0 514649fa
	(cd "$O" && $TO qemu-img create -q -f qcow2 -u -b bad_magic.base \
	    -F qcow2 bad_magic.qcow2 $SIZE)
	cur=bad_magic
	refuse "magic"
}
# Version 1 is the older qcow format.
version_1()
{
	start version_1 good
	put "$img" 4 "$(be32 1)"
	refuse "version 1"
}
# Version 4 does not exist.
version_4()
{
	start version_4 good
	put "$img" 4 "$(be32 4)"
	refuse "version 4"
}
# The largest version number.
version_max()
{
	start version_max good
	put "$img" 4 ffffffff
	refuse "version 4294967295"
}
# Clusters of 256 bytes, below the 512 qemu allows.
cluster_bits_8()
{
	start cluster_bits_8 good
	put "$img" 20 "$(be32 8)"
	refuse "cluster_bits 8 out of range"
}
# Clusters of 4 MiB, above the 2 MiB qemu allows.
cluster_bits_22()
{
	start cluster_bits_22 good
	put "$img" 20 "$(be32 22)"
	refuse "cluster_bits 22 out of range"
}
# A cluster size that would shift a 64-bit word by 64.
cluster_bits_64()
{
	start cluster_bits_64 good
	put "$img" 20 "$(be32 64)"
	refuse "cluster_bits 64 out of range"
}
# A virtual size with bit 63 set: negative as an off_t.
size_bit63()
{
	start size_bit63 good
	put "$img" 24 8000000000000000
	refuse "virtual size .* too large"
}
# A virtual size of 2^61 + 512: byte offsets near it overflow int64 math.
size_over_max()
{
	start size_over_max good
	put "$img" 24 2000000000000200
	refuse "virtual size .* too large"
}
# A 1 TiB disk whose L1 table still has the 4 entries of 8 MiB.
size_vs_l1()
{
	start size_vs_l1 good
	put "$img" 24 "$(be64 $((1 << 40)))"
	refuse "L1 table too small"
}
# AES encryption.
crypt_aes()
{
	start crypt_aes good
	put "$img" 32 "$(be32 1)"
	refuse "encrypt"
}
# LUKS encryption.
crypt_luks()
{
	start crypt_luks good
	put "$img" 32 "$(be32 2)"
	refuse "encrypt"
}
# An encryption method no one knows.
crypt_unknown()
{
	start crypt_unknown good
	put "$img" 32 ffffffff
	refuse "encrypt"
}
# An L1 table of 2^31 entries (16 GiB) for a disk of 2^60 bytes that
# would need them all.
l1_2p31()
{
	start l1_2p31 good
	put "$img" 24 "$(be64 $((1 << 60)))"
	put "$img" 36 "$(be32 $((1 << 31)))"
	refuse "L1 table too large"
}
# An L1 table of 2^32 - 1 entries: its byte size overflows 32 bits.
l1_size_max()
{
	start l1_size_max good
	put "$img" 36 ffffffff
	refuse "L1 table too large"
}
# The L1 table 512 bytes into its cluster.
l1_unaligned()
{
	start l1_unaligned good
	put "$img" 40 "$(be64 $((L1 + 512)))"
	refuse "L1 table at .* not aligned"
}
# The L1 table over the header.
l1_over_header()
{
	start l1_over_header good
	put "$img" 40 "$(be64 0)"
	refuse "L1 table overlaps the header"
}
# The L1 table past the end of the file.
l1_past_eof()
{
	start l1_past_eof good
	put "$img" 40 "$(be64 "$EOFOFF")"
	refuse "L1 table at .* past end of file"
}
# The L1 table starts in the file and runs out of it.
l1_runs_out()
{
	start l1_runs_out good
	put "$img" 36 "$(be32 $((1 << 20)))"
	refuse "L1 table at .* past end of file"
}
# The L1 table on the refcount table.
l1_over_reftable()
{
	start l1_over_reftable good
	put "$img" 40 "$(be64 "$RT")"
	refuse "L1 table overlaps refcount table"
}
# The refcount table 512 bytes into its cluster.
reft_unaligned()
{
	start reft_unaligned good
	put "$img" 48 "$(be64 $((RT + 512)))"
	refuse "refcount table at .* not aligned"
}
# The refcount table over the header.
reft_over_header()
{
	start reft_over_header good
	put "$img" 48 "$(be64 0)"
	refuse "refcount table overlaps the header"
}
# The refcount table past the end of the file.
reft_past_eof()
{
	start reft_past_eof good
	put "$img" 48 "$(be64 "$EOFOFF")"
	refuse "refcount table at .* past end of file"
}
# A refcount table of no clusters.
reft_clusters_0()
{
	start reft_clusters_0 good
	put "$img" 56 "$(be32 0)"
	refuse "bad refcount table size"
}
# A refcount table of 2^32 - 1 clusters.
reft_clusters_max()
{
	start reft_clusters_max good
	put "$img" 56 ffffffff
	refuse "bad refcount table size"
}
# A refcount table of as many clusters as allowed, most past the end.
reft_runs_out()
{
	start reft_runs_out good
	put "$img" 56 "$(be32 1024)"
	refuse "refcount table at .* past end of file"
}
# The refcount table on the L1 table.
reft_over_l1()
{
	start reft_over_l1 good
	put "$img" 48 "$(be64 "$L1")"
	refuse "overlaps"
}
# 2^32 - 1 snapshots.
snap_count_max()
{
	start snap_count_max good
	put "$img" 60 ffffffff
	put "$img" 64 "$(be64 "$EOFOFF")"
	refuse "too many snapshots"
}
# The snapshot table 512 bytes into a cluster.
snap_unaligned()
{
	start snap_unaligned good
	put "$img" 60 "$(be32 1)"
	put "$img" 64 "$(be64 $((L2 + 512)))"
	refuse "snapshot table at .* not aligned"
}
# The snapshot table over the header.
snap_over_header()
{
	start snap_over_header good
	put "$img" 60 "$(be32 1)"
	put "$img" 64 "$(be64 0)"
	refuse "snapshot table overlaps the header"
}
# The snapshot table past the end of the file.
snap_past_eof()
{
	start snap_past_eof good
	put "$img" 60 "$(be32 1)"
	put "$img" 64 "$(be64 "$EOFOFF")"
	refuse "snapshot table at .* past end of file"
}
# The snapshot table on the refcount table.
snap_over_reftable()
{
	start snap_over_reftable good
	put "$img" 60 "$(be32 1)"
	put "$img" 64 "$(be64 "$RT")"
	refuse "overlaps"
}
# 64 snapshots said to be in a cluster of pseudo-random bytes.
snap_garbage()
{
	start snap_garbage good
	garbage "$img" "$EOFOFF" "$CS" 7
	put "$img" 60 "$(be32 64)"
	put "$img" 64 "$(be64 "$EOFOFF")"
	refuse "snapshot"
}
# A snapshot whose name length runs the table out of the file.
snap_name_runs_out()
{
	start snap_name_runs_out snap
	put "$img" $((SN + 12)) ffffffff
	refuse "snapshot table at .* past end of file"
}
# A snapshot whose L1 table lies past the end of the file.
snap_l1_past_eof()
{
	start snap_l1_past_eof snap
	put "$img" "$SN" "$(be64 "$EOFOFF")"
	refuse "snapshot L1 table at .* past end of file"
}
# A snapshot whose L1 table is 512 bytes into a cluster.
snap_l1_unaligned()
{
	start snap_l1_unaligned snap
	put "$img" "$SN" "$(be64 $((SNL1 + 512)))"
	refuse "snapshot L1 table at .* not aligned"
}
# A snapshot whose L1 table is the refcount table.
snap_l1_over_reftable()
{
	start snap_l1_over_reftable snap
	put "$img" "$SN" "$(be64 "$RT")"
	refuse "snapshot L1 table.*overlaps|overlaps snapshot L1"
}
# A snapshot whose L1 table has 2^32 - 1 entries.
snap_l1_size_max()
{
	start snap_l1_size_max snap
	put "$img" $((SN + 8)) ffffffff
	refuse "snapshot 0 L1 table too large"
}
# A header shorter than version 3's fixed part.
hdr_len_short()
{
	start hdr_len_short good
	put "$img" 100 "$(be32 96)"
	refuse "bad header length 96"
}
# A header length that is not a multiple of 8.
hdr_len_odd()
{
	start hdr_len_odd good
	put "$img" 100 "$(be32 108)"
	refuse "bad header length 108"
}
# A header longer than its cluster.
hdr_len_huge()
{
	start hdr_len_huge good
	put "$img" 100 fffffff8
	refuse "bad header length"
}
# Incompatible feature bits no one defines: 5 and 63.
incompat_unknown()
{
	start incompat_unknown good
	put "$img" 72 8000000000000020
	refuse "unsupported incompatible feature: bit 5, bit 63"
}
# Compression type 2, with its feature bit.
compress_type_2()
{
	start compress_type_2 good
	put "$img" 72 "$(be64 8)"
	put "$img" 104 02
	refuse "unknown compression type 2"
}
# Compression type 255, with its feature bit.
compress_type_255()
{
	start compress_type_255 good
	put "$img" 72 "$(be64 8)"
	put "$img" 104 ff
	refuse "unknown compression type 255"
}
# Compression type zstd without its feature bit.
compress_no_bit()
{
	start compress_no_bit good
	put "$img" 104 01
	refuse "compression type set without"
}
# A base name of 1024 bytes, one past the limit.
base_name_1024()
{
	start base_name_1024 good
	put "$img" 8 "$(be64 512)"
	put "$img" 16 "$(be32 1024)"
	refuse "base name is 1024 bytes"
}
# A base name of 2^32 - 1 bytes.
base_name_max()
{
	start base_name_max good
	put "$img" 8 "$(be64 512)"
	put "$img" 16 ffffffff
	refuse "base name is 4294967295 bytes"
}
# A base name that runs past the header cluster.
base_name_runs_out()
{
	start base_name_runs_out good
	put "$img" 8 "$(be64 $((CS - 8)))"
	put "$img" 16 "$(be32 100)"
	refuse "base name at .* past its cluster"
}
# A base name whose offset plus size wraps around 2^64.
base_name_wraps()
{
	start base_name_wraps good
	put "$img" 8 fffffffffffffff0
	put "$img" 16 "$(be32 32)"
	refuse "base name at .* past its cluster"
}
# A base name inside the header fields.
base_name_in_header()
{
	start base_name_in_header good
	put "$img" 8 "$(be64 16)"
	put "$img" 16 "$(be32 8)"
	refuse "base name at 0x10 overlaps the header"
}
# A header extension longer than the rest of its cluster.
ext_runs_out()
{
	start ext_runs_out good
	put "$img" "$HLEN" "$(be32 0x12345678)$(be32 $((CS - HLEN)))"
	refuse "extension .* past its cluster"
}
# A header extension of 2^32 - 1 bytes.
ext_len_max()
{
	start ext_len_max good
	put "$img" "$HLEN" "$(be32 0x12345678)ffffffff"
	refuse "extension .* past its cluster"
}
# An extension that ends where the base name begins, 4 bytes short of
# its 8-byte header.
ext_cut_by_base()
{
	start ext_cut_by_base good
	put "$img" "$HLEN" "$(be32 0x12345678)"
	put "$img" $((HLEN + 4)) "$(be32 8)"
	put "$img" 8 "$(be64 $((HLEN + 20)))"
	put "$img" 16 "$(be32 4)"
	put "$img" $((HLEN + 20)) 61626364
	refuse "extension .* past its cluster"
}
# Refcounts of 128 bits.
refcount_order_7()
{
	start refcount_order_7 good
	put "$img" 96 "$(be32 7)"
	refuse "refcount_order 7 out of range"
}
# A refcount width that would shift by 2^32 - 1.
refcount_order_max()
{
	start refcount_order_max good
	put "$img" 96 ffffffff
	refuse "refcount_order 4294967295 out of range"
}

# A version 2 image (header of 72 bytes) with an extension of 2^32 - 1
# bytes right after its header.
v2_ext_len_max()
{
	start v2_ext_len_max v2
	put "$img" 72 "$(be32 0x12345678)ffffffff"
	refuse "extension .* past its cluster"
}

# --- Tables: unaligned, overlapping, past the end, reserved bits ---

# An L2 table 512 bytes into its cluster.
l2_unaligned()
{
	start l2_unaligned good
	put "$img" "$L1" "$(be64 $(((L2 + 512) | COPIED)))"
	refuse "L2 table at .* not aligned"
}
# An L2 table past the end of the file.
l2_past_eof()
{
	start l2_past_eof good
	put "$img" "$L1" "$(be64 $((EOFOFF | COPIED)))"
	refuse "L2 table at .* past end of file"
}
# An L2 table that is the L1 table.
l2_over_l1()
{
	start l2_over_l1 good
	put "$img" "$L1" "$(be64 $((L1 | COPIED)))"
	refuse "L2 table at .* overlaps L1 table"
}
# An L2 table that is the refcount table.
l2_over_reftable()
{
	start l2_over_reftable good
	put "$img" "$L1" "$(be64 $((RT | COPIED)))"
	refuse "L2 table at .* overlaps refcount table"
}
# An L2 table that is the refcount block.
l2_over_refblock()
{
	start l2_over_refblock good
	put "$img" "$L1" "$(be64 $((RB | COPIED)))"
	refuse "L2 table at .* overlaps refcount block"
}
# An L2 table in the snapshot table's cluster.
l2_over_snaptable()
{
	start l2_over_snaptable snap
	put "$img" "$SL1" "$(be64 $((SN | COPIED)))"
	refuse "L2 table at .* overlaps snapshot table"
}
# An L1 entry with reserved bit 1 set.
l1_reserved()
{
	start l1_reserved good
	put "$img" "$L1" "$(be64 $((L2 | COPIED | 2)))"
	refuse "L1 entry 0 has reserved bits set"
}
# A refcount block 512 bytes into its cluster.
refblock_unaligned()
{
	start refblock_unaligned good
	put "$img" "$RT" "$(be64 $((RB + 512)))"
	refuse "refcount block at .* not aligned"
}
# A refcount block past the end of the file.
refblock_past_eof()
{
	start refblock_past_eof good
	put "$img" "$RT" "$(be64 "$EOFOFF")"
	refuse "refcount block at .* past end of file"
}
# A refcount block that is the L1 table.
refblock_over_l1()
{
	start refblock_over_l1 good
	put "$img" "$RT" "$(be64 "$L1")"
	refuse "refcount block at .* overlaps L1 table"
}
# A refcount block that is the refcount table itself.
refblock_over_reftable()
{
	start refblock_over_reftable good
	put "$img" "$RT" "$(be64 "$RT")"
	refuse "refcount block at .* overlaps refcount table"
}
# A refcount table entry with reserved bit 0 set.
reft_reserved()
{
	start reft_reserved good
	put "$img" "$RT" "$(be64 $((RB | 1)))"
	refuse "refcount table entry 0 has reserved bits set"
}

# --- Found only on access: the read of that cluster fails ---

# An L2 entry with reserved bit 1 set, on guest cluster 0.
l2_reserved_low()
{
	start l2_reserved_low good
	put "$img" "$L2" "$(be64 $((D0 | COPIED | 2)))"
	readfail 0 "$CS" src/good.raw
}
# An L2 entry with reserved bit 56 set, on guest cluster 1.
l2_reserved_high()
{
	start l2_reserved_high good
	put "$img" $((L2 + 8)) "$(be64 $(((D0 + CS) | COPIED | (1 << 56))))"
	readfail "$CS" "$CS" src/good.raw
}
# A zero-cluster L2 entry with reserved bit 8 set, on guest cluster 2.
l2_reserved_zero()
{
	start l2_reserved_zero good
	put "$img" $((L2 + 16)) "$(be64 $((1 | (1 << 8))))"
	readfail $((2 * CS)) "$CS" src/good.raw
}
# An L2 entry pointing 512 bytes into a cluster.
l2_entry_unaligned()
{
	start l2_entry_unaligned good
	put "$img" "$L2" "$(be64 $(((D0 + 512) | COPIED)))"
	readfail 0 "$CS" src/good.raw
}
# An L2 entry pointing past the end of the file.
l2_entry_past_eof()
{
	start l2_entry_past_eof good
	put "$img" "$L2" "$(be64 $((EOFOFF | COPIED)))"
	readfail 0 "$CS" src/good.raw
}
# A compressed cluster past the end of the file (64 KiB clusters: host
# offset in bits 0-53, sectors less one in bits 54-61).
comp_past_eof()
{
	start comp_past_eof comp
	end=$(($(wc -c <"$img") + 65536))
	put "$img" "$CL2" "$(be64 $((COMPRESSED | (1 << 54) | end)))"
	readfail 0 65536 src/good.raw
}
# A compressed cluster at the last addressable byte with the largest
# length: offset plus size runs past 2^54.
comp_wraps()
{
	start comp_wraps comp
	put "$img" "$CL2" \
	    "$(be64 $((COMPRESSED | (0xff << 54) | ((1 << 54) - 1))))"
	readfail 0 65536 src/good.raw
}
# A compressed cluster over the header with the largest length.
comp_over_header()
{
	start comp_over_header comp
	put "$img" "$CL2" "$(be64 $((COMPRESSED | (0xff << 54))))"
	readfail 0 65536 src/good.raw
}
# A compressed cluster whose bytes are the refcount table: not deflate.
comp_not_deflate()
{
	start comp_not_deflate comp
	put "$img" "$CL2" "$(be64 $((COMPRESSED | (1 << 54) | CRT)))"
	readfail 0 65536 src/good.raw
}
# The compressed cluster at 7 MiB cut to one sector: the stream ends
# early.
comp_cut_short()
{
	start comp_cut_short comp
	put "$img" $((CL2 + 7 * 16 * 8)) \
	    "$(be64 $((COMPRESSED | (CE7 & ((1 << 54) - 1)))))"
	readfail $((7 << 20)) 65536 src/good.raw
}
# A zstd cluster whose bytes are the refcount table: not a zstd frame.
zstd_not_zstd()
{
	start zstd_not_zstd zstd
	put "$img" "$ZL2" "$(be64 $((COMPRESSED | (1 << 54) | ZRT)))"
	readfail 0 65536 src/good.raw
}

ALL="bad_magic version_1 version_4 version_max cluster_bits_8
    cluster_bits_22 cluster_bits_64 size_bit63 size_over_max size_vs_l1
    crypt_aes crypt_luks crypt_unknown l1_2p31 l1_size_max l1_unaligned
    l1_over_header l1_past_eof l1_runs_out l1_over_reftable reft_unaligned
    reft_over_header reft_past_eof reft_clusters_0 reft_clusters_max
    reft_runs_out reft_over_l1 snap_count_max snap_unaligned
    snap_over_header snap_past_eof snap_over_reftable snap_garbage
    snap_name_runs_out snap_l1_past_eof snap_l1_unaligned
    snap_l1_over_reftable snap_l1_size_max hdr_len_short hdr_len_odd
    hdr_len_huge incompat_unknown compress_type_2 compress_type_255
    compress_no_bit base_name_1024 base_name_max base_name_runs_out
    base_name_wraps base_name_in_header ext_runs_out ext_len_max
    ext_cut_by_base refcount_order_7 refcount_order_max v2_ext_len_max
    l2_unaligned l2_past_eof l2_over_l1 l2_over_reftable l2_over_refblock
    l2_over_snaptable l1_reserved refblock_unaligned refblock_past_eof
    refblock_over_l1 refblock_over_reftable reft_reserved l2_reserved_low
    l2_reserved_high l2_reserved_zero l2_entry_unaligned l2_entry_past_eof
    comp_past_eof comp_wraps comp_over_header comp_not_deflate
    comp_cut_short zstd_not_zstd"

sources
for f in $ALL; do
	$f
done
