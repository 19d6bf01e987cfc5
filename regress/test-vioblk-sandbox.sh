#!/bin/sh
# The sandbox: after sandbox_enter() each forbidden call is denied or
# kills the process, as intended: no path is looked at in any form, no
# descriptor or datagram leaves by sendmsg.  The real child runs under
# seccomp with no_new_privs, holds only the descriptors it should, and,
# started as root, runs as nobody inside an empty directory.
. regress/vioblk.subr
need_built "$PROBE"

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

d=$TMPDIR/sandbox
mkchain "$d" 16M || exit 1
top=$d/img/top.qcow2

# The child's descriptors above stdio, one per line: the images by path,
# every socket, pipe and anonymous inode by kind alone.
fds='for f in /proc/$CHILD/fd/*; do
	n=${f##*/}; [ "$n" -gt 2 ] || continue
	readlink "$f"
done | sed "s/:\[.*//" | sort'
vmm ready hello \
    "run:grep -E '^(Seccomp|NoNewPrivs):' /proc/\$CHILD/status" \
    "run:$fds" \
    "run:echo uid \$(awk '/^Uid:/ { print \$2 }' /proc/\$CHILD/status)" \
    "run:echo root \$(readlink /proc/\$CHILD/root)" \
    shutdown wait -- "$VIOBLK" -d "$top"
check "the child runs under a seccomp filter" \
    grep -q '^Seccomp:[[:space:]]*2$' "$out"
check "the child has no_new_privs" grep -q '^NoNewPrivs:[[:space:]]*1$' "$out"
# The images, the parent and VMM channels, and the event loop's own
# epoll descriptor and signal pipe: nothing else.
grep -v -e '^ready' -e '^hello' -e '^Seccomp' -e '^NoNewPrivs' \
    -e '^uid' -e '^root' -e '^exit' -e '^stragglers' "$out" >"$TMPDIR/got"
check_child_fds "the child holds only the images and its channels" "$d" \
    "$TMPDIR/got"
if [ "$(id -u)" -eq 0 ]; then
	nobody=$(id -u nobody)
	check "started as root, the child runs as nobody" \
	    has "$out" "uid $nobody"
	check "started as root, the child is chrooted to /var/empty" \
	    has "$out" "root /var/empty"
else
	ok "started as root, the child runs as nobody # SKIP not root"
	ok "started as root, the child is chrooted # SKIP not root"
fi
check "the sandboxed child shuts down cleanly" has "$out" "exit 0"

finish
