/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A platform is one way of keeping guest memory private, described by an ops
 * table (one file each in platforms/, listed once in platforms/list.h). Tests
 * select platforms by name, as data; nothing outside platforms/ branches on which
 * platform it runs. A NULL op is one the platform does not have: call ops through
 * the pm_platform_*() wrappers below, which give the errno a caller can act on.
 *
 * How the confidential platforms' launch flows map onto the ops:
 *  - TDX: KVM_TDX_INIT_VM inside create_vm (it must precede the first vCPU);
 *    KVM_TDX_INIT_VCPU per vCPU once created; KVM_TDX_INIT_MEM_REGION copies and
 *    measures the image into private guest_memfd pages; KVM_TDX_FINALIZE_VM seals
 *    the measurement, before the first KVM_RUN.
 *  - SEV-SNP: KVM_SEV_INIT2 inside create_vm (it too must precede the first vCPU);
 *    KVM_SEV_SNP_LAUNCH_START, LAUNCH_UPDATE per image range (encrypts and measures
 *    it into private guest_memfd pages), LAUNCH_FINISH before the first KVM_RUN.
 *  - pKVM (platforms/pkvm.c): create_vm with KVM_VM_TYPE_ARM_PROTECTED; no image
 *    loading or finalize step (the first KVM_RUN fixes the VM's vCPUs); private memory
 *    is plain memslot memory the guest takes page by page, and conversion is the
 *    guest's (MEM_SHARE/MEM_UNSHARE), so there is no convert op.
 * The guest->host report channel is the architecture's (lib/<arch>/: port I/O on
 * x86_64, an MMIO store on arm64); a TDX or SNP guest would send the same port I/O
 * through TDG.VP.VMCALL or the GHCB, which KVM turns into the same KVM_EXIT_IO.
 * Per-vCPU init, image loading and finalize become ops once privmem has a launch flow
 * that can run here: launch code no host here can run would be untested. Until then
 * their create_vm is NULL.
 */
#ifndef PRIVMEM_PLATFORM_H
#define PRIVMEM_PLATFORM_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps.h"
#include "list.h"
#include "vm.h"

struct pm_platform {
	const char *name;		/* "sw-default": platforms/list.h's name */
	const char *summary;
	unsigned long vm_type;
	const char *kconfig;		/* option that enables it, named in absence reasons */
	const char *arch;		/* uname machine it exists on; NULL: any */

	/* true when usable here; otherwise why[] says what is missing. */
	bool (*detect)(const struct pm_caps *c, char *why, size_t len);

	/* A VM of the platform, ready for memory and vCPUs. NULL: privmem cannot launch one. */
	struct pm_vm *(*create_vm)(const struct pm_platform *p);

	/* Private memory: an fd (guest_memfd, memfd_secret) and how a slot binds it. */
	int (*create_private_mem)(struct pm_vm *vm, uint64_t size, uint64_t flags);
	int (*bind_memslot)(struct pm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			    int fd, uint64_t offset, uint64_t page_size);
	/* Shared<->private conversion of a GPA range. */
	int (*convert)(struct pm_vm *vm, uint64_t gpa, uint64_t size, bool to_private);

	/* Valid guest_memfd creation flags for vm_type. NULL: none is. */
	uint64_t (*gmem_flags)(const struct pm_caps *c, unsigned long vm_type);

	/*
	 * How a host access to memory the platform keeps from the host fails (a private
	 * guest_memfd page; pKVM: a page donated to a protected VM): the signal and its
	 * si_code. 0: nothing is private from the host here.
	 */
	struct { int signo; int code; } host_fault;
};

#define PM_PLATFORM_EXTERN(ident, ...) extern const struct pm_platform pm_platform_##ident;
PM_PLATFORM_LIST(PM_PLATFORM_EXTERN)
#undef PM_PLATFORM_EXTERN

/* NULL-terminated, in report order. */
extern const struct pm_platform *const pm_platforms[];

const struct pm_platform *pm_platform_find(const char *name);
/*
 * detect(), unless the host is not the platform's arch ("host is <machine>; <name> needs
 * <arch>"), plus the platform's kconfig option in the reason when it is off.
 */
bool pm_platform_detect(const struct pm_platform *p, const struct pm_caps *c, char *why, size_t len);
/* The same with the process-wide caps. */
bool pm_platform_present(const struct pm_platform *p, char *why, size_t len);
/* Value of a recorded kconfig option ("y", "m", "n"), NULL if unknown. */
const char *pm_kconfig(const struct pm_caps *c, const char *option);

/*
 * What a test variant needs: a platform, and guest_memfd flags its VM type must
 * advertise in KVM_CAP_GUEST_MEMFD_FLAGS. pm_need_met() returns the platform, or
 * NULL with the reason (the SKIP message) in why.
 */
struct pm_need {
	const char *platform;
	uint64_t gmem_flags;
};

const struct pm_platform *pm_need_met(const struct pm_need *need, char *why, size_t len);

/*
 * guest_memfd creation flags every KVM_MEM_GUEST_MEMFD memslot's fd must have on this
 * host's architecture, whatever the VM type: aarch64 GUEST_MEMFD_FLAG_MMAP
 * (arch/arm64/kvm/mmu.c kvm_arch_prepare_memory_region: a gmem slot that is not
 * kvm_memslot_is_gmem_only() is -EINVAL, "there aren't any CoCo VMs that support only
 * private memory on arm64"); 0 elsewhere (x86 binds any guest_memfd).
 */
uint64_t pm_slot_gmem_flags(const struct pm_caps *c);
/*
 * pm_need_met() for a variant that binds its guest_memfd in a memslot: NULL (why: the
 * architecture's rule) also when need->gmem_flags lack pm_slot_gmem_flags().
 */
const struct pm_platform *pm_need_slot_met(const struct pm_need *need, char *why, size_t len);
/*
 * errno of a VM ioctl the kernel did not build (kvm_arch_vm_ioctl's default): ENOTTY on
 * x86 (arch/x86/kvm/x86.c), EINVAL on aarch64 (arch/arm64/kvm/arm.c `default: return
 * -EINVAL`).
 */
int pm_unknown_vm_ioctl_errno(const struct pm_caps *c);

/* A known backend deviation (platforms/known.c): the backend, the rows.tsv id, why. */
struct pm_known {
	const char *kvm_module;
	const char *row;
	const char *reason;
	/*
	 * NULL: every kernel with this module. Else an fnmatch() glob on the release, for a
	 * stable series that lacks an upstream fix (the reason names the fix): when the series
	 * gets the backport the row XPASSes and the entry must go.
	 */
	const char *release;
};

/* Reason if this backend has a known deviation on behaviour `row` (a rows.tsv id), else NULL. */
const char *pm_known_deviation(const struct pm_caps *c, const char *row);
/* Every entry, terminated by { NULL }. */
const struct pm_known *pm_known_list(void);

/*
 * Calling an op: a NULL op is unsupported, which these report as the failure a
 * caller can act on: no VM with errno ENOSYS, -1 with errno EOPNOTSUPP, no valid
 * guest_memfd flag.
 */
static inline struct pm_vm *pm_platform_vm(const struct pm_platform *p)
{
	if (!p->create_vm) {
		errno = ENOSYS;
		return NULL;
	}
	return p->create_vm(p);
}

static inline int pm_platform_private_mem(const struct pm_platform *p, struct pm_vm *vm,
					  uint64_t size, uint64_t flags)
{
	if (!p->create_private_mem) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return p->create_private_mem(vm, size, flags);
}

static inline int pm_platform_bind(const struct pm_platform *p, struct pm_vm *vm, uint32_t slot,
				   uint64_t gpa, uint64_t size, int fd, uint64_t offset,
				   uint64_t page_size)
{
	if (!p->bind_memslot) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return p->bind_memslot(vm, slot, gpa, size, fd, offset, page_size);
}

static inline int pm_platform_convert(const struct pm_platform *p, struct pm_vm *vm,
				      uint64_t gpa, uint64_t size, bool to_private)
{
	if (!p->convert) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return p->convert(vm, gpa, size, to_private);
}

static inline uint64_t pm_platform_gmem_flags(const struct pm_platform *p, const struct pm_caps *c)
{
	return p->gmem_flags ? p->gmem_flags(c, p->vm_type) : 0;
}

/* Building blocks shared by the ops tables (platforms/common.c). */
struct pm_vm *pm_plat_create_vm(const struct pm_platform *p);
int pm_plat_gmem_create(struct pm_vm *vm, uint64_t size, uint64_t flags);
/* A freshly created memory fd (memfd, memfd_secret) grown to size: the fd, or -1/errno (fd closed). */
int pm_plat_sized_fd(int fd, uint64_t size);
int pm_plat_bind_gmem(struct pm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		      int fd, uint64_t offset, uint64_t page_size);
int pm_plat_convert_attributes(struct pm_vm *vm, uint64_t gpa, uint64_t size, bool to_private);
uint64_t pm_plat_gmem_flags_from_cap(const struct pm_caps *c, unsigned long vm_type);
/* Common detection: KVM usable, VM type advertised and creatable ... */
bool pm_plat_detect_vm_type(const struct pm_caps *c, unsigned long type, char *why, size_t len);
/* ... and guest_memfd on it. */
bool pm_plat_detect_gmem_vm_type(const struct pm_caps *c, unsigned long type,
				 char *why, size_t len);
bool pm_plat_detect_unlaunched(const struct pm_caps *c, unsigned long type,
			       char *why, size_t len);

#endif
