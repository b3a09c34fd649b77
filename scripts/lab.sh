#!/bin/bash
# The lab: boot a kernel under QEMU TCG (-cpu max: svm+npt, so kvm_amd runs guests) with a
# generated initramfs holding busybox and the privmem conformance binaries, run the suite
# inside, and write the results like `make run` does, tagged with the lab kernel:
#   results/<stamp>-lab-<kernel release>[-arm64][-protected]/   (caps.json, ktap/, results.json,
#   summary.md, ...) plus console.log (the whole serial console) and lab.json (kernel, arch,
#   mode, boot and suite times).
#
#   scripts/lab.sh [--kernel BZIMAGE [--modules DIR]] [--kdir TREE] [--source SERIES] [--stock SERIES]
#                  [--timeout SECONDS] [--only 'COLLECTION/BINARY GLOB'] [--results DIR] [--quiet]
#                  [--deviations 'NAME GLOB'] [--peers DIR] [--kasan]
#                  [--arch x86_64|arm64] [--mode normal|protected]
#                  [--fuzz 'PRIVMEM-FUZZ ARGS' [--fuzz-deviations 'NAME GLOB']]
#                  [--bench 'NAME[,NAME...] [BENCHMARK ARGS]']
#
# Kernel: --kernel (a bzImage; --modules: its /lib/modules/<release> if KVM is modular),
# --kdir (build one from that tree with platforms/lab-kernel.config), --stock 6.1|7.2 (Debian's
# stock kernel packages, bookworm's or sid's, unpacked into the cache, never installed:
# scripts/lab-stock-kernel.sh), --source 7.3 (the lab kernel built from Debian's linux-source-7.3,
# scripts/lab-source.sh), or by default the lab kernel built from linux-source-6.12
# (scripts/lab-kernel.sh, cached). --kasan: the same
# with platforms/lab-kernel-kasan.config (KASAN, lockdep, DEBUG_VM; a kernel splat during a
# binary's run FAILs that binary).
# --deviations: after the suite, run each deviant-shim deviation marked "lab" (the ones only
# a kernel with sw-protected VMs can expose) whose name matches, against its area's
# collection under LD_PRELOAD; each must FAIL a row it targets by an assertion
# (scripts/lib/kills.sh; deviations.txt: name area verdict hits crashes collateral example).
# --peers DIR: after the suite (before the deviations), run the upstream selftests that
# scripts/upstream-selftests.sh built into DIR (DIR/list), each under a 300 s timeout (the lab's
# --timeout grows by that much per peer): peers/<name>.{out,meta,kmsg} and peers.json
# ([{name, exit, seconds, verdict: pass|skip|fail|timeout, splats}]); they do not change the exit.
# --fuzz ARGS: after the suite, the model-based fuzzer (build/privmem-fuzz ARGS) on each guest_memfd
# platform of the arch (x86_64: sw-default, sw-protected; arm64: sw-default, pkvm, which SKIPs with
# its reason): fuzz/<platform>.{log,json,meta,kmsg} and any reproducer fuzz/<platform>.repro.c;
# fuzz.json and lab.json's "fuzz" say per platform pass, skip or diverged; a divergence or a
# splat while it ran makes the exit 1.
# --fuzz-deviations 'GLOB...' (with --fuzz): then the fuzzer alone against each deviant-shim deviation
# of the fuzzer's areas (guest_memfd gmem_mmap memslot invalidate memfault attributes convert) that
# GLOB matches, under LD_PRELOAD: "lab" ones on sw-protected, "host" ones on sw-default;
# fuzz-deviations.txt: name platform found|unreproduced|missed|crashed ops seconds operation (found: it
# diverged; the ops and seconds to the first divergence, the operation that diverged; unreproduced:
# it diverged, but not again on a replay of the episode on a fresh VM).
# --bench 'NAMES [ARGS]' (x86_64): after the suite, build/bench/<name> ARGS (e.g. 'hugepage --quick')
# in the guest, each under PRIVMEM_LAB_BENCH_TIMEOUT seconds (1800; the lab's --timeout grows by
# that much per benchmark); on the host, results/<stamp>-lab-<release>-bench/ in the layout
# scripts/bench.sh writes (bench.json with "lab", <name>.json, tables, plots drawn on the host,
# summary.md; sizing.md when hugepage ran, side by side with the newest host run in the results
# directory that has hugepage results; scripts/lib/lab-bench.sh). Under TCG the timings are not
# meaningful; counts and fractions (2M retention) are. A failed benchmark makes the exit 1.
# Exit 0 when nothing FAILed (and every deviation run was detected), 1 otherwise, 2 on bad
# input or when the lab could not boot or hung (the console log is kept and named).
# --arch arm64: qemu-system-aarch64 -M virt,virtualization=on (EL2, so the kernel runs KVM in
# VHE mode) on --stock 7.x (sid's linux-binary-*-arm64) or --kernel IMAGE; busybox is
# bookworm's busybox-static:arm64 (downloaded, cached); the binaries come from build/arm64/
# (PRIVMEM_BUILD), dynamically linked against the cross libc (gcc-aarch64-linux-gnu), and the
# host's build/privmem-report (PRIVMEM_REPORT) makes the results. --mode protected: pKVM
# (kvm-arm.mode=protected); the lab checks that the kernel said "Protected hVHE mode
# initialized successfully" (normal: "VHE mode initialized successfully"), else exit 2.
# The CPU: -cpu max,pauth-impdef=on (normal); cortex-a76 (protected: pKVM's VM teardown walks
# the whole physical address range, 2-3.7 s per VM under TCG with max's 52 bits, 0.01 s with
# the A76's 40). PRIVMEM_LAB_CPU overrides.
# PRIVMEM_BUILD: the build directory to take binaries from (default build/, arm64: build/arm64/).
set -u
# --deviations globs may exclude (7.3 in the matrix: !(pkvm-*), the pkvm ones need an arm64 lab).
shopt -s extglob
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${PRIVMEM_CACHE:-/var/cache/privmem}
results=${RESULTS:-$top/results}
kernel="" modules="" kdir="" stock="" source="" kconfig="" quiet=0 only="" devglob="" kasan="" peers="" fuzz_args="" fuzz_devglob="" bench_spec=""
arch=x86_64 mode=normal stockdir=""
timeout_s=${PRIVMEM_LAB_TIMEOUT:-1200}
per_binary=${PRIVMEM_TIMEOUT:-120}
per_peer=300
# shellcheck source=lib/kills.sh
. "$top/scripts/lib/kills.sh"
# shellcheck source=lib/lab-initramfs.sh
. "$top/scripts/lib/lab-initramfs.sh"
# shellcheck source=lib/fuzz-areas.sh
. "$top/scripts/lib/fuzz-areas.sh"
# shellcheck source=lib/lab-bench.sh
. "$top/scripts/lib/lab-bench.sh"

die() { echo "privmem lab: $*" >&2; exit 2; }
say() { [ "$quiet" = 1 ] || echo "  LAB      $*" >&2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) [ $# -ge 2 ] || die "--kernel wants a bzImage"; kernel=$2; shift ;;
	--modules) [ $# -ge 2 ] || die "--modules wants a /lib/modules/<release> directory"; modules=$2; shift ;;
	--kdir) [ $# -ge 2 ] || die "--kdir wants a kernel tree"; kdir=$2; shift ;;
	--stock) [ $# -ge 2 ] || die "--stock wants a version (6.1, 7.2)"; stock=$2; shift ;;
	--source) [ $# -ge 2 ] || die "--source wants a series (6.12, 7.3)"; source=$2; shift ;;
	--kasan) kasan=--kasan ;;
	--timeout) [ $# -ge 2 ] || die "--timeout wants seconds"; timeout_s=$2; shift ;;
	--results) [ $# -ge 2 ] || die "--results wants a directory"; results=$2; shift ;;
	--quiet) quiet=1 ;;
	--only) [ $# -ge 2 ] || die "--only wants a pattern (collection/binary glob)"; only=$2; shift ;;
	--deviations) [ $# -ge 2 ] || die "--deviations wants a pattern (deviation name glob, '*' for all)"; devglob=$2; shift ;;
	--peers) [ $# -ge 2 ] || die "--peers wants a directory (scripts/upstream-selftests.sh OUTDIR)"; peers=$2; shift ;;
	--fuzz) [ $# -ge 2 ] || die "--fuzz wants privmem-fuzz arguments (e.g. '--ops 5000 --seed 1')"; fuzz_args=$2; shift ;;
	--bench) [ $# -ge 2 ] || die "--bench wants benchmark names and arguments (e.g. 'hugepage --quick')"; bench_spec=$2; shift ;;
	--fuzz-deviations) [ $# -ge 2 ] || die "--fuzz-deviations wants a deviation name glob"; fuzz_devglob=$2; shift ;;
	--arch) [ $# -ge 2 ] || die "--arch wants x86_64 or arm64"; arch=$2; shift ;;
	--mode) [ $# -ge 2 ] || die "--mode wants normal or protected"; mode=$2; shift ;;
	-h|--help) sed -n '2,/^set -u$/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
case "$timeout_s" in ''|*[!0-9]*) die "--timeout wants whole seconds" ;; esac
case "$arch" in x86_64|amd64) arch=x86_64 ;; arm64|aarch64) arch=arm64 ;; *) die "--arch: x86_64 or arm64, not '$arch'" ;; esac
case "$arch:$mode" in
*:normal|arm64:protected) ;;
*) die "--mode: normal, or protected (pKVM, arm64 only), not '$mode' on $arch" ;;
esac
# The guest's binaries ($build) and the host's report (and the shim that lists the deviations):
# one build on x86_64; on arm64 the x86_64 build beside build/arm64.
if [ "$arch" = x86_64 ]; then
	build=${PRIVMEM_BUILD:-$top/build} qemu=qemu-system-x86_64 qemu_pkg=qemu-system-x86
	report=${PRIVMEM_REPORT:-$build/privmem-report}
else
	build=${PRIVMEM_BUILD:-$top/build/arm64} qemu=qemu-system-aarch64 qemu_pkg=qemu-system-arm
	report=${PRIVMEM_REPORT:-$(dirname "$build")/privmem-report}
	[ -x "$report" ] || report=$top/build/privmem-report
	[ -z "$kdir$source$kasan" ] || die "arm64 labs boot --stock 7.x or --kernel IMAGE (no --kdir, --source, --kasan yet)"
	[ -n "$stock$kernel" ] || die "--arch arm64 wants --stock 7.x or --kernel IMAGE"
	command -v aarch64-linux-gnu-readelf >/dev/null || die "aarch64-linux-gnu-readelf missing: apt-get install gcc-aarch64-linux-gnu"
	[ -x "$build/privmem-caps" ] || die "not built: no $build/privmem-caps (the arm64 build, PRIVMEM_BUILD)"
	file -bL "$build/privmem-caps" 2>/dev/null | grep -q 'ARM aarch64' || die "$build/privmem-caps is not an arm64 binary (PRIVMEM_BUILD: the arm64 build)"
fi
shim_list=$(dirname "$report")/deviant.so
command -v "$qemu" >/dev/null || die "$qemu missing: apt-get install $qemu_pkg (make deps)"
[ -x "$build/privmem-caps" ] || die "not built: no $build/privmem-caps (run 'make')"
[ -x "$report" ] || die "not built: no $report (run 'make')"
ls "$build"/conformance/*/*_test >/dev/null 2>&1 || die "no conformance binaries in $build/conformance: run 'make'"
[ -z "$devglob" ] || [ -r "$build/deviant.so" ] || die "no deviant shim ($build/deviant.so): run 'make'"
[ -z "$fuzz_devglob" ] || { [ -n "$fuzz_args" ] && [ -r "$build/deviant.so" ] && [ -r "$shim_list" ]; } ||
	die "--fuzz-deviations needs --fuzz and the deviant shim ($build/deviant.so, $shim_list): run 'make'"
[ -z "$devglob" ] || [ -r "$shim_list" ] || die "no host deviant shim ($shim_list) to list the deviations: run 'make'"
[ -z "$peers" ] || [ -s "$peers/list" ] || die "--peers $peers has no list: build it with scripts/upstream-selftests.sh $peers"
[ -z "$bench_spec" ] || lab_bench_parse "$bench_spec"	# sets bench_names, bench_args, bench_mode

# ---- the kernel (scripts/lib/lab-initramfs.sh) -------------------------------------------
lab_pick_kernel
# arm64: the KVM mode line the kernel must have printed (arch/arm64/kvm/arm.c, kvm_info).
kvm_expect=""
[ "$arch" != arm64 ] || [ "$mode" != normal ] || kvm_expect='kvm \[[0-9]+\]: VHE mode initialized successfully'
[ "$mode" != protected ] || kvm_expect='kvm \[[0-9]+\]: Protected hVHE mode initialized successfully'

# ---- the initramfs (scripts/lib/lab-initramfs.sh) -----------------------------------------
work=$(mktemp -d /tmp/privmem-lab.XXXXXX) || die "cannot create a work directory"
trap 'rm -rf "$work"' EXIT
busybox=$(lab_busybox) || die "no busybox for $arch"
lab_initramfs

# ---- boot --------------------------------------------------------------------------------
# arm64 runs are tagged with the arch (unless the release names it) and the mode.
tag=$release
[ "$arch" = x86_64 ] || [[ $release == *"$arch"* ]] || tag=$tag-$arch
[ "$mode" = normal ] || tag=$tag-$mode
stamp=$(date -u +%Y%m%dT%H%M%SZ)-lab-$tag
mkdir -p "$results" || die "cannot create $results"
final=$results/$stamp
tmp=$results/.incomplete/$stamp
mkdir -p "$tmp/ktap" || die "cannot write to $results"
btmp=$results/.incomplete/$stamp-bench	# --bench: the benchmark run directory, assembled here
trap 'rm -rf "$work" "$tmp" "$btmp"; rmdir "$results/.incomplete" 2>/dev/null' EXIT
trap 'echo "privmem lab: interrupted; nothing written" >&2; exit 130' INT TERM
console=$tmp/console.log
say "booting $kernel ($release, $arch, $mode) under QEMU TCG; console: $console"
t0=$(date +%s.%N)
# ${PRIVMEM_LAB_TCG:-thread=single}: multi-threaded TCG hit "Oops: int3" in the 6.12 guest while
# the kernel live-patched its own text (int3-based text_poke); one TCG thread did not.
# secretmem.enable=1: older kernels (Debian's 6.1) default it to 0, so memfd_secret is ENOSYS there.
# Two NUMA nodes, a CPU and half the memory each: the NUMA rows (mbind on guest_memfd, page
# placement by move_pages) need a second node; nothing else changes with it.
# (arm64: the virt board describes them in its device tree, numa-node-id.)
numa="-object memory-backend-ram,id=m0,size=1536M -numa node,nodeid=0,cpus=0,memdev=m0
      -object memory-backend-ram,id=m1,size=1536M -numa node,nodeid=1,cpus=1,memdev=m1"
cmdline="panic=-1 quiet secretmem.enable=1"
if [ "$arch" = x86_64 ]; then
	machine="-cpu max" cmdline="console=ttyS0 $cmdline"
else
	# virtualization=on: EL2, so the kernel runs KVM (VHE; hVHE with pKVM). Normal mode: -cpu max
	# with pauth-impdef=on, QEMU's cheap pointer-auth algorithm (with the architected one the
	# stock 7.2 kernel took 25 s instead of 9 s to reach init here). Protected mode: cortex-a76,
	# whose 40-bit physical address range makes a VM's teardown cheap: pKVM's teardown
	# (kvm_arch_flush_shadow_all) walks the whole range, and with max's 52 bits every VM close
	# took 2-3.7 s under TCG (48 bits, neoverse-n1: 0.15 s; 40 bits: 0.01 s), so the suite ran
	# past 20 minutes instead of ~2. The same suite gave the same results on both CPUs in normal
	# mode. PRIVMEM_LAB_CPU overrides either.
	cpu=${PRIVMEM_LAB_CPU:-$([ "$mode" = protected ] && echo cortex-a76 || echo max,pauth-impdef=on)}
	machine="-M virt,virtualization=on,gic-version=3 -cpu $cpu"
	cmdline="console=ttyAMA0 rdinit=/init $cmdline"
	[ "$mode" != protected ] || cmdline="$cmdline kvm-arm.mode=protected"
fi
# shellcheck disable=SC2086 # $machine and $numa are words on purpose
timeout -k 10 "$timeout_s" "$qemu" $machine -accel "tcg,${PRIVMEM_LAB_TCG:-thread=single}" -smp 2 -m 3G $numa \
	-nographic -no-reboot -nodefaults -serial stdio -kernel "$kernel" -initrd "$work/initramfs.gz" \
	-append "$cmdline" </dev/null >"$console" 2>&1
qrc=$?
t1=$(date +%s.%N)
keep_console() {	# a failed lab keeps its console log where the user can read it
	local kept=$results/lab-console-$stamp.log
	cp "$console" "$kept" 2>/dev/null
	echo "$kept"
}
tr -d '\r' <"$console" >"$console.tmp" && mv "$console.tmp" "$console"
grep -aq '@@PRIVMEM-BOOTED' "$console" ||
	die "the lab kernel did not reach init (qemu exit $qrc); console log: $(keep_console)"
[ -z "$kvm_expect" ] || grep -aqE "$kvm_expect" "$console" ||
	die "the kernel did not print '${kvm_expect#*: }' ($mode mode; it said: $(grep -a '@@PRIVMEM-KVM.*[Mm]ode' "$console" |
		sed 's/^@@PRIVMEM-KVM \[ *[0-9.]*\] //' | paste -sd'|' | grep . || echo 'no KVM mode line')); console log: $(keep_console)"
if ! grep -aq '@@PRIVMEM-DEVIATIONS-DONE' "$console"; then
	if [ $qrc = 124 ] || [ $qrc = 137 ]; then
		die "the lab hung: the suite did not finish within ${timeout_s}s; console log: $(keep_console)"
	fi
	why=$(grep -aom1 -E 'Kernel panic[^\r]*|Oops: [^\r]*|BUG: [^\r]*' "$console")
	die "the lab kernel stopped before the suite finished (qemu exit $qrc${why:+: $why}); console log: $(keep_console)"
fi

# ---- results: the same layout as scripts/run.sh, then the report ---------------------------
# A marker may follow console noise or output without a final newline on the same line.
awk -v dir="$tmp" '
	{ i = index($0, "@@PRIVMEM-"); if (i > 1) { if (out != "") print substr($0, 1, i - 1) > out; $0 = substr($0, i) } }
	/^@@PRIVMEM-BEGIN / { file = dir "/" $2; sub(/\/[^\/]*$/, "", file); system("mkdir -p \"" file "\"");
			      out = dir "/" $2; printf "" > out; next }
	/^@@PRIVMEM-END / { if (out ~ /\.ktap$/ || out ~ /\/peers\/[^\/]*\.out$/ || out ~ /\/fuzz(-devs)?\/[^\/]*\.log$/ || out ~ /\/bench\/[^\/]*\.log$/) { meta = out; sub(/\.(ktap|out|log)$/, ".meta", meta);
			      printf "exit=%s\nseconds=%.2f\n%s%s", $2, $4 - $3, ($2 == 124 || $2 == 143) ? "timeout=1\n" : "",
				     $5 == "" ? "" : "kmsg=" $5 "\n" > meta;
			      close(meta) }
			    close(out); out = ""; next }
	out != "" { print > out }
' "$console"
cp "$top/conformance/rows.tsv" "$tmp/rows.tsv"
# Peers: exit 0 passes, 4 (KSFT_SKIP) skips, a timeout is "timeout", anything else fails.
if [ -n "$peers" ]; then
	while read -r name rel; do
		m=$tmp/peers/$name.meta k=$tmp/peers/$name.kmsg
		jq -n --arg n "$name" --arg e "$(sed -n 's/^exit=//p' "$m" 2>/dev/null)" \
			--arg s "$(sed -n 's/^seconds=//p' "$m" 2>/dev/null)" --arg k "$([ -r "$k" ] && grep -c . "$k")" \
			'{name: $n, exit: ($e | tonumber? // null), seconds: ($s | tonumber? // null), splats: ($k | tonumber? // null)} |
			 .verdict = (if .exit == null then "missing" elif .exit == 0 then "pass" elif .exit == 4 then "skip"
				     elif .exit == 124 or .exit == 143 then "timeout" else "fail" end)'
	done <"$root/privmem/peers.list" | jq -s . >"$tmp/peers.json"
fi
# Fuzz (--fuzz): per platform its exit (0 pass, 4 skip, 1 diverged, else fail), budget and splats.
if [ -n "$fuzz_args" ]; then
	for m in "$tmp"/fuzz/*.meta; do
		[ -e "$m" ] || continue
		p=$(basename "$m" .meta)
		jq -n --arg p "$p" --arg e "$(sed -n 's/^exit=//p' "$m")" --arg s "$(sed -n 's/^seconds=//p' "$m")" \
			--arg k "$([ -r "$tmp/fuzz/$p.kmsg" ] && grep -c . "$tmp/fuzz/$p.kmsg")" \
			--arg skip "$(grep -am1 '^SKIP' "$tmp/fuzz/$p.log")" \
			--argjson j "$(jq -c . "$tmp/fuzz/$p.json" 2>/dev/null || echo null)" \
			'{platform: $p, exit: ($e | tonumber? // null), seconds: ($s | tonumber? // null),
			  splats: ($k | tonumber? // null), skip: (if $skip == "" then null else $skip end), summary: $j} |
			 .verdict = (if .exit == 0 then "pass" elif .exit == 4 then "skip" elif .exit == 1 then "diverged"
				     else "fail" end)'
	done | jq -s . >"$tmp/fuzz.json"
fi
# Fuzz deviations: found (diverged: ops, seconds, the operation), missed (no divergence), crashed.
if [ -n "$fuzz_devglob" ]; then
	while read -r dev plat; do
		l=$tmp/fuzz-devs/$dev.log e=$(sed -n 's/^exit=//p' "$tmp/fuzz-devs/$dev.meta" 2>/dev/null)
		if [ "$e" = 1 ] && grep -aq '^DIVERGENCE' "$l"; then
			echo "$dev $plat $(grep -aq 'NOT REPRODUCED' "$l" && echo unreproduced || echo found) $(awk '/^ops [0-9]+ executed/ { print $2, $(NF-3); exit }' "$l") $(sed -n 's/^DIVERGENCE.* op [0-9]*: \([A-Z_]*\).*/\1/p' "$l" | head -n 1)"
		elif [ "$e" = 0 ]; then
			echo "$dev $plat missed $(awk '/^ops [0-9]+ executed/ { print $2, $(NF-3); exit }' "$l") -"
		else
			echo "$dev $plat crashed 0 0 exit=${e:-none}"
		fi
	done <"$root/privmem/fuzz-devs.list" >"$tmp/fuzz-deviations.txt"
fi
booted=$(grep -ao '@@PRIVMEM-BOOTED [0-9.]*' "$console" | head -n 1 | cut -d' ' -f2)
done_at=$(grep -ao '@@PRIVMEM-DONE [0-9.]*' "$console" | head -n 1 | cut -d' ' -f2)
echo "$done_at - $booted" | bc >"$tmp/wall_seconds"
# Deviations: each one's KTAP is a run of its own (deviations/<name>/), judged by kills.sh.
: >"$tmp/deviations.txt"
while read -r dev area _; do
	d=$tmp/deviations/$dev targets=$(awk -F'\t' -v n="$dev" '$1 == n { print $4 }' "$work/shim.list")
	mkdir -p "$d/ktap" && cp "$tmp/rows.tsv" "$tmp/caps.json" "$d/" 2>/dev/null
	"$report" "$d" >"$d/report.out" 2>&1
	if [ -z "$targets" ] || [ -n "$(kill_targets_unknown "$tmp/rows.tsv" "$targets")" ]; then
		echo "$dev $area no-targets 0 0 0 ${targets:-none-named}" | cut -d' ' -f1-7 >>"$tmp/deviations.txt"
	elif [ -r "$d/results.json" ]; then
		echo "$dev $area $(kill_verdict "$d/results.json" "$targets")" >>"$tmp/deviations.txt"
	else
		echo "$dev $area no-results 0 0 0 $d/report.out" >>"$tmp/deviations.txt"
	fi
done <"$root/privmem/deviations.list"
devs_total=$(wc -l <"$tmp/deviations.txt")
devs_detected=$(awk '$3 == "detected"' "$tmp/deviations.txt" | wc -l)
# The injected splat (only with --deviations: it needs the shim).
splat=""
if [ -d "$tmp/splat-proof/ktap" ]; then
	cp "$tmp/rows.tsv" "$tmp/caps.json" "$tmp/splat-proof/" 2>/dev/null
	"$report" "$tmp/splat-proof" >"$tmp/splat-proof/report.out" 2>&1
	splat=$([ -r "$tmp/splat-proof/results.json" ] && splat_proof_verdict "$tmp/splat-proof/results.json")
	splat=${splat:-FAIL no results}
fi
# Benchmarks (--bench): their own run directory, beside this one (scripts/lib/lab-bench.sh).
bench_rc=0
[ -z "$bench_spec" ] || lab_bench_assemble || bench_rc=1
kvm_line=$(grep -ao '@@PRIVMEM-KVM .*' "$console" | cut -d' ' -f2- | grep -E "${kvm_expect:-^$}" | head -n 1)
jq -n --arg k "$kernel" --arg r "$release" --arg m "$modules" --argjson boot "$booted" \
	--argjson suite "$(cat "$tmp/wall_seconds")" --argjson total "$(echo "$t1 - $t0" | bc)" \
	--rawfile devs "$tmp/deviations.txt" --arg splat "$splat" --arg arch "$arch" --arg mode "$mode" \
	--arg q "$qemu $machine -accel tcg,${PRIVMEM_LAB_TCG:-thread=single} -smp 2 -m 3G, 2 NUMA nodes" \
	--arg cmdline "$cmdline" --arg kvm "$kvm_line" \
	--argjson fuzz "$(cat "$tmp/fuzz.json" 2>/dev/null || echo null)" --arg bench "${bench_spec:+$stamp-bench}" \
	'{schema: "privmem-lab/1", kernel: $k, release: $r, arch: $arch, mode: $mode, modules: (if $m == "" then null else $m end),
	  qemu: $q, cmdline: $cmdline, kvm_mode_line: (if $kvm == "" then null else $kvm end),
	  boot_s: $boot, suite_s: $suite, total_s: $total,
	  deviations: ($devs | split("\n") | map(select(. != "") | split(" ")) |
		{run: length, detected: map(select(.[2] == "detected")) | length,
		 verdicts: (group_by(.[2]) | map({key: .[0][2], value: length}) | from_entries),
		 not_detected: map(select(.[2] != "detected") | {name: .[0], verdict: .[2]})}),
	  splat_proof: (if $splat == "" then null else $splat end),
	  fuzz: $fuzz, bench: (if $bench == "" then null else $bench end)}' >"$tmp/lab.json"
"$report" "$tmp" >"$tmp/report.out"
rc=$?
[ $rc -le 1 ] || { cat "$tmp/report.out" >&2; die "report generation failed"; }
[ "$devs_detected" = "$devs_total" ] || rc=1
[ -z "$splat" ] || [ "${splat%% *}" = ok ] || rc=1
# The fuzzer: every platform ran (pass or skip), no divergence, no splat.
if [ -n "$fuzz_args" ] && ! jq -e 'length > 0 and all(.[]; (.verdict == "pass" or .verdict == "skip") and (.splats // 0) == 0)' \
	"$tmp/fuzz.json" >/dev/null 2>&1; then
	rc=1
fi
[ "$bench_rc" = 0 ] || rc=1
mv "$tmp" "$final" || die "cannot move results into place"
[ -z "$bench_spec" ] || mv "$btmp" "$final-bench" || die "cannot move the benchmark results into place"
rmdir "$results/.incomplete" 2>/dev/null
trap 'rm -rf "$work"' EXIT
sed "s|$tmp|$final|g" "$final/report.out" >&2
[ "$devs_total" -gt 0 ] && kill_table "$final/deviations.txt" "lab kill rate" >&2
[ -z "$splat" ] || echo "lab kernel splat proof: $splat" >&2
[ -z "$fuzz_devglob" ] || echo "fuzz deviations: $(awk '$3 == "found"' "$final/fuzz-deviations.txt" | wc -l) of $(wc -l <"$final/fuzz-deviations.txt") found (fuzz-deviations.txt)" >&2
[ -z "$fuzz_args" ] || echo "fuzz: $(jq -r 'map("\(.platform) \(.verdict)" + (if .summary then " \(.summary.executed) ops (\(.summary.guest_ops) with guest entries) in \(.summary.seconds)s, \(.summary.ops_per_s) ops/s" else "" end) + (if (.splats // 0) > 0 then ", \(.splats) splats" else "" end) + (if .skip then ": \(.skip)" else "" end)) | join("; ")' "$final/fuzz.json")" >&2
[ -z "$bench_spec" ] || lab_bench_report "$final-bench" >&2
[ -z "$peers" ] || echo "upstream peers: $(jq -r 'map("\(.name) \(.verdict) \(.seconds)s") | join(", ")' "$final/peers.json")" >&2
say "$release ($arch, $mode): booted in ${booted}s, suite ${suite:-$(cat "$final/wall_seconds")}s; results: $final"
exit $rc
