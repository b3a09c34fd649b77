// SPDX-License-Identifier: GPL-2.0
/*
 * Seals against mappings that already exist: F_SEAL_WRITE cannot be added
 * while a shared writable mapping could still write (EBUSY); private mappings
 * never write the file and do not count; F_SEAL_FUTURE_WRITE is allowed with
 * live writable mappings and only stops new writers.
 *
 * Sources: fcntl(2) F_SEAL_WRITE ("EBUSY ... a writable, shared mapping
 * exists") and F_SEAL_FUTURE_WRITE; mm/memfd.c memfd_add_seals
 * (mapping_deny_writable) and memfd_check_seals_mmap; observed upstream in
 * memfd_test.c test_share_mmap, test_seal_future_write.
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

TEST_HARNESS_MAIN
