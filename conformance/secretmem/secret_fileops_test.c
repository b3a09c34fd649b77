// SPDX-License-Identifier: GPL-2.0
/*
 * File operations on a memfd_secret fd. The memory is reachable only through
 * mmap: secretmem_fops has just ->mmap (->mmap_prepare in newer kernels) and
 * ->release, and the file comes from alloc_file_pseudo, so the VFS answers the
 * rest (fs/read_write.c, fs/open.c, mm/memfd.c; 6.12, observed the same on
 * 6.18). Size is set once: secretmem_setattr refuses ATTR_SIZE while i_size != 0.
 * Upstream's memfd_secret.c test_file_apis checks only that read/write/pread/
 * pwrite fail; the errnos here are the VFS rules above.
 */
#include <linux/falloc.h>

#include "secretmem.h"

/* Unsized: the tests set the size themselves. */
SECRET_FIXTURE(secret_fileops, 0)

/*
 * The first size change from 0 sets the size; any later one, growing,
 * shrinking, to 0 or to the same size, is EINVAL and the size stays.
 */
TEST_F(secret_fileops, ftruncate_sets_size_once)
{
	struct stat st;

	ASSERT_EQ(0, ftruncate(self->fd, 4 * self->page));
	ASSERT_EQ(0, fstat(self->fd, &st));
	ASSERT_EQ(4 * self->page, st.st_size);
	ASSERT_ERRNO(EINVAL, ftruncate(self->fd, 4 * self->page));
	ASSERT_ERRNO(EINVAL, ftruncate(self->fd, 8 * self->page));
	ASSERT_ERRNO(EINVAL, ftruncate(self->fd, self->page));
	ASSERT_ERRNO(EINVAL, ftruncate(self->fd, 0));
	ASSERT_EQ(0, fstat(self->fd, &st));
	ASSERT_EQ(4 * self->page, st.st_size);
}

/*
 * The rule tests i_size, not "was truncated before": setting size 0 leaves the
 * file at 0, so it may still be sized, and only then is it fixed.
 */
TEST_F(secret_fileops, ftruncate_zero_keeps_it_resizable)
{
	struct stat st;

	ASSERT_EQ(0, ftruncate(self->fd, 0));
	ASSERT_EQ(0, ftruncate(self->fd, 0));
	ASSERT_EQ(0, ftruncate(self->fd, 2 * self->page));
	ASSERT_EQ(0, fstat(self->fd, &st));
	ASSERT_EQ(2 * self->page, st.st_size);
	ASSERT_ERRNO(EINVAL, ftruncate(self->fd, 3 * self->page));
}

/* No ->read/->write: no FMODE_CAN_READ/WRITE, so vfs_read/vfs_write give EINVAL, sized or not. */
TEST_F(secret_fileops, read_write_einval)
{
	char buf[64] = { 1 };

	ASSERT_ERRNO(EINVAL, read(self->fd, buf, sizeof(buf)));
	ASSERT_ERRNO(EINVAL, write(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	ASSERT_ERRNO(EINVAL, read(self->fd, buf, sizeof(buf)));
	ASSERT_ERRNO(EINVAL, write(self->fd, buf, sizeof(buf)));
	ASSERT_ERRNO(EINVAL, read(self->fd, buf, 0));
}

/* alloc_file_pseudo sets no FMODE_PREAD/PWRITE: positional I/O is ESPIPE before any read op. */
TEST_F(secret_fileops, pread_pwrite_espipe)
{
	char buf[64] = { 1 };

	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	ASSERT_ERRNO(ESPIPE, pread(self->fd, buf, sizeof(buf), 0));
	ASSERT_ERRNO(ESPIPE, pwrite(self->fd, buf, sizeof(buf), 0));
	ASSERT_ERRNO(ESPIPE, pread(self->fd, buf, sizeof(buf), self->page / 2));
	ASSERT_ERRNO(ESPIPE, pwrite(self->fd, buf, sizeof(buf), self->page / 2));
}

/* No ->llseek: not seekable, every whence is ESPIPE (vfs_llseek). */
TEST_F(secret_fileops, lseek_espipe)
{
	ASSERT_EQ(0, ftruncate(self->fd, 2 * self->page));
	ASSERT_ERRNO(ESPIPE, lseek(self->fd, 0, SEEK_SET));
	ASSERT_ERRNO(ESPIPE, lseek(self->fd, self->page, SEEK_CUR));
	ASSERT_ERRNO(ESPIPE, lseek(self->fd, 0, SEEK_END));
	ASSERT_ERRNO(ESPIPE, lseek(self->fd, 0, SEEK_DATA));
	ASSERT_ERRNO(ESPIPE, lseek(self->fd, 0, SEEK_HOLE));
}

/*
 * No ->fallocate: neither allocation nor hole punching (vfs_fallocate,
 * EOPNOTSUPP). Pages are freed only when the last reference to the file goes.
 */
TEST_F(secret_fileops, fallocate_eopnotsupp)
{
	ASSERT_EQ(0, ftruncate(self->fd, 2 * self->page));
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(self->fd, 0, 0, self->page));
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(self->fd, FALLOC_FL_KEEP_SIZE, 0, self->page));
	ASSERT_ERRNO(EOPNOTSUPP, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
					   0, self->page));
}

/* No ->fsync: vfs_fsync_range gives EINVAL. */
TEST_F(secret_fileops, fsync_einval)
{
	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	ASSERT_ERRNO(EINVAL, fsync(self->fd));
	ASSERT_ERRNO(EINVAL, fdatasync(self->fd));
}

/*
 * The memory cannot be reached through a second open: reopening
 * /proc/self/fd/N finds an inode without ->open (alloc_anon_inode), ENXIO.
 */
TEST_F(secret_fileops, proc_reopen_enxio)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->fd);
	ASSERT_ERRNO(ENXIO, open(path, O_RDWR));
	ASSERT_ERRNO(ENXIO, open(path, O_RDONLY));
}

/*
 * Seals are a shmem/hugetlb memfd feature: memfd_fcntl finds no seals on a
 * secretmem file, so F_GET_SEALS and F_ADD_SEALS are EINVAL.
 */
TEST_F(secret_fileops, seals_einval)
{
	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	ASSERT_ERRNO(EINVAL, fcntl(self->fd, F_GET_SEALS));
	ASSERT_ERRNO(EINVAL, fcntl(self->fd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_ERRNO(EINVAL, fcntl(self->fd, F_ADD_SEALS, F_SEAL_SEAL));
}

TEST_HARNESS_MAIN
