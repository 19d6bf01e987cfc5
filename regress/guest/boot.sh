#!/bin/sh
# Boot the test guest on a vhost-user-blk disk whose back-end already
# listens on SOCKET, and judge what it printed.
#
#   boot.sh [-t seconds] [-l logfile] [-a 'kernel options'] GUESTDIR SOCKET
#
# GUESTDIR holds vmlinuz and initramfs.cpio.gz (mkinitramfs.sh).  The
# options after -a reach guest-test.sh (vioblk.mode=... and so on).  The
# console goes to the log file (default GUESTDIR/console.log, better one
# of the caller's); the GUEST lines are printed, and the time from start
# to power-off.  Exit status 0 if and only if the guest printed at least
# one PASS, no FAIL, and DONE, within the time limit (default 120 s).

set -u

# The issue's bound for a boot, tests and power-off under TCG.
DEFAULT_TIMEOUT=120
# Guest memory: the vhost-user back-end maps all of it, so it is one
# shared memfd.
GUEST_MEM_MIB=256

timeout=$DEFAULT_TIMEOUT
log=
append=
while getopts t:l:a: opt; do
	case $opt in
	t)	timeout=$OPTARG ;;
	l)	log=$OPTARG ;;
	a)	append=$OPTARG ;;
	*)	echo "usage: boot.sh [-t seconds] [-l logfile]" \
		    "[-a 'kernel options'] GUESTDIR SOCKET" >&2
		exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -ne 2 ]; then
	echo "usage: boot.sh [-t seconds] [-l logfile]" \
	    "[-a 'kernel options'] GUESTDIR SOCKET" >&2
	exit 2
fi
guest=$1
# One line: the options may come written over several.
append=$(echo $append)
sock=$2
: "${log:=$guest/console.log}"

for f in "$guest/vmlinuz" "$guest/initramfs.cpio.gz"; do
	[ -f "$f" ] || { echo "boot: $f: missing" >&2; exit 2; }
done
[ -S "$sock" ] || { echo "boot: $sock: not a socket" >&2; exit 2; }

start=$(date +%s%N)
timeout -k 5 "$timeout" qemu-system-x86_64 -accel tcg \
    -m "$GUEST_MEM_MIB" \
    -object "memory-backend-memfd,id=mem,size=${GUEST_MEM_MIB}M,share=on" \
    -numa node,memdev=mem \
    -chardev "socket,id=c0,path=$sock" \
    -device vhost-user-blk-pci,chardev=c0,num-queues=1 \
    -nographic -no-reboot \
    -kernel "$guest/vmlinuz" -initrd "$guest/initramfs.cpio.gz" \
    -append "console=ttyS0 panic=-1 $append" \
    </dev/null >"$log" 2>&1
rc=$?
end=$(date +%s%N)
ms=$(((end - start) / 1000000))

tr -d '\r' <"$log" | grep '^GUEST ' || true
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "boot: guest still running after ${timeout} s; console in $log"
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	echo "boot: qemu-system-x86_64 exited $rc; console in $log"
	tail -n 5 "$log"
	exit 1
fi
echo "boot: start to power-off $((ms / 1000)).$((ms % 1000 / 100)) s"

pass=$(tr -d '\r' <"$log" | grep -c '^GUEST PASS ')
fail=$(tr -d '\r' <"$log" | grep -c '^GUEST FAIL ')
done=$(tr -d '\r' <"$log" | grep -c '^GUEST DONE')
if [ "$fail" -ne 0 ] || [ "$pass" -eq 0 ] || [ "$done" -eq 0 ]; then
	echo "boot: $pass passed, $fail failed$([ "$done" -eq 0 ] &&
	    echo ', guest did not finish'); console in $log"
	exit 1
fi
echo "boot: $pass steps passed"
exit 0
