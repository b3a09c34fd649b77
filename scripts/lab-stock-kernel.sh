#!/bin/bash
# Unpack a Debian stock kernel for the lab, without installing it on this machine:
#   scripts/lab-stock-kernel.sh 6.1
# downloads the newest linux-image-6.1.*-amd64 package (apt-get download, from this
# machine's configured Debian mirror), unpacks it with dpkg-deb into
#   ${PRIVMEM_CACHE:-/var/cache/privmem}/stock-<package version>/{vmlinuz,modules/}
# and prints that directory. Cached. Exit 0, or 1 with one line saying why.
set -u
cache=${PRIVMEM_CACHE:-/var/cache/privmem}
me=lab-stock-kernel
die() { echo "$me: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 6.1"
[ "$1" = 6.1 ] || die "only Debian's 6.1 stock kernel is known, not '$1'"
pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null | cut -d' ' -f1 | sort -V | tail -n 1)
[ -n "$pkg" ] || die "no linux-image-6.1.0-*-amd64 package known to apt (apt-get update?)"
ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
out=$cache/stock-$pkg-$ver
if [ -r "$out/vmlinuz" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$cache" || die "cannot create $cache (run as root, or set PRIVMEM_CACHE)"
tmp=$out.tmp
rm -rf "$tmp" && mkdir -p "$tmp/deb" "$tmp/x" || die "cannot create $tmp"
(cd "$tmp/deb" && apt-get download -q "$pkg" >"$tmp/download.log" 2>&1) || die "apt-get download $pkg failed, see $tmp/download.log"
dpkg-deb -x "$tmp"/deb/*.deb "$tmp/x" || die "cannot unpack $pkg"
rel=$(ls "$tmp/x/lib/modules" 2>/dev/null | head -n 1)
[ -n "$rel" ] && [ -r "$tmp/x/boot/vmlinuz-$rel" ] || die "$pkg has no /boot/vmlinuz or modules"
mkdir -p "$out.new" && mv "$tmp/x/boot/vmlinuz-$rel" "$out.new/vmlinuz" &&
	mv "$tmp/x/lib/modules/$rel" "$out.new/modules" && echo "$rel" >"$out.new/release" || die "cannot move $pkg into place"
rm -rf "$tmp" "$out" && mv "$out.new" "$out" || die "cannot move $pkg into $out"
echo "$out"
