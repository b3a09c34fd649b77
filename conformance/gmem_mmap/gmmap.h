/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the gmem_mmap collection shares: a fixture with one VM, one guest_memfd
 * and a MAP_SHARED read-write mapping of all of it, run once per VM type, and
 * byte patterns that say which page a byte came from.
 *
 * Every row needs the host to be able to map the memory: the VM type must
 * advertise GUEST_MEMFD_FLAG_MMAP|GUEST_MEMFD_FLAG_INIT_SHARED in
 * KVM_CAP_GUEST_MEMFD_FLAGS (api.rst 4.141, Linux 6.18), else the row SKIPs
 * with that reason. Upstream 6.18 advertises INIT_SHARED only for VM types
 * without private memory (kvm_arch_supports_gmem_init_shared), so on x86 only
 * the default VM runs them today; the other variants are there for kernels
 * that let CoCo VM types share guest_memfd memory with the host.
 */
#ifndef PRIVMEM_GMMAP_H
#define PRIVMEM_GMMAP_H

#include <fcntl.h>
#include <linux/falloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "pm_test.h"

/* ABI numbers newer than the 6.12 uapi / glibc 2.36 headers (to move to lib/compat.h). */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25		/* Linux 6.1, include/uapi/asm-generic/mman-common.h */
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22		/* Linux 5.14, same file */
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4		/* Linux 5.7, include/uapi/linux/mman.h */
#endif
#ifndef GUEST_MEMFD_MAGIC
#define GUEST_MEMFD_MAGIC 0x474d454d	/* "GMEM", include/uapi/linux/magic.h, Linux 6.19 */
#endif

/* Every VM type, each needing MMAP|INIT_SHARED (or `flags`) for it. */
#define GMMAP_VARIANTS(fixture, flags) PM_GMEM_VARIANTS(fixture, , (flags))

/*
 * A VM, a guest_memfd of `pages` pages created with the variant's flags, and
 * `mem`: a MAP_SHARED PROT_READ|PROT_WRITE mapping of the whole file. A test
 * that moves or unmaps `mem` updates it (MAP_FAILED when gone).
 */
#define GMMAP_FIXTURE(name, pages, flags)						\
	FIXTURE(name) {									\
		const struct pm_platform *p;						\
		struct pm_vm *vm;							\
		int fd;									\
		size_t page, size;							\
		uint8_t *mem;								\
	};										\
	FIXTURE_VARIANT(name) { struct pm_need need; };					\
	GMMAP_VARIANTS(name, flags);							\
	FIXTURE_SETUP(name)								\
	{										\
		self->fd = -1;								\
		self->mem = MAP_FAILED;							\
		self->page = getpagesize();						\
		self->size = (pages) * self->page;					\
		PM_SETUP_VM(&variant->need, self->p, self->vm);				\
		self->fd = pm_platform_private_mem(self->p, self->vm, self->size,	\
						       variant->need.gmem_flags);	\
		ASSERT_LE(0, self->fd);							\
		self->mem = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,	\
				 self->fd, 0);						\
		ASSERT_NE(MAP_FAILED, self->mem);					\
	}										\
	FIXTURE_TEARDOWN(name)								\
	{										\
		if (self->mem != MAP_FAILED)						\
			munmap(self->mem, self->size);					\
		if (self->fd >= 0)							\
			close(self->fd);						\
		pm_vm_free(self->vm);							\
	}

/* The byte at file offset `off` in fill round `seed` (never 0, so zeroes stand out). */
static inline uint8_t gmmap_byte(size_t off, unsigned int seed)
{
	return (uint8_t)((off / 4096 + 1) * 0x11 + seed * 0x29 + off % 251) | 1;
}

/* Fill [p, p+len) as file offsets [off, off+len). */
static inline void gmmap_fill(volatile uint8_t *p, size_t off, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = gmmap_byte(off + i, seed);
}

/* Index of the first byte that differs from the pattern, or -1. */
static inline long gmmap_diff(const volatile uint8_t *p, size_t off, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != gmmap_byte(off + i, seed))
			return (long)i;
	return -1;
}

/* Index of the first non-zero byte, or -1. */
static inline long gmmap_nonzero(const volatile uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return (long)i;
	return -1;
}

/*
 * The harness forks every row; probing the machine once in the parent (KVM
 * caps, kconfig, perf) spares each row that cost. Results are the same.
 */
__attribute__((constructor)) static void gmmap_warm_caps(void)
{
	pm_caps();
}

#endif
