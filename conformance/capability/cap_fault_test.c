// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CAP_MEMORY_FAULT_INFO and KVM_CAP_PRE_FAULT_MEMORY, per VM type, against
 * what KVM_RUN and KVM_PRE_FAULT_MEMORY do.
 *
 * Memory-fault info (api.rst 7.34): with the capability KVM_RUN fills
 * kvm_run.memory_fault when it cannot resolve a guest fault; the exit
 * (KVM_EXIT_MEMORY_FAULT) and the capability came together in 6.8. Which faults
 * x86 annotates (kvm_mmu_prepare_memory_fault_exit callers, 6.12-6.18): private
 * accesses it cannot serve and guest_memfd failures. api.rst's own example, a
 * memslot without a backing VMA, is a bare -EFAULT from kvm_handle_error_pfn on
 * 6.12 (annotating it was proposed in Anish Moorthy's KVM_EXIT_MEMORY_FAULT series,
 * 2023-24), so the rows use the faults every kernel with the capability must
 * report, and neither require nor forbid an annotation of the VMA case.
 *
 * Pre-fault (api.rst 4.143, 6.11: 6e01b7601dfe "KVM: x86: Implement
 * kvm_arch_vcpu_pre_fault_memory()"): x86.c advertises it as tdp_enabled, the
 * same on /dev/kvm and every VM. Where it is not advertised upstream has two
 * refusals and no capability tells them apart: a kernel without the ioctl (before
 * 6.11, or CONFIG_KVM_GENERIC_PRE_FAULT_MEMORY unset) fails it as an unknown vCPU
 * ioctl, -EINVAL (x86 kvm_arch_vcpu_ioctl default); a 6.11+ kernel without TDP
 * fails it -EOPNOTSUPP (mmu.c kvm_tdp_map_page: the MMU is not indexed by GPA).
 */
#include "capability.h"

#define PAGES 2

/*
 * A VM of each advertised type and its capabilities, read on its fd. Two
 * fixtures of this shape: cap_fault_info and cap_prefault.
 */
#define CAP_FAULT_FIXTURE(fx)							\
	FIXTURE(fx) {								\
		struct pm_vm *vm;						\
		int vm_fd;							\
		long fault_info, prefault, attrs, gmem, gmem_flags;		\
	};									\
	FIXTURE_VARIANT(fx) { struct cap_type t; };				\
	CAP_VM_TYPE_VARIANTS(fx);						\
	FIXTURE_SETUP(fx)							\
	{									\
		self->vm_fd = -1;						\
		CAP_REQUIRE_KVM();						\
		CAP_REQUIRE_TYPE(&variant->t);					\
		if (variant->t.launch) {					\
			self->vm = cap_vm(_metadata, &variant->t);		\
			ASSERT_NE(NULL, self->vm);				\
			self->vm_fd = self->vm->fd;				\
		} else {							\
			self->vm_fd = cap_create_vm(_metadata, &variant->t);	\
			ASSERT_LE(0, self->vm_fd);				\
		}								\
		self->fault_info = pm_check_cap(self->vm_fd, KVM_CAP_MEMORY_FAULT_INFO); \
		self->prefault = pm_check_cap(self->vm_fd, KVM_CAP_PRE_FAULT_MEMORY); \
		self->attrs = pm_check_cap(self->vm_fd, KVM_CAP_MEMORY_ATTRIBUTES); \
		self->gmem = pm_check_cap(self->vm_fd, KVM_CAP_GUEST_MEMFD);	\
		self->gmem_flags = pm_check_cap(self->vm_fd, KVM_CAP_GUEST_MEMFD_FLAGS); \
		ASSERT_LE(0, self->fault_info);					\
		ASSERT_LE(0, self->prefault);					\
	}									\
	FIXTURE_TEARDOWN(fx)							\
	{									\
		if (self->vm)							\
			pm_vm_free(self->vm);					\
		else if (self->vm_fd >= 0)					\
			close(self->vm_fd);					\
	}

CAP_FAULT_FIXTURE(cap_fault_info);
CAP_FAULT_FIXTURE(cap_prefault);

/* A plain slot of PAGES pages at CAP_GPA holding cap_host_word(i), mapped 4K in the guest. */
static uint64_t *plain_slot(struct pm_vm *vm, uint32_t slot, uint64_t gpa)
{
	uint64_t *host;

	if (pm_vm_add_memory(vm, slot, gpa, PAGES * CAP_PAGE, NULL, -1, 0, PM_PAGE_4K))
		return NULL;
	host = pm_gpa_to_hva(vm, gpa, PAGES * CAP_PAGE);
	for (uint64_t i = 0; host && i < PAGES; i++)
		host[i * CAP_PAGE / 8] = cap_host_word(i);
	return host;
}

static int set_private(struct pm_vm *vm, uint64_t gpa, bool private)
{
	struct kvm_memory_attributes a = {
		.address = gpa, .size = CAP_PAGE,
		.attributes = private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};

	return ioctl(vm->fd, KVM_SET_MEMORY_ATTRIBUTES, &a);
}

static void describe(const struct pm_vcpu *v, const struct pm_exit *e, char *buf, size_t len)
{
	snprintf(buf, len, "%s; errno %s, exit_reason %u, memory_fault {0x%llx, 0x%llx, 0x%llx}",
		 e->msg, e->err ? strerrorname_np(e->err) : "0", e->exit_reason,
		 (unsigned long long)v->run->memory_fault.flags,
		 (unsigned long long)v->run->memory_fault.gpa,
		 (unsigned long long)v->run->memory_fault.size);
}

/* Upstream's annotated exit for the 4K page at `gpa`: -1/EFAULT, exact fields. */
static bool fault_exit(const struct pm_vcpu *v, const struct pm_exit *e, uint64_t gpa,
		       uint64_t flags)
{
	return e->result == PM_RUN_ERROR && e->err == EFAULT &&
	       e->exit_reason == KVM_EXIT_MEMORY_FAULT && v->run->memory_fault.flags == flags &&
	       v->run->memory_fault.gpa == gpa && v->run->memory_fault.size == CAP_PAGE;
}

/*
 * KVM_CAP_MEMORY_FAULT_INFO advertised: a fault KVM must report gives KVM_RUN
 * -1/EFAULT, KVM_EXIT_MEMORY_FAULT with exact fields. A VM with the PRIVATE
 * attribute: page 1 of a plain slot set PRIVATE, the guest reads page 0 then
 * page 1 -> {PRIVATE, page 1, 4096} (mmu.c kvm_mmu_faultin_pfn: private access
 * without guest_memfd); reverted to shared, the guest reads it. A VM with MMAP
 * guest_memfd: a gmem-only slot whose guest_memfd was closed (never mapped), the
 * guest reads it -> {0, the page, 4096} (6.18 kvm_mmu_faultin_pfn_gmem,
 * kvm_gmem_get_pfn -EFAULT once kvm_gmem_release cleared the binding).
 */
TEST_F(cap_fault_info, advertised_exit_exact)
{
	struct pm_vcpu *v;
	struct pm_exit e;
	uint64_t *host;
	char why[400], row[128];
	int fd;

	if (self->fault_info <= 0)
		SKIP(return, "KVM_CAP_MEMORY_FAULT_INFO=0 on %s (cap_fault_info.unadvertised_never_reported)",
		     variant->t.name);
	CAP_REQUIRE_LAUNCH(&variant->t);
	if (self->attrs > 0 && (self->attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE)) {
		host = plain_slot(self->vm, CAP_SLOT, CAP_GPA);
		ASSERT_NE(NULL, host);
		ASSERT_EQ(0, set_private(self->vm, CAP_GPA + CAP_PAGE, true));
		v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA, PAGES, 0);
		ASSERT_NE(NULL, v);
		ASSERT_GUEST_SYNC(v, 1);
		pm_vcpu_run(v, &e);
		describe(v, &e, why, sizeof(why));
		ASSERT_TRUE(fault_exit(v, &e, CAP_GPA + CAP_PAGE, KVM_MEMORY_EXIT_FLAG_PRIVATE))
			TH_LOG("PRIVATE page of a plain slot: want -1/EFAULT, KVM_EXIT_MEMORY_FAULT "
			       "{PRIVATE, 0x%llx, 4096}; got %s", CAP_GPA + CAP_PAGE, why);
		ASSERT_EQ(0, set_private(self->vm, CAP_GPA + CAP_PAGE, false));
		ASSERT_GUEST_SYNC(v, 2);
		ASSERT_GUEST_DONE(v);
		return;
	}
	if (self->gmem <= 0 || !(self->gmem_flags & GUEST_MEMFD_FLAG_MMAP))
		SKIP(return, "KVM_CAP_MEMORY_FAULT_INFO=%ld on %s, but no fault it must report here "
		     "(KVM_CAP_MEMORY_ATTRIBUTES=0x%lx lacks PRIVATE, KVM_CAP_GUEST_MEMFD_FLAGS=0x%lx "
		     "lacks MMAP)", self->fault_info, variant->t.name, self->attrs, self->gmem_flags);
	fd = cap_gmem(self->vm_fd, PAGES * CAP_PAGE, GUEST_MEMFD_FLAG_MMAP);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, CAP_SLOT, CAP_GPA, PAGES * CAP_PAGE, NULL, fd, 0,
				      PM_PAGE_4K));
	host = pm_gpa_to_hva(self->vm, CAP_GPA, PAGES * CAP_PAGE);
	ASSERT_NE(NULL, host);
	host[0] = cap_host_word(0);	/* what a backend serving userspace_addr would show */
	ASSERT_EQ(0, close(fd));
	v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA, PAGES, 0);
	ASSERT_NE(NULL, v);
	pm_vcpu_run(v, &e);
	describe(v, &e, why, sizeof(why));
	/* A listed backend is excused only for the behaviour it was seen to have. */
	PM_ROW_ID(row);
	if (!fault_exit(v, &e, CAP_GPA, 0) && pm_known_deviation(pm_caps(), row))
		ASSERT_TRUE((e.result == PM_RUN_SYNC && e.rep.vals[1] == cap_host_word(0)) ||
			    (e.result == PM_RUN_EXIT && e.exit_reason == KVM_EXIT_MMIO))
			TH_LOG("neither upstream's exit nor the listed deviation: %s", why);
	PM_VERDICT(fault_exit(v, &e, CAP_GPA, 0),
		   "closed guest_memfd under a gmem-only slot: want -1/EFAULT, KVM_EXIT_MEMORY_FAULT "
		   "{0, 0x%llx, 4096}; got %s", CAP_GPA, why);
}

/*
 * KVM_CAP_MEMORY_FAULT_INFO = 0: KVM_RUN never reports KVM_EXIT_MEMORY_FAULT
 * (the exit arrived with the capability). Two vCPUs fault: one on a slot whose
 * userspace_addr is PROT_NONE, one (only if the VM advertises PRIVATE) on a
 * PRIVATE page of a plain slot; whatever KVM_RUN returns, exit_reason is not
 * KVM_EXIT_MEMORY_FAULT (the errno for the VMA case is mfault_hva.unbacked_hva_efault's).
 */
TEST_F(cap_fault_info, unadvertised_never_reported)
{
	struct pm_vcpu *v;
	struct pm_exit e;
	char why[400];
	void *none;

	if (self->fault_info > 0)
		SKIP(return, "KVM_CAP_MEMORY_FAULT_INFO=%ld on %s (cap_fault_info.advertised_exit_exact)",
		     self->fault_info, variant->t.name);
	CAP_REQUIRE_LAUNCH(&variant->t);
	none = mmap(NULL, PAGES * CAP_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, none);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, CAP_SLOT, CAP_GPA, PAGES * CAP_PAGE, none, -1, 0,
				      PM_PAGE_4K));
	v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA, PAGES, 0);
	ASSERT_NE(NULL, v);
	pm_vcpu_run(v, &e);
	describe(v, &e, why, sizeof(why));
	ASSERT_NE(KVM_EXIT_MEMORY_FAULT, e.exit_reason) TH_LOG("PROT_NONE slot: %s", why);
	if (self->attrs <= 0 || !(self->attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE))
		return;
	ASSERT_NE(NULL, plain_slot(self->vm, CAP_SLOT + 1, CAP_GPA + (1ULL << 30)));
	ASSERT_EQ(0, set_private(self->vm, CAP_GPA + (1ULL << 30), true));
	v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA + (1ULL << 30), PAGES, 0);
	ASSERT_NE(NULL, v);
	pm_vcpu_run(v, &e);
	describe(v, &e, why, sizeof(why));
	ASSERT_NE(KVM_EXIT_MEMORY_FAULT, e.exit_reason) TH_LOG("PRIVATE page: %s", why);
}

/* KVM_PRE_FAULT_MEMORY of one page, retried on EINTR/EAGAIN like upstream's selftest. */
static int prefault(int vcpu_fd, struct kvm_pre_fault_memory *range)
{
	int ret;

	for (int i = 0; i < 100; i++) {
		ret = ioctl(vcpu_fd, KVM_PRE_FAULT_MEMORY, range);
		if (ret == 0 || (errno != EINTR && errno != EAGAIN))
			break;
	}
	return ret;
}

#define REQUIRE_PREFAULT_VM(self, t) do {					\
	if (!(t)->launch)							\
		SKIP(return, "%s advertised, privmem has no launch flow for it (api.rst 4.143: " \
		     "confidential VMs pre-fault only after finalization)", (t)->name); \
} while (0)

/*
 * KVM_CAP_PRE_FAULT_MEMORY advertised: one page of a plain slot, guest not run ->
 * 0 with size 0 and gpa advanced by 4096; then the guest reads that page's host
 * data (and the next page's) and its stores reach the host.
 */
TEST_F(cap_prefault, advertised_maps_page)
{
	struct kvm_pre_fault_memory range = { .gpa = CAP_GPA, .size = CAP_PAGE };
	struct pm_vcpu *v;
	uint64_t *host;
	int ret;

	if (self->prefault <= 0)
		SKIP(return, "KVM_CAP_PRE_FAULT_MEMORY=0 on %s (cap_prefault.unadvertised_refused)",
		     variant->t.name);
	REQUIRE_PREFAULT_VM(self, &variant->t);
	host = plain_slot(self->vm, CAP_SLOT, CAP_GPA);
	ASSERT_NE(NULL, host);
	v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA, PAGES, 0);
	ASSERT_NE(NULL, v);
	ret = prefault(v->fd, &range);
	if (ret)
		TH_LOG("KVM_CAP_PRE_FAULT_MEMORY=%ld on %s, KVM_PRE_FAULT_MEMORY: %s", self->prefault,
		       variant->t.name, strerrorname_np(errno));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, range.size);
	ASSERT_EQ(CAP_GPA + CAP_PAGE, range.gpa);
	ASSERT_GUEST_ROUND_TRIP(v, host, PAGES);
}

/*
 * KVM_CAP_PRE_FAULT_MEMORY = 0: the same valid call is refused, range unchanged,
 * with one of the two errnos upstream has (no capability distinguishes them):
 * EINVAL (no such ioctl) or EOPNOTSUPP (6.11+, no TDP). Anything else FAILs.
 */
TEST_F(cap_prefault, unadvertised_refused)
{
	struct kvm_pre_fault_memory range = { .gpa = CAP_GPA, .size = CAP_PAGE };
	struct pm_vcpu *v;
	int ret, err;

	if (self->prefault > 0)
		SKIP(return, "KVM_CAP_PRE_FAULT_MEMORY=%ld on %s (cap_prefault.advertised_maps_page)",
		     self->prefault, variant->t.name);
	REQUIRE_PREFAULT_VM(self, &variant->t);
	ASSERT_NE(NULL, plain_slot(self->vm, CAP_SLOT, CAP_GPA));
	v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA, PAGES, 0);
	ASSERT_NE(NULL, v);
	errno = 0;
	ret = prefault(v->fd, &range);
	err = ret ? errno : 0;
	TH_LOG("KVM_CAP_PRE_FAULT_MEMORY=0 on %s: KVM_PRE_FAULT_MEMORY -> %d/%s (%s)",
	       variant->t.name, ret, err ? strerrorname_np(err) : "0",
	       err == EINVAL ? "no such vCPU ioctl: before 6.11" :
	       err == EOPNOTSUPP ? "6.11+ without TDP: kvm_tdp_map_page" : "undocumented");
	ASSERT_EQ(-1, ret);
	ASSERT_TRUE(err == EINVAL || err == EOPNOTSUPP);
	ASSERT_EQ(CAP_GPA, range.gpa);
	ASSERT_EQ(CAP_PAGE, range.size);
}

TEST_HARNESS_MAIN
