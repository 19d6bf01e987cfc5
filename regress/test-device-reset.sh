#!/bin/sh
# A reset in the middle of a workload, with reads in flight, then the
# init sequence again and the rest of the workload: no used entry shows
# up on the new ring before a new request, every later completion names
# a request of the new ring, every read matches the model, and the image
# equals the model at the end.  Message path and eventfd path.
. regress/vioblk.subr
. regress/device.subr
need_built "$DEVTEST"

N=${DEVICE_RESET_REQUESTS:-10000}

d=$TMPDIR/reset
mkdisk "$d" || exit 1
top=$d/img/top.qcow2
qemu-img convert -O raw "$top" "$d/m0.raw" || exit 1

i=0
for path in message eventfd; do
	flag=
	[ $path = eventfd ] && flag=-e
	devtest $flag -n "$N" -q 128 -s $((i + 7)) -i "$d/m$i.raw" \
	    -o "$d/m$((i + 1)).raw" reset -- "$VIOBLK" -d "$top"
	check "$path path: reads were in flight at the reset" \
	    hasre "$out" "^reads in flight at the reset [1-9]"
	check "$path path: no stale completion after the new init" \
	    has "$out" "stale 0"
	check "$path path: the workload goes on and matches the model" \
	    hasre "$out" "^work requests=$N .* mismatches=0 failures=0$"
	check "$path path: vioblk exits 0" has "$out" "exit 0"
	i=$((i + 1))
	check "$path path: qemu-img check and compare" \
	    imgok "$top" "$d/m$i.raw"
done

finish
