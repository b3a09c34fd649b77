#!/bin/bash
# Build (or reuse) the lab kernel: a bzImage from Debian's linux-source-6.12 (or a kernel
# tree) with x86_64_defconfig + platforms/lab-kernel.config, for booting under QEMU TCG.
#
#   scripts/lab-kernel.sh [--kdir DIR] [--cache DIR] [--jobs N]
#
# The build is cached outside the clone, keyed by the source and the config fragment:
#   ${PRIVMEM_CACHE:-/var/cache/privmem}/kernel-<source>-<hash>/{bzImage,config,build.log,info}
# so later runs and fresh clones on this machine reuse it. A --kdir tree is what a kernel
# developer edits: it is built out of tree (O=) in a kept object directory keyed by the
# tree's path and the fragment, and `make bzImage` runs every time, so only what changed
# is rebuilt (the tree itself must be clean of in-tree builds: `make mrproper` there, or
# give lab.sh --kernel your own bzImage). Prints the bzImage path on stdout (progress on
# stderr). Exit 0, or 1 with one line saying why (log kept).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${PRIVMEM_CACHE:-/var/cache/privmem}
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
fragment=$top/platforms/lab-kernel.config
jobs=$(nproc)
kdir=
me=lab-kernel

die() { echo "$me: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case "$1" in
	--kdir) [ $# -ge 2 ] || die "--kdir wants a kernel tree"; kdir=$2; shift ;;
	--cache) [ $# -ge 2 ] || die "--cache wants a directory"; cache=$2; shift ;;
	--jobs) [ $# -ge 2 ] || die "--jobs wants a number"; jobs=$2; shift ;;
	-h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
case "$jobs" in ''|*[!0-9]*|0) die "--jobs wants a positive number" ;; esac
[ -r "$fragment" ] || die "$fragment missing"
for t in make gcc flex bison bc cpio; do
	command -v $t >/dev/null || die "$t missing: run 'make deps' (as root)"
done

# What the build depends on: the source (package version or tree + kernel version)
# and the fragment (and this recipe's version).
recipe=1
if [ -n "$kdir" ]; then
	src=$(cd "$kdir" 2>/dev/null && pwd) || die "--kdir $kdir: no such directory"
	[ -r "$src/Makefile" ] && [ -d "$src/arch/x86" ] || die "--kdir $src is not a kernel tree"
	srcid="tree-$(make -s -C "$src" kernelversion 2>/dev/null || echo unknown)"
	srckey="$src $(cd "$src" && git rev-parse HEAD 2>/dev/null || stat -c %Y Makefile)"
else
	[ -r "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.12, or pass --kdir)"
	srcid="debian-$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null || echo unknown)"
	srckey="$srcid"
fi
hash=$( { echo "recipe $recipe"; echo "$srckey"; cat "$fragment"; } | sha256sum | cut -c1-12)
out=$cache/kernel-$srcid-$hash
# Every option the fragment wants must be in $obj/.config (kconfig drops what it cannot satisfy).
check_fragment() {
	local missing
	missing=$(grep -E '^CONFIG_[A-Z0-9_]+=y' "$fragment" | while read -r l; do
		grep -qx "$l" "$obj/.config" || echo "${l%%=*}"
	done)
	[ -z "$missing" ] || die "the config lacks $(echo $missing) after olddefconfig (dependencies?), see $obj/.config"
}
# x86_64_defconfig + the fragment in $obj, from $src; output appended to $log.
configure() {
	echo "$me: configuring $src (x86_64_defconfig + $(basename "$fragment")) in $obj" >&2
	{
		make -C "$src" O="$obj" x86_64_defconfig &&
		"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$fragment" &&
		make -C "$src" O="$obj" olddefconfig
	} >>"$log" 2>&1 || die "configuring $src failed, see $log"
	check_fragment
}
build() {
	make -C "$src" O="$obj" -j"$jobs" bzImage >>"$log" 2>&1 ||
		die "kernel build failed ($(grep -m1 -E 'error|Error|not clean' "$log" || echo "see $log"))"
}

if [ -n "$kdir" ]; then
	hash=$( { echo "recipe $recipe"; echo "$src"; cat "$fragment"; } | sha256sum | cut -c1-12)
	obj=$cache/obj-tree-$hash
	mkdir -p "$obj" || die "cannot create $obj (run as root, or set PRIVMEM_CACHE)"
	log=$obj/privmem-build.log
	: >"$log"
	t0=$(date +%s)
	if [ ! -r "$obj/.config" ] || [ "$fragment" -nt "$obj/.config" ]; then
		configure
	else
		check_fragment
	fi
	echo "$me: building $src (incremental, $jobs jobs; log: $log)" >&2
	build
	echo "$me: $obj/arch/x86/boot/bzImage ready in $(($(date +%s) - t0))s" >&2
	echo "$obj/arch/x86/boot/bzImage"
	exit 0
fi
if [ -r "$out/bzImage" ]; then
	echo "$me: cached $out/bzImage ($(sed -n 's/^build_seconds=//p' "$out/info" 2>/dev/null || echo '?') s to build)" >&2
	echo "$out/bzImage"
	exit 0
fi
mkdir -p "$cache" || die "cannot create $cache (run as root, or set PRIVMEM_CACHE)"
work=$out.tmp
rm -rf "$work" && mkdir -p "$work" || die "cannot create $work"
log=$work/build.log
t0=$(date +%s)

src=$cache/src-$srcid
if [ ! -e "$src/.privmem-extracted" ]; then
	echo "$me: extracting $tarball into $src" >&2
	rm -rf "$src" "$src.tmp" && mkdir -p "$src.tmp" || die "cannot create $src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" >"$log" 2>&1 || die "extracting $tarball failed, see $log"
	mv "$src.tmp/linux-source-6.12" "$src" && rmdir "$src.tmp" && touch "$src/.privmem-extracted" ||
		die "cannot move the source into $src"
fi

obj=$work/obj
configure
echo "$me: building bzImage with $jobs jobs (about 17 min on 2 CPUs; log: $log)" >&2
build
secs=$(($(date +%s) - t0))
cp "$obj/arch/x86/boot/bzImage" "$work/bzImage" && cp "$obj/.config" "$work/config" ||
	die "cannot copy the build results"
printf 'source=%s\nfragment_hash=%s\nbuild_seconds=%s\nkernelrelease=%s\n' "$srcid" "$hash" "$secs" \
	"$(cat "$obj/include/config/kernel.release" 2>/dev/null)" >"$work/info"
rm -rf "$obj"	# ~1 GB of objects; the bzImage and config are what the lab needs
rm -rf "$out" && mv "$work" "$out" || die "cannot move the build into $out"
echo "$me: built $out/bzImage in ${secs}s" >&2
echo "$out/bzImage"
