#!/bin/bash
# Run the benchmarks and write results/<stamp>-<host>-<kernel>-bench/:
#   caps.json, bench.json (index: each benchmark's status, files, headline figures),
#   summary.md, and per benchmark <name>.json, <name>.csv, <name>-*.csv (plot data),
#   <name>.png, <name>.svg, <name>.log (its stderr: progress, warnings).
# The directory appears only when complete (built under results/.incomplete/).
#
#   scripts/bench.sh [--quick|--smoke|--full] [--only NAME[,NAME]] [--background PROFILE]
#                    [--results DIR] [--quiet]
# Environment: QUICK=1 (as --quick), BACKGROUND=<profile> (a stress-ng profile in
#   workloads/stress-ng/<profile>.args run underneath each benchmark), RESULTS=<dir>.
# Exit 0 when every benchmark produced valid results or could not run here (SKIP,
# with its reason), 1 when one failed or refused its data, 2 on bad input.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/background.sh
. "$top/scripts/lib/background.sh"
build=${PRIVMEM_BUILD:-$top/build}
results=${RESULTS:-$top/results}
mode=full
[ "${QUICK:-}" = 1 ] && mode=quick
background=${BACKGROUND:-}
only=""
quiet=0
# bench/benchmarks.list, in its order: cheapest first, direct-map (irreversible splits) last.
# shellcheck source=lib/bench-list.sh
. "$top/scripts/lib/bench-list.sh"
all=$(bench_names "$top")

die() { echo "privmem bench: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) mode=quick ;;
	--smoke) mode=smoke ;;
	--full) mode=full ;;
	--quiet) quiet=1 ;;
	--only) [ $# -ge 2 ] || die "--only needs benchmark names"; only=$2; shift ;;
	--background) [ $# -ge 2 ] || die "--background needs a profile"; background=$2; shift ;;
	--results) [ $# -ge 2 ] || die "--results needs a directory"; results=$2; shift ;;
	-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
case "${QUICK:-}" in ''|0|1) ;; *) die "QUICK must be 1 or empty, got '$QUICK'" ;; esac

[ "$(id -u)" = 0 ] || die "benchmarks need root (KVM, tracefs, THP and hugetlb knobs they restore): run as root"
[ -x "$build/privmem-caps" ] || die "not built: run 'make'"
command -v jq >/dev/null || die "jq missing: run 'make deps'"
command -v gnuplot >/dev/null || die "gnuplot missing: run 'make deps'"

names=$all
if [ -n "$only" ]; then
	names=$(echo "$only" | tr ',' ' ')
	for n in $names; do
		case " $all " in *" $n "*) ;; *) die "unknown benchmark '$n' (known: $all)" ;; esac
	done
fi
for n in $names; do
	[ -x "$build/bench/$n" ] || die "benchmark $n not built: run 'make'"
done
if [ -n "$background" ]; then
	why=$(bg_check "$background")
	[ -z "$why" ] || die "$why"
fi

host=$(uname -n)
stamp=$(date -u +%Y%m%dT%H%M%SZ)-$host-$(uname -r)-bench
mkdir -p "$results" || die "cannot create $results"
final=$results/$stamp
tmp=$results/.incomplete/$stamp
mkdir -p "$tmp" || die "cannot write to $results"
child=0
cleanup() { bg_stop; rm -rf "$tmp"; rmdir "$results/.incomplete" 2>/dev/null; }
interrupted() {
	# The benchmark restores its knobs on SIGINT; wait for it before removing anything.
	[ "$child" -gt 0 ] && kill -INT "$child" 2>/dev/null && wait "$child" 2>/dev/null
	echo "privmem bench: interrupted; system knobs restored, nothing written" >&2
	exit 130
}
trap cleanup EXIT
trap interrupted INT TERM

"$build/privmem-caps" --quiet --json "$tmp/caps.json" || die "capability probe failed"
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
export PRIVMEM_COMMIT=$commit PRIVMEM_BACKGROUND=$background

# Per-benchmark wall-clock limit, generous against each mode's budget.
case $mode in smoke) limit=60 ;; quick) limit=120 ;; full) limit=1200 ;; esac

extra_args() {	# benchmark-specific arguments the driver supplies
	case $1 in
	fault_in)
		if [ -x "$build/upstream/demand_paging_test" ]; then
			echo "--set demand_paging=$build/upstream/demand_paging_test"
		fi ;;
	esac
}

t_all=$(date +%s.%N)
index='[]'
for n in $names; do
	[ "$quiet" = 1 ] || echo "== $n ($mode)" >&2
	[ -z "$background" ] || bg_start "$background" "$tmp/$n.background.log"
	t0=$(date +%s.%N)
	# shellcheck disable=SC2046
	timeout -s INT -k 10 "$limit" "$build/bench/$n" "--$mode" --out "$tmp" $(extra_args "$n") \
		>"$tmp/$n.out" 2>"$tmp/$n.log" &
	child=$!
	if [ "$quiet" = 1 ]; then
		wait "$child"; rc=$?
	else
		tail -q -f --pid="$child" "$tmp/$n.log" >&2 & tailpid=$!
		wait "$child"; rc=$?
		wait "$tailpid" 2>/dev/null
	fi
	child=0
	bg_stop
	t1=$(date +%s.%N)
	if [ "$quiet" != 1 ] && [ -r "$tmp/$n.json" ]; then
		# The headline figures; every figure is in $n.out, $n.json and summary.md.
		jq -r '"  \(.metrics | length) figures (\([.metrics[] | select(.stable | not)] | length) above their CV threshold), \(.warnings | length) warnings; headline:",
			(.metrics[] | select(.core) | "    \(.metric) \(.params | to_entries | map("\(.key)=\(.value)") | join(" ") | .[0:60]): \(.stats.median * 1000 | round / 1000) \(.unit), CV \(.stats.cv * 1000 | round / 10)%")' "$tmp/$n.json" >&2
	fi
	reason=""
	case $rc in
	0) status=ok ;;
	4) status=skip; reason=$(tail -n 1 "$tmp/$n.log") ;;
	124) status=fail; reason="exceeded the ${limit}s limit" ;;
	1) status=fail; reason=$(jq -r '.errors | join("; ")' "$tmp/$n.json" 2>/dev/null) ;;
	*) status=fail; reason=$(tail -n 1 "$tmp/$n.log") ;;
	esac
	plots='[]'
	if [ "$status" = ok ] && [ -r "$top/bench/plots/$n.gp" ]; then
		for fmt in png svg; do
			if gnuplot -e "dir='$tmp'; fmt='$fmt'; plots='$top/bench/plots'" "$top/bench/plots/$n.gp" \
				>>"$tmp/$n.plot.log" 2>&1 && [ -s "$tmp/$n.$fmt" ]; then
				plots=$(jq -c --arg f "$n.$fmt" '. + [$f]' <<<"$plots")
			else
				status=fail; reason="gnuplot failed for $fmt (see $n.plot.log)"
			fi
		done
	fi
	index=$(jq -c --arg n "$n" --arg s "$status" --arg r "$reason" --argjson rc "$rc" \
		--argjson t "$(echo "$t1 - $t0" | bc)" --argjson p "$plots" \
		'. + [{name: $n, status: $s, exit: $rc, reason: (if $r == "" then null else $r end),
		       elapsed_s: $t, json: (if $s == "ok" then "\($n).json" else null end), plots: $p}]' <<<"$index")
done
t_end=$(date +%s.%N)

# Index and summary: the headline (first) metric of each benchmark with its reference.
jq -n --arg mode "$mode" --arg stamp "$stamp" --arg commit "$commit" --arg bg "$background" \
	--argjson t "$(echo "$t_end - $t_all" | bc)" --argjson b "$index" \
	'{schema: "privmem-bench-run/1", stamp: $stamp, mode: $mode, commit: $commit,
	  background: (if $bg == "" then null else $bg end), elapsed_s: $t, benchmarks: $b}' \
	>"$tmp/bench.json" || die "cannot write bench.json"
{
	echo "# privmem benchmarks: $stamp ($mode)"
	echo
	echo "commit $commit; background: ${background:-none}; $(jq -r '"\(.kernel.release) \(.host.cpus) CPUs, KVM \(.kvm.module // "unavailable")"' "$tmp/caps.json")"
	echo
	echo "| benchmark | status | time (s) | reason |"
	echo "|---|---|---|---|"
	jq -r '.benchmarks[] | "| \(.name) | \(.status) | \(.elapsed_s | floor) | \(.reason // "") |"' "$tmp/bench.json"
	row='"| \($n) | \(.metric) | \(.params | to_entries | map("\(.key)=\(.value)") | join(" ")) | \(.stats.median * 1000 | round / 1000) \(.unit) | \(.stats.cv * 1000 | round / 10)%\(if .stable then "" else " (unstable)" end) | \(.stats.n) | \(.reference.name // "-") | \(if .reference.ratio then (.reference.ratio * 1000 | round / 1000 | tostring) else "-" end) |"'
	echo
	echo "## Headline figures"
	echo
	echo "| benchmark | metric | parameters | median | CV | n | reference | ratio |"
	echo "|---|---|---|---|---|---|---|---|"
	for n in $names; do
		[ -r "$tmp/$n.json" ] && jq -r --arg n "$n" ".metrics[] | select(.core) | $row" "$tmp/$n.json"
	done
	echo
	echo "## All figures"
	echo
	echo "| benchmark | metric | parameters | median | CV | n | reference | ratio |"
	echo "|---|---|---|---|---|---|---|---|"
	for n in $names; do
		[ -r "$tmp/$n.json" ] || continue
		jq -r --arg n "$n" ".metrics[] | $row" "$tmp/$n.json"
	done
} >"$tmp/summary.md"

mv "$tmp" "$final" || die "cannot move results into place"
rmdir "$results/.incomplete" 2>/dev/null
trap - EXIT
echo "benchmark results: $final ($(echo "$t_end - $t_all" | bc | cut -d. -f1) s)"
jq -r '.benchmarks[] | "  \(.status | ascii_upcase)\t\(.name)\t\(.elapsed_s | floor) s\t\(.reason // "")"' "$final/bench.json"
jq -e '[.benchmarks[] | select(.status == "fail")] | length == 0' "$final/bench.json" >/dev/null
