#!/bin/bash
# The lab: boot a kernel under QEMU TCG (-cpu max: svm+npt, so kvm_amd runs guests) with a
# generated initramfs holding busybox and the privmem conformance binaries, run the suite
# inside, and write the results like `make run` does, tagged with the lab kernel:
#   results/<stamp>-lab-<kernel release>/   (caps.json, ktap/, results.json, summary.md, ...)
#   plus console.log (the whole serial console) and lab.json (kernel, boot and suite times).
#
#   scripts/lab.sh [--kernel BZIMAGE [--modules DIR]] [--kdir TREE] [--source SERIES] [--stock SERIES]
#                  [--timeout SECONDS] [--only 'COLLECTION/BINARY GLOB'] [--results DIR] [--quiet]
#                  [--deviations 'NAME GLOB'] [--peers DIR] [--kasan]
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
# Exit 0 when nothing FAILed (and every deviation run was detected), 1 otherwise, 2 on bad
# input or when the lab could not boot or hung (the console log is kept and named).
# PRIVMEM_BUILD: the build directory to take binaries from (default build/).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${PRIVMEM_BUILD:-$top/build}
cache=${PRIVMEM_CACHE:-/var/cache/privmem}
results=${RESULTS:-$top/results}
kernel="" modules="" kdir="" stock="" source="" kconfig="" quiet=0 only="" devglob="" kasan="" peers=""
timeout_s=${PRIVMEM_LAB_TIMEOUT:-1200}
per_binary=${PRIVMEM_TIMEOUT:-120}
per_peer=300
# shellcheck source=lib/kills.sh
. "$top/scripts/lib/kills.sh"

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
	-h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
case "$timeout_s" in ''|*[!0-9]*) die "--timeout wants whole seconds" ;; esac
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run 'make deps'"
[ -x /bin/busybox ] && busybox --list | grep -qx insmod || die "busybox-static missing: run 'make deps'"
[ -x "$build/privmem-caps" ] && [ -x "$build/privmem-report" ] || die "not built: run 'make'"
ls "$build"/conformance/*/*_test >/dev/null 2>&1 || die "no conformance binaries: run 'make'"
[ -z "$devglob" ] || [ -r "$build/deviant.so" ] || die "no deviant shim ($build/deviant.so): run 'make'"
[ -z "$peers" ] || [ -s "$peers/list" ] || die "--peers $peers has no list: build it with scripts/upstream-selftests.sh $peers"

# ---- the kernel ---------------------------------------------------------------------
if [ -n "$stock" ]; then
	stockdir=$("$top/scripts/lab-stock-kernel.sh" "$stock") || die "no stock $stock kernel"
	kernel=$stockdir/vmlinuz
	modules=$stockdir/modules
	kconfig=$stockdir/config	# the stock kernels have no /proc/config.gz
elif [ -n "$kdir" ]; then
	# shellcheck disable=SC2086
	kernel=$("$top/scripts/lab-kernel.sh" --kdir "$kdir" $kasan) || die "building the lab kernel from $kdir failed"
elif [ -z "$kernel" ]; then
	# shellcheck disable=SC2086 # empty or --kasan
	kernel=$("$top/scripts/lab-kernel.sh" ${source:+--source "$source"} $kasan) || die "building the lab kernel failed"
fi
[ -r "$kernel" ] || die "kernel $kernel not readable"
[ -z "$modules" ] || [ -d "$modules" ] || die "--modules $modules is not a directory"
# The release from the bzImage header (kernel_version string), for naming the results.
release=$(file -bL "$kernel" 2>/dev/null | sed -n 's/.*version \([^ ]*\).*/\1/p')
[ -n "$release" ] || release=$(strings "$kernel" 2>/dev/null | grep -m1 -oE '^[0-9]+\.[0-9]+\.[0-9][^ ]* ' | tr -d ' ')
[ -n "$release" ] || release=unknown

# ---- the initramfs ---------------------------------------------------------------------
work=$(mktemp -d /tmp/privmem-lab.XXXXXX) || die "cannot create a work directory"
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,run,lib/modules,privmem/conformance} || die "cannot build the initramfs tree"
cp /bin/busybox "$root/bin/busybox"
# Every binary goes in (deviations need their area's); suite.list says which the suite runs.
: >"$root/privmem/suite.list"
for bin in "$build"/conformance/*/*_test; do
	coll=$(basename "$(dirname "$bin")")
	mkdir -p "$root/privmem/conformance/$coll"
	cp "$bin" "$root/privmem/conformance/$coll/"
	# shellcheck disable=SC2053 # $only is a glob on purpose
	[ -z "$only" ] || [[ $coll/$(basename "$bin") == $only ]] || continue
	echo "/privmem/conformance/$coll/$(basename "$bin")" >>"$root/privmem/suite.list"
done
[ -s "$root/privmem/suite.list" ] || die "--only '$only' matches no conformance binary"
cp "$build/privmem-caps" "$build/privmem-kmsg" "$root/privmem/"
# The kernel config where privmem-caps looks for it when there is no /proc/config.gz.
[ -z "$kconfig" ] || [ ! -r "$kconfig" ] || { mkdir -p "$root/boot" && cp "$kconfig" "$root/boot/config-$release"; }
# Lab deviations ("name area binary..." lines: only the binaries that hold a row the deviation
# targets, kill_binaries) and the shim that injects them.
: >"$root/privmem/deviations.list"
if [ -n "$devglob" ]; then
	cp "$build/deviant.so" "$root/privmem/"
	PRIVMEM_DEVIATION=list LD_PRELOAD=$build/deviant.so /bin/true >"$work/shim.list" || die "the shim cannot list its deviations"
	awk -F'\t' '$3 == "lab" { print $1 "\t" $2 "\t" $4 }' "$work/shim.list" | while IFS=$'\t' read -r dev area targets; do
		# shellcheck disable=SC2053
		[[ $dev == $devglob ]] && echo "$dev $area $(kill_binaries "$area" "$targets")"
	done >"$root/privmem/deviations.list"
	[ -s "$root/privmem/deviations.list" ] || die "--deviations '$devglob' matches no lab deviation (PRIVMEM_DEVIATION=list, column 3)"
fi
# Upstream selftests ("name relative-path" lines) under /privmem/peers/.
: >"$root/privmem/peers.list"
if [ -n "$peers" ]; then
	while read -r name rel; do
		[ -x "$peers/$rel" ] || die "--peers: $peers/$rel missing (scripts/upstream-selftests.sh $peers)"
		mkdir -p "$root/privmem/peers/$(dirname "$rel")" && cp "$peers/$rel" "$root/privmem/peers/$rel" || die "cannot copy $peers/$rel"
		echo "$name $rel" >>"$root/privmem/peers.list"
		timeout_s=$((timeout_s + per_peer))
	done <"$peers/list"
fi
# Shared libraries the binaries need, at the paths the loader looks for them.
for f in "$root"/privmem/privmem-caps "$root"/privmem/privmem-kmsg "$root"/privmem/deviant.so "$root"/privmem/conformance/*/*_test \
	$(find "$root/privmem/peers" -type f 2>/dev/null); do
	[ -e "$f" ] || continue
	ldd "$f" 2>/dev/null | grep -oE '/[^ ]+' 
done | sort -u | while read -r lib; do
	[ -e "$lib" ] || continue
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
# KVM modules of a modular kernel (decompressed: busybox insmod takes plain .ko).
if [ -n "$modules" ]; then
	for m in kernel/virt/lib/irqbypass kernel/arch/x86/kvm/kvm kernel/drivers/crypto/ccp/ccp kernel/arch/x86/kvm/kvm-amd; do
		src=$(ls "$modules/$m".ko* 2>/dev/null | head -n 1)
		[ -n "$src" ] || continue
		case $src in
		*.xz) xz -dc "$src" >"$root/lib/modules/$(basename "$m").ko" ;;
		*.zst) zstd -dcq "$src" >"$root/lib/modules/$(basename "$m").ko" ;;
		*) cp "$src" "$root/lib/modules/$(basename "$m").ko" ;;
		esac
	done
fi
cat >"$root/init" <<EOF
#!/bin/busybox sh
# privmem lab init: mount, load KVM if modular, run every conformance binary, print each
# one's KTAP between markers on the console, power off.
/bin/busybox --install -s /bin
hostname privmem-lab
export PATH=/bin:/sbin
# Strict mode (known deviations FAIL) as on the host: PRIVMEM_STRICT=1 scripts/lab.sh ...
export PRIVMEM_STRICT="${PRIVMEM_STRICT:-}"
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp; mount -t tmpfs run /run
mkdir -p /dev/shm && mount -t tmpfs shm /dev/shm
# shmem THP on request (madvise), so the rows that need a huge shmem folio can make one;
# this is the lab VM's own knob, nothing on the host changes.
[ -w /sys/kernel/mm/transparent_hugepage/shmem_enabled ] && echo advise >/sys/kernel/mm/transparent_hugepage/shmem_enabled
for m in irqbypass kvm ccp kvm-amd; do [ -e /lib/modules/\$m.ko ] && insmod /lib/modules/\$m.ko; done
echo "@@PRIVMEM-BOOTED \$(cat /proc/uptime)"
echo "@@PRIVMEM-BEGIN caps.json"
/privmem/privmem-caps --quiet --json /tmp/caps.json >/dev/null 2>&1; cat /tmp/caps.json; echo
echo "@@PRIVMEM-END 0 0"
# run <results path> <binary> [env...]: one binary, its output between markers, then the
# kernel splats logged while it ran (privmem-kmsg, by sequence number).
run() {
	out=\$1 bin=\$2; shift 2
	coll=\${bin%/*}; coll=\${coll##*/}; name=\${bin##*/}
	seq=\$(/privmem/privmem-kmsg mark 2>/dev/null) && kmsg=checked || kmsg=unchecked
	t0=\$(cut -d' ' -f1 /proc/uptime)
	(cd /privmem/conformance/\$coll && env "\$@" timeout $per_binary ./\$name) >/tmp/out 2>&1
	rc=\$?
	t1=\$(cut -d' ' -f1 /proc/uptime)
	if [ \$kmsg = checked ]; then
		/privmem/privmem-kmsg since \$seq >/tmp/kmsg 2>/dev/null || kmsg=unchecked
		echo "@@PRIVMEM-BEGIN \$out/\$coll/\$name.kmsg"
		cat /tmp/kmsg
		echo "@@PRIVMEM-END 0 0 0"
	fi
	echo "@@PRIVMEM-BEGIN \$out/\$coll/\$name.ktap"
	cat /tmp/out
	echo "@@PRIVMEM-END \$rc \$t0 \$t1 \$kmsg"
}
while read -r bin; do run ktap \$bin; done </privmem/suite.list
echo "@@PRIVMEM-DONE \$(cat /proc/uptime)"
# Upstream selftests (--peers), in /tmp, their output and splats between markers like run's.
while read -r name rel; do
	seq=\$(/privmem/privmem-kmsg mark 2>/dev/null) && kmsg=checked || kmsg=unchecked
	t0=\$(cut -d' ' -f1 /proc/uptime)
	(cd /tmp && timeout $per_peer /privmem/peers/\$rel) >/tmp/out 2>&1
	rc=\$?
	t1=\$(cut -d' ' -f1 /proc/uptime)
	if [ \$kmsg = checked ] && /privmem/privmem-kmsg since \$seq >/tmp/kmsg 2>/dev/null; then
		echo "@@PRIVMEM-BEGIN peers/\$name.kmsg"
		cat /tmp/kmsg
		echo "@@PRIVMEM-END 0 0 0"
	else
		kmsg=unchecked
	fi
	echo "@@PRIVMEM-BEGIN peers/\$name.out"
	cat /tmp/out
	echo "@@PRIVMEM-END \$rc \$t0 \$t1 \$kmsg"
done </privmem/peers.list
while read -r dev area bins; do
	for bin in \$bins; do
		run deviations/\$dev/ktap /privmem/conformance/\$area/\$bin PRIVMEM_DEVIATION=\$dev LD_PRELOAD=/privmem/deviant.so
	done
done </privmem/deviations.list
# With the shim here: prove that a splat while a binary runs fails it, in this guest too.
[ -e /privmem/deviant.so ] && run splat-proof/ktap /privmem/conformance/vmlib/vmlib_test \
	PRIVMEM_ENV=kmsg-splat LD_PRELOAD=/privmem/deviant.so
echo "@@PRIVMEM-DEVIATIONS-DONE \$(cat /proc/uptime)"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz" || die "cannot pack the initramfs"

# ---- boot --------------------------------------------------------------------------------
host=$(uname -n)
stamp=$(date -u +%Y%m%dT%H%M%SZ)-lab-$release
mkdir -p "$results" || die "cannot create $results"
final=$results/$stamp
tmp=$results/.incomplete/$stamp
mkdir -p "$tmp/ktap" || die "cannot write to $results"
trap 'rm -rf "$work" "$tmp"; rmdir "$results/.incomplete" 2>/dev/null' EXIT
trap 'echo "privmem lab: interrupted; nothing written" >&2; exit 130' INT TERM
console=$tmp/console.log
say "booting $kernel ($release) under QEMU TCG, -cpu max (svm+npt); console: $console"
t0=$(date +%s.%N)
# ${PRIVMEM_LAB_TCG:-thread=single}: multi-threaded TCG hit "Oops: int3" in the 6.12 guest while
# the kernel live-patched its own text (int3-based text_poke); one TCG thread did not.
# secretmem.enable=1: older kernels (Debian's 6.1) default it to 0, so memfd_secret is ENOSYS there.
# Two NUMA nodes, a CPU and half the memory each: the NUMA rows (mbind on guest_memfd, page
# placement by move_pages) need a second node; nothing else changes with it.
numa="-object memory-backend-ram,id=m0,size=1536M -numa node,nodeid=0,cpus=0,memdev=m0
      -object memory-backend-ram,id=m1,size=1536M -numa node,nodeid=1,cpus=1,memdev=m1"
# shellcheck disable=SC2086 # $numa is words on purpose
timeout -k 10 "$timeout_s" qemu-system-x86_64 -accel "tcg,${PRIVMEM_LAB_TCG:-thread=single}" -cpu max -smp 2 -m 3G $numa \
	-nographic -no-reboot -nodefaults -serial stdio -kernel "$kernel" -initrd "$work/initramfs.gz" \
	-append "console=ttyS0 panic=-1 quiet secretmem.enable=1" </dev/null >"$console" 2>&1
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
	/^@@PRIVMEM-END / { if (out ~ /\.ktap$/ || out ~ /\/peers\/[^\/]*\.out$/) { meta = out; sub(/\.(ktap|out)$/, ".meta", meta);
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
booted=$(grep -ao '@@PRIVMEM-BOOTED [0-9.]*' "$console" | head -n 1 | cut -d' ' -f2)
done_at=$(grep -ao '@@PRIVMEM-DONE [0-9.]*' "$console" | head -n 1 | cut -d' ' -f2)
echo "$done_at - $booted" | bc >"$tmp/wall_seconds"
# Deviations: each one's KTAP is a run of its own (deviations/<name>/), judged by kills.sh.
: >"$tmp/deviations.txt"
while read -r dev area _; do
	d=$tmp/deviations/$dev targets=$(awk -F'\t' -v n="$dev" '$1 == n { print $4 }' "$work/shim.list")
	mkdir -p "$d/ktap" && cp "$tmp/rows.tsv" "$tmp/caps.json" "$d/" 2>/dev/null
	"$build/privmem-report" "$d" >"$d/report.out" 2>&1
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
	"$build/privmem-report" "$tmp/splat-proof" >"$tmp/splat-proof/report.out" 2>&1
	splat=$([ -r "$tmp/splat-proof/results.json" ] && splat_proof_verdict "$tmp/splat-proof/results.json")
	splat=${splat:-FAIL no results}
fi
jq -n --arg k "$kernel" --arg r "$release" --arg m "$modules" --argjson boot "$booted" \
	--argjson suite "$(cat "$tmp/wall_seconds")" --argjson total "$(echo "$t1 - $t0" | bc)" \
	--rawfile devs "$tmp/deviations.txt" --arg splat "$splat" \
	'{schema: "privmem-lab/1", kernel: $k, release: $r, modules: (if $m == "" then null else $m end),
	  qemu: "tcg,\(env.PRIVMEM_LAB_TCG // "thread=single") -cpu max -smp 2 -m 3G, 2 NUMA nodes", boot_s: $boot, suite_s: $suite, total_s: $total,
	  deviations: ($devs | split("\n") | map(select(. != "") | split(" ")) |
		{run: length, detected: map(select(.[2] == "detected")) | length,
		 verdicts: (group_by(.[2]) | map({key: .[0][2], value: length}) | from_entries),
		 not_detected: map(select(.[2] != "detected") | {name: .[0], verdict: .[2]})}),
	  splat_proof: (if $splat == "" then null else $splat end)}' >"$tmp/lab.json"
"$build/privmem-report" "$tmp" >"$tmp/report.out"
rc=$?
[ $rc -le 1 ] || { cat "$tmp/report.out" >&2; die "report generation failed"; }
[ "$devs_detected" = "$devs_total" ] || rc=1
[ -z "$splat" ] || [ "${splat%% *}" = ok ] || rc=1
mv "$tmp" "$final" || die "cannot move results into place"
rmdir "$results/.incomplete" 2>/dev/null
trap 'rm -rf "$work"' EXIT
sed "s|$tmp|$final|g" "$final/report.out" >&2
[ "$devs_total" -gt 0 ] && kill_table "$final/deviations.txt" "lab kill rate" >&2
[ -z "$splat" ] || echo "lab kernel splat proof: $splat" >&2
[ -z "$peers" ] || echo "upstream peers: $(jq -r 'map("\(.name) \(.verdict) \(.seconds)s") | join(", ")' "$final/peers.json")" >&2
say "$release: booted in ${booted}s, suite ${suite:-$(cat "$final/wall_seconds")}s; results: $final"
exit $rc
