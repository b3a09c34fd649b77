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

#define PAGES 2

FIXTURE(cap_memslots) {
	struct pm_vm *vm;
	long nr;
	uint64_t *hva;
};

FIXTURE_VARIANT(cap_memslots) {
	struct cap_type t;
};

FIXTURE_VARIANT_ADD(cap_memslots, default_vm) {
	.t = { KVM_X86_DEFAULT_VM, "KVM_X86_DEFAULT_VM", true } };
FIXTURE_VARIANT_ADD(cap_memslots, swprot_vm) {
	.t = { KVM_X86_SW_PROTECTED_VM, "KVM_X86_SW_PROTECTED_VM", true } };

FIXTURE_SETUP(cap_memslots)
{
	CAP_REQUIRE_KVM();
	CAP_REQUIRE_TYPE(&variant->t);
	self->vm = cap_vm(_metadata, &variant->t);
	ASSERT_NE(NULL, self->vm);
	self->nr = pm_check_cap(self->vm->fd, KVM_CAP_NR_MEMSLOTS);
	self->hva = mmap(NULL, PAGES * CAP_PAGE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->hva);
	for (uint64_t i = 0; i < PAGES; i++)
		self->hva[i * CAP_PAGE / 8] = cap_host_word(i);
}

FIXTURE_TEARDOWN(cap_memslots)
{
	pm_vm_free(self->vm);
	if (self->hva && self->hva != MAP_FAILED)
		munmap(self->hva, PAGES * CAP_PAGE);
}

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
	TH_LOG("KVM_CAP_NR_MEMSLOTS=%ld on %s", self->nr, variant->t.name);
	ASSERT_LT(0, self->nr);
	ret = pm_set_region(self->vm, self->nr - 1, 0, CAP_GPA, PAGES * CAP_PAGE, self->hva);
	if (ret)
		TH_LOG("slot id %ld (KVM_CAP_NR_MEMSLOTS - 1): %s", self->nr - 1, strerrorname_np(errno));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, pm_vm_map(self->vm, CAP_GPA, PAGES * CAP_PAGE, PM_PAGE_4K));
	v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA, PAGES, 0);
	ASSERT_NE(NULL, v);
	ASSERT_GUEST_ROUND_TRIP(v, self->hva, PAGES);
	ASSERT_EQ(0, pm_set_region(self->vm, self->nr - 1, 0, CAP_GPA, 0, self->hva));
	for (size_t i = 0; i < sizeof(beyond) / sizeof(beyond[0]); i++) {
		long id = beyond[i] ? beyond[i] : self->nr;

		if (id < self->nr)
			continue;
		ASSERT_ERRNO(EINVAL, pm_set_region(self->vm, id, 0, CAP_GPA + 2 * PAGES * CAP_PAGE,
						   PAGES * CAP_PAGE, self->hva));
	}
}

TEST_HARNESS_MAIN
