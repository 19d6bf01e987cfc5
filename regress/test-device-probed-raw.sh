#!/bin/sh
# A guest cannot change what the next start detects: on a raw image served
# without -f, a guest's write of a qcow2 header into sector 0 answers
# IOERR, leaves the file as it was and is logged once with the image's
# name; vioblk keeps serving, and the next start serves the file as raw.
# With -f raw the same write goes through.
. regress/vioblk.subr
. regress/device.subr
DEVREAD=$BDIR/regress/tools/devread
need_built "$DEVTEST" "$DEVREAD"

# The raw disk: 4 MiB, none of it zeroes, so that a change would show.
DISK_BYTES=4194304
SECTOR=512
REFUSED='^vioblk: .*disk\.raw: refused a write that would make'
REFUSED="$REFUSED the probed raw image detect as qcow2"

d=$TMPDIR/probed
mkdir -p "$d"
disk=$d/disk.raw
qemu-img create -q -f qcow2 "$d/small.qcow2" 1M || exit 1
head -c "$SECTOR" "$d/small.qcow2" >"$d/hdr.bin"
head -c "$DISK_BYTES" /dev/zero | tr '\0' 'Z' >"$disk"
before=$(sha256sum <"$disk")

devtest put "$d/hdr.bin" -- "$VIOBLK" -d "$disk"
check "probed raw: the header write answers IOERR" has "$out" "put ioerr"
check "probed raw: a later read is served" has "$out" "read ok"
check "probed raw: the old sector reads back" has "$out" "readback 0"
check "probed raw: vioblk exits 0" has "$out" "exit 0"
check "probed raw: one log line names the image and the reason" \
    [ "$(grep -c "$REFUSED" "$err")" -eq 1 ]
grep -q "$REFUSED" "$err" || sed 's/^/# log: /' "$err" >&2
check "probed raw: the file is unchanged" \
    [ "$(sha256sum <"$disk")" = "$before" ]

devtest put "$d/hdr.bin" 1 -- "$VIOBLK" -d "$disk"
check "probed raw: the header in sector 1 is data" has "$out" "put ok"
check "probed raw: and nothing is refused" \
    [ "$(grep -c "$REFUSED" "$err")" -eq 0 ]
check "probed raw: sector 0 is still as it was" \
    [ "$(head -c "$SECTOR" "$disk" | tr -d Z | wc -c)" -eq 0 ]

timeout -k 5 "$DEVTEST_TIMEOUT" "$DEVREAD" -o "$d/read.raw" -- \
    "$VIOBLK" -d "$disk" >"$out" 2>"$err"
check "next start: the capacity is the raw file's" \
    has "$out" "ready capacity=$((DISK_BYTES / SECTOR))"
check "next start: the disk reads as the raw file" \
    cmp -s "$d/read.raw" "$disk"
qemu-img info "$disk" >"$d/info" 2>&1
check "next start: qemu-img detects raw" hasre "$d/info" '^file format: raw$'

devtest put "$d/hdr.bin" -- "$VIOBLK" -d -f raw "$disk"
check "-f raw: the header write works" has "$out" "put ok"
check "-f raw: it reads back" has "$out" "readback 1"
check "-f raw: nothing is refused" [ "$(grep -c "$REFUSED" "$err")" -eq 0 ]
check "-f raw: the file holds the header" \
    cmp -s -n "$SECTOR" "$d/hdr.bin" "$disk"

finish
