#!/bin/bash
# Which deviant-shim deviations the model-based fuzzer finds on its own, on this host: the fuzzer
# (not the rows) against each "host" deviation of its areas, one run each under LD_PRELOAD.
#
#   scripts/fuzz-kills.sh [--ops N] [--seed N] [--no-guest] [--results DIR] [NAME GLOB]
#
# Per deviation: found (the first divergence: executed ops and seconds to it, the operation that
# diverged; unreproduced when a replay on a fresh VM does not diverge again),
# missed (N executed operations without one), or crashed (no verdict). Writes
# results/<stamp>-<host>-<kernel>-fuzz-kills/fuzz-deviations.txt ("name platform verdict ops
# seconds operation", the lab's --fuzz-deviations format) and prints the table. The "lab"
# deviations need sw-protected VMs: scripts/lab.sh --fuzz ARGS --fuzz-deviations GLOB.
# Exit 0 when every run gave a verdict, 1 otherwise, 2 on bad input.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/fuzz-areas.sh
. "$top/scripts/lib/fuzz-areas.sh"
build=${PRIVMEM_BUILD:-$top/build}
results=${RESULTS:-$top/results}
ops=100000 seed=1 glob='*' extra=()
die() { echo "privmem fuzz-kills: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--ops|--seed) [ $# -ge 2 ] && [[ $2 =~ ^[0-9]+$ ]] || die "$1 wants a number"
		[ "$1" = --ops ] && ops=$2 || seed=$2; shift ;;
	--no-guest) extra+=(--no-guest) ;;
	--results) [ $# -ge 2 ] || die "--results wants a directory"; results=$2; shift ;;
	-h|--help) sed -n '2,/^set -u$/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown argument '$1' (try --help)" ;;
	*) glob=$1 ;;
	esac
	shift
done
[ -x "$build/privmem-fuzz" ] && [ -r "$build/deviant.so" ] || die "not built: run 'make'"
list=$(PRIVMEM_DEVIATION=list LD_PRELOAD=$build/deviant.so /bin/true | awk -F'\t' -v areas="$fuzz_areas" \
	'$3 == "host" && $2 ~ areas { print $1 }') ||
	die "the shim cannot list its deviations"
stamp=$(date -u +%Y%m%dT%H%M%SZ)-$(hostname -s)-$(uname -r)-fuzz-kills
tmp=$results/.incomplete/$stamp
mkdir -p "$tmp/logs" || die "cannot write to $results"
trap 'rm -rf "$tmp"; rmdir "$results/.incomplete" 2>/dev/null' EXIT
trap 'echo "privmem fuzz-kills: interrupted; nothing written" >&2; exit 130' INT TERM
bad=0 n=0
for dev in $list; do
	# shellcheck disable=SC2053 # a glob on purpose
	[[ $dev == $glob ]] || continue
	n=$((n + 1))
	l=$tmp/logs/$dev.log
	PRIVMEM_DEVIATION=$dev LD_PRELOAD=$build/deviant.so "$build/privmem-fuzz" --ops "$ops" --seed "$seed" \
		"${extra[@]}" >"$l" 2>&1
	rc=$?
	stats=$(awk '/^ops [0-9]+ executed/ { print $2, $(NF-3); exit }' "$l")
	if [ $rc = 1 ] && grep -q '^DIVERGENCE' "$l"; then
		echo "$dev sw-default $(grep -q 'NOT REPRODUCED' "$l" && echo unreproduced || echo found) $stats $(sed -n 's/^DIVERGENCE.* op [0-9]*: \([A-Z_]*\).*/\1/p' "$l" | head -n 1)"
	elif [ $rc = 0 ]; then
		echo "$dev sw-default missed $stats -"
	else
		echo "$dev sw-default crashed 0 0 exit=$rc"
		bad=1
	fi
done >"$tmp/fuzz-deviations.txt"
[ "$n" -gt 0 ] || die "'$glob' matches no host deviation of the fuzzer's areas"
column -t "$tmp/fuzz-deviations.txt"
echo "found $(awk '$3 == "found"' "$tmp/fuzz-deviations.txt" | wc -l) of $n within $ops operations (seed $seed${extra:+, ${extra[*]}})"
mv "$tmp" "$results/$stamp" || die "cannot move results into place"
rmdir "$results/.incomplete" 2>/dev/null
trap - EXIT
echo "results: $results/$stamp"
exit $bad
