#!/bin/sh
# `vioblkctl check` agrees with `qemu-img check` on the damaged images of
# regress/images/damaged.sh: the same exit status and the same numbers of
# corruptions, leaks and check errors; with -r leaks and -r all the same
# numbers fixed, and afterwards qemu-img finds our repaired copy exactly
# as it finds its own (clean, where qemu's repair makes it clean).  Clean
# images stay clean and untouched; the human report is qemu's, line for
# line; --json is well formed; a refused image is one line and status 1.
# Each comparison starts from a fresh copy of the damaged image.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 60"

# nums FILE: the counts of a check --json output, absent keys as 0.
nums()
{
	for k in corruptions leaks check-errors corruptions-fixed leaks-fixed; do
		v=$(sed -n "s/^    \"$k\": \([0-9]*\),\$/\1/p" "$1")
		printf '%s=%s ' "$k" "${v:-0}"
	done
}

# wellformed FILE: an object of "key": number-or-string lines.
wellformed()
{
	[ "$(sed -n 1p "$1")" = "{" ] && [ "$(sed -n '$p' "$1")" = "}" ] &&
	    ! sed '1d;$d' "$1" | grep -vqE \
	    '^    "[a-z-]+": ([0-9]+|"([^"\\]|\\.)*"),?$' &&
	    [ "$(sed '1d;$d' "$1" | grep -c ',$')" -eq \
	    $(($(wc -l <"$1") - 3)) ]
}

# sane FILE: no sanitizer report in an error output.
sane() { ! grep -q Sanitizer "$1"; }

if ! sh regress/images/damaged.sh "$W/src" >"$W/list" 2>"$W/err"; then
	notok "damaged.sh built the corpus: $(why "$W/err")"
	echo "1..$n"
	exit 1
fi
total=$(wc -l <"$W/list")
if [ "$total" -ge 15 ]; then
	ok "corpus of $total images"
else
	notok "corpus of $total images, fewer than 15"
fi

q=$W/q.qcow2
o=$W/o.qcow2
for name in $(cat "$W/list"); do
	src=$W/src/$name.qcow2

	# The check alone, as JSON and as text.
	cp "$src" "$q"
	cp "$src" "$o"
	$TO qemu-img check --output=json "$q" >"$W/qj" 2>/dev/null
	qrc=$?
	$TO "$CTL" check --json "$o" >"$W/oj" 2>"$W/oe"
	orc=$?
	if ! sane "$W/oe"; then
		notok "$name: check: $(why "$W/oe")"
	elif [ $qrc -eq $orc ] &&
	    [ "$(nums "$W/qj")" = "$(nums "$W/oj")" ]; then
		ok "$name: check, status $orc, $(nums "$W/oj")"
	else
		notok "$name: check: qemu-img $qrc $(nums "$W/qj")," \
		    "vioblkctl $orc $(nums "$W/oj")"
	fi
	if [ $orc -ne 1 ] && ! wellformed "$W/oj"; then
		notok "$name: --json: $(tr '\n' '|' <"$W/oj")"
	fi
	$TO qemu-img check "$q" >"$W/qh" 2>/dev/null
	$TO "$CTL" check "$o" >"$W/oh" 2>/dev/null
	cmp -s "$W/qh" "$W/oh" ||
	    notok "$name: text report: $(diff "$W/qh" "$W/oh" | tr '\n' '|')"
	if ! cmp -s "$src" "$o"; then
		notok "$name: a check without -r changed the image"
	fi

	for mode in leaks all; do
		cp "$src" "$q"
		cp "$src" "$o"
		$TO qemu-img check -r $mode --output=json "$q" >"$W/qj" \
		    2>/dev/null
		qrc=$?
		$TO "$CTL" check -r $mode --json "$o" >"$W/oj" 2>"$W/oe"
		orc=$?
		if ! sane "$W/oe"; then
			notok "$name: -r $mode: $(why "$W/oe")"
			continue
		fi
		if [ $qrc -ne $orc ] ||
		    [ "$(nums "$W/qj")" != "$(nums "$W/oj")" ]; then
			notok "$name: -r $mode: qemu-img $qrc" \
			    "$(nums "$W/qj"), vioblkctl $orc $(nums "$W/oj")"
			continue
		fi
		# Each repaired copy, judged by the other tool.
		$TO qemu-img check --output=json "$q" >"$W/qq" 2>/dev/null
		q2=$?
		$TO qemu-img check --output=json "$o" >"$W/qo" 2>/dev/null
		o2=$?
		$TO "$CTL" check --json "$q" >"$W/oq" 2>"$W/oe"
		x2=$?
		if [ $q2 -ne $o2 ] || [ $q2 -ne $x2 ] ||
		    [ "$(nums "$W/qq")" != "$(nums "$W/qo")" ] ||
		    [ "$(nums "$W/qq")" != "$(nums "$W/oq")" ]; then
			notok "$name: after -r $mode: qemu-img on its copy" \
			    "$q2 $(nums "$W/qq"), on ours $o2 $(nums "$W/qo")," \
			    "vioblkctl on qemu's $x2 $(nums "$W/oq")"
			continue
		fi
		case $name in
		clean-*)
			if cmp -s "$src" "$o"; then
				ok "$name: -r $mode leaves it untouched"
			else
				notok "$name: -r $mode changed a clean image"
			fi
			;;
		*)
			if [ $q2 -eq 0 ]; then
				st="both clean"
			else
				st="both $(nums "$W/qo")"
			fi
			ok "$name: -r $mode, status $orc, $(nums "$W/oj"); $st"
			;;
		esac
	done
done

# Refusals: one line, status 1 (63 for a format without checks).
printf 'QFI\373\000\000\000\003' >"$W/short.qcow2"
qemu-img create -q -f raw "$W/r.raw" 1M
cp "$W/src/clean-plain.qcow2" "$W/bad.qcow2"
printf '\000\000\000\007' | dd of="$W/bad.qcow2" bs=1 seek=96 conv=notrunc \
    status=none
for t in "short.qcow2 1" "bad.qcow2 1" "missing.qcow2 1" "r.raw 63"; do
	f=${t% *}
	want=${t#* }
	$TO "$CTL" check "$W/$f" >"$W/out" 2>"$W/err"
	rc=$?
	if [ $rc -eq "$want" ] && [ "$(wc -l <"$W/err")" -eq 1 ] &&
	    grep -q "^vioblkctl: " "$W/err" && sane "$W/err"; then
		ok "$f refused with status $rc: $(cat "$W/err")"
	else
		notok "$f: status $rc (want $want): $(tr '\n' '|' <"$W/err")"
	fi
done
$TO "$CTL" check -r some "$W/src/clean-plain.qcow2" >/dev/null 2>&1
rc=$?
if [ $rc -eq 1 ]; then ok "-r some is a usage error"; else
	notok "-r some: status $rc"; fi

echo "1..$n"
[ $fails -eq 0 ]
