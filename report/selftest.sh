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
lacks() { ! grep -qF -- "$2" "$1"; }			# FILE TEXT
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

# ---- how each failure came about: results.json "kind", JUnit failure type
kind_is() { jqt "$1" --arg id "$2" --arg k "$3" '[.tests[] | select(.id == $id)] | length == 1 and .[0].kind == $k'; }
check "kind: assertion with file:line" kind_is $R guest_memfd.gmem_fileops_test.gmem.default_mmap.read_fails assert
check "kind: binary died before reporting" kind_is $R kvm.private_mem_test.private_mem_test.missing_2 missing
check "kind: runner killed the binary" kind_is $R kvm.hang_test.hang_test.missing_2 timeout
check "kind: TIMEOUT directive" kind_is $R wrapped.nested_test.nested.b timeout
check "kind: no kind on PASS/SKIP" jqt $R '[.tests[] | select(.status == "PASS" or .status == "SKIP" or .status == "XFAIL") | has("kind")] | any | not'
run run-kinds
K=run-kinds/results.json
check "kind: harness assertion" kind_is $K k.kinds_test.f.asserts assert
check "kind: logged, then died by a signal" kind_is $K k.kinds_test.f.logs_then_crashes crash
check "kind: harness timeout" kind_is $K k.kinds_test.f.harness_timeout timeout
check "kind: failure without a location" kind_is $K k.kinds_test.f.plain_exit other
check "kind: guest assertion reported by the host" kind_is $K k.kinds_test.f.guest_assert assert
check "junit.xml: crash type" has run-kinds/junit.xml 'type="crash">'
check "kernel splat: the binary FAILs with the splat as the reason" test_is $K k.splat_test.splat_test.kernel_splat \
	FAIL "kernel splat while the binary ran: WARNING: CPU: 1 PID: 4242 at virt/kvm/guest_memfd.c:123 kvm_gmem_bind+0x1f/0x80"
check "kernel splat: kind" kind_is $K k.splat_test.splat_test.kernel_splat splat
check "kernel splat: its tests keep their own status" test_is $K k.splat_test.f.passes PASS ""
check "kernel splat: binary records a checked log" jqt $K '.binaries[] | select(.binary == "splat_test") | .kernel_log == "checked"'
check "unreadable kernel log is said" has run-kinds/summary.md "kernel log unchecked: /dev/kmsg: Operation not permitted"
check "no .kmsg: no splat entry" jqt $K '[.tests[] | select(.binary == "kinds_test" and .kind == "splat")] | length == 0'

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

# ---- behaviour rows (rows.tsv)
row_is() {						# FILE ID STATUS COUNTS SKIP-REASONS
	jqt "$1" --arg id "$2" --arg st "$3" --argjson c "$4" --argjson why "$5" \
		'[.rows[] | select(.id == $id)] | length == 1 and .[0].status == $st and
		.[0].counts == ({pass: 0, fail: 0, skip: 0, xfail: 0, xpass: 0} + $c) and
		.[0].skip_reasons == $why'
}
run run-rows
check "run-rows exits 1 (failing rows)" is "$rc" 1
check "run-rows: rows line on stdout" has out.txt \
	"  rows: 7 listed: 1 pass, 3 fail, 1 skip only, 1 xfail only, 1 not run; 2 tests without a row"
check "run-rows: last stdout line" is "$(tail -n 1 out.txt)" "4 passed, 3 failed, 6 skipped"
R=run-rows/results.json
check "rows: format and version unchanged" jqt $R '.format == "privmem-results" and .version == 1'
check "rows: summary counts" jqt $R '.summary | [.total, .rows_total, .rows_pass, .rows_fail,
	.rows_skip, .rows_xfail, .rows_not_run] == [13, 7, 1, 3, 1, 1, 1]'
check "rows: all of rows.tsv, in its order" jqt $R '[.rows[].id] == ["fileops.read_einval",
	"fileops.pread_espipe", "fileops.write_einval", "gmem_mmap.shared_mapping_follows_flag",
	"gmem_mmap.sigbus_past_eof", "guest.punch_hole_seen_by_guest",
	"guest.punch_whole_file_seen_by_guest"]'
check "rows: fields from rows.tsv" jqt $R '.rows[3] | .area == "mmap" and
	.expectation == "MAP_SHARED works iff GUEST_MEMFD_FLAG_MMAP" and
	.source == "Documentation/virt/kvm/api.rst" and .needs == "GUEST_MEMFD_FLAG_MMAP"'
check "row: pass + skip variants is PASS" row_is $R fileops.read_einval PASS \
	'{"pass": 1, "skip": 1}' '["KVM_X86_SW_PROTECTED_VM absent"]'
check "row: a failing variant makes it FAIL" row_is $R fileops.pread_espipe FAIL \
	'{"fail": 1, "skip": 1}' '["KVM_X86_SW_PROTECTED_VM absent"]'
check "row: an XPASS variant makes it FAIL" row_is $R fileops.write_einval FAIL \
	'{"pass": 1, "xpass": 1}' '[]'
check "row: all variants skipped is SKIP, distinct reasons" row_is $R \
	gmem_mmap.shared_mapping_follows_flag SKIP '{"skip": 3}' \
	'["KVM_CAP_GUEST_MEMFD_FLAGS=0x0 lacks 0x1 on default", "KVM_X86_SW_PROTECTED_VM absent"]'
check "row: no test is NOT-RUN" row_is $R gmem_mmap.sigbus_past_eof NOT-RUN '{}' '[]'
check "row: only XFAIL variants is XFAIL" row_is $R guest.punch_hole_seen_by_guest XFAIL '{"xfail": 1}' '[]'
check "row: the test running at the timeout fails its row" row_is $R \
	guest.punch_whole_file_seen_by_guest FAIL '{"fail": 1}' '[]'
check "rows: unlisted tests" jqt $R '.summary.unlisted_tests == [
	"guest_memfd.gmem_fileops_test.fileops.default_vm.lseek_espipe", "vmlib.vmlib_test.vmlib_test"]'
check "rows: tests name their row" jqt $R '[.tests[] | select(.binary == "gmem_guest_test") |
	[.name, .row]] == [["guest.default_vm.punch_hole_seen_by_guest", "guest.punch_hole_seen_by_guest"],
	["gmem_guest_test.missing_2", "guest.punch_whole_file_seen_by_guest"]]'
check "rows: every test counted once (rows + unlisted = total)" jqt $R \
	'([.rows[].counts | add] | add) + (.summary.unlisted_tests | length) == .summary.total'
M=run-rows/summary.md
check "summary.md: behaviour rows section" has $M "7 rows listed in \`rows.tsv\`: 1 pass, 3 fail, 1 skip only, 1 xfail only, 1 not run; 2 tests without a row."
check "summary.md: one line per area" has $M "| mmap | 2 | 0 | 0 | 1 | 0 | 1 |"
check "summary.md: NOT-RUN row by name" has $M "- \`gmem_mmap.sigbus_past_eof\`: SIGBUS on every page past EOF"
check "summary.md: unlisted test by name" has $M \
	"- \`guest_memfd.gmem_fileops_test.fileops.default_vm.lseek_espipe\`"
check "run-rows: junit.xml is well-formed" xml_ok run-rows/junit.xml
cp $R rows-first.json
run run-rows
check "rows: rerun gives identical results.json" cmp rows-first.json $R
# The same run without rows.tsv: the row fields are purely additive.
cp -R "$here/testdata/run-rows" run-norows
rm run-norows/rows.tsv
run run-norows
check "without rows.tsv: no rows line on stdout" lacks out.txt "  rows: "
check "without rows.tsv: no rows section" lacks run-norows/summary.md "Behaviour rows"
check "without rows.tsv: results.json is the rows one minus the row fields" jqt $R \
	--slurpfile o run-norows/results.json 'del(.rows, .summary.rows_total, .summary.rows_pass,
	.summary.rows_fail, .summary.rows_skip, .summary.rows_xfail, .summary.rows_not_run, .summary.unlisted_tests,
	.tests[].row, .run.dir) == ($o[0] | del(.run.dir))'
check "rows do not change junit.xml" cmp run-rows/junit.xml run-norows/junit.xml

# bad_rows NAME LINE...: run-rows with LINEs appended to rows.tsv
bad_rows() {
	name=$1
	shift
	cp -R "$here/testdata/run-rows" "$name"
	printf '%s\n' "$@" >>"$name/rows.tsv"
	run "$name"
}
bad_rows rows-fields "x.y	area	expectation	source"
check "rows.tsv with 4 fields exits 2" is "$rc" 2
check "rows.tsv with 4 fields: one line naming file:line" one_line err.txt
check "rows.tsv with 4 fields: says what is wrong" has err.txt \
	"privmem-report: rows.tsv:10: expected 5 TAB-separated fields (id, area, expectation, source, needs), found 4"
check "rows.tsv with 4 fields: nothing written" no_outputs rows-fields
bad_rows rows-spaces "x.y area expectation source needs"
check "rows.tsv separated by blanks exits 2" is "$rc" 2
check "rows.tsv separated by blanks: found 1" has err.txt "rows.tsv:10: expected 5 TAB-separated fields"
bad_rows rows-empty "x.y	area	 	source	needs"
check "rows.tsv empty field exits 2" is "$rc" 2
check "rows.tsv empty field: names the field" has err.txt "privmem-report: rows.tsv:10: empty expectation field"
check "rows.tsv empty field: nothing written" no_outputs rows-empty
bad_rows rows-id "fileops	area	expectation	source	needs"
check "rows.tsv bad id exits 2" is "$rc" 2
check "rows.tsv bad id: says so" has err.txt "rows.tsv:10: bad row id 'fileops' (want <fixture>.<test>)"
bad_rows rows-dup "" "fileops.pread_espipe	fileops	again	source	needs"
check "rows.tsv duplicate id exits 2" is "$rc" 2
check "rows.tsv duplicate id: one line" one_line err.txt
check "rows.tsv duplicate id: both lines named" has err.txt \
	"privmem-report: rows.tsv:11: duplicate row id 'fileops.pread_espipe' (first on line 4)"
check "rows.tsv duplicate id: nothing written" no_outputs rows-dup

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
check "diff without rows: no rows sections" lacks out.txt "rows"
run --diff run-new/results.json run-new
check "diff without new failures exits 0" is "$rc" 0
run --diff run-new run-new/caps.json
check "diff of a non-results file exits 2" is "$rc" 2
check "diff of a non-results file: one clear line" has err.txt "not a privmem results file"
run --diff run-new missing.json
check "diff of a missing file exits 2" is "$rc" 2
run --diff run-new
check "diff with one argument exits 2" is "$rc" 2

# ---- --diff of runs with rows
section() { awk -v t="$2" '$0 == t { on = 1; next } on && !NF { exit } on' "$1"; }	# FILE TITLE
run run-rows-old
check "run-rows-old exits 0" is "$rc" 0
run --diff run-rows-old run-rows
check "rows diff exits 1 (new failures)" is "$rc" 1
check "rows diff: status changes (id: OLD -> NEW)" is "$(section out.txt 'rows changed (5):')" \
"  fileops.pread_espipe: PASS -> FAIL
  fileops.write_einval: PASS -> FAIL
  gmem_mmap.shared_mapping_follows_flag: NOT-RUN -> SKIP
  guest.punch_hole_seen_by_guest: PASS -> XFAIL
  guest.punch_whole_file_seen_by_guest: PASS -> FAIL"
check "rows diff: only in old" is "$(section out.txt 'rows only in old (1):')" "  fileops.fsync_einval  (PASS)"
check "rows diff: only in new" is "$(section out.txt 'rows only in new (1):')" \
	"  gmem_mmap.sigbus_past_eof  (NOT-RUN)"
check "rows diff: last line" is "$(tail -n 1 out.txt)" \
	"3 new failures, 0 fixed, 0 newly skipped, 0 no longer skipped, 7 added, 2 removed"
run --diff run-rows run-rows
check "rows diff of a run with itself: no changes" has out.txt "rows changed: none"
run --diff run-old run-rows
check "rows diff against a run without rows: says so" has out.txt \
	"rows: not compared (no rows in the old results)"
jq '.rows = 5' run-rows/results.json >badrows.json
run --diff badrows.json run-rows
check "diff of results with corrupt rows exits 2" is "$rc" 2
check "diff of results with corrupt rows: one clear line" has err.txt '"rows" is not an array'


# ---- upstream drift: "drift <what>: <seen> (<commit>)" lines (conformance/pm_test.h PM_DRIFT_SEEN)
drift_of() {						# FILE ID DRIFT-JSON: the test's "drift", exactly
	jqt "$1" --arg id "$2" --argjson d "$3" '[.tests[] | select(.id == $id)] | length == 1 and .[0].drift == $d'
}
EEXIST='{"what": "gmem_bind_overlap", "seen": "EEXIST", "commit": "06ba195f136a, v7.2; 6.12.118"}'
EINVAL='{"what": "gmem_bind_overlap", "seen": "EINVAL", "commit": "a7800aa80ea4, v6.8"}'
run run-drift
check "run-drift exits 1 (its crashed binary, not its drift)" is "$rc" 1
check "run-drift: last stdout line" is "$(tail -n 1 out.txt)" "6 passed, 1 failed, 1 skipped"
R=run-drift/results.json
check "drift: format and version unchanged" jqt $R '.format == "privmem-results" and .version == 1'
check "drift: a line logged three times is one entry" drift_of $R \
	memslot.memslot_overlap_test.memslot_overlap.swprot_vm.gmem_range_overlap_einval "[$EEXIST]"
check "drift: several per test, in order; parentheses in seen and commit" drift_of $R \
	memslot.memslot_overlap_test.memslot_overlap.swprot_vm.punch_hole_reads "[$EEXIST,
	{\"what\": \"punch_hole_reads\", \"seen\": \"zeroes\", \"commit\": \"0123456789ab (v6.9-rc1)\"},
	{\"what\": \"mmap_flags\", \"seen\": \"PROT_READ (not PROT_WRITE)\", \"commit\": \"fedcba987654, v6.10\"}]"
check "drift: on an XFAIL test" drift_of $R memslot.memslot_overlap_test.memslot_overlap.swprot_vm.known_bug "[$EEXIST]"
check "drift: the crashed binary's missing entry has the running test's" drift_of $R \
	memslot.memslot_multi_test.memslot_multi_test.missing_2 "[$EINVAL]"
check "drift: nested plain TAP: a result takes the drift before it, not the preamble's" drift_of $R wrapped.nested_drift_test.nest.default.one "[$EEXIST]"
check "drift: no location, no parentheses, not \"drift \", empty or unbalanced parts: ignored" jqt $R \
	'.tests[] | select(.name == "memslot_overlap.swprot_vm.gpa_overlap_front_eexist") | has("drift") | not'
check "drift: no key on the tests without any" jqt $R '[.tests[] | select(has("drift")) | .drift | length > 0] | all'
check "drift: tests with drift" jqt $R '[.tests[] | select(has("drift"))] | length == 6'
check "drift: one entry per behaviour, those of a what together, tests counted once each" jqt $R '.drift == [
	{what: "gmem_bind_overlap", seen: "EINVAL", commit: "a7800aa80ea4, v6.8", tests: 2},
	{what: "gmem_bind_overlap", seen: "EEXIST", commit: "06ba195f136a, v7.2; 6.12.118", tests: 4},
	{what: "punch_hole_reads", seen: "zeroes", commit: "0123456789ab (v6.9-rc1)", tests: 1},
	{what: "mmap_flags", seen: "PROT_READ (not PROT_WRITE)", commit: "fedcba987654, v6.10", tests: 1}]'
check "drift: a run without drift lines has \"drift\": [] and no test drift" jqt run-new/results.json \
	'.drift == [] and ([.tests[] | has("drift")] | any | not)'
# The same run with its drift lines removed: only the drift fields (and the crash reason,
# which quotes the output of the test that was running) differ.
cp -R "$here/testdata/run-drift" run-nodrift
find run-nodrift -name '*.ktap' -exec sed -i '/:drift /d' {} +
run run-nodrift
check "drift changes nothing else: same exit" is "$rc" 1
check "drift changes nothing else: same results.json" jqt $R --slurpfile o run-nodrift/results.json \
	'del(.drift, .tests[].drift, .tests[].reason, .run.dir) == ($o[0] | del(.drift, .tests[].reason, .run.dir))'
M=run-drift/summary.md
drift_table() { awk '/^## Drift/ { on = 1; next } on && /^## / { exit } on && /^[|]/' "$1"; }	# FILE
check "summary.md: drift section, one line per behaviour" is "$(drift_table $M)" \
"| What | Seen | Commit | Tests |
| --- | --- | --- | ---: |
| gmem_bind_overlap | EINVAL | a7800aa80ea4, v6.8 | 2 |
| gmem_bind_overlap | EEXIST | 06ba195f136a, v7.2; 6.12.118 | 4 |
| punch_hole_reads | zeroes | 0123456789ab (v6.9-rc1) | 1 |
| mmap_flags | PROT_READ (not PROT_WRITE) | fedcba987654, v6.10 | 1 |"
check "summary.md: drift section title" has $M "## Drift (upstream changed a behaviour without a capability)"
check "summary.md: no drift section without drift" lacks run-nodrift/summary.md "## Drift"
check "summary.md: no drift section in run-new" lacks run-new/summary.md "## Drift"
J=run-drift/junit.xml
check "drift junit.xml is well-formed" xml_ok $J
check "junit.xml: a passing test's drift in system-out" has $J \
	'<system-out>drift gmem_bind_overlap: EEXIST (06ba195f136a, v7.2; 6.12.118)</system-out>'
check "junit.xml: several drift lines" has $J 'drift mmap_flags: PROT_READ (not PROT_WRITE) (fedcba987654, v6.10)</system-out>'
check "junit.xml: XFAIL reason, then its drift" is "$(grep -A1 '<system-out>XFAIL: known deviation' $J)" \
"      <system-out>XFAIL: known deviation: tdx-no-shared-fault
drift gmem_bind_overlap: EEXIST (06ba195f136a, v7.2; 6.12.118)</system-out>"
check "junit.xml: a passing test without drift stays empty" has $J \
	'<testcase classname="memslot.memslot_overlap_test.memslot_overlap.swprot_vm" name="gpa_overlap_front_eexist"/>'
check "junit.xml: no drift, no system-out" lacks run-new/junit.xml "<system-out>drift"

# ---- --diff of drift: listed, never a failure
run run-drift-old
run --diff run-drift-old run-drift
check "drift diff exits 0 (drift is no failure)" is "$rc" 0
check "drift diff: what: OLD -> NEW" is "$(section out.txt 'drift changed (3):')" \
"  gmem_bind_overlap: EINVAL (a7800aa80ea4, v6.8) -> EINVAL (a7800aa80ea4, v6.8) + EEXIST (06ba195f136a, v7.2; 6.12.118)
  mmap_flags: not seen -> PROT_READ (not PROT_WRITE) (fedcba987654, v6.10)
  slot_delete_flush: deferred (aaaaaaaaaaaa, v6.7) -> not seen"
check "drift diff: no new failures, one still failing" has out.txt "still failing: 1"
check "drift diff: last line" is "$(tail -n 1 out.txt)" \
	"0 new failures, 0 fixed, 0 newly skipped, 0 no longer skipped, 0 added, 0 removed"
run --diff run-drift run-drift
check "drift diff of a run with itself: no changes" has out.txt "drift changed: none"
run --diff run-nodrift run-drift
check "drift diff: all drift new against a run without any" has out.txt \
	"  punch_hole_reads: not seen -> zeroes (0123456789ab (v6.9-rc1))"
check "drift diff: exit from failures only" is "$rc" 0
jq 'del(.drift)' run-drift-old/results.json >older.json
run --diff older.json run-drift
check "drift diff against results from before drift: says so" has out.txt \
	"drift: not compared (no drift record in the old results)"
check "drift diff against results from before drift: exits 0" is "$rc" 0
run --diff older.json older.json
check "drift diff of two results from before drift: silent" lacks out.txt "drift"
jq '.drift = 5' run-drift/results.json >baddrift.json
run --diff run-drift baddrift.json
check "diff of results with corrupt drift exits 2" is "$rc" 2
check "diff of results with corrupt drift: one clear line" has err.txt '"drift" is not an array'
jq '.drift[0].tests = "two"' run-drift/results.json >baddrift.json
run --diff baddrift.json run-drift
check "diff of results with a malformed behaviour exits 2" is "$rc" 2

if [ $failed -ne 0 ]; then
	echo "selftest: $failed of $n checks failed"
	exit 1
fi
echo "selftest: all $n checks passed"
