/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place for KVM ABI facts newer than the uapi tree privmem is built
 * against (Debian linux-source-6.12 by default, or KDIR). Each entry is guarded,
 * so a newer tree's own definition wins, and annotated with the kernel that
 * introduced it. Struct layouts the suite relies on are checked by size: a
 * mismatch is a build failure, not a silently wrong ioctl.
 */
#ifndef PRIVMEM_COMPAT_H
#define PRIVMEM_COMPAT_H

#include <linux/kvm.h>

#ifndef KVM_CREATE_GUEST_MEMFD
#error "uapi <linux/kvm.h> predates guest_memfd (Linux 6.8); build against linux-source-6.12 or a newer KDIR"
#endif

/* Linux 6.18: KVM_CAP_GUEST_MEMFD_FLAGS reports the valid kvm_create_guest_memfd.flags
 * (it replaced the never-released KVM_CAP_GUEST_MEMFD_MMAP, also 244). */
#ifndef KVM_CAP_GUEST_MEMFD_FLAGS
#define KVM_CAP_GUEST_MEMFD_FLAGS 244
#endif
/* Linux 6.18: host mmap() of guest_memfd. */
#ifndef GUEST_MEMFD_FLAG_MMAP
#define GUEST_MEMFD_FLAG_MMAP (1ULL << 0)
#endif
/* Linux 6.18: memory starts shared (faultable by the host) instead of private. */
#ifndef GUEST_MEMFD_FLAG_INIT_SHARED
#define GUEST_MEMFD_FLAG_INIT_SHARED (1ULL << 1)
#endif
/* Linux 6.16: Intel TDX VM type (arch/x86/include/uapi/asm/kvm.h). */
#ifndef KVM_X86_TDX_VM
#define KVM_X86_TDX_VM 5
#endif

/*
 * The x86 VM type numbers (arch/x86/include/uapi/asm/kvm.h, 6.8-6.16) on other architectures,
 * so the x86 platforms' tables build everywhere; pm_platform_detect() reports them absent there
 * by architecture before anything creates a VM of such a type.
 */
#ifndef __x86_64__
#define KVM_X86_DEFAULT_VM	0
#define KVM_X86_SW_PROTECTED_VM	1
#define KVM_X86_SEV_VM		2
#define KVM_X86_SEV_ES_VM	3
#define KVM_X86_SNP_VM		4
#endif
/* memfd_secret (Linux 5.14): 447 in the generic and the x86_64 tables; glibc 2.36 names it on x86_64 only. */
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

/*
 * arm64 pKVM protected VMs: KVM_CREATE_VM type flag (e3fadbcfc422 "KVM: arm64: Introduce
 * KVM_VM_TYPE_ARM_PROTECTED machine type for PVMs"; in the uapi of 7.2, not of 6.12).
 */
#ifndef KVM_VM_TYPE_ARM_PROTECTED
#define KVM_VM_TYPE_ARM_PROTECTED (1UL << 31)
#endif

/*
 * Linux 6.3 memfd exec control. In the uapi headers since 6.3, but glibc 2.36's
 * <sys/mman.h>/<fcntl.h> lack them and <linux/memfd.h> clashes with glibc's.
 */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

/* Layouts as of Linux 6.8 (6.11 for pre-fault); unchanged through 6.18. */
_Static_assert(sizeof(struct kvm_create_guest_memfd) == 64, "kvm_create_guest_memfd layout");
_Static_assert(sizeof(struct kvm_userspace_memory_region2) == 160, "kvm_userspace_memory_region2 layout");
_Static_assert(sizeof(struct kvm_memory_attributes) == 32, "kvm_memory_attributes layout");
_Static_assert(sizeof(struct kvm_pre_fault_memory) == 64, "kvm_pre_fault_memory layout");

#endif
