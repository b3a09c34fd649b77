#!/bin/bash
# Is `make check` deterministic? N fresh clones of this repository (its committed HEAD), each
# under a directory only root can enter (mode 0700, as Debian 12 makes new home directories),
# `make check` in each, one after the other; the first right after dropping the page cache
# (sync; echo 3 > /proc/sys/vm/drop_caches), so it runs cold. Prints, per check, how many
# runs it failed in, and the time of each run; keeps every log.
#
#   scripts/flake.sh N [--work DIR] [--keep-clones]
#
# --work: where the 0700 directory goes (default ${TMPDIR:-/tmp}); logs stay in it.
# Exit 0 when all N runs passed, 1 otherwise, 2 on bad input. Needs root (make check does).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
n="" workroot=${TMPDIR:-/tmp} keep=0

die() { echo "privmem flake: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--work) [ $# -ge 2 ] || die "--work needs a directory"; workroot=$2; shift ;;
	--keep-clones) keep=1 ;;
	-h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown argument '$1' (try --help)" ;;
	*) [ -z "$n" ] || die "one run count, not '$1' too"; n=$1 ;;
	esac
	shift
done
case "$n" in ''|*[!0-9]*|0) die "usage: scripts/flake.sh N (a positive number of runs)" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (make check installs packages and opens /dev/kvm)"
git -C "$top" rev-parse HEAD >/dev/null 2>&1 || die "$top is not a git repository"
[ -z "$(git -C "$top" status --porcelain --untracked-files=no)" ] ||
	echo "privmem flake: note: uncommitted changes in $top are not in the clones" >&2
work=$(mktemp -d "$workroot/privmem-flake.XXXXXX") || die "cannot create a directory under $workroot"
chmod 0700 "$work"
echo "flake: $n runs of make check, clones of $(git -C "$top" rev-parse --short HEAD) under $work (0700)"

for i in $(seq "$n"); do
	clone=$work/clone-$i log=$work/run-$i.log
	git clone -q "$top" "$clone" || die "git clone failed"
	if [ "$i" = 1 ]; then
		sync && echo 3 >/proc/sys/vm/drop_caches
	fi
	t0=$(date +%s)
	(cd "$clone" && make check) >"$log" 2>&1
	rc=$?
	t1=$(date +%s)
	echo "$i $rc $((t1 - t0)) $(tail -n 1 "$log")" >>"$work/runs.txt"
	# The checks that failed in this run: check.sh's FAIL lines and every deviation that
	# was not detected, by name.
	{ sed -n 's/^  FAIL  \([^:]*\):.*/\1/p' "$log"
	  awk '$1 ~ /^(CRASHED|COLLATERAL|UNDETECTED|NO-TARGETS|NO-RESULTS)$/ { print "deviation " $2 }' "$log"
	  tail -n 1 "$log" | grep -qE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' || echo "make check stopped early"
	} | sort -u | sed "s/^/$i /" >>"$work/failures.txt"
	printf '  run %2d: %s in %d s: %s\n' "$i" "$([ $rc = 0 ] && echo ok || echo FAIL)" "$((t1 - t0))" "$(tail -n 1 "$log")"
	[ "$keep" = 1 ] || rm -rf "$clone"
done

clean=$(awk '$2 == 0' "$work/runs.txt" | wc -l)
echo
echo "make check clean in $clean/$n fresh clones (first one cold); logs: $work"
if [ -s "$work/failures.txt" ]; then
	echo "failures per check (runs):"
	cut -d' ' -f2- "$work/failures.txt" | sort | uniq -c | sort -rn | sed 's/^ */  /'
fi
awk '{ print $3 }' "$work/runs.txt" | sort -n | awk '{ t[NR] = $1 } END {
	printf "time per run: min %d s, median %d s, max %d s (first, cold: see run 1)\n", t[1], t[int((NR + 1) / 2)], t[NR] }'
[ "$clean" = "$n" ]
