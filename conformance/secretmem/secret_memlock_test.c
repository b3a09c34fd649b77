// SPDX-License-Identifier: GPL-2.0
/*
 * RLIMIT_MEMLOCK bounds how much secretmem a process can have: the pages are
 * unevictable and removed from the direct map, so they are charged like locked
 * memory. Upstream has charged it in two ways; the row asserts the exact
 * behaviour of the one the running kernel uses, told apart by an observable,
 * the VMA's VM_LOCKED flag ("lo" in /proc/self/smaps VmFlags):
 *
 *  VM_LOCKED model (mm/secretmem.c secretmem_mmap / secretmem_mmap_prepare,
 *  Linux 5.14 through at least 6.18, observed on 6.18): every mapping is
 *  VM_LOCKED and mmap checks mlock_future_ok(): mm->locked_vm plus the new
 *  length over RLIMIT_MEMLOCK is EAGAIN, unless CAP_IPC_LOCK. Faults are not
 *  limited further; munmap returns the budget.
 *
 *  per-page model (mm/secretmem.c secretmem_account_folio, as in the
 *  linux-source-6.12 6.12.117 tree): no VM_LOCKED; each page secretmem_fault
 *  allocates is charged to the creating user's locked_vm against the faulting
 *  task's RLIMIT_MEMLOCK, with no CAP_IPC_LOCK exemption; a page over the limit
 *  is VM_FAULT_SIGBUS. The charge goes when the file is released.
 *
 * The check runs in a child that drops to a uid of its own: that clears
 * CAP_IPC_LOCK (which exempts the VM_LOCKED model) and gives the per-page model
 * a fresh per-user counter, so nothing else root runs can change the numbers.
 */
#include <sys/resource.h>

#include "secretmem.h"

SECRET_FIXTURE(secret_memlock, 0)

#define LIMIT_PAGES 4
#define SKIP_EXIT 4

static void vm_locked_model(struct secret_report *rep, int fd, long page)
{
	uint8_t *p;

	for (int pages = LIMIT_PAGES + 1; pages <= 2 * LIMIT_PAGES; pages += LIMIT_PAGES - 1) {
		errno = 0;
		p = secret_map(fd, pages * page, 0);
		CHILD_CHECK(rep, p == MAP_FAILED, "%d-page mmap over the limit succeeded", pages);
		CHILD_CHECK(rep, errno == EAGAIN, "%d-page mmap: %s", pages, secret_errname(errno));
	}
	p = secret_map(fd, LIMIT_PAGES * page, 0);
	CHILD_CHECK(rep, p != MAP_FAILED, "mmap at the limit: %s", strerror(errno));
	for (int i = 0; i < LIMIT_PAGES; i++) {
		int sig = pm_touch(p + i * page, true);

		CHILD_CHECK(rep, sig == 0, "page %d within the limit: signal %d", i, sig);
	}
	/* The limit counts what is already mapped: not one more page. */
	errno = 0;
	CHILD_CHECK(rep, secret_map(fd, page, 0) == MAP_FAILED && errno == EAGAIN,
		    "1 more page: %s", secret_errname(errno));
	CHILD_CHECK(rep, munmap(p, LIMIT_PAGES * page) == 0, "munmap");
	p = secret_map(fd, LIMIT_PAGES * page, 0);
	CHILD_CHECK(rep, p != MAP_FAILED, "mmap after munmap: %s", strerror(errno));
}

static void per_page_model(struct secret_report *rep, int fd, long page)
{
	uint8_t *p;
	int sig, fd2;

	p = secret_map(fd, 2 * LIMIT_PAGES * page, 0);
	CHILD_CHECK(rep, p != MAP_FAILED, "mmap over the limit: %s", strerror(errno));
	for (int i = 0; i < LIMIT_PAGES; i++) {
		sig = pm_touch(p + i * page, true);
		CHILD_CHECK(rep, sig == 0, "page %d within the limit: signal %d", i, sig);
	}
	sig = pm_touch(p + LIMIT_PAGES * page, true);
	CHILD_CHECK(rep, sig == SIGBUS, "page %d over the limit: signal %d", LIMIT_PAGES, sig);
	/* Pages already charged fault again freely. */
	sig = pm_touch(p, false);
	CHILD_CHECK(rep, sig == 0, "charged page again: signal %d", sig);

	/* The charge is per user, across files. */
	fd2 = secret_create(0);
	CHILD_CHECK(rep, fd2 >= 0 && ftruncate(fd2, page) == 0, "second fd: %s", strerror(errno));
	{
		uint8_t *q = secret_map(fd2, page, 0);

		CHILD_CHECK(rep, q != MAP_FAILED, "second mmap: %s", strerror(errno));
		sig = pm_touch(q, true);
		CHILD_CHECK(rep, sig == SIGBUS, "second file over the limit: signal %d", sig);
		munmap(q, page);
	}
	close(fd2);

	/* Releasing the first file returns its charge. */
	munmap(p, 2 * LIMIT_PAGES * page);
	close(fd);
	fd = secret_create(0);
	CHILD_CHECK(rep, fd >= 0 && ftruncate(fd, LIMIT_PAGES * page) == 0, "new fd: %s",
		    strerror(errno));
	p = secret_map(fd, LIMIT_PAGES * page, 0);
	CHILD_CHECK(rep, p != MAP_FAILED, "new mmap: %s", strerror(errno));
	for (int i = 0; i < LIMIT_PAGES; i++) {
		sig = pm_touch(p + i * page, true);
		CHILD_CHECK(rep, sig == 0, "after release, page %d: signal %d", i, sig);
	}
}

static void child(struct secret_report *rep, long page)
{
	struct rlimit rl = { LIMIT_PAGES * page, LIMIT_PAGES * page };
	uid_t uid = 0x7e000000u | (getpid() & 0xffffff);	/* no other process uses it */
	char flags[256];
	uint8_t *probe;
	int fd;

	if (setrlimit(RLIMIT_MEMLOCK, &rl)) {
		snprintf(rep->msg, sizeof(rep->msg), "setrlimit(RLIMIT_MEMLOCK): %s", strerror(errno));
		_exit(SKIP_EXIT);
	}
	if (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) {
		snprintf(rep->msg, sizeof(rep->msg),
			 "cannot switch to a private uid (%s): needs CAP_SETUID/CAP_SETGID", strerror(errno));
		_exit(SKIP_EXIT);
	}
	fd = secret_create(0);
	CHILD_CHECK(rep, fd >= 0, "memfd_secret as uid %u: %s", uid, strerror(errno));
	CHILD_CHECK(rep, ftruncate(fd, 2 * LIMIT_PAGES * page) == 0, "ftruncate: %s", strerror(errno));

	/* Which model: is a (within-limit) mapping VM_LOCKED? */
	probe = secret_map(fd, page, 0);
	CHILD_CHECK(rep, probe != MAP_FAILED, "1-page mmap: %s", strerror(errno));
	CHILD_CHECK(rep, secret_vmflags(probe, flags, sizeof(flags)), "no VMA at %p", probe);
	munmap(probe, page);
	if (secret_has_flag(flags, "lo")) {
		snprintf(rep->msg, sizeof(rep->msg), "VM_LOCKED model (VmFlags:%s)", flags);
		vm_locked_model(rep, fd, page);
	} else {
		snprintf(rep->msg, sizeof(rep->msg), "per-page model (VmFlags:%s)", flags);
		per_page_model(rep, fd, page);
	}
	_exit(0);
}

TEST_F(secret_memlock, rlimit_memlock_bounds_secret_pages)
{
	struct secret_report *rep = secret_report_new();
	pid_t pid;
	int st;

	ASSERT_NE(NULL, rep);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		child(rep, self->page);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	if (WIFEXITED(st) && WEXITSTATUS(st) == SKIP_EXIT)
		SKIP(return, "%s", rep->msg);
	TH_LOG("RLIMIT_MEMLOCK %d pages: %s", LIMIT_PAGES, rep->msg);
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("wait status 0x%x", st);
	ASSERT_EQ(0, WEXITSTATUS(st));
	munmap(rep, sizeof(*rep));
}

TEST_HARNESS_MAIN
