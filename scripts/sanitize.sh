#!/bin/bash
# make check SANITIZE=1: the userspace parts built with AddressSanitizer +
# UndefinedBehaviorSanitizer (make SANITIZE=1, build/sanitize/), run with every
# sanitizer report fatal:
#  0. the report tool's self-test (report/selftest.sh), sanitized privmem-report;
#  1. the conformance run (scripts/run.sh): no FAIL allowed;
#  2. the benchmarks' smoke runs (scripts/bench.sh --smoke; root): each must end ok,
#     its output passing bench/checks/common.jq and bench/checks/<name>.jq;
#  2b. the model-based fuzzer's host side (--ops 3000 --race): no divergence;
#  3. no sanitizer report anywhere: ASan and LeakSanitizer write theirs to
#     <work>/sanitizer/ (log_path); UBSan writes to the process's stderr (GCC's
#     libubsan, loaded next to libasan, ignores log_path), and every sanitized
#     process's stderr is in a log of steps 0-2; all of them are scanned.
# Not run here (README, "Sanitizers"): the deviant shim (LD_PRELOAD cannot be
# combined with ASan), the runs without KVM or root (make check) and the lab.
# Ends with "N passed, N failed, N skipped": conformance results plus one entry for
# the self-test, one per benchmark, one for the fuzzer and one for the scan. Exit 0 only when
# nothing failed.
#
# Environment: PRIVMEM_BUILD=<sanitized build dir> (default build/sanitize),
#   PRIVMEM_TIMEOUT / PRIVMEM_JOBS as for scripts/run.sh.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/checks.sh
. "$top/scripts/lib/checks.sh"
# shellcheck source=lib/bench-list.sh
. "$top/scripts/lib/bench-list.sh"
build=${PRIVMEM_BUILD:-$top/build/sanitize}
work=$build/check
logs=$work/sanitizer
passed=0 failed=0 skipped=0

die() { echo "privmem sanitize: $*" >&2; echo "0 passed, 1 failed, 0 skipped"; exit 2; }
case "${1:-}" in
'') ;;
-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) die "unknown argument '$1' (try --help)" ;;
esac
[ -x "$build/privmem-report" ] && [ -x "$build/privmem-caps" ] || die "not built: run 'make SANITIZE=1'"
ldd "$build/privmem-report" | grep -q libasan ||
	die "$build is not a sanitized build (privmem-report has no ASan runtime): run 'make SANITIZE=1'"
command -v jq >/dev/null || die "jq missing: run 'make deps'"
rm -rf "$work" && mkdir -p "$logs" || die "cannot create $work"
t0=$(date +%s.%N)

# ---- sanitizer options: every report fatal, and written where step 3 finds it ----------
# verify_asan_link_order=0: run.sh starts the binaries under stdbuf, whose LD_PRELOADed
#   libstdbuf.so only sets stdio buffering in a constructor; without it ASan refuses to
#   start because its runtime is not first in the library list.
# handle_segv/handle_sigbus=1, allow_user_segv_handler=1 (ASan's defaults, explicit):
#   the tests' fault probes (pm_touch, historical.h) install their own SIGSEGV/SIGBUS
#   handlers around each intended fault and siglongjmp out; ASan lets them and
#   siglongjmp unpoisons the stack. Any other SIGSEGV/SIGBUS reaches ASan's handler and
#   becomes a report (with the stack) that step 3 counts; with =0 it would only be a
#   killed test.
# fast_unwind_on_malloc=0: full stacks through libjansson (no frame pointers), so leak
#   reports name privmem's frames and scripts/lsan.supp matches privmem-report only.
# detect_leaks=1: LeakSanitizer in every sanitized process that exits through exit();
#   kselftest's per-test children leave through _exit(), so for conformance it checks
#   the harness parent (fixtures, the capability probe) only.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:verify_asan_link_order=0:handle_segv=1:handle_sigbus=1:allow_user_segv_handler=1:fast_unwind_on_malloc=0:log_path=$logs/asan"
export LSAN_OPTIONS="suppressions=$top/scripts/lsan.supp:print_suppressions=0"
# -fno-sanitize-recover=all makes every UBSan finding fatal at compile time already.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1"
export PRIVMEM_BUILD=$build

count() { jq -r ".summary.$2" "$1/results.json"; }

# ---- 0. the report tool's self-test ---------------------------------------------------
echo "== report tool self-test (sanitized privmem-report)"
# The self-test keeps each run's stderr in a temporary file it deletes: through this
# wrapper (same stderr, same exit code) a copy stays where step 3 scans it.
mkdir -p "$work/report-stderr"
cat >"$work/privmem-report" <<EOF
#!/bin/sh
f=\$(mktemp "$work/report-stderr/XXXXXX.log") || exit 2
"$build/privmem-report" "\$@" 2>"\$f"
rc=\$?
cat "\$f" >&2
exit \$rc
EOF
chmod +x "$work/privmem-report"
report_selftest "$work/privmem-report" "$work/report-selftest.log"
echo

# ---- 1. conformance -------------------------------------------------------------------
echo "== conformance run (sanitized)"
"$top/scripts/run.sh" --results "$work/results" 2>"$work/run.log"
rc=$?
[ $rc -le 1 ] || { cat "$work/run.log" >&2; die "conformance run failed to produce results"; }
run=$(newest "$work/results")
[ -n "$run" ] && [ -r "$run/results.json" ] || die "no results.json from the conformance run"
p=$(count "$run" pass) f=$(count "$run" fail) s=$(count "$run" skip) x=$(count "$run" xfail)
passed=$((passed + p + x)) failed=$((failed + f)) skipped=$((skipped + s))

# ---- 2. benchmarks: smoke runs ----------------------------------------------------------
echo
echo "== benchmarks: smoke run of each (sanitized)"
bench_names=$(bench_names "$top")
if [ "$(id -u)" != 0 ]; then
	for n in $bench_names; do echo "  skip  $n: benchmarks need root"; skipped=$((skipped + 1)); done
else
	machine_lock || die "could not take ${TMPDIR:-/tmp}/privmem-machine.lock within an hour"
	"$top/scripts/bench.sh" --smoke --quiet --results "$work/bench" >"$work/bench.log" 2>&1
	brun=$(newest "$work/bench")
	bench_smoke_all "$brun" "$bench_names"
	passed=$((passed + smoke_passed)) failed=$((failed + smoke_failed)) skipped=$((skipped + smoke_skipped))
fi

# ---- 2b. the fuzzer's host side (model, runtime, shrinking) -----------------------------------
echo
echo "== model-based fuzzer (sanitized host side)"
"$build/privmem-fuzz" --ops 3000 --seed 1 --race --json "$work/fuzz.json" >"$work/fuzz.log" 2>&1
rc=$?
case $rc in
0) echo "  ok    fuzz --ops 3000 --race: $(jq -r '"\(.executed) ops (\(.guest_ops) with guest entries, \(.races) races), no divergence"' "$work/fuzz.json")"
   passed=$((passed + 1)) ;;
4) echo "  skip  fuzz: $(grep -m1 '^SKIP' "$work/fuzz.log")"; skipped=$((skipped + 1)) ;;
*) echo "  FAIL  fuzz (exit $rc): $(grep -m1 -A2 '^DIVERGENCE' "$work/fuzz.log" || tail -n 2 "$work/fuzz.log")"
   failed=$((failed + 1)) ;;
esac

# ---- 3. no sanitizer report in any log --------------------------------------------------
echo
echo "== sanitizer reports"
pattern='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|LeakSanitizer|AddressSanitizer|UndefinedBehaviorSanitizer|ASan runtime does not come first'
mapfile -t scanned < <(find "$work" -type f \( -name '*.log' -o -name '*.ktap' -o -name '*.out' \) 2>/dev/null)
mapfile -t reports < <(find "$logs" -type f 2>/dev/null)
mapfile -t hits < <(grep -lE "$pattern" "${scanned[@]}" /dev/null 2>/dev/null)
if [ ${#reports[@]} = 0 ] && [ ${#hits[@]} = 0 ]; then
	echo "  ok    0 sanitizer reports (${#scanned[@]} logs scanned, none in $logs)"
	passed=$((passed + 1))
else
	echo "  FAIL  $(( ${#reports[@]} + ${#hits[@]} )) file(s) with sanitizer reports:"
	for f in "${reports[@]}" "${hits[@]}"; do
		echo "        $f: $(grep -m1 -E "$pattern|SUMMARY" "$f")"
	done
	failed=$((failed + 1))
fi

echo
echo "sanitized run: $(printf '%.0f' "$(echo "$(date +%s.%N) - $t0" | bc)") s; conformance results: ${run%/}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
