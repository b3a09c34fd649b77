/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the attributes collection shares: a VM per VM type with the attribute
 * capability read from /dev/kvm and from the VM fd, and one call of
 * KVM_SET_MEMORY_ATTRIBUTES checked for its exact result.
 *
 * KVM_SET_MEMORY_ATTRIBUTES (api.rst 4.141) and KVM_CAP_MEMORY_ATTRIBUTES are
 * compiled together (virt/kvm/kvm_main.c, CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES),
 * and at system scope the capability is every attribute KVM supports: 0 on
 * /dev/kvm means the ioctl does not exist, so the rows that call it SKIP.
 */
#ifndef PRIVMEM_ATTRIBUTES_H
#define PRIVMEM_ATTRIBUTES_H

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "pm_test.h"

#define AT_PAGE		4096ULL		/* x86 PAGE_SIZE: the ioctl's alignment unit */
#define AT_SLOT		PM_SLOT_FIRST_FREE
#define AT_SLOT_GPA	PM_TEST_GPA			/* where tests put memslots */
#define AT_NOSLOT_GPA	(PM_TEST_GPA + (1ULL << 30))	/* never covered by a memslot */

/* The outcome of one KVM_SET_MEMORY_ATTRIBUTES call. */
struct at_result {
	long ret;
	int err;
	bool written;	/* the kernel changed the struct (it is _IOW: input only) */
};

static inline struct at_result at_set(int vm_fd, uint64_t address, uint64_t size,
				      uint64_t attributes, uint64_t flags)
{
	struct kvm_memory_attributes a = {
		.address = address, .size = size, .attributes = attributes, .flags = flags,
	}, orig = a;
	struct at_result r;

	errno = 0;
	r.ret = ioctl(vm_fd, KVM_SET_MEMORY_ATTRIBUTES, &a);
	r.err = r.ret < 0 ? errno : 0;
	r.written = memcmp(&a, &orig, sizeof(a)) != 0;
	return r;
}

/*
 * Expect exactly `err_` (0: success) from {address, size, attributes, flags},
 * with the struct left as it was, whatever the outcome.
 */
#define ASSERT_ATTR(vm_fd, err_, address_, size_, attrs_, flags_) do {		\
	struct at_result __r = at_set((vm_fd), (address_), (size_), (attrs_), (flags_)); \
	int __want = (err_);							\
	if (__r.ret != (__want ? -1 : 0) || __r.err != __want || __r.written)	\
		TH_LOG("KVM_SET_MEMORY_ATTRIBUTES {address 0x%llx, size 0x%llx, attributes 0x%llx, " \
		       "flags 0x%llx}: expected %s, got %ld/%s%s",		\
		       (unsigned long long)(address_), (unsigned long long)(size_),	\
		       (unsigned long long)(attrs_), (unsigned long long)(flags_),	\
		       __want ? strerrorname_np(__want) : "0", __r.ret,		\
		       __r.err ? strerrorname_np(__r.err) : "0",		\
		       __r.written ? ", and the struct was written" : "");	\
	ASSERT_EQ(__want ? -1 : 0, __r.ret);					\
	ASSERT_EQ(__want, __r.err);						\
	ASSERT_FALSE(__r.written);						\
} while (0)

/*
 * The VM types. The default VM is the "kvm" platform (no guest_memfd needed:
 * 6.12 offers none on it, but its attribute ABI is defined, capability 0); the
 * others are the private-memory platforms. An absent platform is the SKIP.
 */
#define AT_VM_VARIANTS(fixture)							\
	FIXTURE_VARIANT_ADD(fixture, default_vm) { .need = { "kvm", 0 } };		\
	FIXTURE_VARIANT_ADD(fixture, swprot_vm) { .need = { "sw-protected", 0 } };	\
	PM_CVM_VARIANTS(fixture, , 0)

/*
 * A fixture with one VM per VM type (AT_VM_VARIANTS) on a kernel that has the
 * ioctl: sys_cap and vm_cap are KVM_CHECK_EXTENSION(KVM_CAP_MEMORY_ATTRIBUTES)
 * on /dev/kvm and on this VM, read live; `fd` is free for a guest_memfd.
 */
#define AT_FIXTURE(fx)							\
	FIXTURE(fx) {								\
		const struct pm_platform *p;					\
		struct pm_vm *vm;						\
		long sys_cap;							\
		uint64_t vm_cap;						\
		int fd;								\
	};									\
	FIXTURE_VARIANT(fx) { struct pm_need need; };				\
	AT_VM_VARIANTS(fx);							\
	FIXTURE_SETUP(fx)							\
	{									\
		int __kvm;							\
		long __v;							\
		self->fd = -1;							\
		PM_REQUIRE(&variant->need, self->p);				\
		__kvm = pm_kvm_open();						\
		ASSERT_LE(0, __kvm);						\
		self->sys_cap = pm_check_cap(__kvm, KVM_CAP_MEMORY_ATTRIBUTES);	\
		close(__kvm);							\
		if (self->sys_cap <= 0)						\
			SKIP(return, "KVM_CAP_MEMORY_ATTRIBUTES=%ld on /dev/kvm: no KVM_SET_MEMORY_ATTRIBUTES", \
			     self->sys_cap);					\
		if (!self->p->create_vm)					\
			SKIP(return, "%s: privmem has no launch flow for it", self->p->name); \
		self->vm = self->p->create_vm(self->p);				\
		if (!self->vm)							\
			TH_LOG("creating a %s VM: %s", self->p->name, strerror(errno)); \
		ASSERT_NE(NULL, self->vm);					\
		self->vm->timeout_ms = 5000;					\
		__v = pm_check_cap(self->vm->fd, KVM_CAP_MEMORY_ATTRIBUTES);	\
		ASSERT_LE(0, __v);						\
		self->vm_cap = (uint64_t)__v;					\
	}									\
	FIXTURE_TEARDOWN(fx)							\
	{									\
		pm_vm_free(self->vm);						\
		if (self->fd >= 0)						\
			close(self->fd);					\
	}

/* In a test: SKIP unless this VM advertises PRIVATE (a VM without private memory). */
#define AT_REQUIRE_PRIVATE(self) do {						\
	if (!((self)->vm_cap & KVM_MEMORY_ATTRIBUTE_PRIVATE))			\
		SKIP(return, "not applicable: KVM_CAP_MEMORY_ATTRIBUTES=0x%llx on %s lacks PRIVATE", \
		     (unsigned long long)(self)->vm_cap, (self)->p->name);	\
} while (0)

#endif
