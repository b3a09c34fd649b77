/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What each architecture directory (lib/x86_64/, lib/arm64/) gives the generic VM
 * library (lib/vm.c), the way the kernel's KVM selftests split lib/. Host side
 * only; the guest side of an architecture is lib/<arch>/guest.c (lib/guest.h).
 *
 * The system slot (PM_SYS_GPA) is shared: the architecture owns its first
 * PM_SYS_ARCH_SIZE bytes (descriptor tables, root page table), page-table pages
 * come from pm_sys_page_alloc(), and the vCPU areas sit at its top.
 */
#ifndef PRIVMEM_ARCH_H
#define PRIVMEM_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define PM_SYS_ARCH_SIZE	0x4000ULL
#define PM_VCPU_AREA		0x10000ULL	/* report page + 60 KiB stack */
#define PM_SYS_VCPU_BASE	(PM_SYS_SIZE - PM_MAX_VCPUS * PM_VCPU_AREA)

/* Host view of a system-slot address, and a fresh zeroed page-table page there. */
void *pm_sys_ptr(struct pm_vm *vm, uint64_t gpa);
int pm_sys_page_alloc(struct pm_vm *vm, uint64_t *gpa);

/* After the system slot exists: descriptor tables, root page table, vectors. */
int pm_arch_vm_init(struct pm_vm *vm);

/* Identity-map [gpa, gpa + size) at page_size (checked by the caller). */
int pm_arch_map(struct pm_vm *vm, uint64_t gpa, uint64_t size, uint64_t page_size);
/* Highest guest virtual address + 1 the page tables can map. */
extern const uint64_t pm_arch_va_limit;

/*
 * A created vCPU (fd, run, area): its registers, so that it starts in
 * pm_guest_entry(fn, a0, a1, a2) on its own stack with its report page found.
 */
int pm_arch_vcpu_init(struct pm_vcpu *vcpu, uint64_t entry, uint64_t fn,
		      uint64_t a0, uint64_t a1, uint64_t a2);

/* Whether an exit is the guest's report (lib/guest.h's channel). */
bool pm_arch_is_report(const struct pm_vcpu *vcpu);

/* One line for a PM_REP_EXCEPTION report's vals. */
void pm_arch_describe_exception(const struct pm_report *rep, char *buf, size_t len);

#endif
