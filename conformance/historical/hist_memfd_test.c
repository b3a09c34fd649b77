// SPDX-License-Identifier: GPL-2.0
/*
 * The memfd-shaped ancestors of guest_memfd (see historical.h for the table):
 * MFD_INACCESSIBLE, F_SEAL_INACCESSIBLE and memfd_restricted(). Each row prints
 * "verdict: <ancestor> present|absent" and passes either way; it fails only
 * when the kernel answers inconsistently: a bit accepted but neither doing what
 * the ancestor specified nor what its upstream owner does (accepted and
 * ignored), or the syscall number the ancestor claimed not serving its
 * upstream owner.
 *
 * Probes are safe on any kernel: a flag or seal bit (rejected with EINVAL when
 * unknown), and names in /proc/kallsyms. memfd_restricted's number is never
 * called as memfd_restricted (never merged: its number is not ABI); 451 is only
 * called as cachestat() when the kernel has sys_cachestat.
 */
#include "pm_test.h"
#include "historical.h"

#define HIST_VERDICT(ancestor, present, fmt, ...)				\
	TH_LOG("verdict: %s %s; " fmt, (ancestor), hist_verdict(present), ##__VA_ARGS__)

FIXTURE(hist_memfd) {
	long page;
};

FIXTURE_SETUP(hist_memfd)
{
	self->page = getpagesize();
}

FIXTURE_TEARDOWN(hist_memfd)
{
}

/* MFD_EXEC and MFD_NOEXEC_SEAL/F_SEAL_EXEC came together (6.3): either all or none. */
static bool kernel_has_exec_flags(void)
{
	int fd = memfd_create("hist", MFD_CLOEXEC | MFD_EXEC);

	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno != EINVAL;
}

/*
 * MFD_INACCESSIBLE (0x0008, Chao Peng v3..v7, 2021-12..2022-07): an fd that
 * cannot be read, written or mmapped. Upstream: KVM_CREATE_GUEST_MEMFD (6.8);
 * the bit is MFD_NOEXEC_SEAL since 6.3 (mode 0666 plus F_SEAL_EXEC).
 */
TEST_F(hist_memfd, mfd_inaccessible_flag)
{
	const char *name = "MFD_INACCESSIBLE (-> KVM_CREATE_GUEST_MEMFD, 6.8)";
	struct hist_access a;
	int fd, seals, mode;
	struct stat st;

	fd = memfd_create("hist", MFD_CLOEXEC | HIST_MFD_INACCESSIBLE);
	if (fd < 0) {
		/* Unknown bit: the kernel predates MFD_NOEXEC_SEAL, so it knows no MFD_EXEC either. */
		ASSERT_EQ(EINVAL, errno);
		ASSERT_FALSE(kernel_has_exec_flags());
		HIST_VERDICT(name, false, "flag 0x%x rejected with EINVAL", HIST_MFD_INACCESSIBLE);
		return;
	}
	ASSERT_EQ(0, ftruncate(fd, self->page));
	ASSERT_EQ(0, fstat(fd, &st));
	mode = st.st_mode & 07777;
	seals = fcntl(fd, F_GET_SEALS);
	a = hist_access(fd, self->page);
	if (hist_inaccessible(a)) {
		HIST_VERDICT(name, true, "read/write/mmap refused (%s/%s/%s)", strerrorname_np(a.read),
			     strerrorname_np(a.write), strerrorname_np(a.mmap));
	} else {
		/* Accepted without the ancestor's semantics: it must be MFD_NOEXEC_SEAL's. */
		if (seals < 0 || !(seals & F_SEAL_EXEC) || (mode & 0111))
			TH_LOG("flag 0x%x accepted and ignored: mode 0%o, seals 0x%x, read/write/mmap "
			       "%d/%d/%d", HIST_MFD_INACCESSIBLE, mode, seals, a.read, a.write, a.mmap);
		ASSERT_LE(0, seals);
		ASSERT_EQ(F_SEAL_EXEC, seals & F_SEAL_EXEC);
		ASSERT_EQ(0, mode & 0111);
		ASSERT_ERRNO(EPERM, fchmod(fd, 0777));
		HIST_VERDICT(name, false, "bit 0x%x is MFD_NOEXEC_SEAL here (mode 0%o, F_SEAL_EXEC)",
			     HIST_MFD_INACCESSIBLE, mode);
	}
	close(fd);
}

/*
 * F_SEAL_INACCESSIBLE (0x0020, v3/v4 only): the same, as a seal on a shmem
 * file. Upstream: KVM_CREATE_GUEST_MEMFD (6.8); the bit is F_SEAL_EXEC since
 * 6.3 (chmod may no longer change the x bits; data stays accessible).
 */
TEST_F(hist_memfd, f_seal_inaccessible_seal)
{
	const char *name = "F_SEAL_INACCESSIBLE (-> KVM_CREATE_GUEST_MEMFD, 6.8)";
	struct hist_access a;
	int fd, seals;
	char c = 0;

	fd = hist_memfd(self->page, 'h');
	if (fd < 0 && errno == EACCES)
		SKIP(return, "vm.memfd_noexec=2 here: no memfd without F_SEAL_EXEC to add the bit to");
	ASSERT_LE(0, fd);
	if (fcntl(fd, F_ADD_SEALS, HIST_F_SEAL_INACCESSIBLE)) {
		/* Unknown seal bit: the kernel predates F_SEAL_EXEC (and MFD_EXEC). */
		ASSERT_EQ(EINVAL, errno);
		ASSERT_FALSE(kernel_has_exec_flags());
		ASSERT_EQ(0, fcntl(fd, F_GET_SEALS));
		HIST_VERDICT(name, false, "seal 0x%x rejected with EINVAL", HIST_F_SEAL_INACCESSIBLE);
		close(fd);
		return;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals != HIST_F_SEAL_INACCESSIBLE)
		TH_LOG("seal 0x%x accepted, F_GET_SEALS reads 0x%x", HIST_F_SEAL_INACCESSIBLE, seals);
	ASSERT_EQ(HIST_F_SEAL_INACCESSIBLE, seals);
	a = hist_access(fd, self->page);
	if (hist_inaccessible(a)) {
		HIST_VERDICT(name, true, "read/write/mmap refused (%s/%s/%s)", strerrorname_np(a.read),
			     strerrorname_np(a.write), strerrorname_np(a.mmap));
	} else {
		/* Accepted without the ancestor's semantics: it must be F_SEAL_EXEC's. */
		ASSERT_EQ(1, pread(fd, &c, 1, 1));
		ASSERT_EQ('h', c);
		if (fchmod(fd, 0777) != -1 || errno != EPERM)
			TH_LOG("seal 0x%x accepted and ignored: data accessible and chmod +x allowed",
			       HIST_F_SEAL_INACCESSIBLE);
		ASSERT_ERRNO(EPERM, fchmod(fd, 0777));
		HIST_VERDICT(name, false, "bit 0x%x is F_SEAL_EXEC here (chmod +x -> EPERM)",
			     HIST_F_SEAL_INACCESSIBLE);
	}
	close(fd);
}

/*
 * memfd_restricted(flags) (v8..v10, 2022): a syscall, 451 on x86 in the
 * series. Presence: its entry point in /proc/kallsyms (control: memfd_create's).
 * Upstream: KVM_CREATE_GUEST_MEMFD (6.8); 451 went to cachestat() in 6.5, so a
 * kernel with sys_cachestat must serve cachestat there (asked with cachestat's
 * own arguments; on a kernel that had put memfd_restricted at 451 this would
 * be memfd_restricted(flags=fd), which rejects the flags).
 */
TEST_F(hist_memfd, memfd_restricted_syscall)
{
	const char *name = "memfd_restricted (-> KVM_CREATE_GUEST_MEMFD, 6.8)";
	struct hist_cachestat_range range = { 0, 3 * self->page };
	struct hist_cachestat cs = { 0 };
	struct hist_syms syms;
	char *buf;
	int fd;

	hist_syms_scan(&syms);
	if (!syms.readable)
		SKIP(return, "/proc/kallsyms unreadable (CONFIG_KALLSYMS=n?): presence cannot be probed");
	if (!syms.found[HIST_SYM_MEMFD_CREATE])
		SKIP(return, "/proc/kallsyms lacks sys_memfd_create: syscall names are not listed");
	HIST_VERDICT(name, syms.found[HIST_SYM_MEMFD_RESTRICTED],
		     "sys_memfd_restricted %s, restrictedmem_get_page %s in kallsyms",
		     syms.found[HIST_SYM_MEMFD_RESTRICTED] ? "listed" : "not listed",
		     syms.found[HIST_SYM_RESTRICTEDMEM_GET_PAGE] ? "listed" : "not listed");
	if (!syms.found[HIST_SYM_CACHESTAT]) {
		TH_LOG("no sys_cachestat (before 6.5): number %d left alone", __NR_cachestat);
		return;
	}
	fd = memfd_create("hist", MFD_CLOEXEC);
	ASSERT_LE(0, fd);
	buf = calloc(3, self->page);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(3 * self->page, pwrite(fd, buf, 3 * self->page, 0));
	free(buf);
	/* mm/filemap.c cachestat: 3 resident pages in [0, 3 pages), flags must be 0. */
	ASSERT_EQ(0, syscall(__NR_cachestat, fd, &range, &cs, 0));
	ASSERT_EQ(3, cs.nr_cache);
	ASSERT_ERRNO(EINVAL, syscall(__NR_cachestat, fd, &range, &cs, 1));
	close(fd);
}

TEST_HARNESS_MAIN
