// SPDX-License-Identifier: GPL-2.0
/*
 * memfd_create(2) and memfd_secret(2) have no capability query: what a kernel
 * supports is what it accepts. So the honesty rule reads: every flag bit the
 * call accepts has its documented effect, every bit it does not know is EINVAL,
 * and features that arrived together are present together.
 *
 * mm/memfd.c memfd_create: without MFD_HUGETLB any bit outside MFD_ALL_FLAGS ->
 * -EINVAL (with it, bits 26-31 encode the huge page size); MFD_EXEC and
 * MFD_NOEXEC_SEAL are mutually exclusive. They came in 6.3 in one series with
 * F_SEAL_EXEC (6fd7353829ca) and vm.memfd_noexec ("mm/memfd: introduce
 * MFD_NOEXEC_SEAL and MFD_EXEC" v8).
 * The detailed seal rows are in conformance/seals (README, capability table).
 */
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include "capability.h"

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT	26
#endif
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB	(21U << MFD_HUGE_SHIFT)
#endif

/* Every flag memfd_create has had (6.3 added the last two). */
#define KNOWN_MFD	(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC)

static long meminfo_kib(const char *key)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key), NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* vm.memfd_noexec in this PID namespace; -1 where the kernel has none (before 6.3). */
static int memfd_noexec(void)
{
	int v = -1;
	FILE *f = fopen("/proc/sys/vm/memfd_noexec", "r");

	if (f && fscanf(f, "%d", &v) != 1)
		v = -1;
	if (f)
		fclose(f);
	return v;
}

FIXTURE(cap_mfd) {
	int noexec;	/* vm.memfd_noexec, -1 without */
};

FIXTURE_SETUP(cap_mfd)
{
	self->noexec = memfd_noexec();
}

FIXTURE_TEARDOWN(cap_mfd)
{
}

/* Every single bit 0..31 outside the known flags: -1/EINVAL, alone and with CLOEXEC|ALLOW_SEALING. */
TEST_F(cap_mfd, unknown_bits_einval)
{
	for (int bit = 0; bit < 32; bit++) {
		unsigned int flag = 1U << bit;

		if (flag & KNOWN_MFD)
			continue;
		for (int with = 0; with < 2; with++) {
			unsigned int flags = flag | (with ? MFD_CLOEXEC | MFD_ALLOW_SEALING : 0);
			int fd, err;

			errno = 0;
			fd = memfd_create("cap_mfd", flags);
			err = fd < 0 ? errno : 0;
			if (fd >= 0)
				close(fd);
			if (fd != -1 || err != EINVAL)
				TH_LOG("memfd_create(0x%x), bit %d unknown: %d/%s, want -1/EINVAL", flags,
				       bit, fd, err ? strerrorname_np(err) : "0");
			ASSERT_EQ(-1, fd);
			ASSERT_EQ(EINVAL, err);
		}
	}
}

/*
 * The seals a new memfd starts with (mm/memfd.c memfd_create): F_SEAL_SEAL
 * unless MFD_ALLOW_SEALING; with MFD_NOEXEC_SEAL, or vm.memfd_noexec >= 1 and no
 * MFD_EXEC, F_SEAL_EXEC and sealable.
 */
static int initial_seals(unsigned int flags, int noexec)
{
	if ((flags & MFD_NOEXEC_SEAL) || (noexec >= 1 && !(flags & MFD_EXEC)))
		return F_SEAL_EXEC;
	return flags & MFD_ALLOW_SEALING ? 0 : F_SEAL_SEAL;
}

/*
 * Each known flag memfd_create accepts has its effect, against the same call
 * without it: MFD_CLOEXEC -> FD_CLOEXEC; MFD_ALLOW_SEALING -> starts unsealed
 * and F_ADD_SEALS(F_SEAL_SHRINK) works (without: F_SEAL_SEAL); MFD_HUGETLB ->
 * hugetlbfs (f_type HUGETLBFS_MAGIC, st_blksize the default huge page size;
 * MFD_HUGE_2MB -> 2 MiB) instead of tmpfs with 4 KiB; MFD_NOEXEC_SEAL -> seals
 * F_SEAL_EXEC, mode 0666; MFD_EXEC -> mode 0777, F_SEAL_SEAL. A refusal must be
 * the kernel not knowing it (EINVAL), hugetlbfs missing (ENOSYS/ENODEV) or
 * vm.memfd_noexec=2 for MFD_EXEC (EACCES).
 */
TEST_F(cap_mfd, accepted_flags_have_effect)
{
	static const unsigned int flags[] = {
		MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB, MFD_HUGETLB | MFD_HUGE_2MB,
		MFD_NOEXEC_SEAL, MFD_EXEC,
	};
	long huge = meminfo_kib("Hugepagesize:") * 1024;

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		unsigned int f = flags[i];
		struct statfs sfs;
		struct stat st;
		int fd, seals;

		errno = 0;
		fd = memfd_create("cap_mfd", f);
		if (fd < 0) {
			int err = errno;

			TH_LOG("memfd_create(0x%x) refused: %s", f, strerrorname_np(err));
			if (f & MFD_HUGETLB) {
				ASSERT_TRUE(err == EINVAL || err == ENOSYS || err == ENODEV);
			} else if (f == MFD_EXEC && self->noexec == 2) {
				ASSERT_EQ(EACCES, err);
			} else {
				/* MFD_CLOEXEC and MFD_ALLOW_SEALING exist since 3.17. */
				ASSERT_TRUE(f & (MFD_EXEC | MFD_NOEXEC_SEAL));
				ASSERT_EQ(EINVAL, err);
			}
			continue;
		}
		ASSERT_EQ(0, fstat(fd, &st));
		ASSERT_EQ(0, fstatfs(fd, &sfs));
		seals = fcntl(fd, F_GET_SEALS);
		TH_LOG("memfd_create(0x%x): f_type 0x%lx, st_blksize %ld, mode 0%o, seals 0x%x", f,
		       (long)sfs.f_type, (long)st.st_blksize, st.st_mode & 07777, seals);
		ASSERT_EQ(!!(f & MFD_CLOEXEC), !!(fcntl(fd, F_GETFD) & FD_CLOEXEC));
		if (f & MFD_HUGETLB) {
			ASSERT_EQ(HUGETLBFS_MAGIC, (unsigned long)sfs.f_type);
			ASSERT_EQ(f & MFD_HUGE_2MB ? 2L << 20 : huge, (long)st.st_blksize);
		} else {
			ASSERT_EQ(TMPFS_MAGIC, (unsigned long)sfs.f_type);
			ASSERT_EQ(getpagesize(), (long)st.st_blksize);
		}
		if (f & MFD_NOEXEC_SEAL)
			ASSERT_EQ(0666, st.st_mode & 07777);
		if (f & MFD_EXEC)
			ASSERT_EQ(0777, st.st_mode & 07777);
		ASSERT_EQ(initial_seals(f, self->noexec), seals);
		if (f == MFD_ALLOW_SEALING) {
			ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK));
			ASSERT_EQ(initial_seals(f, self->noexec) | F_SEAL_SHRINK,
				  fcntl(fd, F_GET_SEALS));
		}
		close(fd);
	}
	/* The baseline the flags are compared with: no FD_CLOEXEC, not sealable. */
	{
		int fd = memfd_create("cap_mfd", 0);

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
		ASSERT_EQ(initial_seals(0, self->noexec), fcntl(fd, F_GET_SEALS));
		close(fd);
	}
}

/*
 * The exec controls are one feature (6.3): MFD_NOEXEC_SEAL is accepted iff
 * MFD_EXEC is (or refused with EACCES only under vm.memfd_noexec=2) iff
 * F_ADD_SEALS(F_SEAL_EXEC) works on a sealable memfd iff vm.memfd_noexec exists.
 * Without it all three are EINVAL and there is no sysctl.
 */
TEST_F(cap_mfd, exec_flags_consistent)
{
	int noexec_fd, exec_fd, exec_err, seal_fd, seal_ret, seal_err;
	bool noexec_ok, exec_ok, seal_ok;

	errno = 0;
	noexec_fd = memfd_create("cap_mfd", MFD_NOEXEC_SEAL);
	noexec_ok = noexec_fd >= 0;
	ASSERT_TRUE(noexec_ok || errno == EINVAL);
	errno = 0;
	exec_fd = memfd_create("cap_mfd", MFD_EXEC);
	exec_err = exec_fd < 0 ? errno : 0;
	exec_ok = exec_fd >= 0 || (exec_err == EACCES && self->noexec == 2);
	seal_fd = memfd_create("cap_mfd", MFD_ALLOW_SEALING);
	ASSERT_LE(0, seal_fd);
	errno = 0;
	seal_ret = fcntl(seal_fd, F_ADD_SEALS, F_SEAL_EXEC);
	seal_err = seal_ret ? errno : 0;
	seal_ok = seal_ret == 0;
	TH_LOG("MFD_NOEXEC_SEAL %s, MFD_EXEC %s, F_SEAL_EXEC %s, vm.memfd_noexec %d",
	       noexec_ok ? "accepted" : "EINVAL", exec_fd >= 0 ? "accepted" :
	       strerrorname_np(exec_err), seal_ok ? "added" : strerrorname_np(seal_err),
	       self->noexec);
	ASSERT_EQ(noexec_ok, exec_ok);
	ASSERT_EQ(noexec_ok, seal_ok);
	ASSERT_EQ(noexec_ok, self->noexec >= 0);
	if (!exec_ok)
		ASSERT_EQ(EINVAL, exec_err);
	if (!seal_ok)
		ASSERT_EQ(EINVAL, seal_err);
	if (noexec_fd >= 0)
		close(noexec_fd);
	if (exec_fd >= 0)
		close(exec_fd);
	close(seal_fd);
}

/*
 * memfd_secret(2) availability is all or nothing (mm/secretmem.c: -ENOSYS when
 * secretmem.enable=0 or the direct map cannot be changed, before looking at
 * flags): flags 0 and O_CLOEXEC give an fd both or -1/ENOSYS both. Available ->
 * ftruncate(2 pages), MAP_SHARED, data written through one mapping reads back
 * through a second. Unavailable -> SKIP with the reason after the check.
 */
FIXTURE(cap_secretmem) {};
FIXTURE_SETUP(cap_secretmem) {}
FIXTURE_TEARDOWN(cap_secretmem) {}

TEST_F(cap_secretmem, available_works_or_enosys)
{
	size_t size = 2 * CAP_PAGE;
	int fd, fd2, err, err2;
	uint64_t *m1, *m2;

	errno = 0;
	fd = syscall(SYS_memfd_secret, 0);
	err = fd < 0 ? errno : 0;
	errno = 0;
	fd2 = syscall(SYS_memfd_secret, O_CLOEXEC);
	err2 = fd2 < 0 ? errno : 0;
	if (fd2 >= 0)
		close(fd2);
	if ((fd >= 0) != (fd2 >= 0) || err != err2)
		TH_LOG("memfd_secret(0): %s, memfd_secret(O_CLOEXEC): %s",
		       fd >= 0 ? "fd" : strerrorname_np(err), fd2 >= 0 ? "fd" : strerrorname_np(err2));
	ASSERT_EQ(fd >= 0, fd2 >= 0);
	if (fd < 0) {
		ASSERT_EQ(ENOSYS, err);
		ASSERT_EQ(ENOSYS, err2);
		SKIP(return, "memfd_secret: ENOSYS for flags 0 and O_CLOEXEC alike "
		     "(CONFIG_SECRETMEM=n, secretmem.enable=0 or no direct map control)");
	}
	ASSERT_EQ(0, ftruncate(fd, size));
	m1 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m1 == MAP_FAILED)
		TH_LOG("memfd_secret available, its MAP_SHARED mapping: %s", strerrorname_np(errno));
	ASSERT_NE(MAP_FAILED, m1);
	m2 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m2);
	for (uint64_t i = 0; i < 2; i++) {
		ASSERT_EQ(0, pm_touch(&m1[i * CAP_PAGE / 8], true));
		m1[i * CAP_PAGE / 8] = cap_host_word(i);
	}
	for (uint64_t i = 0; i < 2; i++)
		ASSERT_EQ(cap_host_word(i), m2[i * CAP_PAGE / 8]);
	munmap(m1, size);
	munmap(m2, size);
	close(fd);
}

TEST_HARNESS_MAIN
