#!/bin/sh
# `vioblkctl create` makes images that qemu-img reads as asked: size,
# cluster size, lazy refcounts, base name and base format; they pass
# `qemu-img check`; an existing file is never overwritten; bad arguments
# exit 1 with the usage.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 60"

# field KEY: the first value of KEY in $W/info.json (qemu-img info).
field()
{
	grep -m1 "\"$1\":" "$W/info.json" |
	    sed -e 's/^[^:]*: //' -e 's/,$//' -e 's/"//g'
}

# agrees NAME IMAGE KEY=VALUE...: qemu-img info says so, check is clean.
agrees()
{
	name=$1
	img=$2
	shift 2
	if ! $TO qemu-img info --output=json "$img" >"$W/info.json" 2>&1; then
		notok "$name: qemu-img info: $(head -1 "$W/info.json")"
		return
	fi
	for kv in "$@"; do
		got=$(field "${kv%%=*}")
		if [ "$got" != "${kv#*=}" ]; then
			notok "$name: ${kv%%=*} is '$got', not '${kv#*=}'"
			return
		fi
	done
	if ! $TO qemu-img check "$img" >"$W/check" 2>&1 ||
	    ! grep -q "No errors were found" "$W/check"; then
		notok "$name: qemu-img check: $(grep -v '^$' "$W/check" |
		    head -1)"
		return
	fi
	ok "$name"
}

# create NAME ARGS...: vioblkctl create must succeed.
create()
{
	name=$1
	shift
	# Some bases lie above the new image: -B allows all of $W.
	if $TO "$CTL" -B "$W" create "$@" >"$W/out" 2>&1; then
		return 0
	fi
	notok "$name: vioblkctl create $*: $(head -1 "$W/out")"
	return 1
}

create "10G" -s 10G "$W/a.qcow2" &&
    agrees "create -s 10G" "$W/a.qcow2" virtual-size=10737418240 \
    cluster-size=65536 format=qcow2 compat=1.1 refcount-bits=16 \
    lazy-refcounts=false
create "512M" -s 512M -c 4096 "$W/b.qcow2" &&
    agrees "create -s 512M -c 4096" "$W/b.qcow2" virtual-size=536870912 \
    cluster-size=4096
create "64k" -s 64k -c 512 "$W/c.qcow2" &&
    agrees "create -s 64k -c 512" "$W/c.qcow2" virtual-size=65536 \
    cluster-size=512
create "2M clusters" -s 3G -c 2M "$W/d.qcow2" &&
    agrees "create -c 2M" "$W/d.qcow2" cluster-size=2097152 \
    virtual-size=3221225472
create "lazy" -o lazy_refcounts -s 1G "$W/e.qcow2" &&
    agrees "create -o lazy_refcounts" "$W/e.qcow2" lazy-refcounts=true
create "bytes" -s 1000000 "$W/f.qcow2" &&
    agrees "create -s 1000000 rounds up to a sector" "$W/f.qcow2" \
    virtual-size=1000448

# Over bases: the name is kept as given, the format recorded, the size
# taken from the base when -s is absent.
$TO qemu-img create -q -f qcow2 "$W/base.qcow2" 3G
$TO qemu-io -f qcow2 -c "write -P 0x21 0 1m" "$W/base.qcow2" >/dev/null
create "base" -b base.qcow2 -F qcow2 "$W/o1.qcow2" &&
    agrees "create -b -F qcow2, size from the base" "$W/o1.qcow2" \
    virtual-size=3221225472 backing-filename=base.qcow2 \
    backing-filename-format=qcow2
create "base detect" -b base.qcow2 -s 5G "$W/o2.qcow2" &&
    agrees "create -b, format detected, -s larger" "$W/o2.qcow2" \
    virtual-size=5368709120 backing-filename=base.qcow2 \
    backing-filename-format=qcow2
mkdir "$W/sub"
create "relative" -b ../base.qcow2 "$W/sub/o3.qcow2" &&
    agrees "create -b relative to the image's directory" \
    "$W/sub/o3.qcow2" backing-filename=../base.qcow2 \
    full-backing-filename="$W/sub/../base.qcow2"
$TO qemu-img create -q -f raw "$W/base.raw" 100M
create "raw base" -b base.raw -F raw "$W/o4.qcow2" &&
    agrees "create over a raw base" "$W/o4.qcow2" virtual-size=104857600 \
    backing-filename=base.raw backing-filename-format=raw
create "raw base detected" -b base.raw "$W/o5.qcow2" &&
    agrees "create over a raw base, format detected" "$W/o5.qcow2" \
    backing-filename-format=raw
create "abs" -b "$W/base.qcow2" -s 1G -c 4096 "$W/o6.qcow2" &&
    agrees "create -b absolute, -c 4096" "$W/o6.qcow2" \
    backing-filename="$W/base.qcow2" cluster-size=4096
# The new image reads its base's data.
if $TO qemu-img compare -q "$W/base.qcow2" "$W/o1.qcow2"; then
	ok "image over a base reads as the base"
else
	notok "image over a base differs from the base"
fi

# Refusals: an existing file is left alone; bad arguments exit 1.
echo keep >"$W/exists"
sum=$(sha256sum <"$W/exists")
$TO "$CTL" create -s 1G "$W/exists" 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && [ "$(sha256sum <"$W/exists")" = "$sum" ] &&
    grep -q "^vioblkctl: .*exists: File exists" "$W/err"; then
	ok "refuses to overwrite an existing file"
else
	notok "overwrite: exit $rc, $(why "$W/err")"
fi
bad()
{
	name=$1
	shift
	$TO "$CTL" "$@" >/dev/null 2>"$W/err"
	rc=$?
	if [ $rc -eq 1 ] && [ ! -e "$W/bad.qcow2" ] &&
	    grep -q "$expect" "$W/err"; then
		ok "$name"
	else
		notok "$name: exit $rc, $(why "$W/err")"
	fi
	rm -f "$W/bad.qcow2"
}
expect="usage: vioblkctl"
bad "no size, no base: usage" create "$W/bad.qcow2"
bad "no image: usage" create -s 1G
bad "unknown option: usage" create -x -s 1G "$W/bad.qcow2"
bad "no command: usage"
bad "-F without -b: usage" create -F raw -s 1G "$W/bad.qcow2"
expect="^vioblkctl: "
bad "bad size" create -s 10Q "$W/bad.qcow2"
bad "cluster size not a power of two" create -c 3000 -s 1G "$W/bad.qcow2"
bad "cluster size too small" create -c 256 -s 1G "$W/bad.qcow2"
bad "cluster size too large" create -c 4M -s 1G "$W/bad.qcow2"
bad "unknown -o option" create -o encryption -s 1G "$W/bad.qcow2"
bad "unknown base format" create -b base.qcow2 -F vmdk "$W/bad.qcow2"
bad "missing base" create -b nothere.qcow2 "$W/bad.qcow2"
bad "unknown command" frobnicate

echo "1..$n"
[ "$fails" -eq 0 ]
