// SPDX-License-Identifier: GPL-2.0
/*
 * Adding seals: cumulative, idempotent, final after F_SEAL_SEAL, and impossible
 * on a memfd created without MFD_ALLOW_SEALING.
 *
 * Sources: fcntl(2) "File Sealing" (F_ADD_SEALS adds to the set; EPERM once
 * F_SEAL_SEAL is set); memfd_create(2) MFD_ALLOW_SEALING ("the initial set of
 * seals is F_SEAL_SEAL" without it); mm/memfd.c memfd_add_seals; observed
 * upstream in memfd_test.c test_basic.
 */
#include "pm_test.h"
#include "seals.h"

FIXTURE(seals_add) {
	int fd;
};

FIXTURE_SETUP(seals_add)
{
	self->fd = seals_memfd("seals_add", getpagesize());
	if (self->fd < 0 && errno == EACCES)
		SKIP(return, "vm.memfd_noexec=2 here: every memfd comes F_SEAL_EXEC-sealed");
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(seals_add)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(seals_add, cumulative_and_idempotent)
{
	const int two = F_SEAL_SHRINK | F_SEAL_WRITE;
	const int four = two | F_SEAL_GROW | F_SEAL_SEAL;

	ASSERT_EQ(0, seals_get(self->fd));
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, two));
	ASSERT_EQ(two, seals_get(self->fd));
	/* Adding what is already there changes nothing and is not an error. */
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, two));
	ASSERT_EQ(two, seals_get(self->fd));
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SEAL));
	ASSERT_EQ(four, seals_get(self->fd));
	/* Sealed: any addition, even of a seal already set, or of none, is EPERM. */
	ASSERT_ERRNO(EPERM, fcntl(self->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	ASSERT_ERRNO(EPERM, fcntl(self->fd, F_ADD_SEALS, F_SEAL_SHRINK));
	ASSERT_ERRNO(EPERM, fcntl(self->fd, F_ADD_SEALS, 0));
	ASSERT_EQ(four, seals_get(self->fd));
}

/*
 * Without MFD_ALLOW_SEALING the file starts with F_SEAL_SEAL, so nothing can
 * be added. MFD_EXEC (6.3) is passed where known so the vm.memfd_noexec default
 * (which would imply MFD_NOEXEC_SEAL and allow sealing) cannot interfere.
 */
TEST_F(seals_add, no_sealing_without_allow_sealing)
{
	int err = seals_exec_support();
	int fd;

	fd = memfd_create("seals_add", MFD_CLOEXEC | (err == EINVAL ? 0 : MFD_EXEC));
	ASSERT_LE(0, fd);
	ASSERT_EQ(F_SEAL_SEAL, seals_get(fd));
	ASSERT_ERRNO(EPERM, fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_ERRNO(EPERM, fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW));
	ASSERT_EQ(F_SEAL_SEAL, seals_get(fd));
	/* Writes and resizes stay possible: F_SEAL_SEAL alone restricts nothing else. */
	ASSERT_EQ(0, ftruncate(fd, getpagesize()));
	ASSERT_EQ(1, write(fd, "x", 1));
	close(fd);
}

TEST_HARNESS_MAIN
