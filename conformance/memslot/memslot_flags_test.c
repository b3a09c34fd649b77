// SPDX-License-Identifier: GPL-2.0
/*
 * Memslot flag validation. KVM_SET_USER_MEMORY_REGION (v1) takes only the
 * flags that need no field of the v2 struct; v2 adds KVM_MEM_GUEST_MEMFD,
 * which excludes dirty logging and read-only. Every other bit is rejected.
 * Valid sets follow api.rst 4.35/4.140 and kvm_main.c check_memory_region_flags()
 * plus KVM_SET_USER_MEMORY_REGION_V1_FLAGS in kvm_vm_ioctl(); upstream checks the
 * same in set_memory_region_test.c test_invalid_memory_region_flags().
 *
 * Each call but the flags is a valid slot, so EINVAL can only be the flags'.
 */
#include "memslot.h"

MS_FIXTURE(memslot_flags, 4, PM_GMEM_VM_VARIANTS);

/*
 * Flags a slot without guest_memfd takes on this VM: dirty logging always,
 * read-only where the VM reports KVM_CAP_READONLY_MEM (api.rst 4.35; x86 says
 * 0 for VMs with protected state: x86.c kvm_vm_ioctl_check_extension()).
 */
static uint32_t plain_valid_flags(struct pm_vm *vm)
{
	uint32_t valid = KVM_MEM_LOG_DIRTY_PAGES;

	if (pm_check_cap(vm->fd, KVM_CAP_READONLY_MEM) > 0)
		valid |= KVM_MEM_READONLY;
	return valid;
}

/* Expect `ret` from a slot call with flag bit `bit`; delete the slot on success. */
static bool flag_result_ok(struct __test_metadata *_metadata, struct pm_vm *vm,
			   const char *what, int bit, bool valid, int ret)
{
	if (valid ? ret == 0 : ret == -1 && errno == EINVAL) {
		if (ret == 0)
			pm_set_region(vm, MS_SLOT, 0, MS_GPA, 0, NULL);
		return true;
	}
	TH_LOG("%s flag bit %d (0x%x): expected %s, got %d/%s", what, bit, 1u << bit,
	       valid ? "success" : "-1/EINVAL", ret, ret ? strerrorname_np(errno) : "0");
	return false;
}

/* v1 has no guest_memfd field, so the flag that needs one is invalid there. */
TEST_F(memslot_flags, v1_gmem_flag_einval)
{
	ASSERT_ERRNO(EINVAL, pm_set_region(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA,
					   self->size, self->hva));
	/* The same slot without the flag is fine. */
	ASSERT_EQ(0, pm_set_region(self->vm, MS_SLOT, 0, MS_GPA, self->size, self->hva));
}

/* Each of bits 0..31 alone on v1: accepted iff LOG_DIRTY_PAGES, or READONLY with the cap. */
TEST_F(memslot_flags, v1_flag_bits_follow_caps)
{
	uint32_t valid = plain_valid_flags(self->vm);
	bool all = true;

	for (int bit = 0; bit < 32; bit++) {
		int ret = pm_set_region(self->vm, MS_SLOT, 1u << bit, MS_GPA, self->size, self->hva);

		all &= flag_result_ok(_metadata, self->vm, "v1", bit, valid & (1u << bit), ret);
	}
	ASSERT_TRUE(all);
}

/* The same on v2 for a slot without guest_memfd (bit 2 is the gmem rows' business). */
TEST_F(memslot_flags, v2_plain_flag_bits_follow_caps)
{
	uint32_t valid = plain_valid_flags(self->vm);
	bool all = true;

	for (int bit = 0; bit < 32; bit++) {
		int ret;

		if (1u << bit == KVM_MEM_GUEST_MEMFD)
			continue;
		ret = pm_set_region2(self->vm, MS_SLOT, 1u << bit, MS_GPA, self->size, self->hva,
				     -1, 0);
		all &= flag_result_ok(_metadata, self->vm, "v2", bit, valid & (1u << bit), ret);
	}
	ASSERT_TRUE(all);
}

/* GUEST_MEMFD plus any bit outside the known three: EINVAL; GUEST_MEMFD alone binds. */
TEST_F(memslot_flags, v2_gmem_unknown_flag_einval)
{
	bool all = true;

	for (int bit = 3; bit < 32; bit++) {
		int ret = pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD | 1u << bit, MS_GPA,
					 self->size, self->hva, self->gmem, 0);

		all &= flag_result_ok(_metadata, self->vm, "v2 gmem +", bit, false, ret);
	}
	ASSERT_TRUE(all);
	ASSERT_EQ(0, ms_bind(self, MS_SLOT, MS_GPA, self->size, 0));
}

/* "Dirty logging private memory is not currently supported" (check_memory_region_flags). */
TEST_F(memslot_flags, gmem_log_dirty_einval)
{
	ASSERT_ERRNO(EINVAL, pm_set_region2(self->vm, MS_SLOT,
					    KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES, MS_GPA,
					    self->size, self->hva, self->gmem, 0));
	ASSERT_EQ(0, ms_bind(self, MS_SLOT, MS_GPA, self->size, 0));
}

/*
 * "GUEST_MEMFD is incompatible with read-only memslots" (check_memory_region_flags;
 * set_memory_region_test.c in 6.12), whether or not the VM has READONLY_MEM.
 */
TEST_F(memslot_flags, gmem_readonly_einval)
{
	ASSERT_ERRNO(EINVAL, pm_set_region2(self->vm, MS_SLOT,
					    KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY, MS_GPA,
					    self->size, self->hva, self->gmem, 0));
	ASSERT_EQ(0, ms_bind(self, MS_SLOT, MS_GPA, self->size, 0));
}

TEST_HARNESS_MAIN
