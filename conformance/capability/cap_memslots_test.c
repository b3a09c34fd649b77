// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CAP_NR_MEMSLOTS (api.rst 4.35 KVM_SET_USER_MEMORY_REGION: the slot id
 * "must be less than the maximum number of user memslots supported per VM",
 * which KVM_CAP_NR_MEMSLOTS returns). kvm_main.c: the capability answers
 * KVM_USER_MEM_SLOTS on /dev/kvm and every VM; __kvm_set_memory_region refuses
 * id >= KVM_USER_MEM_SLOTS with -EINVAL (6.1-6.18 alike).
 *
 * Plain slots through KVM_SET_USER_MEMORY_REGION (v1) on anonymous memory, so the
 * row needs nothing but KVM and runs on every kernel; memslot_limits checks the
 * same bound with guest_memfd slots where a VM type has them.
 */
#include "capability.h"

#define PAGES CAP_PLAIN_PAGES

CAP_PLAIN_SLOT_FIXTURE(cap_memslots, KVM_CAP_NR_MEMSLOTS);

/*
 * The advertised count is exact: slot id N-1 (the last one it promises) creates a
 * memslot a guest reads and writes through, and deletes; id N, and 0x7fff and
 * 0xffff where they are >= N (the id is the low 16 bits of `slot`), are -1/EINVAL.
 */
TEST_F(cap_memslots, nr_memslots_exact)
{
	static const long beyond[] = { 0, 0x7fff, 0xffff };
	struct pm_vcpu *v;
	int ret;

	/* Every KVM since 2.6.x answers: 0 or an error would be a kernel without memslots. */
	TH_LOG("KVM_CAP_NR_MEMSLOTS=%ld on %s", self->cap, variant->t.name);
	ASSERT_LT(0, self->cap);
	ret = pm_set_region(self->vm, self->cap - 1, 0, CAP_GPA, PAGES * CAP_PAGE, self->hva);
	if (ret)
		TH_LOG("slot id %ld (KVM_CAP_NR_MEMSLOTS - 1): %s", self->cap - 1, strerrorname_np(errno));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, pm_vm_map(self->vm, CAP_GPA, PAGES * CAP_PAGE, PM_PAGE_4K));
	v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA, PAGES, 0);
	ASSERT_NE(NULL, v);
	ASSERT_GUEST_ROUND_TRIP(v, self->hva, PAGES);
	ASSERT_EQ(0, pm_set_region(self->vm, self->cap - 1, 0, CAP_GPA, 0, self->hva));
	for (size_t i = 0; i < sizeof(beyond) / sizeof(beyond[0]); i++) {
		long id = beyond[i] ? beyond[i] : self->cap;

		if (id < self->cap)
			continue;
		ASSERT_ERRNO(EINVAL, pm_set_region(self->vm, id, 0, CAP_GPA + 2 * PAGES * CAP_PAGE,
						   PAGES * CAP_PAGE, self->hva));
	}
}

TEST_HARNESS_MAIN
