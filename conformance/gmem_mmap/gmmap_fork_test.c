// SPDX-License-Identifier: GPL-2.0
/*
 * fork() with a host mapping of guest_memfd. kvm_gmem_mmap() accepts only
 * VM_SHARED|VM_MAYSHARE mappings, so fork() duplicates them as shared mappings
 * of the same file (dup_mmap(); fork(2): "MAP_SHARED mappings are
 * shared"): parent and child see each other's writes and the parent's
 * PUNCH_HOLE, never a private copy. MADV_DONTFORK keeps a range out of the
 * child altogether (madvise(2)).
 *
 * The child reports through its exit status: 0 when everything it checked
 * held, otherwise the number of the failed check.
 */
#include <sys/wait.h>

#include "gmmap.h"

GMMAP_FIXTURE(gmmap_fork, 4, PM_MMAP_SHARED);

/* Wait for `pid`; its exit code, or 100 + signal when it died of one. */
static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

TEST_F(gmmap_fork, child_shares_data_both_ways)
{
	pid_t pid;

	gmmap_fill(self->mem, 0, self->size, 1);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (gmmap_diff(self->mem, 0, self->size, 1) != -1)
			_exit(1);
		gmmap_fill(self->mem + self->page, self->page, 2 * self->page, 2);
		_exit(0);
	}
	ASSERT_EQ(0, reap(pid));
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, self->page, 1));
	ASSERT_EQ(-1, gmmap_diff(self->mem + self->page, self->page, 2 * self->page, 2));
	ASSERT_EQ(-1, gmmap_diff(self->mem + 3 * self->page, 3 * self->page, self->page, 1));
}

/*
 * The parent punches page 1 while the child still maps it: the child reads
 * zeroes there and the old data elsewhere; what the child writes into the hole
 * (a fresh page) reaches the parent.
 */
TEST_F(gmmap_fork, punch_in_parent_seen_by_child)
{
	int go[2], done[2];
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(done));
	gmmap_fill(self->mem, 0, self->size, 3);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Only the parent writes `go`: if it dies, the read sees EOF. */
		close(go[1]);
		/* Fault everything in first, so the punch must zap the child's PTEs. */
		if (gmmap_diff(self->mem, 0, self->size, 3) != -1)
			_exit(1);
		if (write(done[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		if (gmmap_nonzero(self->mem + self->page, self->page) != -1)
			_exit(3);
		if (gmmap_diff(self->mem, 0, self->page, 3) != -1 ||
		    gmmap_diff(self->mem + 2 * self->page, 2 * self->page, 2 * self->page, 3) != -1)
			_exit(4);
		gmmap_fill(self->mem + self->page, self->page, self->page, 4);
		_exit(0);
	}
	close(go[0]);
	close(done[1]);
	ASSERT_EQ(1, read(done[0], &c, 1));
	ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       self->page, self->page));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(0, reap(pid));
	ASSERT_EQ(-1, gmmap_diff(self->mem + self->page, self->page, self->page, 4));
	close(go[1]);
	close(done[0]);
}

/* MADV_DONTFORK: the child has no mapping there (SIGSEGV); the rest is shared. */
TEST_F(gmmap_fork, dontfork_range_absent_in_child)
{
	pid_t pid;

	gmmap_fill(self->mem, 0, self->size, 5);
	ASSERT_EQ(0, madvise(self->mem + 3 * self->page, self->page, MADV_DONTFORK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (gmmap_diff(self->mem, 0, 3 * self->page, 5) != -1)
			_exit(1);
		if (pm_touch(self->mem + 3 * self->page, false) != SIGSEGV)
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(0, reap(pid));
	/* The parent keeps its mapping of that page. */
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, self->size, 5));
}

TEST_HARNESS_MAIN
