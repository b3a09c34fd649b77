// SPDX-License-Identifier: GPL-2.0
/*
 * x86_64 part of the VM library: 4-level identity page tables, a flat GDT, an
 * IDT of exception stubs, 64-bit long mode from the first instruction, and the
 * port-I/O report channel (lib/x86_64/guest.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "arch.h"

/* The architecture's pages at the bottom of the system slot (arch.h). */
#define SYS_GDT		0x0000
#define SYS_IDT		0x1000
#define SYS_PML4	0x2000

#define PTE_P		(1ULL << 0)
#define PTE_W		(1ULL << 1)
#define PTE_PS		(1ULL << 7)
#define PTE_ADDR	0x000ffffffffff000ULL

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_PG (1ULL << 31)
#define CR4_PAE (1ULL << 5)
#define CR4_OSFXSR (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define GDT_CODE_SEL 0x08
#define GDT_DATA_SEL 0x10

extern char pm_guest_exc_stubs[];

const uint64_t pm_arch_va_limit = 1ULL << 39;	/* one PML4 entry's worth is plenty */

/* Return the next-level table for entry idx of table, allocating it. */
static uint64_t *pt_next_level(struct pm_vm *vm, uint64_t *table, unsigned int idx)
{
	uint64_t gpa;

	if (!(table[idx] & PTE_P)) {
		if (pm_sys_page_alloc(vm, &gpa))
			return NULL;
		table[idx] = gpa | PTE_P | PTE_W;
	} else if (table[idx] & PTE_PS) {
		errno = EEXIST;		/* already mapped by a larger page */
		return NULL;
	}
	return pm_sys_ptr(vm, table[idx] & PTE_ADDR);
}

int pm_arch_map(struct pm_vm *vm, uint64_t gpa, uint64_t size, uint64_t page_size)
{
	for (uint64_t a = gpa; a < gpa + size; a += page_size) {
		uint64_t *pdpt, *pd, *pt;

		pdpt = pt_next_level(vm, pm_sys_ptr(vm, PM_SYS_GPA + SYS_PML4), (a >> 39) & 511);
		pd = pdpt ? pt_next_level(vm, pdpt, (a >> 30) & 511) : NULL;
		if (!pd)
			return -1;
		if (page_size == PM_PAGE_2M) {
			pd[(a >> 21) & 511] = a | PTE_P | PTE_W | PTE_PS;
			continue;
		}
		pt = pt_next_level(vm, pd, (a >> 21) & 511);
		if (!pt)
			return -1;
		pt[(a >> 12) & 511] = a | PTE_P | PTE_W;
	}
	return 0;
}

int pm_arch_vm_init(struct pm_vm *vm)
{
	uint64_t *gdt = pm_sys_ptr(vm, PM_SYS_GPA + SYS_GDT);
	uint64_t *idt = pm_sys_ptr(vm, PM_SYS_GPA + SYS_IDT);

	gdt[0] = 0;
	gdt[GDT_CODE_SEL / 8] = 0x00af9a000000ffffULL;	/* 64-bit code, DPL0 */
	gdt[GDT_DATA_SEL / 8] = 0x00cf92000000ffffULL;	/* data, DPL0 */
	for (int v = 0; v < 32; v++) {
		uint64_t h = (uint64_t)pm_guest_exc_stubs + 16 * v;

		/* 64-bit interrupt gate, present, DPL0. */
		idt[2 * v] = (h & 0xffff) | ((uint64_t)GDT_CODE_SEL << 16) |
			     (0x8eULL << 40) | (((h >> 16) & 0xffff) << 48);
		idt[2 * v + 1] = h >> 32;
	}
	return 0;
}

static int set_cpuid(struct pm_vcpu *vcpu)
{
	int n = 128, ret;
	struct kvm_cpuid2 *c;

	for (;;) {
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return -1;
		c->nent = n;
		ret = ioctl(vcpu->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (ret == 0 || errno != E2BIG)
			break;
		free(c);
		n *= 2;
	}
	if (ret == 0)
		ret = ioctl(vcpu->fd, KVM_SET_CPUID2, c);
	free(c);
	return ret;
}

static int set_long_mode(struct pm_vcpu *vcpu)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = GDT_CODE_SEL, .type = 11,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = GDT_DATA_SEL, .type = 3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s))
		return -1;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = PM_SYS_GPA + SYS_PML4;
	s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	s.efer = EFER_LME | EFER_LMA;
	s.cs = code;
	s.ds = s.es = s.fs = s.ss = data;
	s.gs = data;
	s.gs.base = vcpu->area_gpa;	/* %gs:0 holds the report page's own address */
	s.gdt.base = PM_SYS_GPA + SYS_GDT;
	s.gdt.limit = 3 * 8 - 1;
	s.idt.base = PM_SYS_GPA + SYS_IDT;
	s.idt.limit = 32 * 16 - 1;
	return ioctl(vcpu->fd, KVM_SET_SREGS, &s);
}

int pm_arch_vcpu_init(struct pm_vcpu *vcpu, uint64_t entry, uint64_t fn,
		      uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct kvm_regs regs = {
		.rip = entry,
		.rsp = vcpu->area_gpa + PM_VCPU_AREA - 8,	/* ABI: rsp+8 16-byte aligned at entry */
		.rflags = 2,
		.rdi = fn, .rsi = a0, .rdx = a1, .rcx = a2,
	};

	if (set_cpuid(vcpu) || set_long_mode(vcpu))
		return -1;
	return ioctl(vcpu->fd, KVM_SET_REGS, &regs);
}

bool pm_arch_is_report(const struct pm_vcpu *vcpu)
{
	const struct kvm_run *run = vcpu->run;

	return run->exit_reason == KVM_EXIT_IO && run->io.port == PM_REPORT_PORT &&
	       run->io.direction == KVM_EXIT_IO_OUT;
}

void pm_arch_describe_exception(const struct pm_report *rep, char *buf, size_t len)
{
	snprintf(buf, len, "guest exception vector %llu error 0x%llx at rip 0x%llx cr2 0x%llx",
		 (unsigned long long)rep->vals[0], (unsigned long long)rep->vals[1],
		 (unsigned long long)rep->vals[2], (unsigned long long)rep->vals[3]);
}
