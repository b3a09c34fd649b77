// SPDX-License-Identifier: GPL-2.0
/*
 * shootdown rig (shootdown.h): the guest code, one configuration's VM with its
 * guest_memfd, running vCPUs and host touchers, and the operations on its pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "shootdown.h"

/* ---- guest ------------------------------------------------------------------- */

PM_GUEST_CODE_BEGIN

/*
 * vCPU v of n: read and write word v of each operation page, starting at a
 * different page per vCPU, until the host sets stop; count full passes.
 */
static PM_GUEST void guest_touch(uint64_t v, uint64_t n, uint64_t unused)
{
	struct ctl *c = (struct ctl *)CTL_GPA;
	uint64_t page = v * NP / n, passes = 0;

	(void)unused;
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		for (uint64_t i = 0; i < NP; i++) {
			uint64_t *w = (uint64_t *)(GMEM_GPA + page * OP_STRIDE * PAGE) + v % (PAGE / 8);

			pm_guest_write64(w, pm_guest_read64(w) + 1);
			if (++page == NP)
				page = 0;
		}
		__atomic_store_n(&c->vcpu[v].passes, ++passes, __ATOMIC_RELEASE);
	}
}

PM_GUEST_CODE_END

/* ---- host: one configuration (a VM, its memory, the active threads) ------------ */

const struct op_info ops[NR_OPS] = {
	[OP_PUNCH] = { "punch", "fallocate(PUNCH_HOLE|KEEP_SIZE) of one populated 4K page of the guest_memfd" },
	[OP_MADVISE] = { "madvise", "madvise(MADV_DONTNEED) of one populated 4K page of the gmem mapping bound to the slot" },
	[OP_MUNMAP] = { "munmap", "munmap of one populated 4K page of the gmem mapping bound to the slot (re-mmapped untimed)" },
	[OP_SLOT_DEL] = { "slot_delete", "KVM_SET_USER_MEMORY_REGION2 deleting the 4 MiB gmem memslot "
			  "(re-added untimed, then re-faulted by the vCPUs)" },
	[OP_PUNCH_2M] = { "punch_2m", "fallocate(PUNCH_HOLE|KEEP_SIZE) of a populated 2 MiB half of the guest_memfd" },
};

void nap_us(long us)
{
	struct timespec t = { 0, us * 1000 };

	nanosleep(&t, NULL);
}

/*
 * Waiting for the guest: spin, yielding to a vCPU that shares this CPU. Not a
 * sleep: a CPU back from idle makes the next operation 2-3x slower here (cold
 * caches, the idle exit of this VM), which would be measured as shootdown cost.
 */
static void yield_cpu(void)
{
	sched_yield();
}

/*
 * A vCPU thread. Not pmb_run_vcpus(): accesses to a page the host unmapped or
 * to the deleted slot exit with KVM_EXIT_MMIO on this backend (KVM_RUN EFAULT
 * upstream), and the guest must survive them; the run timer only bounds one
 * KVM_RUN, the guest spins by design until stop.
 */
static void *vcpu_main(void *arg)
{
	struct vcpu_thread *t = arg;
	struct pm_exit e;

	pmb_pin_cpu(t->idx % t->r->ncpu);
	for (;;) {
		enum pm_run_result res = pm_vcpu_run(t->vcpu, &e);

		if (res == PM_RUN_DONE)
			return NULL;
		if (res == PM_RUN_SYNC)
			continue;
		if ((res == PM_RUN_EXIT && e.exit_reason == KVM_EXIT_MMIO) ||
		    (res == PM_RUN_ERROR && e.err == EFAULT)) {
			atomic_fetch_add(&t->mmio_exits, 1);
			continue;
		}
		if (res == PM_RUN_TIMEOUT)	/* only a bound on one KVM_RUN: resume */
			continue;
		snprintf(t->msg, sizeof(t->msg), "vCPU %d: %s", t->idx, e.msg);
		atomic_store(&t->failed, 1);
		return NULL;
	}
}

/* A host thread of the same process touching the same mapping (other pages than the ops'). */
static void *toucher_main(void *arg)
{
	struct rig *r = ((void **)arg)[0];
	long idx = (long)((void **)arg)[1];

	pmb_pin_cpu(idx % r->ncpu);
	while (!atomic_load_explicit(&r->touch_stop, memory_order_relaxed)) {
		for (uint64_t k = 0; k < NP; k++) {
			volatile uint64_t *w = (uint64_t *)(r->hva + (k * OP_STRIDE + OP_STRIDE / 2) * PAGE);

			*w = *w + 1;
		}
		atomic_fetch_add_explicit(&r->laps[idx], 1, memory_order_relaxed);
	}
	return NULL;
}

uint64_t min_passes(struct rig *r)
{
	uint64_t m = UINT64_MAX;

	for (int v = 0; v < r->nvcpus; v++) {
		uint64_t p = __atomic_load_n(&r->ctl->vcpu[v].passes, __ATOMIC_ACQUIRE);

		if (p < m)
			m = p;
	}
	return m;
}

static int vcpu_failed(struct rig *r)
{
	for (int v = 0; v < r->nvcpus; v++)
		if (atomic_load(&r->vt[v].failed)) {
			pmb_error(r->b, "%s", r->vt[v].msg);
			return 1;
		}
	return 0;
}

/* Wait until every vCPU finished `more` passes beyond those it had done at the call. */
static int wait_passes(struct rig *r, uint64_t more)
{
	uint64_t want[MAX_VCPUS], t0 = pmb_now_ns();

	for (int v = 0; v < r->nvcpus; v++)
		want[v] = __atomic_load_n(&r->ctl->vcpu[v].passes, __ATOMIC_ACQUIRE) + more;
	for (int v = 0; v < r->nvcpus; v++)
		while (__atomic_load_n(&r->ctl->vcpu[v].passes, __ATOMIC_ACQUIRE) < want[v]) {
			if (vcpu_failed(r))
				return -1;
			if (pmb_now_ns() - t0 > WAIT_MS * 1000000ULL) {
				pmb_error(r->b, "vCPU %d made no progress within %d ms", v, WAIT_MS);
				return -1;
			}
			yield_cpu();
		}
	return 0;
}

void rig_stop(struct rig *r)
{
	if (r->ctl)
		__atomic_store_n(&r->ctl->stop, 1, __ATOMIC_RELEASE);
	for (int v = 0; v < r->nvcpus; v++)
		if (r->vt[v].tid)
			pthread_join(r->vt[v].tid, NULL);
	atomic_store(&r->touch_stop, 1);
	for (int t = 0; t < r->ntouch; t++)
		if (r->tt[t])
			pthread_join(r->tt[t], NULL);
	pmb_kvm_stats_close(r->ks);
	pm_vm_free(r->vm);
	if (r->anon && r->anon != MAP_FAILED)
		munmap(r->anon, PAGE);
	pmb_mem_close(&r->mem);
}

/* VM with the gmem slot and the control slot, n vCPUs touching, t host touchers. */
int rig_start(struct rig *r, struct pmb *b, const struct pm_platform *p, int nvcpus, int ntouch, int ncpu)
{
	static void *targ[MAX_TOUCHERS][2];
	char why[200];

	memset(r, 0, sizeof(*r));
	r->b = b;
	r->fd = r->mem.fd = -1;
	r->ncpu = ncpu;
	r->main_cpu = ncpu - 1;
	r->vm = pm_platform_vm(p);
	if (!r->vm) {
		pmb_error(b, "creating a %s VM: %s", p->name, strerror(errno));
		return -1;
	}
	r->vm->timeout_ms = 1000;	/* per KVM_RUN; the thread resumes the guest */
	if (pmb_mem_open(&r->mem, PMB_GMEM, r->vm, GMEM_SIZE, why, sizeof(why))) {
		pmb_error(b, "%s", why);
		return -1;
	}
	r->fd = r->mem.fd;
	r->hva = (uint8_t *)r->mem.p;
	r->anon = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->anon == MAP_FAILED) {
		pmb_error(b, "mmap of the paired shootdown page: %s", strerror(errno));
		return -1;
	}
	/* userspace_addr is the gmem's own mapping: one memory, whichever path faults it. */
	if (pm_vm_add_memory(r->vm, GMEM_SLOT, GMEM_GPA, GMEM_SIZE, r->hva, r->fd, 0, PM_PAGE_4K) ||
	    pm_vm_add_memory(r->vm, CTL_SLOT, CTL_GPA, CTL_SIZE, NULL, -1, 0, PM_PAGE_4K)) {
		pmb_error(b, "adding the memslots: %s", strerror(errno));
		return -1;
	}
	r->ctl = pm_gpa_to_hva(r->vm, CTL_GPA, CTL_SIZE);
	r->ks = pmb_kvm_stats_open(r->vm->fd);
	for (uint64_t k = 0; k < NP; k++)	/* every op page populated from the start */
		r->hva[k * OP_STRIDE * PAGE + HOST_BYTE] = 1;
	r->nvcpus = nvcpus;
	for (int v = 0; v < nvcpus; v++) {
		r->vt[v].r = r;
		r->vt[v].idx = v;
		r->vt[v].vcpu = pm_vcpu_add(r->vm, guest_touch, v, nvcpus, 0);
		if (!r->vt[v].vcpu) {
			pmb_error(b, "adding vCPU %d: %s", v, strerror(errno));
			r->nvcpus = v;
			return -1;
		}
	}
	for (int v = 0; v < nvcpus; v++)
		if (pthread_create(&r->vt[v].tid, NULL, vcpu_main, &r->vt[v])) {
			pmb_error(b, "cannot start a vCPU thread");
			return -1;
		}
	r->ntouch = ntouch;
	for (int t = 0; t < ntouch; t++) {
		targ[t][0] = r;
		targ[t][1] = (void *)(long)t;
		if (pthread_create(&r->tt[t], NULL, toucher_main, targ[t])) {
			pmb_error(b, "cannot start a host touching thread");
			return -1;
		}
	}
	pmb_pin_cpu(r->main_cpu);
	/* Every host toucher is spinning on its CPU (the mm is live there)... */
	for (int t = 0; t < ntouch; t++)
		while (!atomic_load(&r->laps[t]))
			yield_cpu();
	/* ... and every vCPU is running guest code and has mapped every op page once. */
	if (wait_passes(r, 1))
		return -1;
	return 0;
}

/*
 * One operation on op page i (i-th of a batch): populate outside the timing,
 * time the call, restore outside the timing. Returns ns, or -1.
 */
static double do_op(struct rig *r, enum op op, uint64_t i)
{
	uint64_t off = (i % NP) * OP_STRIDE * PAGE, t0, t1;
	uint8_t *page = r->hva + off;
	int ret;

	switch (op) {
	case OP_PUNCH:
		*(volatile uint8_t *)(page + HOST_BYTE) = 1;	/* allocate + map it in the host */
		t0 = pmb_now_ns();
		ret = fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, PAGE);
		t1 = pmb_now_ns();
		break;
	case OP_MADVISE:
		*(volatile uint8_t *)(page + HOST_BYTE) = 1;
		t0 = pmb_now_ns();
		ret = madvise(page, PAGE, MADV_DONTNEED);
		t1 = pmb_now_ns();
		break;
	case OP_MUNMAP:
		*(volatile uint8_t *)(page + HOST_BYTE) = 1;
		t0 = pmb_now_ns();
		ret = munmap(page, PAGE);
		t1 = pmb_now_ns();
		/* NOREPLACE: never clobber whatever another thread might have mapped there. */
		if (!ret && mmap(page, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE,
				 r->fd, off) != page) {
			pmb_error(r->b, "re-mmap of the unmapped gmem page: %s", strerror(errno));
			return -1;
		}
		break;
	case OP_SLOT_DEL:
		t0 = pmb_now_ns();
		ret = pm_set_region2(r->vm, GMEM_SLOT, KVM_MEM_GUEST_MEMFD, GMEM_GPA, 0, r->hva, r->fd, 0);
		t1 = pmb_now_ns();
		if (!ret && pm_set_region2(r->vm, GMEM_SLOT, KVM_MEM_GUEST_MEMFD, GMEM_GPA, GMEM_SIZE,
					   r->hva, r->fd, 0)) {
			pmb_error(r->b, "re-adding the deleted memslot: %s", strerror(errno));
			return -1;
		}
		break;
	case OP_PUNCH_2M:
		off = (i % 2) * (GMEM_SIZE / 2);
		for (uint64_t a = 0; a < GMEM_SIZE / 2; a += PAGE)
			r->hva[off + a + HOST_BYTE] = 1;
		t0 = pmb_now_ns();
		ret = fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, GMEM_SIZE / 2);
		t1 = pmb_now_ns();
		break;
	default:
		return -1;
	}
	if (ret) {
		pmb_error(r->b, "%s: %s", ops[op].name, strerror(errno));
		return -1;
	}
	return (double)(t1 - t0) > 0 ? (double)(t1 - t0) : 1;
}

static const uint64_t *vcpu_words(struct rig *r, uint64_t p)
{
	return (const uint64_t *)(r->hva + p * OP_STRIDE * PAGE);
}

/*
 * Pace the 4K operations by the guest: op page p is taken away again only
 * after every running vCPU has accessed it since the last time (its word
 * changed), so each operation hits a page the guest has mapped, whatever the
 * speed of the guest (about 1 us per instruction here) against the host's.
 */
static int wait_retouched(struct rig *r, uint64_t p)
{
	const uint64_t *w = vcpu_words(r, p);
	uint64_t t0 = 0;

	for (int v = 0; v < r->nvcpus; v++)
		while (__atomic_load_n(&w[v % (PAGE / 8)], __ATOMIC_RELAXED) == r->seen[p][v]) {
			if (!t0) {
				t0 = pmb_now_ns();
				r->waits++;
			}
			if (vcpu_failed(r))
				return -1;
			if (pmb_now_ns() - t0 > WAIT_MS * 1000000ULL) {
				pmb_error(r->b, "vCPU %d did not access op page %llu within %d ms", v,
					  (unsigned long long)p, WAIT_MS);
				return -1;
			}
			yield_cpu();
		}
	return 0;
}

static void note_seen(struct rig *r, uint64_t p)
{
	const uint64_t *w = vcpu_words(r, p);

	for (int v = 0; v < r->nvcpus; v++)
		r->seen[p][v] = __atomic_load_n(&w[v % (PAGE / 8)], __ATOMIC_RELAXED);
}

/*
 * The paired shootdown: madvise(DONTNEED) of a written page of private anon
 * memory of this process, timed right after each page operation. Same mm, same
 * CPUs busy at that instant, but no guest memory: the plain remote TLB
 * shootdown. The IPI round trip on this machine drifts by 20-30% over seconds
 * (it is a VM on a shared host), and operation and pair drift together.
 */
static double paired_shootdown(struct rig *r)
{
	uint64_t t0, t1;

	*(volatile uint8_t *)r->anon = 1;
	t0 = pmb_now_ns();
	madvise(r->anon, PAGE, MADV_DONTNEED);
	t1 = pmb_now_ns();
	return t1 > t0 ? (double)(t1 - t0) : 1;
}

int run_ops(struct rig *r, enum op op, uint64_t *seq, int n, double *lat, double *pair)
{
	bool page_op = op == OP_PUNCH || op == OP_MADVISE || op == OP_MUNMAP;

	for (int k = 0; k < n; k++) {
		uint64_t i = (*seq)++;
		double ns;

		if (page_op && wait_retouched(r, i % NP))
			return -1;
		if (op == OP_PUNCH_2M && wait_passes(r, 1))
			return -1;
		ns = do_op(r, op, i);
		if (ns < 0 || vcpu_failed(r))
			return -1;
		if (lat)
			lat[k] = ns;
		if (page_op) {
			note_seen(r, i % NP);
			if (pair)
				pair[k] = paired_shootdown(r);
		}
		if (op == OP_SLOT_DEL) {
			/* The next delete must find the slot mapped again: every page re-accessed. */
			for (uint64_t p = 0; p < NP; p++)
				note_seen(r, p);
			for (uint64_t p = 0; p < NP; p++)
				if (wait_retouched(r, p))
					return -1;
		}
	}
	return 0;
}

