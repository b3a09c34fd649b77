// SPDX-License-Identifier: GPL-2.0
/*
 * A guest_memfd memslot is deleted while vCPUs keep accessing it. Deleting a
 * slot zaps the guest's mappings of it (KVM_MEMSLOT_INVALID, then the slot is
 * gone: virt/kvm/kvm_main.c kvm_set_memslot), so the next access faults on a
 * GPA without a memslot, and what that fault gives is ABI:
 *  - shared access (default VM): emulated MMIO. arch/x86/kvm/mmu/mmu.c
 *    kvm_handle_noslot_fault -> RET_PF_EMULATE; with no in-kernel device
 *    KVM_RUN returns 0 with KVM_EXIT_MMIO, mmio.phys_addr the accessed GPA,
 *    len the access size, is_write, data the stored bytes; a read completes
 *    with the data userspace puts in mmio.data at the next KVM_RUN (api.rst
 *    5, "KVM_EXIT_MMIO" and the note on completing operations);
 *  - private access (PRIVATE attribute): kvm_handle_noslot_fault ->
 *    kvm_mmu_prepare_memory_fault_exit, KVM_RUN returns -1/EFAULT with
 *    KVM_EXIT_MEMORY_FAULT, flags KVM_MEMORY_EXIT_FLAG_PRIVATE, gpa the 4K
 *    page, size 4096 (observed upstream behaviour: private_mem_kvm_exits_test.c
 *    test_private_access_memslot_deleted; api.rst "KVM_EXIT_MEMORY_FAULT").
 * Deleting a slot unbinds the guest_memfd range but does not free it
 * (guest_memfd.c kvm_gmem_unbind only clears the binding): re-adding the
 * slot, the faulting access retries and the guest sees its data again.
 * Two vCPUs spin on different pages at a non-page-aligned address, so the
 * exact GPA of each exit is checked.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inval.h"
#include "pm_test.h"

#define GMEM_SIZE	PM_PAGE_2M
#define GMEM_GPA	PM_TEST_GPA
#define SLOT		PM_SLOT_FIRST_FREE
#define NVCPUS		2
#define WAIT_MS		1000		/* hang bound, never reached when correct */
#define MIN_SPINS	20		/* accesses each vCPU made before the deletion */
#define MARKER		0x4d4d494f44415441ULL	/* what the host answers an MMIO read with */

PM_GUEST_CODE_BEGIN

static PM_GUEST uint64_t target_gpa(uint64_t v)
{
	return GMEM_GPA + (1 + 2 * v) * INVAL_PAGE + 0x238;
}

static PM_GUEST uint64_t pattern(uint64_t v)
{
	return 0x44454c4554450000ULL | (v + 1);
}

/* Read until the value changes (an MMIO answer) or the host says stop. */
static PM_GUEST void guest_read_spin(uint64_t v, uint64_t a1, uint64_t a2)
{
	struct inval_ctl *ctl = (struct inval_ctl *)INVAL_CTL_GPA;
	uint64_t *p = (uint64_t *)target_gpa(v), val, n = 0;

	(void)a1, (void)a2;
	pm_guest_write64(p, pattern(v));
	GUEST_SYNC(1);
	do {
		val = pm_guest_read64(p);
		inval_store(&ctl->vcpu[v].spins, ++n);
	} while (val == pattern(v) && !inval_load(&ctl->stop));
	GUEST_SYNC_VALS(2, val, pm_guest_read64(p), 0);
}

/* Write a counter until the host says stop; then read back what memory holds. */
static PM_GUEST void guest_write_spin(uint64_t v, uint64_t a1, uint64_t a2)
{
	struct inval_ctl *ctl = (struct inval_ctl *)INVAL_CTL_GPA;
	uint64_t *p = (uint64_t *)target_gpa(v), c;

	(void)a1, (void)a2;
	GUEST_SYNC(1);
	for (c = 1;; c++) {
		pm_guest_write64(p, pattern(v) + (c << 20));
		inval_store(&ctl->vcpu[v].spins, c);
		if (inval_load(&ctl->stop))
			break;
	}
	GUEST_SYNC_VALS(2, pattern(v) + (c << 20), pm_guest_read64(p), 0);
}

PM_GUEST_CODE_END

FIXTURE(inval_delete) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	int fd;
	uint64_t *host;		/* gmem mapping, when the flags allow one */
	struct inval_ctl *ctl;
	struct inval_crew crew;
};

FIXTURE_VARIANT(inval_delete) {
	struct pm_need need;
	bool private;		/* GPA range set KVM_MEMORY_ATTRIBUTE_PRIVATE */
};

FIXTURE_VARIANT_ADD(inval_delete, default_vm) {
	.need = { "sw-default", PM_MMAP_SHARED }, .private = false };
FIXTURE_VARIANT_ADD(inval_delete, swprot_vm_private) {
	.need = { "sw-protected", 0 }, .private = true };
PM_CVM_VARIANTS(inval_delete, , 0, .private = true);

FIXTURE_SETUP(inval_delete)
{
	self->fd = -1;
	self->host = MAP_FAILED;
	self->ctl = NULL;
	inval_crew_init(&self->crew);
	PM_SETUP_VM(&variant->need, self->p, self->vm);
	self->vm->timeout_ms = WAIT_MS;
	self->fd = pm_platform_private_mem(self->p, self->vm, GMEM_SIZE, variant->need.gmem_flags);
	ASSERT_LE(0, self->fd);
	if (variant->need.gmem_flags & GUEST_MEMFD_FLAG_MMAP) {
		self->host = mmap(NULL, GMEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
		ASSERT_NE(MAP_FAILED, self->host);
	}
	/* With a host mapping, it is the slot's userspace_addr: one memory, two views. */
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT, GMEM_GPA, GMEM_SIZE,
				      self->host == MAP_FAILED ? NULL : self->host,
				      self->fd, 0, PM_PAGE_4K));
	if (variant->private)
		ASSERT_EQ(0, pm_platform_convert(self->p, self->vm, GMEM_GPA, GMEM_SIZE, true));
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, INVAL_CTL_SLOT, INVAL_CTL_GPA, INVAL_PAGE,
				      NULL, -1, 0, PM_PAGE_4K));
	self->ctl = pm_gpa_to_hva(self->vm, INVAL_CTL_GPA, INVAL_PAGE);
	ASSERT_NE(NULL, self->ctl);
}

FIXTURE_TEARDOWN(inval_delete)
{
	if (self->ctl)
		inval_store(&self->ctl->stop, 1);
	inval_crew_stop(&self->crew);
	pm_vm_free(self->vm);
	if (self->host != MAP_FAILED)
		munmap(self->host, GMEM_SIZE);
	if (self->fd >= 0)
		close(self->fd);
}

#define EXPECT_RESULT(v, want) do {							\
	bool __ok = inval_crew_wait(&self->crew, (v), WAIT_MS);			\
	if (!__ok)									\
		TH_LOG("vCPU %d: still running after %d ms", (v), WAIT_MS);		\
	ASSERT_TRUE(__ok);								\
	if (self->crew.r[v].last.result != (want))					\
		TH_LOG("vCPU %d run: %s", (v), self->crew.r[v].last.msg);		\
	ASSERT_EQ((want), self->crew.r[v].last.result);				\
} while (0)

#define EXPECT_SYNC(v, stage) do {							\
	EXPECT_RESULT((v), PM_RUN_SYNC);						\
	ASSERT_EQ((uint64_t)(stage), self->crew.r[v].last.rep.vals[0]);		\
} while (0)

/*
 * Start the vCPUs, let each access its page MIN_SPINS times, delete the slot
 * while they run, and check each vCPU's exit; then re-add the slot.
 */
static void delete_under_access(struct __test_metadata *_metadata,
				FIXTURE_DATA(inval_delete) *self,
				const FIXTURE_VARIANT(inval_delete) *variant,
				void (*guest)(uint64_t, uint64_t, uint64_t), bool write)
{
	struct pm_vcpu *vcpus[NVCPUS];
	struct timespec d;

	for (int v = 0; v < NVCPUS; v++) {
		vcpus[v] = pm_vcpu_add(self->vm, guest, v, 0, 0);
		ASSERT_NE(NULL, vcpus[v]);
	}
	ASSERT_EQ(0, inval_crew_start(&self->crew, vcpus, NVCPUS));
	for (int v = 0; v < NVCPUS; v++) {
		EXPECT_SYNC(v, 1);
		inval_crew_resume(&self->crew, v);
	}
	d = inval_deadline(WAIT_MS);
	for (int v = 0; v < NVCPUS; v++)
		while (__atomic_load_n(&self->ctl->vcpu[v].spins, __ATOMIC_ACQUIRE) < MIN_SPINS) {
			if (inval_crew_exited(&self->crew, v) || inval_past(&d))
				EXPECT_SYNC(v, 0);
			inval_nap();
		}

	ASSERT_EQ(0, pm_vm_delete_slot(self->vm, SLOT));

	for (int v = 0; v < NVCPUS; v++) {
		struct kvm_run *run = self->crew.r[v].vcpu->run;
		const struct pm_exit *e = &self->crew.r[v].last;

		if (!variant->private) {
			EXPECT_RESULT(v, PM_RUN_EXIT);
			ASSERT_EQ(KVM_EXIT_MMIO, e->exit_reason);
			ASSERT_EQ(target_gpa(v), run->mmio.phys_addr);
			ASSERT_EQ(8, run->mmio.len);
			ASSERT_EQ(write, run->mmio.is_write);
		} else {
			EXPECT_RESULT(v, PM_RUN_ERROR);
			ASSERT_EQ(EFAULT, e->err);
			ASSERT_EQ(KVM_EXIT_MEMORY_FAULT, e->exit_reason);
			ASSERT_EQ(KVM_MEMORY_EXIT_FLAG_PRIVATE, run->memory_fault.flags);
			ASSERT_EQ(target_gpa(v) & ~(INVAL_PAGE - 1), run->memory_fault.gpa);
			ASSERT_EQ(INVAL_PAGE, run->memory_fault.size);
		}
	}

	/* Same gmem range, same userspace_addr; the guest page tables are still there. */
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT, GMEM_GPA, GMEM_SIZE,
				      self->host == MAP_FAILED ? NULL : self->host, self->fd, 0, 0));
	inval_store(&self->ctl->stop, 1);
}

TEST_F(inval_delete, read_after_delete_exits_then_readd_restores)
{
	delete_under_access(_metadata, self, variant, guest_read_spin, false);
	for (int v = 0; v < NVCPUS; v++) {
		struct kvm_run *run = self->crew.r[v].vcpu->run;
		uint64_t marker = MARKER;

		if (!variant->private)
			memcpy(run->mmio.data, &marker, sizeof(marker));
		inval_crew_resume(&self->crew, v);
		EXPECT_SYNC(v, 2);
		/* Emulated MMIO completes with userspace's data; a memory fault is retried. */
		ASSERT_EQ(variant->private ? pattern(v) : MARKER, self->crew.r[v].last.rep.vals[1]);
		/* The re-added slot serves what the guest wrote before the deletion. */
		ASSERT_EQ(pattern(v), self->crew.r[v].last.rep.vals[2]);
		if (self->host != MAP_FAILED)
			ASSERT_EQ(pattern(v), self->host[(target_gpa(v) - GMEM_GPA) / 8]);
	}
}

TEST_F(inval_delete, write_after_delete_exits_then_readd_restores)
{
	delete_under_access(_metadata, self, variant, guest_write_spin, true);
	for (int v = 0; v < NVCPUS; v++) {
		struct kvm_run *run = self->crew.r[v].vcpu->run;
		uint64_t mmio_val = 0, last;

		if (!variant->private)
			memcpy(&mmio_val, run->mmio.data, sizeof(mmio_val));
		inval_crew_resume(&self->crew, v);
		EXPECT_SYNC(v, 2);
		last = self->crew.r[v].last.rep.vals[1];	/* the value of the exiting write */
		if (!variant->private) {
			/* The MMIO exit carried the store; it never reached the gmem... */
			ASSERT_EQ(last, mmio_val);
			/* ...which still holds the store before it, kept across the deletion. */
			ASSERT_EQ(last - (1ULL << 20), self->crew.r[v].last.rep.vals[2]);
			ASSERT_EQ(last - (1ULL << 20), self->host[(target_gpa(v) - GMEM_GPA) / 8]);
		} else {
			/* The faulting store is retried into the re-added slot. */
			ASSERT_EQ(last, self->crew.r[v].last.rep.vals[2]);
		}
	}
}

TEST_HARNESS_MAIN
