#!/bin/bash
# The lab matrix: the suite on Debian's stock 6.1 kernel and on the 6.12 lab kernel (with
# KVM_SW_PROTECTED_VM), each under QEMU TCG (scripts/lab.sh), then one table:
# kernel x area -> pass/fail/skip (plus xfail). A correct older kernel must SKIP what it
# lacks, never FAIL.
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
failed=0
if [ "$table_only" = 0 ]; then
	for args in "--stock 6.1" ""; do
		# shellcheck disable=SC2086
		"$top/scripts/lab.sh" --quiet --results "$results" $args >/dev/null
		rc=$?
		[ $rc -le 1 ] || { echo "lab run '${args:-6.12 lab kernel}' produced no results (exit $rc)" >&2; failed=1; continue; }
		runs+=("$(newest_lab)")
	done
fi
[ ${#runs[@]} -gt 0 ] || die "no lab runs to tabulate"
printf '%-28s %-14s %5s %5s %5s %5s\n' kernel area pass fail skip xfail
for run in "${runs[@]}"; do
	[ -r "$run/results.json" ] || die "$run has no results.json"
	rel=$(jq -r '.kernel.release' "$run/caps.json")
	jq -r --arg k "$rel" '.tests | group_by(.collection)[] |
		[$k, .[0].collection, (map(select(.status == "PASS")) | length), (map(select(.status == "FAIL")) | length),
		 (map(select(.status == "SKIP")) | length), (map(select(.status == "XFAIL")) | length)] | @tsv' "$run/results.json" |
		while IFS=$'\t' read -r k a p f s x; do printf '%-28s %-14s %5s %5s %5s %5s\n' "$k" "$a" "$p" "$f" "$s" "$x"; done
	[ "$(jq '.summary.fail' "$run/results.json")" = 0 ] || failed=1
done
exit $failed
