#!/bin/bash
# The lab matrix: the suite under QEMU TCG (scripts/lab.sh) on each kernel of MATRIX below,
# oldest first: Debian's stock 6.1 (bookworm) and 7.2 (sid), and the lab kernels built with
# sw-protected VMs from Debian's linux-source-6.12 and linux-source-7.3 (experimental); then
# sid's stock arm64 7.2 under qemu-system-aarch64, normal and pKVM protected mode (binaries from
# build/arm64, i.e. $PRIVMEM_BUILD/arm64; columns tagged with the arch and mode). Next to
# each kernel, the upstream KVM/mm selftests built from that kernel's own source (the peers,
# scripts/upstream-selftests.sh; informative: they do not change the verdict). The lab
# deviations of the deviant shim are injected on the kernels marked so: each must be detected
# there. Then one table (area x kernel: pass/fail/skip/xfail), the peers per kernel, the drift
# each kernel showed (a behaviour upstream changed without a capability: recorded, not failed),
# and `privmem-report --diff` between neighbours; all of it also in
#   results/<stamp>-lab-matrix/{matrix.md,matrix.json,diff-<old>-<new>.txt}
# beside the runs (results/<stamp>-lab-<release>/). A correct kernel must SKIP what it lacks,
# never FAIL.
# Every lab also runs the model-based fuzzer with a fixed budget on each of its platforms
# (PRIVMEM_MATRIX_FUZZ, default "--ops 5000 --seed 1 --race"; empty: none): one entry per
# platform in the end line (pass, skip, or failed on a divergence), a "fuzz" line in the table.
# Two labs run at a time (each QEMU is one TCG thread). A lab that does not boot or hangs is
# retried once, said so on the output; a second failure counts as failed.
# Ends with "N passed, N failed, N skipped": tests (XFAIL counts as passed, XPASS as failed),
# plus one per lab deviation (detected by an assertion in a row it targets: passed; crashed,
# collateral-only or undetected: failed), one for the injected kernel splat (it must fail
# vmlib_test in the guest) and one per lab that gave no results.
#
#   scripts/lab-matrix.sh [--results DIR] [--only 'NAME GLOB'] [--jobs N] [--table-only RUN...]
#
# --only: the kernels of MATRIX whose name matches (e.g. '7.*'); --table-only: tabulate
# existing lab runs (oldest first) instead of running. Exit 0 when no run FAILed (and every
# run produced results), 1 otherwise, 2 on bad input.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
results=${RESULTS:-$top/results}
# shellcheck disable=SC2034 # used by lib/matrix.sh
cache=${PRIVMEM_CACHE:-/var/cache/privmem} build=${PRIVMEM_BUILD:-$top/build}

# The matrix, one kernel per line (adding a kernel is one line):
#   name | scripts/lab.sh kernel arguments | linux-source series of the peers (- none) |
#   lab deviations to inject (no, or a glob of names, extglob: the pkvm ones need an arm64 lab)
MATRIX=(
	"6.1|--stock 6.1|-|no"
	"6.12|--source 6.12|6.12|no"
	"7.2|--stock 7.2|7.2|no"
	"7.3|--source 7.3|7.3|!(pkvm-*)"
	"7.2-arm64|--arch arm64 --stock 7.2|-|pkvm-unprotected"
	"7.2-arm64-protected|--arch arm64 --stock 7.2 --mode protected|-|pkvm-*"
)

die() { echo "privmem lab-matrix: $*" >&2; exit 2; }
runs=() only="*" jobs=2 table_only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--results) [ $# -ge 2 ] || die "--results wants a directory"; results=$2; shift ;;
	--only) [ $# -ge 2 ] || die "--only wants a kernel name glob (${MATRIX[*]%%|*})"; only=$2; shift ;;
	--jobs) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--jobs wants a positive number"; jobs=$2; shift ;;
	--table-only) table_only=1 ;;
	-h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown argument '$1' (try --help)" ;;
	*) [ "$table_only" = 1 ] || die "run directories are for --table-only"; runs+=("$1") ;;
	esac
	shift
done
command -v jq >/dev/null || die "jq missing: run 'make deps'"
# shellcheck source=lib/matrix.sh
. "$top/scripts/lib/matrix.sh"

failed=0 lost=0
if [ "$table_only" = 0 ]; then
	selected=()
	for entry in "${MATRIX[@]}"; do
		# shellcheck disable=SC2053 # a glob on purpose
		[[ ${entry%%|*} == $only ]] && selected+=("$entry")
	done
	[ ${#selected[@]} -gt 0 ] || die "--only '$only' matches no kernel of the matrix (${MATRIX[*]%%|*})"
	mkdir -p "$results" || die "cannot create $results"
	work=$(mktemp -d "$results/.matrix.XXXXXX") || die "cannot write to $results"
	trap 'rm -rf "$work"' EXIT
	trap 'echo "privmem lab-matrix: interrupted" >&2; kill $(jobs -p) 2>/dev/null; exit 130' INT TERM
	# The peers first, one build at a time (each is a parallel make).
	for entry in "${selected[@]}"; do
		IFS='|' read -r name _ series _ <<<"$entry"
		[ "$series" = - ] || matrix_peers "$series" >"$work/$name.peers" 2>"$work/$name.peers.log" ||
			echo "privmem lab-matrix: $name: no peers ($(tail -n 1 "$work/$name.peers.log"))" >&2
	done
	# Then the labs, $jobs at a time, the slowest first so the lanes end together: those with
	# deviations, then from the last line up (the arm64 ones, emulating another ISA, then the
	# newest kernels: they run the most rows).
	order=()
	for ((i = ${#selected[@]} - 1; i >= 0; i--)); do [ "${selected[i]##*|}" = yes ] && order+=("${selected[i]}"); done
	for ((i = ${#selected[@]} - 1; i >= 0; i--)); do [ "${selected[i]##*|}" = yes ] || order+=("${selected[i]}"); done
	for entry in "${order[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
		matrix_lab "$entry" "$work" &
	done
	wait
	for entry in "${selected[@]}"; do
		name=${entry%%|*}
		if [ -s "$work/$name.run" ]; then
			runs+=("$(cat "$work/$name.run")")
		else
			lost=$((lost + 1))
			echo "privmem lab-matrix: $name gave no results: $(tail -n 1 "$work/$name.log" 2>/dev/null)" >&2
		fi
	done
fi
[ ${#runs[@]} -gt 0 ] || die "no lab runs to tabulate"
for run in "${runs[@]}"; do [ -r "$run/results.json" ] || die "$run has no results.json"; done

out=$results/$(date -u +%Y%m%dT%H%M%SZ)-lab-matrix
mkdir -p "$out.tmp" || die "cannot create $out.tmp"
matrix_table "${runs[@]}" | tee "$out.tmp/matrix.md"
matrix_diffs "$out.tmp" "${runs[@]}" | tee -a "$out.tmp/matrix.md"
matrix_json "${runs[@]}" >"$out.tmp/matrix.json" && mv "$out.tmp" "$out" || die "cannot write $out"
read -r passed failed skipped < <(matrix_counts "${runs[@]}")
failed=$((failed + lost))
echo "matrix: $out"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
