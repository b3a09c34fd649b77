#!/bin/bash
# make check: what CI runs. Every check waits on events (a line, an exit), never on a fixed
# time; the caps (per-binary timeouts, the wait for a benchmark's "changed knob" line) only
# bound something that never happens.
#  0. the report tool's self-test;
#  1. the conformance run (scripts/run.sh): no FAIL allowed, no kernel splat while a binary
#     runs; every test is a row of conformance/rows.tsv and every row is reported; the same
#     verdicts under the stress-ng background profiles vm-pressure, memfd, tlb
#     (scripts/pressure.sh);
#  2. every deviation of the deviant shim, run against its area's collection: each must
#     be detected by an assertion in a row it targets (scripts/lib/kills.sh); crashes and
#     failures of other rows do not count; prints the honest kill rate and each verdict;
#     known backend deviations must FAIL in strict mode; the real-bug corpus is well formed
#     and every mutant applies to the pristine tree (scripts/mutants.sh --check);
#  3. the suite without /dev/kvm and as user nobody (from a copy nobody can reach): every
#     test of a row that needs KVM SKIPs with a reason; nothing FAILs anywhere; a kernel
#     splat injected through /dev/kmsg while a binary runs fails that binary;
#  4. the benchmarks: a --smoke run of each, its output checked for schema and sanity
#     (bench/checks/common.jq + bench/checks/<name>.jq, plots, tables; never timing); the
#     machine's knobs are as before; SIGINT once a knob changed restores them and leaves no
#     result; bad arguments get one line and exit 2; the hugepage sizing page (sizing.md,
#     privmem-report --bench-sizing, its bad input). Checks of several clones on one
#     machine take turns (flock on ${TMPDIR:-/tmp}/privmem-machine.lock).
#  5. the model-based fuzzer (scripts/fuzz.sh): a fixed budget on sw-default (guest entries,
#     none, races) without a divergence or splat; the shim deviation punch-ignored-when-bound
#     found by the fuzzer alone, shrunk, and its C reproducer diverging again;
# Ends with "N passed, N failed, N skipped": conformance results plus one entry per
# deviation and per check.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build
shim=$build/deviant.so
# shellcheck source=lib/kills.sh
. "$top/scripts/lib/kills.sh"
# shellcheck source=lib/checks.sh
. "$top/scripts/lib/checks.sh"
# shellcheck source=lib/bench-list.sh
. "$top/scripts/lib/bench-list.sh"
# shellcheck source=lib/bench-compare-check.sh
. "$top/scripts/lib/bench-compare-check.sh"
# shellcheck source=lib/bench-sizing-check.sh
. "$top/scripts/lib/bench-sizing-check.sh"
work=$build/check
passed=0 failed=0 skipped=0

die() { echo "privmem check: $*" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 2; }
[ -r "$shim" ] || die "not built: run 'make'"
command -v jq >/dev/null || die "jq missing: run 'make deps'"
rm -rf "$work" && mkdir -p "$work" || die "cannot create $work"
# Two checks on one machine take turns: the pressure runs, the benchmarks and the machine-state
# comparisons must not see another check's stress-ng or knobs.
machine_lock || die "could not take ${TMPDIR:-/tmp}/privmem-machine.lock within an hour"

count() { jq -r ".summary.$2" "$1/results.json"; }

# ---- 0. the report tool parses what it must (pass/fail/skip/crash/corrupt input) ---------
echo "== report tool self-test"
report_selftest "$build/privmem-report" "$work/report-selftest.log"
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

# ---- 1c. verdicts under pressure: the same as the quiet run above -------------------------
echo
echo "== verdicts under a stress-ng background load equal the quiet run's"
if command -v stress-ng >/dev/null; then
	"$top/scripts/pressure.sh" --quiet --baseline "$run" --results "$work/pressure" >"$work/pressure.log" 2>&1
	grep -E '^  (ok|FAIL)' "$work/pressure.log" | head -n 40
	read -r pp pf _ < <(tail -n 1 "$work/pressure.log" | awk '/passed,/ { print $1, $3 }')
	passed=$((passed + ${pp:-0})) failed=$((failed + ${pf:-1}))
else
	echo "  skip  pressure: stress-ng missing (make deps)"
	skipped=$((skipped + 1))
fi

# ---- 2. deviations: each must be detected by an assertion in a row it targets -------------
echo
echo "== deviant shim: every deviation must FAIL a row it targets, by an assertion"
# "name<TAB>area<TAB>host|lab<TAB>target rows<TAB>description": each deviation runs against its
# area's collection (scripts/run.sh --only '<area>/*' under the shim, one binary at a time) and
# is judged by scripts/lib/kills.sh: detected / crashed / collateral / undetected. "lab" ones
# need a kernel feature this host may lack (sw-protected VMs): make lab-matrix proves them.
PRIVMEM_DEVIATION=list LD_PRELOAD=$shim /bin/true >"$work/deviations.list" || die "the shim cannot list its deviations"
awk -F'\t' '$3 == "host"' "$work/deviations.list" >"$work/deviations.host"
[ -s "$work/deviations.host" ] || die "the shim lists no host deviations"

# One deviation: "<name> <area> <verdict> <hits> <crashes> <collateral> <example>".
run_deviation() {
	local dev=$1 area targets out=$work/dev/$1 res unknown
	area=$(awk -F'\t' -v d="$dev" '$1 == d { print $2 }' "$work/deviations.host")
	targets=$(awk -F'\t' -v d="$dev" '$1 == d { print $4 }' "$work/deviations.host")
	unknown=$(kill_targets_unknown "$top/conformance/rows.tsv" "$targets")
	if [ -z "$targets" ] || [ -n "$unknown" ]; then
		echo "$dev $area no-targets 0 0 0 ${unknown:-none-named}" | tr -s ' '
		return
	fi
	mkdir -p "$out"
	# Only the binaries that hold a target row (kill_binaries): the verdict is theirs.
	PRIVMEM_DEVIATION=$dev LD_PRELOAD=$shim PRIVMEM_JOBS=1 \
		"$top/scripts/run.sh" --quiet --only "$area/@($(kill_binaries "$area" "$targets" | tr " " "|"))" \
		--results "$out" >"$out.log" 2>&1
	res=$(newest "$out")
	if [ -z "$res" ] || [ ! -r "$res/results.json" ]; then
		echo "$dev $area no-results 0 0 0 $out.log"
		return
	fi
	echo "$dev $area $(kill_verdict "$res/results.json" "$targets")"
}
export -f run_deviation newest kill_verdict kill_targets_unknown kill_binaries
export build shim work top

cut -f1 "$work/deviations.host" | xargs -P "$(nproc)" -I{} bash -c 'run_deviation "$1"' _ {} | sort >"$work/deviations.txt"
kill_table "$work/deviations.txt" "kill rate"
d=$(awk '$3 == "detected"' "$work/deviations.txt" | wc -l)
passed=$((passed + d)) failed=$((failed + $(wc -l <"$work/deviations.txt") - d))

# ---- 2b. known backend deviations: keyed by rows, XFAIL, and FAIL by assertion in strict mode ----
echo
echo "== known backend deviations (platforms/known.c)"
unknown=$("$build/privmem-caps" --known | cut -f2 | while read -r id; do
	cut -f1 "$top/conformance/rows.tsv" | grep -qxF -- "$id" || printf '%s ' "$id"; done)
if [ -z "$unknown" ]; then
	echo "  ok    $("$build/privmem-caps" --known | wc -l) entries, each keyed by a rows.tsv id"
	passed=$((passed + 1))
else
	echo "  FAIL  platforms/known.c names rows that conformance/rows.tsv lacks: $unknown"
	failed=$((failed + 1))
fi
xfails=$(jq -r '[.tests[] | select(.status == "XFAIL") | .id] | sort | join(" ")' "$run/results.json")
if [ -n "$xfails" ]; then
	PRIVMEM_STRICT=1 "$top/scripts/run.sh" --quiet --results "$work/strict" >"$work/strict.log" 2>&1
	srun=$(newest "$work/strict")
	# Strict mode must turn exactly the XFAIL tests into assertion failures, and nothing else.
	sfails=$([ -n "$srun" ] && jq -r '[.tests[] | select(.status == "FAIL" and .kind == "assert") | .id] | sort | join(" ")' "$srun/results.json")
	sother=$([ -n "$srun" ] && jq -r '[.tests[] | select(.status == "FAIL" or .status == "XPASS" or .status == "XFAIL") | .id] | length' "$srun/results.json")
	if [ -n "$srun" ] && [ "$sfails" = "$xfails" ] && [ "$sother" = "$(wc -w <<<"$xfails")" ]; then
		echo "  ok    $(wc -w <<<"$xfails") known deviation(s) reported XFAIL; PRIVMEM_STRICT=1 fails exactly those tests, by assertion"
		passed=$((passed + 1))
	else
		echo "  FAIL  PRIVMEM_STRICT=1: XFAIL tests [$xfails], strict assertion failures [$sfails] (see ${srun:-$work/strict.log})"
		failed=$((failed + 1))
	fi
fi

# ---- 2c. the real-bug corpus: headers, rows, patches apply (the builds are make mutants) ---
echo
echo "== real-bug corpus (conformance/mutants/)"
if "$top/scripts/mutants.sh" --check; then passed=$((passed + 1)); else failed=$((failed + 1)); fi

# ---- 3. without KVM or root: rows that need KVM SKIP, nothing FAILs ---------------------
echo
echo "== without KVM or root: SKIP with reasons, never FAIL"
# Rows whose `needs` (conformance/rows.tsv) name KVM: under no-kvm and non-root every
# test of theirs must SKIP. The others (secretmem, seals, ...) may run; nothing may FAIL.
kvm_needs='KVM|GUEST_MEMFD|sw-default|sw-protected'
env_check() {	# name, top directory to run from, results directory, command prefix...
	local name=$1 from=$2 dir=$3 run f s ran_kvm others reason q
	shift 3
	mkdir -p "$dir" && chmod 0777 "$dir"
	"$@" env RESULTS="$dir" "$from/scripts/run.sh" --quiet --results "$dir" >"$dir.log" 2>&1
	run=$(newest "$dir")
	if [ -z "$run" ] || [ ! -r "$run/results.json" ]; then
		echo "  FAIL  $name: no results: $(tail -n 1 "$dir.log" 2>/dev/null) (see $work/env-$name.log)"
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

# The runner, the binaries and rows.tsv copied where an unprivileged user can reach them: the
# clone may sit under a directory only root can enter (Debian 12 makes new homes 0700).
reachable_copy() {
	local c bin d
	c=$(mktemp -d "${TMPDIR:-/tmp}/privmem-check.XXXXXX") || return 1
	mkdir -p "$c/scripts" "$c/conformance" "$c/build/conformance" "$c/results" &&
		cp -r "$top/scripts/run.sh" "$top/scripts/lib" "$c/scripts/" &&
		cp "$top/conformance/rows.tsv" "$c/conformance/" &&
		cp "$build/privmem-caps" "$build/privmem-report" "$build/privmem-kmsg" "$c/build/" ||
		{ rm -rf "$c"; return 1; }
	for bin in "$build"/conformance/*/*_test; do
		d=$c/build/conformance/$(basename "$(dirname "$bin")")
		mkdir -p "$d" && cp "$bin" "$d/" || { rm -rf "$c"; return 1; }
	done
	chmod -R a+rX "$c" && chmod 0777 "$c/results"
	echo "$c"
}

env_check no-kvm "$top" "$work/env-no-kvm" env PRIVMEM_ENV=no-kvm LD_PRELOAD="$shim"
nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	echo "  skip  non-root: needs root and setpriv to drop privileges"
	skipped=$((skipped + 1))
elif ! copy=$(reachable_copy); then
	echo "  skip  non-root: cannot copy the suite to a directory user nobody can reach under ${TMPDIR:-/tmp}"
	skipped=$((skipped + 1))
elif ! $nobody test -x "$copy/scripts/run.sh"; then
	echo "  skip  non-root: user nobody cannot execute $copy/scripts/run.sh (noexec ${TMPDIR:-/tmp}?)"
	skipped=$((skipped + 1))
	rm -rf "$copy"
else
	# shellcheck disable=SC2086 # $nobody is a command prefix
	env_check non-root "$copy" "$copy/results" $nobody
	cp -r "$copy/results" "$work/env-non-root" 2>/dev/null
	cp "$copy/results.log" "$work/env-non-root.log" 2>/dev/null
	rm -rf "$copy"
fi

# ---- 3b. a kernel splat while a binary runs fails that binary ------------------------------
echo
echo "== kernel splats fail the binary that was running"
# The shim's PRIVMEM_ENV=kmsg-splat makes each test binary write a WARN()-shaped line to
# /dev/kmsg as it starts: inside the runner's window for that binary, by construction.
if ! "$build/privmem-kmsg" mark >/dev/null 2>"$work/kmsg.err"; then
	echo "  skip  kernel splats: the kernel log cannot be read here ($(cat "$work/kmsg.err"))"
	skipped=$((skipped + 1))
else
	PRIVMEM_ENV=kmsg-splat LD_PRELOAD=$shim "$top/scripts/run.sh" --quiet --only 'vmlib/*' \
		--results "$work/splat" >"$work/splat.log" 2>&1
	srun=$(newest "$work/splat")
	verdict=$([ -n "$srun" ] && splat_proof_verdict "$srun/results.json")
	if [ "${verdict%% *}" = ok ]; then
		echo "  ok    injected splat fails ${verdict#ok }"
		passed=$((passed + 1))
	else
		echo "  FAIL  injected splat: expected one 'splat' failure of vmlib_test, got: ${verdict#FAIL } (see ${srun:-$work/splat.log})"
		failed=$((failed + 1))
	fi
fi
# And the real runs above saw none: a splat there already failed its binary (section 1).

# ---- 3c. bad input to the runners: one line on stderr, exit 2, nothing written --------------
bad=$work/bad-input && mkdir -p "$bad/results"
bad_ok=1
while IFS= read -r cmd; do
	# shellcheck disable=SC2086 # each line is a command with its arguments
	(cd "$top" && eval "$cmd") >/dev/null 2>"$bad/err"
	rc=$?
	if [ $rc != 2 ] || [ "$(wc -l <"$bad/err")" != 1 ] || [ -n "$(ls -A "$bad/results")" ]; then
		echo "  FAIL  bad input '$cmd': exit $rc, $(wc -l <"$bad/err") stderr lines, wrote: $(ls -A "$bad/results" | tr '\n' ' ')"
		bad_ok=0
		rm -rf "${bad:?}/results" && mkdir -p "$bad/results"
	fi
done <<EOF
scripts/run.sh --results $bad/results --only 'no-such-collection/*'
scripts/run.sh --results $bad/results --background no-such-profile
scripts/run.sh --results $bad/results --bogus
scripts/pressure.sh --results $bad/results --profiles no-such-profile
scripts/flake.sh 0
$build/privmem-kmsg since not-a-number
$build/privmem-report --diff $bad/results
scripts/fuzz.sh --results $bad/results --ops many
$build/privmem-fuzz --platform no-such-platform
scripts/lava.sh --results $bad/results --arch sparc
scripts/lava.sh --results $bad/results --timeout 0
scripts/lava.sh --results $bad/results --tarball $bad/no-such.tar.gz
EOF
if [ $bad_ok = 1 ]; then
	echo "  ok    bad input to run.sh, pressure.sh, flake.sh, privmem-kmsg, privmem-report, fuzz.sh, privmem-fuzz, lava.sh: one line, exit 2, nothing written"
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

# ---- 3b. the kselftest install tree a fleet deploys (make install) -----------------------
echo
echo "== kselftest install tree (make install): run from the tree alone, reported elsewhere, equal to make run's"
inst=$work/install
if make -s -C "$top" install INSTALL_PATH="$inst" >"$work/install.log" 2>&1; then
	missing=$(while IFS=: read -r coll t; do [ -x "$inst/$coll/$t" ] || echo "$coll/$t"; done <"$inst/kselftest-list.txt")
	listed=$(wc -l <"$inst/kselftest-list.txt")
	# Through a pipe, as a fleet's console captures it: the runner appends each binary's
	# output to /dev/stdout, which interleaves correctly only on a pipe.
	(cd "$inst" && ./run_kselftest.sh 2>&1 | cat) >"$work/install.out"
	"$inst/privmem/privmem-caps" --quiet --json "$work/install-caps.json" >/dev/null 2>&1
	"$build/privmem-report" --from-kselftest "$work/install.out" "$work/install-run" \
		--caps "$work/install-caps.json" --rows "$inst/privmem/rows.tsv" >"$work/install-report.log" 2>&1
	same=$("$build/privmem-report" --diff "$run" "$work/install-run" 2>&1 | tail -n 1)
	if [ -z "$missing" ] && [ "$listed" -gt 0 ] && [ -r "$work/install-run/results.json" ] &&
		[ "$same" = "0 new failures, 0 fixed, 0 newly skipped, 0 no longer skipped, 0 added, 0 removed" ]; then
		echo "  ok    $listed tests listed and installed; run_kselftest.sh from the tree, --from-kselftest: $(tail -n 1 "$work/install-report.log"), the same verdicts as the conformance run"
		passed=$((passed + 1))
	else
		echo "  FAIL  install tree: missing [$missing], $listed listed; --from-kselftest: $(tail -n 1 "$work/install-report.log"); against the conformance run: $same"
		failed=$((failed + 1))
	fi
else
	echo "  FAIL  make install: $(tail -n 1 "$work/install.log")"
	failed=$((failed + 1))
fi
# Two runs of one machine merged: one matrix, nothing failing, nothing differing.
mkdir -p "$work/merge"
merged=$("$build/privmem-report" --merge "$work/merge" "$run" "$work/install-run" 2>&1); rc=$?
if [ $rc = 0 ] && grep -q ": 0 fail in some run, 0 differ between runs;" <<<"$merged" && [ -s "$work/merge/merged.md" ] &&
	[ "$(jq '.runs | length' "$work/merge/merged.json")" = 2 ]; then
	echo "  ok    --merge of the conformance run and the install-tree run: ${merged%%;*}"
	passed=$((passed + 1))
else
	echo "  FAIL  --merge: exit $rc, $merged"
	failed=$((failed + 1))
fi
rm -rf "${work:?}/bad-kst" && mkdir -p "$work/bad-kst"
head -n 6 "$work/install.out" >"$work/bad-kst/cut.out"	# a header without its verdict
if make -s -C "$top" install INSTALL_PATH=/ >/dev/null 2>&1; then
	echo "  FAIL  make install INSTALL_PATH=/ was not refused"
	failed=$((failed + 1))
elif "$build/privmem-report" --from-kselftest "$work/bad-kst/cut.out" "$work/bad-kst/run" >/dev/null 2>&1 ||
	[ -e "$work/bad-kst/run" ] || [ -n "$(ls -d "$work"/bad-kst/run.* 2>/dev/null)" ]; then
	echo "  FAIL  --from-kselftest accepted a run cut short, or left a directory"
	failed=$((failed + 1))
else
	echo "  ok    make install INSTALL_PATH=/ refused; --from-kselftest refuses a run cut short, writes nothing"
	passed=$((passed + 1))
fi

# ---- 3c. the LAVA test definition's converter (lava/ktap-to-lava.sh, in the tree) ------------------
echo
echo "== LAVA test cases from the runner's output (privmem/ktap-to-lava.sh): every result, the report's verdict"
# lava_expected RUN_DIR: the test cases the LAVA test definition must report for a run, from
# privmem's own results.json (XFAIL is an ok line, XPASS a not-ok one), binaries last per binary.
lava_expected() {
	jq -r '.tests[] | "\(.collection).\(.binary).\(.name | gsub("[^A-Za-z0-9_.-]+"; "_")) " +
		({"PASS": "pass", "XFAIL": "pass", "SKIP": "skip"}[.status] // "fail")' "$1/results.json" | sort
}
lava_converted() { "$inst/privmem/ktap-to-lava.sh" "$1" | grep -E '^[^ .]+\.[^ .]+\.[^ ]+ ' | sort; }	# the results, not the binaries
# A deviation the conformance suite catches (seals_create.null_name_efault FAILs): its row must
# reach LAVA as a failed case, and the binary with it.
dev=seals-null-name-einval
(cd "$inst" && PRIVMEM_DEVIATION=$dev LD_PRELOAD=$shim ./run_kselftest.sh -c privmem/seals 2>&1 | cat) >"$work/lava-dev.out"
"$build/privmem-report" --from-kselftest "$work/lava-dev.out" "$work/lava-dev-run" --rows "$inst/privmem/rows.tsv" >/dev/null 2>&1
conv=$("$inst/privmem/ktap-to-lava.sh" "$work/install.out" | wc -l)
if [ -r "$work/install-run/results.json" ] && [ -r "$work/lava-dev-run/results.json" ] &&
	cmp -s <(lava_expected "$work/install-run") <(lava_converted "$work/install.out") &&
	cmp -s <(lava_expected "$work/lava-dev-run") <(lava_converted "$work/lava-dev.out") &&
	[ "$conv" = $(($(jq '.tests | length' "$work/install-run/results.json") + ${listed:-0})) ] &&
	"$inst/privmem/ktap-to-lava.sh" "$work/lava-dev.out" | grep -qx 'seals.seals_create_test.seals_create.null_name_efault fail' &&
	"$inst/privmem/ktap-to-lava.sh" "$work/lava-dev.out" | grep -qx 'seals.seals_create_test fail'; then
	echo "  ok    $conv test cases (${listed:-0} binaries and each result, as the report judged it); under $dev, seals_create.null_name_efault and seals_create_test reach LAVA as fail"
	passed=$((passed + 1))
else
	echo "  FAIL  ktap-to-lava.sh: $conv cases for ${listed:-0} binaries and $(jq '.tests | length' "$work/install-run/results.json" 2>/dev/null) results; against the report: $(diff <(lava_expected "$work/install-run") <(lava_converted "$work/install.out") | grep -c '^[<>]') differ; under $dev: $(diff <(lava_expected "$work/lava-dev-run") <(lava_converted "$work/lava-dev.out") | head -n 3 | tr '\n' ' ')"
	failed=$((failed + 1))
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
bench_names=$(bench_names "$top")
if [ "$(id -u)" != 0 ]; then
	for n in $bench_names; do echo "  skip  $n: benchmarks need root"; skipped=$((skipped + 1)); done
else
	state0=$(machine_state)
	"$top/scripts/bench.sh" --smoke --quiet --results "$work/bench" >"$work/bench.log" 2>&1
	brun=$(newest "$work/bench")
	bench_smoke_all "$brun" "$bench_names" --full
	passed=$((passed + smoke_passed)) failed=$((failed + smoke_failed)) skipped=$((skipped + smoke_skipped))
	bench_compare_checks "$brun" "$work" "$build/privmem-report"
	bench_merge_check "$brun" "$work" "$build/privmem-report"
	passed=$((passed + cmp_passed)) failed=$((failed + cmp_failed))
	bench_sizing_checks "$brun" "$work" "$build/privmem-report"
	passed=$((passed + sz_passed)) failed=$((failed + sz_failed)) skipped=$((skipped + sz_skipped))
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
	# The benchmark says on stderr when it has changed a knob ("pmb: changed knob ..."): the
	# check waits for that line (the cap only bounds a benchmark that never says it), never
	# for a fixed time, then interrupts.
	"$build/bench/hugepage" --quick --out "$sig" >/dev/null 2>"$sig.log" &
	pid=$!
	said=""
	exec {watch}< <(timeout 600 tail -n +1 -f --pid="$pid" "$sig.log")
	while IFS= read -r -u "$watch" line; do
		case $line in "pmb: changed knob "*) said=$line; break ;; esac
	done
	exec {watch}<&-
	changed=$([ -n "$said" ] && [ "$(machine_state)" != "$state0" ] && echo yes || echo no)
	kill -INT "$pid" 2>/dev/null
	wait "$pid"
	if [ "$changed" = yes ] && [ "$(machine_state)" = "$state0" ] && [ -z "$(ls -A "$sig")" ]; then
		echo "  ok    SIGINT after '${said#pmb: }': knobs restored, no partial result ($(tail -n 1 "$sig.log"))"
		passed=$((passed + 1))
	else
		echo "  FAIL  SIGINT mid-run: knob changed=$changed (${said:-the benchmark never said it changed a knob}), restored=$([ "$(machine_state)" = "$state0" ] && echo yes || echo no), left: $(ls -A "$sig" | tr '\n' ' ')"
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

# ---- 5. the model-based fuzzer: a fixed budget here, and detection down to a reproducer --------
echo
echo "== model-based fuzzer (conformance/fuzz/): fixed budget without divergence; a deviation found, shrunk, reproduced"
fz=$work/fuzz && mkdir -p "$fz"
fuzz_line() { sed -n 's/^\(ops [0-9]* executed\)[^,]*, [0-9]* skipped by the model, \([0-9]*\) with guest entries, \(.*\)/\1 (\2 with guest entries), \3/p' "$1"; }
for args in "--ops 10000 --seed 1" "--ops 100000 --seed 2 --no-guest" "--ops 3000 --seed 3 --race"; do
	# shellcheck disable=SC2086 # the arguments are words
	RESULTS=$fz/runs "$top/scripts/fuzz.sh" --quiet $args >"$fz/out" 2>&1
	rc=$?
	log=$(ls -td "$fz"/runs/*-fuzz* 2>/dev/null | head -n 1)/fuzz.log
	case $rc in
	0) echo "  ok    fuzz $args: $(fuzz_line "$log")"; passed=$((passed + 1)) ;;
	4) echo "  skip  fuzz $args: $(grep -m1 '^SKIP' "$fz/out")"; skipped=$((skipped + 1)) ;;
	*) echo "  FAIL  fuzz $args (exit $rc): $(grep -m3 -A2 'DIVERGENCE\|splat\|fuzz:' "$fz/out" "$log" 2>/dev/null | head -n 6)"
	   failed=$((failed + 1)) ;;
	esac
done
# A deviation the fuzzer must find on its own, shrink, and write as a C reproducer that, built on
# lib/ alone and run under the same deviation, diverges again (scripts/fuzz.sh checks that).
dev=punch-ignored-when-bound
PRIVMEM_DEVIATION=$dev LD_PRELOAD=$shim RESULTS=$fz/dev "$top/scripts/fuzz.sh" --quiet --ops 20000 --seed 1 >"$fz/dev.out" 2>&1
rc=$?
sum=$(ls -td "$fz"/dev/*-fuzz* 2>/dev/null | head -n 1)/summary.json
if [ $rc = 4 ]; then
	echo "  skip  fuzz detection: $(grep -m1 '^SKIP' "$fz/dev.out")"; skipped=$((skipped + 1))
elif [ $rc = 1 ] && [ "$(jq -r .reproduces "$sum" 2>/dev/null)" = true ]; then
	echo "  ok    fuzz found $dev after $(jq -r .executed "$sum") ops, shrunk to $(jq -r .shrunk_ops "$sum"), reproducer diverges again"
	passed=$((passed + 1))
else
	echo "  FAIL  fuzz under $dev: exit $rc, reproduces $(jq -r .reproduces "$sum" 2>/dev/null): $(tail -n 3 "$fz/dev.out")"
	failed=$((failed + 1))
fi

echo
echo "conformance results: $run"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
