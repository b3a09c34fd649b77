// SPDX-License-Identifier: GPL-2.0
/*
 * Protection of host mappings of guest_memfd: PROT_EXEC and mprotect().
 *
 * guest_memfd files live on a pseudo filesystem that cannot execute: anon_inodefs
 * with SB_I_NOEXEC in 6.18 ("anon_inode: raise SB_I_NODEV and SB_I_NOEXEC",
 * 6.15), and the guest_memfd fs with SB_I_NOEXEC|MNT_NOEXEC from 6.19
 * (virt/kvm/guest_memfd.c kvm_gmem_init_fs_context/kvm_gmem_init_mount). So
 * mm/mmap.c do_mmap() refuses VM_EXEC with EPERM (path_noexec) and clears
 * VM_MAYEXEC, and mprotect(PROT_EXEC) later fails with EACCES (mm/mprotect.c).
 * Other protections behave as for any shared file mapping.
 */
#include "gmmap.h"

GMMAP_FIXTURE(gmmap_prot, 4, PM_MMAP_SHARED);

/* Host-executable guest memory would be a code-injection channel. */
TEST_F(gmmap_prot, exec_mapping_eperm)
{
	ASSERT_ERRNO(EPERM, (long)mmap(NULL, self->size, PROT_READ | PROT_EXEC, MAP_SHARED,
				       self->fd, 0));
	ASSERT_ERRNO(EPERM, (long)mmap(NULL, self->page, PROT_READ | PROT_WRITE | PROT_EXEC,
				       MAP_SHARED, self->fd, 0));
	/* Not even an executable view of a single page at an offset. */
	ASSERT_ERRNO(EPERM, (long)mmap(NULL, self->page, PROT_EXEC, MAP_SHARED, self->fd,
				       self->page));
}

TEST_F(gmmap_prot, mprotect_exec_eacces)
{
	gmmap_fill(self->mem, 0, self->size, 1);
	ASSERT_ERRNO(EACCES, mprotect(self->mem, self->page, PROT_READ | PROT_EXEC));
	ASSERT_ERRNO(EACCES, mprotect(self->mem, self->size, PROT_READ | PROT_WRITE | PROT_EXEC));
	/* The failed calls left the mapping as it was: readable, writable, same data. */
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, self->size, 1));
	ASSERT_EQ(0, pm_touch(self->mem, true));
}

/*
 * Read-only, no-access and back: protection follows mprotect() exactly, the
 * file keeps its data throughout (a second mapping sees every step).
 */
TEST_F(gmmap_prot, mprotect_tracks_protection)
{
	uint8_t *other;

	other = mmap(NULL, self->size, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, other);
	gmmap_fill(self->mem, 0, self->size, 2);

	ASSERT_EQ(0, mprotect(self->mem, self->page, PROT_READ));
	ASSERT_EQ(0, pm_touch(self->mem, false));
	ASSERT_EQ(SIGSEGV, pm_touch(self->mem, true));
	/* Only the first page changed protection. */
	ASSERT_EQ(0, pm_touch(self->mem + self->page, true));
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, self->size, 2));

	ASSERT_EQ(0, mprotect(self->mem, self->page, PROT_NONE));
	ASSERT_EQ(SIGSEGV, pm_touch(self->mem, false));
	ASSERT_EQ(-1, gmmap_diff(other, 0, self->size, 2));

	ASSERT_EQ(0, mprotect(self->mem, self->page, PROT_READ | PROT_WRITE));
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, self->page, 2));
	gmmap_fill(self->mem, 0, self->page, 3);
	ASSERT_EQ(-1, gmmap_diff(other, 0, self->page, 3));
	munmap(other, self->size);
}

TEST_HARNESS_MAIN
