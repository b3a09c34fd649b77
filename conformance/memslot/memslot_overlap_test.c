// SPDX-License-Identifier: GPL-2.0
/*
 * Two overlap rules, two errnos. Slots may not overlap in guest physical
 * address space (api.rst 4.35): kvm_set_memory_region() ->
 * kvm_check_memslot_overlap() -> EEXIST. A guest_memfd page may be bound to
 * at most one slot (api.rst 4.142, "the bound ranges must not overlap"):
 * kvm_gmem_bind() finds the range in the gmem's bindings xarray -> EINVAL, or
 * EEXIST from 7.2 and 6.12.118 on (ASSERT_GMEM_RANGE_TAKEN, memslot.h: drift).
 * The GPA check runs first, so a slot overlapping in both is EEXIST.
 *
 * Upstream's set_memory_region_test.c test_add_overlapping_private_memory_regions()
 * only overlaps GPAs (its gmem ranges are disjoint); the gmem-only overlap has no
 * upstream test.
 *
 * Layout: slot A = GPA [X, X+2P) bound to gmem pages [2, 4). Slot B is 2 pages.
 */
#include "memslot.h"

#define GMEM_PAGES 8
#define SLOT_A MS_SLOT
#define SLOT_B (MS_SLOT + 1)

MS_FIXTURE(memslot_overlap, GMEM_PAGES, PM_GMEM_FLAG_VARIANTS);

#define GPA_X (MS_GPA + (1ULL << 20))

static int bind_a(FIXTURE_DATA(memslot_overlap) *self)
{
	return ms_bind(self, SLOT_A, GPA_X, 2 * self->page, 2 * self->page);
}

/* Slot B at a GPA range of its own, bound to gmem pages [first, first+2). */
static int bind_b(FIXTURE_DATA(memslot_overlap) *self, uint64_t gpa, uint64_t first)
{
	return ms_bind(self, SLOT_B, gpa, 2 * self->page, first * self->page);
}

/* Disjoint GPAs, gmem ranges overlapping A's by one page (either side) or fully. */
TEST_F(memslot_overlap, gmem_range_overlap_einval)
{
	uint64_t far = MS_GPA + (64ULL << 20);

	ASSERT_EQ(0, bind_a(self));
	ASSERT_GMEM_RANGE_TAKEN(bind_b(self, far, 1));
	ASSERT_GMEM_RANGE_TAKEN(bind_b(self, far, 3));
	ASSERT_GMEM_RANGE_TAKEN(bind_b(self, far, 2));
	/* Adjacent gmem ranges are not overlapping: both neighbours bind. */
	ASSERT_EQ(0, bind_b(self, far, 0));
	ASSERT_EQ(0, ms_bind(self, SLOT_B + 1, far + (4ULL << 20), 2 * self->page,
			     4 * self->page));
}

/* B = [X-P, X+P): its back half covers A's front half; gmem pages disjoint. */
TEST_F(memslot_overlap, gpa_overlap_front_eexist)
{
	ASSERT_EQ(0, bind_a(self));
	ASSERT_ERRNO(EEXIST, bind_b(self, GPA_X - self->page, 5));
	/* One page lower it only touches A: accepted. */
	ASSERT_EQ(0, bind_b(self, GPA_X - 2 * self->page, 5));
}

/* B = [X+P, X+3P): its front half covers A's back half; gmem pages disjoint. */
TEST_F(memslot_overlap, gpa_overlap_back_eexist)
{
	ASSERT_EQ(0, bind_a(self));
	ASSERT_ERRNO(EEXIST, bind_b(self, GPA_X + self->page, 5));
	ASSERT_EQ(0, bind_b(self, GPA_X + 2 * self->page, 5));
}

/* Overlapping in GPA and in gmem: the GPA check comes first, so EEXIST, not EINVAL. */
TEST_F(memslot_overlap, gpa_overlap_checked_before_gmem_eexist)
{
	ASSERT_EQ(0, bind_a(self));
	ASSERT_ERRNO(EEXIST, bind_b(self, GPA_X + self->page, 3));
	ASSERT_ERRNO(EEXIST, bind_b(self, GPA_X, 2));
}

TEST_HARNESS_MAIN
