// SPDX-License-Identifier: GPL-2.0
/*
 * Secret data does not outlive its file. mm/secretmem.c (6.12 and newer) zeroes
 * twice: secretmem_free_folio clears a page when it leaves the file (and puts it
 * back into the direct map), and secretmem_fault allocates with __GFP_ZERO. So
 * a new secretmem page reads as zero even when the pages just freed were full
 * of another file's secrets. The page allocator hands recently freed pages out
 * first, which is what the row provokes; how many were actually reused is
 * logged from /proc/self/pagemap when it shows PFNs (CAP_SYS_ADMIN).
 */
#include "secretmem.h"

SECRET_FIXTURE(secret_zero, 0)

#define PAGES 16

static bool all_zero(const uint8_t *p, size_t len, size_t *at)
{
	for (size_t i = 0; i < len; i++)
		if (p[i]) {
			*at = i;
			return false;
		}
	return true;
}

/* PFNs of the pages at p (0 where pagemap hides them or the page is absent). */
static void pfns(const uint8_t *p, long page, uint64_t pfn[PAGES])
{
	int fd = open("/proc/self/pagemap", O_RDONLY);

	for (int i = 0; i < PAGES; i++) {
		uint64_t e = 0;

		if (fd >= 0 && pread(fd, &e, sizeof(e), ((uintptr_t)p / page + i) * sizeof(e)) != sizeof(e))
			e = 0;
		pfn[i] = (e >> 63) ? e & ((1ull << 55) - 1) : 0;
	}
	if (fd >= 0)
		close(fd);
}

TEST_F(secret_zero, new_pages_zero_after_freed_secrets)
{
	size_t len = PAGES * self->page, at = 0;
	uint64_t freed[PAGES] = { 0 }, now[PAGES];
	uint8_t *p;

	for (int round = 0; round < 2; round++) {
		int fd = secret_create(0), reused = 0;

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ftruncate(fd, len));
		p = secret_map(fd, len, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_TRUE(all_zero(p, len, &at))
			TH_LOG("round %d: byte %zu of a new secretmem file is 0x%02x", round, at, p[at]);
		pfns(p, self->page, now);
		for (int i = 0; i < PAGES && round; i++)
			for (int j = 0; j < PAGES; j++)
				reused += now[i] && now[i] == freed[j];
		if (round)
			TH_LOG("%d of %d new pages were pages just freed%s", reused, PAGES,
			       now[0] ? "" : " (PFNs not visible)");
		memcpy(freed, now, sizeof(freed));
		/* Fill with secrets, then free every page: unmap and drop the last fd. */
		memset(p, 0xa5, len);
		ASSERT_EQ(0, munmap(p, len));
		ASSERT_EQ(0, close(fd));
	}

	/* Same in a file whose other pages hold data. */
	ASSERT_EQ(0, ftruncate(self->fd, 2 * self->page));
	p = secret_map(self->fd, 2 * self->page, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5a, self->page);
	ASSERT_TRUE(all_zero(p + self->page, self->page, &at))
		TH_LOG("byte %zu of the second page is 0x%02x", at, p[self->page + at]);
	munmap(p, 2 * self->page);
}

TEST_HARNESS_MAIN
