// SPDX-License-Identifier: GPL-2.0
/*
 * A PRIVATE gfn outside every memslot, reached by a shared access: the one
 * way a software-protected VM makes a shared access to private memory
 * deterministically.
 *
 * On KVM_X86_SW_PROTECTED_VM the attribute decides the access kind
 * (arch/x86/kvm/mmu/mmu.c kvm_mmu_page_fault sets PFERR_PRIVATE_ACCESS from
 * kvm_mem_is_private) except for reserved-bit faults, i.e. faults on MMIO
 * SPTEs: "emulated MMIO is shared-only", so they are never private. A guest
 * read of a gfn without a memslot is emulated MMIO (kvm_handle_noslot_fault;
 * KVM_RUN 0, KVM_EXIT_MMIO) and, with kvm.mmio_caching, installs an MMIO SPTE
 * tagged with the memslot generation. Setting the gfn PRIVATE does not zap it
 * (kvm_vm_set_mem_attributes -> kvm_handle_gfn_range walks memslots; there is
 * none). Any memslot change bumps the generation, so the next read takes the
 * reserved-bit fault, handle_mmio_page_fault finds the SPTE stale
 * (check_mmio_spte -> RET_PF_INVALID) and goes to kvm_mmu_do_page_fault with a
 * shared fault. kvm_faultin_pfn (6.12) checks fault->is_private !=
 * kvm_mem_is_private first: KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT, flags 0
 * (the access was shared: kvm_prepare_memory_fault_exit sets PRIVATE iff
 * fault->is_private), gpa the 4K page, size 4096. Upstream before 44f42ef37deb
 * ("KVM: x86/mmu: Move private vs. shared check above slot validity checks",
 * v6.10) ran that check after the !slot exit to kvm_handle_noslot_fault, which
 * emulated the private gfn as MMIO.
 *
 * Without the MMIO SPTE nothing distinguishes the two: the second read is a
 * private fault, and kvm_handle_noslot_fault reports it {PRIVATE, page, 4096}
 * either way (inval_delete.*'s swprot_vm_private variant covers that exit for a
 * deleted slot). Without the generation bump the valid MMIO SPTE is emulated
 * straight from handle_mmio_page_fault, on every kernel.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "memfault.h"

#define NOSLOT_PAGE	PM_TEST_GPA			/* in no memslot, ever */
#define OFF		0x238ULL			/* the access is not page aligned */
#define NOSLOT_ADDR	(NOSLOT_PAGE + OFF)		/* X, the address the guest reads */
#define OTHER_SLOT	PM_SLOT_FIRST_FREE		/* the unrelated slot */
#define OTHER_GPA	(PM_TEST_GPA + PM_PAGE_2M)
#define MMIO_CACHING	"/sys/module/kvm/parameters/mmio_caching"

#define MMIO_WORD(n)	(0x4d4d494f00000000ULL | (n))	/* userspace's answer to MMIO read n */

PM_GUEST_CODE_BEGIN

/* Two reads of the same word, each reported. */
static PM_GUEST void guest_read_twice(uint64_t gpa, uint64_t a1, uint64_t a2)
{
	(void)a1, (void)a2;
	GUEST_SYNC_VALS(1, pm_guest_read64((void *)gpa), 0, 0);
	GUEST_SYNC_VALS(2, pm_guest_read64((void *)gpa), 0, 0);
}

PM_GUEST_CODE_END

FIXTURE(mfault_noslot) {
	const struct pm_platform *p;
	struct pm_vm *vm;
};

FIXTURE_VARIANT(mfault_noslot) { struct pm_need need; };
FIXTURE_VARIANT_ADD(mfault_noslot, swprot_vm) { .need = { "sw-protected", 0 } };

FIXTURE_SETUP(mfault_noslot)
{
	PM_SETUP_VM(&variant->need, self->p, self->vm);
	self->vm->timeout_ms = 5000;
	/* Guest page tables only: the guest can issue the access, KVM has no slot for it. */
	ASSERT_EQ(0, pm_vm_map(self->vm, NOSLOT_PAGE, MF_PAGE, PM_PAGE_4K));
}

FIXTURE_TEARDOWN(mfault_noslot)
{
	pm_vm_free(self->vm);
}

/* kvm.mmio_caching as the module reports it ('Y'/'N'), or why it cannot be read. */
static bool mmio_caching(char *why, size_t len)
{
	char buf[16] = { 0 };
	int fd = open(MMIO_CACHING, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(why, len, "%s unreadable (%s): cannot know whether KVM caches MMIO SPTEs",
			 MMIO_CACHING, n < 0 ? strerror(errno) : "empty");
		return false;
	}
	buf[strcspn(buf, "\n")] = 0;
	snprintf(why, len, "%s is %s: no MMIO SPTE, so no shared fault on the PRIVATE gfn "
		 "(the second read is a private one, {PRIVATE, page, 4096} on every kernel)",
		 MMIO_CACHING, buf);
	return buf[0] == 'Y' && !buf[1];
}

/*
 * The next KVM_RUN must be the guest's read of NOSLOT_ADDR emulated as MMIO:
 * KVM_RUN 0, KVM_EXIT_MMIO {phys_addr NOSLOT_ADDR, len 8, is_write 0}; it is
 * completed with `word` (api.rst 5 KVM_EXIT_MMIO: the data is taken at the next
 * KVM_RUN), and the guest's sync `stage` must then report it.
 */
static void expect_mmio_read(struct __test_metadata *_metadata, struct pm_vcpu *v,
			     int stage, uint64_t word)
{
	struct kvm_run *run = v->run;
	struct pm_exit e;
	char why[400];

	pm_vcpu_run(v, &e);
	if (e.result != PM_RUN_EXIT || e.exit_reason != KVM_EXIT_MMIO)
		TH_LOG("stage %d: want KVM_RUN 0, KVM_EXIT_MMIO {0x%llx, len 8, read}; got %s", stage,
		       (unsigned long long)NOSLOT_ADDR, mf_describe(v, &e, why, sizeof(why)));
	ASSERT_EQ(PM_RUN_EXIT, e.result);
	ASSERT_EQ(KVM_EXIT_MMIO, e.exit_reason);
	ASSERT_EQ(NOSLOT_ADDR, run->mmio.phys_addr);
	ASSERT_EQ(8, run->mmio.len);
	ASSERT_EQ(0, run->mmio.is_write);
	memcpy(run->mmio.data, &word, sizeof(word));
	pm_vcpu_run(v, &e);
	if (e.result != PM_RUN_SYNC || e.rep.vals[0] != (uint64_t)stage)
		TH_LOG("stage %d: want the guest's sync after the MMIO read; got %s", stage,
		       mf_describe(v, &e, why, sizeof(why)));
	ASSERT_EQ(PM_RUN_SYNC, e.result);
	ASSERT_EQ((uint64_t)stage, e.rep.vals[0]);
	ASSERT_EQ(word, e.rep.vals[1]);
}

/*
 * sw-protected VM, X = NOSLOT_ADDR in no memslot. (1) Guest reads X:
 * KVM_EXIT_MMIO, completed (installs the MMIO SPTE). (2) X's page set PRIVATE
 * (0: attributes need no memslot). (3) An unrelated 1-page slot added and
 * deleted (0, 0: the memslot generation moves, the MMIO SPTE is stale). (4)
 * Guest reads X again: KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT {flags 0, gpa
 * X's page, size 4096}, never KVM_EXIT_MMIO. (5) Answered as a shared fault is,
 * by setting the page shared: the read retries, still shared and slot-less, and
 * is emulated MMIO again (KVM_EXIT_MMIO {X, 8, read}), completing with
 * userspace's data.
 */
TEST_F(mfault_noslot, stale_mmio_spte_private_gfn_shared_exit)
{
	bool annotated = mf_fault_info(self->vm);
	struct pm_vcpu *v;
	struct pm_exit e;
	char why[400];

	if (!mmio_caching(why, sizeof(why)))
		SKIP(return, "%s", why);
	TH_LOG("%s=Y; KVM_CAP_MEMORY_FAULT_INFO=%d", MMIO_CACHING, annotated);
	v = pm_vcpu_add(self->vm, guest_read_twice, NOSLOT_ADDR, 0, 0);
	ASSERT_NE(NULL, v);

	expect_mmio_read(_metadata, v, 1, MMIO_WORD(1));

	CONVERT(self, NOSLOT_PAGE, MF_PAGE, true);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, OTHER_SLOT, OTHER_GPA, MF_PAGE, NULL, -1, 0,
				      PM_PAGE_4K));
	ASSERT_EQ(0, pm_vm_delete_slot(self->vm, OTHER_SLOT));

	pm_vcpu_run(v, &e);
	mf_describe(v, &e, why, sizeof(why));
	if (!mf_is_fault_exit(v, &e, NOSLOT_PAGE, 0, annotated))
		TH_LOG("want KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT {flags 0 (a shared access), "
		       "gpa 0x%llx, size 4096}%s; got %s%s", (unsigned long long)NOSLOT_PAGE,
		       annotated ? "" : " (not annotated: KVM_CAP_MEMORY_FAULT_INFO=0)", why,
		       e.result == PM_RUN_EXIT && e.exit_reason == KVM_EXIT_MMIO ?
		       " (the PRIVATE gfn was emulated as MMIO: the mismatch check runs after "
		       "the !slot exit, as before 44f42ef37deb)" : "");
	if (e.result == PM_RUN_EXIT && e.exit_reason == KVM_EXIT_MMIO)
		TH_LOG("KVM_EXIT_MMIO {phys_addr 0x%llx, len %u, is_write %u}",
		       (unsigned long long)v->run->mmio.phys_addr, v->run->mmio.len,
		       v->run->mmio.is_write);
	ASSERT_TRUE(mf_is_fault_exit(v, &e, NOSLOT_PAGE, 0, annotated));

	CONVERT(self, NOSLOT_PAGE, MF_PAGE, false);
	expect_mmio_read(_metadata, v, 2, MMIO_WORD(2));
}

TEST_HARNESS_MAIN
