// SPDX-License-Identifier: GPL-2.0
/*
 * Conversions of part of a slot: one 4K page inside a 2M range, ranges at odd
 * 4K offsets (one straddling the 2M boundary), a 2M-aligned 2M range and a 2M
 * range at a 4K offset, then holes converted back inside private ranges.
 * KVM_SET_MEMORY_ATTRIBUTES applies to exactly [address, address + size) at
 * 4K granularity (api.rst 4.141; kvm_main.c kvm_vm_ioctl_set_mem_attributes
 * stores the attribute for gfns [address >> PAGE_SHIFT, (address + size) >>
 * PAGE_SHIFT)); a huge mapping covering mixed attributes must not be used
 * (mmu.c tracks KVM_LPAGE_MIXED_FLAG per 2M range, so such a range is mapped
 * at 4K). So after every step each of the 1024 pages shows the view its own
 * attribute selects, both ways (convert.h conv_check_views), whether the guest
 * maps the slot with 4K or 2M pages. Upstream converts similar ranges
 * (private_mem_conversions_test.c test_ranges: 4K and 2M at offsets 0, 4K, 2M,
 * odd pages back to shared).
 */
#include "convert.h"

#define GMEM_SIZE	(4ULL << 20)
#define GPA		PM_TEST_GPA
#define HUGE_PAGES	(PM_PAGE_2M / CONV_PAGE)	/* 512 */

static const struct conv_slot slots[] = { { GPA, 0, GMEM_SIZE } };

CONV_FIXTURE(conv_partial, GMEM_SIZE, slots, 1);
CONV_VARIANTS(conv_partial);

TEST_F(conv_partial, one_page_inside_2m_range)
{
	conv_convert_pages(_metadata, &self->c, 300, 1, true);
	conv_check_views(_metadata, &self->c);
	conv_convert_pages(_metadata, &self->c, 300, 1, false);
	conv_check_views(_metadata, &self->c);
}

TEST_F(conv_partial, odd_offset_ranges_and_holes)
{
	struct conv *c = &self->c;

	conv_convert_pages(_metadata, c, 1, 1, true);
	conv_convert_pages(_metadata, c, 3, 3, true);
	conv_convert_pages(_metadata, c, HUGE_PAGES - 3, 6, true);	/* across the 2M boundary */
	conv_convert_pages(_metadata, c, 2 * HUGE_PAGES - 3, 2, true);
	conv_check_views(_metadata, c);
	/* Holes back to shared inside private ranges. */
	conv_convert_pages(_metadata, c, 4, 1, false);
	conv_convert_pages(_metadata, c, HUGE_PAGES - 1, 1, false);
	conv_check_views(_metadata, c);
}

TEST_F(conv_partial, aligned_2m_range)
{
	struct conv *c = &self->c;

	conv_convert_pages(_metadata, c, HUGE_PAGES, HUGE_PAGES, true);
	conv_check_views(_metadata, c);
	conv_convert_pages(_metadata, c, 0, HUGE_PAGES, true);
	conv_convert_pages(_metadata, c, HUGE_PAGES, HUGE_PAGES, false);
	conv_check_views(_metadata, c);
}

TEST_F(conv_partial, unaligned_2m_range)
{
	struct conv *c = &self->c;

	conv_convert_pages(_metadata, c, 1, HUGE_PAGES, true);
	conv_check_views(_metadata, c);
	conv_convert_pages(_metadata, c, 1, HUGE_PAGES, false);
	conv_convert_pages(_metadata, c, HUGE_PAGES - 1, HUGE_PAGES, true);
	conv_check_views(_metadata, c);
}

TEST_HARNESS_MAIN
