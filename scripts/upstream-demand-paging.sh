#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build the upstream KVM selftest demand_paging_test (tools/testing/selftests/kvm)
# so that the fault_in benchmark can run it next to its own figures
# (bench/fault_in/, --set demand_paging=OUTDIR/demand_paging_test).
#
#   scripts/upstream-demand-paging.sh [--kdir DIR] OUTDIR
#
# Source: the kernel tree DIR (its `make headers` output is made if missing), or
# else Debian's linux-source-6.12 tarball ($LINUX_SOURCE_TARBALL), of which only
# what the build needs is extracted into OUTDIR/work. Nothing of the test is
# copied into this repository: it is built where it lies.
#
# Leaves OUTDIR/demand_paging_test and OUTDIR/demand_paging_test.info (source,
# build seconds). Cached: does nothing when OUTDIR/demand_paging_test exists.
# Exit 0, or non-zero with one line on stderr saying why (logs in OUTDIR/work).
set -u

LINUX_SOURCE_TARBALL=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
me=upstream-demand-paging

die() {
	echo "$me: $*" >&2
	exit 1
}

kdir=
while [ $# -gt 0 ]; do
	case "$1" in
	--kdir) [ $# -ge 2 ] || die "--kdir wants a directory"; kdir=$2; shift 2 ;;
	--kdir=*) kdir=${1#--kdir=}; shift ;;
	-h|--help) sed -n '4,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || die "usage: $0 [--kdir DIR] OUTDIR"
mkdir -p "$1" || die "cannot create $1"
out=$(cd "$1" && pwd)
bin=$out/demand_paging_test
if [ -x "$bin" ]; then
	echo "$me: $bin exists (cached)"
	exit 0
fi
work=$out/work
mkdir -p "$work" || die "cannot create $work"
t0=$(date +%s)

# Only what `make headers` and the KVM selftest library need.
PARTS="Makefile Kbuild Kconfig scripts include arch/x86 usr
	tools/include tools/arch/x86/include tools/build tools/lib tools/scripts
	tools/testing/selftests/lib.mk tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h tools/testing/selftests/kselftest
	tools/testing/selftests/kvm tools/testing/selftests/rseq"

if [ -n "$kdir" ]; then
	src=$(cd "$kdir" 2>/dev/null && pwd) || die "--kdir $kdir: no such directory"
	origin="kernel tree $src"
else
	src=$work/linux-source-6.12
	origin="$LINUX_SOURCE_TARBALL"
	if [ ! -e "$src/.privmem-extracted" ]; then
		[ -r "$LINUX_SOURCE_TARBALL" ] ||
			die "$LINUX_SOURCE_TARBALL missing (apt-get install linux-source-6.12, or pass --kdir)"
		rm -rf "$src" "$work/extract.tmp" && mkdir -p "$work/extract.tmp" || die "cannot prepare $work"
		# shellcheck disable=SC2086 # PARTS is a word list
		tar -xJf "$LINUX_SOURCE_TARBALL" -C "$work/extract.tmp" \
			$(for p in $PARTS; do printf 'linux-source-6.12/%s ' "$p"; done) \
			>"$work/extract.log" 2>&1 ||
			die "extracting from $LINUX_SOURCE_TARBALL failed, see $work/extract.log"
		mv "$work/extract.tmp/linux-source-6.12" "$src" && rmdir "$work/extract.tmp" &&
			touch "$src/.privmem-extracted" || die "cannot move the extracted tree into $src"
	fi
fi
kvm=$src/tools/testing/selftests/kvm
[ -r "$kvm/demand_paging_test.c" ] || die "$kvm/demand_paging_test.c missing"

# The selftests include the uapi headers from <tree>/usr/include.
if [ ! -r "$src/usr/include/linux/kvm.h" ]; then
	make -s -C "$src" headers >"$work/headers.log" 2>&1 ||
		die "make headers in $src failed, see $work/headers.log"
fi

jobs=$(nproc 2>/dev/null || echo 1)
obj=$work/kvm-build
mkdir -p "$obj" || die "cannot create $obj"
make -C "$kvm" -j"$jobs" OUTPUT="$obj" "$obj/demand_paging_test" >"$work/build.log" 2>&1 ||
	die "building demand_paging_test failed ($(grep -m1 -i 'error' "$work/build.log" || echo "see $work/build.log"))"
[ -x "$obj/demand_paging_test" ] || die "the build left no $obj/demand_paging_test, see $work/build.log"

secs=$(($(date +%s) - t0))
printf 'source=%s\nbuild_seconds=%s\n' "$origin" "$secs" >"$bin.info.tmp" &&
	mv "$bin.info.tmp" "$bin.info" &&
	cp "$obj/demand_paging_test" "$bin.tmp" && mv "$bin.tmp" "$bin" ||
	die "cannot install $bin"
echo "$me: built $bin from $origin in ${secs}s"
