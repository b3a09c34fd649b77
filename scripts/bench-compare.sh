#!/bin/bash
# Compare two benchmark runs (two kernels, two settings, or the same machine twice):
#
#   scripts/bench-compare.sh [--all] RUN_A RUN_B
#
# RUN_* are results/<stamp>-bench directories. For every metric present in both (same
# benchmark, metric and parameters) it prints the two medians, the change in percent,
# and a verdict: "same" when the change is within the noise of both runs (less than
# twice the larger CV, and the min..max ranges overlap), otherwise "higher"/"lower"
# (LKP-style: ranges must not overlap). --all also lists metrics found in one run only.
# Exit 0, or 2 on bad input (not a benchmark run, corrupt JSON).
set -u
all=0
die() { echo "bench-compare: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--all) all=1 ;;
	-h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option '$1' (try --help)" ;;
	*) break ;;
	esac
	shift
done
[ $# -eq 2 ] || die "usage: scripts/bench-compare.sh [--all] RUN_A RUN_B"
command -v jq >/dev/null || die "jq missing: run 'make deps'"

# All metrics of a run as one JSON array of {key, bench, metric, params, unit, median, cv, min, max}.
metrics_of() {
	local run=$1 out='[]' f
	[ -r "$run/bench.json" ] || die "$run is not a benchmark run (no bench.json)"
	jq -e '.schema == "privmem-bench-run/1"' "$run/bench.json" >/dev/null 2>&1 ||
		die "$run/bench.json is not a privmem-bench-run/1 index (corrupt?)"
	for f in $(jq -r '.benchmarks[] | select(.json != null) | .json' "$run/bench.json"); do
		jq -e '.schema == "privmem-bench/1"' "$run/$f" >/dev/null 2>&1 || die "$run/$f is corrupt or not a privmem-bench/1 result"
		out=$(jq -c --argjson acc "$out" '$acc + [.benchmark as $b | .metrics[] |
			{key: "\($b) \(.metric) \(.params | to_entries | map("\(.key)=\(.value)") | join(" "))",
			 unit, median: .stats.median, cv: .stats.cv, min: .stats.min, max: .stats.max}]' "$run/$f") ||
			die "cannot read $run/$f"
	done
	echo "$out"
}

a=$(metrics_of "$1") || exit 2
b=$(metrics_of "$2") || exit 2
echo "A: $1"
echo "B: $2"
jq -rn --argjson a "$a" --argjson b "$b" --argjson all "$all" '
	def pct(x; y): if x == 0 then 0 else (y - x) / x * 100 end;
	def r(x): if (x | fabs) >= 100 then (x | round) elif (x | fabs) >= 1 then ((x * 1000 | round) / 1000) else ((x * 1000000 | round) / 1000000) end;
	($b | map({(.key): .}) | add // {}) as $bm |
	($a | map({(.key): .}) | add // {}) as $am |
	(["metric", "A", "B", "change", "verdict"] | @tsv),
	($a[] | select($bm[.key]) | . as $x | $bm[.key] as $y |
		pct($x.median; $y.median) as $p |
		(2 * ([$x.cv, $y.cv] | max) * 100) as $noise |
		(($x.max < $y.min) or ($y.max < $x.min)) as $disjoint |
		[.key, "\(r($x.median)) \(.unit)", "\(r($y.median)) \(.unit)",
		 "\($p * 10 | round / 10)%",
		 (if ($p | fabs) <= $noise or ($disjoint | not) then "same" elif $p > 0 then "higher" else "lower" end)] | @tsv),
	(if $all == 1 then
		($a[] | select($bm[.key] | not) | ["\(.key)", "\(r(.median)) \(.unit)", "-", "-", "only in A"] | @tsv),
		($b[] | select($am[.key] | not) | ["\(.key)", "-", "\(r(.median)) \(.unit)", "-", "only in B"] | @tsv)
	 else empty end)' | column -t -s $'\t'
