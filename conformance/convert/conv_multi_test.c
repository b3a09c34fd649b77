// SPDX-License-Identifier: GPL-2.0
/*
 * Conversions on one guest_memfd bound by two memslots at different offsets,
 * seen by several vCPUs. Slot A binds gmem [2M, 4M) at GPA X, slot B binds
 * gmem [0, 2M) at X + 2M: adjacent in GPA, reversed in the file, so a
 * conversion or a fault that confuses slots or offsets shows.
 *
 * Attributes are per VM and per gfn (kvm_main.c kvm_vm_set_mem_attributes: one
 * xarray, every memslot in the range zapped by kvm_handle_gfn_range, remote
 * TLBs flushed): a conversion inside B changes exactly those gfns, for every
 * vCPU, and a conversion spanning the A/B boundary changes both slots' pages.
 * Private accesses reach gmem offset slot.guest_memfd_offset + (gfn - base)
 * (guest_memfd.c kvm_gmem_get_index), checked by punching one private page of
 * each slot through its file offset: every vCPU reads 0 there and nowhere else.
 * private_mem_conversions_test.c runs the same split (-m slots, -n vCPUs) with
 * one range per vCPU; here every vCPU reads every page of both slots.
 */
#include <fcntl.h>
#include <linux/falloc.h>

#include "convert.h"

#define SLOT_SIZE	PM_PAGE_2M
#define SLOT_PAGES	(SLOT_SIZE / CONV_PAGE)		/* 512 */
#define GPA_A		PM_TEST_GPA
#define GPA_B		(PM_TEST_GPA + SLOT_SIZE)

static const struct conv_slot slots[] = {
	{ GPA_A, SLOT_SIZE, SLOT_SIZE },	/* global pages 0..511 */
	{ GPA_B, 0, SLOT_SIZE },		/* global pages 512..1023 */
};

CONV_FIXTURE(conv_multi, 2 * SLOT_SIZE, slots, 2);

FIXTURE_VARIANT_ADD(conv_multi, swprot_vm_2vcpus_4k) {
	.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_4K, .vcpus = 2 };
FIXTURE_VARIANT_ADD(conv_multi, swprot_vm_2xnproc_4k) {
	.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_4K, .vcpus = 0 };
FIXTURE_VARIANT_ADD(conv_multi, swprot_vm_2xnproc_2m) {
	.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_2M, .vcpus = 0 };
PM_CVM_VARIANTS(conv_multi, , 0, .guest_page = PM_PAGE_4K, .vcpus = 2);

/* Global page g's offset in the guest_memfd. */
static uint64_t gmem_off(const struct conv *c, uint64_t g)
{
	const struct conv_region *r = conv_reg_of(c, g);

	return r->gmem_off + (g - r->idx) * CONV_PAGE;
}

TEST_F(conv_multi, conversions_exact_per_slot_for_all_vcpus)
{
	struct conv *c = &self->c;
	uint64_t holes[2] = { SLOT_PAGES - 3, SLOT_PAGES + 13 };

	/* Inside B only: a run near its start and its last 12 pages. */
	conv_convert_pages(_metadata, c, SLOT_PAGES + 10, 10, true);
	conv_convert_pages(_metadata, c, 2 * SLOT_PAGES - 12, 12, true);
	conv_check_views(_metadata, c);

	/* One call across the GPA boundary: A's last 4 pages and B's first 4. */
	conv_convert(_metadata, c, GPA_B - 4 * CONV_PAGE, 8 * CONV_PAGE, true);
	conv_check_views(_metadata, c);

	/* One private page of each slot punched through its own file offset. */
	for (int i = 0; i < 2; i++) {
		ASSERT_TRUE(c->priv[holes[i]]);
		ASSERT_EQ(0, fallocate(c->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
				       gmem_off(c, holes[i]), CONV_PAGE));
	}
	conv_guest_read_all(_metadata, c, -1);
	for (int v = 0; v < c->n; v++)
		CONV_EXPECT(c, v, g_ == holes[0] || g_ == holes[1] ? 0 :
			    CONV_PAT(c->priv[g_] ? c->last_guest_tag : c->last_host_tag, g_, w),
			    "after punching one page per slot");
}

TEST_HARNESS_MAIN
