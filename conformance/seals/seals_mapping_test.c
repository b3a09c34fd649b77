// SPDX-License-Identifier: GPL-2.0
/*
 * Seals against mappings that already exist: F_SEAL_WRITE cannot be added
 * while a shared writable mapping could still write (EBUSY); private mappings
 * never write the file and do not count (and stay copy-on-write under write
 * seals); F_SEAL_FUTURE_WRITE is allowed with live writable mappings and only
 * stops new writers; the F_SEAL_WRITE that F_SEAL_EXEC implies on an
 * executable file is refused like an explicit one.
 *
 * Sources: fcntl(2) F_SEAL_WRITE ("EBUSY ... a writable, shared mapping
 * exists") and F_SEAL_FUTURE_WRITE; mm/memfd.c memfd_add_seals
 * (mapping_deny_writable) and memfd_check_seals_mmap/check_write_seal;
 * observed upstream in memfd_test.c test_share_mmap, test_seal_future_write.
 */
#include "pm_test.h"
#include "seals.h"

#define PAGES	2

FIXTURE(seals_mapping) {
	int fd;
	size_t size;
};

FIXTURE_SETUP(seals_mapping)
{
	self->size = PAGES * getpagesize();
	self->fd = seals_memfd("seals_mapping", self->size);
	if (self->fd < 0 && errno == EACCES)
		SKIP(return, "vm.memfd_noexec=2 here: every memfd comes F_SEAL_EXEC-sealed");
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(seals_mapping)
{
	if (self->fd >= 0)
		close(self->fd);
}

static char *map(int fd, size_t len, int prot, int flags)
{
	return mmap(NULL, len, prot, flags, fd, 0);
}

TEST_F(seals_mapping, shared_writable_blocks_seal_write)
{
	char *p = map(self->fd, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);

	ASSERT_NE(MAP_FAILED, p);
	p[0] = 'a';
	ASSERT_ERRNO(EBUSY, fcntl(self->fd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_EQ(0, seals_get(self->fd));
	/* The failed attempt left the mapping usable and the file writable. */
	p[1] = 'b';
	ASSERT_EQ(1, pwrite(self->fd, "c", 1, 2));
	ASSERT_EQ(0, munmap(p, self->size));
	/* Once the last writable mapping is gone the seal goes on. */
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_EQ(F_SEAL_WRITE, seals_get(self->fd));
	ASSERT_ERRNO(EPERM, pwrite(self->fd, "d", 1, 0));
}

TEST_F(seals_mapping, private_mapping_allows_seal_write)
{
	char *p = map(self->fd, self->size, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	char got;

	ASSERT_NE(MAP_FAILED, p);
	p[0] = 'a';
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_WRITE));
	ASSERT_EQ(F_SEAL_WRITE, seals_get(self->fd));
	/* The private copy stays writable and never reaches the file. */
	p[1] = 'b';
	ASSERT_EQ('a', p[0]);
	ASSERT_EQ(1, pread(self->fd, &got, 1, 0));
	ASSERT_EQ(0, got);
	ASSERT_EQ(0, munmap(p, self->size));
}

/*
 * F_SEAL_FUTURE_WRITE with a live shared writable mapping: allowed; the old
 * mapping keeps writing (the Android ashmem use case the seal was made for),
 * but write(), new writable shared maps and mprotect upgrades are refused.
 */
TEST_F(seals_mapping, future_write_keeps_live_mapping)
{
	char *p = map(self->fd, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	char *ro, got;

	ASSERT_NE(MAP_FAILED, p);
	p[0] = 'a';
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	ASSERT_EQ(F_SEAL_FUTURE_WRITE, seals_get(self->fd));
	p[0] = 'b';
	ASSERT_EQ(1, pread(self->fd, &got, 1, 0));
	ASSERT_EQ('b', got);
	ASSERT_ERRNO(EPERM, pwrite(self->fd, "c", 1, 0));
	ASSERT_EQ(MAP_FAILED, map(self->fd, self->size, PROT_READ | PROT_WRITE, MAP_SHARED));
	ASSERT_EQ(EPERM, errno);
	ro = map(self->fd, self->size, PROT_READ, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ('b', ro[0]);
	ASSERT_ERRNO(EACCES, mprotect(ro, self->size, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, munmap(ro, self->size));
	ASSERT_EQ(0, munmap(p, self->size));
}

/*
 * F_SEAL_EXEC on a file with any x bit implies SHRINK|GROW|WRITE|FUTURE_WRITE
 * (W^X, seals_exec.exec_seal_on_executable_implies_wx), and the implied
 * F_SEAL_WRITE is checked like an explicit one: with a live shared writable
 * mapping the whole F_ADD_SEALS fails with EBUSY and adds nothing.
 * mm/memfd.c memfd_add_seals widens `seals` before mapping_deny_writable()
 * since 3b041514cb6e ("memfd: deny writeable mappings when implying
 * SEAL_WRITE", v7.1; 6.12.93); before it the call returned 0, F_GET_SEALS
 * showed F_SEAL_WRITE and the old mapping still wrote the file. The implication
 * tests `inode->i_mode & 0111` only (any one x bit, whatever created the file):
 * on a 0666 file F_SEAL_EXEC comes alone and a writable mapping is no obstacle.
 */
TEST_F(seals_mapping, exec_seal_busy_iff_executable)
{
	static const mode_t exec_modes[] = { 0777, 0100, 0010, 0001 };
	char *p, got;
	int ret;

	if (seals_exec_support() == EINVAL)
		SKIP(return, "F_SEAL_EXEC not supported (memfd_create(MFD_EXEC) -> EINVAL)");
	for (size_t i = 0; i < sizeof(exec_modes) / sizeof(exec_modes[0]); i++) {
		mode_t mode = exec_modes[i];
		int fd = seals_memfd("seals_mapping", self->size);

		ASSERT_LE(0, fd);
		ASSERT_EQ(0, fchmod(fd, mode));
		p = map(fd, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
		ASSERT_NE(MAP_FAILED, p);
		p[0] = 'a';
		errno = 0;
		ret = fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC);
		ASSERT_EQ(-1, ret) TH_LOG("mode 0%o: F_ADD_SEALS(F_SEAL_EXEC) -> %d, seals now 0x%x",
					  mode, ret, seals_get(fd));
		ASSERT_EQ(EBUSY, errno) TH_LOG("mode 0%o: %s", mode, strerrorname_np(errno));
		ASSERT_EQ(0, seals_get(fd)) TH_LOG("mode 0%o", mode);
		ASSERT_EQ((int)mode, seals_mode(fd));
		/* Nothing was sealed: the mapping and write() still change the file. */
		p[0] = 'b';
		ASSERT_EQ(1, pread(fd, &got, 1, 0));
		ASSERT_EQ('b', got);
		ASSERT_EQ(1, pwrite(fd, "c", 1, 1));
		ASSERT_EQ(0, munmap(p, self->size));
		/* Without the mapping the same call adds all five seals. */
		ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, F_SEAL_EXEC)) TH_LOG("mode 0%o", mode);
		ASSERT_EQ(F_SEAL_EXEC | SEALS_WX, seals_get(fd)) TH_LOG("mode 0%o", mode);
		ASSERT_ERRNO(EPERM, pwrite(fd, "d", 1, 0));
		close(fd);
	}

	/* No x bit: nothing implied, the live writable mapping does not matter. */
	ASSERT_EQ(0666, seals_mode(self->fd));
	p = map(self->fd, self->size, PROT_READ | PROT_WRITE, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 'a';
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_EXEC));
	ASSERT_EQ(F_SEAL_EXEC, seals_get(self->fd));
	p[0] = 'b';
	ASSERT_EQ(1, pread(self->fd, &got, 1, 0));
	ASSERT_EQ('b', got);
	ASSERT_EQ(1, pwrite(self->fd, "c", 1, 1));
	ASSERT_EQ(0, munmap(p, self->size));
}

/*
 * Write seals are about the file; a MAP_PRIVATE mapping never writes it, so
 * under F_SEAL_WRITE and F_SEAL_FUTURE_WRITE it stays an ordinary copy-on-write
 * mapping: only shared mappings lose VM_MAYWRITE (mm/memfd.c check_write_seal,
 * "If a private mapping then writability is irrelevant"). Hence a read-only
 * private map can be mprotect()ed writable, and fork() write-protects its
 * anonymous pages (mm/memory.c is_cow_mapping needs VM_MAYWRITE): the child's
 * store lands in the child's own copy. Fixed by 05d351102dbe ("mm, memfd: fix
 * COW issue on MAP_PRIVATE and F_SEAL_FUTURE_WRITE mappings", v5.5; the check
 * covers F_SEAL_WRITE too since 6.7); before it the parent read the child's
 * value and the mprotect failed EACCES. memfd_test.c mfd_assert_fork_private_write.
 */
TEST_F(seals_mapping, private_map_stays_cow_under_write_seals)
{
	static const unsigned int seals[] = { F_SEAL_WRITE, F_SEAL_FUTURE_WRITE };

	for (size_t i = 0; i < 2; i++) {
		int fd = seals_memfd("seals_mapping", self->size), status;
		char *p, *q, got;
		pid_t pid;

		ASSERT_LE(0, fd);
		ASSERT_EQ(1, pwrite(fd, "f", 1, 0));
		ASSERT_EQ(0, fcntl(fd, F_ADD_SEALS, seals[i]));
		p = map(fd, self->size, PROT_READ | PROT_WRITE, MAP_PRIVATE);
		ASSERT_NE(MAP_FAILED, p) TH_LOG("seal 0x%x", seals[i]);
		ASSERT_EQ('f', p[0]);
		/* The first store breaks CoW; it must not fault (the mutant's kernel SIGSEGVs). */
		ASSERT_EQ(0, pm_touch(p, true)) TH_LOG("seal 0x%x: a store through the MAP_PRIVATE "
						       "map raised signal %d", seals[i], pm_touch(p, true));
		p[0] = 22;

		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			/* The child starts with the parent's private copy and writes its own. */
			if (p[0] != 22)
				_exit(2);
			if (pm_touch(p, true))
				_exit(4);
			p[0] = 33;
			_exit(p[0] == 33 ? 0 : 3);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("seal 0x%x: child saw %s", seals[i],
						       WEXITSTATUS(status) == 2 ? "not 22" :
						       WEXITSTATUS(status) == 4 ? "a fault on its store" : "its store lost");
		ASSERT_EQ(22, p[0]) TH_LOG("seal 0x%x: the child's store reached the parent", seals[i]);

		/* Read-only private map: keeps VM_MAYWRITE, so it may become writable. */
		q = map(fd, self->size, PROT_READ, MAP_PRIVATE);
		ASSERT_NE(MAP_FAILED, q);
		ASSERT_EQ(0, mprotect(q, self->size, PROT_READ | PROT_WRITE))
			TH_LOG("seal 0x%x: %s", seals[i], strerror(errno));
		ASSERT_EQ(0, pm_touch(q, true)) TH_LOG("seal 0x%x: a store through the map made "
						       "writable raised a signal", seals[i]);
		q[0] = 55;
		ASSERT_EQ(55, q[0]);
		ASSERT_EQ(22, p[0]);
		/* Neither private copy reached the file. */
		ASSERT_EQ(1, pread(fd, &got, 1, 0));
		ASSERT_EQ('f', got);
		ASSERT_EQ(seals[i], (unsigned int)seals_get(fd));
		ASSERT_EQ(0, munmap(q, self->size));
		ASSERT_EQ(0, munmap(p, self->size));
		close(fd);
	}
}

TEST_HARNESS_MAIN
