#!/bin/sh
# Make the seed corpus of every fuzz target under regress/fuzz/corpus/:
# qcow2 images from qemu-img and qemu-io, and for the protocol targets
# well-formed sessions written byte by byte from the wire layouts in
# imsg-proto/proto.h, vioblk/vhost_user.h and vioblk/virtqueue.h.  The
# seeds are committed; run this again after a layout changes.
#
# Each target reads its input as its own file comment says; the numbers
# here are little-endian, as on x86 and arm64, the hosts vioblk runs on.

set -eu

cd "$(dirname "$0")/../.."
out=regress/fuzz/corpus

for t in qemu-img qemu-io; do
	if ! command -v "$t" >/dev/null 2>&1; then
		echo "mkcorpus: $t is needed (Debian: qemu-utils)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkcorpus.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# le N V: the low N bytes of V, least significant first.
le()
{
	_n=$1
	_v=$2
	while [ "$_n" -gt 0 ]; do
		# shellcheck disable=SC2059
		printf "\\$(printf %03o $((_v & 255)))"
		_v=$((_v >> 8))
		_n=$((_n - 1))
	done
}

zeros()
{
	head -c "$1" /dev/zero
}

# str N S: S, NUL-padded to N bytes.
str()
{
	printf '%s' "$2"
	zeros $(($1 - ${#2}))
}

size()
{
	wc -c <"$1" | tr -d ' '
}

new()
{
	rm -rf "${out:?}/$1"
	mkdir -p "$out/$1"
}

# ---------------------------------------------------------------- qcow2
# Input: flags (QF_F_*), 5 operations of kind, position, length, image.
QF_BASE=1
QF_LAZY=2
QF_TINY=4

# Write, read, zero, discard and flush across the disk.
qops()
{
	le 1 "$1"
	le 3 $((1 | 0 << 8 | 8 << 16))		# write 8 sectors at 0
	le 3 $((0 | 128 << 8 | 16 << 16))	# read 16 at the middle
	le 3 $((3 | 64 << 8 | 130 << 16))	# zero 3 sectors, unaligned
	le 3 $((2 | 200 << 8 | 4 << 16))	# discard 4 near the end
	le 3 $((5))				# flush
}

qseed()
{
	name=$1
	flags=$2
	img=$3
	{ qops "$flags"; cat "$img"; } >"$out/qcow2/$name"
}

qimg()
{
	rm -f "$tmp/img"
	qemu-img create -q -f qcow2 -o "$1" "$tmp/img" "$2"
}

qio()
{
	qemu-io -f qcow2 "$@" "$tmp/img" >/dev/null
}

new qcow2
qimg cluster_size=512 64K
qseed v3-c512-empty 0 "$tmp/img"
qio -c "write -P 0xaa 0 4k" -c "write -P 0x55 40k 3k"
qseed v3-c512-written 0 "$tmp/img"
qseed v3-c512-written-tinycache "$QF_TINY" "$tmp/img"
qio -c "write -z 0 1k" -c "discard 40k 1k"
qseed v3-c512-zero-discard 0 "$tmp/img"

qimg cluster_size=512,compat=0.10 64K
qio -c "write -P 0x11 512 2k" -c "write -P 0x22 60k 4k"
qseed v2-c512-written 0 "$tmp/img"

qimg cluster_size=512,lazy_refcounts=on 64K
qio -c "write -P 0x33 0 8k"
qseed v3-c512-lazy "$QF_LAZY" "$tmp/img"
# A crash with lazy refcounts leaves the image dirty: repaired on open.
(ulimit -c 0; qio -c "write -P 0x44 16k 4k" -c abort) 2>/dev/null || true
qseed v3-c512-lazy-dirty "$QF_LAZY" "$tmp/img"

for bits in 1 8 64; do
	qimg cluster_size=512,refcount_bits=$bits 64K
	qio -c "write -P 0x66 4k 6k"
	qseed "v3-c512-refcount$bits" 0 "$tmp/img"
done

qimg cluster_size=4096 256K
qio -c "write -P 0x77 0 8k" -c "write -P 0x78 200k 4k"
qseed v3-c4k-written 0 "$tmp/img"

# Compressed clusters, deflate and zstd.
head -c 16384 /dev/zero | tr '\0' 'z' >"$tmp/raw"
for ct in zlib zstd; do
	rm -f "$tmp/img"
	qemu-img convert -q -c -f raw -O qcow2 \
	    -o cluster_size=512,compression_type=$ct "$tmp/raw" "$tmp/img"
	qseed "v3-c512-compressed-$ct" 0 "$tmp/img"
done

# An internal snapshot: shared clusters, copied on write.
qimg cluster_size=512 64K
qio -c "write -P 0x88 0 4k"
qemu-img snapshot -c snap "$tmp/img"
qio -c "write -P 0x99 1k 1k"
qseed v3-c512-snapshot 0 "$tmp/img"

# Over a raw base: the target gives one of its own.
head -c 65536 /dev/zero >"$tmp/base.raw"
rm -f "$tmp/img"
qemu-img create -q -f qcow2 -o cluster_size=512 -b base.raw -F raw \
    "$tmp/img" 64K
qio -c "write -P 0xbb 1k 1536"
qseed v3-c512-over-base "$QF_BASE" "$tmp/img"

# ----------------------------------------------------------------- imsg
# Input: config (1: descriptors allowed, 2: small limit), then records
# of control (count of descriptors, 4: hang up), u16 length, bytes.
IMSG_FD=2147483648	# the top bit of imsg_hdr.len
PID=4242

# imsg TYPE FDMARK PAYLOADFILE: one message.
imsg()
{
	le 4 "$1"
	le 4 $((16 + $(size "$3") | $2))
	le 4 0
	le 4 "$PID"
	cat "$3"
}

# irec CTL FILE: one record of the stream.
irec()
{
	le 1 "$1"
	le 2 "$(size "$2")"
	cat "$2"
}

# payload TYPE: a valid payload of the type, on stdout.
payload()
{
	case $1 in
	hello)	le 4 1; le 4 0 ;;
	disk)	le 4 0; le 4 2; le 4 0; le 4 0; str 1024 disk.qcow2 ;;
	start)	le 4 1; le 4 0 ;;
	ready)	le 8 8192; le 4 0; le 4 1022; le 4 1048576; le 4 512
		str 20 serial; le 4 0 ;;
	mem)	le 8 0; le 8 1048576; le 8 0 ;;
	ioread)	le 4 20; le 4 1 ;;
	io)	le 4 20; le 4 1; le 8 15 ;;
	intr)	le 4 1; le 4 1 ;;
	qfd)	le 4 0; le 4 0 ;;
	verbose) le 4 2; le 4 0 ;;
	error)	le 4 22; le 4 6; str 160 "MEM_REGION: size 0" ;;
	base)	le 4 0; le 4 2; str 1024 ../base.qcow2 ;;
	none)	;;
	esac
}

# Types by number (enum vioblk_imsg_type), with their payload and fd.
set -- \
    1 hello 0 2 disk 1 3 start 0 4 none 1 5 ready 0 6 mem 1 7 ioread 0 \
    8 io 0 9 io 0 10 intr 0 11 qfd 1 12 qfd 1 13 none 0 14 none 0 \
    15 none 0 16 verbose 0 17 error 0 18 none 1 19 base 0 20 none 0 \
    21 none 0

new imsg
: >"$tmp/all"
while [ $# -ge 3 ]; do
	type=$1
	pl=$2
	fd=$3
	shift 3
	payload "$pl" >"$tmp/pl"
	mark=0
	[ "$fd" -eq 1 ] && mark=$IMSG_FD
	imsg "$type" "$mark" "$tmp/pl" >"$tmp/msg"
	cat "$tmp/msg" >>"$tmp/all"
	{ le 1 1; irec "$fd" "$tmp/msg"; } >"$out/imsg/type$type"
done
# Every message in one chunk, without descriptors.
{ le 1 1; irec 0 "$tmp/all"; } >"$out/imsg/all-one-chunk"
# The same cut in two, the cut inside a header; then a hang-up.
head -c 21 "$tmp/all" >"$tmp/a"
tail -c +22 "$tmp/all" >"$tmp/b"
{ le 1 0; irec 0 "$tmp/a"; irec 4 "$tmp/b"; } >"$out/imsg/all-split"
# A small limit, and one descriptor too many.
{ le 1 3; irec 0 "$tmp/all"; } >"$out/imsg/all-small-limit"
payload disk >"$tmp/pl"
imsg 2 "$IMSG_FD" "$tmp/pl" >"$tmp/msg"
{ le 1 1; irec 2 "$tmp/msg"; } >"$out/imsg/disk-two-fds"

# ------------------------------------------------------------ virtqueue
# Input: log2 queue size, flags (mode | VF_F_*), desc, avail, used
# addresses, u16 base; registers mode then a count and accesses of op,
# u16 offset, u64 value; then guest memory from gpa 0 (16 KiB region,
# a 16 KiB hole, then the second region at 0x8000).
VF_DEVICE=1
VF_REGS=2
VF_INDIRECT=4
VF_EVENT_IDX=8
QLOG=5		# a queue of 32: room for seven requests of three
DESC=0		# 32 descriptors of 16 bytes
AVAIL=512	# 0x200: flags, index, 32 heads, used_event
USED=768	# 0x300: flags, index, 32 elements, avail_event
REQ=1280	# 0x500: request headers, 16 bytes each
STATUS=1536	# 0x600: status bytes
TABLE=2048	# 0x800: an indirect table
DATA=4096	# 0x1000: data buffers, 1 KiB each
DATA_LEN=1024

vhdr()
{
	le 1 "$QLOG"
	le 1 "$1"
	le 4 "$DESC"
	le 4 "$AVAIL"
	le 4 "$USED"
	le 2 0
}

# desc ADDR LEN FLAGS NEXT: one descriptor.
desc()
{
	le 8 "$1"
	le 4 "$2"
	le 2 "$3"
	le 2 "$4"
}

# The three descriptors of request n of type t: header, data, status.
# The data buffer is device-writable for reads and GET_ID.
request_descs()
{
	n=$1
	t=$2
	dflags=1
	dlen=$DATA_LEN
	next=$((3 * n + 1))
	case $t in
	0|8)	dflags=3 ;;
	4)	next=$((3 * n + 2)) ;;	# FLUSH: no data
	11|13)	dlen=16 ;;		# one range
	esac
	desc $((REQ + 16 * n)) 16 1 "$next"
	desc $((DATA + DATA_LEN * n)) "$dlen" "$dflags" $((3 * n + 2))
	desc $((STATUS + n)) 1 2 0
}

# mem TYPES...: guest memory with one request per type, all offered.
mem()
{
	n=0
	for t in "$@"; do
		request_descs "$n" "$t"
		n=$((n + 1))
	done
	zeros $((AVAIL - 48 * n))
	le 2 0
	le 2 "$n"
	i=0
	while [ "$i" -lt "$n" ]; do
		le 2 $((3 * i))
		i=$((i + 1))
	done
	zeros $((REQ - AVAIL - 4 - 2 * n))
	i=0
	for t in "$@"; do
		le 4 "$t"
		le 4 0
		le 8 $((i * 2))
		i=$((i + 1))
	done
	zeros $((DATA - REQ - 16 * n))
	# Each data buffer starts with the one range DISCARD and
	# WRITE_ZEROES read: sector 4, 2 sectors, no flags.
	for t in "$@"; do
		le 8 4
		le 4 2
		le 4 0
		zeros $((DATA_LEN - 16))
	done
}

new virtqueue
mem 0 >"$tmp/m"
{ vhdr 0; cat "$tmp/m"; } >"$out/virtqueue/walk-one-chain"
{ vhdr $((VF_DEVICE | VF_EVENT_IDX)); cat "$tmp/m"; } \
    >"$out/virtqueue/device-read"
mem 1 >"$tmp/m"
{ vhdr "$VF_DEVICE"; cat "$tmp/m"; } >"$out/virtqueue/device-write"
mem 0 1 4 8 11 13 99 >"$tmp/m"
{ vhdr 0; cat "$tmp/m"; } >"$out/virtqueue/walk-seven-chains"
{ vhdr "$VF_DEVICE"; cat "$tmp/m"; } >"$out/virtqueue/device-every-type"

# An indirect chain: descriptor 0 points at a table of three.
{
	vhdr $((VF_DEVICE | VF_INDIRECT))
	desc "$TABLE" 48 4 0
	zeros $((AVAIL - 16))
	le 2 0; le 2 1; le 2 0
	zeros $((REQ - AVAIL - 6))
	le 4 0; le 4 0; le 8 0
	zeros $((TABLE - REQ - 16))
	desc "$REQ" 16 1 1
	desc "$DATA" 512 3 2
	desc "$STATUS" 1 2 0
} >"$out/virtqueue/device-indirect"

# The same request set up by a driver through the registers.
acc()
{
	le 1 "$1"
	le 2 "$2"
	le 8 "$3"
}
{
	le 1 "$QLOG"
	le 1 "$VF_REGS"
	zeros 14
	le 1 16
	acc 128 20 1			# status: ACKNOWLEDGE
	acc 128 20 3			# DRIVER
	acc 130 8 0			# driver_feature_select 0
	acc 130 12 805332550		# 0x30006646: what is offered
	acc 130 8 1
	acc 130 12 1			# VERSION_1
	acc 128 20 11			# FEATURES_OK
	acc 129 22 0			# queue_select 0
	acc 129 24 $((1 << QLOG))		# queue_size
	acc 131 32 "$DESC"		# queue_desc
	acc 131 40 "$AVAIL"		# queue_driver
	acc 131 48 "$USED"		# queue_device
	acc 129 28 1			# queue_enable
	acc 128 20 15			# DRIVER_OK
	acc 129 12288 0			# notify queue 0
	acc 0 4096 0			# read ISR
	mem 0 1
} >"$out/virtqueue/registers-driver"

# ----------------------------------------------------------- vhost-user
# Input: records of action (0 send, 1 kick, 2 guest memory write, 3 hang
# up), argument (send: descriptor count | first kind << 4, kinds 0 memfd,
# 1 kick, 2 call, 3 pipe; memory: 256-byte page), u16 length, bytes.
UADDR=268435456		# 0x10000000: where the front-end maps the memfd
F_LOW=805332550		# the device's features, low word
F_PROTO=1073741824	# bit 30: VHOST_USER_F_PROTOCOL_FEATURES

# vmsg REQUEST FLAGS PAYLOADFILE: one message, header and payload.
vmsg()
{
	le 4 "$1"
	le 4 "$2"
	le 4 "$(size "$3")"
	cat "$3"
}

# vrec ACTION ARG FILE
vrec()
{
	le 1 "$1"
	le 1 "$2"
	le 2 "$(size "$3")"
	cat "$3"
}

# vsend REQUEST FLAGS FDARG: payload on stdin.
vsend()
{
	cat >"$tmp/vpl"
	vmsg "$1" "$2" "$tmp/vpl" >"$tmp/vmsg"
	vrec 0 "$3" "$tmp/vmsg"
}

# A session as QEMU runs one: negotiation, memory (in 1 or 2 regions),
# one ring, requests.
vsession()
{
	ack=$1
	: | vsend 1 1 0				# GET_FEATURES
	{ le 4 $((F_LOW | F_PROTO)); le 4 1; } | vsend 2 1 0
	: | vsend 3 1 0				# SET_OWNER
	: | vsend 15 1 0			# GET_PROTOCOL_FEATURES
	le 8 521 | vsend 16 1 0			# MQ, REPLY_ACK, CONFIG
	: | vsend 17 1 0			# GET_QUEUE_NUM
	if [ "${2:-1}" -eq 1 ]; then
		{ le 4 1; le 4 0; le 8 0; le 8 65536; le 8 "$UADDR"; le 8 0; } |
		    vsend 5 "$ack" 1		# SET_MEM_TABLE, the memfd
	else
		# Its two halves, at guest-physical 0 and 1 MiB.
		{ le 4 2; le 4 0; le 8 0; le 8 32768; le 8 "$UADDR"; le 8 0
		  le 8 1048576; le 8 32768; le 8 $((UADDR + 32768))
		  le 8 32768; } | vsend 5 "$ack" 2
	fi
	{ le 4 0; le 4 $((1 << QLOG)); } |
	    vsend 8 "$ack" 0			# SET_VRING_NUM
	{ le 4 0; le 4 0; } | vsend 10 "$ack" 0	# SET_VRING_BASE
	{ le 4 0; le 4 0; le 8 $((UADDR + DESC)); le 8 $((UADDR + USED))
	  le 8 $((UADDR + AVAIL)); le 8 0; } |
	    vsend 9 "$ack" 0			# SET_VRING_ADDR
	le 8 0 | vsend 12 "$ack" 17		# SET_VRING_KICK, the kick fd
	le 8 0 | vsend 13 "$ack" 33		# SET_VRING_CALL, the call fd
	le 8 256 | vsend 14 "$ack" 0		# SET_VRING_ERR, no fd
	{ le 4 0; le 4 1; } | vsend 18 "$ack" 0	# SET_VRING_ENABLE
	{ le 4 0; le 4 60; le 4 0; zeros 60; } |
	    vsend 24 1 0			# GET_CONFIG
}

# Guest memory with requests of the given types, then a kick.
vrequests()
{
	mem "$@" >"$tmp/vmem"
	vrec 2 0 "$tmp/vmem"
	: >"$tmp/empty"
	vrec 1 0 "$tmp/empty"
}

new vhost-user
{ vsession 1; vrequests 0 1 4; } >"$out/vhost-user/session"
{ vsession 9; vrequests 0 1 4 8 11 13; } >"$out/vhost-user/session-ack"
{ vsession 9 2; vrequests 0 1; } >"$out/vhost-user/session-two-regions"
{
	vsession 9
	vrequests 0
	{ le 4 0; le 4 0; } | vsend 11 1 0	# GET_VRING_BASE: stop
	{ le 4 0; le 4 1; } | vsend 10 9 0	# SET_VRING_BASE 1
	le 8 0 | vsend 12 9 17			# a new kick fd
	vrequests 0 1
	{ le 4 32; le 4 1; le 4 0; le 1 1; } |
	    vsend 25 9 0			# SET_CONFIG: writeback
	: >"$tmp/empty"
	vrec 3 0 "$tmp/empty"
} >"$out/vhost-user/session-restart"
# Too many descriptors, a header cut in two.
{
	: | vsend 1 1 10
	printf '\001\000\000' >"$tmp/half"
	vrec 0 0 "$tmp/half"
	printf '\000\001\000\000\000\000\000\000\000' >"$tmp/half"
	vrec 0 0 "$tmp/half"
} >"$out/vhost-user/cut-header"

for d in qcow2 imsg virtqueue vhost-user; do
	echo "mkcorpus: $d: $(ls "$out/$d" | wc -l) seeds," \
	    "$(cat "$out/$d"/* | wc -c) bytes"
done
