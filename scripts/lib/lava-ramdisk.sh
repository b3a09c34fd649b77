# shellcheck shell=bash disable=SC2154 # the variables below are set by scripts/lava.sh
# The ramdisk the LAVA QEMU device boots, for scripts/lava.sh: busybox, the shared libraries the
# install tarball's binaries need, the KVM modules of a modular x86 kernel, a /usr/bin/timeout that
# takes kselftest's --foreground, and an init that leaves a root shell on the console for LAVA to
# drive. The tree itself is not in it: the job appends the tarball as an overlay (lava/job.yaml.in),
# so one ramdisk serves every build of the same arch. Sourced, not run; needs $arch $build $work $lava_shim
# $modules, die() and scripts/lib/lab-initramfs.sh (lab_busybox, lab_libs, lab_copy_libs, lab_kvm_modules).
#   lava_ramdisk TARBALL OUT.cpio.gz [SHIM]   (SHIM: the deviant shim, at $lava_shim in the ramdisk)

lava_ramdisk() {
	local tarball=$1 out=$2 shim=${3:-} root=$work/ramdisk tree=$work/ramdisk-tree busybox libs
	rm -rf "$root" "$tree" && mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,run,root,opt,usr/bin,lib/modules} "$tree" ||
		die "cannot build the ramdisk tree in $work"
	busybox=$(lab_busybox) || die "no busybox for $arch"
	cp "$busybox" "$root/bin/busybox" || die "cannot copy $busybox"
	tar xzf "$tarball" -C "$tree" || die "cannot unpack $tarball"
	if [ -n "$shim" ]; then
		mkdir -p "$root$(dirname "$lava_shim")" && cp "$shim" "$root$lava_shim" && cp "$shim" "$tree/" || die "cannot copy $shim"
	fi
	# shellcheck disable=SC2046 # file names without blanks
	libs=$(lab_libs $(find "$tree" -type f \( -perm -u+x -o -name '*.so' \) ! -name '*.sh')) || die "a shared library the tarball's binaries need is missing (above)"
	# shellcheck disable=SC2086 # library paths without blanks
	lab_copy_libs "$root" $libs
	lab_kvm_modules "$root/lib/modules" || die "cannot copy the KVM modules of $modules"
	# kselftest's runner calls "timeout --foreground T timeout T test" when /usr/bin/timeout
	# exists (and no timeout at all otherwise); busybox's timeout has no --foreground.
	# And busybox's timeout exits 143 (its child killed by SIGTERM) where coreutils' exits 124, the
	# status the runner reports as "# TIMEOUT": the wrapper gives 124.
	printf '#!/bin/sh\n# busybox timeout for kselftest'"'"'s runner (--foreground, exit 124)\n[ "$1" = --foreground ] && shift\n/bin/busybox timeout "$@"\nrc=$?\n[ $rc = 143 ] && rc=124\nexit $rc\n' >"$root/usr/bin/timeout" &&
		chmod +x "$root/usr/bin/timeout" || die "cannot write the timeout wrapper"
	lava_init >"$root/init" && chmod +x "$root/init" || die "cannot write the init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out" || die "cannot pack the ramdisk"
	rm -rf "$root" "$tree"
}

# The init: mount as the lab's does, load KVM if modular, print what LAVA waits for, then a shell
# with a controlling tty on the console, forever (LAVA logs in by matching the prompt).
lava_init() {
	cat <<'EOF_INIT'
#!/bin/busybox sh
# privmem LAVA ramdisk init (scripts/lib/lava-ramdisk.sh)
/bin/busybox --install -s /bin
export PATH=/usr/bin:/bin:/sbin HOME=/root SHELL=/bin/sh
hostname privmem-lava
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp; mount -t tmpfs run /run
# devtmpfs has no /dev/stdout, and the runner appends each binary's output to /dev/stdout:
# without the links it would write a regular file and the nested results would be lost.
ln -sf /proc/self/fd /dev/fd; ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout; ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/shm /dev/pts && mount -t tmpfs shm /dev/shm && mount -t devpts devpts /dev/pts
# shmem THP on request (madvise), as in the lab: the VM's own knob.
[ -w /sys/kernel/mm/transparent_hugepage/shmem_enabled ] && echo advise >/sys/kernel/mm/transparent_hugepage/shmem_enabled
for m in irqbypass kvm ccp kvm-amd; do [ -e /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko; done
dmesg | grep -E 'kvm \[[0-9]+\]: ' | sed 's/^/@@PRIVMEM-KVM /'
# LAVA waits for "Linux version" before the prompt; "quiet" keeps the kernel's own banner off
# the console, so say it here.
cat /proc/version
cd /root
export PS1='privmem-lava:# '
while :; do setsid cttyhack /bin/sh -l; done
EOF_INIT
}
