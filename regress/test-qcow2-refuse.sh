#!/bin/sh
# Every image our layer must refuse, crafted from a good qemu-img image by
# patching header or table bytes (big-endian, at the offsets of qemu's
# docs/interop/qcow2.rst): `vioblkctl info` and a read-write open both
# fail with exit 1 and a one-line message naming the image and the reason,
# and neither changes a byte of the file.  Damaged tables met only while
# reading (L2 entries, compressed descriptors) fail the read, not the
# process.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 60"
QDUMP=$B/regress/tools/qdump

. regress/image.subr

# A good v3 image with data, so that an L2 table and data clusters exist:
# header in cluster 0, refcount table, refcount block, L1, L2, data.
good=$W/good.qcow2
$TO qemu-img create -q -f qcow2 "$good" 1G
$TO qemu-io -f qcow2 -c "write -P 0x11 0 128k" -c "write -P 0x12 600m 64k" \
    "$good" >/dev/null
L1=$(get64 "$good" 40)
RT=$(get64 "$good" 48)
RB=$(get64 "$good" "$RT")
L2=$(( $(get64 "$good" "$L1") & 0x00fffffffffffe00 ))
EOFOFF=$(( $(wc -c <"$good") + 65536 * 16 ))
# The feature name table is the first extension qemu writes; its third
# entry (bit 3, "compression type") starts 8 + 3 * 48 bytes into it.
HLEN=$(get32 "$good" 100)
FT3=$((HLEN + 8 + 3 * 48))

# refuse NAME PHRASE [rw]: $W/img, patched already, must be refused by
# `vioblkctl info` (unless rw: then only read-write opens must refuse
# it) and by a read-write open, with PHRASE (an ERE) in the message and
# the file unchanged.
refuse()
{
	name=$1
	phrase=$2
	img=$W/img
	sum=$(sha256sum <"$img")
	if [ "${3:-}" != rw ]; then
		$TO "$CTL" info ${over:-"$img"} >/dev/null 2>"$W/err"
		rc=$?
		if [ $rc -eq 0 ]; then
			notok "$name: vioblkctl info accepted it"
		elif [ $rc -ne 1 ]; then
			notok "$name: vioblkctl info exit $rc, not 1"
		elif [ "$(wc -l <"$W/err")" -ne 1 ] ||
		    ! grep -q "^vioblkctl: .*img" "$W/err" ||
		    ! grep -Eqi "$phrase" "$W/err"; then
			notok "$name: vioblkctl info says: $(why "$W/err")"
		else
			ok "$name: refused ($(cat "$W/err"))"
		fi
	fi
	$TO "$QDUMP" -w ${over:+"$over"} "$img" >/dev/null 2>"$W/err"
	rc=$?
	if [ $rc -eq 0 ]; then
		notok "$name: a read-write open accepted it"
	elif [ $rc -ne 1 ] || ! grep -Eqi "$phrase" "$W/err"; then
		notok "$name: read-write open exit $rc: $(why "$W/err")"
	elif [ "$(sha256sum <"$img")" != "$sum" ]; then
		notok "$name: the file changed"
	else
		ok "$name: refused read-write, file unchanged"
	fi
}

# fresh: a new copy of the good image to patch.
fresh() { cp "$good" "$W/img"; }

# Without the magic a file is raw, unless its user recorded it as qcow2.
fresh; put "$W/img" 0 514649fa
$TO qemu-img create -q -f qcow2 -u -b img -F qcow2 "$W/over.qcow2" 1G
over=$W/over.qcow2
refuse "bad magic in a base recorded as qcow2" "magic"
over=
fresh; put "$W/img" 4 "$(be32 4)"
refuse "version 4" "version"
fresh; put "$W/img" 4 "$(be32 1)"
refuse "version 1" "version"
fresh; put "$W/img" 20 "$(be32 8)"
refuse "cluster_bits 8" "cluster_bits.*range"
fresh; put "$W/img" 20 "$(be32 22)"
refuse "cluster_bits 22" "cluster_bits.*range"
fresh; put "$W/img" 72 "$(be64 $((1 << 7)))"
refuse "unknown incompatible bit 7, unnamed" "incompatible.*bit 7"
fresh; put "$W/img" 72 "$(be64 $(((1 << 6) | (1 << 9))))"
refuse "unknown incompatible bits 6 and 9" "incompatible.*bit 6.*bit 9"
fresh; put "$W/img" "$FT3" 0006
put "$W/img" $((FT3 + 2)) 7368696e79206e6577207468696e6700
put "$W/img" 72 "$(be64 $((1 << 6)))"
refuse "unknown incompatible bit named by the feature table" \
    "incompatible.*shiny new thing"
fresh; put "$W/img" 32 "$(be32 1)"
refuse "encryption (AES)" "encrypt"
fresh; put "$W/img" 32 "$(be32 2)"
refuse "encryption (LUKS)" "encrypt"
fresh; put "$W/img" 72 "$(be64 4)"
refuse "external data file" "external data"
fresh; put "$W/img" 72 "$(be64 16)"
refuse "extended L2 entries" "extended L2"
fresh; put "$W/img" 72 "$(be64 2)"
refuse "corrupt bit, read-write" "corrupt" rw
if $TO "$CTL" info "$W/img" >"$W/out" 2>"$W/err" &&
    grep -q "^corrupt: yes" "$W/out"; then
	ok "corrupt bit: read-only info works and says corrupt"
else
	notok "corrupt bit: read-only info: $(why "$W/err")"
fi

fresh; put "$W/img" 40 "$(be64 $((L1 + 512)))"
refuse "L1 table unaligned" "L1 table.*not aligned"
fresh; put "$W/img" 40 "$(be64 0)"
refuse "L1 table over the header" "L1 table.*overlaps the header"
fresh; put "$W/img" 40 "$(be64 $EOFOFF)"
refuse "L1 table past end of file" "L1 table.*past end of file"
fresh; put "$W/img" 40 "$(be64 "$RT")"
refuse "L1 table over the refcount table" "overlaps"
fresh; put "$W/img" 36 "$(be32 1)"
refuse "L1 table too small for the disk" "L1 table too small"
fresh; put "$W/img" 36 "$(be32 0x7fffffff)"
refuse "L1 table huge" "L1 table"
fresh; put "$W/img" 48 "$(be64 $((RT + 4096)))"
refuse "refcount table unaligned" "refcount table.*not aligned"
fresh; put "$W/img" 48 "$(be64 0)"
refuse "refcount table over the header" "refcount table.*overlaps"
fresh; put "$W/img" 48 "$(be64 $EOFOFF)"
refuse "refcount table past end of file" "refcount table.*past end"
fresh; put "$W/img" 56 "$(be32 100000)"
refuse "refcount table clusters past end of file" "refcount table"
fresh; put "$W/img" 56 "$(be32 0)"
refuse "refcount table of no clusters" "refcount table"
fresh; put "$W/img" "$RT" "$(be64 $((RB + 512)))"
refuse "refcount block unaligned" "refcount block.*not aligned"
fresh; put "$W/img" "$RT" "$(be64 $EOFOFF)"
refuse "refcount block past end of file" "refcount block.*past end"
fresh; put "$W/img" "$L1" "$(be64 $(((EOFOFF) | (1 << 63))))"
refuse "L2 table past end of file" "L2 table.*past end"
fresh; put "$W/img" "$L1" "$(be64 $(((L2 + 512) | (1 << 63))))"
refuse "L2 table unaligned" "L2 table.*not aligned"
fresh; put "$W/img" 60 "$(be32 1)"
put "$W/img" 64 "$(be64 $EOFOFF)"
refuse "snapshot table past end of file" "snapshot table.*past end"
fresh; put "$W/img" 60 "$(be32 1)"
put "$W/img" 64 "$(be64 $((L2 + 512)))"
refuse "snapshot table unaligned" "snapshot table.*not aligned"
fresh; put "$W/img" 60 "$(be32 1)"
put "$W/img" 64 "$(be64 0)"
refuse "snapshot table over the header" "snapshot table.*overlaps"
# A real snapshot whose own L1 table is moved out of the file.
$TO qemu-img snapshot -c s1 "$good"
SN=$(get64 "$good" 64)
SNL1=$(get64 "$good" "$SN")
fresh; put "$W/img" "$SN" "$(be64 $EOFOFF)"
refuse "snapshot L1 table past end of file" "snapshot L1 table.*past end"
fresh; put "$W/img" "$SN" "$(be64 $((SNL1 + 512)))"
refuse "snapshot L1 table unaligned" "snapshot L1 table.*not aligned"
$TO qemu-img snapshot -d s1 "$good"

fresh; put "$W/img" $((HLEN + 4)) "$(be32 0xfff0)"
refuse "header extension past its cluster" "extension.*past its cluster"
fresh; put "$W/img" 8 "$(be64 4096)"
put "$W/img" 16 "$(be32 1024)"
refuse "base name of 1024 bytes" "base name.*1024"

# Tables reached only while reading: the open may pass, the read fails
# (exit 1, an error line), nothing crashes, nothing is written.
readfail()
{
	name=$1
	img=$W/img
	sum=$(sha256sum <"$img")
	$TO "$QDUMP" -o "$W/out.raw" "$img" >/dev/null 2>"$W/err"
	rc=$?
	if [ $rc -ne 1 ]; then
		notok "$name: reader exit $rc: $(why "$W/err")"
	elif [ "$(sha256sum <"$img")" != "$sum" ]; then
		notok "$name: the file changed"
	else
		ok "$name: read fails cleanly ($(why "$W/err"))"
	fi
	$TO "$CTL" convert -O raw "$img" "$W/conv.raw" >/dev/null 2>"$W/err"
	rc=$?
	rm -f "$W/conv.raw"
	if [ $rc -eq 1 ] && grep -q "^vioblkctl: " "$W/err"; then
		ok "$name: vioblkctl convert fails cleanly"
	else
		notok "$name: vioblkctl convert exit $rc: $(why "$W/err")"
	fi
}
fresh; put "$W/img" "$L2" "$(be64 $((EOFOFF | (1 << 63))))"
readfail "L2 entry past end of file"
fresh; put "$W/img" "$L2" "$(be64 $(((L2 + 4096 + 512) | (1 << 63))))"
readfail "L2 entry unaligned"
cimg=$W/comp.qcow2
$TO qemu-img convert -c -O qcow2 "$good" "$cimg"
CL1=$(get64 "$cimg" 40)
CL2=$(( $(get64 "$cimg" "$CL1") & 0x00fffffffffffe00 ))
# Compressed descriptor, 64 KiB clusters: host offset in bits 0..53.
cp "$cimg" "$W/img"
put "$W/img" "$CL2" "$(be64 $(((1 << 62) | EOFOFF)))"
readfail "compressed cluster past end of file"
cp "$cimg" "$W/img"
put "$W/img" "$CL2" "$(be64 $(((1 << 62) | (0xff << 54) | 0)))"
readfail "compressed cluster over the header with a huge length"

echo "1..$n"
[ "$fails" -eq 0 ]
