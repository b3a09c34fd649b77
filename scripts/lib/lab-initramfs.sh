# shellcheck shell=bash disable=SC2154 # the variables below are set by scripts/lab.sh
# The lab's initramfs, for scripts/lab.sh: busybox, the conformance binaries, privmem-caps and
# privmem-kmsg, their shared libraries, the KVM modules of a modular x86 kernel, and the init
# that runs the suite. Sourced, not run. Needs from lab.sh: $top $cache $build $arch $work
# $only $devglob $peers $fuzz_args $fuzz_devglob $bench_names $bench_args $bench_limit $bench_commit $modules $kconfig $release $per_binary $per_peer $kvm_expect $shim_list
# and die(); lab_initramfs sets $root (the tree) and adds $per_peer to $timeout_s per peer.
#   lab_busybox                  # prints the busybox for $arch (arm64: bookworm's busybox-static:arm64,
#                                # downloaded through scripts/lib/debian-apt.sh, unpacked, cached)
#   lab_libs FILE...             # prints the shared libraries FILEs need, recursively
#   lab_pick_kernel              # sets $kernel $modules $kconfig $stockdir $release
#   lab_kvm_modules DEST         # copies a modular x86 kernel's KVM modules into DEST
#   lab_copy_libs ROOT LIB...    # copies libraries into ROOT at the loader's paths
#   lab_initramfs                # builds $work/root and packs it into $work/initramfs.gz

# The arm64 loader and libraries come from the cross toolchain's libc (libc6-arm64-cross, with
# gcc-aarch64-linux-gnu), or the build's own lib/ first: PRIVMEM_LAB_LIBDIRS (colon-separated).
lab_libdirs() { echo "${PRIVMEM_LAB_LIBDIRS:-$build/lib:/usr/aarch64-linux-gnu/lib}"; }

lab_busybox() {
	local suite ver dir deb
	if [ "$arch" = x86_64 ]; then
		[ -x /bin/busybox ] && busybox --list | grep -qx insmod || { echo "busybox-static missing: run 'make deps'" >&2; return 1; }
		echo /bin/busybox
		return 0
	fi
	# shellcheck source=lib/debian-apt.sh
	. "$top/scripts/lib/debian-apt.sh"
	suite=$(debian_host_suite)
	if debian_apt_update && ver=$(debian_apt_version busybox-static:arm64 "$suite"); then
		dir=$cache/busybox-arm64-$suite-${ver//:/%3a}
		# One unpacking at a time (labs run side by side).
		{ flock 7 && if [ ! -x "$dir/bin/busybox" ]; then
			deb=$(debian_apt_download busybox-static:arm64 "$suite") || return 1
			rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" && dpkg-deb -x "$deb" "$dir.tmp" &&
				[ -x "$dir.tmp/bin/busybox" ] && rm -rf "$dir" && mv "$dir.tmp" "$dir" ||
				{ echo "cannot unpack $deb (no bin/busybox)" >&2; return 1; }
		fi; } 7>"$cache/.busybox.lock" || return 1
	else	# mirror out of reach: the newest cached one, said so
		dir=$(find "$cache" -maxdepth 1 -name 'busybox-arm64-*' ! -name '*.tmp' 2>/dev/null | sort -V | tail -n 1)
		[ -n "$dir" ] && [ -x "$dir/bin/busybox" ] || { echo "no busybox-static:arm64 from $suite, none cached" >&2; return 1; }
		echo "privmem lab: using the cached $dir" >&2
	fi
	echo "$dir/bin/busybox"
}

# x86_64: ldd (the host's own loader). arm64: the ELF interpreter and NEEDED entries
# (aarch64-linux-gnu-readelf), looked up in lab_libdirs, and theirs in turn. A library that
# is not found is an error naming it.
lab_libs() {
	local f lib d dirs todo=() seen=" " found
	if [ "$arch" = x86_64 ]; then
		for f in "$@"; do [ -e "$f" ] && ldd "$f" 2>/dev/null | grep -oE '/[^ ]+'; done | sort -u
		return 0
	fi
	IFS=: read -ra dirs <<<"$(lab_libdirs)"
	todo=("$@")
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]} todo=("${todo[@]:1}")
		[ -e "$f" ] || continue
		for lib in $(aarch64-linux-gnu-readelf -lW "$f" 2>/dev/null | sed -n 's|.*Requesting program interpreter: .*/\([^]/]*\)].*|\1|p') \
			$(aarch64-linux-gnu-readelf -dW "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[[ $seen != *" $lib "* ]] || continue
			seen="$seen$lib "
			found=""
			for d in "${dirs[@]}"; do [ -e "$d/$lib" ] && { found=$d/$lib; break; }; done
			[ -n "$found" ] || { echo "$lib (needed by ${f##*/}) is in none of $(lab_libdirs)" >&2; return 1; }
			echo "$found"
			todo+=("$found")
		done
	done
}

# The kernel the lab boots, from $stock / $kdir / $source / $kasan / $kernel (scripts/lab.sh's
# options): sets $kernel, $modules, $kconfig, $stockdir and $release (for naming the results: the
# stock kernel's own record, the bzImage header's kernel_version, or an arm64 Image's banner).
lab_pick_kernel() {
	if [ -n "$stock" ]; then
		stockdir=$("$top/scripts/lab-stock-kernel.sh" "$stock" "${arch/x86_64/amd64}") || die "no stock $stock $arch kernel"
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
	release=$([ -n "$stockdir" ] && cat "$stockdir/release" 2>/dev/null)
	[ -n "$release" ] || release=$(file -bL "$kernel" 2>/dev/null | sed -n 's/.*version \([^ ]*\).*/\1/p')
	[ -n "$release" ] || release=$(strings "$kernel" 2>/dev/null | sed -n 's/^Linux version \([^ ]*\) .*/\1/p' | head -n 1)
	[ -n "$release" ] || release=$(strings "$kernel" 2>/dev/null | grep -m1 -oE '^[0-9]+\.[0-9]+\.[0-9][^ ]* ' | tr -d ' ')
	[ -n "$release" ] || release=unknown
}

# lab_copy_libs ROOT LIB...: each library into ROOT where the loader looks for it (arm64: the
# loader at /lib, the rest in /lib/aarch64-linux-gnu, both on its default path; x86_64: its own path).
lab_copy_libs() {
	local root=$1 lib rel
	shift
	for lib in "$@"; do
		[ -e "$lib" ] || continue
		case $arch:$lib in
		arm64:*/ld-linux-*) rel=/lib/${lib##*/} ;;
		arm64:*) rel=/lib/aarch64-linux-gnu/${lib##*/} ;;
		*) rel=$lib ;;
		esac
		mkdir -p "$root$(dirname "$rel")" && cp -L "$lib" "$root$rel" || die "cannot copy $lib"
	done
}

# KVM modules of a modular x86 kernel ($modules) into DEST (decompressed: busybox insmod takes
# plain .ko), as irqbypass.ko kvm.ko ccp.ko kvm-amd.ko, the order the init loads them. arm64
# KVM cannot be a module (CONFIG_KVM is bool there): nothing to copy.
lab_kvm_modules() {
	local dest=$1 m src
	[ -n "$modules" ] && [ "$arch" = x86_64 ] || return 0
	mkdir -p "$dest" || return 1
	for m in kernel/virt/lib/irqbypass kernel/arch/x86/kvm/kvm kernel/drivers/crypto/ccp/ccp kernel/arch/x86/kvm/kvm-amd; do
		src=$(find "$modules/${m%/*}" -maxdepth 1 -name "${m##*/}.ko*" 2>/dev/null | head -n 1)
		[ -n "$src" ] || continue
		case $src in
		*.xz) xz -dc "$src" >"$dest/$(basename "$m").ko" ;;
		*.zst) zstd -dcq "$src" >"$dest/$(basename "$m").ko" ;;
		*) cp "$src" "$dest/$(basename "$m").ko" ;;
		esac || return 1
	done
}

lab_initramfs() {
	local bin coll dev area targets name rel lib src m libs plat g
	local -a fglobs
	root=$work/root	# lab.sh reads its lists after the boot
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,run,lib/modules,privmem/conformance} || die "cannot build the initramfs tree"
	cp "$busybox" "$root/bin/busybox" || die "cannot copy $busybox"
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
	cp "$build/privmem-caps" "$root/privmem/" || die "cannot copy $build/privmem-caps"
	# Without privmem-kmsg the guest runs every binary with its kernel log unchecked.
	cp "$build/privmem-kmsg" "$root/privmem/" 2>/dev/null || echo "privmem lab: no $build/privmem-kmsg: kernel splats go unchecked" >&2
	# The kernel config where privmem-caps looks for it when there is no /proc/config.gz.
	[ -z "$kconfig" ] || [ ! -r "$kconfig" ] || { mkdir -p "$root/boot" && cp "$kconfig" "$root/boot/config-$release"; }
	# Lab deviations ("name area binary..." lines: only the binaries that hold a row the deviation
	# targets, kill_binaries) and the shim that injects them. The list comes from the host's own
	# build of the shim (the same sources), $shim_list.
	: >"$root/privmem/deviations.list"
	if [ -n "$devglob" ]; then
		cp "$build/deviant.so" "$root/privmem/"
		PRIVMEM_DEVIATION=list LD_PRELOAD=$shim_list /bin/true >"$work/shim.list" || die "the shim cannot list its deviations"
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
	# The fuzzer (--fuzz) and its arguments, run on each guest_memfd platform of the arch.
	: >"$root/privmem/fuzz.args"
	if [ -n "$fuzz_args" ]; then
		cp "$build/privmem-fuzz" "$root/privmem/" || die "no $build/privmem-fuzz: run 'make'"
		echo "$fuzz_args" >"$root/privmem/fuzz.args"
	fi
	# Benchmarks (--bench, scripts/lib/lab-bench.sh): the binaries, their names and arguments.
	: >"$root/privmem/bench.list"
	: >"$root/privmem/bench.args"
	if [ -n "${bench_names:-}" ]; then
		mkdir -p "$root/privmem/bench"
		for name in $bench_names; do
			cp "$build/bench/$name" "$root/privmem/bench/" || die "cannot copy $build/bench/$name"
			echo "$name" >>"$root/privmem/bench.list"
		done
		echo "$bench_args" >"$root/privmem/bench.args"
	fi
	# --fuzz-deviations: "name platform" lines, the fuzzer's areas only ("lab" ones need sw-protected).
	: >"$root/privmem/fuzz-devs.list"
	if [ -n "$fuzz_devglob" ]; then
		cp "$build/deviant.so" "$root/privmem/"
		read -ra fglobs <<<"$fuzz_devglob"	# several globs, separated by spaces (read: no pathname expansion)
		PRIVMEM_DEVIATION=list LD_PRELOAD=$shim_list /bin/true >"$work/shim.list" || die "the shim cannot list its deviations"
		awk -F'\t' -v areas="$fuzz_areas" '$2 ~ areas {
			print $1, ($3 == "lab" ? "sw-protected" : "sw-default") }' "$work/shim.list" | while read -r dev plat; do
			for g in "${fglobs[@]}"; do
				# shellcheck disable=SC2053 # a glob on purpose
				[[ $dev == $g ]] && { echo "$dev $plat"; break; }
			done
		done >"$root/privmem/fuzz-devs.list"
		[ -s "$root/privmem/fuzz-devs.list" ] || die "--fuzz-deviations '$fuzz_devglob' matches no deviation of the fuzzer's areas"
	fi
	# Shared libraries the binaries need, at the paths the loader looks for them (arm64: the
	# loader at /lib, the rest in /lib/aarch64-linux-gnu, both on its default path).
	# shellcheck disable=SC2046 # file names without blanks
	libs=$(lab_libs "$root"/privmem/privmem-caps "$root"/privmem/privmem-kmsg "$root"/privmem/deviant.so "$root"/privmem/privmem-fuzz \
		$(find "$root/privmem/bench" -type f 2>/dev/null) \
		"$root"/privmem/conformance/*/*_test $(find "$root/privmem/peers" -type f 2>/dev/null)) || die "a shared library the binaries need is missing (above)"
	# shellcheck disable=SC2086 # library paths without blanks
	lab_copy_libs "$root" $libs
	lab_kvm_modules "$root/lib/modules" || die "cannot copy the KVM modules of $modules"
	lab_init >"$root/init" && chmod +x "$root/init" || die "cannot write the init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz" || die "cannot pack the initramfs"
}

# The init: mount, load KVM if modular, check the KVM mode the kernel came up in ($kvm_expect:
# an ERE on its "kvm [1]: ..." lines, arm64), run every conformance binary, print each one's
# KTAP between markers on the console, power off.
lab_init() {
	cat <<EOF
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
# The kernel's KVM lines (kvm_info: below the quiet console's level), for the host to check
# the mode; a kernel without the expected one stops here.
dmesg | grep -E 'kvm \[[0-9]+\]: ' | sed 's/^/@@PRIVMEM-KVM /'
kvm_ok=1
[ -z '$kvm_expect' ] || dmesg | grep -qE '$kvm_expect' || kvm_ok=0
echo "@@PRIVMEM-BOOTED \$(cat /proc/uptime)"
[ \$kvm_ok = 1 ] || poweroff -f
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
# Benchmarks (--bench): each with the same arguments and its own --out directory; every file it
# wrote, then its stdout and stderr, between markers (perf and gnuplot are absent here: the
# benchmark notes them unavailable; the host draws the plots).
while read -r b; do
	mkdir -p /tmp/bench/\$b
	t0=\$(cut -d' ' -f1 /proc/uptime)
	(cd /tmp && PRIVMEM_COMMIT=${bench_commit:-} timeout -s INT -k 10 ${bench_limit:-1800} /privmem/bench/\$b \$(cat /privmem/bench.args) --out /tmp/bench/\$b) >/tmp/bout 2>/tmp/berr
	rc=\$?
	t1=\$(cut -d' ' -f1 /proc/uptime)
	for f in /tmp/bench/\$b/*; do
		case \$f in *.tmp) continue ;; esac
		[ -f "\$f" ] || continue
		echo "@@PRIVMEM-BEGIN bench/\${f##*/}"; cat "\$f"; echo "@@PRIVMEM-END 0 0 0"
	done
	rm -rf /tmp/bench/\$b
	echo "@@PRIVMEM-BEGIN bench/\$b.out"; cat /tmp/bout; echo "@@PRIVMEM-END 0 0 0"
	echo "@@PRIVMEM-BEGIN bench/\$b.log"; cat /tmp/berr; echo "@@PRIVMEM-END \$rc \$t0 \$t1"
done </privmem/bench.list
# The fuzzer (--fuzz): each platform with the same arguments; its log, summary, reproducer, splats.
if [ -s /privmem/fuzz.args ]; then
	for p in $([ "$arch" = arm64 ] && echo sw-default pkvm || echo sw-default sw-protected); do
		seq=\$(/privmem/privmem-kmsg mark 2>/dev/null) && kmsg=checked || kmsg=unchecked
		t0=\$(cut -d' ' -f1 /proc/uptime)
		(cd /tmp && /privmem/privmem-fuzz --platform \$p \$(cat /privmem/fuzz.args) --json /tmp/fz.json --repro /tmp/fz.c) >/tmp/out 2>&1
		rc=\$?
		t1=\$(cut -d' ' -f1 /proc/uptime)
		if [ \$kmsg = checked ] && /privmem/privmem-kmsg since \$seq >/tmp/kmsg 2>/dev/null; then
			echo "@@PRIVMEM-BEGIN fuzz/\$p.kmsg"; cat /tmp/kmsg; echo "@@PRIVMEM-END 0 0 0"
		else
			kmsg=unchecked
		fi
		for f in json c; do
			[ -s /tmp/fz.\$f ] || continue
			echo "@@PRIVMEM-BEGIN fuzz/\$p.\$([ \$f = c ] && echo repro.c || echo json)"; cat /tmp/fz.\$f; echo; echo "@@PRIVMEM-END 0 0 0"
		done
		rm -f /tmp/fz.json /tmp/fz.c
		echo "@@PRIVMEM-BEGIN fuzz/\$p.log"
		cat /tmp/out
		echo "@@PRIVMEM-END \$rc \$t0 \$t1 \$kmsg"
	done
fi
# The fuzzer against each deviation (--fuzz-deviations): found, or the whole budget without a divergence.
while read -r dev plat; do
	t0=\$(cut -d' ' -f1 /proc/uptime)
	(cd /tmp && env PRIVMEM_DEVIATION=\$dev LD_PRELOAD=/privmem/deviant.so /privmem/privmem-fuzz --platform \$plat \$(cat /privmem/fuzz.args)) >/tmp/out 2>&1
	rc=\$?
	t1=\$(cut -d' ' -f1 /proc/uptime)
	echo "@@PRIVMEM-BEGIN fuzz-devs/\$dev.log"
	grep -v '^  *[0-9]* [A-Z_]* h=' /tmp/out
	echo "@@PRIVMEM-END \$rc \$t0 \$t1"
done </privmem/fuzz-devs.list
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
}
