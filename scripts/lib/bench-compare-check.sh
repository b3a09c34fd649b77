# shellcheck shell=bash
# bench_compare_checks BENCH_RUN WORK REPORT: prove privmem-report --bench-compare and
# --bench-noise on a real (smoke) benchmark run: identical runs are "same" (exit 0); a copy
# whose fault_in rate samples are cut to a hundredth is "worse" on those whose three smoke
# samples spread less than 30% and on nothing else (exit 1), one a hundred times higher
# "better" (exit 0); a rate that moves that much between calibration runs is
# "same" once --noise says so; bad input exits 2. One ok/FAIL line each; counts in
# cmp_passed and cmp_failed.
bench_scaled_copy() {	# SRC DST FACTOR: DST = SRC with every fault_in "rate" sample scaled
	cp -R "$1" "$2" &&
	jq --argjson f "$3" '.metrics |= map(if .metric == "rate" then
		(.samples |= map(. * $f)) | (.stats.median *= $f) else . end)' "$1/fault_in.json" >"$2/fault_in.json"
}

bench_compare_checks() {
	local brun=$1 work=$2 rep=$3 out rc nrate want sure
	cmp_passed=0 cmp_failed=0
	cmp_ok() { echo "  ok    bench-compare: $1"; cmp_passed=$((cmp_passed + 1)); }
	cmp_fail() { echo "  FAIL  bench-compare: $1"; cmp_failed=$((cmp_failed + 1)); }
	if [ ! -r "$brun/fault_in.json" ]; then
		cmp_fail "no fault_in result to compare (the smoke run failed or skipped it)"
		return
	fi
	nrate=$(jq '[.metrics[] | select(.metric == "rate")] | length' "$brun/fault_in.json")
	out=$("$rep" --bench-compare "$brun" "$brun"); rc=$?
	if [ $rc = 0 ] && grep -q '^0 worse, 0 better, 0 higher, 0 lower, ' <<<"$out"; then
		cmp_ok "a run against itself: every metric same, exit 0"
	else
		cmp_fail "a run against itself: exit $rc, $(tail -n 1 <<<"$out")"
	fi
	bench_scaled_copy "$brun" "$work/cmp-slow" 0.01 && bench_scaled_copy "$brun" "$work/cmp-fast" 100 &&
	bench_scaled_copy "$brun" "$work/cmp-n1" 10 && bench_scaled_copy "$brun" "$work/cmp-n2" 0.05 || {
		cmp_fail "cannot make scaled copies of $brun"; return; }
	# A hundredth of the rate is beyond doubt wherever the samples spread less than 30% (three smoke
	# samples of THP spread more): those must be worse, and nothing but rates may be.
	sure=$(jq '[.metrics[] | select(.metric == "rate" and .stats.cv <= 0.3)] | length' "$brun/fault_in.json")
	out=$("$rep" --bench-compare --json "$work/cmp.json" "$brun" "$work/cmp-slow"); rc=$?
	want=$(jq --argjson s "$sure" '([.metrics[] | select(.verdict == "worse" and .metric != "rate")] | length == 0) and
		([.metrics[] | select(.metric == "rate" and .a.cv <= 0.3 and .verdict == "worse")] | length == $s)' \
		"$work/cmp.json" 2>/dev/null)
	if [ $rc = 1 ] && [ "$want" = true ] && [ "$sure" -gt 0 ]; then
		cmp_ok "fault_in rate cut to a hundredth: worse on the $sure rates with CV <= 30% (of $nrate), nothing else, exit 1"
	else
		cmp_fail "fault_in rate cut to a hundredth: exit $rc, $(tail -n 1 <<<"$out") (want the $sure rates with CV <= 30% worse, nothing else)"
	fi
	out=$("$rep" --bench-compare "$brun" "$work/cmp-fast"); rc=$?
	if [ $rc = 0 ] && grep -Eq "^0 worse, ([0-9]+) better, " <<<"$out" &&
		[ "$(sed -nE 's/^0 worse, ([0-9]+) better, .*/\1/p' <<<"$out")" -ge "$sure" ]; then
		cmp_ok "fault_in rate a hundred times higher: better (at least the $sure), exit 0"
	else
		cmp_fail "fault_in rate a hundred times higher: exit $rc, $(tail -n 1 <<<"$out") (want >= $sure better, 0 worse)"
	fi
	# Calibration runs in which the rate moved by itself from x0.05 to x10: a hundredth is
	# within that machine's noise, and the verdict must say so.
	"$rep" --bench-noise "$work/noise.json" "$brun" "$work/cmp-n1" "$work/cmp-n2" >/dev/null &&
		out=$("$rep" --bench-compare --noise "$work/noise.json" "$brun" "$work/cmp-slow"); rc=$?
	if [ $rc = 0 ] && grep -q '^0 worse, ' <<<"$out" && grep -q "metrics calibrated" <<<"$out"; then
		cmp_ok "with --noise from runs where the rate moved x0.05..x10, a hundredth of it is same, exit 0"
	else
		cmp_fail "with --noise: exit $rc, $(tail -n 1 <<<"$out") (want 0 worse)"
	fi
	mkdir -p "$work/cmp-bad" && cp "$brun/bench.json" "$work/cmp-bad/" && echo '{"schema":' >"$work/cmp-bad/fault_in.json"
	rc=0
	for args in "--bench-compare $brun /nonexistent" "--bench-compare $brun $work/cmp-bad" \
		"--bench-compare --min-effect abc $brun $brun" "--bench-compare $brun" \
		"--bench-noise $work/n.json $brun $brun" "--bench-compare --noise $brun/bench.json $brun $brun"; do
		# shellcheck disable=SC2086
		"$rep" $args >/dev/null 2>"$work/cmp-bad.err"
		[ $? = 2 ] && [ "$(wc -l <"$work/cmp-bad.err")" = 1 ] || { rc=1; cmp_fail "bad input '$args': not one line and exit 2"; }
	done
	[ $rc = 0 ] && cmp_ok "bad input (missing or corrupt run, bad option, too few calibration runs, not a calibration): one line, exit 2"
	[ ! -e "$work/n.json" ] || cmp_fail "a refused --bench-noise left $work/n.json"
}

# bench_merge_check BENCH_RUN WORK REPORT: --merge of a run and its scaled copy (one machine,
# two runs): every cell of the fault_in rates says 2 runs and spans both medians; a
# directory that is no run is refused. One ok/FAIL line; counts in cmp_passed/cmp_failed.
bench_merge_check() {
	local brun=$1 work=$2 rep=$3 out rc cells
	mkdir -p "$work/bmerge"
	out=$("$rep" --merge "$work/bmerge" "$brun" "$work/cmp-slow" 2>&1); rc=$?
	cells=$(jq '[.metrics[] | select(.key | startswith("fault_in rate ")) | .machines[0] |
		select(.runs == 2 and .max > 50 * .min)] | length' "$work/bmerge/merged.json" 2>/dev/null)
	if [ $rc = 0 ] && [ "$cells" = "$(jq '[.metrics[] | select(.metric == "rate")] | length' "$brun/fault_in.json")" ] &&
		mkdir -p "$work/bmerge-bad" && ! "$rep" --merge "$work/bmerge-bad" "$brun" "$work" >/dev/null 2>&1; then
		echo "  ok    --merge of two benchmark runs: $cells fault_in rate cells over 2 runs spanning both; bad input refused"
		cmp_passed=$((cmp_passed + 1))
	else
		echo "  FAIL  --merge of two benchmark runs: exit $rc, $out, $cells rate cells"
		cmp_failed=$((cmp_failed + 1))
	fi
}
