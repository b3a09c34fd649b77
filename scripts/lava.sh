#!/bin/bash
# The fleet path, run here for real: privmem's kselftest install tarball (make dist) as a LAVA job
# on the QEMU lab device, dispatched by Debian's lava-dispatcher with lava-run (no server), then
# privmem's own report rebuilt from the job's log, as a fleet's result collector would.
#
#   scripts/lava.sh [--arch x86_64|arm64] [--kernel IMAGE [--modules DIR] | --stock SERIES | --source SERIES]
#                   [--tarball FILE] [--results DIR] [--baseline RUN] [--timeout SECONDS] [--quiet]
#   scripts/lava.sh [--arch A] --device                 # print the rendered device description
#   scripts/lava.sh [--arch A] [kernel] --ramdisk OUT   # only write the ramdisk (for a LAVA server)
#
# Kernel: as scripts/lab.sh picks it (default the 6.12 lab kernel with sw-protected VMs; arm64
# wants --stock 7.x or --kernel). The tarball: build/privmem-kselftest-x86_64.tar.gz, or
# build/arm64/privmem-kselftest-arm64.tar.gz (make dist [ARCH=arm64]).
# Steps: lava-server's device-type templates (the Debian package of lava-dispatcher's version,
# downloaded and unpacked into the cache, never installed) render lava/devices/qemu-privmem-<arch>
# with j2; a busybox ramdisk (scripts/lib/lava-ramdisk.sh); lava/job.yaml.in filled with file://
# URLs, its test definition lava/privmem-kselftest.yaml taken from a git repository as a fleet's
# is (here a throw-away one holding the working tree's file); lava-run under --timeout (2700 s).
# Then, from the job log (scripts/lib/lava-log.sh): the runner's output and caps.json between the
# test definition's markers -> privmem-report --from-kselftest -> results/<stamp>-lava-<release>
# [-arm64]/ (the usual results.json, junit.xml, summary.md, ktap/) with lava.log (lava-run's whole
# log), lava-job.yaml, lava-device.yaml, lava-result.yaml and lava.json (job verdict, test cases by
# result, seconds, kernel, lava-dispatcher version).
# Checks, each counted in the end line with the tests: LAVA's job verdict is pass; the test cases
# LAVA recorded are exactly the KTAP results of the runner's output, name and result
# (privmem/ktap-to-lava.sh run here on the same output); no test FAILed; with --baseline RUN (a
# scripts/lab.sh run of the same kernel), `privmem-report --diff RUN <this run>` finds no difference.
# A job that outlives --timeout is stopped (lava-run takes its QEMU down) and is exit 2, its log kept.
# Ends with "N passed, N failed, N skipped". Exit 0 when every check passed, 1 otherwise, 2 on
# bad input or when lava-run could not run the job (its log is kept and named).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${PRIVMEM_CACHE:-/var/cache/privmem}
results=${RESULTS:-$top/results}
# shellcheck disable=SC2034 # kdir, kasan, kconfig, stockdir: lab_pick_kernel's (scripts/lib/lab-initramfs.sh)
arch=x86_64 kernel="" modules="" kdir="" stock="" source="" kasan="" kconfig="" stockdir=""
tarball="" baseline="" deviation="" from_log="" from_dir="" quiet=0 only_device=0 only_ramdisk="" timeout_s=${PRIVMEM_LAVA_TIMEOUT:-2700}
# shellcheck source=lib/lab-initramfs.sh
. "$top/scripts/lib/lab-initramfs.sh"
# shellcheck source=lib/lava-ramdisk.sh
. "$top/scripts/lib/lava-ramdisk.sh"
# shellcheck source=lib/lava-log.sh
. "$top/scripts/lib/lava-log.sh"
# shellcheck source=lib/kills.sh
. "$top/scripts/lib/kills.sh"

die() { echo "privmem lava: $*" >&2; exit 2; }
say() { [ "$quiet" = 1 ] || echo "  LAVA     $*" >&2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--arch) [ $# -ge 2 ] || die "--arch wants x86_64 or arm64"; arch=$2; shift ;;
	--kernel) [ $# -ge 2 ] || die "--kernel wants a kernel image"; kernel=$2; shift ;;
	--modules) [ $# -ge 2 ] || die "--modules wants a /lib/modules/<release> directory"; modules=$2; shift ;;
	--stock) [ $# -ge 2 ] || die "--stock wants a version (6.1, 7.2)"; stock=$2; shift ;;
	--source) [ $# -ge 2 ] || die "--source wants a series (6.12, 7.3)"; source=$2; shift ;;
	--tarball) [ $# -ge 2 ] || die "--tarball wants a privmem-kselftest-<arch>.tar.gz"; tarball=$2; shift ;;
	--results) [ $# -ge 2 ] || die "--results wants a directory"; results=$2; shift ;;
	--baseline) [ $# -ge 2 ] || die "--baseline wants a run directory (scripts/lab.sh's, same kernel)"; baseline=$2; shift ;;
	--timeout) [ $# -ge 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || die "--timeout wants whole seconds"; timeout_s=$2; shift ;;
	--device) only_device=1 ;;
	--ramdisk) [ $# -ge 2 ] || die "--ramdisk wants an output file"; only_ramdisk=$2; shift ;;
	--from-log) [ $# -ge 3 ] || die "--from-log wants a LAVA job log and a run directory to write"; from_log=$2 from_dir=$3; shift 2 ;;
	--deviation) [ $# -ge 2 ] || die "--deviation wants a deviant-shim deviation name (PRIVMEM_DEVIATION=list)"; deviation=$2; shift ;;
	--quiet) quiet=1 ;;
	-h|--help) sed -n '2,/^set -u$/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
case "$arch" in x86_64|amd64) arch=x86_64 ;; arm64|aarch64) arch=arm64 ;; *) die "--arch: x86_64 or arm64, not '$arch'" ;; esac
if [ "$arch" = x86_64 ]; then
	build=$top/build lava_arch=amd64 console=ttyS0
else
	build=$top/build/arm64 lava_arch=arm64 console=ttyAMA0
fi
report=$top/build/privmem-report
tarball=${tarball:-$build/privmem-kselftest-$arch.tar.gz}
[ -z "$baseline" ] || [ -r "$baseline/results.json" ] || die "--baseline $baseline: no results.json there"
[ "$only_device" = 1 ] || [ -n "$only_ramdisk" ] || [ -r "$tarball" ] || die "no $tarball: run 'make dist$([ "$arch" = arm64 ] && echo ' ARCH=arm64')'"
# --from-log LOG RUN_DIR: privmem's report from the log of a job that ran elsewhere (lava-run's
# stdout, or a server's output.yaml: lavacli jobs logs --raw ID), with the rows of the tarball it
# ran; and whether LAVA's test cases are the runner's KTAP results. Exit as privmem-report's.
if [ -n "$from_log" ]; then
	[ -r "$from_log" ] || die "--from-log: cannot read $from_log"
	[ -x "$report" ] || die "not built: no $report (run 'make')"
	work=$(mktemp -d /tmp/privmem-lava.XXXXXX) || die "cannot create a work directory"
	trap 'rm -rf "$work"' EXIT
	tar xzf "$tarball" -C "$work" --wildcards '*privmem/rows.tsv' '*privmem/ktap-to-lava.sh' 2>/dev/null ||
		die "$tarball has no privmem/rows.tsv and privmem/ktap-to-lava.sh"
	lava_console KSFT <"$from_log" >"$work/ksft.out"
	lava_console CAPS <"$from_log" >"$work/caps.json"
	lava_cases <"$from_log" >"$work/cases.txt"
	[ -s "$work/ksft.out" ] || die "--from-log: no runner output between the @@PRIVMEM-KSFT markers in $from_log (not a privmem-kselftest job?)"
	caps=()
	jq -e . "$work/caps.json" >/dev/null 2>&1 && caps=(--caps "$work/caps.json")
	"$report" --from-kselftest "$work/ksft.out" "$from_dir" "${caps[@]}" --rows "$work/privmem/rows.tsv"
	rc=$?
	[ "$rc" -le 1 ] || exit 2
	cp "$from_log" "$from_dir/lava.log" || die "cannot copy $from_log into $from_dir"
	"$work/privmem/ktap-to-lava.sh" "$work/ksft.out" >"$work/expected.txt"
	if cmp -s "$work/expected.txt" "$work/cases.txt"; then
		echo "LAVA test cases = the runner's KTAP results: $(wc -l <"$work/cases.txt")"
	else
		echo "LAVA's test cases are not the runner's KTAP results: $(diff "$work/expected.txt" "$work/cases.txt" | grep -c '^<') missing, $(diff "$work/expected.txt" "$work/cases.txt" | grep -c '^>') extra"
		rc=1
	fi
	exit "$rc"
fi
command -v j2 >/dev/null || die "j2 missing: run 'make deps-lava' (j2cli renders the device description)"
# --deviation: the deviant shim of the target's build rides in the ramdisk; its area and target rows
# come from the host build's list (the same sources).
lava_shim=/usr/lib/privmem/deviant.so dev_area="" dev_targets=""
if [ -n "$deviation" ]; then
	[ -r "$build/deviant.so" ] && [ -r "$top/build/deviant.so" ] || die "--deviation needs the deviant shim ($build/deviant.so and build/deviant.so): run 'make'"
	IFS=$'\t' read -r _ dev_area _ dev_targets _ < <(PRIVMEM_DEVIATION=list LD_PRELOAD=$top/build/deviant.so /bin/true |
		awk -F'\t' -v d="$deviation" '$1 == d')
	[ -n "$dev_area" ] || die "--deviation: no deviation '$deviation' (PRIVMEM_DEVIATION=list LD_PRELOAD=build/deviant.so /bin/true)"
fi

# ---- the device: lava-server's templates, never installed ------------------------------------
# The qemu device type's templates ship in lava-server, not lava-dispatcher; the version that
# matches the dispatcher, from the machine's own apt sources, unpacked once into the cache.
lava_device_types() {
	local ver dir deb
	ver=$(dpkg-query -W -f '${Version}' lava-dispatcher 2>/dev/null) || { echo "lava-dispatcher missing: run 'make deps-lava'" >&2; return 1; }
	dir=$cache/lava-server-${ver//:/%3a}
	mkdir -p "$cache" || return 1
	{ flock 7 && if [ ! -r "$dir/usr/share/lava-server/device-types/qemu.jinja2" ]; then
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" &&
			(cd "$dir.tmp" && apt-get download -q "lava-server=$ver" >/dev/null 2>&1) &&
			deb=$(ls "$dir.tmp"/lava-server_*.deb) && dpkg-deb -x "$deb" "$dir.tmp" && rm -f "$deb" &&
			[ -r "$dir.tmp/usr/share/lava-server/device-types/qemu.jinja2" ] && rm -rf "$dir" && mv "$dir.tmp" "$dir" ||
			{ rm -rf "$dir.tmp"; echo "cannot download and unpack lava-server $ver (apt-get download)" >&2; return 1; }
	fi; } 7>"$cache/.lava-server.lock" || return 1
	echo "$dir/usr/share/lava-server/device-types"
}
# j2 resolves {% extends %} from its working directory: the templates' own.
render_device() {
	local types
	types=$(lava_device_types) || return 1
	(cd "$types" && j2 --undefined "$top/lava/devices/qemu-privmem-$arch.jinja2")
}
if [ "$only_device" = 1 ]; then render_device || die "cannot render lava/devices/qemu-privmem-$arch.jinja2"; exit 0; fi

# ---- the kernel, the ramdisk ------------------------------------------------------------------
[ "$arch" = x86_64 ] || [ -n "$stock$kernel" ] || die "--arch arm64 wants --stock 7.x or --kernel IMAGE"
lab_pick_kernel
work=$(mktemp -d /tmp/privmem-lava.XXXXXX) || die "cannot create a work directory"
trap 'rm -rf "$work"' EXIT
if [ -n "$only_ramdisk" ]; then
	[ -r "$tarball" ] || die "no $tarball (the ramdisk carries the libraries its binaries need): run 'make dist'"
	lava_ramdisk "$tarball" "$work/ramdisk.cpio.gz" && mv "$work/ramdisk.cpio.gz" "$only_ramdisk" || die "cannot write $only_ramdisk"
	echo "$only_ramdisk"
	exit 0
fi
command -v lava-run >/dev/null || die "lava-run missing: run 'make deps-lava'"
[ -x "$report" ] || die "not built: no $report (run 'make')"
say "device, ramdisk and job for $release ($arch)"
render_device >"$work/device.yaml" || die "cannot render lava/devices/qemu-privmem-$arch.jinja2"
lava_ramdisk "$tarball" "$work/ramdisk.cpio.gz" ${deviation:+"$build/deviant.so"}
# The test definition from a git repository, as fleets take it: the working tree's file, committed
# into a throw-away repository (what is tested is what is here, committed or not).
mkdir -p "$work/defs/lava" && cp "$top/lava/privmem-kselftest.yaml" "$work/defs/lava/" &&
	git -C "$work/defs" init -q && git -C "$work/defs" add lava &&
	git -C "$work/defs" -c user.name=privmem -c user.email=privmem@localhost commit -qm "privmem test definition" ||
	die "cannot make the test definition's git repository"


# ---- a job -------------------------------------------------------------------------------------
# lava-run keeps its files in /var/lib/lava/dispatcher/tmp/<job id> and removes them at the end;
# the id only has to be unique among jobs running at once.
keep_log() {	# a job that gave no results keeps its log where the user can read it
	local kept
	kept=$results/lava-$(date -u +%Y%m%dT%H%M%SZ)-$1.log
	mkdir -p "$results" && cp "$work/$1/lava.log" "$kept" 2>/dev/null && echo "$kept"
}
# run_job NAME RUNNER_ARGS RUNNER_ENV: the job in $work/NAME/ (job.yaml, lava.log, out/), its
# runner output (ksft.out), caps.json and LAVA's test cases (cases.txt); sets $job (LAVA's
# verdict), $lrc (lava-run's exit) and $seconds. No runner output at all: exit 2.
run_job() {
	local d=$work/$1 id=$$$((++jobs))
	mkdir -p "$d" || die "cannot write to $d"
	sed -e "s|@JOB_NAME@|privmem-kselftest-$arch-$release-$1|" -e "s|@ARCH@|$lava_arch|" -e "s|@CONSOLE@|$console|" \
		-e "s|@KERNEL_URL@|file://$(realpath "$kernel")|" -e "s|@RAMDISK_URL@|file://$work/ramdisk.cpio.gz|" \
		-e "s|@TARBALL_URL@|file://$(realpath "$tarball")|" -e "s|@DEFINITIONS_REPO@|file://$work/defs|" \
		-e "s|@RUNNER_ARGS@|$2|" -e "s|@RUNNER_ENV@|$3|" "$top/lava/job.yaml.in" >"$d/job.yaml" || die "cannot fill lava/job.yaml.in"
	job_ids="$job_ids $id"
	say "lava-run job $id ($1, timeout ${timeout_s}s): kernel $kernel, tarball $tarball${2:+, runner $2}${3:+, env $3}"
	local t0
	t0=$(date +%s)
	# In the background, waited for: timeout puts itself in a process group of its own, so a ^C
	# reaches only this script, whose INT/TERM trap then stops the job (lava-run takes QEMU down).
	timeout -k 30 "$timeout_s" lava-run --job-id "$id" --output-dir "$d/out" --device "$work/device.yaml" \
		"$d/job.yaml" >"$d/lava.log" 2>&1 </dev/null &
	lava_pid=$!
	wait "$lava_pid"
	lrc=$? seconds=$(($(date +%s) - t0)) lava_pid=""
	job=$(lava_job_result "$d/out/result.yaml")
	lava_console KSFT <"$d/lava.log" >"$d/ksft.out"
	lava_console CAPS <"$d/lava.log" >"$d/caps.json"
	lava_cases <"$d/lava.log" >"$d/cases.txt"
	[ "$lrc" != 124 ] && [ "$lrc" != 137 ] || die "job $1 timed out after ${timeout_s}s (--timeout); log: $(keep_log "$1")"
	[ -s "$d/ksft.out" ] || die "lava-run exit $lrc, job ${job:-unfinished} after ${seconds}s, and no runner output in its log: $(keep_log "$1")"
}
# job_results NAME DIR: privmem's report of job NAME into DIR, with LAVA's own files beside it and
# lava.json; sets $tests (the report's end line), $missing and $extra (KTAP results LAVA did not
# record, test cases LAVA has that the runner did not print).
job_results() {
	local d=$work/$1 out=$2 caps=()
	jq -e . "$d/caps.json" >/dev/null 2>&1 && caps=(--caps "$d/caps.json")
	# exit 1: a test failed (reported all the same); 2: the output was refused, nothing written.
	"$report" --from-kselftest "$d/ksft.out" "$out" "${caps[@]}" --rows "$work/tree/privmem/rows.tsv" >"$d/report.log" 2>&1 ||
		[ $? = 1 ] || die "privmem-report --from-kselftest refused the runner output of job $1: $(tail -n 1 "$d/report.log"); log: $(keep_log "$1")"
	tests=$(tail -n 1 "$d/report.log")
	cp "$d/lava.log" "$out/lava.log" && cp "$d/job.yaml" "$out/lava-job.yaml" && cp "$work/device.yaml" "$out/lava-device.yaml" &&
		{ [ ! -r "$d/out/result.yaml" ] || cp "$d/out/result.yaml" "$out/lava-result.yaml"; } || die "cannot copy the job's files into $out"
	# What LAVA recorded against what the runner printed: ktap-to-lava.sh on the same output here.
	"$work/tree/privmem/ktap-to-lava.sh" "$d/ksft.out" >"$d/expected.txt"
	missing=$(diff "$d/expected.txt" "$d/cases.txt" | grep -c '^<')
	extra=$(diff "$d/expected.txt" "$d/cases.txt" | grep -c '^>')
	jq -n --arg job "${job:-none}" --argjson rc "$lrc" --argjson s "$seconds" --arg k "$kernel" --arg rel "$release" --arg arch "$arch" \
		--arg ver "$(dpkg-query -W -f '${Version}' lava-dispatcher)" --argjson p "$(count "$1" pass)" --argjson f "$(count "$1" fail)" \
		--argjson sk "$(count "$1" skip)" --argjson mi "$missing" --argjson ex "$extra" --arg tb "$(realpath "$tarball")" \
		'{job: $job, lava_run_exit: $rc, seconds: $s, kernel: $k, release: $rel, arch: $arch, tarball: $tb,
		  lava_dispatcher: $ver, cases: {pass: $p, fail: $f, skip: $sk}, cases_not_in_lava: $mi, cases_only_in_lava: $ex}' \
		>"$out/lava.json" || die "cannot write $out/lava.json"
}
count() { awk -v r="$2" '$2 == r' "$work/$1/cases.txt" | wc -l; }
passed=0 failed=0
check() {	# check OK DESCRIPTION
	if [ "$1" = 1 ]; then echo "  ok    $2"; passed=$((passed + 1)); else echo "  FAIL  $2"; failed=$((failed + 1)); fi
}
# The checks every job gets: LAVA's verdict, and every KTAP result a LAVA test case with its result.
check_job() {
	check "$([ "$job" = pass ] && [ "$lrc" = 0 ] && echo 1)" "LAVA's job verdict: ${job:-none} (lava-run exit $lrc)"
	check "$([ "$missing$extra" = 00 ] && [ -s "$work/$1/cases.txt" ] && echo 1)" \
		"LAVA test cases = the runner's KTAP results: $(wc -l <"$work/$1/cases.txt") cases ($(count "$1" pass) pass, $(count "$1" fail) fail, $(count "$1" skip) skip); $missing not in LAVA, $extra only in LAVA"
}

# ---- the suite, and the deviation -----------------------------------------------------------------
jobs=0 job_ids="" lava_pid=""
trap 'for i in $job_ids; do rm -rf "/var/lib/lava/dispatcher/tmp/$i"; done; rm -rf "$work"' EXIT
trap '[ -z "$lava_pid" ] || { kill -TERM "$lava_pid"; wait "$lava_pid"; }; echo "privmem lava: interrupted; nothing written" >&2; exit 130' INT TERM
rm -rf "$work/tree" && mkdir -p "$work/tree" && tar xzf "$tarball" -C "$work/tree" && [ -x "$work/tree/privmem/ktap-to-lava.sh" ] &&
	[ -r "$work/tree/privmem/rows.tsv" ] || die "$tarball has no privmem/rows.tsv and privmem/ktap-to-lava.sh"
run_job suite "" ""
suite_job=$job suite_lrc=$lrc suite_seconds=$seconds
if [ -n "$deviation" ]; then
	run_job deviation "-c privmem/$dev_area" "PRIVMEM_DEVIATION=$deviation LD_PRELOAD=$lava_shim"
fi

tag=$release
[ "$arch" = x86_64 ] || [[ $release == *"$arch"* ]] || tag=$tag-$arch
stamp=$(date -u +%Y%m%dT%H%M%SZ)-lava-$tag
mkdir -p "$results/.incomplete" || die "cannot write to $results"
tmp=$results/.incomplete/$stamp
trap 'for i in $job_ids; do rm -rf "/var/lib/lava/dispatcher/tmp/$i"; done; rm -rf "$work" "$tmp" "$tmp.deviation"; rmdir "$results/.incomplete" 2>/dev/null' EXIT
final=$results/$stamp
echo "== LAVA: $release ($arch); results: $final"
if [ -n "$deviation" ]; then
	job_results deviation "$tmp.deviation"
	echo "-- deviation job: the $dev_area collection under $deviation (targets: $dev_targets), ${seconds}s"
	check_job deviation
	# Detected: a target row FAILed by an assertion (scripts/lib/kills.sh), and LAVA has it as failed.
	read -r verdict hits _ _ example < <(kill_verdict "$tmp.deviation/results.json" "$dev_targets")
	hit_cases=$(jq -r --arg t "$dev_targets" '($t | split(" ")) as $T | .tests[] | select(.status == "FAIL" and .kind == "assert" and
		(.row as $r | $T | any(. == $r))) | "\(.collection).\(.binary).\(.name | gsub("[^A-Za-z0-9_.-]+"; "_")) fail"' "$tmp.deviation/results.json")
	check "$([ "$verdict" = detected ] && [ -n "$hit_cases" ] && grep -qxF -f <(echo "$hit_cases") "$work/deviation/cases.txt" && echo 1)" \
		"$deviation: $verdict ($hits target rows failed by an assertion, e.g. $example), in LAVA: $(echo "$hit_cases" | head -n 1)"
fi
job=$suite_job lrc=$suite_lrc seconds=$suite_seconds
job_results suite "$tmp"
[ -z "$deviation" ] || mv "$tmp.deviation" "$tmp/deviation" || die "cannot move the deviation run into $tmp"
echo "-- suite job: ${seconds}s"
check_job suite
[[ $tests =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]] || die "privmem-report ended with '$tests'"
tp=${BASH_REMATCH[1]} tf=${BASH_REMATCH[2]} ts=${BASH_REMATCH[3]}
echo "  tests privmem-report --from-kselftest of the job: $tests"
if [ -n "$baseline" ]; then
	same=$("$report" --diff "$baseline" "$tmp" 2>&1 | tail -n 1)
	check "$([ "$same" = "0 new failures, 0 fixed, 0 newly skipped, 0 no longer skipped, 0 added, 0 removed" ] && echo 1)" \
		"against $(basename "$baseline"): $same"
fi
mv "$tmp" "$final" || die "cannot move the run into $final"
echo "$((tp + passed)) passed, $((tf + failed)) failed, $ts skipped"
[ "$failed" = 0 ] && [ "$tf" = 0 ]
