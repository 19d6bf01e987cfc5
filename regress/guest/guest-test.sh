#!/bin/sh
# The guest's side of the boot test, run by /init.  It prints one line
# per step, "GUEST PASS <step>" or "GUEST FAIL <step>: <reason>", then
# "GUEST DONE" and powers off.  A step that fails ends its mode: the
# steps after it depend on it.
#
# Options come from the kernel command line, vioblk.NAME=VALUE; sizes
# and offsets are in MiB:
#   mode       test, bench or demo
#   disk_mib   expected size of /dev/vda (0: any)
#   test:  base_off base_len base_seed base_sum   the pattern the host
#              wrote into the base image, and its sha256
#          pat_off pat_len pat_seed pat_sum       the pattern to write
#          fs_mib    size of the ext2 file system at the start of the disk
#   bench: bench_mib bench_reps   O_DIRECT dd of bench_mib MiB, bs=1M,
#              to then from the start of the disk, bench_reps times;
#              prints "GUEST BENCH write <ms>" and "GUEST BENCH read <ms>"
#   demo:  demo_read demo_write   a file on the disk's file system to
#              print ("GUEST SAY <line>") and one to create

. "$(dirname "$0")/lib.sh"

DISK=/dev/vda
MIB=1048576
# How long the disk may take to appear after virtio_blk is loaded.
DISK_WAIT_SECONDS=10
# The file system test: one file spanning many blocks, made from its own
# pattern, and enough small files to fill more than one directory block.
BIG_FILE_SEED=30000000
BIG_FILE_MIB=2
SMALL_FILES=64

param()
{
	v=$(tr ' ' '\n' </proc/cmdline | sed -n "s/^vioblk\.$1=//p" |
	    tail -n 1)
	echo "${v:-$2}"
}

# Wall-clock microseconds: adjtimex has them, /proc/uptime only
# hundredths.
now_us()
{
	s=$(adjtimex 2>/dev/null | sed -n 's/.*time\.tv_sec: *//p')
	u=$(adjtimex 2>/dev/null | sed -n 's/.*time\.tv_usec: *//p')
	if [ -n "$s" ] && [ -n "$u" ]; then
		echo $((s * 1000000 + u))
	else
		awk '{ printf "%d\n", $1 * 1000000 }' /proc/uptime
	fi
}

# Run step $1, the function step_$1; print its verdict with the last
# line the function printed as the reason.
step()
{
	if out=$("step_$1" 2>&1); then
		echo "GUEST PASS $1"
		return 0
	fi
	echo "GUEST FAIL $1: $(echo "$out" | tail -n 1)"
	dmesg | tail -n 20 | sed 's/^/GUEST LOG /'
	return 1
}

sum_of_region()
{
	dd if="$DISK" bs=1M skip="$1" count="$2" iflag=direct 2>/dev/null |
	    sha256sum | cut -d' ' -f1
}

step_disk()
{
	i=0
	while [ ! -b "$DISK" ]; do
		[ "$i" -lt "$DISK_WAIT_SECONDS" ] ||
		    { echo "$DISK did not appear"; return 1; }
		sleep 1
		i=$((i + 1))
	done
	want=$(param disk_mib 0)
	have=$(($(cat /sys/block/vda/size) / 2048))
	[ "$want" -eq 0 ] || [ "$have" -eq "$want" ] ||
	    { echo "$DISK is $have MiB, expected $want"; return 1; }
}

step_base_pattern()
{
	want=$(param base_sum none)
	have=$(sum_of_region "$(param base_off 0)" "$(param base_len 1)")
	[ "$have" = "$want" ] ||
	    { echo "sha256 $have, expected $want"; return 1; }
}

step_write_pattern()
{
	seed=$(param pat_seed 20000000)
	len=$(param pat_len 1)
	want=$(param pat_sum none)
	have=$(pattern_sum "$seed" $((len * MIB)))
	[ "$have" = "$want" ] ||
	    { echo "generated sha256 $have, host expects $want"; return 1; }
	gen_pattern "$seed" $((len * MIB)) | dd of="$DISK" bs=1M \
	    seek="$(param pat_off 2)" iflag=fullblock oflag=direct 2>&1 |
	    grep -v records
	[ "$(sum_of_region "$(param pat_off 2)" "$len")" = "$want" ] ||
	    { echo "dd wrote something else"; return 1; }
}

step_read_back()
{
	want=$(param pat_sum none)
	have=$(sum_of_region "$(param pat_off 2)" "$(param pat_len 1)")
	[ "$have" = "$want" ] ||
	    { echo "sha256 $have, expected $want"; return 1; }
}

step_mkfs()
{
	mke2fs -F -b 4096 -L vioblk "$DISK" $(($(param fs_mib 64) * 1024)) \
	    >/tmp/mkfs.log 2>&1 || { tail -n 1 /tmp/mkfs.log; return 1; }
}

step_mount()
{
	mount -t ext2 "$DISK" /mnt
}

step_write_files()
{
	echo "written by the guest" >/mnt/hello.txt || return 1
	gen_pattern "$BIG_FILE_SEED" $((BIG_FILE_MIB * MIB)) \
	    >/mnt/pattern.bin || return 1
	mkdir /mnt/dir || return 1
	i=0
	while [ "$i" -lt "$SMALL_FILES" ]; do
		echo "small file $i" >"/mnt/dir/f$i" || return 1
		i=$((i + 1))
	done
	(cd /mnt && find . -type f | sort | xargs sha256sum) >/tmp/sums
	[ "$(wc -l </tmp/sums)" -eq $((SMALL_FILES + 2)) ] ||
	    { echo "expected $((SMALL_FILES + 2)) files"; return 1; }
	sync
}

step_umount()
{
	umount /mnt || return 1
	# The remount must read the disk, not what the page cache kept.
	blockdev --flushbufs "$DISK"
	echo 3 >/proc/sys/vm/drop_caches
}

step_remount()
{
	mount -t ext2 "$DISK" /mnt
}

step_read_files()
{
	(cd /mnt && sha256sum -c /tmp/sums) >/tmp/check.log 2>&1 ||
	    { grep -v ': OK$' /tmp/check.log | tail -n 1; return 1; }
	[ "$(sha256sum </mnt/pattern.bin | cut -d" " -f1)" = \
	    "$(pattern_sum "$BIG_FILE_SEED" $((BIG_FILE_MIB * MIB)))" ] ||
	    { echo "pattern.bin differs"; return 1; }
}

step_final_umount()
{
	umount /mnt
}

# The file system stayed inside its area.
step_base_pattern_after()
{
	step_base_pattern
}

step_bench()
{
	mib=$(param bench_mib 64)
	reps=$(param bench_reps 1)
	r=0
	while [ "$r" -lt "$reps" ]; do
		t0=$(now_us)
		dd if=/dev/zero of="$DISK" bs=1M count="$mib" oflag=direct \
		    2>/dev/null || { echo "dd write failed"; return 1; }
		t1=$(now_us)
		dd if="$DISK" of=/dev/null bs=1M count="$mib" iflag=direct \
		    2>/dev/null || { echo "dd read failed"; return 1; }
		t2=$(now_us)
		# On the console now: step() prints only the verdict.
		echo "GUEST BENCH write $(((t1 - t0) / 1000))" >/dev/console
		echo "GUEST BENCH read $(((t2 - t1) / 1000))" >/dev/console
		r=$((r + 1))
	done
}

step_demo_mount()
{
	mount "$DISK" /mnt
}

step_demo_read()
{
	f=/mnt/$(param demo_read welcome.txt)
	[ -f "$f" ] || { echo "$f: missing"; return 1; }
	sed 's/^/GUEST SAY /' "$f" >/dev/console
}

step_demo_write()
{
	f=/mnt/$(param demo_write from-guest.txt)
	echo "written by the guest, $(cat /proc/sys/kernel/osrelease)" \
	    >"$f" || return 1
	sync
}

case $(param mode test) in
test)
	for s in disk base_pattern write_pattern read_back mkfs mount \
	    write_files umount remount read_files final_umount \
	    base_pattern_after; do
		step "$s" || break
	done
	;;
bench)
	step disk && step bench
	;;
demo)
	step disk && step demo_mount && step demo_read &&
	    step demo_write && step final_umount
	;;
*)
	echo "GUEST FAIL mode: unknown vioblk.mode"
	;;
esac
echo "GUEST DONE"
sync
poweroff -f
