// SPDX-License-Identifier: GPL-2.0
/*
 * Memslots of a protected VM after its first run (pkvm.rst): the host may not
 * change what the guest's memory is (deleting a slot, or adding one KVM would
 * make read-only or track dirty), -1/EPERM; adding ordinary memory still works.
 */
#include "pkvm.h"

FIXTURE_SETUP(pkvm)
{
	PK_SETUP(PK_GPA2);
}

FIXTURE_TEARDOWN(pkvm)
{
	pk_teardown(self);
}

static void *slot2_mem(void)
{
	void *m = mmap(NULL, PK_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return m == MAP_FAILED ? NULL : m;
}

TEST_F(pkvm, delete_after_first_run_eperm)
{
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	errno = 0;
	ASSERT_EQ(-1, pm_set_region(self->vm, PK_SLOT, 0, PK_GPA, 0, self->host));
	ASSERT_EQ(EPERM, errno);
}

TEST_F(pkvm, readonly_slot_after_first_run_eperm)
{
	void *m = slot2_mem();

	ASSERT_NE(NULL, m);
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	errno = 0;
	ASSERT_EQ(-1, pm_set_region(self->vm, PK_SLOT2, KVM_MEM_READONLY, PK_GPA2, PK_PAGE, m));
	ASSERT_EQ(EPERM, errno);
	munmap(m, PK_PAGE);
}

TEST_F(pkvm, log_dirty_slot_after_first_run_eperm)
{
	void *m = slot2_mem();

	ASSERT_NE(NULL, m);
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	errno = 0;
	ASSERT_EQ(-1, pm_set_region(self->vm, PK_SLOT2, KVM_MEM_LOG_DIRTY_PAGES, PK_GPA2, PK_PAGE, m));
	ASSERT_EQ(EPERM, errno);
	munmap(m, PK_PAGE);
}

/* A new plain slot is accepted and serves the guest, which owns it from then on. */
TEST_F(pkvm, new_slot_after_first_run_serves_guest)
{
	void *m = slot2_mem();
	struct pm_exit e;

	ASSERT_NE(NULL, m);
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	((uint64_t *)(self->host + PK_SHARED * PK_PAGE))[1] = PK_HOST_PAT;
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_UNSHARED);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, PK_SLOT2, PK_GPA2, PK_PAGE, m, -1, 0, 0));
	ASSERT_EQ(PM_RUN_SYNC, pm_vcpu_run(self->vcpu, &e));
	ASSERT_EQ(PK_STAGE_SLOT2, e.rep.vals[0]);
	ASSERT_EQ(PK_GUEST_PAT(99), e.rep.vals[1]);
	ASSERT_HOST_FAULT(self, (uint8_t *)m, false);
	ASSERT_GUEST_DONE(self->vcpu);
}

TEST_HARNESS_MAIN
