// SPDX-License-Identifier: GPL-2.0
/*
 * Seals belong to the inode, not to the fd: every fd for the file, however
 * obtained, sees and shares them. Only F_ADD_SEALS needs a writable fd.
 *
 * Sources: fcntl(2) "File Sealing" (seals are a property of the inode; adding
 * needs the file open for writing, else EPERM); mm/memfd.c memfd_add_seals
 * (FMODE_WRITE check) and memfd_file_seals_ptr (per-inode storage); observed
 * upstream in memfd_test.c test_share_dup, test_share_open, test_share_fork.
 */
#include "pm_test.h"
#include "seals.h"

FIXTURE(seals_share) {
	int fd;
	char path[64];
};

FIXTURE_SETUP(seals_share)
{
	self->fd = seals_memfd("seals_share", getpagesize());
	if (self->fd < 0 && errno == EACCES)
		SKIP(return, "vm.memfd_noexec=2 here: every memfd comes F_SEAL_EXEC-sealed");
	ASSERT_LE(0, self->fd);
	snprintf(self->path, sizeof(self->path), "/proc/self/fd/%d", self->fd);
}

FIXTURE_TEARDOWN(seals_share)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(seals_share, dup_shares_seals)
{
	int fd2 = dup(self->fd);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_EQ(F_SEAL_WRITE, seals_get(fd2));
	ASSERT_EQ(0, fcntl(fd2, F_ADD_SEALS, F_SEAL_SHRINK));
	ASSERT_EQ(F_SEAL_WRITE | F_SEAL_SHRINK, seals_get(self->fd));
	/* The seal applies whichever fd writes. */
	ASSERT_ERRNO(EPERM, write(fd2, "x", 1));
	close(fd2);
	ASSERT_EQ(F_SEAL_WRITE | F_SEAL_SHRINK, seals_get(self->fd));
}

/* A re-open through /proc/self/fd is a new file on the same inode: same seals. */
TEST_F(seals_share, reopen_shares_seals)
{
	int fd2 = open(self->path, O_RDWR);

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_GROW));
	ASSERT_EQ(F_SEAL_GROW, seals_get(fd2));
	ASSERT_EQ(0, fcntl(fd2, F_ADD_SEALS, F_SEAL_SEAL));
	ASSERT_EQ(F_SEAL_GROW | F_SEAL_SEAL, seals_get(self->fd));
	ASSERT_ERRNO(EPERM, fcntl(self->fd, F_ADD_SEALS, F_SEAL_SHRINK));
	close(fd2);
}

/* memfd_add_seals: a file not open for writing may read the seals but not add any (EPERM). */
TEST_F(seals_share, reopen_rdonly_cannot_add)
{
	int ro = open(self->path, O_RDONLY);

	ASSERT_LE(0, ro);
	ASSERT_EQ(0, seals_get(ro));
	ASSERT_ERRNO(EPERM, fcntl(ro, F_ADD_SEALS, F_SEAL_SHRINK));
	ASSERT_EQ(0, seals_get(self->fd));
	/* What the writable fd adds, the read-only one sees. */
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_EQ(F_SEAL_WRITE, seals_get(ro));
	close(ro);
}

/* A forked child holds the same open file: seals flow both ways. */
TEST_F(seals_share, fork_shares_seals)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_SHRINK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (seals_get(self->fd) != F_SEAL_SHRINK)
			_exit(SEALS_STEP_FAIL(1, "child sees seals 0x%x, want 0x%x",
					      seals_get(self->fd), F_SEAL_SHRINK));
		if (fcntl(self->fd, F_ADD_SEALS, F_SEAL_GROW))
			_exit(SEALS_STEP_FAIL(2, "child F_ADD_SEALS: %s", strerror(errno)));
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(F_SEAL_SHRINK | F_SEAL_GROW, seals_get(self->fd));
}

TEST_HARNESS_MAIN
