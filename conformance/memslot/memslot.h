/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the memslot collection's tests share: a VM with one guest_memfd and an
 * anonymous buffer for userspace_addr, and raw KVM_SET_USER_MEMORY_REGION(2)
 * wrappers. Every errno these tests expect comes from one of two functions of
 * the kernel, named next to each test: virt/kvm/kvm_main.c
 * kvm_set_memory_region() (6.12: __kvm_set_memory_region(); its flag checks in
 * check_memory_region_flags(), the slot-id check in
 * kvm_vm_ioctl_set_memory_region()) and virt/kvm/guest_memfd.c kvm_gmem_bind().
 */
#ifndef PRIVMEM_MEMSLOT_H
#define PRIVMEM_MEMSLOT_H

#include <sys/ioctl.h>
#include <sys/mman.h>

#include "pm_test.h"

#define MS_GPA		PM_TEST_GPA
#define MS_SLOT		PM_SLOT_FIRST_FREE

/*
 * A slot on a gmem range that another slot already binds is refused; the errno changed
 * upstream without a capability: EINVAL since a7800aa80ea4 ("KVM: Add
 * KVM_CREATE_GUEST_MEMFD ioctl() for guest-specific backing memory", v6.8), EEXIST since
 * the "KVM guest_memfd changes for 7.2" pull (merge 06ba195f136a; in 6.12.y from 6.12.118,
 * with "KVM: guest_memfd: Split bind() into prepare()+commit() phases").
 */
#define ASSERT_GMEM_RANGE_TAKEN(call)						\
	ASSERT_ERRNO_DRIFT("gmem_bind_overlap", call, EINVAL, "a7800aa80ea4, v6.8",	\
			   EEXIST, "06ba195f136a, v7.2; 6.12.118")

/*
 * A fixture with a VM of the variant's platform, one guest_memfd of `pages`
 * pages created with the variant's flags, and `pages` pages of anonymous
 * memory to use as userspace_addr (KVM requires a valid one for gmem slots
 * too: api.rst 4.140: "a legal userspace address").
 *
 * Every row binds the guest_memfd, so a variant whose flags this architecture cannot
 * bind is a SKIP naming the rule (PM_SETUP_SLOT_VM; aarch64: MMAP only). With
 * PM_GMEM_VM_VARIANTS (one variant per VM type, rows that do not depend on creation
 * flags) the fixture instead creates the guest_memfd with the flags the architecture
 * requires of a memslot's fd (pm_slot_gmem_flags: 0 on x86, MMAP on aarch64).
 */
#define MS_SLOT_FLAGS_PM_GMEM_VM_VARIANTS	pm_slot_gmem_flags(pm_caps())
#define MS_SLOT_FLAGS_PM_GMEM_FLAG_VARIANTS	0
#define MS_FIXTURE(name, pages, variants)					\
	FIXTURE(name) {								\
		const struct pm_platform *p;					\
		struct pm_vm *vm;						\
		int gmem;							\
		uint64_t flags;							\
		uint64_t page;							\
		uint64_t size;							\
		uint8_t *hva;							\
	};									\
	FIXTURE_VARIANT(name) { struct pm_need need; };				\
	variants(name);								\
	FIXTURE_SETUP(name)							\
	{									\
		struct pm_need __need = variant->need;				\
										\
		self->gmem = -1;						\
		self->hva = MAP_FAILED;						\
		self->page = getpagesize();					\
		self->size = (pages) * self->page;				\
		__need.gmem_flags |= MS_SLOT_FLAGS_##variants;			\
		self->flags = __need.gmem_flags;				\
		PM_SETUP_SLOT_VM(&__need, self->p, self->vm);			\
		self->gmem = pm_platform_private_mem(self->p, self->vm, self->size, self->flags); \
		ASSERT_LE(0, self->gmem);					\
		self->hva = mmap(NULL, self->size, PROT_READ | PROT_WRITE,	\
				 MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0); \
		ASSERT_NE(MAP_FAILED, self->hva);				\
	}									\
	FIXTURE_TEARDOWN(name)							\
	{									\
		pm_vm_free(self->vm);						\
		if (self->gmem >= 0)						\
			close(self->gmem);					\
		if (self->hva != MAP_FAILED)					\
			munmap(self->hva, self->size);				\
	}

/* A gmem slot of `self`'s guest_memfd: flags KVM_MEM_GUEST_MEMFD only. */
#define ms_bind(self, slot, gpa, size, off)					\
	pm_set_region2((self)->vm, (slot), KVM_MEM_GUEST_MEMFD, (gpa), (size),	\
		       (self)->hva, (self)->gmem, (off))

/* Delete a slot: size 0; KVM ignores every other field but the slot id. */
#define ms_delete(self, slot)							\
	pm_set_region2((self)->vm, (slot), KVM_MEM_GUEST_MEMFD, MS_GPA, 0,	\
		       (self)->hva, -1, 0)

/* The raw struct, for the fields pm_set_region2() has no parameter for. */
static inline int ms_region2(struct pm_vm *vm, const struct kvm_userspace_memory_region2 *r)
{
	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION2, r);
}

#endif
