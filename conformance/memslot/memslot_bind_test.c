// SPDX-License-Identifier: GPL-2.0
/*
 * What KVM_SET_USER_MEMORY_REGION2 accepts as a guest_memfd binding: the fd
 * (a guest_memfd of this VM, else EINVAL; no open file at all, EBADF), the
 * range [guest_memfd_offset, +memory_size) (page aligned, inside the file, not
 * wrapping), the slot geometry, and the padding it does not look at.
 * api.rst 4.140; kvm_main.c kvm_set_memory_region() and guest_memfd.c
 * kvm_gmem_bind() (6.12 and 6.18 agree on every errno here). Upstream's
 * set_memory_region_test.c test_invalid_guest_memfd() covers the fd kinds and
 * unaligned offsets; the rest has no upstream test.
 *
 * Every failing call differs from a binding the same test shows to succeed
 * in one field only.
 */
#include "memslot.h"

#define GMEM_PAGES 16

MS_FIXTURE(memslot_bind, GMEM_PAGES, PM_GMEM_FLAG_VARIANTS);

/* Bind the fixture's gmem at [off, off+size) and remove the slot again. */
static int bind_and_delete(FIXTURE_DATA(memslot_bind) *self, uint64_t size, uint64_t off)
{
	int ret = ms_bind(self, MS_SLOT, MS_GPA, size, off);

	if (ret == 0 && ms_delete(self, MS_SLOT))
		return -1;
	return ret;
}

/* "must point at a file created via KVM_CREATE_GUEST_MEMFD": kvm_gmem_bind() checks f_op. */
TEST_F(memslot_bind, non_gmem_fd_einval)
{
	int memfd = memfd_create("privmem-memslot", MFD_CLOEXEC);

	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, self->size));
	ASSERT_ERRNO(EINVAL, pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA,
					    self->size, self->hva, self->vm->kvm_fd, 0));
	ASSERT_ERRNO(EINVAL, pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA,
					    self->size, self->hva, self->vm->fd, 0));
	ASSERT_ERRNO(EINVAL, pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA,
					    self->size, self->hva, memfd, 0));
	close(memfd);
	ASSERT_EQ(0, bind_and_delete(self, self->size, 0));
}

/* "... on the current VM": kvm_gmem_bind() compares the gmem's kvm with the slot's. */
TEST_F(memslot_bind, other_vm_gmem_einval)
{
	struct pm_vm *other = pm_platform_vm(self->p);
	int fd;

	ASSERT_NE(NULL, other);
	fd = pm_platform_private_mem(self->p, other, self->size, self->flags);
	ASSERT_LE(0, fd);
	ASSERT_ERRNO(EINVAL, pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA,
					    self->size, self->hva, fd, 0));
	/* It binds in its own VM. */
	ASSERT_EQ(0, pm_set_region2(other, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA, self->size,
				    self->hva, fd, 0));
	close(fd);
	pm_vm_free(other);
	ASSERT_EQ(0, bind_and_delete(self, self->size, 0));
}

/*
 * No open file behind the number: fget() fails and kvm_gmem_bind() returns
 * -EBADF (6.12 and 6.18), unlike every other bad binding (EINVAL). Both a
 * just-closed number and ~0 (the u32 field given -1).
 */
TEST_F(memslot_bind, bad_fd_ebadf)
{
	int closed = dup(self->gmem);

	ASSERT_LE(0, closed);
	ASSERT_EQ(0, close(closed));
	ASSERT_ERRNO(EBADF, pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA,
					   self->size, self->hva, closed, 0));
	ASSERT_ERRNO(EBADF, pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA,
					   self->size, self->hva, -1, 0));
	ASSERT_EQ(0, bind_and_delete(self, self->size, 0));
}

/* Offsets 1..PAGE_SIZE-1 (kvm_set_memory_region(): guest_memfd_offset & (PAGE_SIZE - 1)). */
TEST_F(memslot_bind, offset_unaligned_einval)
{
	uint64_t size = self->size - self->page;
	uint64_t bad = 0;

	for (uint64_t off = 1; off < self->page; off++) {
		errno = 0;
		if (ms_bind(self, MS_SLOT, MS_GPA, size, off) != -1 || errno != EINVAL) {
			if (!bad)
				TH_LOG("guest_memfd_offset %llu: %s", (unsigned long long)off,
				       errno ? strerrorname_np(errno) : "accepted");
			bad++;
			ms_delete(self, MS_SLOT);
		}
	}
	ASSERT_EQ(0, bad);
	ASSERT_EQ(0, bind_and_delete(self, size, self->page));
}

/* kvm_gmem_bind(): offset + size > i_size -> EINVAL; ending exactly at EOF is fine. */
TEST_F(memslot_bind, range_past_eof_einval)
{
	uint64_t half = self->size / 2;

	ASSERT_EQ(0, bind_and_delete(self, half, self->size - half));
	ASSERT_ERRNO(EINVAL, ms_bind(self, MS_SLOT, MS_GPA, half, self->size - half + self->page));
	ASSERT_ERRNO(EINVAL, ms_bind(self, MS_SLOT, MS_GPA, self->page, self->size));
	ASSERT_ERRNO(EINVAL, ms_bind(self, MS_SLOT, MS_GPA, self->size + self->page, 0));
}

/*
 * offset + size wrapping 2^64: kvm_set_memory_region() rejects the wrap before
 * kvm_gmem_bind() sees it. An offset with bit 63 set that does not wrap:
 * kvm_gmem_bind() rejects it (6.18: offset < 0 as loff_t; 6.12: past i_size).
 */
TEST_F(memslot_bind, offset_wrap_einval)
{
	ASSERT_ERRNO(EINVAL, ms_bind(self, MS_SLOT, MS_GPA, 2 * self->page, 0 - self->page));
	ASSERT_ERRNO(EINVAL, ms_bind(self, MS_SLOT, MS_GPA, self->size, 0 - self->size / 2));
	ASSERT_ERRNO(EINVAL, ms_bind(self, MS_SLOT, MS_GPA, self->page, 1ULL << 63));
	ASSERT_EQ(0, bind_and_delete(self, self->size, 0));
}

/*
 * An offset just below 2^63 whose sum with the size does not wrap as u64 but would as a
 * signed loff_t: the range ends far past EOF, so EINVAL. Before eba85fee7fc6 ("KVM:
 * guest_memfd: Treat memslot binding offset+size as unsigned values", v7.2; 6.12.114;
 * CVE-2026-64283) kvm_gmem_bind() summed them as loff_t, saw a negative end and bound
 * the slot (corpus: conformance/mutants/gmem-bind-signed-offset.patch).
 */
TEST_F(memslot_bind, offset_signed_overflow_einval)
{
	const uint64_t size[2] = { 2 * self->page, self->size };
	const uint64_t offset[2] = { (1ULL << 63) - self->page, (1ULL << 63) - self->size / 2 };
	int ret[2], err[2];

	for (int i = 0; i < 2; i++) {
		errno = 0;
		ret[i] = ms_bind(self, MS_SLOT, MS_GPA, size[i], offset[i]);
		err[i] = ret[i] ? errno : 0;
		if (!ret[i])	/* bound by mistake: free the slot for the next case */
			ASSERT_EQ(0, ms_delete(self, MS_SLOT));
	}
	PM_VERDICT(ret[0] == -1 && err[0] == EINVAL && ret[1] == -1 && err[1] == EINVAL,
		   "offset 2^63-PAGE size 2P -> %d/%s, offset 2^63-size/2 size size -> %d/%s; "
		   "expected -1/EINVAL for both (signed loff_t sum, fixed by eba85fee7fc6)",
		   ret[0], err[0] ? strerrorname_np(err[0]) : "0",
		   ret[1], err[1] ? strerrorname_np(err[1]) : "0");
	ASSERT_EQ(0, bind_and_delete(self, self->size, 0));
}

/* The general sanity checks of kvm_set_memory_region() hold for gmem slots too. */
TEST_F(memslot_bind, unaligned_size_gpa_hva_einval)
{
	uint64_t size = self->size - self->page;

	ASSERT_ERRNO(EINVAL, ms_bind(self, MS_SLOT, MS_GPA, size + 1, 0));
	ASSERT_ERRNO(EINVAL, ms_bind(self, MS_SLOT, MS_GPA, size - self->page / 2, 0));
	ASSERT_ERRNO(EINVAL, ms_bind(self, MS_SLOT, MS_GPA + self->page / 2, size, 0));
	ASSERT_ERRNO(EINVAL, pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA, size,
					    self->hva + 8, self->gmem, 0));
	ASSERT_EQ(0, bind_and_delete(self, size, 0));
}

/*
 * pad1/pad2[] are not validated: kvm_vm_ioctl() copies the v2 struct and hands
 * it on without looking at them (6.12 source; 6.18.44 observed). Upstream chose
 * this on purpose:
 * "KVM has more or less settled on using flags instead [of] 'reserving' bytes"
 * (S. Christopherson, review of "KVM: Extend the memslot to support fd-based
 * private memory" v8, 2022-09-29, <YzYoq/4AcWGS/noD@google.com>). A new field would
 * come with a new flag, so garbage in the padding must not matter.
 */
TEST_F(memslot_bind, region2_pads_ignored)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = MS_SLOT, .flags = KVM_MEM_GUEST_MEMFD, .guest_phys_addr = MS_GPA,
		.memory_size = self->size, .userspace_addr = (uint64_t)self->hva,
		.guest_memfd_offset = 0, .guest_memfd = self->gmem, .pad1 = 0xdeadbeef,
	};

	for (int i = 0; i < 14; i++)
		r.pad2[i] = ~0ULL;
	ASSERT_EQ(0, ms_region2(self->vm, &r));
	r.memory_size = 0;
	ASSERT_EQ(0, ms_region2(self->vm, &r));
	/* The same for a slot without guest_memfd. */
	r.flags = 0;
	r.memory_size = self->size;
	ASSERT_EQ(0, ms_region2(self->vm, &r));
	r.memory_size = 0;
	ASSERT_EQ(0, ms_region2(self->vm, &r));
}

TEST_HARNESS_MAIN
