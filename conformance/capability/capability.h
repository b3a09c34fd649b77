/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Capability honesty: what the capability collection shares. Every row reads
 * what the kernel advertises live (KVM_CHECK_EXTENSION on /dev/kvm and on the
 * VM fd under test, never a version number, never the start-of-run probe) and
 * then proves it: an advertised value must work by its effect, an unadvertised
 * bit must be refused with the exact errno upstream gives. Advertising what
 * cannot be done is a FAIL, never a SKIP.
 */
#ifndef PRIVMEM_CAPABILITY_H
#define PRIVMEM_CAPABILITY_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pm_test.h"

#define CAP_PAGE	4096ULL
#define CAP_SLOT	PM_SLOT_FIRST_FREE
#define CAP_GPA		PM_TEST_GPA

/*
 * One variant per x86 VM type. `launch`: privmem can run guest code on a VM of
 * this type (the VM library's plain-memory guests need no launch protocol on the
 * default and sw-protected types); SEV, SEV-ES, SNP and TDX guests need a launch
 * flow privmem does not have, so their rows stop after what the host can check.
 */
struct cap_type {
	unsigned long type;
	const char *name;
	bool launch;
};

#define CAP_VM_TYPE_VARIANTS(fixture)							\
	FIXTURE_VARIANT_ADD(fixture, default_vm) {					\
		.t = { KVM_X86_DEFAULT_VM, "KVM_X86_DEFAULT_VM", true } };		\
	FIXTURE_VARIANT_ADD(fixture, swprot_vm) {					\
		.t = { KVM_X86_SW_PROTECTED_VM, "KVM_X86_SW_PROTECTED_VM", true } };	\
	FIXTURE_VARIANT_ADD(fixture, sev_vm) {						\
		.t = { KVM_X86_SEV_VM, "KVM_X86_SEV_VM", false } };			\
	FIXTURE_VARIANT_ADD(fixture, sev_es_vm) {					\
		.t = { KVM_X86_SEV_ES_VM, "KVM_X86_SEV_ES_VM", false } };		\
	FIXTURE_VARIANT_ADD(fixture, snp_vm) {						\
		.t = { KVM_X86_SNP_VM, "KVM_X86_SNP_VM", false } };			\
	FIXTURE_VARIANT_ADD(fixture, tdx_vm) {						\
		.t = { KVM_X86_TDX_VM, "KVM_X86_TDX_VM", false } }

/* KVM_CHECK_EXTENSION on /dev/kvm, read now; -errno if /dev/kvm cannot be opened. */
static inline long cap_sys(long cap)
{
	int kvm = pm_kvm_open();
	long v;

	if (kvm < 0)
		return -errno;
	v = pm_check_cap(kvm, cap);
	close(kvm);
	return v;
}

/*
 * Is `type` advertised? api.rst 8.41: bit n of KVM_CAP_VM_TYPES means type n is
 * supported. A kernel without the capability (before 6.8) answers 0 and knows
 * only type 0 (6.1 x86.c kvm_arch_init_vm: any other type -> EINVAL).
 */
static inline bool cap_type_advertised(long vm_types, unsigned long type)
{
	if (vm_types <= 0)
		return type == KVM_X86_DEFAULT_VM;
	return type < 64 && ((unsigned long)vm_types & (1UL << type));
}

/* In FIXTURE_SETUP: SKIP (with the reason) where KVM cannot be used at all. */
#define CAP_REQUIRE_KVM() do {							\
	const struct pm_caps *__c = pm_caps();					\
	if (!__c->kvm)								\
		SKIP(return, "%s", __c->kvm_reason);				\
} while (0)

/* ... and where the variant's VM type is not advertised (that is cap_vm_types' business). */
#define CAP_REQUIRE_TYPE(t) do {						\
	long __types = cap_sys(KVM_CAP_VM_TYPES);				\
	if (!cap_type_advertised(__types, (t)->type))				\
		SKIP(return, "KVM_CAP_VM_TYPES=0x%lx lacks %s (bit %lu)",	\
		     __types > 0 ? __types : 0, (t)->name, (t)->type);		\
} while (0)

/* In a test: stop with SKIP where privmem cannot run a guest of this type. */
#define CAP_REQUIRE_LAUNCH(t) do {						\
	if (!(t)->launch)							\
		SKIP(return, "%s advertised, privmem has no launch flow for it", (t)->name); \
} while (0)

/* A VM of an advertised type: KVM_CREATE_VM must succeed; the errno is logged. */
static inline int cap_create_vm(struct __test_metadata *_metadata, const struct cap_type *t)
{
	int kvm = pm_kvm_open(), vm;

	if (kvm < 0)
		return -1;
	do
		vm = ioctl(kvm, KVM_CREATE_VM, t->type);
	while (vm < 0 && errno == EINTR);
	if (vm < 0)
		TH_LOG("KVM_CREATE_VM(%s) of an advertised type: %s", t->name, strerrorname_np(errno));
	close(kvm);
	return vm;
}

/* The same through the VM library, for types whose guests privmem can run. */
static inline struct pm_vm *cap_vm(struct __test_metadata *_metadata, const struct cap_type *t)
{
	struct pm_vm *vm = pm_vm_create(t->type);

	if (!vm)
		TH_LOG("creating a %s VM with the VM library: %s", t->name, strerrorname_np(errno));
	else
		vm->timeout_ms = 5000;
	return vm;
}

/* KVM_SET_USER_MEMORY_REGION2 binding `gmem` (or, with gmem < 0, a plain slot). */
static inline int cap_region2(int vm_fd, uint32_t slot, uint64_t gpa, uint64_t size,
			      void *hva, int gmem)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot, .flags = gmem >= 0 ? KVM_MEM_GUEST_MEMFD : 0,
		.guest_phys_addr = gpa, .memory_size = size, .userspace_addr = (uint64_t)hva,
		.guest_memfd = gmem >= 0 ? (uint32_t)gmem : 0,
	};

	return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &r);
}

static inline int cap_gmem(int vm_fd, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd g = { .size = size, .flags = flags };

	return ioctl(vm_fd, KVM_CREATE_GUEST_MEMFD, &g);
}

/* The word the host puts in page `i` of a test slot, and the one the guest writes back. */
static inline uint64_t cap_host_word(uint64_t i)
{
	return 0x4341504853540000ULL + i;	/* "CAPHST" */
}

static inline PM_GUEST uint64_t cap_guest_word(uint64_t i)
{
	return 0x4341504753540000ULL + i;	/* "CAPGST" */
}

PM_GUEST_CODE_BEGIN
/*
 * For each of `pages` pages at `gpa`: report its first word (sync stage i + 1,
 * value in vals[1]), then store cap_guest_word(i) in its second word.
 */
static PM_GUEST void __attribute__((unused)) cap_guest_read_write(uint64_t gpa, uint64_t pages, uint64_t a2)
{
	(void)a2;
	for (uint64_t i = 0; i < pages; i++) {
		uint8_t *p = (uint8_t *)(gpa + i * CAP_PAGE);

		GUEST_SYNC_VALS(i + 1, pm_guest_read64(p), 0, 0);
		pm_guest_write64(p + 8, cap_guest_word(i));
	}
}
PM_GUEST_CODE_END

/*
 * Run the guest over `pages` pages whose host view is `host`: each page's first
 * word must reach the guest, and the guest's store must reach the host.
 */
#define ASSERT_GUEST_ROUND_TRIP(vcpu, host, pages) do {				\
	for (uint64_t __i = 0; __i < (pages); __i++) {				\
		struct pm_exit __e;						\
		pm_vcpu_run((vcpu), &__e);					\
		if (__e.result != PM_RUN_SYNC || __e.rep.vals[0] != __i + 1)	\
			TH_LOG("page %llu: expected guest sync %llu, got: %s",	\
			       (unsigned long long)__i, (unsigned long long)__i + 1, __e.msg); \
		ASSERT_EQ(PM_RUN_SYNC, __e.result);				\
		ASSERT_EQ(__i + 1, __e.rep.vals[0]);				\
		ASSERT_EQ(cap_host_word(__i), __e.rep.vals[1]);			\
	}									\
	ASSERT_GUEST_DONE(vcpu);						\
	for (uint64_t __i = 0; __i < (pages); __i++)				\
		ASSERT_EQ(cap_guest_word(__i), (host)[__i * CAP_PAGE / 8 + 1]);	\
} while (0)

/*
 * A fixture with a VM of each type privmem runs guests on, `self->cap` = the VM
 * fd's answer for `capability`, and `self->hva`: CAP_PLAIN_PAGES anonymous pages
 * holding cap_host_word(i), to back a plain memslot.
 */
#define CAP_PLAIN_PAGES 2
#define CAP_PLAIN_SLOT_FIXTURE(name, capability)				\
	FIXTURE(name) {								\
		struct pm_vm *vm;						\
		long cap;							\
		uint64_t *hva;							\
	};									\
	FIXTURE_VARIANT(name) { struct cap_type t; };				\
	FIXTURE_VARIANT_ADD(name, default_vm) {					\
		.t = { KVM_X86_DEFAULT_VM, "KVM_X86_DEFAULT_VM", true } };	\
	FIXTURE_VARIANT_ADD(name, swprot_vm) {					\
		.t = { KVM_X86_SW_PROTECTED_VM, "KVM_X86_SW_PROTECTED_VM", true } }; \
	FIXTURE_SETUP(name)							\
	{									\
		CAP_REQUIRE_KVM();						\
		CAP_REQUIRE_TYPE(&variant->t);					\
		self->vm = cap_vm(_metadata, &variant->t);			\
		ASSERT_NE(NULL, self->vm);					\
		self->cap = pm_check_cap(self->vm->fd, (capability));		\
		ASSERT_LE(0, self->cap);					\
		self->hva = mmap(NULL, CAP_PLAIN_PAGES * CAP_PAGE, PROT_READ | PROT_WRITE, \
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);		\
		ASSERT_NE(MAP_FAILED, self->hva);				\
		for (uint64_t i = 0; i < CAP_PLAIN_PAGES; i++)			\
			self->hva[i * CAP_PAGE / 8] = cap_host_word(i);		\
	}									\
	FIXTURE_TEARDOWN(name)							\
	{									\
		pm_vm_free(self->vm);						\
		if (self->hva && self->hva != MAP_FAILED)			\
			munmap(self->hva, CAP_PLAIN_PAGES * CAP_PAGE);		\
	}

#endif
