#!/bin/sh
# A Linux guest boots on a qcow2 image over a qcow2 base, served over
# vhost-user-blk by qemu-storage-daemon: it reads the pattern the base
# holds, writes and reads back its own, makes, fills and remounts an
# ext2 file system.  Afterwards the host finds the top image clean, the
# guest's bytes in it and the base unchanged.  This proves the guest
# harness against a back-end no one here wrote; the test for vioblk's
# own back-end differs only in backend_start.

set -u

top=$(pwd)
. "$top/regress/guest/lib.sh"

# Layout of the disk, in MiB: the file system from 0, the patterns
# after it so that the host can still find them when the guest is done.
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
timeout 900 sh regress/guest/mkinitramfs.sh "$guest"
case $? in
0)	;;
77)	skip "no guest kernel (see above)" ;;
*)	echo "mkinitramfs.sh failed"; exit 1 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/guest-qsd.XXXXXX") || exit 1
backend_pid=
cleanup()
{
	backend_stop
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
	opts=type=vhost-user-blk,id=e0,node-name=top0,addr.type=unix
	opts=$opts,addr.path=$sock,writable=on
	timeout -k 5 "$BACKEND_TIMEOUT" qemu-storage-daemon \
	    --blockdev driver=file,node-name=file0,filename=top.qcow2 \
	    --blockdev driver=qcow2,node-name=top0,file=file0 \
	    --export "$opts" >backend.log 2>&1 &
	backend_pid=$!
	wait_for_socket
}

wait_for_socket()
{
	i=0
	while [ ! -S "$sock" ]; do
		if [ "$i" -ge "$SOCKET_WAIT_TENTHS" ] ||
		    ! kill -0 "$backend_pid" 2>/dev/null; then
			echo "back-end did not listen on $sock:"
			cat backend.log
			exit 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}

# Stop the back-end and wait, so that the image is closed and flushed.
backend_stop()
{
	[ -n "$backend_pid" ] || return 0
	kill "$backend_pid" 2>/dev/null
	wait "$backend_pid" 2>/dev/null
	backend_pid=
}

# The images: base.qcow2 holds the known pattern, top.qcow2 is empty
# over it.
truncate -s "${DISK_MIB}M" base.raw
gen_pattern "$BASE_SEED" $((BASE_LEN * MIB)) |
    dd of=base.raw bs=1M seek="$BASE_OFF" conv=notrunc iflag=fullblock \
    status=none
qemu-img convert -f raw -O qcow2 base.raw base.qcow2 &&
    qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2 ||
    { echo "cannot create the images"; exit 1; }
base_before=$(sha256sum <base.qcow2)

backend_start

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

sh "$top/regress/guest/boot.sh" -t "$BOOT_TIMEOUT" -l "$work/console.log" \
    -a "vioblk.mode=test vioblk.disk_mib=$DISK_MIB vioblk.fs_mib=$FS_MIB
    vioblk.base_off=$BASE_OFF vioblk.base_len=$BASE_LEN
    vioblk.base_sum=$(pattern_sum "$BASE_SEED" $((BASE_LEN * MIB)))
    vioblk.pat_off=$PAT_OFF vioblk.pat_len=$PAT_LEN vioblk.pat_seed=$PAT_SEED
    vioblk.pat_sum=$(pattern_sum "$PAT_SEED" $((PAT_LEN * MIB)))" \
    "$guest" "$sock"
rc=$?
[ "$rc" -eq 0 ] || tail -n 30 console.log
report "$rc" "guest boots and passes every step"
backend_stop

out=$(timeout 60 qemu-img check top.qcow2 2>&1)
echo "$out" | grep -q '^No errors were found' ||
    { echo "$out"; false; }
report $? "qemu-img check top.qcow2: no errors"

timeout 60 qemu-img convert -O raw top.qcow2 top.raw
gen_pattern "$PAT_SEED" $((PAT_LEN * MIB)) >pat.want
dd if=top.raw of=pat.have bs=1M skip="$PAT_OFF" count="$PAT_LEN" \
    status=none
cmp pat.want pat.have
report $? "the guest's pattern reads back on the host"

gen_pattern "$BASE_SEED" $((BASE_LEN * MIB)) >base.want
dd if=top.raw of=base.have bs=1M skip="$BASE_OFF" count="$BASE_LEN" \
    status=none
cmp base.want base.have && [ "$(sha256sum <base.qcow2)" = "$base_before" ]
report $? "the base pattern shows through and the base is unchanged"

if command -v e2fsck >/dev/null; then
	dd if=top.raw of=fs.img bs=1M count="$FS_MIB" status=none
	timeout 60 e2fsck -fn fs.img >e2fsck.log 2>&1 || cat e2fsck.log
	report $? "e2fsck finds the guest's file system clean"
else
	n=$((n + 1))
	echo "ok $n - e2fsck of the guest's file system # SKIP no e2fsck"
fi
