#!/bin/sh
# A Linux guest boots under QEMU on vioblk through vhost-user-blk: the
# unmodified virtio_blk driver of the guest against the sandboxed child.
# The disk is a qcow2 image over a qcow2 base; the guest reads the
# pattern the base holds, writes and reads back its own, makes, fills and
# remounts an ext2 file system.  Afterwards the top image is clean for
# qemu-img check, the guest's bytes read back on the host through
# vioblkctl convert, the base is unchanged, and vioblk, stopped with
# SIGTERM, exits 0 and removes its socket.  The same steps as
# test-guest-qsd.sh, whose back-end is qemu-storage-daemon; both take the
# disk's layout and the checks from regress/guest.subr.

set -u

top=$(pwd)
. "$top/regress/guest.subr"
. "$top/regress/vioblk.subr"
VIOBLKCTL=$BDIR/vioblkctl

# How long vioblk may take to create its socket, and to exit, in tenths.
SOCKET_WAIT_TENTHS=100
EXIT_WAIT_TENTHS=100
# Longer than anything the test does with vioblk running.
BACKEND_TIMEOUT=300

skip()
{
	echo "SKIP: $*"
	exit 77
}

for f in "$VIOBLK" "$VIOBLKCTL"; do
	[ -x "$f" ] || { echo "not built: $f"; exit 1; }
done
command -v qemu-system-x86_64 >/dev/null ||
    skip "qemu-system-x86_64 not installed"
command -v qemu-img >/dev/null || skip "qemu-img not installed"

guest=$(guest_cache_dir)/guest
guest_build_or_skip "$guest"

work=$(mktemp -d "${TMPDIR:-/tmp}/guest-vioblk.XXXXXX") || exit 1
cleanup_on_exit "$work"
cd "$work" || exit 1
sock=$work/vhost.sock

# SIGTERM, then the exit status, within EXIT_WAIT_TENTHS.
backend_stop()
{
	kill -TERM "$backend_pid" 2>/dev/null
	i=0
	while kill -0 "$backend_pid" 2>/dev/null; do
		[ "$i" -lt "$EXIT_WAIT_TENTHS" ] || break
		sleep 0.1
		i=$((i + 1))
	done
	wait "$backend_pid"
	backend_rc=$?
	backend_pid=
}

test_base_image &&
    "$VIOBLKCTL" create -b base.qcow2 -F qcow2 top.qcow2 >/dev/null ||
    { echo "cannot create the images"; exit 1; }
base_before=$(sha256sum <base.qcow2)

vioblk_start "$BACKEND_TIMEOUT" "$sock" top.qcow2 backend.log
if ! wait_for_socket "$sock" "$SOCKET_WAIT_TENTHS"; then
	echo "vioblk did not listen on $sock:"
	cat backend.log
	exit 1
fi

test_boot "$work/console.log" "$guest" "$sock" | sed 's/^/# /'
rc=$?
# The pipeline's status is sed's: read boot.sh's verdict from the log.
pass=$(tr -d '\r' <console.log | grep -c '^GUEST PASS ')
fail=$(tr -d '\r' <console.log | grep -c '^GUEST FAIL ')
done=$(tr -d '\r' <console.log | grep -c '^GUEST DONE')
[ "$rc" -eq 0 ] && [ "$pass" -gt 0 ] && [ "$fail" -eq 0 ] &&
    [ "$done" -eq 1 ]
rc=$?
[ "$rc" -eq 0 ] || tail -n 30 console.log | sed 's/^/# /'
check "guest boots on vioblk and passes every step ($pass)" [ "$rc" -eq 0 ]

check "vioblk still serves after the guest left" kill -0 "$backend_pid"
backend_stop
check "vioblk exits 0 on SIGTERM" [ "$backend_rc" -eq 0 ]
[ "$backend_rc" -eq 0 ] || sed 's/^/# /' backend.log
check "vioblk removed its socket" [ ! -e "$sock" ]

out=$(timeout "$HOST_CHECK_TIMEOUT" qemu-img check top.qcow2 2>&1)
echo "$out" | grep -q '^No errors were found' ||
    echo "$out" | sed 's/^/# /'
check "qemu-img check top.qcow2: no errors" \
    sh -c 'echo "$1" | grep -q "^No errors were found"' sh "$out"

timeout "$HOST_CHECK_TIMEOUT" "$VIOBLKCTL" convert -O raw top.qcow2 top.raw
check "the guest's pattern reads back through vioblkctl convert" \
    test_pattern_back top.raw

check "the base pattern shows through and the base is unchanged" \
    test_base_intact top.raw "$base_before"

if command -v e2fsck >/dev/null; then
	test_fsck top.raw
	rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/# /' e2fsck.log
	check "e2fsck finds the guest's file system clean" [ "$rc" -eq 0 ]
else
	ok "e2fsck of the guest's file system # SKIP no e2fsck"
fi

finish
