#!/bin/sh
# vioblkctl opens chains as vioblk does (qcow2/imgchain.c): the same
# locks and the same confinement.  While vioblk serves held.qcow2 (over
# base.qcow2), a command that would write it (check -r, create over it as
# a new file's base is a read) is refused with the lock message and the
# file is unchanged; a command that only reads it is refused too unless
# -U, as qemu-img's force share, is given; the base, which vioblk only
# reads, may be read by others but not repaired.  Bases outside the top
# image's directory are refused without -B, a FIFO base does not block.
. regress/vioblk.subr
CTL=$BDIR/vioblkctl
need_built "$CTL"
# Bounds each vioblkctl run: a FIFO opened for reading would block.
CTL_TIMEOUT=30

d=$TMPDIR/lk
mkdir -p "$d/up" || exit 1
d=$(cd "$d" && pwd -P)
cd "$d" || exit 1
qemu-img create -q -f qcow2 base.qcow2 4M
qemu-io -f qcow2 -c "write -P 0x61 0 1M" base.qcow2 >/dev/null
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 held.qcow2

# -v: the parent says when the chain is complete, locks and all.
timeout -k 5 120 "$VIOBLK" -d -v -u "$d/s.sock" held.qcow2 \
    >"$TMPDIR/log" 2>&1 &
vpid=$!
wait_for grep -q "chain of 2 image(s) complete" "$TMPDIR/log"
sum_held=$(sha256sum <held.qcow2)
sum_base=$(sha256sum <base.qcow2)

# ctl NAME STATUS LINE ARGS...: vioblkctl ARGS exits STATUS; with LINE,
# it says exactly that one line on stderr.
ctl()
{
	c_name=$1
	c_status=$2
	c_line=$3
	shift 3
	timeout -k 5 "$CTL_TIMEOUT" "$CTL" "$@" >"$TMPDIR/ctl.out" \
	    2>"$TMPDIR/ctl.err"
	c_rc=$?
	if [ "$c_rc" -ne "$c_status" ]; then
		not_ok "$c_name: exit $c_rc, not $c_status"
		sed 's/^/# /' "$TMPDIR/ctl.err"
	elif [ -n "$c_line" ] && { [ "$(wc -l <"$TMPDIR/ctl.err")" -ne 1 ] ||
	    ! has "$TMPDIR/ctl.err" "$c_line"; }; then
		not_ok "$c_name: says \"$c_line\" alone"
	else
		ok "$c_name"
	fi
}

locked="vioblkctl: held.qcow2: locked by another process"
ctl "check -r all of a held image is refused" 1 "$locked" \
    check -r all held.qcow2
ctl "check -r leaks of a held image is refused" 1 "$locked" \
    check -r leaks held.qcow2
ctl "check of a held image is refused" 1 "$locked" check held.qcow2
ctl "check -U of a held image runs" 0 "" check -U held.qcow2
ctl "-U with -r is a usage error" 1 \
    "vioblkctl: -U: only a check that repairs nothing may share an image" \
    check -U -r all held.qcow2
ctl "info of a held image is refused" 1 "$locked" info held.qcow2
ctl "info -U of a held image works" 0 "" info -U held.qcow2
check "info -U shows the chain" grep -q "^backing file: base.qcow2" \
    "$TMPDIR/ctl.out"
ctl "map of a held image is refused" 1 "$locked" map --json held.qcow2
ctl "map with the global -U works" 0 "" -U map --json held.qcow2
ctl "convert of a held image is refused" 1 "$locked" \
    convert held.qcow2 flat.raw
check "a refused convert leaves no output" test ! -e flat.raw
ctl "convert -U of a held image works" 0 "" convert -U held.qcow2 flat.raw
ctl "create over a held image is refused" 1 \
    "vioblkctl: new.qcow2: base held.qcow2: locked by a writer" \
    create -b held.qcow2 -F qcow2 new.qcow2
check "a refused create leaves no image" test ! -e new.qcow2
ctl "create -U over a held image works" 0 "" \
    create -U -b held.qcow2 -F qcow2 new.qcow2
ctl "info of the base vioblk reads works" 0 "" info base.qcow2
ctl "check -r all of that base is refused" 1 \
    "vioblkctl: base.qcow2: locked by another process" \
    check -r all base.qcow2
check "the held image is unchanged" test "$(sha256sum <held.qcow2)" = \
    "$sum_held"
check "its base is unchanged" test "$(sha256sum <base.qcow2)" = \
    "$sum_base"
kill -TERM "$vpid"
wait "$vpid"
check "vioblk served on undisturbed and exits 0" test $? -eq 0
ctl "once vioblk is gone, check -r all runs" 0 "" check -r all held.qcow2

# The same confinement as vioblk: bases inside the top image's
# directory, or the -B directories.
qemu-img create -q -f qcow2 -b ../base.qcow2 -F qcow2 up/top.qcow2
outside="outside $d/up, the top image's directory (see -B)"
ctl "info: a base outside the top's directory is refused" 1 \
    "vioblkctl: up/top.qcow2: base ../base.qcow2: $outside" \
    info up/top.qcow2
ctl "info -B: allowed where the operator says" 0 "" \
    -B . info up/top.qcow2
ctl "create: a base outside the new image's directory is refused" 1 \
    "vioblkctl: up/new.qcow2: base ../base.qcow2: outside $d/up, the top image's directory (see -B)" \
    create -b ../base.qcow2 -F qcow2 up/new.qcow2
check "the refused create leaves no image" test ! -e up/new.qcow2
mkfifo fifo
qemu-img create -q -f qcow2 -u -b fifo -F raw overfifo.qcow2 1M
ctl "a FIFO base is refused, and does not block" 1 \
    "vioblkctl: overfifo.qcow2: base fifo: a FIFO, not a regular file" \
    info overfifo.qcow2
ctl "a FIFO as the image is refused" 1 \
    "vioblkctl: fifo: a FIFO, not a regular file or block device" \
    check fifo

finish
