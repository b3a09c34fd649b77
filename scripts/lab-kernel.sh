#!/bin/bash
# Build (or reuse) the lab kernel: a bzImage from Debian's linux-source-6.12 (--source 7.3:
# linux-source-7.3 from experimental, scripts/lab-source.sh; or a kernel tree) with x86_64_defconfig + platforms/lab-kernel.config, for booting under QEMU TCG.
#
#   scripts/lab-kernel.sh [--source SERIES] [--kdir DIR] [--cache DIR] [--jobs N] [--kasan] [--patch FILE]
#
# The build is cached outside the clone, keyed by the source and the config fragment(s):
#   ${PRIVMEM_CACHE:-/var/cache/privmem}/kernel-<source>[-kasan]-<hash>/{bzImage,config,info}
# so later runs and fresh clones on this machine reuse it. The object directory is kept
# beside it (obj-<source>[-kasan]-<hash>/): one full build serves the lab kernel and every
# mutant (--patch), which rebuilds only the files the patch touches.
# --kasan adds platforms/lab-kernel-kasan.config (KASAN, PROVE_LOCKING, DEBUG_VM): a second
# kernel with its own object directory.
# --patch FILE: the pristine source plus FILE (patch -p1), built incrementally in the kept
# object directory, cached as mutant-<hash>/bzImage; the source is restored afterwards (also
# after an interrupted run: the next run restores it first). Source and objects are locked
# while a build runs, so concurrent runs take turns.
# A --kdir tree is what a kernel developer edits: it is built out of tree (O=) in a kept
# object directory keyed by the tree's path and the fragment, and `make bzImage` runs every
# time, so only what changed is rebuilt (the tree itself must be clean of in-tree builds:
# `make mrproper` there, or give lab.sh --kernel your own bzImage). Prints the bzImage path on
# stdout (progress on stderr). Exit 0, or 1 with one line saying why (log kept).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${PRIVMEM_CACHE:-/var/cache/privmem}
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
series=6.12
fragments=("$top/platforms/lab-kernel.config")
jobs=$(nproc)
kdir="" patchfile="" kasan=0
me=lab-kernel

die() { echo "$me: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case "$1" in
	--kdir) [ $# -ge 2 ] || die "--kdir wants a kernel tree"; kdir=$2; shift ;;
	--source) [ $# -ge 2 ] || die "--source wants a series (6.12, 7.3)"; series=$2; shift ;;
	--cache) [ $# -ge 2 ] || die "--cache wants a directory"; cache=$2; shift ;;
	--jobs) [ $# -ge 2 ] || die "--jobs wants a number"; jobs=$2; shift ;;
	--kasan) kasan=1 ;;
	--patch) [ $# -ge 2 ] || die "--patch wants a patch file"; patchfile=$2; shift ;;
	-h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
case "$jobs" in ''|*[!0-9]*|0) die "--jobs wants a positive number" ;; esac
[ "$kasan" = 0 ] || fragments+=("$top/platforms/lab-kernel-kasan.config")
for f in "${fragments[@]}"; do [ -r "$f" ] || die "$f missing"; done
if [ -n "$patchfile" ]; then
	[ -z "$kdir" ] || die "--patch applies to a linux-source tree, not to --kdir (patch your tree instead)"
	[ -r "$patchfile" ] && [ -s "$patchfile" ] || die "--patch $patchfile: no such (non-empty) file"
	patchfile=$(cd "$(dirname "$patchfile")" && pwd)/$(basename "$patchfile")
fi
for t in make gcc flex bison bc cpio patch flock; do
	command -v $t >/dev/null || die "$t missing: run 'make deps'"
done

# What the build depends on: the source (package version or tree + kernel version)
# and the fragments (and this recipe's version).
recipe=2
variant=$([ "$kasan" = 1 ] && echo -kasan)
if [ -n "$kdir" ]; then
	src=$(cd "$kdir" 2>/dev/null && pwd) || die "--kdir $kdir: no such directory"
	[ -r "$src/Makefile" ] && [ -d "$src/arch/x86" ] || die "--kdir $src is not a kernel tree"
	srcid="tree-$(make -s -C "$src" kernelversion 2>/dev/null || echo unknown)"
	keysrc=$src
else
	if [ "$series" = 6.12 ]; then
		[ -r "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.12, or pass --kdir)"
		srcid="debian-$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null || echo unknown)"
	else
		{ read -r tarball; read -r ver; } < <("$top/scripts/lab-source.sh" "$series") && [ -r "$tarball" ] ||
			die "no linux-source-$series tarball"
		srcid="debian-$ver"
	fi
	keysrc=$srcid
	src=$cache/src-$srcid$variant	# the KASAN lane has its own, so both lanes can build at once
fi
hash=$( { echo "recipe $recipe"; echo "$keysrc"; cat "${fragments[@]}"; } | sha256sum | cut -c1-12)
out=$cache/kernel-$srcid$variant-$hash
obj=$cache/obj-$srcid$variant-$hash
[ -z "$kdir" ] || obj=$cache/obj-tree$variant-$hash

# Every option the fragments want must be in $obj/.config (kconfig drops what it cannot satisfy).
check_fragment() {
	local missing
	missing=$(grep -hE '^CONFIG_[A-Z0-9_]+=y' "${fragments[@]}" | while read -r l; do
		grep -qx "$l" "$obj/.config" || echo "${l%%=*}"
	done)
	[ -z "$missing" ] || die "the config lacks $(echo $missing) after olddefconfig (dependencies?), see $obj/.config"
}
# x86_64_defconfig + the fragments in $obj, from $src; output appended to $log.
configure() {
	echo "$me: configuring $src (x86_64_defconfig + $(basename -a "${fragments[@]}" | tr '\n' ' ')) in $obj" >&2
	{
		make -C "$src" O="$obj" x86_64_defconfig &&
		"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "${fragments[@]}" &&
		make -C "$src" O="$obj" olddefconfig
	} >>"$log" 2>&1 || die "configuring $src failed, see $log"
	check_fragment
}
build() {
	make -C "$src" O="$obj" -j"$jobs" bzImage >>"$log" 2>&1 ||
		die "kernel build failed ($(grep -m1 -E 'error|Error|not clean' "$log" || echo "see $log"))"
}
# (Re)configure when the object directory has no config or a fragment is newer.
configure_if_needed() {
	local f
	for f in "${fragments[@]}"; do [ -r "$obj/.config" ] && [ ! "$f" -nt "$obj/.config" ] || { configure; return; }; done
	check_fragment
}

mkdir -p "$cache" || die "cannot create $cache (run as root, or set PRIVMEM_CACHE)"
if [ -n "$kdir" ]; then
	mkdir -p "$obj" || die "cannot create $obj"
	log=$obj/privmem-build.log
	: >"$log"
	t0=$(date +%s)
	configure_if_needed
	echo "$me: building $src (incremental, $jobs jobs; log: $log)" >&2
	build
	echo "$me: $obj/arch/x86/boot/bzImage ready in $(($(date +%s) - t0))s" >&2
	echo "$obj/arch/x86/boot/bzImage"
	exit 0
fi

# The kept source and object directories are shared by the lab kernel and every mutant:
# one build at a time.
exec 9>"$src.lock" || die "cannot create $src.lock"
flock 9
applied=$src/.privmem-applied	# the backup directory of a patch that is (or was) applied
# Put back the files a patch changed (cp gives them a new mtime, so make rebuilds them).
restore_source() {
	[ -e "$applied" ] || return 0
	local bak
	bak=$(cat "$applied")
	if [ -d "$bak" ]; then
		(cd "$bak" && find . -type f) | while read -r f; do
			if [ -s "$bak/$f" ]; then cp "$bak/$f" "$src/$f"; else rm -f "$src/$f"; fi
		done || die "cannot restore $src from $bak"
		rm -rf "$bak"
	fi
	rm -f "$applied"
}
if [ ! -e "$src/.privmem-extracted" ]; then
	echo "$me: extracting $tarball into $src" >&2
	rm -rf "$src" "$src.tmp" && mkdir -p "$src.tmp" || die "cannot create $src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" >"$cache/extract.log" 2>&1 || die "extracting $tarball failed, see $cache/extract.log"
	mv "$src.tmp/linux-source-$series" "$src" && rmdir "$src.tmp" && touch "$src/.privmem-extracted" ||
		die "cannot move the source into $src"
fi
restore_source
# Checksums of the pristine source where mutants live, taken once: a mutant build checks the
# files its patch touches before applying it and after restoring them.
sums=$src/.privmem-sums
if [ ! -s "$sums" ]; then
	(cd "$src" && find virt arch/x86/kvm mm include fs kernel -type f -print0 | xargs -0 sha256sum) >"$sums.tmp" &&
		mv "$sums.tmp" "$sums" || die "cannot checksum $src"
fi
# pristine_check FILE...: each is in the checksums and unchanged.
pristine_check() {
	local f
	for f in "$@"; do
		grep -q "  $f\$" "$sums" || die "$f is outside the checksummed areas of $src"
		grep "  $f\$" "$sums" | (cd "$src" && sha256sum -c --quiet >/dev/null 2>&1) ||
			die "$src/$f differs from the pristine tree (a mutant left behind?): extract it again (rm -rf $src)"
	done
}

if [ -n "$patchfile" ]; then
	phash=$( { cat "$patchfile"; echo "$out"; } | sha256sum | cut -c1-12)
	mout=$cache/mutant$variant-$phash
	if [ -r "$mout/bzImage" ]; then
		echo "$me: cached $mout/bzImage" >&2
		echo "$mout/bzImage"
		exit 0
	fi
	[ -r "$obj/.config" ] && [ -r "$out/bzImage" ] || die "no pristine build in $obj yet: run scripts/lab-kernel.sh${variant:+ --kasan} first"
	rm -rf "$mout.tmp" && mkdir -p "$mout.tmp/orig" || die "cannot create $mout.tmp"
	log=$mout.tmp/build.log
	echo "$mout.tmp/orig" >"$applied"
	trap 'restore_source' EXIT
	trap 'exit 130' INT TERM
	touched=$(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$patchfile")
	# shellcheck disable=SC2086 # one path per word
	pristine_check $touched
	# -b -B: every changed file's original goes to orig/ (empty: new file).
	(cd "$src" && patch -p1 --forward --batch -b -B "$mout.tmp/orig/" <"$patchfile") >"$log" 2>&1 ||
		die "$(basename "$patchfile") does not apply to the pristine $srcid tree, see $log"
	t0=$(date +%s)
	configure_if_needed
	echo "$me: building $(basename "$patchfile") (incremental in $obj; log: $log)" >&2
	build
	cp "$obj/arch/x86/boot/bzImage" "$mout.tmp/bzImage" || die "cannot copy the bzImage"
	printf 'patch=%s\nbuild_seconds=%s\n' "$patchfile" "$(($(date +%s) - t0))" >"$mout.tmp/info"
	restore_source	# puts orig/ back and removes it
	# shellcheck disable=SC2086
	pristine_check $touched
	# The restored files are newer than their objects: the next build (a mutant, or the pristine
	# kernel if its cached bzImage is gone) recompiles them.
	rm -rf "$mout" && mv "$mout.tmp" "$mout" || die "cannot move the build into $mout"
	echo "$me: built $mout/bzImage in $(sed -n 's/^build_seconds=//p' "$mout/info")s" >&2
	echo "$mout/bzImage"
	exit 0
fi

if [ -r "$out/bzImage" ]; then
	echo "$me: cached $out/bzImage ($(sed -n 's/^build_seconds=//p' "$out/info" 2>/dev/null || echo '?') s to build)" >&2
	echo "$out/bzImage"
	exit 0
fi
work=$out.tmp
rm -rf "$work" && mkdir -p "$work" "$obj" || die "cannot create $work"
log=$work/build.log
t0=$(date +%s)
configure_if_needed
echo "$me: building bzImage with $jobs jobs (about 17 min on 2 CPUs${variant:+, longer with KASAN}; objects kept in $obj; log: $log)" >&2
build
secs=$(($(date +%s) - t0))
cp "$obj/arch/x86/boot/bzImage" "$work/bzImage" && cp "$obj/.config" "$work/config" ||
	die "cannot copy the build results"
printf 'source=%s\nfragment_hash=%s\nbuild_seconds=%s\nkernelrelease=%s\nobj=%s\n' "$srcid$variant" "$hash" "$secs" \
	"$(cat "$obj/include/config/kernel.release" 2>/dev/null)" "$obj" >"$work/info"
rm -rf "$out" && mv "$work" "$out" || die "cannot move the build into $out"
echo "$me: built $out/bzImage in ${secs}s" >&2
echo "$out/bzImage"
