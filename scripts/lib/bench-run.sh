# shellcheck shell=bash disable=SC2154,SC2034 # $top from the sourcing script; status/reason/plots are results
# What scripts/bench.sh and scripts/lab.sh --bench share: judging one benchmark's exit, its
# plots, the run's index (bench.json), summary.md and the hugepage sizing page (sizing.md).
# Sourced, not run; needs $top and jq (gnuplot for the plots).
#   bench_status RC DIR NAME LIMIT      # sets status (ok|skip|fail) and reason
#   bench_plot DIR NAME                 # sets plots (JSON array); a failed plot sets status=fail
#   bench_index_add INDEX NAME RC ELAPSED   # prints INDEX with the entry of NAME ($status, $reason, $plots)
#   bench_write_index DIR MODE STAMP COMMIT BACKGROUND ELAPSED INDEX [EXTRA]
#                                       # DIR/bench.json; EXTRA: a JSON object merged in (e.g. {lab: ...})
#   bench_summary DIR MODE STAMP COMMIT BACKGROUND NAMES   # DIR/summary.md
#   bench_sizing DIR REPORT [RUN...]    # DIR/sizing.md + plot when hugepage ran ok; listed in bench.json

# The verdict from the exit status: 0 ok, 4 skip (its last stderr line says why), 124 the
# driver's time limit, 1 refused data (the JSON's errors), anything else a failure.
bench_status() {
	local rc=$1 dir=$2 n=$3 limit=$4
	reason=""
	case $rc in
	0) status=ok ;;
	4) status=skip; reason=$(tail -n 1 "$dir/$n.log") ;;
	124) status=fail; reason="exceeded the ${limit}s limit" ;;
	1) status=fail; reason=$(jq -r '.errors | join("; ")' "$dir/$n.json" 2>/dev/null) ;;
	*) status=fail; reason=$(tail -n 1 "$dir/$n.log") ;;
	esac
}

# The plot of a benchmark that ran ok: bench/plots/<name>.gp on its tables, PNG and SVG.
bench_plot() {
	local dir=$1 n=$2 fmt
	plots='[]'
	[ "$status" = ok ] && [ -r "$top/bench/plots/$n.gp" ] || return 0
	for fmt in png svg; do
		if gnuplot -e "dir='$dir'; fmt='$fmt'; plots='$top/bench/plots'" "$top/bench/plots/$n.gp" \
			>>"$dir/$n.plot.log" 2>&1 && [ -s "$dir/$n.$fmt" ]; then
			plots=$(jq -c --arg f "$n.$fmt" '. + [$f]' <<<"$plots")
		else
			status=fail; reason="gnuplot failed for $fmt (see $n.plot.log)"
		fi
	done
}

bench_index_add() {
	jq -c --arg n "$2" --arg s "$status" --arg r "$reason" --argjson rc "$3" \
		--argjson t "$4" --argjson p "$plots" \
		'. + [{name: $n, status: $s, exit: $rc, reason: (if $r == "" then null else $r end),
		       elapsed_s: $t, json: (if $s == "ok" then "\($n).json" else null end), plots: $p}]' <<<"$1"
}

bench_write_index() {
	local dir=$1 mode=$2 stamp=$3 commit=$4 bg=$5 elapsed=$6 index=$7 extra=${8:-'{}'}
	jq -n --arg mode "$mode" --arg stamp "$stamp" --arg commit "$commit" --arg bg "$bg" \
		--argjson t "$elapsed" --argjson b "$index" --argjson x "$extra" \
		'{schema: "privmem-bench-run/1", stamp: $stamp, mode: $mode, commit: $commit,
		  background: (if $bg == "" then null else $bg end), elapsed_s: $t, benchmarks: $b} + $x' \
		>"$dir/bench.json"
}

# Index and summary: the headline (core) metrics of each benchmark with their references.
bench_summary() {
	local dir=$1 mode=$2 stamp=$3 commit=$4 bg=$5 names=$6 n row
	row='"| \($n) | \(.metric) | \(.params | to_entries | map("\(.key)=\(.value)") | join(" ")) | \(.stats.median * 1000 | round / 1000) \(.unit) | \(.stats.cv * 1000 | round / 10)%\(if .stable then "" else " (unstable)" end) | \(.stats.n) | \(.reference.name // "-") | \(if .reference.ratio then (.reference.ratio * 1000 | round / 1000 | tostring) else "-" end) |"'
	{
		echo "# privmem benchmarks: $stamp ($mode)"
		echo
		echo "commit $commit; background: ${bg:-none}; $(jq -r '"\(.kernel.release) \(.host.cpus) CPUs, KVM \(.kvm.module // "unavailable")"' "$dir/caps.json")"
		jq -r '.lab // empty | "\nIn the lab: \(.qemu) (QEMU TCG: timings are not meaningful, counts and fractions are); kernel \(.release)."' "$dir/bench.json"
		echo
		echo "| benchmark | status | time (s) | reason |"
		echo "|---|---|---|---|"
		jq -r '.benchmarks[] | "| \(.name) | \(.status) | \(.elapsed_s | floor) | \(.reason // "") |"' "$dir/bench.json"
		echo
		echo "## Headline figures"
		echo
		echo "| benchmark | metric | parameters | median | CV | n | reference | ratio |"
		echo "|---|---|---|---|---|---|---|---|"
		for n in $names; do
			[ -r "$dir/$n.json" ] && jq -r --arg n "$n" ".metrics[] | select(.core) | $row" "$dir/$n.json"
		done
		echo
		echo "## All figures"
		echo
		echo "| benchmark | metric | parameters | median | CV | n | reference | ratio |"
		echo "|---|---|---|---|---|---|---|---|"
		for n in $names; do
			[ -r "$dir/$n.json" ] || continue
			jq -r --arg n "$n" ".metrics[] | $row" "$dir/$n.json"
		done
	} >"$dir/summary.md"
}

# The sizing page (privmem-report --bench-sizing DIR RUN...), when hugepage ran ok; bench.json
# then lists it: "sizing": {"page": "sizing.md", "plots": [...], "compared_with": [...]}.
# A failure is one line on stderr and leaves the run without it (returns 1).
bench_sizing() {
	local dir=$1 report=$2 f plots='[]' others
	shift 2
	jq -e '.benchmarks[] | select(.name == "hugepage" and .status == "ok")' "$dir/bench.json" >/dev/null 2>&1 || return 0
	if ! "$report" --bench-sizing "$dir" "$@" >"$dir/sizing.log" 2>&1 || [ ! -s "$dir/sizing.md" ]; then
		echo "privmem bench: the sizing page failed: $(tail -n 1 "$dir/sizing.log")" >&2
		return 1
	fi
	for f in sizing.png sizing.svg; do
		[ -s "$dir/$f" ] && plots=$(jq -c --arg f "$f" '. + [$f]' <<<"$plots")
	done
	others=$(for f in "$@"; do basename "$f"; done | jq -R . | jq -sc .)
	jq --argjson p "$plots" --argjson o "$others" \
		'.sizing = {page: "sizing.md", plots: $p, compared_with: $o}' "$dir/bench.json" >"$dir/bench.json.tmp" &&
		mv "$dir/bench.json.tmp" "$dir/bench.json"
}
