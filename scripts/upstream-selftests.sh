#!/bin/bash
# Build the upstream kernel selftests that are privmem's peer column (scripts/lab.sh --peers)
# as static binaries, from the same source tree as the lab kernel:
#   KVM (tools/testing/selftests/kvm): guest_memfd_test set_memory_region_test
#     pre_fault_memory_test private_mem_conversions_test private_mem_kvm_exits_test
#   mm: memfd_secret        memfd: memfd_test
#
#   scripts/upstream-selftests.sh [--src TREE | --series SERIES] [--jobs N] OUTDIR
#
# Source: the kernel tree TREE, or else Debian's linux-source-SERIES tarball (6.12 by default:
# $LINUX_SOURCE_TARBALL; 7.2, 7.3: scripts/lab-source.sh), of which only what the build needs is extracted into OUTDIR/work.
# Nothing is written into TREE (it may be the kept source of an out-of-tree kernel build,
# which must stay clean): the uapi headers come from `make O=OUTDIR/work/hdr headers`, the KVM
# and memfd tests are built with OUTPUT= in OUTDIR/work, and mm (whose Makefile generates files
# beside itself) from a copy of its few directories in OUTDIR/work/tree. TREE must be clean of
# in-tree builds (`make mrproper`). A tree kept by scripts/lab-kernel.sh is read under its lock.
# Leaves OUTDIR/{kvm,mm,memfd}/... (static, stripped), OUTDIR/list ("name relative-path" per
# test) and OUTDIR/info (source, build seconds). Cached: does nothing when every binary exists
# and OUTDIR/info names the same source (tree: path, version, hash of the selftest and uapi
# sources). Exit 0, or 1 with one line on stderr saying why (logs in OUTDIR/work).
# Needs gcc, make, libc6-dev and libcap-dev (static libc.a, libcap.a), rsync (make headers).
set -u
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
jobs=$(nproc 2>/dev/null || echo 1)
recipe=3
me=upstream-selftests
KVM_TESTS="guest_memfd_test set_memory_region_test pre_fault_memory_test
	private_mem_conversions_test private_mem_kvm_exits_test"
# Built when the tree has them (vm_types_test: 7.3).
KVM_OPTIONAL="vm_types_test"
series=6.12

die() { echo "$me: $*" >&2; exit 1; }
# The version a tree's Makefile names (what `make kernelversion` says, without running make there).
kver() { awk 'NR <= 10 && $2 == "=" { v[$1] = $3 } END { print v["VERSION"] "." v["PATCHLEVEL"] "." v["SUBLEVEL"] v["EXTRAVERSION"] }' "$1/Makefile"; }
srcarg=""
while [ $# -gt 0 ]; do
	case "$1" in
	--src) [ $# -ge 2 ] || die "--src wants a kernel tree"; srcarg=$2; shift 2 ;;
	--series) [ $# -ge 2 ] || die "--series wants a kernel series (6.12, 7.2, 7.3)"; series=$2; shift 2 ;;
	--jobs) [ $# -ge 2 ] || die "--jobs wants a number"; jobs=$2; shift 2 ;;
	-h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1 (try --help)" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || die "usage: $0 [--src TREE | --series SERIES] [--jobs N] OUTDIR"
case "$jobs" in ''|*[!0-9]*|0) die "--jobs wants a positive number" ;; esac
for t in make gcc readelf strip sha256sum; do command -v $t >/dev/null || die "$t missing: run 'make deps'"; done
[ -r /usr/include/sys/capability.h ] || die "libcap-dev missing (memfd_secret needs it): run 'make deps'"
mkdir -p "$1" || die "cannot create $1"
out=$(cd "$1" && pwd)
work=$out/work

# What the binaries depend on: the tree's selftest and uapi sources, or the tarball.
HASHED="tools/testing/selftests/kvm tools/testing/selftests/rseq tools/testing/selftests/mm
	tools/testing/selftests/memfd tools/testing/selftests/lib.mk tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h tools/include tools/arch/x86/include tools/build
	include/uapi arch/x86/include/uapi"
if [ -n "$srcarg" ]; then
	src=$(cd "$srcarg" 2>/dev/null && pwd) || die "--src $srcarg: no such directory"
	[ -r "$src/Makefile" ] && [ -d "$src/tools/testing/selftests/kvm" ] || die "--src $src is not a kernel tree"
	# scripts/lab-kernel.sh keeps its source beside <src>.lock and patches it for mutants.
	if [ -e "$src.lock" ]; then
		exec 9<"$src.lock" || die "cannot open $src.lock"
		flock -n -s 9 || { echo "$me: waiting for scripts/lab-kernel.sh's lock on $src" >&2; flock -s 9; }
		[ ! -e "$src/.privmem-applied" ] ||
			die "a mutant patch is applied to $src (interrupted lab-kernel.sh --patch?): run scripts/lab-kernel.sh to restore it"
	fi
	[ ! -e "$src/.config" ] && [ ! -d "$src/include/config" ] ||
		die "$src has an in-tree build (.config): 'make mrproper' there, or use a clean copy"
	version=$(kver "$src")
	# shellcheck disable=SC2086 # HASHED is a word list
	hash=$(cd "$src" && find $HASHED -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
	key="source=tree $src
version=$version
hash=$hash"
else
	if [ "$series" != 6.12 ]; then
		tarball=$("$(dirname "$0")/lab-source.sh" "$series" | head -n 1) || die "no linux-source-$series"
	fi
	[ -r "$tarball" ] || die "$tarball missing (apt-get install linux-source-$series, or pass --src)"
	key="source=tarball $tarball $(stat -c '%s %Y' "$tarball")"
fi
key="recipe=$recipe
$key"

# The tests: "name relative-path" (the KVM x86 directory is x86_64 before 6.14, x86 after).
list() {
	local t d
	for t in $KVM_TESTS; do
		for d in "" x86_64/ x86/; do
			[ -r "$src/tools/testing/selftests/kvm/$d$t.c" ] && { echo "$t kvm/$d$t"; continue 2; }
		done
		echo "$t kvm/$t"	# missing: the build says so
	done
	for t in $KVM_OPTIONAL; do
		for d in "" x86_64/ x86/; do
			[ -r "$src/tools/testing/selftests/kvm/$d$t.c" ] && echo "$t kvm/$d$t"
		done
	done
	echo "memfd_secret mm/memfd_secret"
	echo "memfd_test memfd/memfd_test"
}
complete() {
	local rel
	[ -r "$out/list" ] && [ -r "$out/info" ] || return 1
	[ "$(grep -vE '^(build_seconds|built)=' "$out/info")" = "$key" ] || return 1
	while read -r _ rel; do [ -x "$out/$rel" ] || return 1; done <"$out/list"
}
if complete; then
	echo "$me: $out is built from the same source (cached)"
	exit 0
fi

t0=$(date +%s)
rm -rf "$out/kvm" "$out/mm" "$out/memfd" "$out/list" "$out/info" "$work/hdr" "$work/build" "$work/tree" "$work/try-run" ||
	die "cannot clear $out"
mkdir -p "$work/build/kvm" "$work/build/mm" "$work/build/memfd" || die "cannot create $work/build"

# Only what `make headers` and the selftests need (all of selftests/: the KVM tests of 7.x
# include the cgroup and clone3 ones, and their vfio library the driver headers it links to).
PARTS="Makefile Kbuild Kconfig scripts include arch/x86 usr mm/*.h
	tools/include tools/arch/x86/include tools/build tools/lib tools/scripts tools/testing/selftests
	drivers/dma/ioat/*.h drivers/dma/idxd/*.h drivers/net/ethernet/intel/igb/*.h"
if [ -z "$srcarg" ]; then
	src=$work/linux-source-$series
	origin=$tarball
	if [ "$(cat "$src/.privmem-extracted" 2>/dev/null)" != "$key" ]; then
		echo "$me: extracting the selftests from $tarball" >&2
		rm -rf "$src" "$work/extract.tmp" && mkdir -p "$work/extract.tmp" || die "cannot prepare $work"
		# shellcheck disable=SC2046,SC2086 # PARTS is a word list of patterns
		tar -xJf "$tarball" -C "$work/extract.tmp" --wildcards \
			$(for p in $PARTS; do printf 'linux-source-%s/%s ' "$series" "$p"; done) >"$work/extract.log" 2>&1 ||
			die "extracting from $tarball failed, see $work/extract.log"
		mv "$work/extract.tmp/linux-source-$series" "$src" && rmdir "$work/extract.tmp" &&
			echo "$key" >"$src/.privmem-extracted" || die "cannot move the extracted tree into $src"
	fi
	version=$(kver "$src")
else
	origin="kernel tree $src"
fi
st=$src/tools/testing/selftests
log=$work/build.log
: >"$log"
echo "$me: building the peers from $origin ($version, $jobs jobs; log: $log)" >&2

# uapi headers, out of tree.
make -s -C "$src" O="$work/hdr" headers >>"$log" 2>&1 ||
	die "make headers failed ($(grep -m1 -E 'error:|\*\*\*' "$log" || echo "see $log"))"
hdr=$work/hdr/usr/include
[ -r "$hdr/linux/kvm.h" ] || die "make headers left no $hdr/linux/kvm.h, see $log"
# USERLDFLAGS reaches every link (lib.mk); LINUX_HDR_PATH keeps a stale <tree>/usr/include out;
# TMPOUT moves build/Build.include's try-run scratch directory out of the tree.
common=(KHDR_INCLUDES="-isystem $hdr" LINUX_HDR_PATH="$hdr/" USERLDFLAGS=-static TMPOUT="$work/try-run")

# KVM: out of tree (OUTPUT=).
targets=()
while read -r _ rel; do
	case $rel in kvm/*) targets+=("$work/build/$rel") ;; esac
done < <(list)
make -C "$st/kvm" -j"$jobs" OUTPUT="$work/build/kvm" "${common[@]}" "${targets[@]}" >>"$log" 2>&1 ||
	die "building the KVM selftests failed ($(grep -m1 -E 'error:|\*\*\*' "$log" || echo "see $log"))"
# memfd: out of tree too.
make -C "$st/memfd" OUTPUT="$work/build/memfd" "${common[@]}" "$work/build/memfd/memfd_test" >>"$log" 2>&1 ||
	die "building memfd_test failed ($(grep -m1 -E 'error:|\*\*\*' "$log" || echo "see $log"))"
# mm: its Makefile writes local_config.{mk,h} beside itself, so build it from a copy.
tree=$work/tree
mkdir -p "$tree/mm" && (cd "$src" && cp -R --parents tools/testing/selftests/lib.mk tools/testing/selftests/kselftest.h \
	tools/testing/selftests/kselftest_harness.h tools/testing/selftests/kselftest tools/testing/selftests/mm \
	tools/testing/selftests/x86 tools/include tools/arch/x86/include tools/build tools/scripts "$tree/") &&
	{ cp "$src"/mm/*.h "$tree/mm/" 2>/dev/null; chmod -R u+w "$tree"; } || die "cannot copy the mm selftests into $tree"
make -C "$tree/tools/testing/selftests/mm" OUTPUT="$work/build/mm" "${common[@]}" "$work/build/mm/memfd_secret" >>"$log" 2>&1 ||
	die "building memfd_secret failed ($(grep -m1 -E 'error:|\*\*\*' "$log" || echo "see $log"))"

# Install: static (the lab's initramfs has no libc of its own for them), stripped.
list >"$work/list"
while read -r _ rel; do
	b=$work/build/$rel
	[ -x "$b" ] || die "the build left no $b, see $log"
	! readelf -lW "$b" 2>/dev/null | grep -q 'program interpreter' || die "$b is not statically linked, see $log"
	mkdir -p "$(dirname "$out/$rel")" && strip -o "$out/$rel" "$b" || die "cannot install $out/$rel"
done <"$work/list"
secs=$(($(date +%s) - t0))
mv "$work/list" "$out/list" && printf '%s\nbuild_seconds=%s\nbuilt=%s\n' "$key" "$secs" "$(date -u +%FT%TZ)" >"$out/info" ||
	die "cannot write $out/list"
echo "$me: built $(wc -l <"$out/list") peers from $origin ($version) in ${secs}s into $out"
