// SPDX-License-Identifier: GPL-2.0
/*
 * File operations on a guest_memfd. guest_memfd has no read/write/llseek/fsync
 * file operations (api.rst 4.142: "cannot be read or written"), so the VFS
 * answers for it; the errnos below are the VFS rules for such a file
 * (fs/read_write.c, fs/open.c), observed identical on 6.18 and read in 6.12.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "pm_test.h"

PM_GMEM_FIXTURE(fileops, 4);

/* vfs_read/vfs_write: no ->read/->write means no FMODE_CAN_READ/WRITE: EINVAL. */
TEST_F(fileops, read_einval)
{
	char buf[64];

	ASSERT_ERRNO(EINVAL, read(self->fd, buf, sizeof(buf)));
}

TEST_F(fileops, write_einval)
{
	char buf[64] = { 1 };

	ASSERT_ERRNO(EINVAL, write(self->fd, buf, sizeof(buf)));
}

/* pread/pwrite need FMODE_PREAD/PWRITE, which a file without llseek lacks: ESPIPE. */
TEST_F(fileops, pread_espipe)
{
	char buf[64];

	ASSERT_ERRNO(ESPIPE, pread(self->fd, buf, sizeof(buf), 0));
	ASSERT_ERRNO(ESPIPE, pread(self->fd, buf, sizeof(buf), self->page));
}

TEST_F(fileops, pwrite_espipe)
{
	char buf[64] = { 1 };

	ASSERT_ERRNO(ESPIPE, pwrite(self->fd, buf, sizeof(buf), 0));
	ASSERT_ERRNO(ESPIPE, pwrite(self->fd, buf, sizeof(buf), self->page));
}

/* No llseek: the file is not seekable (FMODE_LSEEK clear), ESPIPE. */
TEST_F(fileops, lseek_espipe)
{
	ASSERT_ERRNO(ESPIPE, lseek(self->fd, 0, SEEK_SET));
	ASSERT_ERRNO(ESPIPE, lseek(self->fd, self->page, SEEK_CUR));
	ASSERT_ERRNO(ESPIPE, lseek(self->fd, 0, SEEK_END));
}

/* fstat: the size given at creation, page-sized blocks (kvm_gmem_getattr). */
TEST_F(fileops, fstat_size_blksize)
{
	struct stat st;

	ASSERT_EQ(0, fstat(self->fd, &st));
	ASSERT_EQ(self->size, (size_t)st.st_size);
	ASSERT_EQ(self->page, st.st_blksize);
	ASSERT_TRUE(S_ISREG(st.st_mode));
}

/* "cannot be resized": kvm_gmem_setattr rejects every size change, even to the same size. */
TEST_F(fileops, ftruncate_einval)
{
	struct stat st;

	ASSERT_ERRNO(EINVAL, ftruncate(self->fd, 2 * self->size));
	ASSERT_ERRNO(EINVAL, ftruncate(self->fd, self->page));
	ASSERT_ERRNO(EINVAL, ftruncate(self->fd, self->size));
	ASSERT_EQ(0, fstat(self->fd, &st));
	ASSERT_EQ(self->size, (size_t)st.st_size);
}

/* No ->fsync: vfs_fsync_range returns EINVAL. */
TEST_F(fileops, fsync_einval)
{
	ASSERT_ERRNO(EINVAL, fsync(self->fd));
	ASSERT_ERRNO(EINVAL, fdatasync(self->fd));
}

/*
 * The memory cannot be reached through another open: /proc/self/fd reopen of
 * the anonymous inode fails with ENXIO (observed on 6.18 and in the research
 * notes; no_open() for an inode without ->open).
 */
TEST_F(fileops, proc_reopen_enxio)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->fd);
	ASSERT_ERRNO(ENXIO, open(path, O_RDWR));
	ASSERT_ERRNO(ENXIO, open(path, O_RDONLY));
}

/* Seals belong to memfd/shmem; on guest_memfd F_ADD_SEALS/F_GET_SEALS are EINVAL. */
TEST_F(fileops, seals_einval)
{
	ASSERT_ERRNO(EINVAL, fcntl(self->fd, F_GET_SEALS));
	ASSERT_ERRNO(EINVAL, fcntl(self->fd, F_ADD_SEALS, F_SEAL_WRITE));
}

TEST_HARNESS_MAIN
