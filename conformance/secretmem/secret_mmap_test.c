// SPDX-License-Identifier: GPL-2.0
/*
 * mmap of a memfd_secret fd: the only way to the memory. Expectations from
 * mm/secretmem.c (6.12 and newer): secretmem_mmap/_mmap_prepare refuses
 * mappings without VM_SHARED|VM_MAYSHARE (EINVAL) and marks the VMA
 * VM_DONTDUMP; secretmem_fault allocates a zeroed page (__GFP_ZERO) into the
 * file's page cache and answers offsets at or past i_size with SIGBUS
 * (vmf_error(-EINVAL)). man memfd_secret(2): "the memory areas ... are only
 * accessible to the process itself ... and are not swappable".
 */
#include "secretmem.h"

/*
 * ASan (make SANITIZE=1) intercepts mlock() and munlock() and returns 0 without
 * calling the kernel; these rows are about the kernel's answer, so sanitized
 * builds make the system calls. Normal builds call libc, which the deviant shim
 * interposes (it is not run under SANITIZE=1).
 */
#ifdef __SANITIZE_ADDRESS__
#include <sys/syscall.h>
#define mlock(addr, len)	((int)syscall(SYS_mlock, (addr), (len)))
#define munlock(addr, len)	((int)syscall(SYS_munlock, (addr), (len)))
#endif

SECRET_FIXTURE(secret_mmap, 4)

/* A private (copy-on-write) mapping would put secret data into anonymous pages. */
TEST_F(secret_mmap, map_private_einval)
{
	ASSERT_EQ(MAP_FAILED, mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_PRIVATE,
				   self->fd, 0));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(MAP_FAILED, mmap(NULL, self->page, PROT_READ, MAP_PRIVATE, self->fd, 0));
	ASSERT_EQ(EINVAL, errno);
}

/*
 * MAP_SHARED mappings are views of one page cache: data written through one
 * mapping is read through another, and survives unmapping every mapping while
 * the fd is open. Pages never written read as zero.
 */
TEST_F(secret_mmap, map_shared_round_trip)
{
	size_t data = 3 * self->page;
	uint8_t *a, *b;

	a = secret_map(self->fd, self->size, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = secret_map(self->fd, self->size, 0);
	ASSERT_NE(MAP_FAILED, b);
	for (size_t i = 0; i < data; i++)
		a[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < data; i++) {
		ASSERT_EQ((uint8_t)(i * 7 + 1), b[i]) TH_LOG("byte %zu", i);
	}
	for (size_t i = data; i < self->size; i++) {
		ASSERT_EQ(0, b[i]) TH_LOG("untouched page, byte %zu", i);
	}
	ASSERT_EQ(0, munmap(a, self->size));
	ASSERT_EQ(0, munmap(b, self->size));

	/* With no mapping left, the file keeps the data; an offset mapping of page 1 sees page 1. */
	a = secret_map(self->fd, self->page, self->page);
	ASSERT_NE(MAP_FAILED, a);
	for (size_t i = 0; i < (size_t)self->page; i++) {
		ASSERT_EQ((uint8_t)((i + self->page) * 7 + 1), a[i]) TH_LOG("byte %zu", i);
	}
	munmap(a, self->page);
}

/*
 * mmap does not check i_size, the fault does: before the size is set, and past
 * it, access is SIGBUS; pages inside it are not.
 */
TEST_F(secret_mmap, fault_past_size_sigbus)
{
	int unsized = secret_create(0);
	uint8_t *p;

	ASSERT_LE(0, unsized);
	p = secret_map(unsized, self->page, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(SIGBUS, pm_touch(p, false));
	ASSERT_EQ(SIGBUS, pm_touch(p, true));
	munmap(p, self->page);
	close(unsized);

	p = secret_map(self->fd, self->size + 2 * self->page, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pm_touch(p + self->size - self->page, true));
	ASSERT_EQ(SIGBUS, pm_touch(p + self->size, false));
	ASSERT_EQ(SIGBUS, pm_touch(p + self->size + self->page, true));
	munmap(p, self->size + 2 * self->page);

	/* A mapping that starts past the size: mmap succeeds, every access SIGBUS. */
	p = secret_map(self->fd, self->page, self->size);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(SIGBUS, pm_touch(p, false));
	munmap(p, self->page);
}

/*
 * The mapping is shared (sh) and excluded from core dumps (dd, VM_DONTDUMP, set
 * by secretmem for every mapping). Whether it is also VM_LOCKED (lo) depends on
 * the kernel's accounting model (see secret_memlock_test.c) and is only logged.
 */
TEST_F(secret_mmap, vma_shared_and_dontdump)
{
	char flags[256];
	uint8_t *p;

	p = secret_map(self->fd, self->size, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;
	ASSERT_TRUE(secret_vmflags(p, flags, sizeof(flags)));
	TH_LOG("secretmem VMA flags:%s", flags);
	ASSERT_TRUE(secret_has_flag(flags, "sh"));
	ASSERT_TRUE(secret_has_flag(flags, "dd"));
	munmap(p, self->size);
}

/*
 * mlock() cannot be applied to secretmem: mlock_fixup leaves secretmem VMAs
 * alone and the populate step's GUP refuses them (check_vma_flags: EFAULT), which
 * mlock reports as ENOMEM (__mlock_posix_error_return). munlock cannot unlock
 * them either and succeeds as a no-op. The data is untouched.
 */
TEST_F(secret_mmap, mlock_enomem)
{
	uint8_t *p;

	p = secret_map(self->fd, self->size, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 0x5a;
	ASSERT_ERRNO(ENOMEM, mlock(p, self->page));
	ASSERT_ERRNO(ENOMEM, mlock(p + self->page, self->page));
	ASSERT_ERRNO(ENOMEM, mlock2(p, self->size, MLOCK_ONFAULT));
	ASSERT_EQ(0, munlock(p, self->size));
	ASSERT_EQ(0x5a, p[0]);
	munmap(p, self->size);
}

TEST_HARNESS_MAIN
