#!/bin/sh
# The VMM channel: an invalid message is answered with ERROR and dropped
# while the channel lives on; a message that breaks the protocol's state
# ends the child with ERROR and status 1.  (Linux errno values.)  A kick
# fd at end of file is dropped at its first wakeup, not served for ever.
. regress/vioblk.subr
need_built

d=$TMPDIR/proto
mkchain "$d" 16M || exit 1
top=$d/img/top.qcow2

# The VERBOSE payload for level 9, beyond the highest.
verbose9=x0900000000000000
# IO_WRITE of one byte at offset 0 with the value 0x100, too wide.
wide=x00000000010000000001000000000000

vmm ready hello \
    send:99:0 recv \
    send:HELLO:7 recv \
    send:HELLO:9 recv \
    send:MEM_REGION:24 recv \
    send:SHUTDOWN:0:fd recv \
    send:VERBOSE:$verbose9 recv \
    send:IO_WRITE:$wide recv \
    send:DISK:1040:fd recv \
    send:VERBOSE:x0100000000000000 pause resume \
    shutdown wait -- "$VIOBLK" -d "$top"
check "an unknown type gets ERROR ENOTSUP" has "$out" \
    "error errno=95 type=unknown text=unknown message type 99"
check "a payload one byte short gets ERROR EBADMSG" has "$out" \
    "error errno=74 type=HELLO text=HELLO: payload of 7 bytes, expected 8"
check "a payload one byte long gets ERROR EBADMSG" has "$out" \
    "error errno=74 type=HELLO text=HELLO: payload of 9 bytes, expected 8"
check "a missing fd gets ERROR" has "$out" \
    "error errno=74 type=MEM_REGION text=MEM_REGION: file descriptor missing"
check "an unexpected fd gets ERROR" has "$out" \
    "error errno=74 type=SHUTDOWN text=SHUTDOWN: unexpected file descriptor"
check "an out-of-range level gets ERROR ERANGE" has "$out" \
    "error errno=34 type=VERBOSE text=VERBOSE: level 9 beyond 3"
check "a value wider than the access gets ERROR" has "$out" \
    "error errno=34 type=IO_WRITE text=IO_WRITE: value 0x100 wider than 1 bytes"
check "a parent's message from the VMM gets ERROR" has "$out" \
    "error errno=22 type=DISK text=DISK: not accepted from the VMM"
check "the channel survives every invalid message" has "$out" "exit 0"

vmm ready send:PAUSE:0 recv wait -- "$VIOBLK" -d "$top"
check "a message before HELLO is a state error" has "$out" \
    "error errno=71 type=PAUSE text=PAUSE before HELLO"
check "a state error ends vioblk with status 1" has "$out" "exit 1"
check "a state error leaves no process" has "$out" "stragglers 0"
check "a state error is logged" has "$err" \
    "vioblk: VMM channel: PAUSE before HELLO"

vmm ready hello send:HELLO:x0100000000000000 recv wait -- "$VIOBLK" -d "$top"
check "a second HELLO is a state error" has "$out" \
    "error errno=71 type=HELLO text=HELLO while running"
check "a second HELLO ends vioblk with status 1" has "$out" "exit 1"

vmm ready hello send:RESUME:0 recv wait -- "$VIOBLK" -d "$top"
check "RESUME while running is a state error" has "$out" \
    "error errno=71 type=RESUME text=RESUME while running"

vmm ready hello pause send:PAUSE:0 recv wait -- "$VIOBLK" -d "$top"
check "PAUSE while paused is a state error" has "$out" \
    "error errno=71 type=PAUSE text=PAUSE while paused"

vmm ready send:HELLO:x0200000000000000 recv wait -- "$VIOBLK" -d "$top"
check "another protocol version is refused" has "$out" \
    "error errno=93 type=HELLO text=HELLO: version 2, this is version 1"
check "another protocol version ends vioblk with status 1" \
    has "$out" "exit 1"

# The read end of a pipe whose writer is gone: readable for ever, at end
# of file.  -vvv logs each kick batch the child drains.
vmm ready hello send:KICK_FD:8:eof sleep:300 shutdown wait -- \
    "$VIOBLK" -d -vvv "$top"
check "a dead kick fd is dropped" has "$err" "vioblk: queue 0: kick fd closed"
n=$(grep -c "queue 0: kick batch of" "$err")
check "a dead kick fd wakes the child once, not for ever ($n)" [ "$n" -eq 1 ]
check "a dead kick fd leaves the channel working" has "$out" "exit 0"

finish
