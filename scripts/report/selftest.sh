#!/bin/sh
# Self-test for privmem-report: run it on the handcrafted runs in testdata/
# and check exit codes and key output fields.  The runs are copied to a
# temporary directory first, so the source tree never receives outputs.
#
# usage: selftest.sh [path/to/privmem-report]     (needs jq; xmllint optional)
# shellcheck disable=SC2016 # $names in single quotes are jq variables
set -u

here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/privmem-report}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
[ -x "$bin" ] || { echo "selftest: $bin is not built" >&2; exit 2; }
command -v jq >/dev/null || { echo "selftest: jq is required" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/privmem-report-test.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cp -R "$here/testdata/." "$tmp/"
cd "$tmp" || exit 2
# Fixed timestamp: outputs are reproducible and can be compared.
SOURCE_DATE_EPOCH=1700000000
export SOURCE_DATE_EPOCH

n=0
failed=0

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	desc=$1
	shift
	n=$((n + 1))
	if "$@" >/dev/null 2>&1; then
		echo "ok $n - $desc"
	else
		echo "not ok $n - $desc"
		failed=$((failed + 1))
	fi
}

# run ARGS...: run privmem-report, keep stdout/stderr/exit code.
run() {
	"$bin" "$@" >out.txt 2>err.txt
	rc=$?
}

is() { [ "$1" = "$2" ]; }
jqt() { f=$1; shift; jq -e "$@" "$f"; }		# FILE [JQ-OPTION...] EXPR: EXPR is true
has() { grep -qF -- "$2" "$1"; }			# FILE TEXT
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }
no_temps() { [ -z "$(find "$1" -mindepth 1 -maxdepth 1 -name '.*')" ]; }	# DIR
no_outputs() {						# DIR: nothing was written
	no_temps "$1" && [ -z "$(find "$1" -maxdepth 1 \( -name results.json \
		-o -name junit.xml -o -name summary.md \))" ]
}
xml_ok() { ! command -v xmllint >/dev/null || xmllint --noout "$1"; }
test_is() {						# FILE ID STATUS REASON-FIRST-LINE
	jqt "$1" --arg id "$2" --arg st "$3" --arg why "$4" '[.tests[] | select(.id == $id)] |
		length == 1 and .[0].status == $st and ((.[0].reason // "") | split("\n") | .[0] // "") == $why'
}

# ---- command line
run --help
check "--help exits 0" is "$rc" 0
check "--help prints usage" has out.txt "usage: privmem-report RUN_DIR"
run --bogus
check "unknown option exits 2" is "$rc" 2
check "unknown option: one line on stderr" one_line err.txt
run
check "no arguments exits 2" is "$rc" 2
run does-not-exist
check "missing RUN_DIR exits 2" is "$rc" 2
mkdir no-ktap
run no-ktap
check "RUN_DIR without ktap/ exits 2" is "$rc" 2
check "RUN_DIR without ktap/: nothing written" no_outputs no-ktap

# ---- the mixed run: pass/fail/skip/xfail, 1..0 skip, crash, timeout, nested
run run-new
check "run-new exits 1 (has failures)" is "$rc" 1
check "run-new: last stdout line" is "$(tail -n 1 out.txt)" "5 passed, 7 failed, 2 skipped"
check "run-new: stdout fits one screen" [ "$(wc -l <out.txt)" -le 25 ]
check "run-new: stdout lists the failure" has out.txt \
	"FAIL guest_memfd.gmem_fileops_test.gmem.default_mmap.read_fails: gmem_fileops_test.c:45:"
R=run-new/results.json
check "results.json: format and version" jqt $R '.format == "privmem-results" and .version == 1'
check "results.json: run" jqt $R '.run == {dir: "run-new", generated: "2023-11-14T22:13:20Z",
	kernel: "6.12.0-privmem", host: "testhost"}'
check "results.json: summary" jqt $R '.summary == {total: 14, pass: 4, fail: 6, skip: 2,
	xfail: 1, xpass: 1, binaries: 6, seconds: 76.83}'
check "results.json: caps copied verbatim" jqt $R --slurpfile c run-new/caps.json '.caps == $c[0]'
check "results.json: platforms from caps" jqt $R '.platforms | map(.name) == ["kvm", "tdx"]'
check "results.json: tests sorted by collection, binary" jqt $R \
	'[.tests[] | [.collection, .binary]] as $k | $k == ($k | sort)'
check "results.json: file order inside a binary" jqt $R '[.tests[] |
	select(.binary == "gmem_fileops_test") | .name] == ["global.create_sizes",
	"gmem.default_mmap.read_fails", "gmem.default_mmap.mmap_private", "gmem.x.y"]'
check "PASS" test_is $R guest_memfd.gmem_fileops_test.global.create_sizes PASS ""
check "FAIL with assertion diagnostics" test_is $R \
	guest_memfd.gmem_fileops_test.gmem.default_mmap.read_fails FAIL \
	"gmem_fileops_test.c:45:read_fails:Expected -1 (-1) == ret (4096)"
check "FAIL reason excludes harness banners" jqt $R '.tests[] |
	select(.name == "gmem.default_mmap.read_fails") | .reason ==
	"gmem_fileops_test.c:45:read_fails:Expected -1 (-1) == ret (4096)\nread_fails: Test terminated by assertion"'
check "SKIP with reason" test_is $R guest_memfd.gmem_fileops_test.gmem.default_mmap.mmap_private \
	SKIP "KVM_CAP_GUEST_MEMFD_FLAGS lacks MMAP (flags=0x0)"
check "XFAIL with reason" test_is $R guest_memfd.gmem_fileops_test.gmem.x.y XFAIL "something known"
check "1..0 # SKIP binary" test_is $R kvm.nokvm_test.nokvm_test SKIP "no /dev/kvm"
check "crashed binary: result kept" test_is $R kvm.private_mem_test.global.convert_shared PASS ""
check "crashed binary: missing_2" test_is $R kvm.private_mem_test.private_mem_test.missing_2 \
	FAIL "no result: binary exited early (exit=139)"
check "crashed binary: missing_3" test_is $R kvm.private_mem_test.private_mem_test.missing_3 \
	FAIL "no result: binary exited early (exit=139)"
check "crashed binary: names the test that was running" jqt $R '.tests[] |
	select(.name == "private_mem_test.missing_2") | .reason | contains("last started: global.convert_private")'
check "crashed binary: meta" jqt $R '.binaries[] | select(.binary == "private_mem_test") |
	.exit == 139 and .planned == 3 and .reported == 1 and .deviation == "tdx-no-shared-fault"'
check "killed binary: timeout reason" test_is $R kvm.hang_test.hang_test.missing_2 \
	FAIL "timeout: runner killed the binary after 45s"
check "nested (# -prefixed) results: XPASS" test_is $R wrapped.nested_test.nested.a \
	XPASS "unexpected pass (XPASS): was expected to fail"
check "nested results: TIMEOUT directive" test_is $R wrapped.nested_test.nested.b FAIL "timeout: 30 seconds"
check "nested results: plan from nested stream" jqt $R '.binaries[] |
	select(.binary == "nested_test") | .planned == 3 and .reported == 3'
check "binary without output" test_is $R wrapped.silent_test.silent_test \
	FAIL "no output: binary printed nothing (exit=127)"
J=run-new/junit.xml
check "junit.xml is well-formed" xml_ok $J
check "junit.xml: totals" has $J '<testsuites name="privmem" tests="14" failures="7" errors="0" skipped="2"'
check "junit.xml: classname/name split" has $J \
	'<testcase classname="guest_memfd.gmem_fileops_test.gmem.default_mmap" name="read_fails">'
check "junit.xml: failure" has $J \
	'<failure message="gmem_fileops_test.c:45:read_fails:Expected -1 (-1) == ret (4096)" type="assert">'
check "junit.xml: timeout type" has $J 'type="timeout">timeout: runner killed the binary after 45s'
check "junit.xml: missing type" has $J 'type="missing">no result: binary exited early (exit=139)'
check "junit.xml: skipped" has $J '<skipped message="no /dev/kvm"/>'
check "junit.xml: xfail" has $J '<system-out>XFAIL: something known</system-out>'
M=run-new/summary.md
check "summary.md: title" has $M "# privmem results: 6.12.0-privmem on testhost"
check "summary.md: platforms" has $M "| tdx | absent | CPU lacks TDX |"
check "summary.md: failures" has $M "## Failures (7)"
check "summary.md: skip reasons" has $M "| no /dev/kvm | 1 |"
check "summary.md: binary times" has $M "| \`kvm.hang_test\` | 124 | 45.00 | 1/2 | killed at time limit |"
check "run-new: no temporary files left" no_temps run-new
cp $R first.json
run run-new
check "rerun gives identical results.json" cmp first.json $R

# ---- the baseline run, and a clean run without caps.json
run run-old
check "run-old exits 1" is "$rc" 1
check "run-old: last stdout line" is "$(tail -n 1 out.txt)" "5 passed, 1 failed, 2 skipped"
mkdir -p run-clean/ktap
cp -R run-old/ktap/kvm run-clean/ktap/
run run-clean
check "all-pass run exits 0" is "$rc" 0
check "all-pass run: last stdout line" is "$(tail -n 1 out.txt)" "2 passed, 0 failed, 1 skipped"
check "no caps.json: caps null, platforms [], kernel unknown" jqt run-clean/results.json \
	'.caps == null and .platforms == [] and .run.kernel == "unknown"'

# ---- bad input: exit 2, one line on stderr, nothing written
run run-badcaps
check "corrupt caps.json exits 2" is "$rc" 2
check "corrupt caps.json: one clear line" one_line err.txt
check "corrupt caps.json: names file and line" has err.txt "privmem-report: caps.json: invalid JSON at line 4:"
check "corrupt caps.json: nothing written" no_outputs run-badcaps
cp -R "$here/testdata/run-old" run-badmeta
echo "exit=segv" >run-badmeta/ktap/kvm/private_mem_test.meta
run run-badmeta
check "bad .meta exits 2" is "$rc" 2
check "bad .meta: names file and line" has err.txt "ktap/kvm/private_mem_test.meta:1: bad exit value 'segv'"
check "bad .meta: nothing written" no_outputs run-badmeta
mkdir -p run-empty/ktap/kvm
run run-empty
check "no results at all exits 1" is "$rc" 1
check "no results at all: says so" has err.txt "no test results found in run-empty"

# ---- hostile output: invalid UTF-8, control bytes, a huge diagnostic
mkdir -p run-bytes/ktap/x
{
	printf 'TAP version 13\n1..1\n#  RUN           global.noise ...\n'
	printf '# bad utf8 \377\376 esc \033[31m nul \000 amp & lt < quote "\n'
	i=0
	while [ $i -lt 200 ]; do
		printf '# line %03d of a very chatty failing test..............\n' $i
		i=$((i + 1))
	done
	printf 'not ok 1 global.noise\n'
} >run-bytes/ktap/x/noisy.ktap
printf 'exit=1\nseconds=0.5\n' >run-bytes/ktap/x/noisy.meta
run run-bytes
check "hostile output exits 1" is "$rc" 1
check "hostile output: results.json is valid JSON" jq -e . run-bytes/results.json
check "hostile output: junit.xml is well-formed" xml_ok run-bytes/junit.xml
check "hostile output: invalid bytes replaced" jqt run-bytes/results.json \
	'.tests[0].reason | startswith("bad utf8 \ufffd\ufffd esc \u001b[31m nul \ufffd amp & lt <")'
check "hostile output: reason capped at 4 KiB" jqt run-bytes/results.json \
	'.tests[0].reason | (utf8bytelength <= 4096) and endswith("[... truncated]")'

# ---- --diff
run --diff run-old run-new
check "diff with new failures exits 1" is "$rc" 1
check "diff: header has both kernels" has out.txt "old: kernel 6.11.0-privmem on testhost"
check "diff: new failure" has out.txt \
	"FAIL  guest_memfd.gmem_fileops_test.gmem.default_mmap.read_fails  (was PASS)"
check "diff: new failures count" has out.txt "new failures (7):"
check "diff: fixed" has out.txt "PASS  guest_memfd.gmem_fileops_test.global.create_sizes  (was FAIL)"
check "diff: newly skipped" has out.txt \
	"SKIP  guest_memfd.gmem_fileops_test.gmem.default_mmap.mmap_private  (was PASS)"
check "diff: no longer skipped, with old reason" has out.txt \
	"was skipped: needs KVM_X86_SW_PROTECTED_VM"
check "diff: removed" has out.txt "PASS  guest_memfd.gmem_fileops_test.gmem.default_mmap.punch_hole"
check "diff: last line" is "$(tail -n 1 out.txt)" \
	"7 new failures, 1 fixed, 1 newly skipped, 1 no longer skipped, 9 added, 3 removed"
run --diff run-new/results.json run-new
check "diff without new failures exits 0" is "$rc" 0
run --diff run-new run-new/caps.json
check "diff of a non-results file exits 2" is "$rc" 2
check "diff of a non-results file: one clear line" has err.txt "not a privmem results file"
run --diff run-new missing.json
check "diff of a missing file exits 2" is "$rc" 2
run --diff run-new
check "diff with one argument exits 2" is "$rc" 2

if [ $failed -ne 0 ]; then
	echo "selftest: $failed of $n checks failed"
	exit 1
fi
echo "selftest: all $n checks passed"
