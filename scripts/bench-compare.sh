#!/bin/bash
# Compare two benchmark runs (two kernels, two settings, or the same machine twice):
#
#   scripts/bench-compare.sh [--noise NOISE.json] [--min-effect PCT] [--fdr Q] [--all]
#                            [--json FILE] RUN_A RUN_B
#   scripts/bench-compare.sh --calibrate NOISE.json RUN RUN RUN...
#
# The statistics live in privmem-report (report/bench_compare.c, bench_stats.c: Welch's t on
# log samples or Mann-Whitney U, Benjamini-Hochberg, a minimum effect, the run-to-run noise
# of --calibrate runs); this is its entry point next to scripts/bench.sh.
# Exit 0 no worse metric, 1 at least one metric worse, 2 bad input.
set -u
rep=${PRIVMEM_REPORT:-$(cd "$(dirname "$0")/.." && pwd)/build/privmem-report}
[ -x "$rep" ] || { echo "bench-compare: $rep not built: run 'make'" >&2; exit 2; }
case ${1:-} in
-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
--calibrate) shift; exec "$rep" --bench-noise "$@" ;;
esac
exec "$rep" --bench-compare "$@"
