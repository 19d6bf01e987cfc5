#!/bin/sh
# Bases are confined: without -B every base must resolve, through every
# symbolic link, inside the top image's directory; -B names the allowed
# directories instead and "-B /" lifts the rule, which vioblk says.  What
# is not a regular file is refused from an O_PATH descriptor before it is
# opened: a FIFO does not block the start and a device's open never runs
# (strace shows no open of it but the O_PATH one).  A block device is a
# base only inside a -B directory.  Each refusal is one line, status 1,
# no process left; the timeout bounds a start that would block.
. regress/vioblk.subr
MKSOCK=$BDIR/regress/tools/mksock
need_built "$MKSOCK"
command -v strace >/dev/null 2>&1 || {
	echo "SKIP: strace not installed"
	exit 77
}

d=$TMPDIR/vm
mkdir -p "$d/sub" "$TMPDIR/other" || exit 1
d=$(cd "$d" && pwd -P)
cd "$d" || exit 1
outside="outside $d, the top image's directory (see -B)"

qemu-img create -q -f qcow2 base.qcow2 1M
qemu-img create -q -f qcow2 ../other/o.qcow2 1M
# over NAME FMT TOP: TOP is a qcow2 image whose base is NAME, format FMT,
# whatever NAME is.
over()
{
	rm -f "$3"
	qemu-img create -q -f qcow2 -u -b "$1" -F "$2" "$3" 1M
}

over /etc/passwd raw abs.qcow2
refused "an absolute base outside" \
    "vioblk: abs.qcow2: base /etc/passwd: $outside" abs.qcow2
over ../other/o.qcow2 qcow2 up.qcow2
refused "a ../ base outside" \
    "vioblk: up.qcow2: base ../other/o.qcow2: $outside" up.qcow2
ln -s ../other/o.qcow2 link.qcow2
over link.qcow2 qcow2 vialink.qcow2
refused "a link out of the top image's directory" \
    "vioblk: vialink.qcow2: base link.qcow2: $outside" vialink.qcow2
over "$d/sub/../../other/o.qcow2" qcow2 dotdot.qcow2
refused "a path that climbs back out" \
    "vioblk: dotdot.qcow2: base $d/sub/../../other/o.qcow2: $outside" \
    dotdot.qcow2
# A name that would forge a line of the log is said on one line.
over "$(printf 'x\nvioblk: forged')" raw nl.qcow2
refused "a base name with a newline" \
    "vioblk: nl.qcow2: base x?vioblk: forged: No such file or directory" \
    nl.qcow2
over sub qcow2 dir.qcow2
refused "a directory" \
    "vioblk: dir.qcow2: base sub: a directory, not a regular file" dir.qcow2

# Special files inside the directory: each refused before it is opened.
mkfifo fifo
"$MKSOCK" sock || exit 1
# special NAME KIND LINE: a base named NAME, of KIND, is refused saying
# LINE, and no process of vioblk opens it other than with O_PATH.
special()
{
	over "$1" raw "$1.qcow2"
	cat >"$TMPDIR/traced" <<EOT
#!/bin/sh
exec strace -f -qq -o "$TMPDIR/trace" -e trace=open,openat,openat2 \
    -e signal=none "$VIOBLK" "\$@"
EOT
	chmod +x "$TMPDIR/traced"
	vmm wait -- "$TMPDIR/traced" -d "$1.qcow2"
	check "$2: exit status 1" has "$out" "exit 1"
	check "$2: one line" test "$(wc -l <"$err")" -eq 1
	check "$2: the message" has "$err" "$3"
	check "$2: no process left" has "$out" "stragglers 0"
	check "$2: looked at with O_PATH" \
	    grep -Eq "\"$1\", [^)]*O_PATH" "$TMPDIR/trace"
	if grep "\"$d/$1\"\\|\"$1\"" "$TMPDIR/trace" | grep -qv O_PATH; then
		not_ok "$2: never opened"
		grep "\"$1\"" "$TMPDIR/trace" | sed 's/^/# /'
	else
		ok "$2: never opened"
	fi
}
special fifo "a FIFO" \
    "vioblk: fifo.qcow2: base fifo: a FIFO, not a regular file"
special sock "a socket" \
    "vioblk: sock.qcow2: base sock: a socket, not a regular file"
if [ "$(id -u)" -eq 0 ]; then
	# The kernel's null device and a loop device, as nodes of our own.
	mknod cdev c 1 3 && mknod bdev b 7 0 || exit 1
	special cdev "a character device" \
	    "vioblk: cdev.qcow2: base cdev: a character device, not a regular file"
	special bdev "a block device outside every -B directory" \
	    "vioblk: bdev.qcow2: base bdev: a block device, allowed only inside a -B directory"
else
	ok "character and block devices # SKIP not root: mknod"
fi

# Inside is served: a base below the directory, and a block device inside
# a directory the operator named.
qemu-img create -q -f qcow2 sub/low.qcow2 1M
over sub/low.qcow2 qcow2 down.qcow2
vmm ready shutdown wait -- "$VIOBLK" -d down.qcow2
check "a base below the top image's directory is served" has "$out" "exit 0"
if [ "$(id -u)" -eq 0 ] && truncate -s 1M "$TMPDIR/blk.raw" &&
    loop=$(losetup -f --show "$TMPDIR/blk.raw" 2>/dev/null); then
	mkdir devs && ln -s "$loop" devs/disk
	over "$d/devs/disk" raw blk.qcow2
	vmm ready shutdown wait -- "$VIOBLK" -d -B /dev -B . blk.qcow2
	check "a block device inside a -B directory is served" \
	    has "$out" "exit 0"
	refused "a block device outside the -B directories" \
	    "vioblk: blk.qcow2: base $d/devs/disk: outside every -B directory" \
	    -B . blk.qcow2
	losetup -d "$loop"
else
	ok "a block device inside a -B directory # SKIP no loop device"
fi

# -B / lifts confinement, and vioblk says so.
vmm ready shutdown wait -- "$VIOBLK" -d -B / up.qcow2
check "-B /: a base anywhere is served" has "$out" "exit 0"
check "-B /: vioblk says the bases are not confined" \
    has "$err" "vioblk: bases are not confined (-B /)"

# A base recorded as raw is read as raw, whatever its first bytes say:
# here a qcow2 header naming /etc/passwd, which is never followed.
over /etc/passwd raw disguised.raw
over disguised.raw raw honest.qcow2
vmm ready shutdown wait -- "$VIOBLK" -d honest.qcow2
check "a base recorded as raw is served as raw, not probed" \
    has "$out" "exit 0"
"$BDIR/vioblkctl" info --json honest.qcow2 >"$TMPDIR/info" 2>&1
check "vioblkctl reads it as raw too: a chain of two" \
    grep -q '"chain-depth": 2' "$TMPDIR/info"

# A child that rewrote its image's base name (it holds the image
# read-write) gains nothing at the next start, -f qcow2 or not.
over base.qcow2 qcow2 top.qcow2
vmm ready shutdown wait -- "$VIOBLK" -d top.qcow2
check "a base in the directory is served" has "$out" "exit 0"
qemu-img rebase -u -b /etc/shadow -F raw top.qcow2
refused "a base name rewritten to /etc/shadow" \
    "vioblk: top.qcow2: base /etc/shadow: $outside" -f qcow2 top.qcow2

finish
