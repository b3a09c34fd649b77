// SPDX-License-Identifier: GPL-2.0
/*
 * The seal matrix: every seal against every operation it could forbid. Each
 * variant is a sealable 4-page memfd (mode 0666) carrying exactly one seal; each
 * test one operation, which must fail with the exact errno when the seal forbids
 * it and succeed otherwise.
 *
 * Sources: fcntl(2) "File Sealing" and memfd_create(2); mm/memfd.c
 * (memfd_add_seals, memfd_check_seals_mmap), mm/shmem.c (shmem_setattr,
 * shmem_write_begin, shmem_fallocate); observed upstream behaviour in
 * tools/testing/selftests/memfd/memfd_test.c (test_seal_write/_future_write/
 * _shrink/_grow, test_exec_seal) and LTP memfd_create01.
 */
#include <linux/falloc.h>

#include "pm_test.h"
#include "seals.h"

#define PAGES	4
#define WRITES	(F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)

FIXTURE(seals_matrix) {
	int fd;
	long page;
	size_t size;
	unsigned int seal;
	char buf[64];
};

FIXTURE_VARIANT(seals_matrix) {
	unsigned int seal;
};

/* "none" is the control: every operation of the matrix succeeds on an unsealed memfd. */
FIXTURE_VARIANT_ADD(seals_matrix, none) { .seal = 0 };
FIXTURE_VARIANT_ADD(seals_matrix, seal) { .seal = F_SEAL_SEAL };
FIXTURE_VARIANT_ADD(seals_matrix, shrink) { .seal = F_SEAL_SHRINK };
FIXTURE_VARIANT_ADD(seals_matrix, grow) { .seal = F_SEAL_GROW };
FIXTURE_VARIANT_ADD(seals_matrix, write) { .seal = F_SEAL_WRITE };
FIXTURE_VARIANT_ADD(seals_matrix, future_write) { .seal = F_SEAL_FUTURE_WRITE };
FIXTURE_VARIANT_ADD(seals_matrix, exec) { .seal = F_SEAL_EXEC };

FIXTURE_SETUP(seals_matrix)
{
	self->page = getpagesize();
	self->size = PAGES * self->page;
	self->seal = variant->seal;
	memset(self->buf, 0x5a, sizeof(self->buf));
	/* F_SEAL_EXEC came with MFD_EXEC (6.3): an older kernel rejects both with EINVAL. */
	if (self->seal == F_SEAL_EXEC && seals_exec_support() == EINVAL)
		SKIP(return, "F_SEAL_EXEC not supported (memfd_create(MFD_EXEC) -> EINVAL)");
	self->fd = seals_memfd("seals_matrix", self->size);
	if (self->fd < 0 && errno == EACCES)
		SKIP(return, "vm.memfd_noexec=2 here: every memfd comes F_SEAL_EXEC-sealed");
	ASSERT_LE(0, self->fd);
	ASSERT_EQ((ssize_t)sizeof(self->buf), pwrite(self->fd, self->buf, sizeof(self->buf), 0));
	if (self->seal)
		ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, self->seal));
}

FIXTURE_TEARDOWN(seals_matrix)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Sealing adds exactly the seal asked for: none of these imply another on a 0666 file. */
TEST_F(seals_matrix, get_seals_exact)
{
	ASSERT_EQ((int)self->seal, seals_get(self->fd));
}

/* No seal restricts reading. */
TEST_F(seals_matrix, read_allowed)
{
	char got[sizeof(self->buf)];

	ASSERT_EQ((ssize_t)sizeof(got), pread(self->fd, got, sizeof(got), 0));
	ASSERT_EQ(0, memcmp(self->buf, got, sizeof(got)));
}

/* shmem_write_begin: WRITE and FUTURE_WRITE -> EPERM. */
TEST_F(seals_matrix, write_in_place)
{
	if (self->seal & WRITES) {
		ASSERT_ERRNO(EPERM, write(self->fd, "x", 1));
	} else {
		ASSERT_EQ(1, write(self->fd, "x", 1));
	}
	ASSERT_EQ((off_t)self->size, seals_size(self->fd));
}

/* A write that extends the file: WRITE/FUTURE_WRITE, and GROW, forbid it (EPERM). */
TEST_F(seals_matrix, write_past_eof)
{
	if (self->seal & (WRITES | F_SEAL_GROW)) {
		ASSERT_ERRNO(EPERM, pwrite(self->fd, "x", 1, self->size));
		ASSERT_EQ((off_t)self->size, seals_size(self->fd));
	} else {
		ASSERT_EQ(1, pwrite(self->fd, "x", 1, self->size));
		ASSERT_EQ((off_t)self->size + 1, seals_size(self->fd));
	}
}

/* shmem_setattr: SHRINK forbids a smaller size (EPERM); WRITE does not. */
TEST_F(seals_matrix, ftruncate_shrink)
{
	off_t want = self->size - self->page;

	if (self->seal & F_SEAL_SHRINK) {
		ASSERT_ERRNO(EPERM, ftruncate(self->fd, want));
		want = self->size;
	} else {
		ASSERT_EQ(0, ftruncate(self->fd, want));
	}
	ASSERT_EQ(want, seals_size(self->fd));
}

/* shmem_setattr: GROW forbids a larger size (EPERM); WRITE does not. */
TEST_F(seals_matrix, ftruncate_grow)
{
	off_t want = self->size + self->page;

	if (self->seal & F_SEAL_GROW) {
		ASSERT_ERRNO(EPERM, ftruncate(self->fd, want));
		want = self->size;
	} else {
		ASSERT_EQ(0, ftruncate(self->fd, want));
	}
	ASSERT_EQ(want, seals_size(self->fd));
}

/* shmem_fallocate: allocating beyond EOF is growth, GROW forbids it (EPERM). */
TEST_F(seals_matrix, fallocate_past_eof)
{
	if (self->seal & F_SEAL_GROW) {
		ASSERT_ERRNO(EPERM, fallocate(self->fd, 0, self->size, self->page));
		ASSERT_EQ((off_t)self->size, seals_size(self->fd));
	} else {
		ASSERT_EQ(0, fallocate(self->fd, 0, self->size, self->page));
		ASSERT_EQ((off_t)self->size + self->page, seals_size(self->fd));
	}
}

/* shmem_fallocate: a hole is a write of zeroes, WRITE/FUTURE_WRITE forbid it (EPERM). */
TEST_F(seals_matrix, punch_hole)
{
	char got[sizeof(self->buf)];
	int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	if (self->seal & WRITES) {
		ASSERT_ERRNO(EPERM, fallocate(self->fd, mode, 0, self->page));
		ASSERT_EQ((ssize_t)sizeof(got), pread(self->fd, got, sizeof(got), 0));
		ASSERT_EQ(0, memcmp(self->buf, got, sizeof(got)));
	} else {
		ASSERT_EQ(0, fallocate(self->fd, mode, 0, self->page));
		ASSERT_EQ((ssize_t)sizeof(got), pread(self->fd, got, sizeof(got), 0));
		ASSERT_EQ(0, got[0]);
	}
}

/* memfd_check_seals_mmap: no new shared writable mapping under a write seal (EPERM). */
TEST_F(seals_matrix, mmap_shared_writable)
{
	void *p = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);

	if (self->seal & WRITES) {
		ASSERT_EQ(MAP_FAILED, p);
		ASSERT_EQ(EPERM, errno);
	} else {
		ASSERT_NE(MAP_FAILED, p);
		munmap(p, self->size);
	}
}

/*
 * A read-only shared mapping is allowed, but under a write seal it loses
 * VM_MAYWRITE, so mprotect(PROT_WRITE) fails with EACCES (mm/mprotect.c).
 */
TEST_F(seals_matrix, mprotect_shared_to_writable)
{
	void *p = mmap(NULL, self->size, PROT_READ, MAP_SHARED, self->fd, 0);

	ASSERT_NE(MAP_FAILED, p);
	if (self->seal & WRITES) {
		ASSERT_ERRNO(EACCES, mprotect(p, self->size, PROT_READ | PROT_WRITE));
	} else {
		ASSERT_EQ(0, mprotect(p, self->size, PROT_READ | PROT_WRITE));
	}
	munmap(p, self->size);
}

/* A private mapping never writes the file, so every seal allows it and its writes. */
TEST_F(seals_matrix, mmap_private_writable)
{
	char *p = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	char got;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(self->buf[0], p[0]);
	p[0] = 0x11;
	ASSERT_EQ(0x11, p[0]);
	ASSERT_EQ(1, pread(self->fd, &got, 1, 0));
	ASSERT_EQ(self->buf[0], got);
	munmap(p, self->size);
}

/* memfd_add_seals: after F_SEAL_SEAL nothing can be added (EPERM); otherwise seals add up. */
TEST_F(seals_matrix, add_another_seal)
{
	unsigned int more = self->seal == F_SEAL_SHRINK ? F_SEAL_GROW : F_SEAL_SHRINK;

	if (self->seal & F_SEAL_SEAL) {
		ASSERT_ERRNO(EPERM, fcntl(self->fd, F_ADD_SEALS, more));
		ASSERT_EQ((int)self->seal, seals_get(self->fd));
	} else {
		ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, more));
		ASSERT_EQ((int)(self->seal | more), seals_get(self->fd));
	}
}

/* shmem_setattr: EXEC forbids changing any x bit (EPERM); other mode changes pass. */
TEST_F(seals_matrix, chmod_exec_bits)
{
	if (self->seal & F_SEAL_EXEC) {
		ASSERT_ERRNO(EPERM, fchmod(self->fd, 0777));
		ASSERT_EQ(0666, seals_mode(self->fd));
	} else {
		ASSERT_EQ(0, fchmod(self->fd, 0777));
		ASSERT_EQ(0777, seals_mode(self->fd));
		ASSERT_EQ(0, fchmod(self->fd, 0666));
	}
	ASSERT_EQ(0, fchmod(self->fd, 0600));
	ASSERT_EQ(0600, seals_mode(self->fd));
}

TEST_HARNESS_MAIN
