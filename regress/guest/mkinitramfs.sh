#!/bin/sh
# Build a Linux guest that tests a virtio-blk disk: OUTDIR/vmlinuz and
# OUTDIR/initramfs.cpio.gz, from Debian's packages only.
#
#   mkinitramfs.sh OUTDIR
#
# The kernel is the package that linux-image-cloud-amd64 depends on,
# fetched with apt-get download and unpacked with dpkg -x (never
# installed); busybox comes from busybox-static.  The initramfs holds
# busybox and its applet links, the modules that virtio-blk over PCI and
# an ext2 mount need (those not built in), init.sh as /init and
# guest-test.sh.  Downloads and unpacked trees are kept in the cache
# (lib.sh: guest_cache_dir); OUTDIR is left alone when it was built from
# the same inputs.
#
# Exit status: 0 built or up to date, 77 the kernel or busybox cannot be
# had (the reason is printed), anything else an error.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

META=linux-image-cloud-amd64
# Modules the guest loads itself; their dependencies are added.
WANT_MODULES="virtio_pci virtio_blk"

die()
{
	echo "mkinitramfs: $*" >&2
	exit 1
}

unavailable()
{
	echo "mkinitramfs: $*" >&2
	exit 77
}

[ $# -eq 1 ] || die "usage: mkinitramfs.sh OUTDIR"
out=$1
cache=$(guest_cache_dir)
mkdir -p "$out" "$cache" || die "$cache: cannot create"
# Two runs at once must not unpack into the same tree.
if command -v flock >/dev/null; then
	exec 9>"$cache/.lock"
	flock 9
fi
out=$(cd "$out" && pwd)

updated=0
apt_update_once()
{
	[ "$updated" -eq 0 ] || return 1
	updated=1
	[ "$(id -u)" -eq 0 ] || return 1
	echo "mkinitramfs: apt-get update" >&2
	timeout 300 apt-get update -q >/dev/null 2>&1 || true
}

# Print "NAME VERSION" of the candidate of a package, or nothing.
candidate()
{
	v=$(apt-cache policy "$1" 2>/dev/null |
	    sed -n 's/^ *Candidate: *//p' | head -n 1)
	case $v in
	''|'(none)') ;;
	*) echo "$1 $v" ;;
	esac
}

# The versioned kernel package behind the meta package, e.g.
# linux-image-6.1.0-56-cloud-amd64.
kernel_package()
{
	apt-cache depends "$META" 2>/dev/null |
	    sed -n 's/^ *Depends: *\(linux-image-[^ ]*\).*/\1/p' | head -n 1
}

# Fetch package $1 at version $2 into the cache and unpack it; print the
# unpacked tree.  A tree unpacked before is reused without the network.
fetch_unpack()
{
	tree=$cache/unpack/$1_$2
	if [ ! -f "$tree/.done" ]; then
		debdir=$cache/deb/$1_$2
		mkdir -p "$debdir"
		if ! ls "$debdir"/*.deb >/dev/null 2>&1; then
			echo "mkinitramfs: apt-get download $1=$2" >&2
			(cd "$debdir" && timeout 600 apt-get download -q \
			    "$1=$2" >/dev/null 2>&1) ||
			    unavailable "$1 $2: apt-get download failed"
		fi
		rm -rf "$tree.tmp"
		mkdir -p "$tree.tmp"
		dpkg -x "$debdir"/*.deb "$tree.tmp" ||
		    die "$debdir: dpkg -x failed"
		: >"$tree.tmp/.done"
		rm -rf "$tree"
		mv "$tree.tmp" "$tree"
	fi
	echo "$tree"
}

# Newest unpacked tree of a package, for a machine whose package lists
# are gone but whose cache is not.
cached_tree()
{
	ls -dt "$cache"/unpack/"$1"*/.done 2>/dev/null | head -n 1 |
	    sed 's,/\.done$,,'
}

# The kernel.
kpkg=$(kernel_package)
if [ -z "$kpkg" ] && apt_update_once; then
	kpkg=$(kernel_package)
fi
kcand=
[ -z "$kpkg" ] || kcand=$(candidate "$kpkg")
if [ -n "$kcand" ]; then
	ktree=$(fetch_unpack $kcand) || exit $?
else
	ktree=$(cached_tree "linux-image-")
	[ -n "$ktree" ] ||
	    unavailable "$META: no kernel package known to apt-cache"
	kcand=${ktree##*/}
fi
kver=$(ls "$ktree/lib/modules" | head -n 1)
vmlinuz=$ktree/boot/vmlinuz-$kver
config=$ktree/boot/config-$kver
moddir=$ktree/lib/modules/$kver
[ -f "$vmlinuz" ] || die "$ktree: no vmlinuz for $kver"
[ -f "$config" ] || die "$ktree: no kernel config for $kver"

# Busybox: the installed busybox-static, else the package unpacked.
bbstat=$(dpkg-query -W -f '${Status} ${Version}' busybox-static \
    2>/dev/null || true)
case $bbstat in
'install ok installed '*)
	busybox=/bin/busybox
	bbver=${bbstat##* }
	;;
*)
	bbcand=$(candidate busybox-static)
	if [ -z "$bbcand" ] && apt_update_once; then
		bbcand=$(candidate busybox-static)
	fi
	if [ -n "$bbcand" ]; then
		bbtree=$(fetch_unpack $bbcand) || exit $?
	else
		bbtree=$(cached_tree busybox-static_)
		[ -n "$bbtree" ] ||
		    unavailable "busybox-static: not installed," \
		    "not known to apt-cache"
	fi
	busybox=$bbtree/bin/busybox
	bbver=${bbtree##*/}
	;;
esac
[ -x "$busybox" ] || die "$busybox: missing"

# Everything the output depends on; equal keys mean nothing to do.
key=$( {
	echo "$kcand $kver busybox-static $bbver"
	cat "$0" "$here/lib.sh" "$here/init.sh" "$here/guest-test.sh"
} | sha256sum | cut -d' ' -f1)
if [ -f "$out/vmlinuz" ] && [ -f "$out/initramfs.cpio.gz" ] &&
    [ "$(cat "$out/stamp" 2>/dev/null)" = "$key" ]; then
	echo "mkinitramfs: $out: up to date ($kver)"
	exit 0
fi

build=$out/.build.$$
trap 'rm -rf "$build"' EXIT INT TERM
rm -rf "$build"
root=$build/root
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
    "$root/lib/modules" "$root/etc" "$root/proc" "$root/sys" \
    "$root/dev" "$root/tmp" "$root/mnt"

cp "$busybox" "$root/bin/busybox"
for app in $("$busybox" --list-full); do
	[ -e "$root/$app" ] || ln -s /bin/busybox "$root/$app"
done
cp "$here/init.sh" "$root/init"
cp "$here/guest-test.sh" "$here/lib.sh" "$root/"
chmod 755 "$root/init" "$root/guest-test.sh"

# A module is needed unless the kernel has it built in.
is_builtin()
{
	grep -q "/$1\.ko" "$moddir/modules.builtin" 2>/dev/null
}

# Copy module $1 into the initramfs uncompressed (busybox insmod is not
# trusted to decompress) and print its dependencies.
take_module()
{
	f=$(find "$moddir/kernel" \( -name "$1.ko*" -o \
	    -name "$(echo "$1" | tr _ -).ko*" \) | head -n 1)
	[ -n "$f" ] || die "$kver: module $1 not found"
	dst=$root/lib/modules/$1.ko
	case $f in
	*.ko)		cp "$f" "$dst" ;;
	*.ko.xz)	xz -dc "$f" >"$dst" 2>/dev/null ||
			    "$busybox" xz -dc "$f" >"$dst" ;;
	*.ko.gz)	gzip -dc "$f" >"$dst" ;;
	*.ko.zst)	zstd -qdc "$f" >"$dst" ;;
	*)		die "$f: unknown module compression" ;;
	esac || die "$f: cannot decompress"
	tr '\0' '\n' <"$dst" | sed -n 's/^depends=//p' | head -n 1 | tr , ' '
}

want=$WANT_MODULES
if grep -q '^CONFIG_EXT2_FS=y' "$config" ||
    { grep -q '^CONFIG_EXT4_FS=y' "$config" &&
    grep -q '^CONFIG_EXT4_USE_FOR_EXT2=y' "$config"; }; then
	:
elif grep -q '^CONFIG_EXT2_FS=m' "$config"; then
	want="$want ext2"
elif grep -q '^CONFIG_EXT4_FS=m' "$config"; then
	want="$want ext4"
else
	die "$kver: no ext2 or ext4 file system"
fi
grep -q '^CONFIG_CRYPTO_CRC32C=m' "$config" && want="$want crc32c_generic"

# The closure of $want under "depends", then an order in which each
# module follows everything it depends on.
todo=$want
have=
deps=$build/deps
: >"$deps"
while :; do
	set -- $todo
	[ $# -gt 0 ] || break
	m=$1
	shift
	todo=$*
	case " $have " in *" $m "*) continue ;; esac
	is_builtin "$m" && continue
	have="$have $m"
	d=$(take_module "$m") || exit 1
	echo "$m $d" >>"$deps"
	todo="$todo $d"
done
order=
left=$have
while [ -n "$left" ]; do
	next=
	progress=0
	for m in $left; do
		ready=1
		for d in $(sed -n "s/^$m //p" "$deps"); do
			case " $have " in *" $d "*) ;; *) continue ;; esac
			case " $order " in *" $d "*) ;; *) ready=0 ;; esac
		done
		if [ "$ready" -eq 1 ]; then
			order="$order $m"
			progress=1
		else
			next="$next $m"
		fi
	done
	[ "$progress" -eq 1 ] || die "$kver: module dependency loop:$next"
	left=$next
done
echo $order >"$root/etc/modules"

(cd "$root" && find . | LC_ALL=C sort |
    if command -v cpio >/dev/null; then
	cpio -o -H newc -R 0:0 --quiet
    else
	"$busybox" cpio -o -H newc -R 0:0
    fi) | gzip -9n >"$build/initramfs.cpio.gz" || die "cpio failed"

cp "$vmlinuz" "$build/vmlinuz"
rm -f "$out/stamp"
mv "$build/vmlinuz" "$out/vmlinuz"
mv "$build/initramfs.cpio.gz" "$out/initramfs.cpio.gz"
echo "$key" >"$out/stamp"
echo "mkinitramfs: $out: kernel $kver, modules:$order"
