#!/bin/sh
# Each malformed request or ring, alone, against a live device, through
# the message path and the eventfd path: the device answers IOERR or goes
# to NEEDS_RESET as the case calls for, the sandboxed child lives on, a
# reset and a fresh init serve a good read that matches one made before,
# and the image is byte-identical to what it was.  The shrink-* cases cut
# the file of a guest memory region under the device (the rings' region,
# or the data buffer's for a write and for a GET_ID): it must not die of
# SIGBUS.
. regress/vioblk.subr
. regress/device.subr
need_built "$DEVTEST"

d=$TMPDIR/bad
mkdisk "$d" || exit 1
top=$d/img/top.qcow2
qemu-io -f qcow2 -c "write -P 0x77 0 1M" "$top" >/dev/null || exit 1

# CASE:OUTCOME, as devtest names them.
cases="desc-index:needs_reset loop:needs_reset chain-too-long:needs_reset
nested-indirect:needs_reset indirect-len:needs_reset region-end:ioerr
gap:ioerr overflow:ioerr short-header:ioerr status-ro:needs_reset
status-len0:needs_reset write-writable:ioerr past-capacity:ioerr
len-unaligned:ioerr seg-max:ioerr discard-flag:ioerr avail-jump:needs_reset
flip:consistent shrink-ring:needs_reset shrink-data:ioerr shrink-id:ioerr"

sum()
{
	sha256sum "$top" | cut -d' ' -f1
}

# whole CASE WANT: the outcome, a live child, recovery, a clean exit and
# an unchanged image.
whole()
{
	hasre "$out" "^outcome $2( |\$)" && has "$out" "alive 1" &&
	    has "$out" "recovered 1" && has "$out" "exit 0" &&
	    [ "$(sum)" = "$before" ]
}

for path in message eventfd; do
	flag=
	[ $path = eventfd ] && flag=-e
	for cw in $cases; do
		c=${cw%%:*}
		want=${cw#*:}
		before=$(sum)
		devtest $flag bad "$c" -- "$VIOBLK" -d "$top"
		check "$path path: $c answers $want, the child lives, the image is unchanged" \
		    whole "$c" "$want"
	done
done

finish
