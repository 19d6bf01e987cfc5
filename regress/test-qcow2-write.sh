#!/bin/sh
# A seeded random workload (writes, reads, flushes, discards, write-zeroes;
# 512 B to 1 MiB, unaligned to clusters, overlapping) through our backing
# layer, mirrored on a raw model.  Afterwards `qemu-img check` finds no
# error and no leak, and `qemu-img compare` finds the image equal to the
# model: on empty images of every shape, over chains of bases, with lazy
# refcounts, with a tiny cache, and large enough to grow the refcount table.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 150"
WL=$B/regress/tools/workload

# be32 FILE OFFSET: a big-endian header field.
be32()
{
	od -An -tu1 -j "$2" -N4 "$1" |
	    awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'
}

# verify NAME IMAGE: clean check, and equal to the model.
verify()
{
	if ! $TO qemu-img check "$2" >"$W/check" 2>&1 ||
	    ! grep -q "No errors were found" "$W/check" ||
	    grep -q leaked "$W/check"; then
		notok "$1: qemu-img check ($(grep -v '^$' "$W/check" |
		    head -1))"
		return 1
	fi
	if ! $TO qemu-img compare -q -f raw "$W/model.raw" "$2" \
	    >"$W/cmp" 2>&1; then
		notok "$1: qemu-img compare ($(head -1 "$W/cmp"))"
		return 1
	fi
	ok "$1"
}

# run NAME OPS SEED [workload options] -- IMAGE [BASE ...]
run()
{
	name=$1
	ops=$2
	seed=$3
	shift 3
	opts=
	while [ "$1" != -- ]; do
		opts="$opts $1"
		shift
	done
	shift
	rm -f "$W/model.raw"
	$TO qemu-img convert -O raw "$1" "$W/model.raw"
	if ! $TO "$WL" $opts -n "$ops" -s "$seed" "$W/model.raw" "$@" \
	    2>"$W/err"; then
		notok "$name: workload ($(why "$W/err"))"
		return 1
	fi
	verify "$name" "$1"
}

M=$((1024 * 1024))
new() { $TO qemu-img create -q -f qcow2 "$@"; }

new -o cluster_size=65536 "$W/a.qcow2" 64M
run "empty v3, 64 KiB clusters" 1500 1 -- "$W/a.qcow2"
new -o cluster_size=4096 "$W/b.qcow2" 32M
run "empty v3, 4 KiB clusters" 1500 2 -- "$W/b.qcow2"
new -o compat=0.10 "$W/c.qcow2" 48M
run "empty v2, 64 KiB clusters" 1500 3 -- "$W/c.qcow2"
new -o cluster_size=2M "$W/d.qcow2" 64M
run "empty v3, 2 MiB clusters" 600 4 -- "$W/d.qcow2"
new -o cluster_size=4096,refcount_bits=1 "$W/e.qcow2" 24M
run "empty v3, 1-bit refcounts" 1200 5 -- "$W/e.qcow2"
new -o lazy_refcounts=on "$W/f.qcow2" 32M
run "empty v3, lazy refcounts" 1200 6 -l -- "$W/f.qcow2"
new -o cluster_size=512 "$W/g.qcow2" 8M
run "512 B clusters through a 4 KiB cache" 800 7 -c 4096 -- "$W/g.qcow2"

# 512 B clusters with 64-bit refcounts: a refcount block covers 4 KiB of
# file, so the refcount table (one cluster at first) has to grow.
img=$W/grow.qcow2
new -o cluster_size=512,refcount_bits=64 "$img" 24M
before=$(be32 "$img" 56)
if run "refcount table growth, 512 B clusters, 64-bit refcounts" 2500 8 \
    -- "$img"; then
	after=$(be32 "$img" 56)
	if [ "$after" -gt "$before" ]; then
		ok "refcount table grew from $before to $after clusters"
	else
		notok "refcount table did not grow ($before clusters)"
	fi
else
	notok "refcount table growth not reached"
fi

# Over a chain: top (empty) -> mid (some data, some zeroes) -> base.
new -o cluster_size=4096 "$W/base.qcow2" 32M
$TO qemu-io -f qcow2 -c "write -P 0x31 0 20m" "$W/base.qcow2" >/dev/null
new -b base.qcow2 -F qcow2 "$W/mid.qcow2"
$TO qemu-io -f qcow2 -c "write -P 0x32 $((3 * M + 512)) 5m" \
    -c "write -z 10m 2m" "$W/mid.qcow2" >/dev/null
new -b mid.qcow2 -F qcow2 "$W/top.qcow2"
sum0=$(cat "$W/base.qcow2" "$W/mid.qcow2" | sha256sum)
run "over a chain of two qcow2 bases" 1500 9 -- "$W/top.qcow2" \
    "$W/mid.qcow2" "$W/base.qcow2"
if [ "$(cat "$W/base.qcow2" "$W/mid.qcow2" | sha256sum)" = "$sum0" ]; then
	ok "bases untouched by writes to the top"
else
	notok "bases changed by writes to the top"
fi
new -o compat=0.10 -b mid.qcow2 -F qcow2 "$W/top2.qcow2"
run "v2 over a chain" 1000 10 -- "$W/top2.qcow2" \
    "$W/mid.qcow2" "$W/base.qcow2"

# Over a raw base shorter than the top.
$TO qemu-img create -q -f raw "$W/base.raw" 10M
$TO qemu-io -f raw -c "write -P 0x41 0 10m" "$W/base.raw" >/dev/null
new -o cluster_size=65536 -b base.raw -F raw "$W/over-raw.qcow2" 16M
run "over a shorter raw base" 1200 11 -- "$W/over-raw.qcow2" "$W/base.raw"

# The contract (qcow2-spec.md) says discarded partial clusters read as
# zeroes, as whole ones do; -Z holds every discard to that.
new "$W/z.qcow2" 32M
run "discards read as zeroes, partial clusters too" 600 13 -Z -- "$W/z.qcow2"
new -o compat=0.10 -b mid.qcow2 -F qcow2 "$W/z2.qcow2"
run "v2 over a chain: discards read as zeroes" 600 14 -Z -- "$W/z2.qcow2" \
    "$W/mid.qcow2" "$W/base.qcow2"

# More seeds over the common shapes: each seed is a different history.
for seed in 21 22 23 24 25 26; do
	case $seed in
	21|24) o=cluster_size=65536 ;;
	22|25) o=cluster_size=4096 ;;
	*) o=cluster_size=512,refcount_bits=16 ;;
	esac
	new -o "$o" "$W/s$seed.qcow2" 32M
	run "seed $seed, $o" 2500 $seed -- "$W/s$seed.qcow2"
done
for seed in 31 32; do
	new -o cluster_size=4096 -b mid.qcow2 -F qcow2 "$W/t$seed.qcow2"
	run "seed $seed over a chain" 2500 $seed -- "$W/t$seed.qcow2" \
	    "$W/mid.qcow2" "$W/base.qcow2"
done

# A second session on an image the first one filled: in-place rewrites,
# freed clusters reused.
run "second session on a used image" 1500 12 -- "$W/a.qcow2"

echo "1..$n"
[ "$fails" -eq 0 ]
