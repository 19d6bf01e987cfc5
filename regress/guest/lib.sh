# Shared by the host scripts and the guest: the cache location and the
# data patterns both sides must reproduce byte for byte.  POSIX sh; in
# the guest every tool here is a busybox applet.

# Where downloaded packages, their unpacked trees and the built guest
# live, so that a second run needs no network and little time.
guest_cache_dir()
{
	if [ -n "${VIOBLK_GUEST_CACHE:-}" ]; then
		echo "$VIOBLK_GUEST_CACHE"
	elif [ -n "${XDG_CACHE_HOME:-}" ]; then
		echo "$XDG_CACHE_HOME/vioblk-guest"
	elif [ "$(id -u)" -eq 0 ] || [ -w /var/cache ]; then
		echo /var/cache/vioblk-guest
	else
		echo "${HOME:-/tmp}/.cache/vioblk-guest"
	fi
}

# Print BYTES bytes of a pattern named by SEED, an 8-digit number: the
# decimal numbers SEED, SEED+1, ... one per line.  Every 512-byte sector
# differs from every other, so a misplaced or stale sector shows, and
# GNU seq and busybox seq print the same text.
gen_pattern()
{
	seq "$1" 99999999 | head -c "$2"
}

# The sha256 of gen_pattern SEED BYTES.
pattern_sum()
{
	gen_pattern "$1" "$2" | sha256sum | cut -d' ' -f1
}
