// SPDX-License-Identifier: GPL-2.0
/*
 * memfd_create() name and flag validation.
 *
 * Sources: memfd_create(2) ERRORS (EFAULT: name points to invalid memory;
 * EINVAL: unknown flags, or name longer than 249 bytes without the NUL);
 * mm/memfd.c (MFD_ALL_FLAGS, MFD_NAME_MAX_LEN, SYSCALL_DEFINE2(memfd_create));
 * LTP memfd_create02 (the exact cases and errnos: NULL -> EFAULT, over-long
 * names and bad flags -> EINVAL); memfd_test.c test_create.
 */
#include "pm_test.h"
#include "seals.h"

FIXTURE(seals_create) {
	char name[4096 + 1];
};

FIXTURE_SETUP(seals_create)
{
	memset(self->name, 'a', sizeof(self->name) - 1);
	self->name[sizeof(self->name) - 1] = '\0';
}

FIXTURE_TEARDOWN(seals_create)
{
}

/* strnlen_user() on NULL faults: EFAULT, not EINVAL (LTP memfd_create02). */
TEST_F(seals_create, null_name_efault)
{
	const char *volatile name = NULL;

	ASSERT_ERRNO(EFAULT, memfd_create(name, 0));
	ASSERT_ERRNO(EFAULT, memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
}

/* A name of exactly MFD_NAME_MAX_LEN (249) bytes fits, and keeps its "memfd:" prefix. */
TEST_F(seals_create, name_max_len_accepted)
{
	char link[64], want[512];
	ssize_t n;
	int fd;

	self->name[SEALS_NAME_MAX] = '\0';
	fd = memfd_create(self->name, MFD_CLOEXEC);
	ASSERT_LE(0, fd);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, want, sizeof(want) - 1);
	ASSERT_LT(0, n);
	want[n] = '\0';
	/* d_path of the shmem file: "/memfd:<name> (deleted)". */
	ASSERT_EQ(0, strncmp(want, "/memfd:", 7));
	ASSERT_EQ(0, strncmp(want + 7, self->name, SEALS_NAME_MAX));
	ASSERT_EQ(' ', want[7 + SEALS_NAME_MAX]);
	close(fd);
}

/* One byte more, or far more, is EINVAL (not truncated). */
TEST_F(seals_create, name_too_long_einval)
{
	self->name[SEALS_NAME_MAX + 1] = '\0';
	ASSERT_ERRNO(EINVAL, memfd_create(self->name, 0));
	self->name[SEALS_NAME_MAX + 1] = 'a';
	ASSERT_ERRNO(EINVAL, memfd_create(self->name, MFD_CLOEXEC));
}

/*
 * Flags outside MFD_ALL_FLAGS (and the hugetlb size bits, which need
 * MFD_HUGETLB): EINVAL. The values are LTP memfd_create02's; none is a valid
 * flag as of 6.18 (include/uapi/linux/memfd.h: 0x1 .. 0x10, hugetlb sizes in
 * bits 26..31), so a new kernel defining one would need this row revisited.
 */
TEST_F(seals_create, bad_flags_einval)
{
	static const unsigned int bad[] = {
		(unsigned int)-500, 0x100, ~MFD_CLOEXEC, ~MFD_ALLOW_SEALING, ~0U, 0x80000000U,
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (memfd_create("seals_create", bad[i]) != -1 || errno != EINVAL)
			TH_LOG("flags 0x%x: expected -1/EINVAL, got errno %d", bad[i], errno);
		ASSERT_ERRNO(EINVAL, memfd_create("seals_create", bad[i]));
	}
}

/* MFD_EXEC and MFD_NOEXEC_SEAL contradict each other: EINVAL (mm/memfd.c, 6.3). */
TEST_F(seals_create, exec_with_noexec_seal_einval)
{
	if (seals_exec_support() == EINVAL)
		SKIP(return, "MFD_EXEC not supported (memfd_create(MFD_EXEC) -> EINVAL)");
	ASSERT_ERRNO(EINVAL, memfd_create("seals_create", MFD_EXEC | MFD_NOEXEC_SEAL));
	ASSERT_ERRNO(EINVAL, memfd_create("seals_create",
					  MFD_EXEC | MFD_NOEXEC_SEAL | MFD_ALLOW_SEALING));
}

/* The combinations LTP memfd_create02 lists as valid succeed, and yield a regular file. */
TEST_F(seals_create, valid_flags_accepted)
{
	static const unsigned int good[] = {
		0, MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_CLOEXEC | MFD_ALLOW_SEALING,
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct stat st;
		int fd = memfd_create("seals_create", good[i]);

		if (fd < 0)
			TH_LOG("flags 0x%x: %s", good[i], strerror(errno));
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, fstat(fd, &st));
		ASSERT_TRUE(S_ISREG(st.st_mode));
		ASSERT_EQ(0, st.st_size);
		ASSERT_EQ(good[i] & MFD_CLOEXEC ? FD_CLOEXEC : 0, fcntl(fd, F_GETFD));
		close(fd);
	}
}

TEST_HARNESS_MAIN
