#!/bin/sh
# The device under a seeded random workload: reads, writes, flushes,
# discards, write-zeroes and GET_ID of 512 B to 1 MiB, scattered over two
# guest memory regions, at queue depths from 1 to the queue size, over a
# qcow2 image on a 2-deep base chain.  Through the message path (notify
# writes, INTR), then the eventfd path (KICK_FD, CALL_FD), then without
# EVENT_IDX and indirect descriptors: every read matches the model, and
# afterwards qemu-img check finds no errors and qemu-img compare finds the
# image equal to the model.
. regress/vioblk.subr
. regress/device.subr
need_built "$DEVTEST"

# The figure; DEVICE_REQUESTS makes a quicker run by hand.
N=${DEVICE_REQUESTS:-100000}
# Without the two ring features: a tenth as many, the same paths.
N3=$((N / 10))

d=$TMPDIR/work
mkdisk "$d" || exit 1
top=$d/img/top.qcow2
qemu-img convert -O raw "$top" "$d/model0.raw" || exit 1

devtest -n "$N" -q 256 -s 1 -i "$d/model0.raw" -o "$d/model1.raw" work \
    -- "$VIOBLK" -d "$top"
check "message path: $N requests, every read matches the model" \
    hasre "$out" "^work requests=$N .* mismatches=0 failures=0$"
check "message path: vioblk exits 0" has "$out" "exit 0"
check "message path: qemu-img check and compare" \
    imgok "$top" "$d/model1.raw"

devtest -e -n "$N" -q 1024 -s 2 -i "$d/model1.raw" -o "$d/model2.raw" \
    work -- "$VIOBLK" -d "$top"
check "eventfd path: $N requests, every read matches the model" \
    hasre "$out" "^work requests=$N .* mismatches=0 failures=0$"
check "eventfd path: vioblk exits 0" has "$out" "exit 0"
check "eventfd path: qemu-img check and compare" \
    imgok "$top" "$d/model2.raw"

devtest -E -I -n "$N3" -q 64 -s 3 -i "$d/model2.raw" -o "$d/model3.raw" \
    work -- "$VIOBLK" -d "$top"
check "no EVENT_IDX, no indirect: $N3 requests match the model" \
    hasre "$out" "^work requests=$N3 .* mismatches=0 failures=0$"
check "no EVENT_IDX, no indirect: qemu-img check and compare" \
    imgok "$top" "$d/model3.raw"

finish
