// SPDX-License-Identifier: GPL-2.0
/*
 * Guest accesses KVM cannot resolve through a memslot's userspace_addr. KVM
 * maps shared guest memory by pinning the host page behind userspace_addr
 * (virt/kvm/kvm_main.c hva_to_pfn: GUP, then the VMA); when there is none it
 * gets KVM_PFN_ERR_FAULT and KVM_RUN fails with -1/EFAULT
 * (arch/x86/kvm/mmu/mmu.c kvm_handle_error_pfn). api.rst 7.34 names this very
 * case, "a valid memslot but no backing VMA", as one that fills memory_fault;
 * whether the kernel annotates it (exit_reason KVM_EXIT_MEMORY_FAULT) varies, so
 * the fields are checked only when it does (they are valid iff it does).
 */
#include <sys/mman.h>
#include <sys/syscall.h>

#include "memfault.h"

#define SLOT		PM_SLOT_FIRST_FREE
#define GPA		PM_TEST_GPA
#define SIZE		(16 * MF_PAGE)
#define HOST_WORD	0x5345435245544c59ULL

FIXTURE(mfault_hva) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	void *hva;
	int fd;
};

FIXTURE_VARIANT(mfault_hva) { struct pm_need need; };
FIXTURE_VARIANT_ADD(mfault_hva, default_vm) { .need = { "kvm", 0 } };
FIXTURE_VARIANT_ADD(mfault_hva, swprot_vm) { .need = { "sw-protected", 0 } };

FIXTURE_SETUP(mfault_hva)
{
	self->hva = MAP_FAILED;
	self->fd = -1;
	PM_SETUP_VM(&variant->need, self->p, self->vm);
	self->vm->timeout_ms = 5000;
}

FIXTURE_TEARDOWN(mfault_hva)
{
	pm_vm_free(self->vm);
	if (self->hva != MAP_FAILED)
		munmap(self->hva, SIZE);
	if (self->fd >= 0)
		close(self->fd);
}

static PM_GUEST void guest_read_write(uint64_t gpa, uint64_t a1, uint64_t a2)
{
	(void)a1, (void)a2;
	GUEST_SYNC_VALS(1, pm_guest_read64((void *)gpa), 0, 0);
	pm_guest_write64((void *)gpa, ~HOST_WORD);
	GUEST_SYNC(2);
}

/*
 * userspace_addr covered by a PROT_NONE mapping (a VMA the guest may not use;
 * unlike a hole, nothing else can be mapped there meanwhile): GUP refuses it
 * (mm/gup.c check_vma_flags), hva_to_pfn finds a VMA without VM_READ
 * (vma_is_valid false) and returns KVM_PFN_ERR_FAULT: KVM_RUN -1/EFAULT on the
 * guest's first read, never an MMIO exit (that is for GPAs without a memslot).
 */
TEST_F(mfault_hva, unbacked_hva_efault)
{
	struct pm_vcpu *v;
	struct pm_exit e;
	char why[400];

	self->hva = mmap(NULL, SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->hva);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT, GPA, SIZE, self->hva, -1, 0, PM_PAGE_4K));
	v = pm_vcpu_add(self->vm, guest_read_write, GPA, 0, 0);
	ASSERT_NE(NULL, v);
	pm_vcpu_run(v, &e);
	mf_describe(v, &e, why, sizeof(why));
	MF_VERDICT(true, mf_is_fault_exit(v, &e, GPA, 0, false),
		   e.result == PM_RUN_EXIT && e.exit_reason == KVM_EXIT_MMIO &&
		   v->run->mmio.phys_addr == GPA,
		   "want KVM_RUN -1/EFAULT (memory_fault {0, 0x%llx, 4096} if annotated); got %s",
		   (unsigned long long)GPA, why);
}

/*
 * userspace_addr backed by memfd_secret(2) memory: secretmem pages are removed
 * from the kernel's direct map and GUP refuses them by design (mm/gup.c
 * check_vma_flags: vma_is_secretmem -> -EFAULT; gup_fast_folio_allowed), so
 * hva_to_pfn gets KVM_PFN_ERR_FAULT and the guest cannot map them: KVM_RUN
 * -1/EFAULT on the first read, the guest never sees the secret.
 */
TEST_F(mfault_hva, secretmem_hva_efault)
{
	const struct pm_caps *c = pm_caps();
	struct pm_vcpu *v;
	struct pm_exit e;
	char why[400];

	if (!c->secretmem)
		SKIP(return, "%s", c->secretmem_reason);
	self->fd = syscall(SYS_memfd_secret, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, SIZE));
	self->hva = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->hva);
	*(uint64_t *)self->hva = HOST_WORD;
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT, GPA, SIZE, self->hva, -1, 0, PM_PAGE_4K));
	v = pm_vcpu_add(self->vm, guest_read_write, GPA, 0, 0);
	ASSERT_NE(NULL, v);
	pm_vcpu_run(v, &e);
	mf_describe(v, &e, why, sizeof(why));
	MF_VERDICT(true, mf_is_fault_exit(v, &e, GPA, 0, false),
		   e.result == PM_RUN_SYNC && e.rep.vals[1] == HOST_WORD,
		   "want KVM_RUN -1/EFAULT (memory_fault {0, 0x%llx, 4096} if annotated); got %s%s",
		   (unsigned long long)GPA, why,
		   e.result == PM_RUN_SYNC && e.rep.vals[1] == HOST_WORD ? " (the guest read the secret)" : "");
}

TEST_HARNESS_MAIN
