#!/bin/bash
# The real-bug corpus (conformance/mutants/): each mutant is a kernel patch that re-introduces
# one real upstream bug. Per mutant: the pristine linux-source-6.12 tree plus the patch, built
# incrementally in the lab kernel's kept object directory (scripts/lab-kernel.sh --patch),
# booted in the QEMU TCG lab with the whole suite and the upstream selftests of the same tree
# (scripts/upstream-selftests.sh, the peers), judged against the pristine kernel's run:
#   caught   a row FAILed by an assertion that PASSed (or SKIPped) on the pristine kernel
#            (by "assert"), or, with none, a binary FAILed by a kernel splat in its run
#            (by "splat": KASAN, lockdep, WARN, BUG, hung task);
#   crashed  the lab kernel panicked, oopsed outside a binary's run or hung (console line
#            given), or binaries crashed/timed out with no assertion failing;
#   missed   nothing new failed.
# The peers' verdict per mutant: the upstream tests that failed on it and passed on pristine.
#
#   scripts/mutants.sh [--kasan] [--results DIR] [--expect-caught] [--baseline RUN] [--fuzz ARGS] [--only GLOB]
#                      [--list | --index | --check] [GLOB]
#
# GLOB matches mutant names (the file name without .patch; default '*'; several globs:
# separated by spaces or commas). --kasan builds and
# boots the KASAN lane (platforms/lab-kernel-kasan.config). --list prints the corpus, one
# line per mutant; --index prints the index table of conformance/mutants/README.md (from
# the patch headers, the one source); --check (make check) verifies the corpus without a
# kernel build: the headers, the rows they name exist, each patch applies to the pristine
# linux-source-6.12 files it touches, and README.md's index is --index's output.
# --expect-caught (CI): every mutant run must be caught and the pristine kernel must FAIL
# nothing; ends with "N passed, N failed, N skipped" (one per mutant, one for the pristine
# run) and exits 1 otherwise.
# --fuzz ARGS: every lab run also runs the model-based fuzzer (scripts/lab.sh --fuzz ARGS); each
# mutant gets fuzz: found (ops and seconds to the first divergence) or missed. --only GLOB: the
# suite binaries each lab runs (a fuzz-only corpus run: --only 'vmlib/*').
# --baseline RUN: a lab run of the pristine kernel with the same binaries and peers (CI passes
# make lab-matrix's 6.12 run) stands for the pristine run instead of booting it again.
# Writes results/<stamp>-mutants[-kasan]/ (mutants.json, summary.md, base/ and one lab run
# per mutant); nothing is left there if interrupted. Exit 0 when every mutant was built and
# judged (whatever its verdict), 1 when one could not be built, 2 on bad input or when the
# pristine kernel gave no results.
set -u
# A corpus run takes an hour: run from a copy of this file, so editing it meanwhile is safe.
if [ -z "${PRIVMEM_MUTANTS_TOP:-}" ]; then
	self=$(mktemp "${TMPDIR:-/tmp}/privmem-mutants.XXXXXX") && cp "$0" "$self" || exit 2
	PRIVMEM_MUTANTS_TOP=$(cd "$(dirname "$0")/.." && pwd) PRIVMEM_MUTANTS_SELF=$self exec bash "$self" "$@"
fi
rm -f "${PRIVMEM_MUTANTS_SELF:-}"	# bash holds it open
top=$PRIVMEM_MUTANTS_TOP
corpus=$top/conformance/mutants
results=${RESULTS:-$top/results}
cache=${PRIVMEM_CACHE:-/var/cache/privmem}
kasan=0 glob='*' list=0 expect=0 baseline="" fuzz=0 labargs=()
die() { echo "privmem mutants: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case "$1" in
	--kasan) kasan=1 ;;
	--results) [ $# -ge 2 ] || die "--results wants a directory"; results=$2; shift ;;
	--list) list=1 ;;
	--index) list=2 ;;
	--check) list=3 ;;
	--expect-caught) expect=1 ;;
	--fuzz) [ $# -ge 2 ] || die "--fuzz wants privmem-fuzz arguments"; labargs+=(--fuzz "$2"); fuzz=1; shift ;;
	--only) [ $# -ge 2 ] || die "--only wants a collection/binary glob"; labargs+=(--only "$2"); shift ;;
	--baseline) [ $# -ge 2 ] && [ -r "$2/results.json" ] || die "--baseline wants a lab run directory (with results.json)"
		baseline=$(cd "$2" && pwd); shift ;;
	-h|--help) sed -n '2,/^set -u$/{/^#/p}' "$top/scripts/mutants.sh" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown argument '$1' (try --help)" ;;
	*) glob=$1 ;;
	esac
	shift
done
command -v jq >/dev/null || die "jq missing: run 'make deps'"

# header FILE KEY: the value of "KEY: value" in the patch header (before the '---' line).
header() { awk -v k="$2: " '/^---$/ { exit } index($0, k) == 1 { print substr($0, length(k) + 1); exit }' "$1"; }
mutants=()
read -ra globs <<<"${glob//,/ }"	# read: no pathname expansion of the globs
for p in "$corpus"/*.patch; do
	[ -e "$p" ] || continue
	n=$(basename "$p" .patch)
	for g in "${globs[@]}"; do
		# shellcheck disable=SC2053 # a glob on purpose
		[[ $n == $g ]] && { mutants+=("$p"); break; }
	done
done
[ ${#mutants[@]} -gt 0 ] || die "MUTANTS='$glob' matches no mutant in $corpus (try --list)"
for p in "${mutants[@]}"; do
	for k in Mutant Kind Fix Commit Area Determinism Observable Rows; do
		[ -n "$(header "$p" $k)" ] || die "$(basename "$p"): header lacks '$k:'"
	done
	[ "$(header "$p" Mutant)" = "$(basename "$p" .patch)" ] || die "$(basename "$p"): 'Mutant:' is not the file name"
done
if [ "$list" = 3 ]; then
	bad=0 tmpd=$(mktemp -d) || die "no temporary directory"
	trap 'rm -rf "$tmpd"' EXIT
	tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
	[ -r "$tarball" ] || die "$tarball missing: run 'make deps'"
	for p in "${mutants[@]}"; do
		for id in $(header "$p" Rows); do
			[ "$id" = none ] || cut -f1 "$top/conformance/rows.tsv" | grep -qxF -- "$id" ||
				{ echo "  FAIL  $(basename "$p"): Rows names $id, which conformance/rows.tsv lacks"; bad=1; }
		done
	done
	# The pristine files every patch touches: from the lab kernel's kept source when it is there
	# and those files match its checksums (scripts/lab-kernel.sh), else from the tarball in one pass.
	rels=$(for p in "${mutants[@]}"; do sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$p"; done | sort -u)
	kept=$cache/src-debian-$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null)
	mkdir -p "$tmpd/linux-source-6.12"
	if [ -e "$kept/.privmem-sums" ] && [ ! -e "$kept/.privmem-applied" ] &&
	   (cd "$kept" && for f in $rels; do grep "  $f\$" .privmem-sums || echo "missing  $f"; done | sha256sum -c --quiet) >/dev/null 2>&1; then
		# shellcheck disable=SC2086 # one path per word
		(cd "$kept" && cp --parents $rels "$tmpd/linux-source-6.12/") || die "cannot copy the touched files from $kept"
	else
		# shellcheck disable=SC2046,SC2086 # one path per word
		tar -xJf "$tarball" -C "$tmpd" $(printf 'linux-source-6.12/%s ' $rels) 2>"$tmpd/tar.err" ||
			die "cannot extract the touched files: $(head -n 1 "$tmpd/tar.err")"
	fi
	for p in "${mutants[@]}"; do
		(cd "$tmpd/linux-source-6.12" && patch -p1 --dry-run --forward --batch --silent <"$p") >"$tmpd/patch.out" 2>&1 ||
			{ echo "  FAIL  $(basename "$p") does not apply to the pristine tree: $(head -n 1 "$tmpd/patch.out")"; bad=1; }
	done
	if ! diff <("$top/scripts/mutants.sh" --index) <(sed -n '/^<!-- index: scripts\/mutants.sh --index -->$/,/^<!-- end of index -->$/p' "$corpus/README.md" | sed '1d;$d') >"$tmpd/index.diff"; then
		echo "  FAIL  conformance/mutants/README.md's index is not 'scripts/mutants.sh --index' (regenerate it)"; bad=1
	fi
	[ "$bad" = 0 ] && echo "  ok    ${#mutants[@]} mutants: headers complete, rows exist, every patch applies to the pristine tree, README index current"
	exit "$bad"
fi
if [ "$list" = 2 ]; then
	echo "| mutant | fix (upstream commit, release; 6.12.y) | CVE | area | determinism | observable here | rows expected to catch it |"
	echo "|---|---|---|---|---|---|---|"
	for p in "${mutants[@]}"; do
		printf '| %s | %s (%s, %s; %s) | %s | %s | %s | %s | %s |\n' "$(header "$p" Mutant)" \
			"$(header "$p" Fix)" "$(header "$p" Commit | cut -c1-12)" "$(header "$p" Landed)" \
			"$(header "$p" Backport-6.12)" "$(header "$p" CVE)" "$(header "$p" Area)" \
			"$(header "$p" Determinism)" "$(header "$p" Observable | sed 's/|/\\|/g')" \
			"$(header "$p" Rows | sed 's/|/\\|/g')"
	done
	exit 0
fi
if [ "$list" = 1 ]; then
	printf '%-34s %-9s %-13s %-13s %-10s %s\n' mutant kind area commit determin. fix
	for p in "${mutants[@]}"; do
		printf '%-34s %-9s %-13s %-13s %-10s %s\n' "$(header "$p" Mutant)" "$(header "$p" Kind)" \
			"$(header "$p" Area)" "$(header "$p" Commit | cut -c1-12)" "$(header "$p" Determinism)" "$(header "$p" Fix)"
	done
	exit 0
fi

variant=$([ "$kasan" = 1 ] && echo -kasan)
stamp=$(date -u +%Y%m%dT%H%M%SZ)-mutants$variant
final=$results/$stamp
tmp=$results/.incomplete/$stamp
mkdir -p "$tmp" || die "cannot write to $results"
trap 'rm -rf "$tmp"; rmdir "$results/.incomplete" 2>/dev/null' EXIT
trap 'echo "privmem mutants: interrupted; nothing written" >&2; exit 130' INT TERM
say() { echo "  MUTANTS  $*" >&2; }
kargs=$([ "$kasan" = 1 ] && echo --kasan)

# The peers: upstream selftests from the same tree, built once (cached).
peers=$cache/peers-$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null || echo unknown)
if "$top/scripts/upstream-selftests.sh" "$peers" >"$tmp/peers-build.log" 2>&1; then
	peerargs=(--peers "$peers")
else
	say "upstream selftests not built ($(tail -n 1 "$tmp/peers-build.log")): no peer column"
	peerargs=()
fi

# Every run (pristine and mutants) uses the same binaries and rows: a copy taken now, so a
# rebuild meanwhile cannot make a test look new on a mutant (removed at the end).
build=${PRIVMEM_BUILD:-$top/build}
[ -x "$build/privmem-caps" ] && ls "$build"/conformance/*/*_test >/dev/null 2>&1 || die "not built: run 'make'"
bsnap=$tmp/build
mkdir -p "$bsnap" && cp -a "$build/conformance" "$build/privmem-caps" "$build/privmem-kmsg" \
	"$build/privmem-report" "$bsnap/" || die "cannot copy the build into $bsnap"
[ "$fuzz" = 0 ] || cp -a "$build/privmem-fuzz" "$bsnap/" || die "no $build/privmem-fuzz: run 'make'"
mkdir -p "$tmp/top/scripts" "$tmp/top/conformance" "$tmp/top/platforms" &&
	cp -a "$top/scripts/." "$tmp/top/scripts/" && cp -a "$top/platforms/." "$tmp/top/platforms/" &&
	cp "$top/conformance/rows.tsv" "$tmp/top/conformance/" || die "cannot copy the scripts and rows"

# lab RUN_NAME BZIMAGE: one lab run into $tmp/RUN_NAME/; prints lab.sh's exit status.
lab() {
	local dir=$tmp/$1
	mkdir -p "$dir"
	PRIVMEM_BUILD=$bsnap PRIVMEM_LAB_TIMEOUT=${PRIVMEM_LAB_TIMEOUT:-900} "$tmp/top/scripts/lab.sh" --quiet --kernel "$2" \
		"${peerargs[@]}" "${labargs[@]}" --results "$dir" >"$dir/lab.out" 2>&1
	echo $?
}
# run_dir RUN_NAME: the lab's results directory (or nothing when it gave none).
run_dir() { ls -1d "$tmp/$1"/*-lab-* 2>/dev/null | grep -v '\.log$' | head -n 1; }

t0=$(date +%s)
base_kernel=$("$top/scripts/lab-kernel.sh" $kargs 2>"$tmp/base-build.log") ||
	die "the pristine lab kernel did not build: $(tail -n 1 "$tmp/base-build.log")"
say "pristine$variant: $base_kernel"
if [ -n "$baseline" ]; then
	# A run of this very kernel with the same binaries (make lab-matrix's), instead of a second boot.
	[ "$(jq -r .kernel "$baseline/lab.json" 2>/dev/null)" = "$base_kernel" ] ||
		die "--baseline $baseline is not a lab run of $base_kernel"
	[ ${#peerargs[@]} = 0 ] || [ -r "$baseline/peers.json" ] || die "--baseline $baseline has no peers.json"
	mkdir -p "$tmp/base" && cp -a "$baseline" "$tmp/base/" || die "cannot copy $baseline"
	rc=0
else
	rc=$(lab base "$base_kernel")
fi
base=$(run_dir base)
[ -n "$base" ] && [ -r "$base/results.json" ] || die "the pristine lab run gave no results (lab exit $rc): $(tail -n 2 "$tmp/base/lab.out")"
say "pristine: $(jq -r '.summary | "\(.pass) PASS, \(.fail) FAIL, \(.skip) SKIP"' "$base/results.json") in $(($(date +%s) - t0)) s"

status=0
: >"$tmp/mutants.jsonl"
for p in "${mutants[@]}"; do
	name=$(basename "$p" .patch)
	m0=$(date +%s)
	if ! kernel=$("$top/scripts/lab-kernel.sh" $kargs --patch "$p" 2>"$tmp/$name.build.log"); then
		say "$name: build failed: $(tail -n 1 "$tmp/$name.build.log")"
		jq -nc --arg n "$name" --arg why "$(tail -n 1 "$tmp/$name.build.log")" \
			'{name: $n, verdict: "unbuilt", reason: $why}' >>"$tmp/mutants.jsonl"
		status=1
		continue
	fi
	m1=$(date +%s)
	lrc=$(lab "$name" "$kernel")
	m2=$(date +%s)
	dir=$(run_dir "$name")
	console=$(ls -1 "$tmp/$name"/lab-console-*.log 2>/dev/null | head -n 1)
	[ -n "$console" ] || console=${dir:+$dir/console.log}
	crashline=$([ -n "$console" ] && grep -aom1 -E '(Kernel panic|Oops|BUG|WARNING|general protection fault|INFO: task .* blocked)[^\r]*' "$console" | cut -c1-160)
	jq -nc --arg n "$name" --arg expected "$(header "$p" Rows)" --arg det "$(header "$p" Determinism)" \
		--arg area "$(header "$p" Area)" --arg kind "$(header "$p" Kind)" --arg commit "$(header "$p" Commit)" \
		--arg obs "$(header "$p" Observable)" \
		--arg fix "$(header "$p" Fix)" --argjson lrc "$lrc" --arg crash "$crashline" \
		--argjson build "$((m1 - m0))" --argjson labs "$((m2 - m1))" \
		--arg run "${dir#"$tmp"/}" \
		--slurpfile base "$base/results.json" \
		--slurpfile mut "$( [ -n "$dir" ] && [ -r "$dir/results.json" ] && echo "$dir/results.json" || echo /dev/null)" \
		--slurpfile bpeers "$( [ -r "$base/peers.json" ] && echo "$base/peers.json" || echo /dev/null)" \
		--slurpfile mpeers "$( [ -n "$dir" ] && [ -r "$dir/peers.json" ] && echo "$dir/peers.json" || echo /dev/null)" \
		-f "$tmp/top/scripts/lib/mutant-verdict.jq" >>"$tmp/mutants.jsonl"
	# --fuzz: found when a platform diverged (ops and seconds to the divergence), else missed.
	if [ "$fuzz" = 1 ]; then
		fz=$(jq -c '[.[] | select(.verdict == "diverged")] | if length > 0 then {verdict: "found",
			platform: .[0].platform, ops: .[0].summary.executed, seconds: .[0].summary.seconds}
			else {verdict: "missed"} end' "$dir/fuzz.json" 2>/dev/null || echo '{"verdict": "no-run"}')
		line=$(tail -n 1 "$tmp/mutants.jsonl" | jq -c --argjson fz "$fz" '. + {fuzz: $fz}')
		sed -i '$d' "$tmp/mutants.jsonl" && echo "$line" >>"$tmp/mutants.jsonl"
		say "$name: fuzz $(jq -r '"\(.verdict)" + (if .ops then " after \(.ops) ops, \(.seconds) s (\(.platform))" else "" end)' <<<"$fz")"
	fi
	v=$(tail -n 1 "$tmp/mutants.jsonl" | jq -r '"\(.verdict)\(if .by then " by " + .by else "" end): \(.rows | join(" "))"')
	say "$name: $v (build $((m1 - m0)) s, lab $((m2 - m1)) s)"
done

# mutants.json and summary.md.
jq -s --arg k "$base_kernel" --arg v "${variant#-}" --slurpfile b "$base/results.json" \
	--argjson secs "$(($(date +%s) - t0))" \
	'{schema: "privmem-mutants/1", lane: (if $v == "" then "normal" else $v end), base_kernel: $k,
	  base: $b[0].summary, seconds: $secs, mutants: .}' "$tmp/mutants.jsonl" >"$tmp/mutants.json"
rm -f "$tmp/mutants.jsonl"
rm -rf "$bsnap"
"$tmp/top/scripts/lib/mutant-summary.sh" "$tmp/mutants.json" "$base" >"$tmp/summary.md" || die "cannot write summary.md"
mv "$tmp" "$final" || die "cannot move results into place"
rmdir "$results/.incomplete" 2>/dev/null
trap - EXIT
cat "$final/summary.md" >&2
rm -rf "$final/top"
say "results: $final"
if [ "$expect" = 1 ]; then
	read -r caught total < <(jq -r '[(.mutants | map(select(.verdict == "caught")) | length), (.mutants | length)] | @tsv' "$final/mutants.json")
	bfail=$(jq -r '.base.fail + (.base.xpass // 0)' "$final/mutants.json")
	[ "$bfail" = 0 ] || say "the pristine kernel FAILed $bfail test(s): $(ls -d "$final"/base/*-lab-*)"
	[ "$caught" = "$total" ] || say "expected every mutant caught: $caught of $total"
	echo "$((caught + (bfail == 0))) passed, $((total - caught + (bfail != 0))) failed, 0 skipped"
	[ "$caught" = "$total" ] && [ "$bfail" = 0 ] && [ "$status" = 0 ] || exit 1
fi
exit $status
