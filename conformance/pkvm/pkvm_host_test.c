// SPDX-License-Identifier: GPL-2.0
/*
 * Host user access to a protected VM's memory (pkvm.rst, "the host cannot access
 * the guest's memory"): a page the guest owns faults on every access kind, a page
 * it shares is the host's to read and write, and unsharing takes it back.
 */
#include "pkvm.h"

FIXTURE_SETUP(pkvm)
{
	PK_SETUP(0);
}

FIXTURE_TEARDOWN(pkvm)
{
	pk_teardown(self);
}

TEST_F(pkvm, private_page_read_faults)
{
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	ASSERT_HOST_FAULT(self, self->host + PK_PRIV * PK_PAGE, false);
}

TEST_F(pkvm, private_page_write_faults)
{
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	ASSERT_HOST_FAULT(self, self->host + PK_PRIV * PK_PAGE, true);
}

/* The guest took only what it touched: the host keeps the rest. */
TEST_F(pkvm, untouched_page_stays_host_accessible)
{
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	ASSERT_HOST_NO_FAULT(self->host + PK_UNTOUCHED * PK_PAGE, false);
	ASSERT_HOST_NO_FAULT(self->host + PK_UNTOUCHED * PK_PAGE, true);
}

TEST_F(pkvm, shared_page_reaches_both_ways)
{
	uint64_t *shared = (uint64_t *)(self->host + PK_SHARED * PK_PAGE);

	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	ASSERT_EQ(PK_GUEST_PAT(PK_SHARED), shared[0]);
	shared[1] = PK_HOST_PAT;
	/* The guest asserts it reads the host's word before unsharing. */
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_UNSHARED);
}

TEST_F(pkvm, unshared_page_faults_again)
{
	uint64_t *shared = (uint64_t *)(self->host + PK_SHARED * PK_PAGE);

	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	shared[1] = PK_HOST_PAT;
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_UNSHARED);
	ASSERT_HOST_FAULT(self, self->host + PK_SHARED * PK_PAGE, false);
	ASSERT_HOST_FAULT(self, self->host + PK_SHARED * PK_PAGE, true);
}

TEST_HARNESS_MAIN
