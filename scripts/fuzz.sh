#!/bin/bash
# make fuzz: the model-based fuzzer (conformance/fuzz/) on this machine, with its results:
#   results/<stamp>-<host>-<kernel>-fuzz/  fuzz.log (the fuzzer's output), summary.json, and on a
#   divergence repro.c (the shrunk sequence, standalone on lib/), repro.log (its run), kmsg.txt
#
#   scripts/fuzz.sh [--platform NAME] [--seed N] [--ops N] [--episode N] [--race] [--no-guest]
#                   [--results DIR] [--quiet]
#   scripts/fuzz.sh --build-repro FILE.c [--out BINARY]   build a reproducer (lib/ only)
#
# A divergence is reported with its seed, shrunk, written as repro.c, built and run: it must
# exit 1 (it diverges again) for the run to call the reproducer working. A kernel splat logged
# while the fuzzer ran (privmem-kmsg) is a failure too. Exit 0: no divergence and no splat; 1:
# a divergence or a splat; 4: the platform is absent (SKIP, the reason printed); 2: bad input.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${PRIVMEM_BUILD:-$top/build}
results=${RESULTS:-$top/results}
fuzz=$build/privmem-fuzz
platform=sw-default quiet=0 repro_src="" repro_out="" args=()

die() { echo "privmem fuzz: $*" >&2; exit 2; }
num() { case "$2" in ''|*[!0-9]*) die "$1 wants a number, got '$2'" ;; esac; }
while [ $# -gt 0 ]; do
	case "$1" in
	--platform) [ $# -ge 2 ] || die "--platform wants a name"; platform=$2; shift ;;
	--seed|--ops|--episode) [ $# -ge 2 ] || die "$1 wants a number"; num "$1" "$2"; args+=("$1" "$2"); shift ;;
	--race|--no-guest) args+=("$1") ;;
	--results) [ $# -ge 2 ] || die "--results wants a directory"; results=$2; shift ;;
	--quiet) quiet=1 ;;
	--build-repro) [ $# -ge 2 ] || die "--build-repro wants a reproducer .c file"; repro_src=$2; shift ;;
	--out) [ $# -ge 2 ] || die "--out wants a file"; repro_out=$2; shift ;;
	-h|--help) sed -n '2,/^set -u$/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done

# A reproducer is one C file on the VM library: compiled with lib/ (and the guest-code rules).
# KHDR: the uapi the suite was built against (the Makefile's; linux-source-6.12's by default).
build_repro() {	# <src> <out>
	local khdr=${PRIVMEM_KHDR:-$build/linux-source-6.12/usr/include}
	[ -r "$1" ] || die "no reproducer $1"
	[ -d "$khdr" ] || die "no uapi headers at $khdr (run 'make', or set PRIVMEM_KHDR)"
	gcc -std=gnu11 -O2 -Wall -Wextra -D_GNU_SOURCE= -fno-pie -fno-stack-protector \
		-fno-tree-loop-distribute-patterns -I"$top/lib" -isystem "$khdr" -no-pie -o "$2" "$1" \
		"$top"/lib/*.c "$top/lib/$(uname -m | sed 's/aarch64/arm64/')"/*.c -lpthread &&
		"$top/scripts/guest-check.sh" "$2"
}
if [ -n "$repro_src" ]; then
	build_repro "$repro_src" "${repro_out:-${repro_src%.c}}" || die "building $repro_src failed"
	exit 0
fi
[ -x "$fuzz" ] || die "not built: no $fuzz (run 'make')"

stamp=$(date -u +%Y%m%dT%H%M%SZ)-$(hostname -s)-$(uname -r)-fuzz
tmp=$results/.incomplete/$stamp final=$results/$stamp
[ ! -e "$final" ] || { stamp=$stamp-$$; tmp=$results/.incomplete/$stamp final=$results/$stamp; }	# two in one second
mkdir -p "$tmp" || die "cannot write to $results"
trap 'rm -rf "$tmp"; rmdir "$results/.incomplete" 2>/dev/null' EXIT
trap 'echo "privmem fuzz: interrupted; nothing written" >&2; exit 130' INT TERM
seq=$("$build/privmem-kmsg" mark 2>/dev/null) || seq=""
if [ "$quiet" = 1 ]; then
	"$fuzz" --platform "$platform" "${args[@]}" --json "$tmp/summary.json" --repro "$tmp/repro.c" >"$tmp/fuzz.log" 2>&1
	rc=$?
else
	"$fuzz" --platform "$platform" "${args[@]}" --json "$tmp/summary.json" --repro "$tmp/repro.c" 2>&1 | tee "$tmp/fuzz.log"
	rc=${PIPESTATUS[0]}
fi
case $rc in
0|1) ;;
4) grep '^SKIP' "$tmp/fuzz.log"; exit 4 ;;
*) cat "$tmp/fuzz.log" >&2; die "the fuzzer failed (exit $rc)" ;;
esac
splats=0
if [ -n "$seq" ]; then
	"$build/privmem-kmsg" since "$seq" >"$tmp/kmsg.txt" 2>/dev/null && splats=$(grep -c . "$tmp/kmsg.txt")
	[ "$splats" = 0 ] || { echo "kernel splat while the fuzzer ran:" >&2; cat "$tmp/kmsg.txt" >&2; }
fi
reproduces=null
if [ "$rc" = 1 ] && [ -r "$tmp/repro.c" ]; then
	if build_repro "$tmp/repro.c" "$tmp/repro" >"$tmp/repro.log" 2>&1; then
		(cd "$tmp" && timeout 120 ./repro) >>"$tmp/repro.log" 2>&1
		[ $? = 1 ] && reproduces=true || reproduces=false
		rm -f "$tmp/repro"
	else
		reproduces=false
	fi
	echo "reproducer: $final/repro.c ($([ $reproduces = true ] && echo "diverges again: $(grep -m1 DIVERGENCE "$tmp/repro.log")" || echo "does NOT reproduce: $tmp/repro.log"))"
fi
jq --argjson r "$reproduces" --argjson s "$splats" --arg k "$(uname -r)" '. + {kernel: $k, reproduces: $r, splats: $s}' \
	"$tmp/summary.json" >"$tmp/summary.json.new" && mv "$tmp/summary.json.new" "$tmp/summary.json" ||
	die "cannot write summary.json"
mv "$tmp" "$final" || die "cannot move results into place"
rmdir "$results/.incomplete" 2>/dev/null
trap - EXIT
[ "$quiet" = 1 ] || echo "results: $final"
[ "$rc" = 0 ] && [ "$splats" = 0 ] && exit 0
exit 1
