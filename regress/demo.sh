#!/bin/sh
# The guided tour: a Linux guest under QEMU boots on a qcow2 disk served
# by vioblk over vhost-user-blk, reads the welcome file its base image
# holds and writes a file of its own; the host then finds the image
# clean and reads the guest's file out of it.
#
#   B=build sh regress/demo.sh      (make demo builds first)
#
# Every step says what it does; the first that fails ends the tour with
# status 1.  Nothing is left running and the scratch directory goes.

set -u

: "${B:=build}"
top=$(pwd)
. "$top/regress/guest.subr"

VIOBLK=$top/$B/vioblk
VIOBLKCTL=$top/$B/vioblkctl
# The base file system, in MiB, and the disk the guest sees.
DISK_MIB=64
# The guest's bound, boot to power-off.
BOOT_TIMEOUT=120
# How long vioblk may take to listen, or to exit, in tenths of a second.
WAIT_TENTHS=100
# Longer than the whole tour.
BACKEND_TIMEOUT=300

step_n=0
say()
{
	step_n=$((step_n + 1))
	echo
	echo "==> $step_n. $*"
}

die()
{
	echo "demo: FAILED: $*" >&2
	exit 1
}

# run CMD...: show the command, then run it.
run()
{
	echo "\$ $*" | sed "s|$work/||g; s|$top/||g"
	"$@"
}

for f in "$VIOBLK" "$VIOBLKCTL"; do
	[ -x "$f" ] || die "$f is not built (run make first)"
done
for t in qemu-system-x86_64 qemu-img mke2fs debugfs; do
	command -v "$t" >/dev/null || die "$t is missing (run make deps)"
done

start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/vioblk-demo.XXXXXX") || exit 1
cleanup_on_exit "$work"
cd "$work" || exit 1
sock=$work/disk.sock

say "Build (or reuse) the guest: a Debian kernel and a busybox initramfs"
guest=$(guest_cache_dir)/guest
guest_build "$guest" || die "no guest kernel: see above"

say "Make a base image: an ext2 file system holding welcome.txt"
mkdir files
cat >files/welcome.txt <<EOT
Welcome to vioblk!
This file lives in the base image; the guest reads it through a qcow2
image on top, served by a sandboxed vioblk child over vhost-user-blk.
EOT
truncate -s "${DISK_MIB}M" base.raw
run mke2fs -q -t ext2 -L demo -d files base.raw ||
    die "mke2fs"
run "$VIOBLKCTL" convert -O qcow2 base.raw base.qcow2 || die "convert"
rm -f base.raw

say "Make the guest's disk: an empty qcow2 image over the base"
run "$VIOBLKCTL" create -b base.qcow2 -F qcow2 top.qcow2 || die "create"

say "Start vioblk on top.qcow2, listening on a vhost-user socket"
echo "\$ vioblk -d -u disk.sock top.qcow2 &"
vioblk_start "$BACKEND_TIMEOUT" "$sock" top.qcow2 vioblk.log
wait_for_socket "$sock" "$WAIT_TENTHS" || {
	cat vioblk.log
	die "vioblk did not listen"
}
ls -l disk.sock | awk '{ print $1, $NF }'

say "Boot a Linux guest under QEMU on it: read welcome.txt, write from-guest.txt"
sh "$top/regress/guest/boot.sh" -t "$BOOT_TIMEOUT" -l "$work/console.log" \
    -a "vioblk.mode=demo vioblk.disk_mib=$DISK_MIB
    vioblk.demo_read=welcome.txt vioblk.demo_write=from-guest.txt" \
    "$guest" "$sock" || { tail -n 20 console.log; die "the guest"; }

say "Stop vioblk with SIGTERM: it flushes the image and removes its socket"
kill -TERM "$backend_pid"
wait "$backend_pid"
rc=$?
backend_pid=
[ "$rc" -eq 0 ] || { cat vioblk.log; die "vioblk exited $rc"; }
[ ! -e "$sock" ] || die "disk.sock is still there"
echo "vioblk exited 0; disk.sock is gone"

say "Look at the image: vioblkctl info"
run "$VIOBLKCTL" info top.qcow2 || die "vioblkctl info"

say "Check it with a tool we did not write: qemu-img check"
run qemu-img check top.qcow2 || die "qemu-img check"

say "Read the guest's file on the host, from a raw copy made by vioblkctl"
run "$VIOBLKCTL" convert -O raw top.qcow2 top.raw || die "convert"
echo "\$ debugfs -R 'cat /from-guest.txt' top.raw"
debugfs -R "cat /from-guest.txt" top.raw 2>/dev/null >from-guest.txt
cat from-guest.txt
grep -q '^written by the guest' from-guest.txt ||
    die "from-guest.txt is not in the image"

echo
echo "demo: done in $(($(date +%s) - start)) s; nothing left running."
