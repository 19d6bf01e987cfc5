#!/bin/sh
# Every image of the hostile corpus (regress/images/hostile.sh) through
# every opener: vioblkctl info, convert (to raw and to qcow2) and check
# (also with -r all, on a copy), the backing layer opened read-write
# (qdump -w), and the vioblk device read-only and read-write with a guest
# reading the whole disk (devread).
#
# An image the corpus marks `refuse` is refused by each: status 1 and
# exactly one line on stderr naming the image and the reason.  An image
# marked `readfail` opens; reading its damaged cluster fails (an I/O error
# to the guest, one error line from a tool) and every other byte reads as
# the good source.  Nothing dies of a signal or a sanitizer report, and
# no file of the corpus changes.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 30"
QDUMP=$B/regress/tools/qdump
DEVREAD=$B/regress/tools/devread
VIOBLK=$B/vioblk
C=$W/c

for f in "$CTL" "$QDUMP" "$DEVREAD" "$VIOBLK"; do
	if [ ! -x "$f" ]; then
		echo "not built: $f" >&2
		exit 1
	fi
done
sh regress/images/hostile.sh "$C" || exit 1

# vioblkctl check is optional until it is built; an unknown command is
# how vioblkctl says it has none.
have_check=1
if $TO "$CTL" check 2>&1 | grep -q "unknown command"; then
	have_check=0
fi

# sane FILE RC: no signal, no timeout, no sanitizer report.
sane()
{
	[ "$2" -lt 124 ] && ! grep -q "Sanitizer\|runtime error" "$1"
}

# oneline FILE: FILE is exactly one line naming the image ($name) and
# matching the corpus' reason ($re).
oneline()
{
	[ "$(wc -l <"$1")" -eq 1 ] && grep -qF "/$name." "$1" &&
	    grep -Eq -- "$re" "$1"
}

# refused WHAT: the last command ($rc, $W/err) refused the image.
refused()
{
	if ! sane "$W/err" "$rc"; then
		notok "$name: $1: crashed, exit $rc: $(why "$W/err")"
	elif [ "$rc" -ne 1 ]; then
		notok "$name: $1: exit $rc, not refused: $(why "$W/err")"
	elif ! oneline "$W/err"; then
		notok "$name: $1: not one line naming it and /$re/:" \
		    "$(tr '\n' '|' <"$W/err")"
	else
		ok "$name: $1 refuses it"
	fi
}

# failed_read WHAT [anon]: the last command ($rc, $W/err) failed with one
# line, naming the image unless anon.
failed_read()
{
	if ! sane "$W/err" "$rc"; then
		notok "$name: $1: crashed, exit $rc: $(why "$W/err")"
	elif [ "$rc" -ne 1 ] || [ "$(wc -l <"$W/err")" -ne 1 ] ||
	    { [ -z "${2:-}" ] && ! grep -qF "/$name." "$W/err"; }; then
		notok "$name: $1: exit $rc: $(tr '\n' '|' <"$W/err")"
	else
		ok "$name: $1 fails cleanly ($(cat "$W/err"))"
	fi
}

# convert FORMAT: convert the image, which must fail ($kind refuse: at
# the open) and leave no output file behind.
convert()
{
	rm -f "$W/out"
	$TO "$CTL" convert -O "$1" "$img" "$W/out" >/dev/null 2>"$W/err"
	rc=$?
	if [ -e "$W/out" ]; then
		notok "$name: convert -O $1 left its output behind"
	elif [ "$kind" = refuse ]; then
		refused "convert -O $1"
	else
		failed_read "convert -O $1"
	fi
}

# check [-r all]: vioblkctl check ends as qemu-img check does (0 clean,
# 1 not completed, 2 corruptions, 3 leaks).  A check that cannot open the
# image says so in one line naming it; one that ran and could not finish
# ends its report with such a line.  With -r it works on a copy, which a
# refusal leaves alone.
check()
{
	what="check${1:+ $*}"
	if [ "$have_check" -eq 0 ]; then
		ok "$name: $what # SKIP vioblkctl check is not built"
		return
	fi
	target=$img
	if [ $# -gt 0 ]; then
		cp "$img" "$W/copy.qcow2"
		target=$W/copy.qcow2
	fi
	$TO "$CTL" check "$@" "$target" >/dev/null 2>"$W/err"
	rc=$?
	if ! sane "$W/err" "$rc"; then
		notok "$name: $what: crashed, exit $rc: $(why "$W/err")"
	elif [ "$rc" -gt 3 ]; then
		notok "$name: $what: exit $rc: $(why "$W/err")"
	elif [ "$rc" -eq 1 ] && ! tail -n 1 "$W/err" |
	    grep -q "^vioblkctl: .*/[a-z_0-9]*\.qcow2: "; then
		notok "$name: $what: not completed, without saying why:" \
		    "$(tail -n 1 "$W/err")"
	elif [ "$rc" -eq 1 ] && [ "$(wc -l <"$W/err")" -eq 1 ] &&
	    ! cmp -s "$img" "$target"; then
		notok "$name: $what: refused, yet changed the file"
	else
		ok "$name: $what ends with $rc"
	fi
}

# device [-r]: the vioblk device, read-only with -r, a guest reading
# the whole disk one cluster at a time.
device()
{
	mode=read-write
	[ $# -gt 0 ] && mode=read-only
	rm -f "$W/dev.raw"
	ASAN_OPTIONS=detect_leaks=0 $TO "$DEVREAD" -c "$len" -o "$W/dev.raw" \
	    -- "$VIOBLK" -d "$@" "$img" >"$W/dev.out" 2>"$W/err"
	rc=$?
	if ! sane "$W/err" "$rc"; then
		notok "$name: vioblk $mode: crashed, exit $rc: $(why "$W/err")"
		return
	fi
	if [ "$kind" = refuse ]; then
		if ! grep -qx "refused exit 1" "$W/dev.out"; then
			notok "$name: vioblk $mode: not refused:" \
			    "$(tr '\n' '|' <"$W/dev.out")"
		else {
			rc=1
			refused "vioblk $mode"
		}
		fi
		return
	fi
	if [ "$rc" -ne 0 ] || ! grep -qx "alive 1" "$W/dev.out" ||
	    ! grep -qx "exit 0" "$W/dev.out"; then
		notok "$name: vioblk $mode: exit $rc:" \
		    "$(tr '\n' '|' <"$W/dev.out") $(why "$W/err")"
	elif [ "$(grep '^ioerr ' "$W/dev.out")" != "ioerr $off $len" ]; then
		notok "$name: vioblk $mode: I/O errors other than at $off:" \
		    "$(grep '^ioerr ' "$W/dev.out" | tr '\n' '|')"
	elif ! cmp -s "$W/ref.raw" "$W/dev.raw"; then
		notok "$name: vioblk $mode: the rest does not read as the source"
	else
		ok "$name: vioblk $mode: only the damaged cluster fails"
	fi
}

# qcheck FILE: "RC CORRUPTIONS CHECK-ERRORS" of qemu-img check on FILE.
qcheck()
{
	$TO qemu-img check --output=json "$1" >"$W/check.json" 2>/dev/null
	set -- $? "$(tr -d ' \n' <"$W/check.json")"
	echo "$1 $(echo "$2" | sed -n 's/.*"corruptions":\([0-9]*\).*/\1/p')" \
	    "$(echo "$2" | sed -n 's/.*"check-errors":\([0-9]*\).*/\1/p')" |
	    awk '{ print $1, $2 + 0, $3 + 0 }'
}

# device_write: the read-write device writes every cluster back over a
# copy of the image and flushes; whatever the damage, it answers each
# request and lives.  A damaged table entry is never written over (its
# reference would be dropped on the strength of what it names, the header
# or the refcount table for all it knows): that one write fails with
# IOERR, every other one and the flush succeed, and `qemu-img check`
# finds no corruption the image did not have before.  Where the check
# finds none at all, the damage is in the data alone (a compressed
# stream cut short), the entry is sound and its write succeeds too.
device_write()
{
	cp "$img" "$W/copy.qcow2"
	set -- $(qcheck "$img")
	before=$2
	ASAN_OPTIONS=detect_leaks=0 $TO "$DEVREAD" -W -c "$len" \
	    -- "$VIOBLK" -d "$W/copy.qcow2" >"$W/dev.out" 2>"$W/err"
	rc=$?
	want="write-ioerr $off $len"
	[ "$before" -eq 0 ] && want=
	if ! sane "$W/err" "$rc"; then
		notok "$name: vioblk writing: crashed, exit $rc: $(why "$W/err")"
	elif [ "$rc" -ne 0 ] || ! grep -qx "alive 1" "$W/dev.out"; then
		notok "$name: vioblk writing: exit $rc:" \
		    "$(tr '\n' '|' <"$W/dev.out") $(why "$W/err")"
	elif [ "$(grep '^write-ioerr ' "$W/dev.out")" != "$want" ] ||
	    ! grep -qx "flush ok" "$W/dev.out"; then
		notok "$name: vioblk writing: want ${want:-no write error}" \
		    "and flush ok, got: $(grep '^write-ioerr \|^flush ' \
		    "$W/dev.out" | tr '\n' '|')"
	else
		ok "$name: vioblk writing answers every request" \
		    "($(grep '^writes ' "$W/dev.out"))"
	fi
	# The refusal reaches vioblk's log (tagged as its other lines), and
	# the failed request's line names the image.
	if [ -n "$want" ]; then
		refused='^vioblk: .*copy\.qcow2: L2 entry .*not written over$'
		failed='^vioblk: copy\.qcow2: write of [0-9]* bytes at sector '
		if grep -q "$refused" "$W/err" && grep -q "$failed" "$W/err"
		then
			ok "$name: the refused write is logged with the image"
		else
			notok "$name: no log line naming the image and the" \
			    "refused entry: $(why "$W/err")"
		fi
	fi
	set -- $(qcheck "$W/copy.qcow2")
	if [ "$1" -ne 0 ] && [ "$1" -ne 2 ] && [ "$1" -ne 3 ]; then
		notok "$name: after the writes, qemu-img check exit $1"
	elif [ "$2" -gt "$before" ] || [ "$3" -ne 0 ]; then
		notok "$name: after the writes, qemu-img check finds $2" \
		    "corruptions (before: $before) and $3 check errors"
	else
		ok "$name: after the writes, qemu-img check exit $1," \
		    "$2 corruptions as before"
	fi
}

nimg=0
while read -r name kind rest; do
	nimg=$((nimg + 1))
	img=$C/$name.qcow2
	sums=$(sha256sum "$C/$name".*)
	len=65536
	case $kind in
	refuse)
		re=$rest
		;;
	readfail)
		set -- $rest
		off=$1
		len=$2
		re=.
		cp "$C/$3" "$W/ref.raw"
		dd if=/dev/zero of="$W/ref.raw" bs="$len" seek=$((off / len)) \
		    count=1 conv=notrunc 2>/dev/null
		;;
	*)
		notok "$name: unknown kind $kind in the manifest"
		continue
		;;
	esac

	$TO "$CTL" info "$img" >/dev/null 2>"$W/err"
	rc=$?
	if [ "$kind" = refuse ]; then
		refused "info"
	elif sane "$W/err" "$rc" && [ "$rc" -eq 0 ] && [ ! -s "$W/err" ]; then
		ok "$name: info opens it"
	else
		notok "$name: info: exit $rc: $(why "$W/err")"
	fi
	convert raw
	convert qcow2
	check
	check -r all

	if [ "$kind" = refuse ]; then
		$TO "$QDUMP" -w "$img" >/dev/null 2>"$W/err"
		rc=$?
		refused "read-write open"
	else
		$TO "$QDUMP" -o "$W/out" "$img" >/dev/null 2>"$W/err"
		rc=$?
		failed_read "whole read" anon
	fi
	device -r
	device
	[ "$kind" = readfail ] && device_write

	if [ "$(sha256sum "$C/$name".*)" = "$sums" ]; then
		ok "$name: no file changed"
	else
		notok "$name: a file changed"
	fi
done <"$C/MANIFEST"

if [ "$nimg" -ge 30 ]; then
	ok "$nimg images in the corpus"
else
	notok "only $nimg images in the corpus"
fi
echo "1..$n"
[ "$fails" -eq 0 ]
