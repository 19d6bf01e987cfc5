#!/bin/sh
# The sandbox: after sandbox_enter() each forbidden call is denied or
# kills the process, as intended: no path is looked at in any form, no
# descriptor or datagram leaves by sendmsg, no resource limit but the file
# size one may change, and no file grows past that one.  The real child
# runs under seccomp with no_new_privs, holds only the descriptors it
# should, is not dumpable, and, started as root, runs inside an empty
# directory as a uid and gid of its own that no other process holds, two
# children never the same.  Its file size limit is finite, holds a full
# allocation of the disk, and lets a guest fill the disk.
. regress/vioblk.subr
. regress/device.subr
need_built "$PROBE" "$DEVTEST"

# probe CALL OUTCOME: the probe's one line for CALL is OUTCOME.
probe()
{
	got=$(timeout -k 5 "$VMM_TIMEOUT" "$PROBE" "$1" 2>&1)
	if [ "$got" = "$1: $2" ]; then
		ok "sandbox: $1: $2"
	else
		not_ok "sandbox: $1: $2"
		echo "# got: $got"
	fi
}

# SIGSYS: what seccomp kills with.
sigsys=31
# Where a child started as root takes its uid and gid: VIOBLK_UID_BASE.
uid_base=1879048192

probe nothing "allowed"
probe mmap "allowed"
probe mmap-exec "denied: Permission denied"
probe mprotect-exec "denied: Permission denied"
probe execve "killed by signal $sigsys"
probe fork "killed by signal $sigsys"
probe socket-unix "killed by signal $sigsys"
probe socket-inet "killed by signal $sigsys"
probe ptrace "killed by signal $sigsys"

# No path is resolved, whatever the form of the call.
probe open "denied: Permission denied"
probe stat "denied: Permission denied"
probe lstat "denied: Permission denied"
probe stat-empty-path "denied: Permission denied"
probe statx "denied: Permission denied"
probe statx-empty-path "denied: Permission denied"
probe access "denied: Permission denied"
probe faccessat "denied: Permission denied"
probe readlink "denied: Permission denied"
# glibc's fstat() takes the same call: it goes too; the fstat call stays.
probe fstatat-fd "denied: Permission denied"
probe fstat "allowed"

# Bytes leave by send(2) on a connected socket, nothing else.
probe send "allowed"
probe sendmsg-rights "killed by signal $sigsys"
probe sendmsg-addr "killed by signal $sigsys"
probe sendto-addr "killed by signal $sigsys"
probe sendmmsg "killed by signal $sigsys"

# RLIMIT_FSIZE: set in the sandbox, a write past it is EFBIG, not a kill,
# and it cannot be raised; no other limit, and no other process's.
probe fsize-write "denied: File too large"
probe fsize-raise "denied: Operation not permitted"
probe rlimit-nofile "killed by signal $sigsys"
probe prlimit-pid "killed by signal $sigsys"

# Not dumpable, also when not started as root (no change of credentials
# then resets it).
got=$(timeout -k 5 "$VMM_TIMEOUT" "$PROBE" dumpable 2>&1)
check "sandbox: not dumpable" [ "$got" = "dumpable: no" ]
if [ "$(id -u)" -ne 0 ]; then
	ok "sandbox: not dumpable when started as nobody # SKIP not root"
elif ! command -v setpriv >/dev/null 2>&1; then
	ok "sandbox: not dumpable when started as nobody # SKIP no setpriv"
else
	got=$(cd / && timeout -k 5 "$VMM_TIMEOUT" setpriv --reuid=nobody \
	    --regid=nogroup --clear-groups "$PROBE" dumpable 2>&1)
	check "sandbox: not dumpable when started as nobody" \
	    [ "$got" = "dumpable: no" ]
	[ "$got" = "dumpable: no" ] || echo "# got: $got"
fi

d=$TMPDIR/sandbox
mkchain "$d" 16M || exit 1
top=$d/img/top.qcow2

# The child's descriptors above stdio, one per line: the images by path,
# every socket, pipe and anonymous inode by kind alone.
fds='for f in /proc/$CHILD/fd/*; do
	n=${f##*/}; [ "$n" -gt 2 ] || continue
	readlink "$f"
done | sed "s/:\[.*//" | sort'
# The child's pid, then its real, effective, saved and fs uids and gids.
ids='echo ids $CHILD $(awk "/^[UG]id:/ { print \$2, \$3, \$4, \$5 }" \
    /proc/$CHILD/status)'
vmm ready hello \
    "run:grep -E '^(Seccomp|NoNewPrivs):' /proc/\$CHILD/status" \
    "run:$fds" \
    "run:$ids" \
    "run:echo root \$(readlink /proc/\$CHILD/root)" \
    shutdown wait -- "$VIOBLK" -d "$top"
check "the child runs under a seccomp filter" \
    grep -q '^Seccomp:[[:space:]]*2$' "$out"
check "the child has no_new_privs" grep -q '^NoNewPrivs:[[:space:]]*1$' "$out"
# The images, the parent and VMM channels, and the event loop's own
# epoll descriptor and signal pipe: nothing else.
grep -v -e '^ready' -e '^hello' -e '^Seccomp' -e '^NoNewPrivs' \
    -e '^ids' -e '^root' -e '^exit' -e '^stragglers' "$out" >"$TMPDIR/got"
check_child_fds "the child holds only the images and its channels" "$d" \
    "$TMPDIR/got"
if [ "$(id -u)" -eq 0 ]; then
	set -- $(sed -n 's/^ids //p' "$out")
	id=$((uid_base + ${1:-0}))
	check "started as root, the child's ids are $uid_base + its pid" \
	    has "$out" "ids $1 $id $id $id $id $id $id $id $id"
	check "started as root, the child is chrooted to /var/empty" \
	    has "$out" "root /var/empty"
else
	ok "started as root, the child's ids are its own # SKIP not root"
	ok "started as root, the child is chrooted # SKIP not root"
fi
check "the sandboxed child shuts down cleanly" has "$out" "exit 0"

# Two children at once, each serving vhost-user on a socket of its own.
# Bounded by how long a child may take to appear, and to go.
WAIT_TENTHS=100
BACKEND_TIMEOUT=120

# sandboxed PID: the process runs under its seccomp filter.
sandboxed()
{
	grep -q '^Seccomp:[[:space:]]*2$' "/proc/$1/status" 2>/dev/null
}

# start N: vioblk -u on image N; sets tpid_N (timeout), ppid_N (parent)
# and cpid_N (child, once in its sandbox).
start()
{
	cp "$top" "$d/img/top$1.qcow2" || return 1
	timeout -k 5 "$BACKEND_TIMEOUT" "$VIOBLK" -d -u "$d/vhost$1.sock" \
	    "$d/img/top$1.qcow2" >"$d/vioblk$1.log" 2>&1 &
	eval "tpid_$1=$!"
	eval "_t=\$tpid_$1"
	wait_for sh -c "pgrep -P $_t >/dev/null" || return 1
	_p=$(pgrep -P "$_t")
	eval "ppid_$1=$_p"
	wait_for sh -c "pgrep -P $_p >/dev/null" || return 1
	_c=$(pgrep -P "$_p")
	eval "cpid_$1=$_c"
	wait_for sandboxed "$_c"
}

# ids PID KIND: the four uids (Uid) or gids (Gid) of PID, one per line.
ids()
{
	awk -v k="$2:" '$1 == k { print $2; print $3; print $4; print $5 }' \
	    "/proc/$1/status" 2>/dev/null
}

# alone PID KIND: no other process on the machine holds any of PID's
# uids (or gids); the others' are read from every /proc/N/status.
alone()
{
	_mine=$(ids "$1" "$2" | sort -u)
	[ "$(echo "$_mine" | wc -l)" -eq 1 ] || return 1
	for _s in /proc/[0-9]*/status; do
		_n=${_s#/proc/}
		_n=${_n%/status}
		[ "$_n" = "$1" ] && continue
		if ids "$_n" "$2" | grep -qxF "$_mine"; then
			echo "# process $_n also holds $2 $_mine"
			return 1
		fi
	done
}

# rootowned PID: /proc/PID/status is root's, as the kernel makes it for
# a process that is not dumpable, while PID's own uid is not 0.
rootowned()
{
	[ "$(stat -c %u "/proc/$1/status")" -eq 0 ] &&
	    [ "$(ids "$1" Uid | head -1)" -ne 0 ]
}

# both TEST ARGS...: TEST PID ARGS... holds for either child.
both()
{
	_f=$1
	shift
	"$_f" "$cpid_1" "$@" && "$_f" "$cpid_2" "$@"
}

# differ KIND: the children's uids (or gids) are not 0 and not the same.
differ()
{
	_a=$(ids "$cpid_1" "$1" | head -1)
	_b=$(ids "$cpid_2" "$1" | head -1)
	[ -n "$_a" ] && [ -n "$_b" ] && [ "$_a" -ne 0 ] && [ "$_b" -ne 0 ] &&
	    [ "$_a" -ne "$_b" ]
}

cleanup_children()
{
	for _t in ${tpid_1:-} ${tpid_2:-}; do
		kill "$_t" 2>/dev/null
	done
	wait 2>/dev/null
}
trap 'cleanup_children; rm -rf "$TMPDIR"' EXIT

if [ "$(id -u)" -ne 0 ]; then
	for t in "two children hold different uids" \
	    "two children hold different gids" \
	    "no other process holds a child's uid" \
	    "no other process holds a child's gid" \
	    "the children are not dumpable: /proc/PID is root's"; do
		ok "$t # SKIP not root"
	done
elif start 1 && start 2; then
	check "two children hold different uids" differ Uid
	check "two children hold different gids" differ Gid
	check "no other process holds a child's uid" both alone Uid
	check "no other process holds a child's gid" both alone Gid
	check "the children are not dumpable: /proc/PID is root's" \
	    both rootowned
	cleanup_children
else
	not_ok "two vioblk children started"
	sed 's/^/# /' "$d/vioblk1.log" "$d/vioblk2.log" 2>/dev/null
	cleanup_children
fi

# The file size limit, read by devtest from /proc/CHILD/limits, against
# qemu-img measure's fully allocated size of the disk.
f=$TMPDIR/fill
mkchain "$f" 16M || exit 1
ftop=$f/img/top.qcow2
size0=$(stat -c %s "$ftop")
full=$(qemu-img measure -O qcow2 --size 16M |
    awk '/^fully allocated size:/ { print $4 }')
# What rounding may add past twice a full allocation: 16 clusters.
slack=$((16 * 65536))
devtest fill -- "$VIOBLK" -d "$ftop"
limit=$(sed -n 's/^limit //p' "$out")
case $limit in
''|*[!0-9]*)
	not_ok "the child's RLIMIT_FSIZE is finite"
	echo "# got: $limit"
	limit=0 ;;
*)	ok "the child's RLIMIT_FSIZE is finite" ;;
esac
check "RLIMIT_FSIZE holds a full allocation of the disk ($full)" \
    [ "$limit" -ge "$full" ]
check "RLIMIT_FSIZE is at most the image plus twice a full allocation" \
    [ "$limit" -le $((size0 + 2 * full + slack)) ]
check "a guest filling the disk through the child is refused nothing" \
    hasre "$out" "^fill bytes=16777216 failures=0$"
check "the filled image stays under RLIMIT_FSIZE" \
    [ "$(stat -c %s "$ftop")" -le "$limit" ]
check "the filled image is clean" qemu-img check -q "$ftop"

finish
