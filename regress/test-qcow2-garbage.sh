#!/bin/sh
# Nothing an image contains may crash the process: images with random
# bytes flipped in their metadata (header, extensions, refcount table and
# blocks, L1, L2, snapshot table, compressed descriptors) are opened, read
# whole and mapped.  Every run ends in success or a clean exit 1 with one
# error line; never a signal, and under SANITIZE=1 never a sanitizer
# report.  The damage comes from a fixed seed, so a failure can be rerun.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 30"
QDUMP=$B/regress/tools/qdump
SEED=${GARBAGE_SEED:-4242}
# Damaged images per source image: enough to touch every table.
ROUNDS=${GARBAGE_ROUNDS:-120}

# Source images: small clusters so that the metadata is dense, a
# snapshot, zero clusters, compressed clusters, a v2 image.
src1=$W/plain.qcow2
$TO qemu-img create -q -f qcow2 -o cluster_size=512 "$src1" 2M
$TO qemu-io -f qcow2 -c "write -P 1 0 300k" -c "write -z 400k 64k" \
    -c "write -P 2 1m 100k" "$src1" >/dev/null
$TO qemu-img snapshot -c s1 "$src1"
$TO qemu-io -f qcow2 -c "write -P 3 64k 64k" "$src1" >/dev/null
src2=$W/comp.qcow2
$TO qemu-img create -q -f raw "$W/data.raw" 2M
$TO qemu-io -f raw -c "write -P 4 0 1m" "$W/data.raw" >/dev/null
$TO qemu-img convert -c -O qcow2 -o cluster_size=4096,compression_type=zstd \
    "$W/data.raw" "$src2"
src3=$W/v2.qcow2
$TO qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=1024 "$src3" 2M
$TO qemu-io -f qcow2 -c "write -P 5 0 200k" "$src3" >/dev/null

# run NAME CMD...: exit 0, or exit 1 with an error; nothing else.
run()
{
	label=$1
	shift
	"$@" >/dev/null 2>"$W/err"
	rc=$?
	if [ $rc -gt 1 ] || grep -q "Sanitizer\|runtime error" "$W/err"; then
		echo "$label exit $rc: $(why "$W/err")"
		return 1
	fi
	if [ $rc -eq 1 ] && [ ! -s "$W/err" ]; then
		echo "$label exit 1 without a message"
		return 1
	fi
	return 0
}

for src in "$src1" "$src2" "$src3"; do
	size=$(wc -c <"$src")
	# Metadata lies in the first part of these files; aim there mostly.
	meta=$(( size < 131072 ? size : 131072 ))
	name=$(basename "$src" .qcow2)
	bad=
	r=0
	awk -v seed="$SEED" -v rounds="$ROUNDS" -v meta="$meta" \
	    -v size="$size" -v name="$name" 'BEGIN {
		srand(seed + length(name) * 1000)
		for (i = 0; i < rounds; i++) {
			line = ""
			k = 1 + int(rand() * 4)
			for (j = 0; j < k; j++) {
				lim = rand() < 0.8 ? meta : size
				line = line " " int(rand() * lim) ":" \
				    int(rand() * 256)
			}
			print line
		}
	}' >"$W/plan"
	while read -r plan; do
		r=$((r + 1))
		cp "$src" "$W/img"
		for p in $plan; do
			printf "$(printf '\\%03o' "${p#*:}")" |
			    dd of="$W/img" bs=1 seek="${p%:*}" conv=notrunc \
			    2>/dev/null
		done
		rm -f "$W/out.raw" "$W/conv.raw"
		msg=$(run info $TO "$CTL" info "$W/img") &&
		    msg=$(run map $TO "$CTL" map --json "$W/img") &&
		    msg=$(run qdump $TO "$QDUMP" -o "$W/out.raw" "$W/img") &&
		    msg=$(run convert $TO "$CTL" convert "$W/img" \
		    "$W/conv.raw") ||
		    { bad="round $r ($plan): $msg"; break; }
	done <"$W/plan"
	if [ -z "$bad" ]; then
		ok "$name: $ROUNDS damaged images, no crash"
	else
		notok "$name: $bad"
	fi
done

echo "1..$n"
[ "$fails" -eq 0 ]
