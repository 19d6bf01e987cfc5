#!/bin/sh
# A Linux guest boots under QEMU on vioblk through vhost-user-blk: the
# unmodified virtio_blk driver of the guest against the sandboxed child.
# The disk is a qcow2 image over a qcow2 base; the guest reads the
# pattern the base holds, writes and reads back its own, makes, fills and
# remounts an ext2 file system.  Afterwards the top image is clean for
# qemu-img check, the guest's bytes read back on the host through
# vioblkctl convert, the base is unchanged, and vioblk, stopped with
# SIGTERM, exits 0 and removes its socket.  The same steps as
# test-guest-qsd.sh, whose back-end is qemu-storage-daemon.

set -u

top=$(pwd)
. "$top/regress/guest/lib.sh"
. "$top/regress/vioblk.subr"
VIOBLKCTL=$BDIR/vioblkctl

# Layout of the disk, in MiB, as test-guest-qsd.sh: the file system from
# 0, the patterns after it so that the host can still find them.
DISK_MIB=128
FS_MIB=64
BASE_OFF=64
BASE_LEN=1
BASE_SEED=10000000
PAT_OFF=72
PAT_LEN=1
PAT_SEED=20000000
MIB=1048576
# The guest's own bound, boot to power-off (the figure).
BOOT_TIMEOUT=120
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
timeout 900 sh regress/guest/mkinitramfs.sh "$guest"
case $? in
0)	;;
77)	skip "no guest kernel (see above)" ;;
*)	echo "mkinitramfs.sh failed"; exit 1 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/guest-vioblk.XXXXXX") || exit 1
backend_pid=
cleanup()
{
	if [ -n "$backend_pid" ]; then
		kill "$backend_pid" 2>/dev/null
		wait "$backend_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cd "$work" || exit 1
sock=$work/vhost.sock

# Serve top.qcow2 on $sock in the background, set backend_pid and
# return once it listens.
backend_start()
{
	timeout -k 5 "$BACKEND_TIMEOUT" "$VIOBLK" -d -u "$sock" top.qcow2 \
	    >backend.log 2>&1 &
	backend_pid=$!
	i=0
	while [ ! -S "$sock" ]; do
		if [ "$i" -ge "$SOCKET_WAIT_TENTHS" ] ||
		    ! kill -0 "$backend_pid" 2>/dev/null; then
			echo "vioblk did not listen on $sock:"
			cat backend.log
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

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

truncate -s "${DISK_MIB}M" base.raw
gen_pattern "$BASE_SEED" $((BASE_LEN * MIB)) |
    dd of=base.raw bs=1M seek="$BASE_OFF" conv=notrunc iflag=fullblock \
    status=none
qemu-img convert -f raw -O qcow2 base.raw base.qcow2 &&
    "$VIOBLKCTL" create -b base.qcow2 -F qcow2 top.qcow2 >/dev/null ||
    { echo "cannot create the images"; exit 1; }
base_before=$(sha256sum <base.qcow2)

backend_start

sh "$top/regress/guest/boot.sh" -t "$BOOT_TIMEOUT" -l "$work/console.log" \
    -a "vioblk.mode=test vioblk.disk_mib=$DISK_MIB vioblk.fs_mib=$FS_MIB
    vioblk.base_off=$BASE_OFF vioblk.base_len=$BASE_LEN
    vioblk.base_sum=$(pattern_sum "$BASE_SEED" $((BASE_LEN * MIB)))
    vioblk.pat_off=$PAT_OFF vioblk.pat_len=$PAT_LEN vioblk.pat_seed=$PAT_SEED
    vioblk.pat_sum=$(pattern_sum "$PAT_SEED" $((PAT_LEN * MIB)))" \
    "$guest" "$sock" | sed 's/^/# /'
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

out=$(timeout 60 qemu-img check top.qcow2 2>&1)
echo "$out" | grep -q '^No errors were found' ||
    echo "$out" | sed 's/^/# /'
check "qemu-img check top.qcow2: no errors" \
    sh -c 'echo "$1" | grep -q "^No errors were found"' sh "$out"

timeout 60 "$VIOBLKCTL" convert -O raw top.qcow2 top.raw
gen_pattern "$PAT_SEED" $((PAT_LEN * MIB)) >pat.want
dd if=top.raw of=pat.have bs=1M skip="$PAT_OFF" count="$PAT_LEN" \
    status=none
check "the guest's pattern reads back through vioblkctl convert" \
    cmp pat.want pat.have

gen_pattern "$BASE_SEED" $((BASE_LEN * MIB)) >base.want
dd if=top.raw of=base.have bs=1M skip="$BASE_OFF" count="$BASE_LEN" \
    status=none
check "the base pattern shows through and the base is unchanged" \
    sh -c 'cmp base.want base.have &&
    [ "$(sha256sum <base.qcow2)" = "$1" ]' sh "$base_before"

if command -v e2fsck >/dev/null; then
	dd if=top.raw of=fs.img bs=1M count="$FS_MIB" status=none
	timeout 60 e2fsck -fn fs.img >e2fsck.log 2>&1
	rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/# /' e2fsck.log
	check "e2fsck finds the guest's file system clean" [ "$rc" -eq 0 ]
else
	ok "e2fsck of the guest's file system # SKIP no e2fsck"
fi

finish
