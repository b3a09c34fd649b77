// SPDX-License-Identifier: GPL-2.0
/*
 * Bounded races between memslot deletion and what else may touch the slot at the
 * same moment. Real kernel bugs lived here (conformance/mutants/): a guest_memfd
 * closed while its slot is deleted (kvm_gmem_release vs kvm_gmem_unbind, a
 * use-after-free only KASAN shows: the lab's KASAN lane turns it into a kernel
 * splat that FAILs this binary), and KVM_PRE_FAULT_MEMORY on a slot being deleted,
 * twice: kvm_tdp_map_page retrying the KVM_MEMSLOT_INVALID slot while holding
 * kvm->srcu (before 3ccbf6f47098, v6.18), and kvm_tdp_page_prefault retrying on the
 * root that the deletion's fast zap-all made obsolete, never reloading it, while
 * holding kvm->srcu (before 355323a4dc94, queued for 7.4): either way
 * synchronize_srcu() in the deletion and the pre-fault wait on each other.
 *
 * Verdicts are exact: every call returns one of its documented results, the slot
 * can be re-created afterwards, and nothing hangs (struct pm_watchdog: a bound never
 * reached on a correct kernel). Both threads start each round from one spin barrier
 * so the two calls overlap as often as the machine allows; ROUNDS caps the work.
 */
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "memslot.h"

#define PAGES		16
#define ROUNDS		300	/* pre-fault: each round deletes and re-creates the slot */
#define CLOSE_ROUNDS	500	/* close: the window (last fput to release()) is short */
#define HANG_S		10	/* per round (milliseconds when correct, also on KASAN) */

MS_FIXTURE(memslot_race, PAGES, PM_GMEM_FLAG_VARIANTS);

/* Two threads meet at step n (increasing): each announces itself, then waits for the other. */
struct meet {
	atomic_long arrived[2];
};

static void meet(struct meet *m, int me, long n)
{
	atomic_store(&m->arrived[me], n);
	while (atomic_load(&m->arrived[!me]) < n)
		sched_yield();	/* the lab's vCPUs share one host thread */
}

struct closer {
	struct meet m;
	atomic_int fd;
	int bad_ret, bad_errno;
	long bad_round;
};

static void *close_thread(void *arg)
{
	struct closer *c = arg;

	for (long r = 1; r <= CLOSE_ROUNDS; r++) {
		meet(&c->m, 1, 2 * r - 1);	/* go */
		if (close(atomic_load(&c->fd)) && !c->bad_round)
			c->bad_ret = -1, c->bad_errno = errno, c->bad_round = r;
		meet(&c->m, 1, 2 * r);		/* round done */
	}
	return NULL;
}

/*
 * Each of CLOSE_ROUNDS rounds: a fresh guest_memfd bound to the slot; then one thread closes the
 * guest_memfd (its last reference: the slot holds none of the fd) while this one
 * deletes the slot. close() -> 0 and the delete -> 0, every round.
 */
/* A hang bound above the harness's 30 s: a KASAN kernel under TCG needs ~20 s here. */
TEST_F_TIMEOUT(memslot_race, close_vs_slot_delete, 100)
{
	struct closer c = { 0 };
	struct pm_watchdog w;
	pthread_t t;

	PM_WATCHDOG_START(&w, HANG_S);
	ASSERT_EQ(0, pthread_create(&t, NULL, close_thread, &c));
	for (long r = 1; r <= CLOSE_ROUNDS; r++) {
		int fd = pm_platform_private_mem(self->p, self->vm, self->size, self->flags);

		w.round = r;
		w.step = "creating and binding a guest_memfd";
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA,
					    self->size, self->hva, fd, 0));
		atomic_store(&c.fd, fd);
		w.step = "deleting the slot while its guest_memfd is closed";
		meet(&c.m, 0, 2 * r - 1);
		ASSERT_EQ(0, ms_delete(self, MS_SLOT));
		meet(&c.m, 0, 2 * r);
		ASSERT_EQ(0, c.bad_round) TH_LOG("round %ld: close() -> %d/%s", c.bad_round,
						 c.bad_ret, strerrorname_np(c.bad_errno));
	}
	pthread_join(t, NULL);
	PM_WATCHDOG_STOP(&w);
	/* The slot id and the fixture's guest_memfd are usable afterwards. */
	ASSERT_EQ(0, ms_bind(self, MS_SLOT, MS_GPA, self->size, 0));
	ASSERT_EQ(0, ms_delete(self, MS_SLOT));
}

static PM_GUEST void guest_idle(uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a0, (void)a1, (void)a2;
	GUEST_SYNC(1);
}

struct prefaulter {
	int vcpu_fd;
	uint64_t gpa, size;
	atomic_int stop;
	atomic_long calls, progress, enoent, eagain;
	int bad_ret, bad_errno;
};

/*
 * KVM_PRE_FAULT_MEMORY over the slot, again and again, until told to stop. Each
 * call: 0 having mapped at least one page (range.size shrinks), or -1/ENOENT (no
 * slot there at that moment), or -1/EAGAIN (the slot was being deleted: since 3ccbf6f47098, v6.18). Anything else is kept.
 */
static void *prefault_thread(void *arg)
{
	struct prefaulter *p = arg;

	while (!atomic_load(&p->stop)) {
		struct kvm_pre_fault_memory range = { .gpa = p->gpa, .size = p->size };
		int ret = ioctl(p->vcpu_fd, KVM_PRE_FAULT_MEMORY, &range);

		atomic_fetch_add(&p->calls, 1);
		if (ret == 0 && range.size < p->size)
			atomic_fetch_add(&p->progress, 1);
		else if (ret == -1 && errno == ENOENT)
			atomic_fetch_add(&p->enoent, 1);
		else if (ret == -1 && errno == EAGAIN)
			atomic_fetch_add(&p->eagain, 1);
		else if (!p->bad_ret && !p->bad_errno)
			p->bad_ret = ret ? ret : 1, p->bad_errno = ret ? errno : 0;
	}
	return NULL;
}

/*
 * A vCPU thread pre-faults a plain slot while this thread deletes and re-creates
 * it ROUNDS times: every pre-fault call has a documented result, every delete and
 * re-create returns 0, and nothing hangs. A round takes milliseconds (under TCG too:
 * 300 rounds in ~1.5 s when nothing hangs); a hang is a pre-fault call that never
 * returns, spinning in the kernel while the delete waits in synchronize_srcu(), so
 * HANG_S is never reached on a correct kernel. The 6.12 kernels hang here from
 * round 1 (3ccbf6f47098); 7.2 and 7.3 within a few hundred rounds, default VMs only
 * (KVM_X86_QUIRK_SLOT_ZAP_ALL: a deletion obsoletes every root; 355323a4dc94). Both
 * are in platforms/known.c.
 */
TEST_F(memslot_race, prefault_vs_slot_delete)
{
	struct prefaulter pf = { .gpa = MS_GPA, .size = self->size };
	long prefault_cap = pm_check_cap(self->vm->fd, KVM_CAP_PRE_FAULT_MEMORY);
	struct pm_watchdog w;
	struct pm_vcpu *v;
	pthread_t t;

	if (prefault_cap <= 0)
		SKIP(return, "KVM_CAP_PRE_FAULT_MEMORY=%ld on this VM", prefault_cap);
	v = pm_vcpu_add(self->vm, guest_idle, 0, 0, 0);
	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, pm_set_region(self->vm, MS_SLOT, 0, MS_GPA, self->size, self->hva));
	pf.vcpu_fd = v->fd;
	PM_WATCHDOG_START(&w, HANG_S);
	ASSERT_EQ(0, pthread_create(&t, NULL, prefault_thread, &pf));
	for (long r = 1; r <= ROUNDS; r++) {
		w.round = r;
		w.step = "deleting the slot while a vCPU pre-faults it";
		ASSERT_EQ(0, pm_set_region(self->vm, MS_SLOT, 0, MS_GPA, 0, self->hva));
		w.step = "re-creating the slot while a vCPU pre-faults it";
		ASSERT_EQ(0, pm_set_region(self->vm, MS_SLOT, 0, MS_GPA, self->size, self->hva));
		/* Let at least one call see the new slot before the next delete. */
		for (long seen = atomic_load(&pf.calls); atomic_load(&pf.calls) < seen + 2;)
			sched_yield();
	}
	atomic_store(&pf.stop, 1);
	pthread_join(t, NULL);
	PM_WATCHDOG_STOP(&w);
	TH_LOG("%ld pre-fault calls: %ld mapped, %ld ENOENT, %ld EAGAIN", atomic_load(&pf.calls),
	       atomic_load(&pf.progress), atomic_load(&pf.enoent), atomic_load(&pf.eagain));
	ASSERT_EQ(0, pf.bad_ret) TH_LOG("KVM_PRE_FAULT_MEMORY -> %d/%s: not 0 with progress, "
					"ENOENT or EAGAIN", pf.bad_ret,
					pf.bad_errno ? strerrorname_np(pf.bad_errno) : "0");
	/* Each round at least one call ran wholly while the slot was there, and mapped. */
	ASSERT_LE(ROUNDS, atomic_load(&pf.progress));
	/* Finally the slot is there: a pre-fault of it maps every page. */
	{
		struct kvm_pre_fault_memory range = { .gpa = MS_GPA, .size = self->size };

		while (range.size && !ioctl(v->fd, KVM_PRE_FAULT_MEMORY, &range))
			;
		ASSERT_EQ(0, range.size);
	}
}

TEST_HARNESS_MAIN
