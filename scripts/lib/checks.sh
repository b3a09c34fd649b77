# shellcheck shell=bash
# What make check (scripts/check.sh) and make check SANITIZE=1 (scripts/sanitize.sh) share:
# the newest run of a results directory, the report tool's self-test, judging the benchmarks'
# smoke runs, the machine lock. Sourced, not run; needs $top and jq.

# newest DIR: the newest complete run directory under DIR (runs appear only when complete).
newest() { ls -1d "$1"/*/ 2>/dev/null | grep -v '/\.incomplete' | tail -n 1; }

# report_selftest REPORT_BINARY LOG: report/selftest.sh against that binary; one
# "ok"/"FAIL" line; adds to $passed or $failed.
report_selftest() {
	if "$top/report/selftest.sh" "$1" >"$2" 2>&1; then
		echo "  ok    $(tail -n 1 "$2")"
		passed=$((passed + 1))
	else
		echo "  FAIL  report self-test (see $2)"
		failed=$((failed + 1))
	fi
}

# bench_smoke_all BENCH_RUN_DIR "NAME ..." [--full]: one "ok/skip/FAIL" line per benchmark
# (problems indented below a FAIL), and the counts in smoke_passed, smoke_failed,
# smoke_skipped. Each result must pass bench/checks/common.jq and its own check; --full also
# wants its PNG and SVG plots and non-empty tables, and proves the checks can fail: corrupted
# copies of this very result must be flagged.
bench_smoke_all() {
	local brun=$1 names=$2 full=${3:-} n st why problems j t summary
	smoke_passed=0 smoke_failed=0 smoke_skipped=0
	for n in $names; do
		if [ -z "$brun" ] || [ ! -r "$brun/bench.json" ]; then
			echo "  FAIL  $n: the smoke run wrote no results"
			smoke_failed=$((smoke_failed + 1))
			continue
		fi
		st=$(jq -r --arg n "$n" '.benchmarks[] | select(.name == $n) | .status' "$brun/bench.json")
		why=$(jq -r --arg n "$n" '.benchmarks[] | select(.name == $n) |
			"\(.reason // ""), exit \(.exit)"' "$brun/bench.json")
		case $st in
		skip) echo "  skip  $n: ${why%, exit *}"; smoke_skipped=$((smoke_skipped + 1)); continue ;;
		ok) ;;
		*) echo "  FAIL  $n: ${st:-not run}: $why (see $brun/$n.log)"
		   smoke_failed=$((smoke_failed + 1)); continue ;;
		esac
		j=$brun/$n.json
		problems=$(jq -r -f "$top/bench/checks/common.jq" "$j" 2>&1
			[ -r "$top/bench/checks/$n.jq" ] && jq -r -f "$top/bench/checks/$n.jq" "$j" 2>&1)
		summary=$(jq -r '"\(.metrics | length) metrics, \(.references | keys | join(" "))"' "$j")
		if [ "$full" = --full ]; then
			head -c 8 "$brun/$n.png" 2>/dev/null | grep -q PNG || problems="$problems"$'\n'"no PNG plot"
			grep -q '<svg' "$brun/$n.svg" 2>/dev/null || problems="$problems"$'\n'"no SVG plot"
			for t in $(jq -r '.tables[]?' "$j"); do
				[ "$(wc -l <"$brun/$t")" -ge 2 ] || problems="$problems"$'\n'"table $t has no rows"
			done
			[ "$(jq '.metrics[0].stats.median = 0 | .valid = false' "$j" | jq -r -f "$top/bench/checks/common.jq" | wc -l)" -gt 0 ] ||
				problems="$problems"$'\n'"common.jq does not flag a zero median or an invalid result"
			if [ -r "$top/bench/checks/$n.jq" ]; then
				[ "$(jq '.metrics = [] | .results = {}' "$j" | jq -r -f "$top/bench/checks/$n.jq" 2>&1 | wc -l)" -gt 0 ] ||
					problems="$problems"$'\n'"$n.jq does not flag a result without its metrics"
			fi
			summary="$summary, plots, tables; its checks flag corrupted copies"
		fi
		problems=$(sed '/^$/d' <<<"$problems")
		if [ -z "$problems" ]; then
			echo "  ok    $n: $summary"
			smoke_passed=$((smoke_passed + 1))
		else
			echo "  FAIL  $n:"
			sed 's/^/        /' <<<"$problems"
			smoke_failed=$((smoke_failed + 1))
		fi
	done
}

# machine_lock: wait (an hour at most) until no other privmem check on this machine is
# changing knobs or loading it (benchmarks, stress-ng), then hold the lock until exit.
machine_lock() {
	exec {machine_lock_fd}>"${TMPDIR:-/tmp}/privmem-machine.lock" && flock -w 3600 "$machine_lock_fd"
}
