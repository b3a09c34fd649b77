// SPDX-License-Identifier: GPL-2.0
/*
 * The slot field: bits 0-15 are the slot id, "less than the maximum number of
 * user memory slots", KVM_CAP_NR_MEMSLOTS; bits 16-31 the address space, less
 * than KVM_CAP_MULTI_ADDRESS_SPACE where that exists, else 0 (api.rst 4.35).
 * kvm_vm_ioctl_set_memory_region() rejects (u16)slot >= KVM_USER_MEM_SLOTS,
 * kvm_set_memory_region() an as_id >= kvm_arch_nr_memslot_as_ids(): EINVAL.
 * Ids from KVM_USER_MEM_SLOTS up are KVM's internal slots, never userspace's.
 * Only the ids at the edge are used: creating all 32k slots would be slow.
 */
#include "memslot.h"

MS_FIXTURE(memslot_limits, 4, PM_GMEM_VM_VARIANTS);

static long nr_memslots(struct __test_metadata *_metadata, struct pm_vm *vm)
{
	long nr = pm_check_cap(vm->fd, KVM_CAP_NR_MEMSLOTS);

	if (nr <= PM_SLOT_FIRST_FREE || nr > 0xffff)
		TH_LOG("KVM_CAP_NR_MEMSLOTS=%ld", nr);
	return nr;
}

/* The last id KVM_CAP_NR_MEMSLOTS allows binds a guest_memfd and deletes. */
TEST_F(memslot_limits, last_user_slot_id_accepted)
{
	long nr = nr_memslots(_metadata, self->vm);

	ASSERT_LT(PM_SLOT_FIRST_FREE, nr);
	ASSERT_EQ(0, ms_bind(self, nr - 1, MS_GPA, self->size, 0));
	ASSERT_EQ(0, ms_delete(self, nr - 1));
}

/* Id KVM_CAP_NR_MEMSLOTS, the top internal id 0x7fff and 0xffff: EINVAL. */
TEST_F(memslot_limits, slot_id_nr_memslots_einval)
{
	long nr = nr_memslots(_metadata, self->vm);

	ASSERT_LT(PM_SLOT_FIRST_FREE, nr);
	ASSERT_ERRNO(EINVAL, ms_bind(self, nr, MS_GPA, self->size, 0));
	ASSERT_ERRNO(EINVAL, ms_bind(self, 0x7fff, MS_GPA, self->size, 0));
	ASSERT_ERRNO(EINVAL, ms_bind(self, 0xffff, MS_GPA, self->size, 0));
	ASSERT_ERRNO(EINVAL, pm_set_region(self->vm, nr, 0, MS_GPA, self->size, self->hva));
}

/*
 * as_id = the number of address spaces (KVM_CAP_MULTI_ADDRESS_SPACE on the VM;
 * 0 when the kernel has a single one, so 1) and as_id 0xffff: EINVAL, for gmem
 * and plain slots. x86 VMs with private memory have one, others two (SMM).
 */
TEST_F(memslot_limits, address_space_id_einval)
{
	long nas = pm_check_cap(self->vm->fd, KVM_CAP_MULTI_ADDRESS_SPACE);
	uint32_t over = (uint32_t)(nas > 0 ? nas : 1) << 16 | MS_SLOT;

	ASSERT_ERRNO(EINVAL, ms_bind(self, over, MS_GPA, self->size, 0));
	ASSERT_ERRNO(EINVAL, ms_bind(self, 0xffffu << 16 | MS_SLOT, MS_GPA, self->size, 0));
	ASSERT_ERRNO(EINVAL, pm_set_region(self->vm, over, 0, MS_GPA, self->size, self->hva));
	ASSERT_EQ(0, ms_bind(self, MS_SLOT, MS_GPA, self->size, 0));
}

TEST_HARNESS_MAIN
