#!/bin/bash
# make check: what CI runs.
#  0. the report tool's self-test;
#  1. the conformance run (scripts/run.sh): no FAIL allowed; every test is a row of
#     conformance/rows.tsv and every row is reported;
#  2. every deviation of the deviant shim, run against its area's collection: each must
#     be detected (at least one test FAILs); prints the kill rate and lists the
#     undetected by name; known backend deviations must FAIL in strict mode;
#  3. the suite without /dev/kvm and as a non-root user: every test of a collection that
#     needs KVM SKIPs with a reason; nothing FAILs anywhere;
#  4. the benchmarks: a --smoke run of each, its output checked for schema and sanity
#     (bench/checks/common.jq + bench/checks/<name>.jq, plots, tables; never timing); the
#     machine's knobs are as before; SIGINT mid-run restores them and leaves no result;
#     bad arguments get one line and exit 2.
# Ends with "N passed, N failed, N skipped": conformance results plus one entry per
# deviation and per check.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
shim=$build/deviant.so
work=$build/check
passed=0 failed=0 skipped=0

die() { echo "privmem check: $*" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 2; }
[ -r "$shim" ] || die "not built: run 'make'"
command -v jq >/dev/null || die "jq missing: run 'make deps'"
rm -rf "$work" && mkdir -p "$work" || die "cannot create $work"

count() { jq -r ".summary.$2" "$1/results.json"; }
newest() { ls -1d "$1"/*/ 2>/dev/null | grep -v '/\.incomplete' | tail -n 1; }

# ---- 0. the report tool parses what it must (pass/fail/skip/crash/corrupt input) ---------
echo "== report tool self-test"
if "$top/scripts/report/selftest.sh" "$build/privmem-report" >"$work/report-selftest.log" 2>&1; then
	echo "  ok    $(tail -n 1 "$work/report-selftest.log")"
	passed=$((passed + 1))
else
	echo "  FAIL  report self-test (see $work/report-selftest.log)"
	failed=$((failed + 1))
fi
echo

# ---- 1. conformance ------------------------------------------------------------------
echo "== conformance run"
"$top/scripts/run.sh"
rc=$?
[ $rc -le 1 ] || die "conformance run failed to produce results"
run=$(newest "$top/results")
[ -n "$run" ] && [ -r "$run/results.json" ] || die "no results.json from the conformance run"
p=$(count "$run" pass) f=$(count "$run" fail) s=$(count "$run" skip)
x=$(count "$run" xfail)
passed=$((passed + p + x)) failed=$((failed + f)) skipped=$((skipped + s))

# ---- 1b. every test is a listed behaviour row, and every listed row ran or SKIPped ----------
unlisted=$(jq -r '.summary.unlisted_tests // [] | length' "$run/results.json")
notrun=$(jq -r '.summary.rows_not_run // 0' "$run/results.json")
nrows=$(jq -r '.summary.rows_total // 0' "$run/results.json")
if [ "$nrows" -gt 0 ] && [ "$unlisted" = 0 ] && [ "$notrun" = 0 ]; then
	echo "  ok    $nrows behaviour rows in conformance/rows.tsv, every test listed, every row reported"
	passed=$((passed + 1))
else
	echo "  FAIL  behaviour table: $nrows rows, $notrun not run, $unlisted tests without a row:"
	jq -r '(.summary.unlisted_tests // [])[] | "        unlisted: \(.)"' "$run/results.json"
	jq -r '(.rows // [])[] | select(.status=="NOT-RUN") | "        not run:  \(.id)"' "$run/results.json"
	failed=$((failed + 1))
fi

# ---- 2. deviations ---------------------------------------------------------------------
echo
echo "== deviant shim: every deviation must make the suite FAIL"
# "name<TAB>area<TAB>host|lab<TAB>description": each deviation runs against its area's
# collection, the one that claims to detect it. "lab" ones need a kernel feature this
# host may lack (sw-protected VMs); make lab-matrix proves them inside the QEMU lab.
mapfile -t devs < <(PRIVMEM_DEVIATION=list LD_PRELOAD=$shim /bin/true | awk -F'\t' '$3 == "host" { print $1, $2 }')
[ ${#devs[@]} -gt 0 ] || die "the shim lists no deviations"

# One deviation: run its area's binaries under the shim, report "<name> <fails> <first failing test>".
run_deviation() {
	local dev=$1 area=$2 dir=$work/dev/$1 bin fails first
	mkdir -p "$dir"
	if ! ls "$build/conformance/$area"/*_test >/dev/null 2>&1; then
		echo "$dev 0 no-collection-$area"
		return
	fi
	for bin in "$build/conformance/$area"/*_test; do
		(cd "$(dirname "$bin")" && PRIVMEM_DEVIATION=$dev LD_PRELOAD=$shim \
			timeout -k 5 60 "./$(basename "$bin")") >"$dir/$(basename "$bin").ktap" 2>&1
	done
	fails=$(cat "$dir"/*.ktap | grep -c '^not ok')
	first=$(cat "$dir"/*.ktap | grep -m1 '^not ok' | sed 's/^not ok [0-9]* //')
	echo "$dev $fails ${first:--}"
}
export -f run_deviation
export build shim work

printf '%s\n' "${devs[@]}" | xargs -P "$(nproc)" -L1 bash -c 'run_deviation "$@"' _ | sort >"$work/deviations.txt"
detected=0 undetected=""
while read -r dev fails first; do
	if [ "$fails" -gt 0 ]; then
		detected=$((detected + 1)) passed=$((passed + 1))
		printf '  detected   %-26s %3d FAIL, e.g. %s\n' "$dev" "$fails" "$first"
	else
		failed=$((failed + 1)) undetected="$undetected $dev"
		printf '  UNDETECTED %-26s (logs: %s)\n' "$dev" "$work/dev/$dev"
	fi
done <"$work/deviations.txt"
total=$(wc -l <"$work/deviations.txt")
echo "kill rate: $detected/$total deviations detected ($((100 * detected / total))%)"
[ -z "$undetected" ] || echo "undetected:$undetected"


# ---- 2b. known backend deviations are XFAIL, and FAIL in strict mode ----------------------
xf=$(count "$run" xfail)
if [ "$xf" -gt 0 ]; then
	strict_fails=0
	for bin in "$build"/conformance/*/*_test; do
		n=$(cd "$(dirname "$bin")" && PRIVMEM_STRICT=1 timeout -k 5 60 "./$(basename "$bin")" 2>&1 | grep -c '^not ok')
		strict_fails=$((strict_fails + n))
	done
	if [ "$strict_fails" -ge "$xf" ]; then
		echo "  ok    $xf known deviation(s) reported XFAIL; PRIVMEM_STRICT=1 turns them into $strict_fails FAIL"
		passed=$((passed + 1))
	else
		echo "  FAIL  PRIVMEM_STRICT=1 gave $strict_fails FAIL for $xf XFAIL rows"
		failed=$((failed + 1))
	fi
fi
# ---- 3. without KVM or root: rows that need KVM SKIP, nothing FAILs ---------------------
echo
echo "== without KVM or root: SKIP with reasons, never FAIL"
# Rows whose `needs` (conformance/rows.tsv) name KVM: under no-kvm and non-root every
# test of theirs must SKIP. The others (secretmem, seals, ...) may run; nothing may FAIL.
kvm_needs='KVM|GUEST_MEMFD|sw-default|sw-protected'
env_check() {	# name, command prefix...
	local name=$1 dir=$work/env-$1 run f s ran_kvm others reason q
	shift
	mkdir -p "$dir" && chmod 0777 "$dir"
	"$@" env RESULTS="$dir" "$top/scripts/run.sh" --quiet --results "$dir" >"$dir.log" 2>&1
	run=$(newest "$dir")
	if [ -z "$run" ] || [ ! -r "$run/results.json" ]; then
		echo "  FAIL  $name: no results (see $dir.log)"
		failed=$((failed + 1))
		return
	fi
	f=$(count "$run" fail)
	# Tests of KVM rows; a test without a row counts as one (make it listed).
	q='[.rows[] | select(.needs | test($k)) | .id] as $kr | [.tests[] | select(.row == null or (.row as $r | $kr | index($r)))]'
	s=$(jq --arg k "$kvm_needs" "$q | map(select(.status==\"SKIP\")) | length" "$run/results.json")
	ran_kvm=$(jq --arg k "$kvm_needs" "$q | map(select(.status!=\"SKIP\")) | length" "$run/results.json")
	others=$(count "$run" pass)
	reason=$(jq -r --arg k "$kvm_needs" "$q | map(select(.status==\"SKIP\") | .reason) | unique | first // \"-\"" "$run/results.json")
	if [ "$f" = 0 ] && [ "$ran_kvm" = 0 ] && [ "$s" -gt 0 ]; then
		echo "  ok    $name: $s KVM tests SKIP (\"$reason\"), 0 FAIL; $others PASS that need no KVM"
		passed=$((passed + 1))
	else
		echo "  FAIL  $name: fail=$f, $ran_kvm KVM tests not skipped (see $run)"
		failed=$((failed + 1))
	fi
}
env_check no-kvm env PRIVMEM_ENV=no-kvm LD_PRELOAD="$shim"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	env_check non-root setpriv --reuid=65534 --regid=65534 --clear-groups
else
	echo "  skip  non-root: needs root and setpriv to drop privileges"
	skipped=$((skipped + 1))
fi

# ---- 4. benchmarks: smoke run, output schema and sanity, knobs restored ------------------
echo
echo "== benchmarks: smoke run of each (schema and sanity, not timing)"
# What a benchmark may change and must restore.
machine_state() {
	cat /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/shmem_enabled \
		/sys/kernel/mm/transparent_hugepage/defrag /proc/sys/vm/nr_hugepages 2>/dev/null
	grep -c ' tracefs ' /proc/mounts
	ps -eo comm= | grep -cxE 'stress-ng|fio|perf'
}
bench_names="fault_in shootdown hugepage bounce directmap"
if [ "$(id -u)" != 0 ]; then
	for n in $bench_names; do echo "  skip  $n: benchmarks need root"; skipped=$((skipped + 1)); done
else
	state0=$(machine_state)
	"$top/scripts/bench.sh" --smoke --quiet --results "$work/bench" >"$work/bench.log" 2>&1
	brun=$(newest "$work/bench")
	for n in $bench_names; do
		if [ -z "$brun" ] || [ ! -r "$brun/bench.json" ]; then
			echo "  FAIL  $n: the smoke run wrote no results (see $work/bench.log)"
			failed=$((failed + 1))
			continue
		fi
		st=$(jq -r --arg n "$n" '.benchmarks[] | select(.name == $n) | .status' "$brun/bench.json")
		why=$(jq -r --arg n "$n" '.benchmarks[] | select(.name == $n) | .reason // ""' "$brun/bench.json")
		case $st in
		skip) echo "  skip  $n: $why"; skipped=$((skipped + 1)); continue ;;
		ok) ;;
		*) echo "  FAIL  $n: ${st:-not run}: $why (see $brun/$n.log)"; failed=$((failed + 1)); continue ;;
		esac
		problems=$(jq -r -f "$top/bench/checks/common.jq" "$brun/$n.json" 2>&1
			[ -r "$top/bench/checks/$n.jq" ] && jq -r -f "$top/bench/checks/$n.jq" "$brun/$n.json" 2>&1)
		head -c 8 "$brun/$n.png" 2>/dev/null | grep -q PNG || problems="$problems"$'\n'"no PNG plot"
		grep -q '<svg' "$brun/$n.svg" 2>/dev/null || problems="$problems"$'\n'"no SVG plot"
		for t in $(jq -r '.tables[]?' "$brun/$n.json"); do
			[ "$(wc -l <"$brun/$t")" -ge 2 ] || problems="$problems"$'\n'"table $t has no rows"
		done
		# The checks can fail: corrupted copies of this very result must be flagged.
		j=$brun/$n.json
		[ "$(jq '.metrics[0].stats.median = 0 | .valid = false' "$j" | jq -r -f "$top/bench/checks/common.jq" | wc -l)" -gt 0 ] ||
			problems="$problems"$'\n'"common.jq does not flag a zero median or an invalid result"
		if [ -r "$top/bench/checks/$n.jq" ]; then
			[ "$(jq '.metrics = [] | .results = {}' "$j" | jq -r -f "$top/bench/checks/$n.jq" 2>&1 | wc -l)" -gt 0 ] ||
				problems="$problems"$'\n'"$n.jq does not flag a result without its metrics"
		fi
		problems=$(echo "$problems" | sed '/^$/d')
		if [ -z "$problems" ]; then
			echo "  ok    $n: $(jq -r '"\(.metrics | length) metrics, \(.references | keys | join(" "))"' "$brun/$n.json"), plots, tables; its checks flag corrupted copies"
			passed=$((passed + 1))
		else
			echo "  FAIL  $n:"
			echo "$problems" | sed 's/^/        /'
			failed=$((failed + 1))
		fi
	done
	if [ "$(machine_state)" = "$state0" ]; then
		echo "  ok    machine left as found (THP modes, nr_hugepages, tracefs, no stray stress-ng/fio/perf)"
		passed=$((passed + 1))
	else
		echo "  FAIL  the benchmarks changed the machine:"
		diff <(echo "$state0") <(machine_state) | sed 's/^/        /'
		failed=$((failed + 1))
	fi
	# SIGINT in the middle of a run that changed a knob: restored, and nothing written.
	sig=$work/bench-sigint && mkdir -p "$sig"
	"$build/bench/hugepage" --quick --out "$sig" >/dev/null 2>"$sig.log" &
	pid=$!
	for _ in $(seq 100); do
		[ "$(machine_state)" != "$state0" ] && break
		sleep 0.1
	done
	changed=$([ "$(machine_state)" != "$state0" ] && echo yes || echo no)
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	if [ "$changed" = yes ] && [ "$(machine_state)" = "$state0" ] && [ -z "$(ls -A "$sig")" ]; then
		echo "  ok    SIGINT mid-run: knobs restored, no partial result ($(tail -n 1 "$sig.log"))"
		passed=$((passed + 1))
	else
		echo "  FAIL  SIGINT mid-run: knob changed=$changed, restored=$([ "$(machine_state)" = "$state0" ] && echo yes || echo no), left: $(ls -A "$sig" | tr '\n' ' ')"
		failed=$((failed + 1))
	fi
	# Bad input: one line on stderr, exit 2, nothing written.
	bad_ok=1
	for args in "--bogus" "--reps 0" "--out /nonexistent/dir" "--set nosuchparam=1"; do
		# shellcheck disable=SC2086
		"$build/bench/bounce" --smoke --out "$sig" $args >/dev/null 2>"$sig.err"
		rc=$?
		if [ $rc != 2 ] || [ "$(wc -l <"$sig.err")" != 1 ] || [ -n "$(ls -A "$sig")" ]; then
			echo "  FAIL  bad input '$args': exit $rc, $(wc -l <"$sig.err") stderr lines"
			bad_ok=0
		fi
	done
	if [ $bad_ok = 1 ]; then
		echo "  ok    bad arguments: one-line error, exit 2, nothing written"
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
fi

echo
echo "conformance results: $run"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
