#!/bin/sh
# The process pair over a 3-image qcow2 chain with relative base names:
# READY with the right capacity, HELLO, SHUTDOWN, a read-only start, and
# every way of ending: the parent killed, the channel closed, SIGTERM.
. regress/vioblk.subr
need_built

d=$TMPDIR/chain
mkchain "$d" 64M || exit 1
top=$d/img/top.qcow2
# 64 MiB in 512-byte sectors.
sectors=131072

vmm ready hello shutdown wait -- "$VIOBLK" -d "$top"
check "READY reports the chain's capacity" \
    grep -q "^ready capacity=$sectors ro=0 .* serial=top.qcow2\$" "$out"
check "HELLO is answered with version 1" has "$out" "hello version=1"
check "SHUTDOWN ends vioblk with status 0" has "$out" "exit 0"
check "SHUTDOWN leaves no process behind" has "$out" "stragglers 0"
check "a clean run logs nothing" test ! -s "$err"

vmm ready shutdown wait -- "$VIOBLK" -d -r "$top"
check "-r offers a read-only disk" \
    grep -q "^ready capacity=$sectors ro=1 " "$out"

vmm ready hello child kill:9 childgone wait -- "$VIOBLK" -d "$top"
check "the child dies with its parent" has "$out" "childgone"
check "the killed parent's status is 128+9" has "$out" "exit 137"

vmm ready hello child close childgone wait -- "$VIOBLK" -d "$top"
check "closing the channel ends the child" has "$out" "childgone"
check "closing the channel ends the parent with 0" has "$out" "exit 0"
check "closing the channel leaves no process" has "$out" "stragglers 0"

vmm ready hello child kill:15 childgone wait -- "$VIOBLK" -d "$top"
check "SIGTERM is passed on and ends the child" has "$out" "childgone"
check "SIGTERM ends vioblk with status 0" has "$out" "exit 0"

vmm ready hello killchild:9 wait -- "$VIOBLK" -d "$top"
check "a killed child is reported" \
    grep -q "^vioblk: child killed by signal 9" "$err"
check "the parent exits 128+9 for a killed child" has "$out" "exit 137"

# Without -d the parent detaches: the started process exits 0 at once,
# the disk is still served, and SHUTDOWN ends the detached pair.
vmm ready hello "run:grep -q ') Z ' /proc/\$PARENT/stat && echo detached" \
    shutdown wait -- "$VIOBLK" "$top"
check "without -d the started process ends at once" has "$out" "detached"
check "without -d vioblk detaches and exits 0" has "$out" "exit 0"
check "without -d the disk is still served" has "$out" "hello version=1"
check "without -d SHUTDOWN ends the detached pair" \
    has "$out" "stragglers 0"

# Detached, the child lets the terminal go: /dev/null on its stdio.
stdio='for p in $(pgrep -P $PPID -x vioblk); do pgrep -P $p -x vioblk-child
done | while read -r c; do readlink /proc/$c/fd/0 /proc/$c/fd/1 \
    /proc/$c/fd/2; done | sort -u | sed "s/^/stdio /"'
vmm ready "run:$stdio" shutdown wait -- "$VIOBLK" "$top"
check "without -d the child's stdio is /dev/null" \
    test "$(grep '^stdio' "$out")" = "stdio /dev/null"

# Without -d a refused chain is still said on stderr and the started
# process exits 1, whether the parent refused a base or the child an
# image it read: the started process waits until the chain is open.
qemu-img create -q -f qcow2 -u -b /etc/passwd -F raw "$d/img/abs.qcow2" 1M
vmm wait -- "$VIOBLK" "$d/img/abs.qcow2"
check "without -d a refused base: exit 1" has "$out" "exit 1"
check "without -d a refused base: the line on stderr" \
    grep -q "^vioblk: .*abs.qcow2: base /etc/passwd: outside " "$err"
check "without -d a refused base: nothing left" has "$out" "stragglers 0"
qemu-img create -q -f qcow2 "$d/img/bad.qcow2" 1M
# cluster_bits (offset 20) of 31: no qcow2 has such clusters.
printf '\000\000\000\037' | dd of="$d/img/bad.qcow2" bs=1 seek=20 \
    conv=notrunc 2>/dev/null
vmm wait -- "$VIOBLK" "$d/img/bad.qcow2"
check "without -d an image the child refuses: exit 1" has "$out" "exit 1"
check "without -d an image the child refuses: the line on stderr" \
    grep -q "^vioblk: .*bad.qcow2: .*cluster" "$err"
check "without -d an image the child refuses: nothing left" \
    has "$out" "stragglers 0"

# The image is still a valid image afterwards and the lock is gone.
check "qemu-img check passes on the top" qemu-img check -q "$top"

finish
