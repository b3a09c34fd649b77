#!/bin/bash
# The arm64 libraries the cross-built privmem-caps and collections link (make ARCH=arm64):
# bookworm's libjansson-dev:arm64 and libnuma-dev:arm64, linked statically, downloaded through
# the private apt configuration of scripts/lib/debian-apt.sh (never by adding arm64 to this machine's dpkg) and unpacked:
#   scripts/arm64-sysroot.sh SYSROOT      -> SYSROOT/usr/{include,lib/aarch64-linux-gnu}, SYSROOT/.ready
# Exit 0, or 1 with one line saying why.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${PRIVMEM_CACHE:-/var/cache/privmem}
die() { echo "arm64-sysroot: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 SYSROOT"
out=$1
[ -r "$out/.ready" ] && exit 0
# shellcheck source=lib/debian-apt.sh
. "$top/scripts/lib/debian-apt.sh"
debian_apt_update || die "the private apt configuration cannot update (no mirror?)"
rm -rf "$out" && mkdir -p "$out" || die "cannot create $out"
for p in libjansson-dev:arm64 libnuma-dev:arm64; do
	deb=$(debian_apt_download "$p" "$(debian_host_suite)") || die "cannot download $p"
	dpkg-deb -x "$deb" "$out" || die "cannot unpack $deb"
done
# Static archives only: the lab's initramfs carries glibc, not these.
rm -f "$out"/usr/lib/aarch64-linux-gnu/*.so
for a in libjansson.a libnuma.a; do
	[ -r "$out/usr/lib/aarch64-linux-gnu/$a" ] || die "$out has no $a"
done
touch "$out/.ready"
