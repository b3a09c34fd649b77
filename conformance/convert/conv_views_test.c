// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-slot conversions and what each side sees. At VM creation every gfn is
 * shared (api.rst 4.140: "At VM creation time, all memory is shared"), so the
 * guest and the host meet in the slot's userspace_addr. Converted to private,
 * the guest reaches the guest_memfd instead: its writes no longer show in the
 * shared view, the host's writes there no longer reach it, and a private page
 * it never wrote reads 0 (guest_memfd.c kvm_gmem_prepare_folio clears a folio
 * before its first use: "the guest sees a zero page").
 *
 * A conversion only changes attributes and zaps the guest's mappings of the
 * range (kvm_main.c kvm_vm_set_mem_attributes -> kvm_arch_pre_set_memory_attributes);
 * nothing truncates the guest_memfd or touches userspace_addr. So converting
 * back to shared shows the shared view with whatever the host wrote meanwhile,
 * and converting to private again shows the private data written before. The
 * upstream selftest relies on the same split (private_mem_conversions_test.c:
 * the host keeps seeing the shared pattern while the guest writes private
 * memory; only PUNCH_HOLE is called destructive for private data).
 */
#include "convert.h"

#define GMEM_SIZE	PM_PAGE_2M
#define PAGES		(GMEM_SIZE / CONV_PAGE)
#define GPA		PM_TEST_GPA

static const struct conv_slot slots[] = { { GPA, 0, GMEM_SIZE } };

CONV_FIXTURE(conv_views, GMEM_SIZE, slots, 1);
CONV_VARIANTS(conv_views);

TEST_F(conv_views, starts_shared_views_agree)
{
	conv_check_views(_metadata, &self->c);
}

TEST_F(conv_views, private_unwritten_reads_zero_views_split)
{
	struct conv *c = &self->c;

	conv_host_write_all(c, 0x10);
	conv_convert(_metadata, c, GPA, GMEM_SIZE, true);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, 0, "private pages never written");
	CONV_EXPECT(c, -1, CONV_PAT(0x10, g_, w), "after the guest read private pages");
	conv_check_views(_metadata, c);
}

TEST_F(conv_views, round_trip_keeps_both_views)
{
	struct conv *c = &self->c;

	conv_host_write_all(c, 0x20);
	conv_convert(_metadata, c, GPA, GMEM_SIZE, true);
	conv_guest_write_all(_metadata, c, 0x21);
	conv_host_write_all(c, 0x22);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, CONV_PAT(0x21, g_, w), "private: the guest's own data");

	/* Shared again: the host's latest data, and guest writes reach the host. */
	conv_convert(_metadata, c, GPA, GMEM_SIZE, false);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, CONV_PAT(0x22, g_, w), "back to shared: the host's data");
	conv_guest_write_all(_metadata, c, 0x23);
	CONV_EXPECT(c, -1, CONV_PAT(0x23, g_, w), "shared again, after guest writes");

	/* Private again: the guest_memfd kept the private data through the round trip. */
	conv_convert(_metadata, c, GPA, GMEM_SIZE, true);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, CONV_PAT(0x21, g_, w), "private again: data written while private");
	CONV_EXPECT(c, -1, CONV_PAT(0x23, g_, w), "private again");

	conv_convert(_metadata, c, GPA, GMEM_SIZE, false);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, CONV_PAT(0x23, g_, w), "shared once more");
}

TEST_HARNESS_MAIN
