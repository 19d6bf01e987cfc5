#!/bin/sh
# `vioblkctl info` reports what qemu-img reports (format, version, sizes,
# cluster size, refcount bits, dirty and corrupt bits, the chain), as text
# and as JSON; chains that loop or run too deep are refused with one line;
# the manual is lint-clean.

set -u
: "${B:=build}"
. regress/qemu.subr
TO="timeout -k 5 60"

# has NAME FILE LINE...: every LINE is a whole line of FILE.
has()
{
	name=$1
	f=$2
	shift 2
	for l in "$@"; do
		if ! grep -qxF "$l" "$f"; then
			notok "$name: no line '$l' in: $(tr '\n' '|' <"$f")"
			return
		fi
	done
	ok "$name"
}

$TO qemu-img create -q -f raw "$W/base.raw" 10M
$TO qemu-img create -q -f qcow2 -o cluster_size=4096,refcount_bits=64 \
    -b base.raw -F raw "$W/mid.qcow2" 20M
$TO qemu-img create -q -f qcow2 -o compat=0.10 -b mid.qcow2 -F qcow2 \
    "$W/top.qcow2"
$TO qemu-io -f qcow2 -c "write -P 1 0 1m" "$W/top.qcow2" >/dev/null
fsize=$(wc -c <"$W/top.qcow2")

if $TO "$CTL" info "$W/top.qcow2" >"$W/out" 2>"$W/err"; then
	has "info text, top" "$W/out" "format: qcow2" "version: 2" \
	    "virtual size: 20971520" "cluster size: 65536" \
	    "refcount bits: 16" "file size: $fsize" "dirty: no" \
	    "corrupt: no" "backing file: mid.qcow2" "backing format: qcow2"
	has "info text, chain" "$W/out" "image: $W/mid.qcow2" \
	    "cluster size: 4096" "refcount bits: 64" "version: 3" \
	    "backing file: base.raw" "backing format: raw" \
	    "image: $W/base.raw" "format: raw" "virtual size: 10485760"
else
	notok "info: $(why "$W/err")"
fi
if $TO "$CTL" info --json "$W/top.qcow2" >"$W/out" 2>"$W/err"; then
	has "info --json" "$W/out" '    "format": "qcow2",' \
	    '    "version": 2,' '    "virtual-size": 20971520,' \
	    '    "cluster-size": 65536,' '    "refcount-bits": 16,' \
	    '    "dirty": false,' '    "corrupt": false,' \
	    '    "backing-filename": "mid.qcow2",' \
	    '    "backing-format": "qcow2",' '    "chain-depth": 3,' \
	    '            "refcount-bits": 64,' \
	    '            "format": "raw",'
else
	notok "info --json: $(why "$W/err")"
fi

# A dirty lazy-refcount image, left so by a qemu-io that dies mid-way.
$TO qemu-img create -q -f qcow2 -o lazy_refcounts=on "$W/dirty.qcow2" 1G
timeout -s KILL 5 qemu-io -f qcow2 -c "write -P 2 0 64k" \
    -c "sigraise 9" "$W/dirty.qcow2" >/dev/null 2>&1
if $TO "$CTL" info "$W/dirty.qcow2" >"$W/out" 2>"$W/err"; then
	has "info on a dirty image" "$W/out" "dirty: yes" "lazy refcounts: yes"
else
	notok "info on a dirty image: $(why "$W/err")"
fi

# A loop: a -> b -> a.
$TO qemu-img create -q -f qcow2 "$W/la.qcow2" 1M
$TO qemu-img create -q -f qcow2 -b la.qcow2 -F qcow2 "$W/lb.qcow2"
$TO qemu-img rebase -u -b lb.qcow2 -F qcow2 "$W/la.qcow2"
sum=$(cat "$W/la.qcow2" "$W/lb.qcow2" | sha256sum)
$TO "$CTL" info "$W/lb.qcow2" >/dev/null 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$W/err")" -eq 1 ] &&
    grep -q "^vioblkctl: .*loop" "$W/err" &&
    [ "$(cat "$W/la.qcow2" "$W/lb.qcow2" | sha256sum)" = "$sum" ]; then
	ok "backing loop refused ($(cat "$W/err"))"
else
	notok "backing loop: exit $rc, $(why "$W/err")"
fi
# A self loop.
$TO qemu-img create -q -f qcow2 "$W/self.qcow2" 1M
$TO qemu-img rebase -u -b self.qcow2 -F qcow2 "$W/self.qcow2"
$TO "$CTL" info "$W/self.qcow2" >/dev/null 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "^vioblkctl: .*loop" "$W/err"; then
	ok "image that is its own base refused"
else
	notok "self loop: exit $rc, $(why "$W/err")"
fi

# Depth: a chain of 17 images opens, 18 is refused.
$TO qemu-img create -q -f qcow2 "$W/d1.qcow2" 1M
i=2
while [ $i -le 18 ]; do
	$TO qemu-img create -q -f qcow2 -b "d$((i - 1)).qcow2" -F qcow2 \
	    "$W/d$i.qcow2"
	i=$((i + 1))
done
if $TO "$CTL" info --json "$W/d17.qcow2" >"$W/out" 2>"$W/err" &&
    grep -q '"chain-depth": 17' "$W/out"; then
	ok "chain of 17 opens"
else
	notok "chain of 17: $(why "$W/err")"
fi
$TO "$CTL" info "$W/d18.qcow2" >/dev/null 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "^vioblkctl: .*deeper than 16 levels" "$W/err"; then
	ok "chain of 18 refused ($(cat "$W/err"))"
else
	notok "chain of 18: exit $rc, $(why "$W/err")"
fi

# A missing base: one line naming it.
$TO qemu-img create -q -f qcow2 "$W/gone.qcow2" 1M
$TO qemu-img create -q -f qcow2 -b gone.qcow2 -F qcow2 "$W/orphan.qcow2"
rm "$W/gone.qcow2"
$TO "$CTL" info "$W/orphan.qcow2" >/dev/null 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$W/err")" -eq 1 ] &&
    grep -q "^vioblkctl: .*gone.qcow2: No such file" "$W/err"; then
	ok "missing base named in one line"
else
	notok "missing base: exit $rc, $(why "$W/err")"
fi
$TO "$CTL" info >/dev/null 2>"$W/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "^usage: vioblkctl" "$W/err"; then
	ok "info without an image: usage, exit 1"
else
	notok "info without an image: exit $rc"
fi

if command -v mandoc >/dev/null; then
	if mandoc -Tlint -W warning vioblkctl.8 >"$W/lint" 2>&1; then
		ok "vioblkctl.8 is lint-clean"
	else
		notok "vioblkctl.8: $(head -1 "$W/lint")"
	fi
else
	n=$((n + 1))
	echo "ok $n - vioblkctl.8 lint # SKIP mandoc not installed"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
