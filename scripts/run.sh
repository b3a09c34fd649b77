#!/bin/bash
# Run every conformance binary and write results/<stamp>-<host>-<kernel>/:
#   caps.json, rows.tsv, ktap/<collection>/<binary>.{ktap,meta,kmsg}, results.json, junit.xml,
#   summary.md
# Exit 0 when nothing FAILed, 1 on any FAIL, 2 on bad input or setup errors.
# The directory appears only when complete (built under a temporary name).
#
# Environment: RESULTS=<dir> (default results), PRIVMEM_TIMEOUT=<s per binary> (60),
#   PRIVMEM_JOBS=<binaries run at once> (nproc), BACKGROUND=<profile> (as --background: a
#   stress-ng load from workloads/stress-ng/<profile>.args under the whole run; verdicts
#   must not change, scripts/pressure.sh),
#   PRIVMEM_DEVIATION / PRIVMEM_ENV + LD_PRELOAD are passed through (scripts/check.sh).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/background.sh
. "$top/scripts/lib/background.sh"
build=${PRIVMEM_BUILD:-$top/build}
results=${RESULTS:-$top/results}
timeout_s=${PRIVMEM_TIMEOUT:-60}
quiet=0 only="" background=${BACKGROUND:-}

die() { echo "privmem run: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--quiet) quiet=1 ;;
	--results) [ $# -ge 2 ] || die "--results needs a directory"; results=$2; shift ;;
	--only) [ $# -ge 2 ] || die "--only needs a pattern (collection/binary glob)"; only=$2; shift ;;
	--background) [ $# -ge 2 ] || die "--background needs a profile"; background=$2; shift ;;
	-h|--help) echo "usage: scripts/run.sh [--quiet] [--results DIR] [--only 'COLLECTION/BINARY GLOB'] [--background PROFILE]"; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
if [ -n "$background" ]; then
	why=$(bg_check "$background")
	[ -z "$why" ] || die "$why"
fi
case "$timeout_s" in ''|*[!0-9]*) die "PRIVMEM_TIMEOUT must be a whole number of seconds" ;; esac
[ -x "$build/privmem-caps" ] && [ -x "$build/privmem-report" ] && [ -x "$build/privmem-kmsg" ] || die "not built: run 'make' first"
ls "$build"/conformance/*/*_test >/dev/null 2>&1 || die "no conformance binaries under $build/conformance: run 'make'"
# The binaries to run: every one, or those whose <collection>/<binary> matches --only.
bins=()
for bin in "$build"/conformance/*/*_test; do
	[ -x "$bin" ] || continue
	# shellcheck disable=SC2053 # $only is a glob on purpose
	[ -z "$only" ] || [[ $(basename "$(dirname "$bin")")/$(basename "$bin") == $only ]] || continue
	bins+=("$bin")
done
[ ${#bins[@]} -gt 0 ] || die "--only '$only' matches no conformance binary"

host=$(uname -n)
stamp=$(date -u +%Y%m%dT%H%M%SZ)-$host-$(uname -r)
mkdir -p "$results" || die "cannot create $results"
final=$results/$stamp
# Built under results/.incomplete/<stamp>: same basename and filesystem, renamed when complete.
tmp=$results/.incomplete/$stamp
mkdir -p "$tmp" || die "cannot write to $results"
cleanup() { bg_stop; rm -rf "$tmp"; rmdir "$results/.incomplete" 2>/dev/null; }
trap cleanup EXIT
trap 'echo "privmem run: interrupted; nothing written" >&2; exit 130' INT TERM

"$build/privmem-caps" --quiet --json "$tmp/caps.json" || die "capability probe failed"
# The behaviour table the report checks the run against (which rows ran, tests without a row).
cp "$top/conformance/rows.tsv" "$tmp/rows.tsv" || die "cannot copy conformance/rows.tsv"

# Line-buffer stdout so the harness's result lines and the diagnostics on
# stderr land in the log in the order they happened.
linebuf=""
command -v stdbuf >/dev/null && linebuf="stdbuf -oL -eL"

# One binary: its KTAP log and a .meta with exit status and duration.
# The kernel log is read by sequence number (privmem-kmsg): a splat logged between the
# binary's start and end is in <binary>.kmsg and fails the binary (privmem-report). With
# binaries running side by side, a splat counts for every binary running at the time.
run_binary() {
	local bin=$1 coll name t0 t1 rc seq kmsg=checked
	coll=$(basename "$(dirname "$bin")")
	name=$(basename "$bin")
	mkdir -p "$tmp/ktap/$coll"
	[ "$quiet" = 1 ] || printf '  RUN      %s/%s\n' "$coll" "$name" >&2
	seq=$(env -u LD_PRELOAD "$build/privmem-kmsg" mark 2>"$tmp/ktap/$coll/$name.kmsg") ||
		kmsg="unchecked: $(sed 's/^privmem-kmsg: //' "$tmp/ktap/$coll/$name.kmsg")"
	t0=$(date +%s.%N)
	(cd "$(dirname "$bin")" && timeout -k 5 "$timeout_s" $linebuf "./$name") \
		>"$tmp/ktap/$coll/$name.ktap" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	if [ "$kmsg" = checked ]; then
		env -u LD_PRELOAD "$build/privmem-kmsg" since "$seq" >"$tmp/ktap/$coll/$name.kmsg" 2>"$tmp/ktap/$coll/$name.kmsg-err" ||
			kmsg="unchecked: $(sed 's/^privmem-kmsg: //' "$tmp/ktap/$coll/$name.kmsg-err")"
		rm -f "$tmp/ktap/$coll/$name.kmsg-err"
	fi
	[ "$kmsg" = checked ] || rm -f "$tmp/ktap/$coll/$name.kmsg"
	{
		echo "exit=$rc"
		echo "seconds=$(echo "$t1 - $t0" | bc)"
		[ $rc = 124 ] || [ $rc = 137 ] && echo "timeout=1"
		[ -n "${PRIVMEM_DEVIATION:-}" ] && echo "deviation=$PRIVMEM_DEVIATION"
		echo "kmsg=$kmsg"
	} >"$tmp/ktap/$coll/$name.meta"
}
export -f run_binary
export tmp quiet timeout_s linebuf build

if [ -n "$background" ]; then
	bg_start "$background" "$tmp/background.log"
	echo "$background" >"$tmp/background"
fi
# Binaries are independent processes (each test forks its own VM): run one per CPU.
start=$(date +%s.%N)
printf '%s\n' "${bins[@]}" | xargs -P "${PRIVMEM_JOBS:-$(nproc)}" -I{} bash -c 'run_binary "$1"' _ {}
end=$(date +%s.%N)
echo "$end - $start" | bc >"$tmp/wall_seconds"
bg_stop

"$build/privmem-report" "$tmp" >"$tmp/report.out"
rc=$?
[ $rc -le 1 ] || { cat "$tmp/report.out" >&2; die "report generation failed"; }
sed "s|$tmp|$final|g" "$tmp/report.out"
mv "$tmp" "$final" || die "cannot move results into place"
rmdir "$results/.incomplete" 2>/dev/null
trap - EXIT
[ $quiet = 1 ] || printf 'conformance wall time: %.1f s\nresults: %s\n' "$(cat "$final/wall_seconds")" "$final"
exit $rc
