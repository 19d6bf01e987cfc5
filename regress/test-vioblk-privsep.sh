#!/bin/sh
# Who reads the images, and when, as strace(1) sees it: the privileged
# parent reads no byte of any image of the chain (it opens them and asks
# the kernel what they are, nothing more); the child reads its first
# image byte only after its seccomp filter and Landlock ruleset are on.
# Both ways of serving: the VMM channel and vhost-user.
. regress/vioblk.subr
CLIENT=$BDIR/regress/tools/vhu-client
need_built "$CLIENT"
command -v strace >/dev/null 2>&1 || {
	echo "SKIP: strace not installed"
	exit 77
}
# Bounds the vhost-user run and its client.
RUN_TIMEOUT=60

d=$TMPDIR/ps
mkchain "$d" 16M || exit 1
d=$(cd "$d" && pwd -P)
img=$d/img/top.qcow2
trace=$TMPDIR/trace
# Calls that read bytes, and the ones that lock the child in.
CALLS=read,readv,pread64,preadv,preadv2,mmap,execve,seccomp,prctl
CALLS=$CALLS,landlock_restrict_self

# judge MODE: one TAP line per claim about $trace.
judge()
{
	ppid_t=$(awk 'NR == 1 { print $1; exit }' "$trace")
	cpid_t=$(awk '/execve\(.*"-X"/ { print $1; exit }' "$trace")
	# Lines of a process (pid $1) that read bytes of an image.
	reads()
	{
		awk -v p="$1" -v img="<$d/img/" '$1 == p &&
		    $2 ~ /^(read|readv|pread64|preadv|preadv2|mmap)\(/ &&
		    index($0, img) { print NR ": " $0 }' "$trace"
	}
	# The line number of the first call of a process matching a regex.
	first()
	{
		awk -v p="$1" -v re="$2" '$1 == p && $0 ~ re { print NR; exit }' \
		    "$trace"
	}
	if [ -z "$ppid_t" ] || [ -z "$cpid_t" ]; then
		not_ok "$1: the trace shows the parent and the child"
		return
	fi
	ok "$1: the trace shows the parent and the child"
	reads "$ppid_t" >"$TMPDIR/preads"
	check "$1: the parent reads no byte of any image" \
	    test ! -s "$TMPDIR/preads"
	sed 's/^/# /' "$TMPDIR/preads" | head -5
	reads "$cpid_t" >"$TMPDIR/creads"
	r=$(sed -n '1s/:.*//p' "$TMPDIR/creads")
	s=$(first "$cpid_t" 'seccomp\(SECCOMP_SET_MODE_FILTER|PR_SET_SECCOMP')
	l=$(first "$cpid_t" 'landlock_restrict_self\(')
	check "$1: the child reads every image (top and bases)" \
	    test "$(grep -c "<$d/img/" "$TMPDIR/creads")" -gt 0 -a \
	    "$(grep -c "<$d/img/bases/deep/base.qcow2>" "$TMPDIR/creads")" \
	    -gt 0
	check "$1: its seccomp filter is on before the first image byte" \
	    test -n "$s" -a -n "$r" -a "${s:-0}" -lt "${r:-0}"
	check "$1: so is its Landlock ruleset" \
	    test -n "$l" -a -n "$r" -a "${l:-0}" -lt "${r:-0}"
}

cat >"$TMPDIR/traced" <<EOT
#!/bin/sh
exec strace -f -qq -y -o "$trace" -e trace=$CALLS -e signal=none \
    "$VIOBLK" "\$@"
EOT
chmod +x "$TMPDIR/traced"
vmm ready hello shutdown wait -- "$TMPDIR/traced" -d "$img"
check "VMM channel: served and shut down" has "$out" "exit 0"
judge "VMM channel"

sock=$TMPDIR/vhost.sock
rm -f "$trace"
timeout -k 5 "$RUN_TIMEOUT" strace -f -qq -y -o "$trace" -e trace=$CALLS \
    -e signal=none "$VIOBLK" -d -u "$sock" "$img" >"$TMPDIR/log" 2>&1 &
spid=$!
wait_for test -S "$sock"
check "vhost-user: a front-end is served" timeout -k 5 "$RUN_TIMEOUT" \
    "$CLIENT" "$sock" good
# timeout, then strace, then vioblk's parent.
tracer=$(pgrep -P "$spid" | head -1)
vpid=$(pgrep -P "${tracer:-0}" | head -1)
[ -n "$vpid" ] && kill -TERM "$vpid"
wait "$spid"
check "vhost-user: vioblk exits 0 on SIGTERM" test $? -eq 0
judge "vhost-user"

finish
