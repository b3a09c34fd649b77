# shellcheck shell=bash
# bench_names TOP: the benchmarks of TOP/bench/benchmarks.list, in their run order.
bench_names() {
	awk '!/^#/ && NF { printf "%s%s", sep, $1; sep = " " } END { print "" }' "$1/bench/benchmarks.list"
}
