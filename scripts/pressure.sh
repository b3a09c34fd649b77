#!/bin/bash
# Verdicts under pressure: the conformance suite under each stress-ng background profile
# (workloads/stress-ng/) must give the verdicts of a quiet run: 0 FAIL and the same status
# for every test (the same PASS set, the same SKIPs, the same XFAILs).
#
#   scripts/pressure.sh [--profiles 'P1 P2 ...'] [--baseline RUN_DIR] [--results DIR] [--quiet]
#
# --baseline: a quiet run to compare with (default: one made first). Prints one line per
# profile ("ok"/"FAIL", counts, wall seconds against the quiet run, what differs) and ends
# with "N passed, N failed, N skipped" (one entry per profile). Exit 0 when every profile
# matched, 1 otherwise, 2 on bad input. The secretmem profile splits the direct map (until
# reboot, bounded by stress-ng's sizes): it runs only when named.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/background.sh
. "$top/scripts/lib/background.sh"
results=${RESULTS:-$top/results}
profiles="vm-pressure memfd tlb" baseline="" quiet=0

die() { echo "privmem pressure: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--profiles) [ $# -ge 2 ] || die "--profiles needs a list"; profiles=$2; shift ;;
	--baseline) [ $# -ge 2 ] || die "--baseline needs a run directory"; baseline=$2; shift ;;
	--results) [ $# -ge 2 ] || die "--results needs a directory"; results=$2; shift ;;
	--quiet) quiet=1 ;;
	-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
for p in $profiles; do
	why=$(bg_check "$p")
	[ -z "$why" ] || die "$why"
done
[ -z "$baseline" ] || [ -r "$baseline/results.json" ] || die "--baseline $baseline has no results.json"
command -v jq >/dev/null || die "jq missing: run 'make deps'"
mkdir -p "$results" || die "cannot create $results"

newest() { ls -1d "$1"/*/ 2>/dev/null | grep -v '/\.incomplete' | tail -n 1; }
one_run() {	# profile ("" = quiet): prints the run directory
	local dir=$results/pressure-${1:-quiet}
	mkdir -p "$dir"
	BACKGROUND=$1 "$top/scripts/run.sh" --quiet --results "$dir" >"$dir.log" 2>&1
	newest "$dir"
}
if [ -z "$baseline" ]; then
	baseline=$(one_run "")
	[ -n "$baseline" ] || die "the quiet run produced no results (see $results/pressure-quiet.log)"
fi
b=$baseline/results.json
secs() { printf '%.1f' "$(cat "$1/wall_seconds")"; }
[ "$quiet" = 1 ] || echo "quiet run: $(jq -r '.summary | "\(.pass) pass, \(.fail) fail, \(.skip) skip, \(.xfail) xfail"' "$b") in $(secs "$baseline") s"
passed=0 failed=0
for p in $profiles; do
	run=$(one_run "$p")
	if [ -z "$run" ] || [ ! -r "$run/results.json" ]; then
		echo "  FAIL  $p: no results (see $results/pressure-$p.log)"
		failed=$((failed + 1))
		continue
	fi
	# Every test's status against the quiet run's; tests only in one count as different.
	diffs=$(jq -r --slurpfile q "$b" '
		($q[0].tests | map({key: .id, value: .status}) | from_entries) as $was
		| (.tests | map({key: .id, value: .status}) | from_entries) as $now
		| (($was | keys) + ($now | keys) | unique)[]
		| select($was[.] != $now[.]) | "\(.): \($was[.] // "absent") -> \($now[.] // "absent")"' "$run/results.json")
	counts=$(jq -r '.summary | "\(.pass) pass, \(.fail) fail, \(.skip) skip, \(.xfail) xfail"' "$run/results.json")
	fails=$(jq -r '.summary.fail + .summary.xpass' "$run/results.json")
	wall="$(secs "$run") s (quiet $(secs "$baseline") s)"
	if [ -z "$diffs" ] && [ "$fails" = 0 ]; then
		echo "  ok    under $p: same verdicts as quiet: $counts; $wall"
		passed=$((passed + 1))
	else
		echo "  FAIL  under $p: $counts; $(wc -l <<<"$diffs") tests changed status; $wall"
		[ -z "$diffs" ] || sed 's/^/        /' <<<"$diffs" | head -n 20
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed, 0 skipped"
[ "$failed" = 0 ]
