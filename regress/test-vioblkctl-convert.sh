#!/bin/sh
# `vioblkctl convert` flattens a chain: to raw it equals `qemu-img convert
# -O raw` and is sparse; to qcow2 the result passes `qemu-img check` and
# compares equal; raw to qcow2 likewise.  -p draws nothing when stderr is
# not a terminal; an existing destination is refused.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 120"
M=$((1024 * 1024))

clean()
{
	$TO qemu-img check "$1" >"$W/check" 2>&1 &&
	    grep -q "No errors were found" "$W/check" &&
	    ! grep -q leaked "$W/check"
}

# A chain of five with relative names, data and zeroes at every level;
# each base lies above its image, so -B names the chain's directory.
c=$W/chain
mkdir -p "$c/d1/d2/d3/d4"
$TO qemu-img create -q -f raw "$c/l0.raw" 40M
$TO qemu-io -f raw -c "write -P 0xa0 0 30m" "$c/l0.raw" >/dev/null
$TO qemu-img create -q -f qcow2 -b ../l0.raw -F raw "$c/d1/l1.qcow2"
$TO qemu-img create -q -f qcow2 -o cluster_size=4096 -b ../l1.qcow2 \
    -F qcow2 "$c/d1/d2/l2.qcow2"
$TO qemu-img create -q -f qcow2 -o cluster_size=512 -b ../l2.qcow2 \
    -F qcow2 "$c/d1/d2/d3/l3.qcow2"
$TO qemu-img create -q -f qcow2 -b ../l3.qcow2 -F qcow2 \
    "$c/d1/d2/d3/d4/l4.qcow2" 48M
$TO qemu-io -f qcow2 -c "write -P 0xa1 4096 1m" -c "write -z 20m 4m" \
    "$c/d1/l1.qcow2" >/dev/null
$TO qemu-io -f qcow2 -c "write -P 0xa2 $((512 * 1024 + 512)) 1m" \
    -c "write -z 3m 128k" "$c/d1/d2/l2.qcow2" >/dev/null
$TO qemu-io -f qcow2 -c "write -P 0xa3 $((900 * 1024)) 300k" \
    "$c/d1/d2/d3/l3.qcow2" >/dev/null
$TO qemu-io -f qcow2 -c "write -P 0xa4 $((45 * M - 512)) 1k" \
    -c "write -z 1m 4k" "$c/d1/d2/d3/d4/l4.qcow2" >/dev/null
top=$c/d1/d2/d3/d4/l4.qcow2
$TO qemu-img convert -O raw "$top" "$W/ref.raw"

if $TO "$CTL" -B "$c" convert "$top" "$W/ours.raw" 2>"$W/err" &&
    cmp -s "$W/ref.raw" "$W/ours.raw"; then
	ok "chain of five to raw equals qemu-img convert"
else
	notok "chain to raw: $(why "$W/err")"
fi
# 48 MiB virtual, about 32 of data: the zeroes must be holes.
used=$(du -k "$W/ours.raw" | cut -f1)
if [ "$used" -lt $((40 * 1024)) ]; then
	ok "raw result is sparse (${used} KiB used)"
else
	notok "raw result not sparse (${used} KiB used)"
fi
if $TO "$CTL" -B "$c" convert -p -O qcow2 "$top" "$W/ours.qcow2" >"$W/out" \
    2>"$W/err" && clean "$W/ours.qcow2" &&
    $TO qemu-img compare -q -f raw "$W/ref.raw" "$W/ours.qcow2"; then
	ok "chain of five to qcow2: clean and equal"
else
	notok "chain to qcow2: $(why "$W/err") $(head -1 "$W/check")"
fi
if [ ! -s "$W/err" ] && [ ! -s "$W/out" ]; then
	ok "-p is silent when stderr is not a terminal"
else
	notok "-p wrote to a file: $(head -c 60 "$W/err")"
fi
# On a terminal (script(1) gives one) -p draws its progress to 100%.
if command -v script >/dev/null; then
	CTLABS=$(cd "$(dirname "$CTL")" && pwd)/$(basename "$CTL")
	$TO script -qec "'$CTLABS' -B '$c' convert -p '$top' '$W/tty.raw'" \
	    /dev/null >"$W/tty.out" 2>&1 </dev/null
	if grep -q "(100.00/100%)" "$W/tty.out" && cmp -s "$W/ref.raw" \
	    "$W/tty.raw"; then
		ok "-p draws progress on a terminal"
	else
		notok "-p on a terminal: $(why "$W/tty.out")"
	fi
else
	n=$((n + 1))
	echo "ok $n - -p on a terminal # SKIP script(1) not installed"
fi
if $TO qemu-img info "$W/ours.qcow2" | grep -q "^backing file"; then
	notok "qcow2 result still names a base"
else
	ok "qcow2 result stands alone"
fi

# Raw to qcow2: random data with holes.
$TO qemu-img create -q -f raw "$W/src.raw" 33M
dd if=/dev/urandom of="$W/src.raw" bs=64k seek=3 count=40 conv=notrunc \
    2>/dev/null
dd if=/dev/urandom of="$W/src.raw" bs=512 seek=50001 count=7 conv=notrunc \
    2>/dev/null
$TO qemu-io -f raw -c "write -P 0x5c $((30 * M)) 3m" "$W/src.raw" >/dev/null
if $TO "$CTL" convert -O qcow2 "$W/src.raw" "$W/src.qcow2" 2>"$W/err" &&
    clean "$W/src.qcow2" &&
    $TO qemu-img compare -q -f raw -F qcow2 "$W/src.raw" "$W/src.qcow2"
then
	ok "raw to qcow2: clean and equal"
else
	notok "raw to qcow2: $(why "$W/err") $(head -1 "$W/check")"
fi
# Only the data clusters are allocated: 40*64k + 1 + 48 clusters of data.
alloc=$($TO qemu-img map --output=json "$W/src.qcow2" |
    grep '"data": true' | sed 's/.*"length": \([0-9]*\).*/\1/' |
    awk '{ s += $1 } END { print s + 0 }')
if [ "$alloc" -le $((90 * 64 * 1024)) ]; then
	ok "qcow2 result holds only data ($alloc bytes)"
else
	notok "qcow2 result allocates zeroes ($alloc bytes)"
fi
if $TO "$CTL" convert -O raw "$W/src.qcow2" "$W/back.raw" 2>"$W/err" &&
    cmp -s "$W/src.raw" "$W/back.raw"; then
	ok "raw to qcow2 to raw round trip"
else
	notok "round trip: $(why "$W/err")"
fi

# Compressed source.
$TO qemu-img convert -c -O qcow2 -o compression_type=zstd "$W/src.raw" \
    "$W/comp.qcow2"
if $TO "$CTL" convert "$W/comp.qcow2" "$W/comp.raw" 2>"$W/err" &&
    cmp -s "$W/src.raw" "$W/comp.raw"; then
	ok "compressed zstd to raw"
else
	notok "compressed to raw: $(why "$W/err")"
fi

# A tiny metadata cache (-C) evicts all the time and reads the same.
if $TO "$CTL" -B "$c" -C 64k convert "$top" "$W/small.raw" 2>"$W/err" &&
    cmp -s "$W/ref.raw" "$W/small.raw"; then
	ok "-C 64k: a tiny cache reads the chain the same"
else
	notok "-C 64k: $(why "$W/err")"
fi

# Refusals.
$TO "$CTL" -C 0 convert "$top" "$W/x" 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -e "$W/x" ] && grep -q "bad cache size" "$W/err"
then
	ok "-C 0 is refused"
else
	notok "-C 0: exit $rc, $(why "$W/err")"
fi
echo keep >"$W/exists"
$TO "$CTL" convert "$W/src.raw" "$W/exists" 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && [ "$(cat "$W/exists")" = keep ] &&
    grep -q "^vioblkctl: .*exists" "$W/err"; then
	ok "refuses an existing destination"
else
	notok "existing destination: exit $rc, $(why "$W/err")"
fi
$TO "$CTL" convert -O vmdk "$W/src.raw" "$W/x" 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -e "$W/x" ]; then
	ok "refuses an unknown output format"
else
	notok "unknown output format: exit $rc"
fi
$TO "$CTL" convert "$W/nothere" "$W/x" 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && [ ! -e "$W/x" ] &&
    grep -q "^vioblkctl: .*nothere: No such file" "$W/err"; then
	ok "missing source: one line, exit 1"
else
	notok "missing source: exit $rc, $(why "$W/err")"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
