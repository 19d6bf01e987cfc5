#!/bin/sh
# A dirty image: lazy refcounts, and a writer (qemu-io) that killed
# itself with SIGKILL after its writes, so that the dirty bit is set and
# the refcounts on disk are too low (`qemu-img check` finds errors).
# Opened read-only by the vioblk child, it reads right and is left alone:
# byte for byte the same file, still dirty.  Opened read-write, it is
# repaired as the child opens it: before any guest request the dirty bit
# is clear and `qemu-img check` finds nothing; the data reads right, a
# guest write and flush work, and the image stays clean.
. regress/vioblk.subr
KILLTEST=$BDIR/regress/vmm/killtest
need_built "$KILLTEST"
command -v qemu-io >/dev/null 2>&1 || {
	echo "SKIP: qemu-io not installed"
	exit 77
}

d=$TMPDIR/dirty
mkdir -p "$d"
img=$d/dirty.qcow2
model=$d/model.raw

# dirty: bit 0 of the 64-bit incompatible features, the header's byte 79.
dirty()
{
	[ $(($(od -An -tu1 -j79 -N1 "$1") & 1)) -eq 1 ]
}

# qcheck IMAGE: `qemu-img check`'s exit status, past vioblk's lock.
qcheck()
{
	qemu-img check --image-opts \
	    "driver=qcow2,file.driver=file,file.locking=off,file.filename=$1" \
	    >"$d/check.out" 2>&1
	echo $?
}

# mkdirty: the writes go through to the file (writethrough), the
# refcounts stay in memory; SIGKILL leaves the image dirty.  The inner
# shell is the one to say "Killed", to /dev/null.
mkdirty()
{
	rm -f "$img"
	qemu-img create -q -f qcow2 -o lazy_refcounts=on "$img" 8M &&
	sh -c 'timeout -k 5 30 qemu-io -t writethrough \
	    -c "write -P 0x5a 0 1M" -c "write -P 0x6b 3M 192k" \
	    -c "write -P 0x7c 5M 64k" -c "sigraise 9" "$1"; true' sh \
	    "$img" >/dev/null 2>&1
	dirty "$img" && [ "$(qcheck "$img")" -eq 2 ] &&
	qemu-img convert -O raw "$img" "$model"
}

check "qemu-io killed: the image is dirty, qemu-img check finds errors" \
    mkdirty

# (a) read-only: no repair, not one byte changed.
before=$(sha256sum <"$img")
timeout -k 5 "$VMM_TIMEOUT" "$KILLTEST" -i "$model" open -- \
    "$VIOBLK" -d -r "$img" >"$out" 2>"$err"
check "read-only: the child reads what qemu reads" has "$out" "read ok"
check "read-only: vioblk exits 0" has "$out" "exit 0"
check "read-only: the file is byte-identical" \
    [ "$(sha256sum <"$img")" = "$before" ]
check "read-only: the image is still dirty" dirty "$img"

# (b) read-write: repaired when the child opens it, before any guest
# request; the hook runs then and leaves what it saw in $d/hook.
cat >"$d/hook.sh" <<EOF
od -An -tu1 -j79 -N1 "$img" | tr -d ' ' >"$d/hook.dirty"
qemu-img check --image-opts \
    "driver=qcow2,file.driver=file,file.locking=off,file.filename=$img" \
    >"$d/hook.check" 2>&1
echo \$? >"$d/hook.rc"
sha256sum <"$img" >"$d/hook.sum"
EOF
timeout -k 5 "$VMM_TIMEOUT" "$KILLTEST" -w -x "sh '$d/hook.sh'" \
    -i "$model" open -- "$VIOBLK" -d "$img" >"$out" 2>"$err"
check "read-write: the hook ran before the first guest request" \
    has "$out" "hook 0"
check "read-write: once opened, the dirty bit is clear" \
    [ "$(($(cat "$d/hook.dirty") & 1))" -eq 0 ]
check "read-write: once opened, qemu-img check finds no errors" \
    [ "$(cat "$d/hook.rc")" -eq 0 ]
sed 's/^/# /' "$d/hook.check" | grep -v "^# $" | head -5
check "read-write: the repair changed the file at open" \
    [ "$(cat "$d/hook.sum")" != "$before" ]
check "read-write: the repaired image reads what qemu read" \
    has "$out" "read ok"
check "read-write: a guest write and flush work and read back" \
    has "$out" "write ok"
check "read-write: vioblk exits 0" has "$out" "exit 0"
check "read-write: afterwards qemu-img check finds no errors" \
    [ "$(qcheck "$img")" -eq 0 ]
check "read-write: afterwards the image is clean" eval '! dirty "$img"'

finish
