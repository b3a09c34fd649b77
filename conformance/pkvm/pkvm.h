/* SPDX-License-Identifier: GPL-2.0 */
/*
 * arm64 pKVM protected VMs: the host-access contract of Documentation/virt/kvm/
 * arm/pkvm.rst. A protected VM's guest owns every page it touches; the host's
 * accesses to such a page fault, syscalls that reach it fail or reclaim it, and
 * the guest gives a page back to the host with MEM_SHARE (hypercalls.rst).
 *
 * The fixture: one protected VM, PAGES pages of memfd memory bound at GPA (the
 * platform's private memory, pinned), the host's mapping of them in self->host,
 * and one vCPU running guest_share_cycle() (below).
 */
#ifndef PRIVMEM_PKVM_H
#define PRIVMEM_PKVM_H

#include <sys/mman.h>

#include "pm_test.h"

#define PK_SLOT		PM_SLOT_FIRST_FREE
#define PK_GPA		PM_TEST_GPA
#define PK_PAGE		PM_PAGE_4K
#define PK_PAGES	8ULL
#define PK_SIZE		(PK_PAGES * PK_PAGE)
/* Page roles: PRIV written by the guest and kept; SHARED given back and taken again. */
#define PK_PRIV		0
#define PK_SHARED	1
#define PK_UNTOUCHED	2	/* never touched by the guest: still the host's */
/* A second slot, added after the first run; mapped in the guest before it. */
#define PK_SLOT2	(PM_SLOT_FIRST_FREE + 1)
#define PK_GPA2		(PM_TEST_GPA + (1ULL << 30))

#define PK_GUEST_PAT(i)	(0x9a7e000000000000ULL | (i))
#define PK_HOST_PAT	0x4057c0de4057c0deULL

/* Guest stages. */
#define PK_STAGE_SHARED		1	/* PRIV and SHARED written, SHARED shared */
#define PK_STAGE_UNSHARED	2	/* the host's word seen in SHARED, SHARED taken back */
#define PK_STAGE_SLOT2		3	/* vals[1]: what the guest read back from slot 2 */

/* The guest's hypercalls; the rows run on arm64 only (the platform's arch). */
#ifdef __aarch64__
#define pk_hvc(fn, gpa)	pm_guest_smccc((fn), (gpa), 0, 0)
#else
#define pk_hvc(fn, gpa)	((void)(fn), (void)(gpa), PM_SMCCC_NOT_SUPPORTED)
#endif

static inline PM_GUEST uint64_t *pk_page(uint64_t gpa, uint64_t i)
{
	return (uint64_t *)(gpa + i * PK_PAGE);
}

/*
 * Write every page's pattern into PRIV and SHARED, share SHARED; at the host's
 * resume check the host's word there and unshare it; then, if slot2 is non-zero,
 * write and read back its first word.
 */
static PM_GUEST void guest_share_cycle(uint64_t gpa, uint64_t slot2, uint64_t unused)
{
	(void)unused;
	pm_guest_write64(pk_page(gpa, PK_PRIV), PK_GUEST_PAT(PK_PRIV));
	pm_guest_write64(pk_page(gpa, PK_SHARED), PK_GUEST_PAT(PK_SHARED));
	GUEST_ASSERT_EQ(PM_SMCCC_SUCCESS, pk_hvc(PM_SMCCC_MEM_SHARE, gpa + PK_SHARED * PK_PAGE));
	GUEST_SYNC(PK_STAGE_SHARED);
	/* Still the guest's own data, unless the host reclaimed the page (then KVM_RUN fails). */
	GUEST_ASSERT_EQ(PK_GUEST_PAT(PK_PRIV), pm_guest_read64(pk_page(gpa, PK_PRIV)));
	GUEST_ASSERT_EQ(PK_HOST_PAT, pm_guest_read64(pk_page(gpa, PK_SHARED) + 1));
	GUEST_ASSERT_EQ(PM_SMCCC_SUCCESS, pk_hvc(PM_SMCCC_MEM_UNSHARE, gpa + PK_SHARED * PK_PAGE));
	GUEST_SYNC(PK_STAGE_UNSHARED);
	if (slot2) {
		pm_guest_write64((uint64_t *)slot2, PK_GUEST_PAT(99));
		GUEST_SYNC_VALS(PK_STAGE_SLOT2, pm_guest_read64((uint64_t *)slot2), 0, 0);
	}
}

FIXTURE(pkvm) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	struct pm_vcpu *vcpu;
	int fd;
	uint8_t *host;
};

FIXTURE_VARIANT(pkvm) {
	struct pm_need need;
};

FIXTURE_VARIANT_ADD(pkvm, protected_vm) { .need = { "pkvm", 0 } };

/*
 * In FIXTURE_SETUP: the VM, its memory and vCPU. Slot 2's GPA range is mapped in the
 * guest but has no slot yet; slot2 (0 or PK_GPA2) tells the guest whether to use it.
 */
#define PK_SETUP(slot2) do {							\
	self->fd = -1;								\
	PM_SETUP_VM(&variant->need, self->p, self->vm);                               \
	self->fd = pm_platform_private_mem(self->p, self->vm, PK_SIZE, 0);            \
	ASSERT_LE(0, self->fd);                                                       \
	ASSERT_EQ(0, pm_platform_bind(self->p, self->vm, PK_SLOT, PK_GPA, PK_SIZE, self->fd, 0, PK_PAGE));\
	self->host = pm_gpa_to_hva(self->vm, PK_GPA, PK_SIZE);                        \
	ASSERT_NE(NULL, self->host);                                                  \
	/* Tables written after the first run would sit on pages the guest took. */   \
	ASSERT_EQ(0, pm_vm_map(self->vm, PK_GPA2, PK_PAGE, PK_PAGE));                 \
	self->vcpu = pm_vcpu_add(self->vm, guest_share_cycle, PK_GPA, (slot2), 0);    \
	ASSERT_NE(NULL, self->vcpu);                                                  \
} while (0)

static inline void pk_teardown(FIXTURE_DATA(pkvm) *self)
{
	pm_vm_free(self->vm);
	if (self->fd >= 0)
		close(self->fd);
}

/* A host access to addr faults the way the platform says private memory must. */
#define ASSERT_HOST_FAULT(self, addr, write) do {				\
	int __code = 0;								\
	void *__at = NULL;							\
	ASSERT_EQ((self)->p->host_fault.signo,					\
		  pm_touch_info((addr), (write), &__code, &__at));		\
	ASSERT_EQ((self)->p->host_fault.code, __code);				\
	ASSERT_EQ((void *)(addr), __at);					\
} while (0)

#define ASSERT_HOST_NO_FAULT(addr, write) ASSERT_EQ(0, pm_touch((addr), (write)))

#endif
