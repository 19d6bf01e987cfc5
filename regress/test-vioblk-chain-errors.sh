#!/bin/sh
# Chains the parent refuses, each with its one line and status 1, before
# the child serves anything: a missing base, a loop, a chain of 17
# levels, a base outside every -B directory, and a top image another
# writer holds.
. regress/vioblk.subr
need_built

d=$TMPDIR/chains
mkdir -p "$d/img" "$d/other" "$d/deep" || exit 1
cd "$d/img" || exit 1

qemu-img create -q -f qcow2 -u -b ../b.qcow2 -F qcow2 top.qcow2 64M
refused "missing base" \
    "vioblk: top.qcow2: base ../b.qcow2: No such file or directory" \
    top.qcow2

qemu-img create -q -f qcow2 a.qcow2 64M
qemu-img create -q -f qcow2 -b a.qcow2 -F qcow2 b.qcow2
qemu-img rebase -u -b b.qcow2 -F qcow2 a.qcow2
refused "two images naming each other" \
    "vioblk: b.qcow2: base a.qcow2: loop in the backing chain" a.qcow2

(
	cd "$d/deep" &&
	qemu-img create -q -f qcow2 c0.qcow2 1M &&
	i=1 &&
	while [ $i -le 17 ]; do
		qemu-img create -q -f qcow2 -b c$((i - 1)).qcow2 -F qcow2 \
		    c$i.qcow2 || exit 1
		i=$((i + 1))
	done
) || exit 1
deepest="vioblk: ../deep/c1.qcow2: base c0.qcow2:"
refused "a chain of 17 levels" \
    "$deepest backing chain deeper than 16 levels" ../deep/c17.qcow2
vmm ready shutdown wait -- "$VIOBLK" -d ../deep/c16.qcow2
check "a chain of 16 levels is served" has "$out" "exit 0"

qemu-img create -q -f qcow2 ../other/o.qcow2 64M
qemu-img create -q -f qcow2 -b ../other/o.qcow2 -F qcow2 out.qcow2
refused "a base outside every -B directory" \
    "vioblk: out.qcow2: base ../other/o.qcow2: outside every -B directory" \
    -B . -B ../deep out.qcow2
ln -s ../other/o.qcow2 link.qcow2
qemu-img create -q -f qcow2 -b link.qcow2 -F qcow2 vialink.qcow2
refused "a link out of the -B directory" \
    "vioblk: vialink.qcow2: base link.qcow2: outside every -B directory" \
    -B . vialink.qcow2
vmm ready shutdown wait -- "$VIOBLK" -d -B ../deep -B ../other out.qcow2
check "a base inside a -B directory is served" has "$out" "exit 0"

# A first vioblk holds out.qcow2 for writing while the others try.
timeout -k 5 "$VMM_TIMEOUT" "$TESTVMM" -t 10 ready sleep:3000 shutdown \
    wait -- "$VIOBLK" -d -B ../other out.qcow2 >"$TMPDIR/holder.out" 2>&1 &
holder=$!
i=0
until grep -q '^ready' "$TMPDIR/holder.out" || [ $i -ge 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
refused "a top image locked by another writer" \
    "vioblk: out.qcow2: locked by another process" out.qcow2
refused "a locked top image, read-only" \
    "vioblk: out.qcow2: locked by another process" -r out.qcow2
if qemu-io -c 'write 0 512' out.qcow2 >/dev/null 2>&1; then
	not_ok "qemu-io cannot write an image vioblk holds"
else
	ok "qemu-io cannot write an image vioblk holds"
fi
wait $holder
check "the first writer ran undisturbed" has "$TMPDIR/holder.out" "exit 0"

finish
