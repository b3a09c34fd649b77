// SPDX-License-Identifier: GPL-2.0
/*
 * madvise() on a host mapping of guest_memfd. The mapping is a shared file
 * mapping whose pages live only in the guest_memfd page cache, with no backing
 * store and an unevictable mapping (virt/kvm/guest_memfd.c __kvm_gmem_create),
 * so:
 *  - MADV_DONTNEED only drops the page tables; the data stays in the file;
 *  - MADV_REMOVE is fallocate(PUNCH_HOLE|KEEP_SIZE) on the range
 *    (mm/madvise.c madvise_remove -> vfs_fallocate -> kvm_gmem_fallocate);
 *  - MADV_PAGEOUT/MADV_COLD are accepted and reclaim nothing;
 *  - advice defined for anonymous memory only fails with EINVAL;
 *  - MADV_POPULATE_* fault pages in, and fail with EFAULT where a fault would
 *    raise SIGBUS (madvise(2)), e.g. past EOF;
 *  - THP: MADV_HUGEPAGE is accepted, MADV_COLLAPSE must fail with EINVAL
 *    (guest_memfd_test.c test_collapse; guest_memfd cannot map large folios).
 */
#include "gmmap.h"

GMMAP_FIXTURE(gmmap_madvise, 4, PM_MMAP_SHARED);

TEST_F(gmmap_madvise, dontneed_keeps_data)
{
	uint8_t *other = mmap(NULL, self->size, PROT_READ, MAP_SHARED, self->fd, 0);

	ASSERT_NE(MAP_FAILED, other);
	gmmap_fill(self->mem, 0, self->size, 1);
	ASSERT_EQ(0, madvise(self->mem, self->size, MADV_DONTNEED));
	/* Refaults map the file's pages again: same data, still the same memory. */
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, self->size, 1));
	gmmap_fill(self->mem, 0, self->size, 2);
	ASSERT_EQ(-1, gmmap_diff(other, 0, self->size, 2));
	munmap(other, self->size);
}

TEST_F(gmmap_madvise, remove_punches_range)
{
	uint8_t *other = mmap(NULL, self->size, PROT_READ, MAP_SHARED, self->fd, 0);
	size_t pg = self->page;

	ASSERT_NE(MAP_FAILED, other);
	gmmap_fill(self->mem, 0, self->size, 3);
	ASSERT_EQ(-1, gmmap_diff(other, 0, self->size, 3));
	ASSERT_EQ(0, madvise(self->mem + pg, 2 * pg, MADV_REMOVE));
	/* The file range is gone for every mapping, and only that range. */
	ASSERT_EQ(-1, gmmap_nonzero(self->mem + pg, 2 * pg));
	ASSERT_EQ(-1, gmmap_nonzero(other + pg, 2 * pg));
	ASSERT_EQ(-1, gmmap_diff(other, 0, pg, 3));
	ASSERT_EQ(-1, gmmap_diff(other + 3 * pg, 3 * pg, pg, 3));
	/* The hole refaults as fresh, writable memory. */
	gmmap_fill(self->mem + pg, pg, 2 * pg, 4);
	ASSERT_EQ(-1, gmmap_diff(other + pg, pg, 2 * pg, 4));
	munmap(other, self->size);
}

TEST_F(gmmap_madvise, pageout_cold_keep_data)
{
	gmmap_fill(self->mem, 0, self->size, 5);
	ASSERT_EQ(0, madvise(self->mem, self->size, MADV_COLD));
	ASSERT_EQ(0, madvise(self->mem, self->size, MADV_PAGEOUT));
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, self->size, 5));
}

/*
 * MADV_FREE: mm/madvise.c madvise_free_single_vma() (anonymous only);
 * MADV_WIPEONFORK: madvise_vma_behavior() refuses file and shared VMAs.
 */
TEST_F(gmmap_madvise, anon_only_advice_einval)
{
	gmmap_fill(self->mem, 0, self->size, 6);
	ASSERT_ERRNO(EINVAL, madvise(self->mem, self->size, MADV_FREE));
	ASSERT_ERRNO(EINVAL, madvise(self->mem, self->size, MADV_WIPEONFORK));
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, self->size, 6));
}

TEST_F(gmmap_madvise, populate_stops_at_eof)
{
	size_t big = 2 * self->size;
	uint8_t *p = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, madvise(p, self->size, MADV_POPULATE_READ));
	ASSERT_EQ(0, madvise(p, self->size, MADV_POPULATE_WRITE));
	ASSERT_ERRNO(EFAULT, madvise(p, big, MADV_POPULATE_READ));
	ASSERT_ERRNO(EFAULT, madvise(p, big, MADV_POPULATE_WRITE));
	ASSERT_ERRNO(EFAULT, madvise(p + self->size, self->page, MADV_POPULATE_WRITE));
	/* Populating wrote nothing: fresh guest_memfd pages are zero. */
	ASSERT_EQ(-1, gmmap_nonzero(p, self->size));
	munmap(p, big);
}

static size_t pmd_size(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
	unsigned long v = 0;

	if (f) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/*
 * A PMD-sized guest_memfd mapped at a PMD-aligned address and offset, the only
 * layout collapse could act on (as upstream test_collapse). MADV_COLLAPSE must
 * fail: kvm_gmem_fault_user_mapping() cannot map large folios (WARN + SIGBUS).
 * Upstream 6.18 refuses it only while CONFIG_READ_ONLY_THP_FOR_FS=n; with it
 * set, file_thp_enabled() took the pseudo-fs inode for a read-only file until
 * "mm: thp: deny THP for files on anonymous inodes" (upstream dd085fe9a8eb,
 * Feb 2026; in 6.18.y and 6.19.y stable since Mar 2026), so a failure here is
 * that bug.
 */
TEST_F(gmmap_madvise, hugepage_ok_collapse_einval)
{
	size_t pmd = pmd_size();
	uint8_t *res, *p;
	int fd;

	if (!pmd)
		SKIP(return, "no THP: /sys/kernel/mm/transparent_hugepage/hpage_pmd_size unreadable");
	fd = pm_platform_private_mem(self->p, self->vm, pmd, variant->need.gmem_flags);
	ASSERT_LE(0, fd);
	res = mmap(NULL, 2 * pmd, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	p = (uint8_t *)(((uintptr_t)res + pmd - 1) & ~(uintptr_t)(pmd - 1));
	ASSERT_EQ(p, mmap(p, pmd, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0));
	gmmap_fill(p, 0, pmd, 7);
	ASSERT_EQ(0, madvise(p, pmd, MADV_HUGEPAGE));
	ASSERT_ERRNO(EINVAL, madvise(p, pmd, MADV_COLLAPSE));
	/* Dropping the page tables and refaulting maps the same small pages. */
	ASSERT_EQ(0, madvise(p, pmd, MADV_DONTNEED));
	ASSERT_EQ(-1, gmmap_diff(p, 0, pmd, 7));
	munmap(res, 2 * pmd);
	close(fd);
}

TEST_HARNESS_MAIN
