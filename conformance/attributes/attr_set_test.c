// SPDX-License-Identifier: GPL-2.0
/*
 * Valid KVM_SET_MEMORY_ATTRIBUTES calls (api.rst 4.141). Attributes are per gfn
 * of the VM, not per memslot: virt/kvm/kvm_main.c kvm_vm_set_mem_attributes
 * stores them in kvm->mem_attr_array for [address, address + size) whether or
 * not memslots cover the range, and whatever backs them (upstream
 * private_mem_kvm_exits_test.c sets PRIVATE on a slot without guest_memfd and
 * on a range whose slot is then deleted; private_mem_conversions_test.c
 * converts guest_memfd ranges both ways). Setting what the range already has
 * returns 0 at once (kvm_range_has_memory_attributes). No gfn bound is checked.
 * The effect is observable on a software-protected VM: a guest access to a
 * PRIVATE gfn of a slot without guest_memfd exits KVM_EXIT_MEMORY_FAULT
 * (arch/x86/kvm/mmu/mmu.c: sw-protected faults take PRIVATE from the
 * attributes; kvm_faultin_pfn_private refuses a slot that cannot be private).
 */
#include "attributes.h"

#define SLOT_SIZE	PM_PAGE_2M
#define GUEST_PAGES	4
#define LARGE		(64ULL << 20)	/* 16384 gfns: many xarray nodes, quick under TCG */
#define HUGE		(1ULL << 40)

AT_FIXTURE(attr_set);

/* PRIVATE on GPAs no memslot covers, then back to shared. */
TEST_F(attr_set, no_memslot_private)
{
	AT_REQUIRE_PRIVATE(self);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, 16 * AT_PAGE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA + 4 * AT_PAGE, AT_PAGE, 0, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, 16 * AT_PAGE, 0, 0);
}

/* A guest_memfd slot: all of it, a part, a range past its end, and back. */
TEST_F(attr_set, gmem_slot_private)
{
	AT_REQUIRE_PRIVATE(self);
	self->fd = pm_platform_private_mem(self->p, self->vm, SLOT_SIZE, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, pm_platform_bind(self->p, self->vm, AT_SLOT, AT_SLOT_GPA, SLOT_SIZE,
				      self->fd, 0, PM_PAGE_4K));
	ASSERT_ATTR(self->vm->fd, 0, AT_SLOT_GPA, SLOT_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_SLOT_GPA + 3 * AT_PAGE, 5 * AT_PAGE, 0, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_SLOT_GPA + 3 * AT_PAGE, 5 * AT_PAGE,
		    KVM_MEMORY_ATTRIBUTE_PRIVATE, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_SLOT_GPA + SLOT_SIZE - AT_PAGE, 4 * AT_PAGE,
		    KVM_MEMORY_ATTRIBUTE_PRIVATE, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_SLOT_GPA, SLOT_SIZE + 3 * AT_PAGE, 0, 0);
}

/* A plain slot (no guest_memfd) takes PRIVATE too: only a guest access fails. */
TEST_F(attr_set, plain_slot_private)
{
	AT_REQUIRE_PRIVATE(self);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, AT_SLOT, AT_SLOT_GPA, SLOT_SIZE, NULL, -1, 0,
				      PM_PAGE_4K));
	ASSERT_ATTR(self->vm->fd, 0, AT_SLOT_GPA, SLOT_SIZE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_SLOT_GPA, SLOT_SIZE, 0, 0);
}

/* The same call again, and a sub-range with what it already has: 0 each time. */
TEST_F(attr_set, repeated_identical)
{
	const uint64_t vals[] = { self->vm_cap, 0, self->vm_cap, 0 };

	for (unsigned int i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		for (int n = 0; n < 3; n++)
			ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, 8 * AT_PAGE, vals[i], 0);
		ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA + 2 * AT_PAGE, 2 * AT_PAGE, vals[i], 0);
	}
}

/*
 * The VM's attributes on 64 MiB and back; then 0 on 1 TiB that has none (no
 * per-gfn work: the early exit). On a VM without attributes both are 0.
 */
TEST_F(attr_set, large_range)
{
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, HUGE, 0, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, LARGE, self->vm_cap, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA + LARGE / 2, AT_PAGE, 0, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, LARGE, 0, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, HUGE, 0, 0);
}

/*
 * GPAs far beyond any guest physical address width: 6.8-6.18 check no gfn
 * bound, so the last page below 2^64 and 2^63 are accepted. Recorded, not
 * required: a kernel that bounds gfns may refuse them, only with EINVAL.
 */
TEST_F(attr_set, beyond_max_gfn)
{
	const uint64_t at[] = { -2 * AT_PAGE, 1ULL << 63, 1ULL << 52 };

	for (unsigned int i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct at_result r = at_set(self->vm->fd, at[i], AT_PAGE, self->vm_cap, 0);

		TH_LOG("address 0x%llx: %ld/%s", (unsigned long long)at[i], r.ret,
		       r.err ? strerrorname_np(r.err) : "0");
		ASSERT_FALSE(r.written);
		if (r.ret == 0) {
			ASSERT_ATTR(self->vm->fd, 0, at[i], AT_PAGE, 0, 0);
		} else {
			ASSERT_EQ(-1, r.ret);
			ASSERT_EQ(EINVAL, r.err);
		}
	}
}

PM_GUEST_CODE_BEGIN

/* Report each page's first word, in order. */
static PM_GUEST void guest_read_pages(uint64_t gpa, uint64_t pages, uint64_t a2)
{
	(void)a2;
	for (uint64_t i = 0; i < pages; i++)
		GUEST_SYNC_VALS(i + 1, pm_guest_read64((void *)(gpa + i * AT_PAGE)), 0, 0);
}

PM_GUEST_CODE_END

static uint64_t marker(uint64_t i)
{
	return 0x4154545250414745ULL + i;
}

/*
 * PRIVATE on page 1 of a plain slot: the guest reads page 0, then its read of
 * page 1 fails KVM_RUN with -1/EFAULT and KVM_EXIT_MEMORY_FAULT {flags PRIVATE,
 * gpa page 1, size 4096} (private_mem_kvm_exits_test.c
 * test_private_access_memslot_not_private); back to 0, the same vCPU resumes,
 * reads page 1 and the untouched pages after it.
 */
TEST_F(attr_set, private_plain_slot_faults)
{
	const uint64_t page1 = AT_SLOT_GPA + AT_PAGE;
	struct pm_vcpu *v;
	struct pm_exit e;
	uint64_t *host;

	AT_REQUIRE_PRIVATE(self);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, AT_SLOT, AT_SLOT_GPA, SLOT_SIZE, NULL, -1, 0,
				      PM_PAGE_4K));
	host = pm_gpa_to_hva(self->vm, AT_SLOT_GPA, GUEST_PAGES * AT_PAGE);
	ASSERT_NE(NULL, host);
	for (int i = 0; i < GUEST_PAGES; i++)
		host[i * AT_PAGE / 8] = marker(i);
	ASSERT_ATTR(self->vm->fd, 0, page1, AT_PAGE, KVM_MEMORY_ATTRIBUTE_PRIVATE, 0);
	v = pm_vcpu_add(self->vm, guest_read_pages, AT_SLOT_GPA, GUEST_PAGES, 0);
	ASSERT_NE(NULL, v);

	pm_vcpu_run(v, &e);
	if (e.result != PM_RUN_SYNC || e.rep.vals[0] != 1)
		TH_LOG("page 0: %s", e.msg);
	ASSERT_EQ(PM_RUN_SYNC, e.result);
	ASSERT_EQ(1, e.rep.vals[0]);
	ASSERT_EQ(marker(0), e.rep.vals[1]);
	pm_vcpu_run(v, &e);
	if (e.result != PM_RUN_ERROR || e.err != EFAULT || e.exit_reason != KVM_EXIT_MEMORY_FAULT)
		TH_LOG("reading a PRIVATE page of a plain slot: %s", e.msg);
	ASSERT_EQ(PM_RUN_ERROR, e.result);
	ASSERT_EQ(EFAULT, e.err);
	ASSERT_EQ(KVM_EXIT_MEMORY_FAULT, e.exit_reason);
	EXPECT_EQ(KVM_MEMORY_EXIT_FLAG_PRIVATE, v->run->memory_fault.flags);
	EXPECT_EQ(page1, v->run->memory_fault.gpa);
	EXPECT_EQ(AT_PAGE, v->run->memory_fault.size);

	ASSERT_ATTR(self->vm->fd, 0, page1, AT_PAGE, 0, 0);
	for (int i = 1; i < GUEST_PAGES; i++) {
		pm_vcpu_run(v, &e);
		if (e.result != PM_RUN_SYNC || e.rep.vals[0] != (uint64_t)i + 1)
			TH_LOG("page %d after reverting: %s", i, e.msg);
		ASSERT_EQ(PM_RUN_SYNC, e.result);
		ASSERT_EQ((uint64_t)i + 1, e.rep.vals[0]);
		ASSERT_EQ(marker(i), e.rep.vals[1]);
	}
	ASSERT_GUEST_DONE(v);
}

TEST_HARNESS_MAIN
