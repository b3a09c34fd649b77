// SPDX-License-Identifier: GPL-2.0
/*
 * fallocate(PUNCH_HOLE | KEEP_SIZE) on the guest_memfd of a slot whose pages
 * are private. PUNCH_HOLE frees the memory (api.rst 4.142, "guest_memfd files
 * do however support PUNCH_HOLE"): guest_memfd.c kvm_gmem_punch_hole zaps the
 * guest's private mappings of the range (kvm_gmem_invalidate_begin, filtered
 * to private mappings: KVM_FILTER_PRIVATE) and truncates the page cache, so the
 * next private access gets a fresh folio that kvm_gmem_prepare_folio clears:
 * the guest reads 0 there (private_mem_conversions_test.c
 * guest_test_punch_hole). Pages outside the hole keep their data; the shared
 * view (userspace_addr) is a different memory and is not touched, which is why
 * a punched page that is shared when punched still shows the shared data, and
 * shows 0 only once converted back to private.
 */
#include <fcntl.h>
#include <linux/falloc.h>

#include "convert.h"

#define GMEM_SIZE	PM_PAGE_2M
#define PAGES		(GMEM_SIZE / CONV_PAGE)
#define GPA		PM_TEST_GPA

static const struct conv_slot slots[] = { { GPA, 0, GMEM_SIZE } };

CONV_FIXTURE(conv_punch, GMEM_SIZE, slots, 1);
CONV_VARIANTS(conv_punch);

static int punch(int fd, uint64_t first, uint64_t count)
{
	return fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, first * CONV_PAGE,
			 count * CONV_PAGE);
}

/* The holes: a run of 4, a run of 3 around the middle, and the file's last page. */
static bool punched(uint64_t g)
{
	return (g >= 5 && g < 9) || (g >= PAGES / 2 - 1 && g < PAGES / 2 + 2) || g == PAGES - 1;
}

TEST_F(conv_punch, private_holes_read_zero_rest_kept)
{
	struct conv *c = &self->c;

	conv_host_write_all(c, 0x30);
	conv_convert(_metadata, c, GPA, GMEM_SIZE, true);
	conv_guest_write_all(_metadata, c, 0x31);
	ASSERT_EQ(0, punch(c->fd, 5, 4));
	ASSERT_EQ(0, punch(c->fd, PAGES / 2 - 1, 3));
	ASSERT_EQ(0, punch(c->fd, PAGES - 1, 1));
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, punched(g_) ? 0 : CONV_PAT(0x31, g_, w), "after the punches");
	CONV_EXPECT(c, -1, CONV_PAT(0x30, g_, w), "after the punches");
	/* The holes take new private data like any page. */
	conv_guest_write_all(_metadata, c, 0x32);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, CONV_PAT(0x32, g_, w), "after rewriting the holes");
	CONV_EXPECT(c, -1, CONV_PAT(0x30, g_, w), "after rewriting the holes");
}

TEST_F(conv_punch, shared_page_punch_shows_when_private_again)
{
	struct conv *c = &self->c;

	conv_host_write_all(c, 0x40);
	conv_convert(_metadata, c, GPA, GMEM_SIZE, true);
	conv_guest_write_all(_metadata, c, 0x41);
	conv_convert_pages(_metadata, c, 100, 2, false);
	ASSERT_EQ(0, punch(c->fd, 100, 1));
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, CONV_PAT(c->priv[g_] ? 0x41 : 0x40, g_, w), "punch while shared");
	conv_convert_pages(_metadata, c, 100, 2, true);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, g_ == 100 ? 0 : CONV_PAT(0x41, g_, w), "private again");
}

TEST_HARNESS_MAIN
