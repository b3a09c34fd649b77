// SPDX-License-Identifier: GPL-2.0
/*
 * Host mmap() of guest_memfd (Linux 6.18 flags). Expectations follow the
 * variant's flags, which the kernel advertised: without GUEST_MEMFD_FLAG_MMAP
 * there is no mmap (ENODEV); with it only MAP_SHARED (EINVAL otherwise); with
 * INIT_SHARED the memory is host-faultable, without it every fault is SIGBUS.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include "pm_test.h"

PM_GMEM_FIXTURE(gmem_mmap, 4);

static void *map(int fd, size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
}

TEST_F(gmem_mmap, shared_mapping_follows_flag)
{
	void *one, *all;

	one = map(self->fd, self->page, MAP_SHARED);
	all = map(self->fd, self->size, MAP_SHARED);
	if (self->flags & GUEST_MEMFD_FLAG_MMAP) {
		ASSERT_NE(MAP_FAILED, one);
		ASSERT_NE(MAP_FAILED, all);
		munmap(one, self->page);
		munmap(all, self->size);
	} else {
		ASSERT_EQ(MAP_FAILED, one);
		ASSERT_EQ(ENODEV, errno);
		ASSERT_EQ(MAP_FAILED, all);
		ASSERT_EQ(ENODEV, errno);
	}
}

/* Copy-on-write would give the host private copies of guest memory. */
TEST_F(gmem_mmap, private_mapping_refused)
{
	void *p = map(self->fd, self->page, MAP_PRIVATE);

	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(self->flags & GUEST_MEMFD_FLAG_MMAP ? EINVAL : ENODEV, errno);
}

TEST_F(gmem_mmap, data_round_trip)
{
	uint8_t *p;

	PM_REQUIRE_FLAGS(self->flags, PM_MMAP_SHARED);
	p = map(self->fd, self->size, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	for (size_t i = 0; i < self->size; i++)
		p[i] = (uint8_t)(i * 7 + 1);
	munmap(p, self->size);

	/* A second mapping sees the same memory. */
	p = map(self->fd, self->size, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	for (size_t i = 0; i < self->size; i++)
		ASSERT_EQ((uint8_t)(i * 7 + 1), p[i]);
	munmap(p, self->size);
}

/* Punching one page zeroes it through the live mapping, and only it. */
TEST_F(gmem_mmap, punch_zeroes_only_the_range)
{
	const uint8_t fill = 0xa5;
	uint8_t *p;

	PM_REQUIRE_FLAGS(self->flags, PM_MMAP_SHARED);
	p = map(self->fd, self->size, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, fill, self->size);
	ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       self->page, self->page));
	for (size_t i = 0; i < self->size; i++) {
		bool punched = i >= (size_t)self->page && i < 2 * (size_t)self->page;

		if (p[i] != (punched ? 0 : fill))
			TH_LOG("byte %zu (page %zu) is 0x%x after punching page 1", i,
			       i / self->page, p[i]);
		ASSERT_EQ(punched ? 0 : fill, p[i]);
	}
	/* The hole refaults as a fresh page that takes new data. */
	p[self->page] = 0x5a;
	ASSERT_EQ(0x5a, p[self->page]);
	munmap(p, self->size);
}

/* A mapping larger than the file: every page at or past EOF raises SIGBUS. */
TEST_F(gmem_mmap, sigbus_past_eof)
{
	size_t map_len = 4 * self->size;
	uint8_t *p;

	PM_REQUIRE_FLAGS(self->flags, PM_MMAP_SHARED);
	p = map(self->fd, map_len, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	for (size_t off = 0; off < map_len; off += self->page) {
		int want = off < self->size ? 0 : SIGBUS;

		if (pm_touch(p + off, true) != want)
			TH_LOG("write at offset %zu: expected signal %d", off, want);
		ASSERT_EQ(want, pm_touch(p + off, true));
		ASSERT_EQ(want, pm_touch(p + off, false));
	}
	munmap(p, map_len);
}

/* MMAP without INIT_SHARED: the memory is private, so host faults are SIGBUS. */
TEST_F(gmem_mmap, sigbus_on_private_memory)
{
	uint8_t *p;

	PM_REQUIRE_FLAGS(self->flags, GUEST_MEMFD_FLAG_MMAP);
	if (self->flags & GUEST_MEMFD_FLAG_INIT_SHARED)
		SKIP(return, "not applicable: memory starts shared (INIT_SHARED)");
	p = map(self->fd, self->size, MAP_SHARED);
	ASSERT_NE(MAP_FAILED, p);
	for (size_t off = 0; off < self->size; off += self->page) {
		ASSERT_EQ(SIGBUS, pm_touch(p + off, false));
		ASSERT_EQ(SIGBUS, pm_touch(p + off, true));
	}
	munmap(p, self->size);
}

TEST_HARNESS_MAIN
