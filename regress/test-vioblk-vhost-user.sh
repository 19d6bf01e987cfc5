#!/bin/sh
# vioblk as a vhost-user back-end (-u), against the real sandboxed child:
# --print-capabilities; the socket is made with mode 0600 whatever the
# umask; every malformed request vhu-client knows is refused or drops the
# connection, and the child lives on (same pid, still listening) to serve
# the next well-behaved front-end; guest memory whose file shrinks under
# the child (the rings' region, or the data region) makes it hang up on
# that front-end, not die, and nothing of a vanished page reaches the
# image; a second front-end waits while one is served and is served once
# it leaves; the child holds only what it should and runs under seccomp;
# SIGTERM ends it cleanly and removes the socket; a stale socket is
# replaced, a live one or a file is not; a kick fd kept full and a flood
# of requests are served in batches: GET_FEATURES is answered after a
# few kick batches (counted in the -vvv log), and SIGTERM still ends
# vioblk with status 0.
. regress/vioblk.subr
CLIENT=$BDIR/regress/tools/vhu-client
HOLD=$BDIR/regress/tools/vhu-hold
need_built "$CLIENT" "$HOLD"

# In tenths of a second: how long vioblk may take to listen, to start
# its child and to exit.
WAIT_TENTHS=100
# Bounds every vhu-client and vhu-hold run (their own waits are 10 s).
CLIENT_TIMEOUT=30
# Longer than the whole test.
BACKEND_TIMEOUT=120
# How long the second front-end must be seen waiting, in seconds.
QUEUED_SECONDS=1
# Kick batches vioblk may drain between the kick-flood front-end's
# SET_VRING_KICK and its GET_FEATURES: the flood holds about two batches
# when GET_FEATURES is sent, and one more may be under way.
KICK_BATCHES_MAX=8
# Where shrink-data writes: a cluster the tests write nowhere else.
SHRINK_AT=12582912

T=$(mktemp -d "${TMPDIR:-/tmp}/vhu.XXXXXX") || exit 1
d=$T/vhu
mkchain "$d" 64M || exit 1
img=$d/img/top.qcow2
sock=$d/vhost.sock
log=$d/vioblk.log

tpid=
cleanup()
{
	[ -n "$tpid" ] && kill "$tpid" 2>/dev/null
	[ -n "${hpid:-}" ] && kill "$hpid" 2>/dev/null
	[ -n "${fpid:-}" ] && kill "$fpid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T" "$TMPDIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start [OPTION...] IMAGE: vioblk -d -u $sock OPTION... IMAGE under
# timeout, with a permissive umask; sets tpid (timeout), ppid_v (parent)
# and cpid (child).
start()
{
	(umask 000; exec timeout -k 5 "$BACKEND_TIMEOUT" "$VIOBLK" -d \
	    -u "$sock" "$@") >"$log" 2>&1 &
	tpid=$!
	wait_for test -S "$sock" &&
	    wait_for sh -c "pgrep -P $tpid >/dev/null" || return 1
	ppid_v=$(pgrep -P "$tpid")
	wait_for sh -c "pgrep -P $ppid_v >/dev/null" || return 1
	cpid=$(pgrep -P "$ppid_v")
}

# stop: SIGTERM to the parent; sets stop_rc to vioblk's exit status.
stop()
{
	kill -TERM "$ppid_v"
	wait "$tpid"
	stop_rc=$?
	tpid=
}

client()
{
	timeout -k 5 "$CLIENT_TIMEOUT" "$CLIENT" "$sock" "$@" \
	    >"$T/client.out" 2>&1
}

alive()
{
	[ "$(pgrep -P "$ppid_v")" = "$cpid" ] && [ -S "$sock" ]
}

got=$("$VIOBLK" --print-capabilities)
check "--print-capabilities prints the vhost-user block type" \
    [ "$?" -eq 0 ] && [ "$got" = '{"type": "block"}' ]

timeout 10 "$VIOBLK" -d -u "$sock" -c 0 "$img" >"$T/ux.err" 2>&1
check "-u and -c exclude each other" \
    sh -c '[ $1 -eq 1 ] && grep -q "^usage:" "$2"' sh "$?" "$T/ux.err"
timeout 10 "$VIOBLK" -d --fd=0 "$img" </dev/null >"$T/fd.err" 2>&1
check "--fd must name a socket" \
    sh -c '[ $1 -eq 1 ] && grep -q "not a socket" "$2"' sh "$?" \
    "$T/fd.err"
echo "not a socket" >"$sock"
timeout 10 "$VIOBLK" -d -u "$sock" "$img" >"$T/file.err" 2>&1
check "-u refuses to replace a file that is not a socket" \
    sh -c '[ $1 -eq 1 ] && [ "$(cat "$2")" = "not a socket" ]' sh "$?" \
    "$sock"
rm -f "$sock"

start "$img" || { cat "$log"; exit 1; }
check "-u socket has mode 0600 under umask 000" \
    [ "$(stat -c %a "$sock")" = 600 ]

# The child at rest: the images, the parent channel, the listening
# socket, the event loop's epoll descriptor and signal pipe.
for f in /proc/"$cpid"/fd/*; do
	n=${f##*/}
	[ "$n" -gt 2 ] || continue
	readlink "$f"
done | sed 's/:\[.*//' | sort >"$T/got"
check_child_fds "the listening child holds only the images and its sockets" \
    "$d" "$T/got"
check "the listening child runs under a seccomp filter" \
    grep -q '^Seccomp:[[:space:]]*2$' "/proc/$cpid/status"

client -l 1048576 -P 0x11 good
check "a well-behaved front-end is served" [ "$?" -eq 0 ]

for s in short-header wrong-size few-fds overlap ring-outside bad-queue \
    many-fds unknown bad-version; do
	client "$s"
	rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/client.out"
	check "$s: refused or dropped" [ "$rc" -eq 0 ]
	check "$s: the child lives on and listens" alive
	client -o 4194304 -l 262144 good
	rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/client.out"
	check "$s: the next front-end is served" [ "$rc" -eq 0 ]
done

# Guest memory whose file shrinks under the child.  The rings' region
# cut to nothing, to below the available ring, or to below the request
# headers, with a request waiting: the child hangs up on that front-end.
for cut in 0 0x2000 0x10000; do
	client -T "$cut" shrink
	rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/client.out"
	check "shrink to $cut: the child hangs up on the front-end" \
	    [ "$rc" -eq 0 ]
	check "shrink to $cut: the child lives on and listens" alive
	client -o 4194304 -l 262144 good
	rc=$?
	[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/client.out"
	check "shrink to $cut: the next front-end is served" [ "$rc" -eq 0 ]
done
# The data region cut: a write from past the cut fails, a GET_ID into it
# fails and a write of the page it faulted on is not served; the bytes
# at SHRINK_AT stay what a front-end wrote before.
client -o "$SHRINK_AT" -l 4096 -P 0x33 good
check "shrink-data: a front-end writes the bytes first" [ "$?" -eq 0 ]
client -o "$SHRINK_AT" -P 0x33 shrink-data
rc=$?
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/client.out"
check "shrink-data: the requests on the vanished pages fail" [ "$rc" -eq 0 ]
check "shrink-data: the child lives on and listens" alive
client -o "$SHRINK_AT" -l 4096 -P 0x33 verify
rc=$?
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/client.out"
check "shrink-data: nothing of the vanished pages reached the image" \
    [ "$rc" -eq 0 ]
check "shrink: no child was killed by a signal" \
    sh -c '! grep -q "killed by signal" "$1"' sh "$log"

# One front-end at a time: the second waits in the backlog.
timeout -k 5 "$CLIENT_TIMEOUT" "$HOLD" "$sock" >"$T/hold.out" 2>&1 &
hpid=$!
wait_for grep -q served "$T/hold.out"
check "a first front-end is served" grep -q served "$T/hold.out"
client -o 8388608 -l 65536 good &
qpid=$!
sleep "$QUEUED_SECONDS"
check "a second front-end waits while the first is connected" \
    kill -0 "$qpid"
kill "$hpid"
wait "$hpid" 2>/dev/null
hpid=
wait "$qpid"
rc=$?
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/client.out"
check "the second front-end is served once the first has left" \
    [ "$rc" -eq 0 ]

stop
check "SIGTERM: vioblk exits 0" [ "$stop_rc" -eq 0 ]
[ "$stop_rc" -eq 0 ] || sed 's/^/# /' "$log"
check "SIGTERM: vioblk removed its socket" [ ! -e "$sock" ]
out=$(timeout 60 qemu-img check "$img" 2>&1)
check "qemu-img check after the front-ends: no errors" \
    sh -c 'echo "$1" | grep -q "^No errors were found"' sh "$out"
printf '\021%.0s' $(seq 1024) >"$T/want.bin"
timeout 60 qemu-io -r -f qcow2 -c "read -P 0x11 0 1M" "$img" \
    >"$T/qio.out" 2>&1
check "the first front-end's bytes are in the image" \
    sh -c '! grep -q -e "Pattern verification failed" -e "read failed" "$1"' \
    sh "$T/qio.out"

# A vioblk killed hard leaves its socket behind: the next one replaces it.
start "$img" || { cat "$log"; exit 1; }
kill -KILL "$cpid" "$ppid_v"
wait "$tpid" 2>/dev/null
tpid=
# The killed child lets go of the image (and its lock) only as it dies.
wait_for sh -c "[ ! -d /proc/$cpid ] || grep -q ') Z ' /proc/$cpid/stat"
check "a killed vioblk leaves its socket" test -S "$sock"
start "$img"
check "a stale socket is replaced" [ "$?" -eq 0 ]
# A live one is not, even for another image.
qemu-img create -q -f qcow2 "$d/other.qcow2" 1M
timeout 10 "$VIOBLK" -d -u "$sock" "$d/other.qcow2" >"$T/live.err" 2>&1
check "a socket in use is not replaced" \
    sh -c '[ $1 -eq 1 ] && grep -q "in use" "$2"' sh "$?" "$T/live.err"
client good
check "the first vioblk still serves on it" [ "$?" -eq 0 ]
stop
check "and exits 0" [ "$stop_rc" -eq 0 ]

# kick_batches: the kick batches in the -vvv log between the last
# SET_VRING_KICK and the GET_FEATURES after it; nothing without one.
kick_batches()
{
	awk '/vhost-user: SET_VRING_KICK$/ { n = 0; armed = 1; next }
	    armed && /: kick batch of / { n++ }
	    armed && /vhost-user: GET_FEATURES$/ { print n; exit }' "$log"
}

# A stream socket kept full as the kick fd: GET_FEATURES, sent once the
# child has begun to drain it, is answered within a few batches.
start -vvv "$img" || { cat "$log"; exit 1; }
client kick-flood
rc=$?
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/client.out"
check "kick-flood: GET_FEATURES is answered" [ "$rc" -eq 0 ]
n=$(kick_batches)
check "kick-flood: 1 to $KICK_BATCHES_MAX kick batches before GET_FEATURES (${n:-none})" \
    [ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le "$KICK_BATCHES_MAX" ]
# And SIGTERM while the flood goes on.
timeout -k 5 "$CLIENT_TIMEOUT" "$CLIENT" -S "$sock" kick-flood \
    >"$T/flood.out" 2>&1 &
fpid=$!
wait_for grep -q answered "$T/flood.out"
stop
check "kick-flood: SIGTERM during the flood, vioblk exits 0" \
    [ "$stop_rc" -eq 0 ]
wait "$fpid"
rc=$?
fpid=
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/flood.out"
check "kick-flood: the front-end flooded until vioblk was gone" \
    [ "$rc" -eq 0 ]

# Requests without end, the socket kept full: SIGTERM still gets in.
start "$img" || { cat "$log"; exit 1; }
timeout -k 5 "$CLIENT_TIMEOUT" "$CLIENT" "$sock" request-flood \
    >"$T/flood.out" 2>&1 &
fpid=$!
wait_for grep -q flooding "$T/flood.out"
check "request-flood: the front-end keeps the socket full" \
    grep -q flooding "$T/flood.out"
stop
check "request-flood: SIGTERM during the flood, vioblk exits 0" \
    [ "$stop_rc" -eq 0 ]
wait "$fpid"
rc=$?
fpid=
[ "$rc" -eq 0 ] || sed 's/^/# /' "$T/flood.out"
check "request-flood: the front-end flooded until vioblk was gone" \
    [ "$rc" -eq 0 ]

finish
