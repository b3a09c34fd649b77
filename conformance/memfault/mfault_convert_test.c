// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_EXIT_MEMORY_FAULT on VMs with memory attributes: the exact fields of a
 * private fault wherever it lands, the exit a conversion racing a fault gives,
 * and when the exit's contents are valid at all.
 *
 * Every private fault KVM cannot serve is annotated by
 * kvm_mmu_prepare_memory_fault_exit() (arch/x86/kvm/mmu/mmu_internal.h, 6.12):
 * gpa = fault->gfn << PAGE_SHIFT (the faulting 4K page, whatever the guest's
 * own page size), size = PAGE_SIZE, flags = KVM_MEMORY_EXIT_FLAG_PRIVATE iff
 * fault->is_private (kvm_prepare_memory_fault_exit, include/linux/kvm_host.h:
 * no RWX flags), and KVM_RUN fails with EFAULT. api.rst 5 KVM_EXIT_MEMORY_FAULT
 * and 7.34: the fields are valid iff KVM_RUN fails with EFAULT or EHWPOISON and
 * exit_reason is KVM_EXIT_MEMORY_FAULT; for any other errno exit_reason is
 * "stale/undefined".
 *
 * On software-protected VMs the access kind follows the attribute
 * (mmu.c kvm_mmu_page_fault sets PFERR_PRIVATE_ACCESS from kvm_mem_is_private),
 * so a shared access to private memory cannot be provoked deterministically:
 * only an attribute change between that read and kvm_faultin_pfn()'s re-check
 * (fault->is_private != kvm_mem_is_private) gives the mismatch exit (outside
 * memslots a stale MMIO SPTE does: mfault_noslot_test.c). SNP and
 * TDX guests choose the access kind themselves; there it is their row.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <time.h>

#include "memfault.h"

#define SLOT		PM_SLOT_FIRST_FREE
#define GPA		PM_TEST_GPA			/* 2M aligned */
#define SIZE		PM_PAGE_2M
#define PAGES		(SIZE / MF_PAGE)
#define MID		0x1a5ULL			/* a page far from any 2M boundary */
#define OFF		0x238ULL			/* accesses are not page aligned */
#define PG(n)		(GPA + (n) * MF_PAGE)

#define HVA_WORD(pg)	(0x4856410000000000ULL | (pg))	/* what userspace_addr holds */
#define GUEST_WORD	0x4755455354ULL			/* what the guest writes */

PM_GUEST_CODE_BEGIN

/* Stage 1 (if `first`): a shared read; stage 2: the access under test, then its value. */
static PM_GUEST void guest_read_at(uint64_t gpa, uint64_t first, uint64_t a2)
{
	(void)a2;
	if (first)
		GUEST_SYNC_VALS(1, pm_guest_read64((void *)first), 0, 0);
	GUEST_SYNC_VALS(2, pm_guest_read64((void *)gpa), 0, 0);
}

static PM_GUEST void guest_write_at(uint64_t gpa, uint64_t first, uint64_t a2)
{
	(void)a2;
	if (first)
		GUEST_SYNC_VALS(1, pm_guest_read64((void *)first), 0, 0);
	pm_guest_write64((void *)gpa, GUEST_WORD);
	GUEST_SYNC_VALS(2, pm_guest_read64((void *)gpa), 0, 0);
}

PM_GUEST_CODE_END

/*
 * The next KVM_RUN must be the private fault on the 4K page `page`, exactly.
 * Annotation is not optional here: every private path fills the fields
 * (kvm_faultin_pfn_private / kvm_handle_noslot_fault / the mismatch check).
 */
#define EXPECT_PRIVATE_FAULT(v, page) do {					\
	struct pm_exit __e;							\
	char __why[400];							\
	pm_vcpu_run((v), &__e);							\
	if (!mf_is_fault_exit((v), &__e, (page), KVM_MEMORY_EXIT_FLAG_PRIVATE, true)) \
		TH_LOG("want KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT {flags 0x%llx (PRIVATE), " \
		       "gpa 0x%llx, size 4096}; got %s",				\
		       (unsigned long long)KVM_MEMORY_EXIT_FLAG_PRIVATE,		\
		       (unsigned long long)(page), mf_describe((v), &__e, __why, sizeof(__why))); \
	ASSERT_TRUE(mf_is_fault_exit((v), &__e, (page), KVM_MEMORY_EXIT_FLAG_PRIVATE, true)); \
} while (0)

/*
 * The next KVM_RUN must return 0 with the guest's sync `stage` (KVM_EXIT_IO on
 * the report port) reporting `val`: the faulting access was retried and done.
 */
#define EXPECT_SYNC_VAL(v, stage, val) do {					\
	struct pm_exit __e;							\
	char __why[400];							\
	pm_vcpu_run((v), &__e);							\
	if (__e.result != PM_RUN_SYNC || __e.rep.vals[0] != (stage))		\
		TH_LOG("want KVM_RUN 0, KVM_EXIT_IO (guest sync %d); got %s", (int)(stage), \
		       mf_describe((v), &__e, __why, sizeof(__why)));		\
	ASSERT_EQ(PM_RUN_SYNC, __e.result);					\
	ASSERT_EQ(KVM_EXIT_IO, __e.exit_reason);				\
	ASSERT_EQ((uint64_t)(stage), __e.rep.vals[0]);				\
	ASSERT_EQ((uint64_t)(val), __e.rep.vals[1]);				\
} while (0)

/* ---- where a private fault lands ------------------------------------------------- */

FIXTURE(mfault_pos) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	uint64_t *hva;		/* the slot's userspace_addr (the shared view) */
};

FIXTURE_VARIANT(mfault_pos) {
	struct pm_need need;
	uint64_t guest_page;	/* the guest's own mapping of the slot */
	bool gmem_closed;	/* a guest_memfd slot whose file is gone; else a plain slot */
};

FIXTURE_VARIANT_ADD(mfault_pos, swprot_plain_4k) {
	.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_4K };
FIXTURE_VARIANT_ADD(mfault_pos, swprot_plain_2m) {
	.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_2M };
FIXTURE_VARIANT_ADD(mfault_pos, swprot_gmem_closed_4k) {
	.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_4K, .gmem_closed = true };
FIXTURE_VARIANT_ADD(mfault_pos, swprot_gmem_closed_2m) {
	.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_2M, .gmem_closed = true };

/*
 * Plain slot: a private access finds no guest_memfd (6.12 kvm_faultin_pfn_private,
 * !kvm_slot_can_be_private; 6.18 kvm_mmu_faultin_pfn_gmem). Closed guest_memfd:
 * the slot keeps KVM_MEM_GUEST_MEMFD but kvm_gmem_release() unbound the file, so
 * kvm_gmem_get_pfn() fails with -EFAULT. Both annotate the same way. Converted
 * back to shared, either slot is served from userspace_addr again.
 */
FIXTURE_SETUP(mfault_pos)
{
	int fd = -1;

	PM_SETUP_VM(&variant->need, self->p, self->vm);
	self->vm->timeout_ms = 5000;
	if (variant->gmem_closed) {
		fd = pm_platform_private_mem(self->p, self->vm, SIZE, 0);
		ASSERT_LE(0, fd);
	}
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT, GPA, SIZE, NULL, fd, 0, variant->guest_page));
	if (fd >= 0)
		ASSERT_EQ(0, close(fd));
	self->hva = pm_gpa_to_hva(self->vm, GPA, SIZE);
	ASSERT_NE(NULL, self->hva);
	for (uint64_t pg = 0; pg < PAGES; pg++)
		self->hva[(pg * MF_PAGE + OFF) / 8] = HVA_WORD(pg);
}

FIXTURE_TEARDOWN(mfault_pos)
{
	pm_vm_free(self->vm);
}

/* The whole slot private; a read of its first page: gpa = slot start. */
TEST_F(mfault_pos, first_page_read_exact)
{
	struct pm_vcpu *v;

	CONVERT(self, GPA, SIZE, true);
	v = pm_vcpu_add(self->vm, guest_read_at, PG(0) + OFF, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_PRIVATE_FAULT(v, PG(0));
	CONVERT(self, PG(0), MF_PAGE, false);
	EXPECT_SYNC_VAL(v, 2, HVA_WORD(0));
}

/*
 * The whole slot private; a write to the last word of the slot: gpa = the last
 * page (not the 2M-aligned slot start, not the word), flags PRIVATE only (no
 * write flag exists). Resolved, the store is retried into userspace_addr.
 */
TEST_F(mfault_pos, last_page_write_exact)
{
	uint64_t last = PAGES - 1;
	struct pm_vcpu *v;

	CONVERT(self, GPA, SIZE, true);
	v = pm_vcpu_add(self->vm, guest_write_at, GPA + SIZE - 8, 0, 0);
	ASSERT_NE(NULL, v);
	EXPECT_PRIVATE_FAULT(v, PG(last));
	CONVERT(self, PG(last), MF_PAGE, false);
	EXPECT_SYNC_VAL(v, 2, GUEST_WORD);
	ASSERT_EQ(GUEST_WORD, self->hva[(SIZE - 8) / 8]);
}

/*
 * One private page amid shared ones: the shared neighbour reads userspace_addr,
 * the private page faults at its own 4K gpa, also when the guest maps the slot
 * with one 2M page.
 */
TEST_F(mfault_pos, mid_page_read_exact)
{
	struct pm_vcpu *v;

	CONVERT(self, PG(MID), MF_PAGE, true);
	v = pm_vcpu_add(self->vm, guest_read_at, PG(MID) + OFF, PG(MID - 1) + OFF, 0);
	ASSERT_NE(NULL, v);
	EXPECT_SYNC_VAL(v, 1, HVA_WORD(MID - 1));
	EXPECT_PRIVATE_FAULT(v, PG(MID));
	CONVERT(self, PG(MID), MF_PAGE, false);
	EXPECT_SYNC_VAL(v, 2, HVA_WORD(MID));
}

TEST_F(mfault_pos, mid_page_write_exact)
{
	struct pm_vcpu *v;

	CONVERT(self, PG(MID), MF_PAGE, true);
	v = pm_vcpu_add(self->vm, guest_write_at, PG(MID) + OFF, PG(MID + 1) + OFF, 0);
	ASSERT_NE(NULL, v);
	EXPECT_SYNC_VAL(v, 1, HVA_WORD(MID + 1));
	EXPECT_PRIVATE_FAULT(v, PG(MID));
	CONVERT(self, PG(MID), MF_PAGE, false);
	EXPECT_SYNC_VAL(v, 2, GUEST_WORD);
	ASSERT_EQ(GUEST_WORD, self->hva[(MID * MF_PAGE + OFF) / 8]);
}

/* ---- when the exit's contents are valid ----------------------------------------- */

#define VPAGES		16ULL
#define VSIZE		(VPAGES * MF_PAGE)
#define VPRIV		3ULL		/* the private page */

FIXTURE(mfault_valid) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	struct pm_vcpu *v;
	int fd;
};

FIXTURE_VARIANT(mfault_valid) { struct pm_need need; };
FIXTURE_VARIANT_ADD(mfault_valid, swprot_vm) { .need = { "sw-protected", 0 } };

/* A plain slot with one PRIVATE page; the guest reads its neighbour, then it. */
FIXTURE_SETUP(mfault_valid)
{
	uint64_t *hva;

	self->fd = -1;
	PM_SETUP_VM(&variant->need, self->p, self->vm);
	self->vm->timeout_ms = 5000;
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT, GPA, VSIZE, NULL, -1, 0, PM_PAGE_4K));
	hva = pm_gpa_to_hva(self->vm, GPA, VSIZE);
	ASSERT_NE(NULL, hva);
	for (uint64_t pg = 0; pg < VPAGES; pg++)
		hva[(pg * MF_PAGE + OFF) / 8] = HVA_WORD(pg);
	CONVERT(self, PG(VPRIV), MF_PAGE, true);
	self->v = pm_vcpu_add(self->vm, guest_read_at, PG(VPRIV) + OFF, PG(VPRIV - 1) + OFF, 0);
	ASSERT_NE(NULL, self->v);
	EXPECT_SYNC_VAL(self->v, 1, HVA_WORD(VPRIV - 1));
	EXPECT_PRIVATE_FAULT(self->v, PG(VPRIV));
}

FIXTURE_TEARDOWN(mfault_valid)
{
	pm_vm_free(self->vm);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * After a memory-fault exit, KVM_RUN with immediate_exit set returns -1/EINTR
 * without entering the guest (api.rst 5 "immediate_exit"; 6.12 x86.c
 * kvm_arch_vcpu_ioctl_run: !vcpu->wants_to_run -> -EINTR before vcpu_run()).
 * exit_reason is not checked: api.rst calls it stale/undefined for any errno
 * but EFAULT/EHWPOISON, and 6.12 leaves the previous KVM_EXIT_MEMORY_FAULT in
 * place on this path. The guest did not move: the next KVM_RUN gives the same
 * fault again; resolved (page converted to shared) the next one returns 0 with
 * the guest's KVM_EXIT_IO.
 */
TEST_F(mfault_valid, immediate_exit_eintr_then_same_fault)
{
	struct kvm_run *run = self->v->run;
	uint32_t reason;
	int r, err;

	/* api.rst 5: "This field is ignored if KVM_CAP_IMMEDIATE_EXIT is not available." */
	if (pm_check_cap(self->vm->kvm_fd, KVM_CAP_IMMEDIATE_EXIT) <= 0)
		SKIP(return, "KVM_CAP_IMMEDIATE_EXIT=0");
	run->immediate_exit = 1;
	errno = 0;
	r = ioctl(self->v->fd, KVM_RUN, 0);
	err = errno;
	reason = run->exit_reason;
	run->immediate_exit = 0;
	if (r != -1 || err != EINTR)
		TH_LOG("immediate_exit: want -1/EINTR, got %d/%s (exit_reason %s)", r,
		       err ? strerrorname_np(err) : "0", pm_exit_reason_name(reason));
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EINTR, err);
	EXPECT_PRIVATE_FAULT(self->v, PG(VPRIV));
	CONVERT(self, PG(VPRIV), MF_PAGE, false);
	EXPECT_SYNC_VAL(self->v, 2, HVA_WORD(VPRIV));
}

static void on_usr1(int sig)
{
	(void)sig;
}

/*
 * After a memory-fault exit, a signal pending when KVM_RUN starts (unblocked
 * for the run by KVM_SET_SIGNAL_MASK) ends the run before guest entry with
 * -1/EINTR and exit_reason KVM_EXIT_INTR: vcpu_run() first sets
 * KVM_EXIT_UNKNOWN, vcpu_enter_guest() sees kvm_vcpu_exit_request(), and
 * xfer_to_guest_mode_handle_work() -> kvm_handle_signal_exit() sets
 * KVM_EXIT_INTR (6.12 x86.c, kernel/entry/kvm.c, kvm_host.h). The stale fault
 * must not survive. Then the same fault again, and a memslot change resolves
 * it: the plain slot is replaced by a guest_memfd slot at the same GPA, which
 * serves the private page (a fresh guest_memfd page reads 0).
 */
TEST_F(mfault_valid, signal_eintr_exit_intr_then_gmem_slot)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct {
		struct kvm_signal_mask m;
		uint64_t set;		/* the kernel's sigset_t: 64 bits on x86_64 */
	} km = { .m.len = sizeof(uint64_t) };
	struct timespec zero = { 0 };
	struct kvm_run *run = self->v->run;
	sigset_t usr1, old;
	int r, err, got, sm;
	uint32_t reason;

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	ASSERT_EQ(0, pthread_sigmask(SIG_BLOCK, &usr1, &old));
	memcpy(&km.set, &old, sizeof(km.set));
	km.set &= ~(1ULL << (SIGUSR1 - 1));
	ASSERT_EQ(0, pthread_kill(pthread_self(), SIGUSR1));
	sm = ioctl(self->v->fd, KVM_SET_SIGNAL_MASK, &km);
	errno = 0;
	r = ioctl(self->v->fd, KVM_RUN, 0);
	err = errno;
	reason = run->exit_reason;
	/* Back to a vCPU without a signal mask, the signal consumed, the old mask. */
	ASSERT_EQ(0, ioctl(self->v->fd, KVM_SET_SIGNAL_MASK, NULL));
	got = sigtimedwait(&usr1, NULL, &zero);
	ASSERT_EQ(0, pthread_sigmask(SIG_SETMASK, &old, NULL));
	ASSERT_EQ(0, sm);
	if (r != -1 || err != EINTR || reason != KVM_EXIT_INTR)
		TH_LOG("pending signal: want -1/EINTR, exit_reason KVM_EXIT_INTR; got %d/%s, %s", r,
		       err ? strerrorname_np(err) : "0", pm_exit_reason_name(reason));
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EINTR, err);
	ASSERT_EQ(KVM_EXIT_INTR, reason);
	ASSERT_EQ(SIGUSR1, got);	/* KVM did not consume it */

	EXPECT_PRIVATE_FAULT(self->v, PG(VPRIV));
	ASSERT_EQ(0, pm_vm_delete_slot(self->vm, SLOT));
	self->fd = pm_platform_private_mem(self->p, self->vm, VSIZE, 0);
	ASSERT_LE(0, self->fd);
	/* The guest's page tables (in the system slot) still map the range. */
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT, GPA, VSIZE, NULL, self->fd, 0, 0));
	EXPECT_SYNC_VAL(self->v, 2, 0);
}

/* ---- a conversion racing the guest's faults ------------------------------------- */

#define RPAGES		8ULL
#define RSIZE		(RPAGES * MF_PAGE)
#define RPASSES		32ULL
#define MAX_EXITS	(RPASSES * RPAGES)	/* at most one per access */
#define MAX_FLIPS	1000

PM_GUEST_CODE_BEGIN

static PM_GUEST void guest_race(uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a0, (void)a1, (void)a2;
	/* While the host flips the range: shared data or a fresh private page, nothing else. */
	for (uint64_t pass = 0; pass < RPASSES; pass++) {
		for (uint64_t pg = 0; pg < RPAGES; pg++) {
			uint64_t v = pm_guest_read64((void *)(PG(pg) + OFF));

			if (v != HVA_WORD(pg) && v != 0)
				pm_guest_assert_fail(__FILE__, __LINE__,
						     "read neither userspace_addr data nor 0", v, pg);
		}
		GUEST_SYNC_VALS(1, pass, 0, 0);
	}
	GUEST_SYNC(2);
	/* Settled: all shared, then all private; no stale mapping of either view. */
	for (uint64_t pg = 0; pg < RPAGES; pg++)
		GUEST_ASSERT_EQ(pm_guest_read64((void *)(PG(pg) + OFF)), HVA_WORD(pg));
	GUEST_SYNC(3);
	for (uint64_t pg = 0; pg < RPAGES; pg++)
		GUEST_ASSERT_EQ(pm_guest_read64((void *)(PG(pg) + OFF)), 0);
	GUEST_SYNC(4);
}

PM_GUEST_CODE_END

struct flipper {
	const struct pm_platform *p;
	struct pm_vm *vm;
	pthread_mutex_t mu;	/* held around each conversion, and while the host resolves an exit */
	int stop;
	int flips, err;
};

/*
 * Flip the whole range back to back, so that conversions land while the guest's
 * faults are in flight; bounded, so the guest always gets to finish.
 */
static void *flip_range(void *arg)
{
	struct flipper *f = arg;
	bool priv = false;

	while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE) && f->flips < MAX_FLIPS) {
		pthread_mutex_lock(&f->mu);
		priv = !priv;
		if (pm_platform_convert(f->p, f->vm, GPA, RSIZE, priv))
			f->err = errno;
		else
			f->flips++;
		pthread_mutex_unlock(&f->mu);
		if (f->err)
			break;
		sched_yield();
	}
	return NULL;
}

FIXTURE(mfault_race) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	int fd;
	uint64_t *hva;
};

FIXTURE_VARIANT(mfault_race) {
	struct pm_need need;
	bool guest_kind;	/* the guest chooses shared/private per access (C-bit, shared bit) */
};
FIXTURE_VARIANT_ADD(mfault_race, swprot_vm) { .need = { "sw-protected", 0 } };
PM_CVM_VARIANTS(mfault_race, , 0, .guest_kind = true);

FIXTURE_SETUP(mfault_race)
{
	self->fd = -1;
	PM_SETUP_VM(&variant->need, self->p, self->vm);
	/* Reached only once privmem has a launch flow for it. */
	if (variant->guest_kind)
		SKIP(return, "not applicable: %s guests choose the access kind, so a shared access to private memory is deterministic there, not a race",
		     self->p->name);
	self->vm->timeout_ms = 5000;
	self->fd = pm_platform_private_mem(self->p, self->vm, RSIZE, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT, GPA, RSIZE, NULL, self->fd, 0, PM_PAGE_4K));
	self->hva = pm_gpa_to_hva(self->vm, GPA, RSIZE);
	ASSERT_NE(NULL, self->hva);
	for (uint64_t pg = 0; pg < RPAGES; pg++)
		self->hva[(pg * MF_PAGE + OFF) / 8] = HVA_WORD(pg);
}

FIXTURE_TEARDOWN(mfault_race)
{
	pm_vm_free(self->vm);
	if (self->fd >= 0)
		close(self->fd);
}

/* A mismatch exit as kvm_faultin_pfn() makes it: one page of the range, either kind. */
static bool race_exit_ok(const struct pm_vcpu *v, const struct pm_exit *e)
{
	const struct kvm_run *run = v->run;

	return e->result == PM_RUN_ERROR && e->err == EFAULT &&
	       e->exit_reason == KVM_EXIT_MEMORY_FAULT &&
	       (run->memory_fault.flags == 0 ||
		run->memory_fault.flags == KVM_MEMORY_EXIT_FLAG_PRIVATE) &&
	       run->memory_fault.gpa % MF_PAGE == 0 &&
	       run->memory_fault.gpa >= GPA && run->memory_fault.gpa < GPA + RSIZE &&
	       run->memory_fault.size == MF_PAGE;
}

/*
 * The host flips a guest_memfd range shared<->private while the guest reads it.
 * Every KVM_RUN failure must be a mismatch exit (race_exit_ok). Userspace answers
 * each with the attribute the exit asks for (private iff the flag) for that page,
 * with the flipper held off; the next KVM_RUN must then reach the guest's next
 * sync (the access kind now matches the attribute; nothing else changes).
 * Exits are counted and logged, not required: the mismatch needs the conversion
 * to land between kvm_mmu_page_fault()'s and kvm_faultin_pfn()'s reads of the
 * attribute, and one arriving earlier is a plain retry (mmu_invalidate_retry_gfn,
 * mmu.c). What must hold regardless: the guest finishes its RPASSES passes,
 * every read is the shared data or 0 (fresh guest_memfd page), every conversion
 * succeeds, and once the flipping stops, all-shared reads userspace_addr and
 * all-private reads 0 on every page (no stale mapping of either view).
 */
TEST_F(mfault_race, convert_race_exits_exact)
{
	struct flipper f = {
		.p = self->p, .vm = self->vm, .mu = PTHREAD_MUTEX_INITIALIZER,
	};
	int passes = 0, exits = 0, priv_exits = 0, runs;
	bool done = false;
	char bad[600] = "";
	struct pm_vcpu *v;
	struct pm_exit e;
	pthread_t t;

	v = pm_vcpu_add(self->vm, guest_race, 0, 0, 0);
	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, pthread_create(&t, NULL, flip_range, &f));
	for (runs = 0; runs < (int)(RPASSES + 2 * MAX_EXITS) && !done && !bad[0]; runs++) {
		bool priv;
		uint64_t page;

		pm_vcpu_run(v, &e);
		if (e.result == PM_RUN_SYNC && e.rep.vals[0] == 1) {
			passes++;
			continue;
		}
		if (e.result == PM_RUN_SYNC && e.rep.vals[0] == 2) {
			done = true;
			continue;
		}
		if (!race_exit_ok(v, &e)) {
			snprintf(bad, sizeof(bad), "run %d: want a guest sync or KVM_RUN -1/EFAULT, "
				 "KVM_EXIT_MEMORY_FAULT {flags 0 or PRIVATE, a page of [0x%llx, 0x%llx), size 4096}; got %s",
				 runs, (unsigned long long)GPA, (unsigned long long)(GPA + RSIZE),
				 mf_describe(v, &e, (char[400]){ 0 }, 400));
			break;
		}
		priv = v->run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE;
		page = v->run->memory_fault.gpa;
		exits++;
		priv_exits += priv;
		pthread_mutex_lock(&f.mu);
		if (pm_platform_convert(self->p, self->vm, page, MF_PAGE, priv))
			snprintf(bad, sizeof(bad), "converting 0x%llx to %s after exit %d: %s",
				 (unsigned long long)page, priv ? "private" : "shared", exits,
				 strerror(errno));
		else
			pm_vcpu_run(v, &e);
		pthread_mutex_unlock(&f.mu);
		if (bad[0])
			break;
		if (e.result == PM_RUN_SYNC && (e.rep.vals[0] == 1 || e.rep.vals[0] == 2)) {
			passes += e.rep.vals[0] == 1;
			done = e.rep.vals[0] == 2;
			continue;
		}
		snprintf(bad, sizeof(bad), "exit %d {flags 0x%llx, gpa 0x%llx} answered with that "
			 "attribute, the guest made no progress: %s", exits, priv ? (unsigned long long)KVM_MEMORY_EXIT_FLAG_PRIVATE : 0ULL,
			 (unsigned long long)page, mf_describe(v, &e, (char[400]){ 0 }, 400));
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	TH_LOG("%d passes, %d conversions by the flipper, %d memory-fault exits (%d private, %d shared)",
	       passes, f.flips, exits, priv_exits, exits - priv_exits);
	if (bad[0])
		TH_LOG("%s", bad);
	ASSERT_EQ(0, bad[0]);
	ASSERT_EQ(0, f.err) TH_LOG("KVM_SET_MEMORY_ATTRIBUTES: %s", strerror(f.err));
	ASSERT_TRUE(done) TH_LOG("the guest did not finish within %d runs", runs);
	ASSERT_EQ((int)RPASSES, passes);

	CONVERT(self, GPA, RSIZE, false);
	EXPECT_SYNC_VAL(v, 3, 0);
	CONVERT(self, GPA, RSIZE, true);
	EXPECT_SYNC_VAL(v, 4, 0);
}

TEST_HARNESS_MAIN
