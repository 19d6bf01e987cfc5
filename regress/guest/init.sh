#!/bin/sh
# /init of the test guest: mount the kernel's file systems, load the
# virtio modules in dependency order (/etc/modules, written by
# mkinitramfs.sh), run guest-test.sh and power off whatever it did.

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# The host parses the console line by line: kernel messages written in
# the middle of a GUEST line would cut it.  guest-test.sh prints dmesg
# when a step fails.
echo 1 >/proc/sys/kernel/printk

failed=
for m in $(cat /etc/modules); do
	insmod "/lib/modules/$m.ko" >/dev/null 2>&1 || failed="$failed $m"
done
if [ -z "$failed" ]; then
	echo "GUEST PASS modules"
else
	echo "GUEST FAIL modules: insmod failed:$failed"
fi

sh /guest-test.sh
sync
poweroff -f
