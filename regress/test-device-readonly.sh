#!/bin/sh
# A read-only device (-r): RO is among the offered features; a write, a
# discard and a write-zeroes answer IOERR; reads and flushes work; the
# image file is unchanged.
. regress/vioblk.subr
. regress/device.subr
need_built "$DEVTEST"

d=$TMPDIR/ro
mkdisk "$d" || exit 1
top=$d/img/top.qcow2
before=$(sha256sum "$top")

devtest ro -- "$VIOBLK" -d -r "$top"
check "RO is offered" has "$out" "ro-feature 1"
check "a write answers IOERR" has "$out" "write ioerr"
check "a discard answers IOERR" has "$out" "discard ioerr"
check "a write-zeroes answers IOERR" has "$out" "write-zeroes ioerr"
check "a read works" has "$out" "read ok"
check "a flush works" has "$out" "flush ok"
check "vioblk exits 0" has "$out" "exit 0"
check "the image is unchanged" [ "$(sha256sum "$top")" = "$before" ]

devtest ro -- "$VIOBLK" -d "$top"
check "RO is not offered for a writable image" has "$out" "ro-feature 0"
check "there a write works" has "$out" "write ok"

finish
