// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 part of the VM library: vCPUs start at EL1h with the MMU on, on identity
 * stage-1 tables (4 KiB granule, 48-bit VA) that the host builds in the system
 * slot; the report channel is a store to PM_REPORT_MMIO, which no memslot backs
 * (KVM_EXIT_MMIO). Exceptions go to lib/arm64/guest.c's vectors.
 *
 * A protected VM (pKVM) takes each page it touches away from the host. The guest
 * runtime therefore shares its report page with the MEM_SHARE hypercall before
 * the first report (x4 tells it to), and the host reads nothing else the guest
 * wrote (assertion strings travel in the report page, lib/guest.h). Tables the
 * host writes after the guest's first run would be on taken pages: on a protected
 * VM, map what the guest will use before its first KVM_RUN.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "arch.h"

#define SYS_ROOT	0x0000		/* level-0 table, in the arch's part of the system slot */

#define DESC_VALID	(1ULL << 0)
#define DESC_TABLE	(1ULL << 1)	/* levels 0-2: table; level 3: page */
#define DESC_ATTR(i)	((uint64_t)(i) << 2)
#define DESC_SH_INNER	(3ULL << 8)
#define DESC_AF		(1ULL << 10)
#define DESC_ADDR	0x0000fffffffff000ULL

/* MAIR_EL1 attribute indexes: 0 normal write-back, 1 device-nGnRE (the report page). */
#define ATTR_NORMAL	0
#define ATTR_DEVICE	1
#define MAIR_VALUE	(0xffULL | (0x04ULL << 8))

/* TCR_EL1: T0SZ=16 (48-bit VA), WBWA inner/outer, inner shareable, 4K granule,
 * no TTBR1 walks (EPD1), 40-bit IPA (KVM's default VM size). */
#define TCR_VALUE	(16ULL | (1ULL << 8) | (1ULL << 10) | (3ULL << 12) | (1ULL << 23) | (2ULL << 32))
/* SCTLR_EL1: MMU, data and instruction caches, SP alignment check; RES1 bits of ARMv8.0. */
#define SCTLR_VALUE	((1ULL << 0) | (1ULL << 2) | (1ULL << 3) | (1ULL << 12) | 0x30d00800ULL)
#define CPACR_FPEN	(3ULL << 20)	/* no FP trap: guest code is integer-only, but be lenient */
#define PSTATE_EL1H_MASKED 0x3c5ULL	/* EL1h, D A I F masked */

/* KVM ONE_REG ids (arch/arm64/include/uapi/asm/kvm.h). */
#define CORE_REG(x)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
			 (offsetof(struct kvm_regs, x) / sizeof(__u32)))
#define SYS_SCTLR_EL1	ARM64_SYS_REG(3, 0, 1, 0, 0)
#define SYS_CPACR_EL1	ARM64_SYS_REG(3, 0, 1, 0, 2)
#define SYS_TTBR0_EL1	ARM64_SYS_REG(3, 0, 2, 0, 0)
#define SYS_TCR_EL1	ARM64_SYS_REG(3, 0, 2, 0, 2)
#define SYS_MAIR_EL1	ARM64_SYS_REG(3, 0, 10, 2, 0)
#define SYS_VBAR_EL1	ARM64_SYS_REG(3, 0, 12, 0, 0)
#define SYS_TPIDR_EL1	ARM64_SYS_REG(3, 0, 13, 0, 4)

extern char pm_guest_vectors[];
void pm_arm64_guest_start(void);

const uint64_t pm_arch_va_limit = 1ULL << 40;	/* the 40-bit IPA space */

/* Return the next-level table for entry idx of table, allocating it. */
static uint64_t *next_level(struct pm_vm *vm, uint64_t *table, unsigned int idx)
{
	uint64_t gpa;

	if (!(table[idx] & DESC_VALID)) {
		if (pm_sys_page_alloc(vm, &gpa))
			return NULL;
		table[idx] = gpa | DESC_VALID | DESC_TABLE;
	} else if (!(table[idx] & DESC_TABLE)) {
		errno = EEXIST;		/* already mapped by a block */
		return NULL;
	}
	return pm_sys_ptr(vm, table[idx] & DESC_ADDR);
}

static int map(struct pm_vm *vm, uint64_t gpa, uint64_t size, uint64_t page_size, int attr)
{
	uint64_t leaf = DESC_VALID | DESC_ATTR(attr) | DESC_SH_INNER | DESC_AF;

	for (uint64_t a = gpa; a < gpa + size; a += page_size) {
		uint64_t *l1, *l2, *l3;

		l1 = next_level(vm, pm_sys_ptr(vm, PM_SYS_GPA + SYS_ROOT), (a >> 39) & 511);
		l2 = l1 ? next_level(vm, l1, (a >> 30) & 511) : NULL;
		if (!l2)
			return -1;
		if (page_size == PM_PAGE_2M) {
			l2[(a >> 21) & 511] = a | leaf;		/* block */
			continue;
		}
		l3 = next_level(vm, l2, (a >> 21) & 511);
		if (!l3)
			return -1;
		l3[(a >> 12) & 511] = a | leaf | DESC_TABLE;	/* page */
	}
	return 0;
}

int pm_arch_map(struct pm_vm *vm, uint64_t gpa, uint64_t size, uint64_t page_size)
{
	return map(vm, gpa, size, page_size, ATTR_NORMAL);
}

int pm_arch_vm_init(struct pm_vm *vm)
{
	return map(vm, PM_REPORT_MMIO, PM_PAGE_4K, PM_PAGE_4K, ATTR_DEVICE);
}

static int set_reg(struct pm_vcpu *vcpu, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)&val };

	return ioctl(vcpu->fd, KVM_SET_ONE_REG, &r);
}

int pm_arch_vcpu_init(struct pm_vcpu *vcpu, uint64_t entry, uint64_t fn,
		      uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct kvm_vcpu_init init = { 0 };
	const struct { uint64_t id, val; } regs[] = {
		{ SYS_MAIR_EL1, MAIR_VALUE },
		{ SYS_TCR_EL1, TCR_VALUE },
		{ SYS_TTBR0_EL1, PM_SYS_GPA + SYS_ROOT },
		{ SYS_VBAR_EL1, (uint64_t)pm_guest_vectors },
		{ SYS_CPACR_EL1, CPACR_FPEN },
		{ SYS_TPIDR_EL1, vcpu->area_gpa },	/* the report page, for the guest runtime */
		{ SYS_SCTLR_EL1, SCTLR_VALUE },
		{ CORE_REG(sp_el1), vcpu->area_gpa + PM_VCPU_AREA },
		{ CORE_REG(regs.pstate), PSTATE_EL1H_MASKED },
		/* pm_arm64_guest_start(fn, a0, a1, a2, share, entry) */
		{ CORE_REG(regs.regs[0]), fn },
		{ CORE_REG(regs.regs[1]), a0 },
		{ CORE_REG(regs.regs[2]), a1 },
		{ CORE_REG(regs.regs[3]), a2 },
		{ CORE_REG(regs.regs[4]), !!(vcpu->vm->type & KVM_VM_TYPE_ARM_PROTECTED) },
		{ CORE_REG(regs.regs[5]), entry },
		{ CORE_REG(regs.pc), (uint64_t)pm_arm64_guest_start },
	};

	if (ioctl(vcpu->vm->fd, KVM_ARM_PREFERRED_TARGET, &init) ||
	    ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init))
		return -1;
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (set_reg(vcpu, regs[i].id, regs[i].val))
			return -1;
	return 0;
}

bool pm_arch_is_report(const struct pm_vcpu *vcpu)
{
	const struct kvm_run *run = vcpu->run;

	return run->exit_reason == KVM_EXIT_MMIO && run->mmio.is_write &&
	       run->mmio.phys_addr == PM_REPORT_MMIO;
}

void pm_arch_describe_exception(const struct pm_report *rep, char *buf, size_t len)
{
	/* vals: vector slot (0-15), ESR_EL1 (EC in bits 31:26), ELR_EL1, FAR_EL1. */
	snprintf(buf, len, "guest exception vector %llu esr 0x%llx (ec 0x%llx) at pc 0x%llx far 0x%llx",
		 (unsigned long long)rep->vals[0], (unsigned long long)rep->vals[1],
		 (unsigned long long)(rep->vals[1] >> 26) & 0x3f, (unsigned long long)rep->vals[2],
		 (unsigned long long)rep->vals[3]);
}
