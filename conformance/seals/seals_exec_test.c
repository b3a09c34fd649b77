// SPDX-License-Identifier: GPL-2.0
/*
 * Executable and non-executable memfds (Linux 6.3): MFD_EXEC, MFD_NOEXEC_SEAL,
 * F_SEAL_EXEC and the chmod rules that follow from them.
 *
 * Sources: memfd_create(2) MFD_EXEC/MFD_NOEXEC_SEAL; mm/memfd.c
 * (SYSCALL_DEFINE2(memfd_create): NOEXEC_SEAL clears the x bits, replaces
 * F_SEAL_SEAL by F_SEAL_EXEC; memfd_add_seals: "SEAL_EXEC implies SEAL_WRITE"
 * when any x bit is set); mm/shmem.c shmem_setattr (EPERM when F_SEAL_EXEC and
 * the x bits change); observed upstream in memfd_test.c test_exec_seal,
 * test_exec_no_seal, test_noexec_seal.
 *
 * The flags are passed explicitly, so the vm.memfd_noexec default does not
 * matter, except that vm.memfd_noexec=2 forbids MFD_EXEC (SKIP with reason).
 */
#include "pm_test.h"
#include "seals.h"

FIXTURE(seals_exec) {
	int fd;
};

FIXTURE_SETUP(seals_exec)
{
	int err = seals_exec_support();

	self->fd = -1;
	if (err == EINVAL)
		SKIP(return, "MFD_EXEC not supported (memfd_create(MFD_EXEC) -> EINVAL)");
	if (err == EACCES)
		SKIP(return, "vm.memfd_noexec=2 in this PID namespace forbids MFD_EXEC");
	ASSERT_EQ(0, err);
}

FIXTURE_TEARDOWN(seals_exec)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* MFD_EXEC: mode 0777; without MFD_ALLOW_SEALING the only seal is F_SEAL_SEAL. */
TEST_F(seals_exec, mfd_exec_mode_0777)
{
	self->fd = memfd_create("seals_exec", MFD_CLOEXEC | MFD_EXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0777, seals_mode(self->fd));
	ASSERT_EQ(F_SEAL_SEAL, seals_get(self->fd));
	ASSERT_ERRNO(EPERM, fcntl(self->fd, F_ADD_SEALS, F_SEAL_EXEC));
	/* Not sealed: the x bits may be changed at will. */
	ASSERT_EQ(0, fchmod(self->fd, 0666));
	ASSERT_EQ(0, fchmod(self->fd, 0755));
	ASSERT_EQ(0755, seals_mode(self->fd));
}

/*
 * MFD_NOEXEC_SEAL: mode 0666 and exactly F_SEAL_EXEC, also without
 * MFD_ALLOW_SEALING (it implies sealing: F_SEAL_SEAL is cleared). chmod may not
 * add x bits (EPERM); a mode change that leaves them alone (0600) is fine.
 */
TEST_F(seals_exec, noexec_seal_mode_0666)
{
	static const unsigned int flags[] = { 0, MFD_ALLOW_SEALING };

	for (size_t i = 0; i < 2; i++) {
		int fd = memfd_create("seals_exec", MFD_CLOEXEC | MFD_NOEXEC_SEAL | flags[i]);

		ASSERT_LE(0, fd);
		ASSERT_EQ(0666, seals_mode(fd));
		ASSERT_EQ(F_SEAL_EXEC, seals_get(fd));
		ASSERT_ERRNO(EPERM, fchmod(fd, 0777));
		ASSERT_ERRNO(EPERM, fchmod(fd, 0700));
		ASSERT_EQ(0, fchmod(fd, 0600));
		ASSERT_EQ(0600, seals_mode(fd));
		/* Sealing stays open: F_SEAL_EXEC is not F_SEAL_SEAL. */
		ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
		ASSERT_EQ(F_SEAL_EXEC | F_SEAL_SHRINK, seals_get(fd));
		close(fd);
	}
}

/* memfd_test.c test_exec_seal: after F_SEAL_EXEC on a 0666 file only x-neutral chmods pass. */
TEST_F(seals_exec, exec_seal_blocks_chmod_x)
{
	static const mode_t refused[] = { 0777, 0670, 0605, 0700, 0100 };

	self->fd = memfd_create("seals_exec", MFD_CLOEXEC | MFD_EXEC | MFD_ALLOW_SEALING);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0777, seals_mode(self->fd));
	ASSERT_EQ(0, seals_get(self->fd));
	ASSERT_EQ(0, fchmod(self->fd, 0666));
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_EXEC));
	/* No x bit was set, so F_SEAL_EXEC came alone. */
	ASSERT_EQ(F_SEAL_EXEC, seals_get(self->fd));
	ASSERT_EQ(0, fchmod(self->fd, 0600));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (fchmod(self->fd, refused[i]) != -1)
			TH_LOG("chmod 0%o accepted after F_SEAL_EXEC", refused[i]);
		ASSERT_ERRNO(EPERM, fchmod(self->fd, refused[i]));
	}
	ASSERT_EQ(0600, seals_mode(self->fd));
}

/*
 * mm/memfd.c memfd_add_seals: F_SEAL_EXEC on a file with x bits (0700 here)
 * also adds SHRINK|GROW|WRITE|FUTURE_WRITE, making it W^X: no more writes.
 */
TEST_F(seals_exec, exec_seal_on_executable_implies_wx)
{
	self->fd = memfd_create("seals_exec", MFD_CLOEXEC | MFD_EXEC | MFD_ALLOW_SEALING);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, getpagesize()));
	ASSERT_EQ(0, fchmod(self->fd, 0700));
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_EXEC));
	ASSERT_EQ(F_SEAL_EXEC | SEALS_WX, seals_get(self->fd));
	ASSERT_ERRNO(EPERM, write(self->fd, "x", 1));
	ASSERT_ERRNO(EPERM, ftruncate(self->fd, 2 * getpagesize()));
	ASSERT_ERRNO(EPERM, ftruncate(self->fd, 0));
	ASSERT_EQ(MAP_FAILED, mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE, MAP_SHARED,
				   self->fd, 0));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(0700, seals_mode(self->fd));
}

TEST_HARNESS_MAIN
