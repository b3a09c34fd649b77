# shellcheck shell=bash disable=SC2154,SC2034 # the variables below are set by scripts/lab.sh; status, reason, plots feed bench_index_add
# Benchmarks in the lab (scripts/lab.sh --bench 'NAMES [ARGS]'): which ones, and on the host
# the run directory scripts/bench.sh would have written, from what the guest printed between
# @@PRIVMEM markers (bench/<file>, bench/<name>.{out,log,meta}). Sourced, not run. Needs from
# lab.sh: $top $arch $build $report $results $stamp $tmp $btmp $release $qemu $machine $timeout_s
# and die(); uses scripts/lib/bench-run.sh (index, plots, summary, sizing: the same as bench.sh).
#   lab_bench_parse SPEC     # sets bench_names, bench_args, bench_mode, bench_limit, bench_commit;
#                            # adds bench_limit per benchmark to timeout_s
#   lab_bench_assemble       # $btmp: bench.json (with "lab"), <name>.*, plots, summary.md, sizing.md;
#                            # returns 1 when a benchmark failed
#   lab_bench_report DIR     # one line per benchmark, the sizing page
# shellcheck source=bench-run.sh
. "$top/scripts/lib/bench-run.sh"
# shellcheck source=bench-list.sh
. "$top/scripts/lib/bench-list.sh"

# 'hugepage,fault_in --quick --set mib=64': names (commas or blanks) up to the first option.
lab_bench_parse() {
	local w known n
	read -ra w <<<"$1"
	bench_names="" bench_args="" bench_mode=full
	known=$(bench_names "$top")
	for n in "${w[@]}"; do
		if [ -z "$bench_args" ] && [ "${n#-}" = "$n" ]; then
			bench_names="$bench_names ${n//,/ }"
		else
			bench_args="$bench_args $n"
		fi
		case $n in --smoke) bench_mode=smoke ;; --quick) bench_mode=quick ;; --full) bench_mode=full ;; esac
	done
	bench_names=$(xargs <<<"$bench_names")	# squeeze the blanks
	[ -n "$bench_names" ] || die "--bench '$1' names no benchmark (known: $known)"
	[ "$arch" = x86_64 ] || die "--bench: the benchmarks are built for x86_64 only (make ARCH=arm64 builds none yet)"
	for n in $bench_names; do
		case " $known " in *" $n "*) ;; *) die "--bench: unknown benchmark '$n' (known: $known)" ;; esac
		[ -x "$build/bench/$n" ] || die "--bench: $build/bench/$n not built: run 'make'"
	done
	bench_limit=${PRIVMEM_LAB_BENCH_TIMEOUT:-1800}
	case $bench_limit in ''|*[!0-9]*) die "PRIVMEM_LAB_BENCH_TIMEOUT wants whole seconds, got '$bench_limit'" ;; esac
	for n in $bench_names; do timeout_s=$((timeout_s + bench_limit)); done
	bench_commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
}

# The newest host run (not a lab run) in the results directory whose hugepage ran ok: the
# other side of the sizing page.
lab_bench_host_run() {
	local d
	for d in $(printf '%s\n' "$results"/*-bench | sort -r); do
		case $d in *-lab-*) continue ;; esac
		jq -e '.benchmarks[] | select(.name == "hugepage" and .status == "ok")' "$d/bench.json" >/dev/null 2>&1 &&
			{ echo "$d"; return 0; }
	done
	return 1
}

lab_bench_assemble() {
	local n rc secs index='[]' failed=0 lab host
	mkdir -p "$btmp" || die "cannot write to $results"
	cp "$tmp/caps.json" "$btmp/caps.json"	# the guest's own probe
	for n in $bench_names; do
		rc=$(sed -n 's/^exit=//p' "$tmp/bench/$n.meta" 2>/dev/null)
		secs=$(sed -n 's/^seconds=//p' "$tmp/bench/$n.meta" 2>/dev/null)
		rm -f "$tmp/bench/$n.meta"
		mv "$tmp/bench/$n".* "$tmp/bench/$n"-*.csv "$btmp/" 2>/dev/null
		if [ -z "$rc" ]; then
			status=fail reason="no output on the console (the guest never ran it)" plots='[]' rc=-1 secs=0
		elif [ -e "$btmp/$n.json" ] && ! jq -e . "$btmp/$n.json" >/dev/null 2>&1; then
			# Console noise inside the file (a kernel message on the serial line).
			status=fail reason="$n.json arrived garbled over the serial console" plots='[]'
		else
			bench_status "$rc" "$btmp" "$n" "$bench_limit"
			bench_plot "$btmp" "$n"
		fi
		[ "$status" != fail ] || failed=1
		index=$(bench_index_add "$index" "$n" "$rc" "${secs:-0}")
	done
	rmdir "$tmp/bench" 2>/dev/null || rm -rf "$tmp/bench"
	lab=$(jq -n --arg run "$stamp" --arg r "$release" --arg a "$arch" \
		--arg q "$qemu $machine -accel tcg -smp 2 -m 3G" --arg args "$bench_args" \
		'{lab: {run: $run, release: $r, arch: $a, qemu: $q, accel: "tcg", args: $args,
			timings: "QEMU TCG: timings are not meaningful; counts and fractions are"}}')
	bench_write_index "$btmp" "$bench_mode" "$stamp-bench" "$bench_commit" "" \
		"$(jq '[.[].elapsed_s] | add // 0' <<<"$index")" "$index" "$lab" ||
		die "cannot write $btmp/bench.json"
	bench_summary "$btmp" "$bench_mode" "$stamp-bench" "$bench_commit" "" "$bench_names"
	host=$(lab_bench_host_run)
	bench_sizing "$btmp" "$report" ${host:+"$host"} || failed=1
	return $failed
}

lab_bench_report() {
	jq -r '.benchmarks[] | "lab bench: \(.status | ascii_upcase) \(.name) \(.elapsed_s | floor) s \(.reason // "")"' "$1/bench.json"
	jq -r --arg d "$1" '.sizing // empty | "lab bench: sizing page \($d)/\(.page)\(if (.compared_with | length) > 0 then " (beside \(.compared_with | join(", ")))" else "" end)"' "$1/bench.json"
	echo "lab bench: results $1"
}
