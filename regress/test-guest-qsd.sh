#!/bin/sh
# A Linux guest boots on a qcow2 image over a qcow2 base, served over
# vhost-user-blk by qemu-storage-daemon: it reads the pattern the base
# holds, writes and reads back its own, makes, fills and remounts an
# ext2 file system.  Afterwards the host finds the top image clean, the
# guest's bytes in it and the base unchanged.  This proves the guest
# harness against a back-end no one here wrote; the test for vioblk's
# own back-end differs only in the back-end it starts.

set -u

top=$(pwd)
. "$top/regress/guest.subr"

# How long a back-end may take to create its socket.
SOCKET_WAIT_TENTHS=100
# Longer than anything the test does with the back-end running.
BACKEND_TIMEOUT=300

skip()
{
	echo "SKIP: $*"
	exit 77
}

command -v qemu-system-x86_64 >/dev/null ||
    skip "qemu-system-x86_64 not installed"
command -v qemu-storage-daemon >/dev/null ||
    skip "qemu-storage-daemon not installed"

guest=$(guest_cache_dir)/guest
guest_build_or_skip "$guest"

work=$(mktemp -d "${TMPDIR:-/tmp}/guest-qsd.XXXXXX") || exit 1
cleanup_on_exit "$work"
cd "$work" || exit 1
sock=$work/vhost.sock

# The images: base.qcow2 holds the known pattern, top.qcow2 is empty
# over it.
test_base_image &&
    qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 ||
    { echo "cannot create the images"; exit 1; }
base_before=$(sha256sum <base.qcow2)

qsd_start "$BACKEND_TIMEOUT" "$sock" top.qcow2 backend.log
if ! wait_for_socket "$sock" "$SOCKET_WAIT_TENTHS"; then
	echo "back-end did not listen on $sock:"
	cat backend.log
	exit 1
fi

n=0
report()
{
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
	fi
}

test_boot "$work/console.log" "$guest" "$sock"
rc=$?
[ "$rc" -eq 0 ] || tail -n 30 console.log
report "$rc" "guest boots and passes every step"
backend_kill

out=$(timeout "$HOST_CHECK_TIMEOUT" qemu-img check top.qcow2 2>&1)
echo "$out" | grep -q '^No errors were found' ||
    { echo "$out"; false; }
report $? "qemu-img check top.qcow2: no errors"

timeout "$HOST_CHECK_TIMEOUT" qemu-img convert -O raw top.qcow2 top.raw
test_pattern_back top.raw
report $? "the guest's pattern reads back on the host"

test_base_intact top.raw "$base_before"
report $? "the base pattern shows through and the base is unchanged"

if command -v e2fsck >/dev/null; then
	test_fsck top.raw
	rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/# /' e2fsck.log
	report $rc "e2fsck finds the guest's file system clean"
else
	n=$((n + 1))
	echo "ok $n - e2fsck of the guest's file system # SKIP no e2fsck"
fi
