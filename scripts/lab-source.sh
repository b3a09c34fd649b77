#!/bin/bash
# A Debian kernel source tarball for the lab, by series:
#   scripts/lab-source.sh 6.12     # bookworm's linux-source-6.12 (installed by make deps)
#   scripts/lab-source.sh 7.3      # linux-source-7.3 from sid/experimental (private apt config,
#                                  # scripts/lib/debian-apt.sh), unpacked into the cache, never installed
# Prints two lines: the tarball path and the package version. Cached:
#   ${PRIVMEM_CACHE:-/var/cache/privmem}/source-linux-source-<series>-<version>/linux-source-<series>.tar.xz
# Exit 0, or 1 with one line saying why.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${PRIVMEM_CACHE:-/var/cache/privmem}
me=lab-source
die() { echo "$me: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 SERIES (6.12, 7.2, 7.3)"
series=$1
[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || die "'$series' is not a kernel series (like 7.3)"
pkg=linux-source-$series
if [ "$series" = 6.12 ]; then
	t=/usr/src/$pkg.tar.xz
	[ -r "$t" ] || die "$t missing (apt-get install $pkg, or make deps)"
	echo "$t"
	dpkg-query -W -f '${Version}\n' "$pkg" 2>/dev/null || echo unknown
	exit 0
fi
# shellcheck source=lib/debian-apt.sh
. "$top/scripts/lib/debian-apt.sh"
mkdir -p "$cache" || die "cannot create $cache (run as root, or set PRIVMEM_CACHE)"
if ! { debian_apt_update && ver=$(debian_apt_version "$pkg"); }; then
	# Mirror out of reach, or the series left sid/experimental: the newest cached one (said so).
	kept=$(ls -1d "$cache"/source-"$pkg"-*/"$pkg".tar.xz 2>/dev/null | sort -V | tail -n 1)
	[ -n "$kept" ] || die "Debian's sid/experimental have no $pkg and none is cached"
	echo "$me: sid/experimental offer no $pkg now; using the cached $kept" >&2
	echo "$kept"
	basename "$(dirname "$kept")" | sed "s/^source-$pkg-//"
	exit 0
fi
out=$cache/source-$pkg-$ver
if [ ! -r "$out/$pkg.tar.xz" ]; then
	deb=$(debian_apt_download "$pkg") || exit 1
	rm -rf "$out.tmp" && mkdir -p "$out.tmp" && dpkg-deb -x "$deb" "$out.tmp/x" || die "cannot unpack $deb"
	mv "$out.tmp/x/usr/src/$pkg.tar.xz" "$out.tmp/" 2>/dev/null || die "$deb holds no usr/src/$pkg.tar.xz"
	rm -rf "$out.tmp/x" "$out" && mv "$out.tmp" "$out" || die "cannot move $pkg into $out"
	rm -f "$deb"	# the tarball is what is kept
fi
echo "$out/$pkg.tar.xz"
echo "$ver"
