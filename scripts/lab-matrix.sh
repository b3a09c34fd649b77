#!/bin/bash
# The lab matrix: the suite on Debian's stock 6.1 kernel and on the 6.12 lab kernel (with
# KVM_SW_PROTECTED_VM), each under QEMU TCG (scripts/lab.sh), then one table:
# kernel x area -> pass/fail/skip (plus xfail). A correct older kernel must SKIP what it
# lacks, never FAIL. The 6.12 run also injects every deviant-shim deviation marked "lab"
# (scripts/lab.sh --deviations '*'): each must be detected there.
# A lab that does not boot or hangs is retried once, said so on the output; a second
# failure counts as failed.
# Ends with "N passed, N failed, N skipped": tests (XFAIL counts as passed, XPASS as
# failed), plus one per lab deviation (detected by an assertion in a row it targets: passed;
# crashed, collateral-only or undetected: failed), one for the injected kernel splat (it must
# fail vmlib_test in the guest) and one per lab that gave no results.
#
#   scripts/lab-matrix.sh [--results DIR] [--table-only RUN...]
#
# Exit 0 when no run FAILed (and every run produced results), 1 otherwise, 2 on bad input.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
results=${RESULTS:-$top/results}
runs=()
die() { echo "privmem lab-matrix: $*" >&2; exit 2; }
table_only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--results) [ $# -ge 2 ] || die "--results wants a directory"; results=$2; shift ;;
	--table-only) table_only=1 ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown argument '$1' (try --help)" ;;
	*) [ "$table_only" = 1 ] || die "run directories are for --table-only"; runs+=("$1") ;;
	esac
	shift
done
command -v jq >/dev/null || die "jq missing: run 'make deps'"

newest_lab() { ls -1d "$results"/*-lab-* 2>/dev/null | grep -v '\.log$' | tail -n 1; }
failed=0 lost=0
if [ "$table_only" = 0 ]; then
	shim=${PRIVMEM_BUILD:-$top/build}/deviant.so
	labdevs=$(PRIVMEM_DEVIATION=list LD_PRELOAD=$shim /bin/true 2>/dev/null | awk -F'\t' '$3 == "lab"' | wc -l)
	for args in "--stock 6.1" "$([ "$labdevs" -gt 0 ] && echo "--deviations *")"; do
		name=${args:-6.12 lab kernel}
		for attempt in 1 2; do
			before=$(newest_lab)
			# shellcheck disable=SC2086 # word-split on purpose; '*' must reach lab.sh unexpanded
			(set -f; "$top/scripts/lab.sh" --quiet --results "$results" $args >/dev/null)
			rc=$?
			[ $rc -le 1 ] && [ "$(newest_lab)" != "$before" ] && break
			echo "lab run '$name' produced no results (exit $rc), attempt $attempt of 2" >&2
			rc=2
		done
		[ $rc -le 1 ] || { lost=$((lost + 1)); continue; }
		runs+=("$(newest_lab)")
	done
fi
[ ${#runs[@]} -gt 0 ] || die "no lab runs to tabulate"
printf '%-28s %-14s %5s %5s %5s %5s\n' kernel area pass fail skip xfail
passed=0 skipped=0
for run in "${runs[@]}"; do
	[ -r "$run/results.json" ] || die "$run has no results.json"
	rel=$(jq -r '.kernel.release' "$run/caps.json")
	jq -r --arg k "$rel" '.tests | group_by(.collection)[] |
		[$k, .[0].collection, (map(select(.status == "PASS")) | length), (map(select(.status == "FAIL")) | length),
		 (map(select(.status == "SKIP")) | length), (map(select(.status == "XFAIL")) | length)] | @tsv' "$run/results.json" |
		while IFS=$'\t' read -r k a p f s x; do printf '%-28s %-14s %5s %5s %5s %5s\n' "$k" "$a" "$p" "$f" "$s" "$x"; done
	read -r p f s x xp < <(jq -r '.summary | "\(.pass) \(.fail) \(.skip) \(.xfail // 0) \(.xpass // 0)"' "$run/results.json")
	passed=$((passed + p + x)) failed=$((failed + f + xp)) skipped=$((skipped + s))
	if [ -s "$run/deviations.txt" ]; then
		dd=$(awk '$3 == "detected"' "$run/deviations.txt" | wc -l) dt=$(wc -l <"$run/deviations.txt")
		printf '%-28s %-14s %5s %5s   (lab deviations detected by a target row / not)\n' "$rel" deviant "$dd" "$((dt - dd))"
		awk '$3 != "detected" { print "  " toupper($3) " " $1 " (" $2 "): " $7 }' "$run/deviations.txt"
		passed=$((passed + dd)) failed=$((failed + dt - dd))
	fi
	# The injected kernel splat (lab.sh --deviations): it must fail vmlib_test inside the guest.
	sp=$(jq -r '.splat_proof // ""' "$run/lab.json" 2>/dev/null)
	if [ -n "$sp" ]; then
		printf '%-28s %-14s %s\n' "$rel" splat "$sp"
		[ "${sp%% *}" = ok ] && passed=$((passed + 1)) || failed=$((failed + 1))
	fi
done
failed=$((failed + lost))
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
