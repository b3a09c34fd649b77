// SPDX-License-Identifier: GPL-2.0
/*
 * fallocate() on guest_memfd (kvm_gmem_fallocate, 6.8 onwards): only
 * KEEP_SIZE allocation and KEEP_SIZE|PUNCH_HOLE; page-aligned offset and length;
 * allocation must stay below EOF, punching at or past EOF is a no-op success.
 */
#include <fcntl.h>
#include <linux/falloc.h>

#include "pm_test.h"

PM_GMEM_FIXTURE(falloc, 4);

#define ALLOC FALLOC_FL_KEEP_SIZE
#define PUNCH (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)

/* "The file size is fixed": every mode without KEEP_SIZE is EOPNOTSUPP. */
TEST_F(falloc, without_keep_size_eopnotsupp)
{
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(self->fd, 0, 0, self->page));
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE, 0, self->page));
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(self->fd, FALLOC_FL_ZERO_RANGE, 0, self->page));
}

/* Modes guest_memfd does not implement: EOPNOTSUPP (from the VFS or kvm_gmem_fallocate). */
TEST_F(falloc, other_modes_eopnotsupp)
{
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE,
					   0, self->page));
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(self->fd, FALLOC_FL_COLLAPSE_RANGE, 0, self->page));
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(self->fd, FALLOC_FL_INSERT_RANGE, 0, self->page));
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_UNSHARE_RANGE,
					   0, self->page));
}

TEST_F(falloc, allocate_whole_file)
{
	ASSERT_EQ(0, fallocate(self->fd, ALLOC, 0, self->size));
	/* Allocating what is already allocated is fine too. */
	ASSERT_EQ(0, fallocate(self->fd, ALLOC, self->page, self->page));
}

/* "offset + len > i_size" is EINVAL: at EOF, past EOF, and straddling it. */
TEST_F(falloc, allocate_past_eof_einval)
{
	ASSERT_ERRNO(EINVAL, fallocate(self->fd, ALLOC, self->size, self->page));
	ASSERT_ERRNO(EINVAL, fallocate(self->fd, ALLOC, self->size + self->page, self->page));
	ASSERT_ERRNO(EINVAL, fallocate(self->fd, ALLOC, self->size - self->page, 2 * self->page));
}

/* vfs_fallocate: len <= 0 or offset < 0 is EINVAL before the file sees it. */
TEST_F(falloc, zero_len_or_negative_offset_einval)
{
	ASSERT_ERRNO(EINVAL, fallocate(self->fd, ALLOC, 0, 0));
	ASSERT_ERRNO(EINVAL, fallocate(self->fd, PUNCH, 0, 0));
	ASSERT_ERRNO(EINVAL, fallocate(self->fd, ALLOC, -self->page, self->page));
	ASSERT_ERRNO(EINVAL, fallocate(self->fd, PUNCH, -self->page, self->page));
}

/* Punching at or beyond EOF, or across it, succeeds (nothing to free there). */
TEST_F(falloc, punch_at_and_past_eof_ok)
{
	ASSERT_EQ(0, fallocate(self->fd, PUNCH, self->size, self->page));
	ASSERT_EQ(0, fallocate(self->fd, PUNCH, self->size + self->page, self->page));
	ASSERT_EQ(0, fallocate(self->fd, PUNCH, self->size - self->page, 4 * self->page));
}

/* The upstream 10-case matrix: {0, 1, PAGE} x {1, PAGE-1, PAGE, PAGE+1}, minus aligned cases. */
static const struct { int off_pages, off_bytes, len_pages, len_bytes; } unaligned[] = {
	{ 0, 0, 0, 1 }, { 0, 0, 1, -1 }, { 0, 0, 1, 1 },
	{ 0, 1, 0, 1 }, { 0, 1, 1, -1 }, { 0, 1, 1, 0 }, { 0, 1, 1, 1 },
	{ 1, 0, 0, 1 }, { 1, 0, 1, -1 }, { 1, 0, 1, 1 },
};

static void unaligned_case(int i, long page, off_t *off, off_t *len)
{
	*off = unaligned[i].off_pages * page + unaligned[i].off_bytes;
	*len = unaligned[i].len_pages * page + unaligned[i].len_bytes;
}

TEST_F(falloc, punch_unaligned_einval)
{
	off_t off, len;

	for (size_t i = 0; i < sizeof(unaligned) / sizeof(unaligned[0]); i++) {
		unaligned_case(i, self->page, &off, &len);
		ASSERT_ERRNO(EINVAL, fallocate(self->fd, PUNCH, off, len));
	}
}

TEST_F(falloc, allocate_unaligned_einval)
{
	off_t off, len;

	for (size_t i = 0; i < sizeof(unaligned) / sizeof(unaligned[0]); i++) {
		unaligned_case(i, self->page, &off, &len);
		ASSERT_ERRNO(EINVAL, fallocate(self->fd, ALLOC, off, len));
	}
}

TEST_F(falloc, punch_then_reallocate)
{
	ASSERT_EQ(0, fallocate(self->fd, ALLOC, 0, self->size));
	ASSERT_EQ(0, fallocate(self->fd, PUNCH, self->page, 2 * self->page));
	ASSERT_EQ(0, fallocate(self->fd, ALLOC, self->page, 2 * self->page));
	ASSERT_EQ(0, fallocate(self->fd, PUNCH, 0, self->size));
	ASSERT_EQ(0, fallocate(self->fd, ALLOC, 0, self->size));
}

TEST_HARNESS_MAIN
