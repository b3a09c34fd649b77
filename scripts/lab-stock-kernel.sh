#!/bin/bash
# Unpack a Debian stock kernel for the lab, without installing it on this machine:
#   scripts/lab-stock-kernel.sh 6.1     # bookworm's newest linux-image-6.1.0-N-amd64 (this
#                                       # machine's apt sources)
#   scripts/lab-stock-kernel.sh 7.2 [amd64|arm64]   # sid's newest 7.2.N kernel of that
#                                       # architecture (default amd64): linux-binary-*-ARCH
#                                       # (vmlinuz; arm64: an uncompressed Image), linux-modules-*,
#                                       # linux-base-* (config), through the private apt config of
#                                       # scripts/lib/debian-apt.sh
# unpacks it with dpkg-deb into
#   ${PRIVMEM_CACHE:-/var/cache/privmem}/stock-<package>-<version>/{vmlinuz,modules/,release,config}
# (the package name ends in the architecture) and prints that directory. Cached. Exit 0, or 1
# with one line saying why.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${PRIVMEM_CACHE:-/var/cache/privmem}
me=lab-stock-kernel
die() { echo "$me: $*" >&2; exit 1; }
[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: $0 6.1|7.2 [amd64|arm64]"
series=$1 arch=${2:-amd64}
case "$arch" in
amd64|x86_64) arch=amd64 ;;
arm64|aarch64) arch=arm64 ;;
*) die "architectures known: amd64, arm64, not '$arch'" ;;
esac
case "$series" in
6.1)
	[ "$arch" = amd64 ] || die "stock 6.1 is amd64 only here (arm64: a 7.x kernel from sid)"
	pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null | cut -d' ' -f1 | sort -V | tail -n 1)
	[ -n "$pkg" ] || die "no linux-image-6.1.0-*-amd64 package known to apt (apt-get update?)"
	ver=$(apt-cache policy "$pkg" | sed -n 's/^ *Candidate: //p')
	pkgs=$pkg ;;
7.*)
	# shellcheck source=lib/debian-apt.sh
	. "$top/scripts/lib/debian-apt.sh"
	mkdir -p "$cache" || die "cannot create $cache (run as root, or set PRIVMEM_CACHE)"
	# Since 7.2 linux-image-* is a metapackage: the image is linux-binary-*, the modules and the
	# config come in their own packages. When the mirror is out of reach or sid has moved on to a
	# newer series, the newest one in the cache is used (said on stderr).
	if ! { debian_apt_update && pkg=$(debian_apt_newest "linux-binary-${series//./\\.}\\.[0-9]+\\+deb[0-9]+-$arch") &&
	       ver=$(debian_apt_version "$pkg:$arch"); }; then
		kept=$(ls -1d "$cache"/stock-linux-binary-"$series".*-"$arch"-*/vmlinuz 2>/dev/null | sort -V | tail -n 1)
		[ -n "$kept" ] || die "sid has no stock $series $arch kernel and none is cached"
		echo "$me: sid offers no stock $series kernel now; using the cached $(dirname "$kept")" >&2
		dirname "$kept"
		exit 0
	fi
	pkgs="$pkg ${pkg/binary/modules} ${pkg/binary/base}" ;;
*) die "stock kernels known: 6.1 (bookworm), 7.x (sid), not '$series'" ;;
esac
out=$cache/stock-$pkg-$ver
# One unpacking at a time (side-by-side labs may want the same kernel); the next one finds it.
mkdir -p "$cache" || die "cannot create $cache (run as root, or set PRIVMEM_CACHE)"
exec 8>"$cache/.stock-kernel.lock" && flock 8 || die "cannot lock $cache/.stock-kernel.lock"
if [ -r "$out/vmlinuz" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$cache" || die "cannot create $cache (run as root, or set PRIVMEM_CACHE)"
tmp=$out.tmp
rm -rf "$tmp" && mkdir -p "$tmp/deb" "$tmp/x" || die "cannot create $tmp"
for p in $pkgs; do
	if [ "$series" = 6.1 ]; then
		(cd "$tmp/deb" && apt-get download -q "$p" >>"$tmp/download.log" 2>&1) || die "apt-get download $p failed, see $tmp/download.log"
		deb=$(ls "$tmp"/deb/"$p"_*.deb)
	else
		deb=$(debian_apt_download "$p:$arch") || exit 1
	fi
	dpkg-deb -x "$deb" "$tmp/x" || die "cannot unpack $p"
done
# bookworm: /lib/modules/<rel> and /boot/vmlinuz-<rel>; 7.x: /usr/lib/modules/<rel>/{vmlinuz,config}.
mods=$(ls -d "$tmp"/x/lib/modules/* "$tmp"/x/usr/lib/modules/* 2>/dev/null | head -n 1)
rel=$(basename "$mods" 2>/dev/null)
img=$tmp/x/boot/vmlinuz-$rel config=$tmp/x/boot/config-$rel
[ -r "$img" ] || img=$mods/vmlinuz
[ -r "$config" ] || config=$mods/config
[ -n "$rel" ] && [ -r "$img" ] && [ -d "$mods/kernel" ] || die "$pkgs hold no vmlinuz or modules"
mkdir -p "$out.new" && mv "$img" "$out.new/vmlinuz" || die "cannot move $pkg into place"
[ ! -r "$config" ] || mv "$config" "$out.new/config"
mv "$mods" "$out.new/modules" && echo "$rel" >"$out.new/release" || die "cannot move $pkg into place"
rm -rf "$tmp" "$out" && mv "$out.new" "$out" || die "cannot move $pkg into $out"
echo "$out"
