#!/bin/bash
# Run the benchmarks and write results/<stamp>-<host>-<kernel>-bench/:
#   caps.json, bench.json (index: each benchmark's status, files, headline figures),
#   summary.md, and per benchmark <name>.json, <name>.csv, <name>-*.csv (plot data),
#   <name>.png, <name>.svg, <name>.log (its stderr: progress, warnings); when hugepage ran ok,
#   sizing.md (+ sizing.png/svg, sizing.csv): the 2M sizing page (privmem-report --bench-sizing).
# The directory appears only when complete (built under results/.incomplete/).
#
#   scripts/bench.sh [--quick|--smoke|--full] [--only NAME[,NAME]] [--background PROFILE]
#                    [--results DIR] [--quiet]
# Environment: QUICK=1 (as --quick), BACKGROUND=<profile> (a stress-ng profile in
#   workloads/stress-ng/<profile>.args run underneath each benchmark), RESULTS=<dir>.
# Exit 0 when every benchmark produced valid results or could not run here (SKIP,
# with its reason), 1 when one failed or refused its data (or the sizing page failed), 2 on
# bad input.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/background.sh
. "$top/scripts/lib/background.sh"
# shellcheck source=lib/bench-run.sh
. "$top/scripts/lib/bench-run.sh"
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
	-h|--help) sed -n '2,/^set -u$/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
mkdir -p "$results/.incomplete" || die "cannot write to $results"
# Two runs started in the same second get distinct directories: the first free of
# <stamp>-bench, <stamp>.2-bench, ... (mkdir is the atomic claim; an existing result is never reused).
base=$stamp k=1
until [ ! -e "$results/$stamp" ] && mkdir "$results/.incomplete/$stamp" 2>/dev/null; do
	k=$((k + 1)); stamp=${base%-bench}.$k-bench
	[ $k -le 100 ] || die "cannot claim a result directory under $results"
done
final=$results/$stamp
tmp=$results/.incomplete/$stamp
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
	bench_status "$rc" "$tmp" "$n" "$limit"
	bench_plot "$tmp" "$n"
	index=$(bench_index_add "$index" "$n" "$rc" "$(echo "$t1 - $t0" | bc)")
done
t_end=$(date +%s.%N)

# Index, summary and the sizing page (scripts/lib/bench-run.sh).
bench_write_index "$tmp" "$mode" "$stamp" "$commit" "$background" "$(echo "$t_end - $t_all" | bc)" "$index" ||
	die "cannot write bench.json"
bench_summary "$tmp" "$mode" "$stamp" "$commit" "$background" "$names"
sizing_ok=1
bench_sizing "$tmp" "${PRIVMEM_REPORT:-$build/privmem-report}" || sizing_ok=0

mv -T "$tmp" "$final" || die "cannot move results into place"
rmdir "$results/.incomplete" 2>/dev/null
trap - EXIT
echo "benchmark results: $final ($(echo "$t_end - $t_all" | bc | cut -d. -f1) s)"
jq -r '.benchmarks[] | "  \(.status | ascii_upcase)\t\(.name)\t\(.elapsed_s | floor) s\t\(.reason // "")"' "$final/bench.json"
[ ! -r "$final/sizing.md" ] || echo "2M sizing page: $final/sizing.md"
jq -e '[.benchmarks[] | select(.status == "fail")] | length == 0' "$final/bench.json" >/dev/null && [ "$sizing_ok" = 1 ]
