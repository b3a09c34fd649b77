// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_MEMORY_ATTRIBUTES argument checks (api.rst 4.141: address and size
 * page aligned, flags reserved and 0, attributes from KVM_CAP_MEMORY_ATTRIBUTES),
 * in the order virt/kvm/kvm_main.c kvm_vm_ioctl_set_mem_attributes makes them:
 * flags != 0, attributes outside kvm_supported_mem_attributes, size 0 or
 * address + size < address, address or size not PAGE_ALIGNED: each -EINVAL;
 * an unreadable argument -EFAULT (kvm_vm_ioctl: copy_from_user). Nothing else
 * is validated: no memslot, no gfn bound (attr_set covers those).
 *
 * Each test first shows its base call (the VM's advertised attributes on one
 * page without a memslot) succeeds, so every EINVAL is the field under test's.
 */
#include <sys/mman.h>

#include "attributes.h"

AT_FIXTURE(attr_validate);

/* The base call succeeds, and is undone. */
#define AT_BASE_OK(self) do {							\
	ASSERT_ATTR((self)->vm->fd, 0, AT_NOSLOT_GPA, AT_PAGE, (self)->vm_cap, 0); \
	ASSERT_ATTR((self)->vm->fd, 0, AT_NOSLOT_GPA, AT_PAGE, 0, 0);		\
} while (0)

/* "flags is currently not used": any bit -> EINVAL, with and without attributes. */
TEST_F(attr_validate, flags_einval)
{
	AT_BASE_OK(self);
	for (int bit = 0; bit < 64; bit++) {
		ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, AT_PAGE, self->vm_cap, 1ULL << bit);
		ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, AT_PAGE, 0, 1ULL << bit);
	}
	ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, AT_PAGE, self->vm_cap, ~0ULL);
}

/*
 * Every bit the VM does not advertise -> EINVAL, alone and next to the
 * advertised ones (on a VM whose capability is 0, PRIVATE is such a bit).
 */
TEST_F(attr_validate, unknown_bits_einval)
{
	if (self->vm_cap == ~0ULL)
		SKIP(return, "every attribute bit is advertised on %s", self->p->name);
	AT_BASE_OK(self);
	for (int bit = 0; bit < 64; bit++) {
		uint64_t b = 1ULL << bit;

		if (self->vm_cap & b)
			continue;
		ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, AT_PAGE, b, 0);
		ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, AT_PAGE, self->vm_cap | b, 0);
	}
	ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, AT_PAGE, ~0ULL, 0);
}

/* size 0 -> EINVAL, wherever it points (also address 0 and the last page). */
TEST_F(attr_validate, size_zero_einval)
{
	AT_BASE_OK(self);
	ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, 0, self->vm_cap, 0);
	ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, 0, 0, 0);
	ASSERT_ATTR(self->vm->fd, EINVAL, 0, 0, self->vm_cap, 0);
	ASSERT_ATTR(self->vm->fd, EINVAL, -AT_PAGE, 0, self->vm_cap, 0);
}

/* address or size not a multiple of PAGE_SIZE -> EINVAL, never rounded. */
TEST_F(attr_validate, unaligned_einval)
{
	static const uint64_t off[] = { 1, 8, AT_PAGE / 2, AT_PAGE - 1 };

	AT_BASE_OK(self);
	for (unsigned int i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA + off[i], AT_PAGE, self->vm_cap, 0);
		ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA + off[i], AT_PAGE, 0, 0);
		ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, off[i], self->vm_cap, 0);
		ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, AT_PAGE + off[i], self->vm_cap, 0);
		ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, AT_PAGE + off[i], 0, 0);
	}
}

/*
 * address + size < address -> EINVAL, page-aligned so only the wrap is wrong;
 * a range ending exactly at 2^64 wraps to 0 and is rejected too.
 */
TEST_F(attr_validate, wrap_einval)
{
	AT_BASE_OK(self);
	ASSERT_ATTR(self->vm->fd, EINVAL, -AT_PAGE, 2 * AT_PAGE, self->vm_cap, 0);
	ASSERT_ATTR(self->vm->fd, EINVAL, -AT_PAGE, AT_PAGE, self->vm_cap, 0);
	ASSERT_ATTR(self->vm->fd, EINVAL, -AT_PAGE, AT_PAGE, 0, 0);
	ASSERT_ATTR(self->vm->fd, EINVAL, AT_NOSLOT_GPA, -AT_PAGE, self->vm_cap, 0);
	ASSERT_ATTR(self->vm->fd, EINVAL, 1ULL << 63, 1ULL << 63, self->vm_cap, 0);
	ASSERT_ATTR(self->vm->fd, EINVAL, AT_PAGE, -AT_PAGE, 0, 0);
}

/*
 * The argument is copied in whole (32 bytes) before any check: NULL, or a struct
 * whose last byte is in an inaccessible page -> EFAULT; the same struct ending
 * exactly at that page works, also from read-only memory (the ioctl is _IOW and
 * never writes it back).
 */
TEST_F(attr_validate, bad_pointer_efault)
{
	struct kvm_memory_attributes a = {
		.address = AT_NOSLOT_GPA, .size = AT_PAGE, .attributes = self->vm_cap,
	};
	char *m;

	AT_BASE_OK(self);
	ASSERT_ERRNO(EFAULT, ioctl(self->vm->fd, KVM_SET_MEMORY_ATTRIBUTES, NULL));
	m = mmap(NULL, 2 * AT_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, mprotect(m + AT_PAGE, AT_PAGE, PROT_NONE));
	memcpy(m + AT_PAGE - sizeof(a) + 8, &a, sizeof(a) - 8);
	ASSERT_ERRNO(EFAULT, ioctl(self->vm->fd, KVM_SET_MEMORY_ATTRIBUTES,
				   m + AT_PAGE - sizeof(a) + 8));
	memcpy(m + AT_PAGE - sizeof(a), &a, sizeof(a));
	ASSERT_EQ(0, mprotect(m, AT_PAGE, PROT_READ));
	EXPECT_EQ(0, ioctl(self->vm->fd, KVM_SET_MEMORY_ATTRIBUTES, m + AT_PAGE - sizeof(a)));
	EXPECT_EQ(0, memcmp(m + AT_PAGE - sizeof(a), &a, sizeof(a)));
	munmap(m, 2 * AT_PAGE);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, AT_PAGE, 0, 0);
}

TEST_HARNESS_MAIN
