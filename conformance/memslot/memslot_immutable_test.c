// SPDX-License-Identifier: GPL-2.0
/*
 * guest_memfd slots can be created and deleted, never modified. In the
 * "modify an existing slot" branch of kvm_set_memory_region() (6.12:
 * __kvm_set_memory_region()): "Private memslots are immutable, they can only
 * be deleted" rejects any request carrying KVM_MEM_GUEST_MEMFD for a live slot,
 * and (mem->flags ^ old->flags) & (KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD)
 * rejects dropping the flag. No upstream selftest covers these.
 *
 * The fixture binds gmem pages [0, 4) at MS_GPA as slot MS_SLOT.
 */
#include "memslot.h"

#define GMEM_PAGES 8

MS_FIXTURE(memslot_immutable, GMEM_PAGES, PM_GMEM_FLAG_VARIANTS);

static int bind_slot(FIXTURE_DATA(memslot_immutable) *self, uint64_t gpa, uint64_t off)
{
	return ms_bind(self, MS_SLOT, gpa, 4 * self->page, off);
}

/*
 * The very same request again: a plain slot would return 0 ("Nothing to
 * change"), a gmem slot is EINVAL before that point. (A pending upstream
 * series, KVM_MEM_USERFAULT, relaxes this to MOVE only; it would come with
 * its own capability.)
 */
TEST_F(memslot_immutable, identical_reset_einval)
{
	ASSERT_EQ(0, bind_slot(self, MS_GPA, 0));
	ASSERT_ERRNO(EINVAL, bind_slot(self, MS_GPA, 0));
	/* Contrast: a plain slot re-set unchanged is a no-op success. */
	ASSERT_EQ(0, pm_set_region(self->vm, MS_SLOT + 1, 0, MS_GPA + (1ULL << 30),
				   4 * self->page, self->hva));
	ASSERT_EQ(0, pm_set_region(self->vm, MS_SLOT + 1, 0, MS_GPA + (1ULL << 30),
				   4 * self->page, self->hva));
}

/* Same slot id, new GPA: a MOVE, which plain slots allow (api.rst 4.35). */
TEST_F(memslot_immutable, move_einval)
{
	ASSERT_EQ(0, bind_slot(self, MS_GPA, 0));
	ASSERT_ERRNO(EINVAL, bind_slot(self, MS_GPA + (1ULL << 30), 0));
	/* Nor with another gmem range. */
	ASSERT_ERRNO(EINVAL, bind_slot(self, MS_GPA + (1ULL << 30), 4 * self->page));
}

/*
 * Turning on dirty logging, a FLAGS_ONLY change for plain slots: EINVAL. It is
 * check_memory_region_flags() that fires first (LOG_DIRTY_PAGES is never valid
 * with GUEST_MEMFD), the immutability check would too.
 */
TEST_F(memslot_immutable, add_log_dirty_einval)
{
	ASSERT_EQ(0, bind_slot(self, MS_GPA, 0));
	ASSERT_ERRNO(EINVAL, pm_set_region2(self->vm, MS_SLOT,
					    KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES, MS_GPA,
					    4 * self->page, self->hva, self->gmem, 0));
}

/*
 * Re-setting the slot without KVM_MEM_GUEST_MEMFD (v2 and v1): EINVAL since
 * "KVM: Disallow toggling KVM_MEM_GUEST_MEMFD on an existing memslot"
 * (S. Christopherson, Dec 2025, Cc: stable, fixes the 6.8 guest_memfd commit).
 * Before it the FLAGS_ONLY change succeeded and left the gmem bound to a freed
 * memslot (use-after-free in kvm_gmem_release()): on such a kernel this row
 * FAILs and the process exit touches freed memory.
 */
TEST_F(memslot_immutable, drop_gmem_flag_einval)
{
	ASSERT_EQ(0, bind_slot(self, MS_GPA, 0));
	ASSERT_ERRNO(EINVAL, pm_set_region2(self->vm, MS_SLOT, 0, MS_GPA, 4 * self->page,
					    self->hva, -1, 0));
	ASSERT_ERRNO(EINVAL, pm_set_region(self->vm, MS_SLOT, 0, MS_GPA, 4 * self->page,
					   self->hva));
}

/* The other direction: a live plain slot cannot gain a guest_memfd binding. */
TEST_F(memslot_immutable, plain_slot_to_gmem_einval)
{
	ASSERT_EQ(0, pm_set_region(self->vm, MS_SLOT, 0, MS_GPA, 4 * self->page, self->hva));
	ASSERT_ERRNO(EINVAL, bind_slot(self, MS_GPA, 0));
}

/*
 * Delete (memory_size 0; the other fields are ignored, upstream passes fd -1)
 * and create again: the same binding, then the same slot id elsewhere with
 * another gmem range, then the first range again. Deleting unbinds
 * (kvm_gmem_unbind()), so nothing stays reserved.
 */
TEST_F(memslot_immutable, delete_and_recreate_succeeds)
{
	ASSERT_EQ(0, bind_slot(self, MS_GPA, 0));
	ASSERT_EQ(0, ms_delete(self, MS_SLOT));
	ASSERT_EQ(0, bind_slot(self, MS_GPA, 0));
	ASSERT_EQ(0, ms_delete(self, MS_SLOT));
	ASSERT_EQ(0, bind_slot(self, MS_GPA + (1ULL << 30), 4 * self->page));
	ASSERT_EQ(0, ms_delete(self, MS_SLOT));
	/* Another slot id takes the freed range. */
	ASSERT_EQ(0, ms_bind(self, MS_SLOT + 1, MS_GPA, 4 * self->page, 0));
	/* Deleting a slot that does not exist: EINVAL (!old in kvm_set_memory_region()). */
	ASSERT_ERRNO(EINVAL, ms_delete(self, MS_SLOT));
}

TEST_HARNESS_MAIN
