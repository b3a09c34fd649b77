// SPDX-License-Identifier: GPL-2.0
/*
 * mremap() of a host mapping of guest_memfd. The mapping is an ordinary shared
 * file mapping to mm/mremap.c: kvm_gmem_mmap() sets neither VM_DONTEXPAND nor
 * VM_PFNMAP (6.18 and later upstream), so it can grow, shrink and move, and
 * MREMAP_DONTUNMAP is allowed (it refuses only VM_DONTEXPAND|VM_PFNMAP, 5.13+).
 * Wherever it goes it stays a view of the file: writes through it reach the
 * file, and pages at or past EOF raise SIGBUS (kvm_gmem_fault_user_mapping).
 * Each row checks coherence with a second, untouched mapping of the file.
 * (A Feb 2026 proposal, "KVM: guest_memfd: Disable VMA merging with
 * VM_DONTEXPAND", would make growing fail with EFAULT and DONTUNMAP with
 * EINVAL; it is not in the newest upstream guest_memfd.c read.)
 */
#include "gmmap.h"

GMMAP_FIXTURE(gmmap_mremap, 4, PM_MMAP_SHARED);

/* Writes through `p` (file offset `off`) show up through the fixture mapping, and back. */
static bool coherent(FIXTURE_DATA(gmmap_mremap) *self, uint8_t *p, size_t off,
		     size_t len, unsigned int seed)
{
	gmmap_fill(p, off, len, seed);
	if (gmmap_diff(self->mem + off, off, len, seed) != -1)
		return false;
	gmmap_fill(self->mem + off, off, len, seed + 1);
	return gmmap_diff(p, off, len, seed + 1) == -1;
}

/*
 * Reserve `pages` pages of address space and map the first `map` of them to
 * the file, so growing in place has room.
 */
static uint8_t *map_with_room(int fd, size_t page, size_t map, size_t pages)
{
	uint8_t *res = mmap(NULL, pages * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *p;

	if (res == MAP_FAILED)
		return res;
	p = mmap(res, map * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		munmap(res, pages * page);
	else
		munmap(res + map * page, (pages - map) * page);
	return p;
}

TEST_F(gmmap_mremap, grow_in_place_within_file)
{
	uint8_t *p = map_with_room(self->fd, self->page, 2, 8), *q;

	ASSERT_NE(MAP_FAILED, p);
	gmmap_fill(self->mem, 0, self->size, 1);
	q = mremap(p, 2 * self->page, self->size, 0);
	ASSERT_EQ(p, q);
	/* The new tail shows what the file already held there. */
	ASSERT_EQ(-1, gmmap_diff(q, 0, self->size, 1));
	ASSERT_TRUE(coherent(self, q, 0, self->size, 2));
	munmap(q, self->size);
}

TEST_F(gmmap_mremap, shrink_unmaps_tail)
{
	uint8_t *q;

	gmmap_fill(self->mem, 0, self->size, 3);
	q = mremap(self->mem, self->size, self->page, 0);
	ASSERT_EQ(self->mem, q);
	ASSERT_EQ(SIGSEGV, pm_touch(q + self->page, false));
	ASSERT_EQ(SIGSEGV, pm_touch(q + self->size - 1, false));
	self->size = self->page;	/* what the teardown unmaps */
	ASSERT_EQ(-1, gmmap_diff(q, 0, self->page, 3));
	/* Shrinking the mapping does not touch the file. */
	uint8_t *other = mmap(NULL, 4 * self->page, PROT_READ, MAP_SHARED, self->fd, 0);

	ASSERT_NE(MAP_FAILED, other);
	ASSERT_EQ(-1, gmmap_diff(other, 0, 4 * self->page, 3));
	munmap(other, 4 * self->page);
}

/* Moving to a chosen address keeps the file backing; the old address is gone. */
TEST_F(gmmap_mremap, move_keeps_file_backing)
{
	uint8_t *dst = mmap(NULL, self->size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *p = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	uint8_t *q;

	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_NE(MAP_FAILED, p);
	gmmap_fill(p, 0, self->size, 4);
	q = mremap(p, self->size, self->size, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, q);
	ASSERT_EQ(SIGSEGV, pm_touch(p, false));
	ASSERT_EQ(-1, gmmap_diff(q, 0, self->size, 4));
	ASSERT_TRUE(coherent(self, q, 0, self->size, 5));
	munmap(q, self->size);
}

/* Growing past EOF (by moving) succeeds, but the pages past EOF raise SIGBUS. */
TEST_F(gmmap_mremap, grow_past_eof_sigbus)
{
	uint8_t *p = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	size_t big = 2 * self->size;
	uint8_t *q;

	ASSERT_NE(MAP_FAILED, p);
	gmmap_fill(p, 0, self->size, 6);
	q = mremap(p, self->size, big, MREMAP_MAYMOVE);
	ASSERT_NE(MAP_FAILED, q);
	for (size_t off = 0; off < big; off += self->page) {
		int want = off < self->size ? 0 : SIGBUS;

		if (pm_touch(q + off, false) != want)
			TH_LOG("read at offset %zu: expected signal %d", off, want);
		ASSERT_EQ(want, pm_touch(q + off, false));
		ASSERT_EQ(want, pm_touch(q + off, true));
	}
	ASSERT_EQ(-1, gmmap_diff(q, 0, self->size, 6));
	ASSERT_TRUE(coherent(self, q, 0, self->size, 7));
	munmap(q, big);
}

/*
 * MREMAP_DONTUNMAP moves the page tables but leaves the old VMA in place with
 * its file (mm/mremap.c); the next access to the old range faults through
 * kvm_gmem_fault_user_mapping() and maps the file's page again. Anonymous
 * memory would read zeroes there instead (mremap(2)).
 */
TEST_F(gmmap_mremap, dontunmap_keeps_old_range_on_file)
{
	uint8_t *p = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	uint8_t *q;

	ASSERT_NE(MAP_FAILED, p);
	gmmap_fill(p, 0, self->size, 8);
	/*
	 * glibc reads a new_address argument whenever MREMAP_FIXED or
	 * MREMAP_DONTUNMAP is set (a placement hint for the latter); without an
	 * explicit NULL the kernel gets whatever the fifth argument register held,
	 * and refuses it (EINVAL).
	 */
	q = mremap(p, self->size, self->size, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	ASSERT_NE(MAP_FAILED, q);
	ASSERT_NE(p, q);
	ASSERT_EQ(-1, gmmap_diff(q, 0, self->size, 8));
	ASSERT_EQ(-1, gmmap_diff(p, 0, self->size, 8));
	ASSERT_TRUE(coherent(self, q, 0, self->size, 9));
	/* The old range is still the same file, not a copy. */
	ASSERT_EQ(-1, gmmap_diff(p, 0, self->size, 10));
	munmap(p, self->size);
	munmap(q, self->size);
}

TEST_HARNESS_MAIN
