# shellcheck shell=bash disable=SC2034 # sz_* are results for check.sh
# bench_sizing_checks BENCH_RUN WORK REPORT: prove the hugepage sizing page on a real (smoke)
# benchmark run: bench.sh wrote sizing.md (+ plots) and listed it in bench.json; privmem-report
# --bench-sizing writes one for two runs side by side; bad input (a run whose hugepage did not
# run ok, a directory that is no benchmark run) is one line, exit 2, nothing written. One
# ok/FAIL/skip line each; counts in sz_passed, sz_failed, sz_skipped.
bench_sizing_checks() {
	local brun=$1 work=$2 rep=$3 out rc b problems=""
	sz_passed=0 sz_failed=0 sz_skipped=0
	if ! jq -e '.benchmarks[] | select(.name == "hugepage" and .status == "ok")' "$brun/bench.json" >/dev/null 2>&1; then
		echo "  skip  sizing page: hugepage did not run ok in the smoke run"
		sz_skipped=1
		return
	fi
	# The page bench.sh wrote: every backing, both thresholds, the plot, the index entry.
	for b in 'anonymous THP' 'shmem/memfd THP' hugetlb guest_memfd '## What it means for policy' \
		'## Where 2M retention falls below 90% and 50%' '## Cost per churned page'; do
		grep -qF -- "$b" "$brun/sizing.md" 2>/dev/null || problems="$problems, no '$b'"
	done
	head -c 8 "$brun/sizing.png" 2>/dev/null | grep -q PNG || problems="$problems, no sizing.png"
	grep -q '<svg' "$brun/sizing.svg" 2>/dev/null || problems="$problems, no sizing.svg"
	[ "$(jq -r '.sizing.page' "$brun/bench.json" 2>/dev/null)" = sizing.md ] || problems="$problems, bench.json does not list it"
	if [ -z "$problems" ]; then
		echo "  ok    sizing page: bench.sh wrote sizing.md (every backing, 90%/50%, policy, cost), its plots, listed in bench.json"
		sz_passed=$((sz_passed + 1))
	else
		echo "  FAIL  sizing page of the smoke run:${problems#,}"
		sz_failed=$((sz_failed + 1))
	fi
	# Two runs side by side, written into the first.
	rm -rf "$work/sz-a" "$work/sz-b" && cp -R "$brun" "$work/sz-a" && cp -R "$brun" "$work/sz-b" &&
		rm -f "$work/sz-a/sizing."*
	out=$("$rep" --bench-sizing "$work/sz-a" "$work/sz-b" 2>&1); rc=$?
	if [ $rc = 0 ] && grep -q '(2 runs)' <<<"$out" && [ "$(grep -c '^| hugetlb |' "$work/sz-a/sizing.md")" -ge 4 ] &&
		[ "$(grep -c '^# run ' "$work/sz-a/sizing.csv")" = 2 ]; then
		echo "  ok    privmem-report --bench-sizing: two runs side by side in sizing.md and sizing.csv"
		sz_passed=$((sz_passed + 1))
	else
		echo "  FAIL  privmem-report --bench-sizing on two runs: exit $rc: $(tail -n 1 <<<"$out")"
		sz_failed=$((sz_failed + 1))
	fi
	# Bad input: hugepage skipped (copy), no benchmark run at all.
	rm -f "$work/sz-b/sizing."*
	jq '(.benchmarks[] | select(.name == "hugepage")) |= (.status = "skip" | .json = null | .reason = "test")' \
		"$brun/bench.json" >"$work/sz-b/bench.json"
	problems=""
	for b in "$work/sz-b" "$work"; do
		out=$("$rep" --bench-sizing "$b" 2>&1); rc=$?
		[ $rc = 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && [ ! -e "$b/sizing.md" ] ||
			problems="$problems; $b: exit $rc, $(wc -l <<<"$out") lines, $(find "$b" -maxdepth 1 -name 'sizing*' | wc -l) sizing files"
	done
	if [ -z "$problems" ]; then
		echo "  ok    privmem-report --bench-sizing: a run without hugepage results, a non-run: one line, exit 2, nothing written"
		sz_passed=$((sz_passed + 1))
	else
		echo "  FAIL  privmem-report --bench-sizing bad input:${problems#;}"
		sz_failed=$((sz_failed + 1))
	fi
}
