# shellcheck shell=bash
# Kill accounting for the deviant shim, shared by scripts/check.sh (host deviations) and
# scripts/lab.sh (lab deviations). Sourced, not run.
#
# A deviation names the rows.tsv ids it targets (PRIVMEM_DEVIATION=list, column 4). Its run
# is a results directory (privmem-report output) of its area's collection under the shim;
# the verdict:
#   detected    a target row FAILed by an assertion (results.json kind "assert": the
#               harness printed file:line before "not ok");
#   crashed     no such failure, but a test died by a signal, timed out or went missing;
#   collateral  only other rows failed (or a target failed without a located assertion);
#   undetected  nothing failed.
# Only "detected" is a kill.

# kill_targets_unknown ROWS_TSV "ID ID ...": prints the ids that rows.tsv does not list.
kill_targets_unknown() {
	local rows=$1 id
	for id in $2; do
		cut -f1 "$rows" | grep -qxF -- "$id" || printf '%s ' "$id"
	done
}

# kill_verdict RESULTS_JSON "ID ID ...": prints one line
#   VERDICT HITS CRASHES COLLATERAL EXAMPLE
# EXAMPLE is the first target test that failed by assertion (detected), else the first
# crashed test, else the first other failure, else "-".
kill_verdict() {
	jq -r --arg t "$2" '
		($t | split(" ") | map(select(. != ""))) as $T
		| [.tests[] | select(.status == "FAIL" or .status == "XPASS")] as $F
		| ($F | map(select(.kind == "assert" and (.row as $r | $T | any(. == $r))))) as $hit
		| ($F | map(select(.kind == "crash" or .kind == "timeout" or .kind == "missing"))) as $crash
		| ($F - $hit - $crash) as $other
		| (if ($hit | length) > 0 then "detected" elif ($crash | length) > 0 then "crashed"
		   elif ($other | length) > 0 then "collateral" else "undetected" end) as $v
		| (($hit + $crash + $other) | first | if . == null then "-"
		   else "\(.collection).\(.binary).\(.name)[\(.kind)]" end) as $ex
		| "\($v) \($hit | length) \($crash | length) \($other | length) \($ex)"' "$1"
}

# kill_table FILE: FILE holds "NAME AREA VERDICT HITS CRASHES COLLATERAL EXAMPLE" lines; prints
# them readably, then the counts per verdict and the honest rate (detected / all).
kill_table() {
	local file=$1 label=$2 total detected
	awk '{ printf "  %-10s %-34s %-10s %2d target FAIL, %2d crashed, %2d collateral; %s\n",
		$3 == "detected" ? "detected" : toupper($3), $1, $2, $4, $5, $6, $7 }' "$file"
	total=$(wc -l <"$file")
	detected=$(awk '$3 == "detected"' "$file" | wc -l)
	printf '%s: %d/%d deviations detected by an assertion in a target row (%s); %s\n' "$label" \
		"$detected" "$total" "$( [ "$total" -gt 0 ] && echo "$((100 * detected / total))%" || echo "-")" \
		"$(awk '{ n[$3]++ } END { printf "detected %d, crashed %d, collateral-only %d, undetected %d",
			n["detected"], n["crashed"], n["collateral"], n["undetected"] }' "$file")"
}

# splat_proof_verdict RESULTS_JSON: the run of one binary under the shim's PRIVMEM_ENV=kmsg-splat
# (a WARN()-shaped line written to /dev/kmsg as it starts) must FAIL as a whole with exactly
# that splat (kind "splat") while its own tests PASS. Prints "ok <test>: <reason>" or
# "FAIL <what failed instead>".
splat_proof_verdict() {
	jq -r '[.tests[] | select(.status == "FAIL")] as $f |
		if ($f | length) == 1 and $f[0].kind == "splat" and ($f[0].reason | contains("injected, not a kernel bug"))
		   and ([.tests[] | select(.status == "PASS")] | length) > 0
		then "ok \($f[0].id): \($f[0].reason | split("\n")[0])"
		else "FAIL \($f | map("\(.id)[\(.kind)]") | join(" ") | if . == "" then "no failure" else . end)" end' "$1"
}

# kill_binaries AREA "ID ID ...": the binaries (names, space-separated) of conformance/AREA
# whose sources name a target row: its fixture and its test (TEST_F(fixture, test) and the
# macros around it), or every binary of AREA when none is found. A deviation is judged only by
# the rows it targets, so the other binaries would add run time, not verdicts.
kill_binaries() {
	local area=$1 id f found=""
	for f in "$top"/conformance/"$area"/*_test.c; do
		for id in $2; do
			if grep -qw -- "${id%%.*}" "$f" && grep -qw -- "${id#*.}" "$f"; then
				found="$found $(basename "$f" .c)"
				break
			fi
		done
	done
	[ -n "$found" ] || found=$(cd "$top/conformance/$area" && ls -- *_test.c | sed 's/\.c$//')
	echo $found
}
