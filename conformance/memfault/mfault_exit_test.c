// SPDX-License-Identifier: GPL-2.0
/*
 * Guest accesses to guest_memfd memory created without INIT_SHARED, and the
 * KVM_EXIT_MEMORY_FAULT exits KVM reports when it cannot resolve one (api.rst
 * 4.142 KVM_CREATE_GUEST_MEMFD, 5 KVM_EXIT_MEMORY_FAULT, 7.34
 * KVM_CAP_MEMORY_FAULT_INFO).
 *
 * Where upstream (6.18) serves a guest access from, arch/x86/kvm/mmu/mmu.c
 * __kvm_mmu_faultin_pfn(): from guest_memfd (kvm_mmu_faultin_pfn_gmem) when the
 * access is private (kvm_mem_is_private: the PRIVATE memory attribute, which only
 * VMs with KVM_CAP_MEMORY_ATTRIBUTES can set) or the memslot is gmem-only
 * (kvm_memslot_is_gmem_only: kvm_gmem_bind() marks every slot bound to a
 * guest_memfd created with GUEST_MEMFD_FLAG_MMAP); otherwise from the slot's
 * userspace_addr. INIT_SHARED only decides host mmap faults
 * (virt/kvm/guest_memfd.c kvm_gmem_fault_user_mapping); kvm_gmem_get_pfn()
 * hands the guest any page of the file.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include "memfault.h"

#define SLOT		PM_SLOT_FIRST_FREE
#define GPA		PM_TEST_GPA
#define PAGES		16ULL
#define SIZE		(PAGES * MF_PAGE)
#define LAST		(PAGES - 1)

#define HVA_WORD(pg)	(0x4856410000000000ULL | (pg))	/* what userspace_addr holds */
#define GUEST_WORD	0x4755455354ULL			/* what the guest writes */

/*
 * Stage 1: report the first word of the first and the last page. Stage 2: both
 * written. Stage 3: read again after the host punched page 0 of the guest_memfd.
 */
/*
 * The first page is read before the last one, in separate statements: the order of a
 * call's argument evaluation is unspecified (gcc reads right to left), and the rows that
 * expect a memory-fault exit name the first page's gpa.
 */
static PM_GUEST void sync_first_last(int stage, uint64_t *first, uint64_t *last)
{
	uint64_t f = pm_guest_read64(first);
	uint64_t l = pm_guest_read64(last);

	GUEST_SYNC_VALS(stage, f, l, 0);
}

static PM_GUEST void guest_rw(uint64_t gpa, uint64_t a1, uint64_t a2)
{
	uint64_t *first = (uint64_t *)gpa, *last = (uint64_t *)(gpa + LAST * MF_PAGE);

	(void)a1, (void)a2;
	sync_first_last(1, first, last);
	pm_guest_write64(first, GUEST_WORD);
	pm_guest_write64(last, GUEST_WORD);
	sync_first_last(2, first, last);
	sync_first_last(3, first, last);
}

/* ---- KVM_CAP_MEMORY_FAULT_INFO cannot be enabled --------------------------------- */

FIXTURE(mfault_info) {
	const struct pm_platform *p;
	struct pm_vm *vm;
};

FIXTURE_VARIANT(mfault_info) { struct pm_need need; };
PM_GMEM_VM_VARIANTS(mfault_info);

FIXTURE_SETUP(mfault_info)
{
	PM_SETUP_VM(&variant->need, self->p, self->vm);
}

FIXTURE_TEARDOWN(mfault_info)
{
	pm_vm_free(self->vm);
}

/*
 * api.rst 7.34 KVM_CAP_MEMORY_FAULT_INFO: "Informational only, -EINVAL on direct
 * KVM_ENABLE_CAP" (virt/kvm/kvm_main.c kvm_vm_ioctl_enable_cap_generic hands it to
 * the arch, x86.c kvm_vm_ioctl_enable_cap has no case for it). Whatever args[0].
 */
TEST_F(mfault_info, enable_cap_einval)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MEMORY_FAULT_INFO };

	ASSERT_ERRNO(EINVAL, ioctl(self->vm->fd, KVM_ENABLE_CAP, &cap));
	cap.args[0] = 1;
	ASSERT_ERRNO(EINVAL, ioctl(self->vm->fd, KVM_ENABLE_CAP, &cap));
}

/* ---- guest_memfd without INIT_SHARED, bound in a memslot ------------------------- */

FIXTURE(mfault_gmem) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	int fd;
	uint64_t flags;
	uint64_t *hva;		/* the slot's userspace_addr */
};

FIXTURE_VARIANT(mfault_gmem) { struct pm_need need; };
FIXTURE_VARIANT_ADD(mfault_gmem, default_vm) { .need = { "sw-default", 0 } };
FIXTURE_VARIANT_ADD(mfault_gmem, default_vm_mmap) { .need = { "sw-default", GUEST_MEMFD_FLAG_MMAP } };
FIXTURE_VARIANT_ADD(mfault_gmem, swprot_vm) { .need = { "sw-protected", 0 } };
FIXTURE_VARIANT_ADD(mfault_gmem, swprot_vm_mmap) { .need = { "sw-protected", GUEST_MEMFD_FLAG_MMAP } };

FIXTURE_SETUP(mfault_gmem)
{
	self->fd = -1;
	self->flags = variant->need.gmem_flags;
	PM_SETUP_SLOT_VM(&variant->need, self->p, self->vm);
	self->vm->timeout_ms = 5000;
	self->fd = pm_platform_private_mem(self->p, self->vm, SIZE, self->flags);
	ASSERT_LE(0, self->fd);
	/* The library backs userspace_addr with fresh anonymous memory. */
	ASSERT_EQ(0, pm_platform_bind(self->p, self->vm, SLOT, GPA, SIZE, self->fd, 0, PM_PAGE_4K));
	self->hva = pm_gpa_to_hva(self->vm, GPA, SIZE);
	ASSERT_NE(NULL, self->hva);
	for (uint64_t pg = 0; pg < PAGES; pg++)
		self->hva[pg * MF_PAGE / 8] = HVA_WORD(pg);
}

FIXTURE_TEARDOWN(mfault_gmem)
{
	if (self->fd >= 0)
		close(self->fd);
	pm_vm_free(self->vm);
}

/* What the guest and the host saw in guest_rw(), stage by stage. */
struct rw_obs {
	enum pm_run_result r[4];
	uint64_t seen[4][2];		/* guest's reads of the first/last page per stage */
	uint64_t hva_first, hva_last;	/* userspace_addr after stage 2 */
	char msg[512];			/* the first run that was not a guest sync */
};

static bool rw_run(struct pm_vcpu *v, struct rw_obs *o, int stage)
{
	struct pm_exit e;

	pm_vcpu_run(v, &e);
	o->r[stage] = e.result;
	o->seen[stage][0] = e.rep.vals[1];
	o->seen[stage][1] = e.rep.vals[2];
	if (e.result == PM_RUN_SYNC && e.rep.vals[0] == (uint64_t)stage)
		return true;
	if (!o->msg[0])
		snprintf(o->msg, sizeof(o->msg), "stage %d: %s", stage,
			 mf_describe(v, &e, (char[400]){ 0 }, 400));
	return false;
}

/*
 * guest_rw() as it must look when the guest's memory is served from guest_memfd
 * (fresh pages read 0, userspace_addr untouched, a punched page reads 0 again)
 * or from userspace_addr (its contents, written through, punching irrelevant).
 */
static bool rw_served_from(const struct rw_obs *o, bool gmem)
{
	uint64_t first0 = gmem ? 0 : HVA_WORD(0), last0 = gmem ? 0 : HVA_WORD(LAST);

	if (o->r[1] != PM_RUN_SYNC || o->r[2] != PM_RUN_SYNC || o->r[3] != PM_RUN_SYNC)
		return false;
	if (o->seen[1][0] != first0 || o->seen[1][1] != last0 ||
	    o->seen[2][0] != GUEST_WORD || o->seen[2][1] != GUEST_WORD)
		return false;
	if (gmem ? o->hva_first != HVA_WORD(0) || o->hva_last != HVA_WORD(LAST) :
		   o->hva_first != GUEST_WORD || o->hva_last != GUEST_WORD)
		return false;
	return o->seen[3][0] == (gmem ? 0 : GUEST_WORD) && o->seen[3][1] == GUEST_WORD;
}

/*
 * No exit at all: on these VMs nothing is private (no memory attributes set),
 * so a slot bound to a guest_memfd without MMAP is served from userspace_addr
 * and one with MMAP (gmem-only) from the guest_memfd, INIT_SHARED or not.
 * Punching page 0 of the guest_memfd zaps the guest's mapping of it
 * (kvm_gmem_punch_hole -> kvm_gmem_invalidate_begin), which only a guest_memfd
 * served guest can see. Observed upstream: 6.18 guest_memfd_test.c
 * test_guest_memfd_guest (an MMAP|INIT_SHARED slot: the guest sees the file;
 * kvm_gmem_get_pfn does not look at INIT_SHARED, so without it the same holds).
 */
TEST_F(mfault_gmem, guest_access_without_exit)
{
	bool gmem = self->flags & GUEST_MEMFD_FLAG_MMAP;
	struct rw_obs o = { 0 };
	struct pm_vcpu *v;

	v = pm_vcpu_add(self->vm, guest_rw, GPA, 0, 0);
	ASSERT_NE(NULL, v);
	if (rw_run(v, &o, 1) && rw_run(v, &o, 2)) {
		o.hva_first = self->hva[0];
		o.hva_last = self->hva[LAST * MF_PAGE / 8];
		ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, MF_PAGE));
		rw_run(v, &o, 3);
	}
	MF_VERDICT(gmem, rw_served_from(&o, gmem),
		   rw_served_from(&o, false),
		   "flags 0x%llx: guest read 0x%llx/0x%llx, userspace_addr then 0x%llx/0x%llx, "
		   "after punch 0x%llx/0x%llx; want memory served from %s%s%s",
		   (unsigned long long)self->flags, (unsigned long long)o.seen[1][0],
		   (unsigned long long)o.seen[1][1], (unsigned long long)o.hva_first,
		   (unsigned long long)o.hva_last, (unsigned long long)o.seen[3][0],
		   (unsigned long long)o.seen[3][1], gmem ? "guest_memfd" : "userspace_addr",
		   o.msg[0] ? "; " : "", o.msg);
}

/*
 * The guest_memfd is closed while bound (api.rst 4.142: the memslot does not pin
 * the file; guest_memfd.c kvm_gmem_release() zaps and unbinds). A gmem-only slot
 * then has nothing to serve the access from: kvm_gmem_get_pfn() finds no file and
 * fails with -EFAULT, and kvm_mmu_faultin_pfn_gmem() annotates it
 * (kvm_mmu_prepare_memory_fault_exit): KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT,
 * flags 0 (a shared access), gpa the page, size 4096. A slot without MMAP keeps
 * being served from userspace_addr, as if nothing happened.
 */
TEST_F(mfault_gmem, closed_gmem_fault_exit)
{
	bool gmem = self->flags & GUEST_MEMFD_FLAG_MMAP, annotated = mf_fault_info(self->vm);
	struct rw_obs o = { 0 };
	struct pm_exit e;
	struct pm_vcpu *v;
	char why[400];

	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	v = pm_vcpu_add(self->vm, guest_rw, GPA, 0, 0);
	ASSERT_NE(NULL, v);
	if (!gmem) {
		ASSERT_TRUE(rw_run(v, &o, 1) && rw_run(v, &o, 2)) TH_LOG("%s", o.msg);
		ASSERT_EQ(HVA_WORD(0), o.seen[1][0]);
		ASSERT_EQ(HVA_WORD(LAST), o.seen[1][1]);
		ASSERT_EQ(GUEST_WORD, self->hva[0]);
		return;
	}
	pm_vcpu_run(v, &e);
	mf_describe(v, &e, why, sizeof(why));
	MF_VERDICT(true, mf_is_fault_exit(v, &e, GPA, 0, annotated),
		   e.result == PM_RUN_SYNC && e.rep.vals[1] == HVA_WORD(0),
		   "want KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT {flags 0, gpa 0x%llx, size 4096}%s; got %s",
		   (unsigned long long)GPA, annotated ? "" : " (not annotated: KVM_CAP_MEMORY_FAULT_INFO=0)",
		   why);
}

/* ---- private accesses (VMs with memory attributes) ------------------------------ */

FIXTURE(mfault_private) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	int fd;
};

FIXTURE_VARIANT(mfault_private) { struct pm_need need; };
FIXTURE_VARIANT_ADD(mfault_private, swprot_vm) { .need = { "sw-protected", 0 } };

FIXTURE_SETUP(mfault_private)
{
	self->fd = -1;
	PM_SETUP_VM(&variant->need, self->p, self->vm);
	self->vm->timeout_ms = 5000;
}

FIXTURE_TEARDOWN(mfault_private)
{
	if (self->fd >= 0)
		close(self->fd);
	pm_vm_free(self->vm);
}

/* Reads one word, twice, reporting each. */
static PM_GUEST void guest_read_twice(uint64_t gpa, uint64_t a1, uint64_t a2)
{
	(void)a1, (void)a2;
	GUEST_SYNC_VALS(1, pm_guest_read64((void *)gpa), 0, 0);
	GUEST_SYNC_VALS(2, pm_guest_read64((void *)gpa), 0, 0);
}

static void expect_private_fault(struct __test_metadata *_metadata, struct pm_vm *vm,
				 struct pm_vcpu *v, uint64_t gpa)
{
	bool annotated = mf_fault_info(vm);
	struct pm_exit e;
	char why[400];

	pm_vcpu_run(v, &e);
	if (!mf_is_fault_exit(v, &e, gpa, KVM_MEMORY_EXIT_FLAG_PRIVATE, annotated))
		TH_LOG("want KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT {PRIVATE, gpa 0x%llx, size 4096}; got %s",
		       (unsigned long long)gpa, mf_describe(v, &e, why, sizeof(why)));
	ASSERT_TRUE(mf_is_fault_exit(v, &e, gpa, KVM_MEMORY_EXIT_FLAG_PRIVATE, annotated));
}

/*
 * A PRIVATE page in a memslot without guest_memfd: the access is private
 * (mmu.c: the attribute decides for software-protected VMs) and
 * kvm_mmu_faultin_pfn_gmem() finds no guest_memfd: -1/EFAULT,
 * KVM_EXIT_MEMORY_FAULT {PRIVATE, page, 4096}. Observed upstream:
 * x86/private_mem_kvm_exits_test.c test_private_access_memslot_not_private.
 */
TEST_F(mfault_private, private_attr_plain_slot_exit)
{
	struct pm_vcpu *v;

	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT, GPA, SIZE, NULL, -1, 0, PM_PAGE_4K));
	CONVERT(self, GPA + MF_PAGE, MF_PAGE, true);
	v = pm_vcpu_add(self->vm, guest_read_twice, GPA + MF_PAGE, 0, 0);
	ASSERT_NE(NULL, v);
	expect_private_fault(_metadata, self->vm, v, GPA + MF_PAGE);
}

/*
 * A PRIVATE page of a guest_memfd slot is served from the guest_memfd (reads 0,
 * not userspace_addr's data, no exit); converted back to shared the same GPA is
 * served from userspace_addr again, holding what the host put there. On
 * software-protected VMs the guest has no shared/private bit: every access is
 * what the attribute says (mmu.c kvm_mmu_page_fault sets PFERR_PRIVATE_ACCESS
 * from kvm_mem_is_private), so there is no mismatch exit to provoke.
 */
TEST_F(mfault_private, private_attr_gmem_slot_served_from_gmem)
{
	struct pm_vcpu *v;
	uint64_t *hva;
	struct pm_exit e;

	self->fd = pm_platform_private_mem(self->p, self->vm, SIZE, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, pm_platform_bind(self->p, self->vm, SLOT, GPA, SIZE, self->fd, 0, PM_PAGE_4K));
	hva = pm_gpa_to_hva(self->vm, GPA, SIZE);
	ASSERT_NE(NULL, hva);
	hva[0] = HVA_WORD(0);
	CONVERT(self, GPA, SIZE, true);
	v = pm_vcpu_add(self->vm, guest_read_twice, GPA, 0, 0);
	ASSERT_NE(NULL, v);
	pm_vcpu_run(v, &e);
	ASSERT_EQ(PM_RUN_SYNC, e.result) TH_LOG("%s", mf_describe(v, &e, (char[400]){ 0 }, 400));
	ASSERT_EQ(0, e.rep.vals[1]);
	CONVERT(self, GPA, SIZE, false);
	pm_vcpu_run(v, &e);
	ASSERT_EQ(PM_RUN_SYNC, e.result) TH_LOG("%s", mf_describe(v, &e, (char[400]){ 0 }, 400));
	ASSERT_EQ(HVA_WORD(0), e.rep.vals[1]);
}

TEST_HARNESS_MAIN
