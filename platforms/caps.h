/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Capability probe: everything the suite keys its expectations on, read from
 * the running kernel (never inferred from its version).
 */
#ifndef PRIVMEM_CAPS_H
#define PRIVMEM_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/utsname.h>

/* KVM capabilities the suite records, on /dev/kvm and on each VM type. */
#define PM_CAP_LIST(X)					\
	X(KVM_CAP_USER_MEMORY)				\
	X(KVM_CAP_READONLY_MEM)				\
	X(KVM_CAP_NR_MEMSLOTS)				\
	X(KVM_CAP_MAX_VCPUS)				\
	X(KVM_CAP_USER_MEMORY2)				\
	X(KVM_CAP_GUEST_MEMFD)				\
	X(KVM_CAP_GUEST_MEMFD_FLAGS)			\
	X(KVM_CAP_MEMORY_ATTRIBUTES)			\
	X(KVM_CAP_VM_TYPES)				\
	X(KVM_CAP_MEMORY_FAULT_INFO)			\
	X(KVM_CAP_PRE_FAULT_MEMORY)			\
	X(KVM_CAP_BINARY_STATS_FD)			\
	X(KVM_CAP_EXIT_HYPERCALL)

enum pm_cap_id {
#define PM_CAP_ENUM(name) PM_##name,
	PM_CAP_LIST(PM_CAP_ENUM)
#undef PM_CAP_ENUM
	PM_NR_CAPS
};

/* Kernel config options worth recording next to the caps (reasons for SKIPs). */
#define PM_NR_KCONFIG 14
extern const char *const pm_kconfig_names[PM_NR_KCONFIG];

#define PM_NR_VM_TYPES 6	/* x86: default, sw-protected, sev, sev-es, snp, tdx */

struct pm_vm_type_caps {
	unsigned long type;
	const char *name;	/* "KVM_X86_DEFAULT_VM" */
	bool advertised;	/* bit set in KVM_CAP_VM_TYPES (type 0 always) */
	bool created;		/* KVM_CREATE_VM succeeded */
	int create_errno;
	long cap[PM_NR_CAPS];	/* KVM_CHECK_EXTENSION on the VM fd; -errno if it failed */
};

struct pm_caps {
	struct utsname uts;
	bool root;
	int nr_cpus;
	long mem_kib;

	bool kvm;			/* /dev/kvm opened */
	char kvm_reason[160];		/* why not */
	int kvm_api_version;
	char kvm_module[32];		/* kvm_intel, kvm_amd, kvm_pvm, ... */
	long cap[PM_NR_CAPS];		/* on /dev/kvm */
	struct pm_vm_type_caps vm_types[PM_NR_VM_TYPES];
	/*
	 * arm64: KVM_VM_TYPE_ARM_PROTECTED (pKVM) probed like a VM type (KVM creates it only in
	 * kvm-arm.mode=protected), and the mode the kernel command line asks for ("" = default).
	 */
	struct pm_vm_type_caps arm_protected;
	char kvm_arm_mode[16];

	bool secretmem;
	char secretmem_reason[128];

	char thp_enabled[64];
	char thp_shmem_enabled[64];
	long hugepage_kib;
	long hugepages_total, hugepages_free;
	int numa_nodes;
	char tracefs[64];		/* mount point, "" if not mounted */
	bool perf;
	char perf_version[64];
	char kconfig_source[64];	/* /proc/config.gz, /boot/config-..., or "" */
	char kconfig[PM_NR_KCONFIG][16];	/* value of each pm_kconfig_names[] option: "y", "m", "n", or "" if unreadable */
};

extern const char *const pm_cap_names[PM_NR_CAPS];

/* Probe once per process; later calls return the same result. */
const struct pm_caps *pm_caps(void);
void pm_caps_probe(struct pm_caps *c);

/* Capability of VM type `type` (per-VM answer), or 0 when that type cannot be created. */
long pm_vm_cap(const struct pm_caps *c, unsigned long type, enum pm_cap_id id);
bool pm_vm_type_supported(const struct pm_caps *c, unsigned long type);

#endif
