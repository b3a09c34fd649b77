// SPDX-License-Identifier: GPL-2.0
/*
 * secretmem across fork(). A secretmem mapping is an ordinary MAP_SHARED file
 * mapping to dup_mmap (kernel/fork.c): the child gets the same VMA on the same
 * file, hence the same pages (no copy-on-write), keeps VM_DONTDUMP, and loses
 * VM_LOCKED like every inherited VMA (dup_mmap clears VM_LOCKED_MASK; man
 * mlock(2): "Memory locks are not inherited by a child created via fork").
 * MADV_DONTFORK applies as to any VMA (mm/madvise.c): the child has no mapping
 * there. man memfd_secret(2) leaves sharing to the usual fd/mapping rules.
 */
#include "secretmem.h"

SECRET_FIXTURE(secret_fork, 2)

/* The child reads the parent's data and its writes reach the parent: one set of pages. */
TEST_F(secret_fork, child_shares_pages)
{
	struct secret_report *rep = secret_report_new();
	volatile uint64_t *p;
	pid_t pid;

	ASSERT_NE(NULL, rep);
	p = secret_map(self->fd, self->size, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 0x1111;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char flags[256];

		CHILD_CHECK(rep, p[0] == 0x1111, "child read 0x%llx", (unsigned long long)p[0]);
		CHILD_CHECK(rep, p[self->page / 8] == 0, "untouched page: 0x%llx",
			    (unsigned long long)p[self->page / 8]);
		p[0] = 0x2222;
		p[self->page / 8] = 0x3333;
		CHILD_CHECK(rep, secret_vmflags((void *)p, flags, sizeof(flags)), "no VMA at %p", p);
		CHILD_CHECK(rep, secret_has_flag(flags, "dd"), "child VmFlags:%s", flags);
		CHILD_CHECK(rep, !secret_has_flag(flags, "lo"), "child VmFlags:%s", flags);
		_exit(0);
	}
	ASSERT_CHILD_OK(pid, rep);
	ASSERT_EQ(0x2222, p[0]);
	ASSERT_EQ(0x3333, p[self->page / 8]);
	munmap((void *)p, self->size);
	munmap(rep, sizeof(*rep));
}

/* With MADV_DONTFORK the child has no mapping at that address: SIGSEGV, not the data. */
TEST_F(secret_fork, dontfork_leaves_child_unmapped)
{
	struct secret_report *rep = secret_report_new();
	volatile uint64_t *p;
	pid_t pid;

	ASSERT_NE(NULL, rep);
	p = secret_map(self->fd, self->size, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 0x4444;
	ASSERT_EQ(0, madvise((void *)p, self->size, MADV_DONTFORK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int sig = pm_touch(p, false);

		CHILD_CHECK(rep, sig == SIGSEGV, "child access gave signal %d", sig);
		_exit(0);
	}
	ASSERT_CHILD_OK(pid, rep);
	ASSERT_EQ(0x4444, p[0]);
	munmap((void *)p, self->size);
	munmap(rep, sizeof(*rep));
}

TEST_HARNESS_MAIN
