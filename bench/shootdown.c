// SPDX-License-Identifier: GPL-2.0
/*
 * shootdown: what it costs to take guest memory away while the guest (and host
 * threads) are using it.
 *
 * Guest memory is a guest_memfd (MMAP | INIT_SHARED), mapped in the host and
 * bound to a memslot through that mapping (userspace_addr = the gmem mmap, which
 * is how kvm_pvm faults MMAP gmem slots). Per configuration (0, 1, nproc and
 * 2 x nproc running vCPUs, with and without host threads touching the same
 * mapping) four operations are timed one by one, clock around the syscall/ioctl:
 *   punch      fallocate(PUNCH_HOLE | KEEP_SIZE) of one populated 4K page;
 *   madvise    madvise(MADV_DONTNEED) of one populated page of the mapping;
 *   munmap     munmap of one populated page of the mapping (re-mmapped with
 *              MAP_FIXED_NOREPLACE outside the timing);
 *   slot_del   KVM_SET_USER_MEMORY_REGION2 deleting the memslot (re-added
 *              outside the timing, then the vCPUs re-fault it);
 *   punch_2m   (--full) PUNCH_HOLE of a populated 2 MiB half of the gmem.
 * The vCPUs run guest code that keeps reading and writing one word of each of
 * the 64 pages the operations hit, so a page the host just took away is
 * re-faulted (as zero after a punch; an access to an unmapped page or a
 * deleted slot exits KVM_EXIT_MMIO here, which the vCPU thread resumes).
 *
 * A page is taken away again only once every running vCPU has accessed it since
 * the last time (wait_retouched), so each operation meets a page the guest has
 * mapped. Each page operation is followed by its paired shootdown (an anon
 * madvise of this process, timed the same way): the IPI round trip on this VM
 * drifts by 20-30% over seconds, and the ratio to the pair cancels that.
 *
 * Per operation and configuration: latency as the median of each repetition's
 * median (repetitions of K operations; the CV across repetitions is the
 * stability), the pooled per-operation distribution (p10/p90/p99), the ratio to
 * the paired shootdown, and, from a separate untimed batch (no pairs, perf
 * counting there only): TLB and CAL interrupts per operation (/proc/interrupts),
 * the KVM VM stats remote_tlb_flush(_requests), the tlb:tlb_flush reasons and
 * the ipi:ipi_send_* tracepoints.
 *
 * Core figure: punch with one vCPU on the other CPU (median ns), and the same
 * against its pair (punch_over_paired).
 *
 * References (same run): PMB_REF_SHOOTDOWN (madvise(DONTNEED) of one anon page
 * with the mm live on another CPU) and PMB_REF_LOCAL_FLUSH (mm on this CPU
 * only), measured before any VM exists; and the will-it-scale tlb_flush2
 * pattern (write one byte, madvise(DONTNEED) that page, per-thread private
 * pages in one shared mm) over 1..nproc threads as the metric set wis_tlb_flush.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"
#include "pmb_vm.h"

#define PAGE		4096ULL
#define GMEM_SIZE	(4ULL << 20)
#define NP		64			/* pages the operations hit */
#define OP_STRIDE	(GMEM_SIZE / PAGE / NP)	/* 16 pages apart: 64 distinct page tables entries */
#define GMEM_GPA	PM_TEST_GPA
#define GMEM_SLOT	PM_SLOT_FIRST_FREE
#define CTL_SLOT	(PM_SLOT_FIRST_FREE + 1)
#define CTL_GPA		(PM_TEST_GPA + (1ULL << 30))
#define CTL_SIZE	(16 * PAGE)
#define MAX_VCPUS	PM_MAX_VCPUS
#define MAX_TOUCHERS	256
#define WAIT_MS		10000			/* hang bound for vCPU progress, never reached when sane */
#define HOST_BYTE	2048			/* the byte the host writes, clear of the vCPUs' words */
#define PAIRED_WHAT	"madvise(MADV_DONTNEED) of a written private anon page of this process, " \
			"timed right after each page operation (same CPUs busy, no guest memory)"

/* Guest-visible control page: one writer per word, each on its own cache line. */
struct ctl {
	uint64_t stop __attribute__((aligned(64)));
	struct {
		uint64_t passes __attribute__((aligned(64)));
	} vcpu[MAX_VCPUS];
};
_Static_assert(sizeof(struct ctl) <= CTL_SIZE, "control area");

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

enum op { OP_PUNCH, OP_MADVISE, OP_MUNMAP, OP_SLOT_DEL, OP_PUNCH_2M, NR_OPS };

static const struct {
	const char *name, *what;
} ops[NR_OPS] = {
	[OP_PUNCH] = { "punch", "fallocate(PUNCH_HOLE|KEEP_SIZE) of one populated 4K page of the guest_memfd" },
	[OP_MADVISE] = { "madvise", "madvise(MADV_DONTNEED) of one populated 4K page of the gmem mapping bound to the slot" },
	[OP_MUNMAP] = { "munmap", "munmap of one populated 4K page of the gmem mapping bound to the slot (re-mmapped untimed)" },
	[OP_SLOT_DEL] = { "slot_delete", "KVM_SET_USER_MEMORY_REGION2 deleting the 4 MiB gmem memslot "
			  "(re-added untimed, then re-faulted by the vCPUs)" },
	[OP_PUNCH_2M] = { "punch_2m", "fallocate(PUNCH_HOLE|KEEP_SIZE) of a populated 2 MiB half of the guest_memfd" },
};

struct rig;

struct vcpu_thread {
	struct rig *r;
	struct pm_vcpu *vcpu;
	int idx;
	pthread_t tid;
	atomic_long mmio_exits;
	atomic_int failed;
	char msg[400];
};

struct rig {
	struct pmb *b;
	int ncpu, main_cpu;
	struct pm_vm *vm;
	int fd;
	uint8_t *hva;
	struct ctl *ctl;
	uint8_t *anon;		/* the paired shootdown's page, see paired_shootdown() */
	int nvcpus, ntouch;
	struct vcpu_thread vt[MAX_VCPUS];
	pthread_t tt[MAX_TOUCHERS];
	atomic_long laps[MAX_TOUCHERS];	/* passes of each host toucher */
	atomic_int touch_stop;
	struct pmb_kvm_stats *ks;
	/* Each vCPU's word of each op page as read right after the last operation on it. */
	uint64_t seen[NP][MAX_VCPUS];
	uint64_t waits;		/* operations that had to wait for the guest */
};

static void nap_us(long us)
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

static uint64_t min_passes(struct rig *r)
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

static void rig_stop(struct rig *r)
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
	if (r->hva && r->hva != MAP_FAILED)
		munmap(r->hva, GMEM_SIZE);
	if (r->anon && r->anon != MAP_FAILED)
		munmap(r->anon, PAGE);
	if (r->fd >= 0)
		close(r->fd);
}

/* VM with the gmem slot and the control slot, n vCPUs touching, t host touchers. */
static int rig_start(struct rig *r, struct pmb *b, const struct pm_platform *p, int nvcpus,
		     int ntouch, int ncpu)
{
	static void *targ[MAX_TOUCHERS][2];

	memset(r, 0, sizeof(*r));
	r->b = b;
	r->fd = -1;
	r->ncpu = ncpu;
	r->main_cpu = ncpu - 1;
	r->vm = pm_platform_vm(p);
	if (!r->vm) {
		pmb_error(b, "creating a %s VM: %s", p->name, strerror(errno));
		return -1;
	}
	r->vm->timeout_ms = 1000;	/* per KVM_RUN; the thread resumes the guest */
	r->fd = pm_platform_private_mem(p, r->vm, GMEM_SIZE,
					GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	if (r->fd < 0) {
		pmb_error(b, "KVM_CREATE_GUEST_MEMFD(MMAP|INIT_SHARED): %s", strerror(errno));
		return -1;
	}
	r->hva = mmap(NULL, GMEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->hva == MAP_FAILED) {
		pmb_error(b, "mmap of the guest_memfd: %s", strerror(errno));
		return -1;
	}
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

static int run_ops(struct rig *r, enum op op, uint64_t *seq, int n, double *lat, double *pair)
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

/* ---- counters ------------------------------------------------------------------ */

#define MAX_REASONS 12

struct tracing {
	int nreasons;
	char reasons[MAX_REASONS][48];
	char ev[MAX_REASONS + 4][64];
	const char *evp[MAX_REASONS + 4];
	char key[MAX_REASONS + 4][80];
	int nev;
};

static void tracing_init(struct pmb *b, struct tracing *tr)
{
	memset(tr, 0, sizeof(*tr));
	tr->nreasons = pmb_tlb_flush_reasons(b, tr->reasons, MAX_REASONS);
	for (int i = 0; i < tr->nreasons; i++) {
		char *k;

		if (!tr->reasons[i][0])
			continue;
		snprintf(tr->ev[tr->nev], sizeof(tr->ev[0]), "tlb:tlb_flush/reason == %d", i);
		snprintf(tr->key[tr->nev], sizeof(tr->key[0]), "tlb_flush.%s_per_op", tr->reasons[i]);
		for (k = tr->key[tr->nev]; *k; k++)
			if (*k == ' ')
				*k = '_';
		tr->nev++;
	}
	if (!tr->nreasons)
		pmb_note(b, "tlb:tlb_flush reasons unavailable (no tracefs or no tlb:tlb_flush format)");
	/* Which IPI tracepoints exist is checked by pmb_perf_begin (absent ones read "unavailable"). */
	snprintf(tr->ev[tr->nev], sizeof(tr->ev[0]), "ipi:ipi_send_cpu");
	snprintf(tr->key[tr->nev++], sizeof(tr->key[0]), "ipi_send_cpu_per_op");
	snprintf(tr->ev[tr->nev], sizeof(tr->ev[0]), "ipi:ipi_send_cpumask");
	snprintf(tr->key[tr->nev++], sizeof(tr->key[0]), "ipi_send_cpumask_per_op");
	/* KVM's own MMU zaps of the guest mapping: TDP MMU and shadow MMU flavours. */
	snprintf(tr->ev[tr->nev], sizeof(tr->ev[0]), "kvmmmu:kvm_tdp_mmu_spte_changed");
	snprintf(tr->key[tr->nev++], sizeof(tr->key[0]), "kvmmmu_tdp_spte_changed_per_op");
	snprintf(tr->ev[tr->nev], sizeof(tr->ev[0]), "kvmmmu:kvm_mmu_prepare_zap_page");
	snprintf(tr->key[tr->nev++], sizeof(tr->key[0]), "kvmmmu_prepare_zap_page_per_op");
	for (int i = 0; i < tr->nev; i++)
		tr->evp[i] = tr->ev[i];
}

struct kvm_counts {
	uint64_t flush, req;
	bool has_flush, has_req;
};

static void kvm_counts(struct rig *r, struct kvm_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->has_flush = r->ks && !pmb_kvm_stat(r->ks, "remote_tlb_flush", &c->flush);
	c->has_req = r->ks && !pmb_kvm_stat(r->ks, "remote_tlb_flush_requests", &c->req);
}

static const char *fmt_or_nan(char *buf, size_t len, bool have, double v)
{
	if (have)
		snprintf(buf, len, "%.4f", v);
	else
		snprintf(buf, len, "NaN");
	return buf;
}

static double per_op(long long a, long long b, int n)
{
	return (double)(b - a) / n;
}

/* ---- latency metric ------------------------------------------------------------ */

/*
 * PMB-CANDIDATE: pmb_record_latency(). A latency distribution's CV is its
 * spread, not the stability of its median; so the metric's samples are the
 * medians of `reps` repetitions of k operations (their CV is the stability),
 * and the pooled per-operation distribution is attached as "per_op".
 */
static json_t *record_latency(struct pmb *b, const struct pmb_spec *spec, json_t *params,
			      const double *lat, int reps, int k, struct pmb_stats *med,
			      struct pmb_stats *pooled)
{
	double *m = calloc(reps, sizeof(*m));
	json_t *o;

	if (!m)
		pmb_die(b, "out of memory");
	for (int i = 0; i < reps; i++) {
		struct pmb_stats s;

		pmb_stats_of(lat + (size_t)i * k, k, &s);
		m[i] = s.median;
	}
	pmb_stats_of(lat, reps * k, pooled);
	o = pmb_record(b, spec, params, m, reps, med);
	free(m);
	if (o) {
		json_object_set_new(o, "per_op", pmb_stats_json(pooled));
		json_object_set_new(o, "ops_per_rep", json_integer(k));
		json_object_set_new(o, "samples_are", json_string("median latency of each repetition; per_op: every operation pooled"));
	}
	return o;
}

/* ---- the benchmark ---------------------------------------------------------------- */

struct plan {
	int reps, warmup;
	int k[NR_OPS];		/* operations per repetition */
	int k_core;		/* for the core figure: longer repetitions */
	int kc[NR_OPS];		/* operations in the traced batch */
	bool run[NR_OPS];
	bool trace_touchers;	/* also trace the configurations with host touchers */
};

struct row_out {
	struct pmb_stats med, pooled;
	double tlb, cal, kflush, ipis;
	bool have_kflush, have_ipis, tlb_na;
};

/* What the vCPUs did during a batch: proof they ran, and how the batch went. */
struct activity {
	uint64_t passes, waits, t_ns;
	long mmio;
};

static void activity(struct rig *r, struct activity *a)
{
	a->passes = min_passes(r);
	a->waits = r->waits;
	a->mmio = 0;
	for (int v = 0; v < r->nvcpus; v++)
		a->mmio += atomic_load(&r->vt[v].mmio_exits);
	a->t_ns = pmb_now_ns();
}

/*
 * The operation against its paired shootdown (the anon madvise right after
 * it): per repetition, median(op) / median(paired). Attached to the metric;
 * for the core configuration also recorded as a metric of its own.
 */
static void attach_paired(struct pmb *b, json_t *m, const double *lat, const double *pair,
			  int reps, int k, bool core, json_t *params, double *ratio_med, double *pair_med)
{
	double *ratio = calloc(reps, sizeof(*ratio));
	struct pmb_stats sp, sr;
	json_t *o;

	if (!ratio)
		pmb_die(b, "out of memory");
	for (int i = 0; i < reps; i++) {
		struct pmb_stats a, p;

		pmb_stats_of(lat + (size_t)i * k, k, &a);
		pmb_stats_of(pair + (size_t)i * k, k, &p);
		ratio[i] = p.median > 0 ? a.median / p.median : 0;
	}
	pmb_stats_of(pair, reps * k, &sp);
	pmb_stats_of(ratio, reps, &sr);
	o = json_pack("{s:s, s:o, s:o}", "what", PAIRED_WHAT, "per_op", pmb_stats_json(&sp),
		      "ratio_by_rep", pmb_stats_json(&sr));
	json_object_set_new(m, "paired_shootdown", o);
	if (core) {
		struct pmb_spec spec = {
			.metric = "punch_over_paired", .unit = "ratio", .reps = reps, .cv_max = 0.03,
			.core = true,
			/* Its reference is the paired operation itself, measured in the same instant. */
			.ref = PMB_REF_NONE,
		};
		json_t *pm = pmb_record(b, &spec, params, ratio, reps, NULL);

		if (pm) {
			json_object_set_new(pm, "what", json_string(
				"core punch latency / the paired shootdown right after each punch (median per repetition): "
				"what punching guest memory costs beyond one remote TLB shootdown under the same conditions; "
				"the pairing cancels this machine's slow drift of the IPI round trip"));
			json_object_set_new(pm, "paired_with", json_string(PAIRED_WHAT));
		}
	} else {
		json_decref(params);
	}
	free(ratio);
	*ratio_med = sr.median;
	*pair_med = sp.median;
}

static void measure_op(struct pmb *b, struct rig *r, const struct plan *pl, enum op op,
		       struct tracing *tr, struct pmb_table *tab, const struct pmb_stats *ref_sd,
		       const struct pmb_stats *ref_lf)
{
	/* The core figure: one remote vCPU, nothing else; see main(). */
	bool core = op == OP_PUNCH && r->nvcpus == 1 && !r->ntouch;
	bool page_op = op == OP_PUNCH || op == OP_MADVISE || op == OP_MUNMAP;
	int k = core ? pl->k_core : pl->k[op], n = pl->reps * k, kc = pl->kc[op];
	double *lat = calloc(n, sizeof(*lat)), *pair = page_op ? calloc(n, sizeof(*pair)) : NULL;
	bool remote_host = r->ntouch > 0 && r->ncpu > 1;
	bool remote = remote_host || r->nvcpus > 0;
	bool oversub = r->nvcpus + r->ntouch + 1 > r->ncpu;
	struct pmb_spec spec = {
		.metric = ops[op].name, .unit = "ns", .latency = true,
		.reps = pl->reps,
		/*
		 * The core figure must be within 3%; few and expensive samples
		 * (slot_delete) or every CPU busy: 10%.
		 */
		.cv_max = core ? 0.03 : op == OP_SLOT_DEL || oversub ? 0.10 : 0.05,
		.core = core,
		.ref = remote ? PMB_REF_SHOOTDOWN : PMB_REF_LOCAL_FLUSH,
		.ref_ratio = remote ?
			"operation latency / one remote TLB shootdown round trip (madvise of an anon page, mm live on another CPU)" :
			"operation latency / the same madvise with the mm on this CPU only (no remote CPU to flush)",
	};
	char nv[16], nt[16], kf[32], ip[32], pr[32], pn[32], tl[32], rs[32], rl[32];
	struct activity a0, a1;
	struct pmb_snap s0, s1;
	struct kvm_counts k0, k1;
	struct row_out o = { 0 };
	double paired_ratio = 0, paired_ns = 0;
	uint64_t seq = 0;
	json_t *m, *c, *praw = NULL;
	struct pmb_perf *perf = NULL;

	if (!lat || (page_op && !pair))
		pmb_die(b, "out of memory");
	snprintf(nv, sizeof(nv), "%d", r->nvcpus);
	snprintf(nt, sizeof(nt), "%d", r->ntouch);
	pmb_progress(b, "%s: %d vCPUs, %d host touchers: %d x %d ops", ops[op].name, r->nvcpus,
		     r->ntouch, pl->reps, k);

	/* Warm-up, then the timed batch (each page operation followed by its paired shootdown). */
	if (run_ops(r, op, &seq, pl->warmup * k, NULL, NULL))
		goto out;
	activity(r, &a0);
	if (run_ops(r, op, &seq, n, lat, pair))
		goto out;
	activity(r, &a1);
	m = record_latency(b, &spec, pmb_params("vcpus", nv, "host_touchers", nt,
						"oversubscribed", oversub ? "yes" : "no", NULL),
			   lat, pl->reps, k, &o.med, &o.pooled);
	if (!m)
		goto out;
	json_object_set_new(m, "what", json_string(ops[op].what));
	if (pair)
		attach_paired(b, m, lat, pair, pl->reps, k, core,
			      pmb_params("vcpus", nv, "host_touchers", nt, "oversubscribed", oversub ? "yes" : "no", NULL),
			      &paired_ratio, &paired_ns);
	c = json_object();
	if (r->nvcpus) {
		double s = (a1.t_ns - a0.t_ns) / 1e9;

		/* Proof the guests ran during the timed batch, and how it went for them. */
		json_object_set_new(c, "vcpu_min_passes", json_integer(a1.passes - a0.passes));
		json_object_set_new(c, "guest_page_accesses_per_s",
				    json_real((double)(a1.passes - a0.passes) * NP * r->nvcpus / s));
		json_object_set_new(c, "vcpu_mmio_exits_per_op", json_real((double)(a1.mmio - a0.mmio) / n));
		json_object_set_new(c, "ops_that_waited_for_the_guest", json_real((double)(a1.waits - a0.waits) / n));
	}

	/*
	 * Counts per operation in a batch of their own: the timed batch's paired
	 * shootdowns would add their IPIs, and perf's tracepoints must not be in
	 * the latencies. perf is started before and stopped after the snapshots
	 * (enabling events system-wide sends IPIs of its own).
	 */
	if (!r->ntouch || pl->trace_touchers)
		perf = pmb_perf_begin(b, tr->evp, tr->nev);
	kvm_counts(r, &k0);
	pmb_snap(&s0);
	if (run_ops(r, op, &seq, kc, NULL, NULL)) {
		json_decref(pmb_perf_end(perf));
		json_decref(c);
		goto out;
	}
	pmb_snap(&s1);
	kvm_counts(r, &k1);
	praw = pmb_perf_end(perf);
	json_object_set_new(c, "ops", json_integer(kc));
	json_object_set_new(c, "interval_s", json_real((s1.t_ns - s0.t_ns) / 1e9));
	o.tlb = per_op(pmb_snap_get(&s0, "irq_TLB"), pmb_snap_get(&s1, "irq_TLB"), kc);
	o.cal = per_op(pmb_snap_get(&s0, "irq_CAL"), pmb_snap_get(&s1, "irq_CAL"), kc);
	if (pmb_snap_get(&s1, "irq_TLB") >= 0)
		json_object_set_new(c, "tlb_ipis_per_op", json_real(o.tlb));
	if (pmb_snap_get(&s1, "irq_CAL") >= 0)
		json_object_set_new(c, "cal_ipis_per_op", json_real(o.cal));
	if (k1.has_flush) {
		o.kflush = per_op(k0.flush, k1.flush, kc);
		o.have_kflush = true;
		json_object_set_new(c, "kvm_remote_tlb_flush_per_op", json_real(o.kflush));
	}
	if (k1.has_req)
		json_object_set_new(c, "kvm_remote_tlb_flush_requests_per_op",
				    json_real(per_op(k0.req, k1.req, kc)));
	if (praw) {
		for (int i = 0; i < tr->nev; i++) {
			json_t *v = json_object_get(praw, tr->ev[i]);

			if (!json_is_integer(v)) {
				json_object_set_new(c, tr->key[i], json_string("unavailable"));
				continue;
			}
			json_object_set_new(c, tr->key[i], json_real((double)json_integer_value(v) / kc));
			if (!strncmp(tr->ev[i], "ipi:", 4)) {
				o.ipis += (double)json_integer_value(v) / kc;
				o.have_ipis = true;
			}
		}
		json_object_set_new(c, "traced_raw", praw);
		/* The guest had the page (or slot) mapped: KVM's MMU must have zapped something. */
		if (r->nvcpus > 0) {
			json_t *t = json_object_get(c, "kvmmmu_tdp_spte_changed_per_op");
			json_t *z = json_object_get(c, "kvmmmu_prepare_zap_page_per_op");

			if (!(json_is_real(t) && json_real_value(t) > 0) && !(json_is_real(z) && json_real_value(z) > 0)) {
				const char *why = "no kvmmmu zap event although the guest had the memory mapped: "
						  "this KVM backend does not emit the kvmmmu tracepoints";

				pmb_counter_require(b, c, "kvmmmu_tdp_spte_changed_per_op", why);
				pmb_counter_require(b, c, "kvmmmu_prepare_zap_page_per_op", why);
			}
		}
	}

	/*
	 * What must have moved: a host thread of this mm spinning on another CPU
	 * has the mm loaded there, so zapping a populated host PTE must send it a
	 * TLB IPI; the guest had the page mapped (every running vCPU accessed it
	 * since it was last taken away), so KVM must flush remote TLBs.
	 */
	if (remote_host && op != OP_SLOT_DEL)
		pmb_counter_require(b, c, "tlb_ipis_per_op",
				    "no TLB shootdown IPI counted although a host thread of this mm was spinning "
				    "on another CPU (descheduled by other load?)");
	if (r->nvcpus > 0 && json_object_get(c, "kvm_remote_tlb_flush_per_op"))
		pmb_counter_require(b, c, "kvm_remote_tlb_flush_per_op", op == OP_SLOT_DEL ?
				    "KVM's remote_tlb_flush stat did not move although the vCPUs were using the deleted "
				    "slot: this backend does not count (or does not need) that flush" :
				    "KVM's remote_tlb_flush stat did not move although every running vCPU had accessed "
				    "the page since it was last taken away: this backend does not count (or does "
				    "not need) that flush");
	/* The table shows what the JSON says: no number for an unavailable counter. */
	if (json_is_string(json_object_get(c, "kvm_remote_tlb_flush_per_op")))
		o.have_kflush = false;
	if (json_is_string(json_object_get(c, "tlb_ipis_per_op")))
		o.tlb_na = true;
	json_object_set_new(m, "counters", c);

	pmb_row(tab, "%s,%d,%d,%s,%.1f,%.1f,%.1f,%.1f,%.2f,%d,%s,%.4f,%s,%s,%s,%s,%s,%s",
		ops[op].name, r->ntouch, r->nvcpus, oversub ? "yes" : "no", o.med.median,
		o.pooled.p10, o.pooled.p90, o.pooled.p99, 100 * o.med.cv, o.pooled.n,
		fmt_or_nan(tl, sizeof(tl), !o.tlb_na, o.tlb), o.cal,
		fmt_or_nan(kf, sizeof(kf), o.have_kflush, o.kflush),
		fmt_or_nan(ip, sizeof(ip), o.have_ipis, o.ipis),
		fmt_or_nan(pn, sizeof(pn), pair != NULL, paired_ns),
		fmt_or_nan(pr, sizeof(pr), pair != NULL, paired_ratio),
		fmt_or_nan(rs, sizeof(rs), ref_sd->n > 0, ref_sd->median),
		fmt_or_nan(rl, sizeof(rl), ref_lf->n > 0, ref_lf->median));
out:
	free(lat);
	free(pair);
}

/* ---- will-it-scale tlb_flush2 ---------------------------------------------------- */

#define WIS_BYTES (1UL << 20)

struct wis {
	int threads;
	long dur_us;
	uint64_t all_ops;	/* over every sample, warm-up included, for the IPIs per op */
	atomic_int stop;
	pthread_barrier_t bar;
	struct {
		int cpu;
		uint64_t ops;
		pthread_t tid;
	} t[256];
};

static void *wis_main(void *arg)
{
	struct wis *w = ((void **)arg)[0];
	int i = (int)(long)((void **)arg)[1];
	char *c = mmap(NULL, WIS_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t n = 0;

	pmb_pin_cpu(w->t[i].cpu);
	if (c != MAP_FAILED)
		madvise(c, WIS_BYTES, MADV_NOHUGEPAGE);	/* one 4K page per op, like the original */
	pthread_barrier_wait(&w->bar);
	while (c != MAP_FAILED && !atomic_load_explicit(&w->stop, memory_order_relaxed))
		for (size_t off = 0; off < WIS_BYTES; off += PAGE) {
			c[off] = 1;
			madvise(c + off, PAGE, MADV_DONTNEED);
			n++;
			if (atomic_load_explicit(&w->stop, memory_order_relaxed))
				break;
		}
	w->t[i].ops = c == MAP_FAILED ? 0 : n;
	pthread_barrier_wait(&w->bar);
	if (c != MAP_FAILED)
		munmap(c, WIS_BYTES);
	return NULL;
}

/* One sample: ns per operation of one thread (threads x elapsed / all operations). */
static double wis_sample(void *arg)
{
	struct wis *w = arg;
	void *targ[256][2];
	uint64_t t0, t1, total = 0;

	atomic_store(&w->stop, 0);
	pthread_barrier_init(&w->bar, NULL, w->threads + 1);
	for (int i = 0; i < w->threads; i++) {
		targ[i][0] = w;
		targ[i][1] = (void *)(long)i;
		if (pthread_create(&w->t[i].tid, NULL, wis_main, targ[i]))
			return -1;
	}
	pthread_barrier_wait(&w->bar);
	t0 = pmb_now_ns();
	nap_us(w->dur_us);
	atomic_store(&w->stop, 1);
	pthread_barrier_wait(&w->bar);
	t1 = pmb_now_ns();
	for (int i = 0; i < w->threads; i++) {
		pthread_join(w->t[i].tid, NULL);
		total += w->t[i].ops;
	}
	w->all_ops += total;
	pthread_barrier_destroy(&w->bar);
	return total ? (double)(t1 - t0) * w->threads / total : -1;
}

static void measure_wis(struct pmb *b, int ncpu)
{
	struct pmb_table *tab = pmb_table(b, "wis", "threads,ops_per_s,ns_per_op,cv_pct,tlb_ipis_per_op");
	struct wis *w = calloc(1, sizeof(*w));

	if (!w)
		pmb_die(b, "out of memory");
	w->dur_us = pmb_by_mode(b, 5000, 100000, 200000);
	for (int n = 1; n <= ncpu && n <= 256; n++) {
		struct pmb_spec spec = {
			.metric = "wis_tlb_flush", .unit = "ns/op",
			.cv_max = 0.05,
			.ref = n > 1 ? PMB_REF_SHOOTDOWN : PMB_REF_LOCAL_FLUSH,
			.ref_ratio = n > 1 ?
				"will-it-scale tlb_flush2 time per op of one thread (write fault + DONTNEED, "
				"other threads of the mm busy on the other CPUs) / one remote shootdown madvise" :
				"will-it-scale tlb_flush2 time per op, one thread (write fault + local DONTNEED) / local-only madvise",
		};
		struct pmb_stats s;
		struct pmb_snap s0, s1;
		char nt[16];
		json_t *m, *c;
		double ops_s, ipis = 0;

		w->threads = n;
		for (int i = 0; i < n; i++)
			w->t[i].cpu = i % ncpu;
		snprintf(nt, sizeof(nt), "%d", n);
		pmb_progress(b, "will-it-scale tlb_flush2, %d threads", n);
		w->all_ops = 0;
		pmb_snap(&s0);
		m = pmb_measure(b, &spec, pmb_params("threads", nt, NULL), wis_sample, w, &s);
		pmb_snap(&s1);
		if (!m)
			continue;
		ops_s = 1e9 * n / s.median;
		c = json_object();
		json_object_set_new(c, "ops_per_s", json_real(ops_s));
		if (pmb_snap_get(&s1, "irq_TLB") >= 0) {
			ipis = (double)(pmb_snap_get(&s1, "irq_TLB") - pmb_snap_get(&s0, "irq_TLB")) / w->all_ops;
			json_object_set_new(c, "tlb_ipis_per_op", json_real(ipis));
			if (n > 1)
				pmb_counter_require(b, c, "tlb_ipis_per_op",
						    "no TLB IPI counted although other threads of the mm run on other CPUs");
		}
		json_object_set_new(m, "counters", c);
		pmb_row(tab, "%d,%.0f,%.1f,%.2f,%.3f", n, ops_s, s.median, 100 * s.cv, ipis);
	}
	free(w);
}

int main(int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "shootdown",
				 "TLB shootdown cost of punch-hole, munmap/madvise(DONTNEED) and memslot delete on guest memory with 0..2xnproc running vCPUs");
	int ncpu = pmb_nr_cpus();
	long max_vcpus = pmb_param_long(b, "max_vcpus", 2 * ncpu);
	long only_vcpus = pmb_param_long(b, "only_vcpus", -1);	/* one configuration, for a closer look */
	long only_touchers = pmb_param_long(b, "only_host_touchers", -1);
	struct plan pl = { 0 };
	const struct pmb_stats *ref_sd, *ref_lf;
	const struct pm_platform *p = NULL;
	char why[256];
	int vcounts[4], nvc = 0, ntouch_modes[2] = { 0, ncpu - 1 };
	struct pmb_table *tab;
	struct tracing tr;
	cpu_set_t old;
	const char *kvm_why;
	json_t *jv;

	pl.k[OP_PUNCH] = pl.k[OP_MADVISE] = pl.k[OP_MUNMAP] = pmb_param_long(b, "ops_per_rep", pmb_by_mode(b, 20, 400, 1000));
	pl.k_core = pmb_param_long(b, "core_ops_per_rep", pmb_by_mode(b, 20, 2000, 4000));
	pl.k[OP_SLOT_DEL] = pmb_param_long(b, "slot_ops_per_rep", pmb_by_mode(b, 3, 8, 40));
	pl.k[OP_PUNCH_2M] = pmb_param_long(b, "punch_2m_ops_per_rep", pmb_by_mode(b, 2, 10, 40));
	for (int op = 0; op < NR_OPS; op++)
		pl.kc[op] = pl.k[op];
	pl.kc[OP_PUNCH] = pl.kc[OP_MADVISE] = pl.kc[OP_MUNMAP] = pmb_by_mode(b, 20, 300, 1000);
	pl.trace_touchers = pmb_mode(b) != PMB_QUICK;
	pmb_params_done(b);
	pl.reps = pmb_by_mode(b, 3, 7, 15);
	pl.warmup = 1;
	for (int op = 0; op < NR_OPS; op++)
		pl.run[op] = true;
	pl.run[OP_PUNCH_2M] = pmb_mode(b) == PMB_FULL;
	if (!pl.trace_touchers)
		pmb_note(b, "tracepoints (tlb:tlb_flush reasons, ipi:*) counted in the configurations "
			  "without host touchers only (--quick: each perf session costs ~0.2 s)");
	if (!pl.run[OP_PUNCH_2M])
		pmb_note(b, "punch_2m runs in --full only (each sample re-populates 512 pages)");
	if (max_vcpus > MAX_VCPUS) {
		pmb_note(b, "vCPU counts capped at %d (PM_MAX_VCPUS)", MAX_VCPUS);
		max_vcpus = MAX_VCPUS;
	}
	{
		int want[4] = { 0, 1, ncpu, 2 * ncpu };

		for (int i = 0; i < 4; i++) {
			bool dup = false;

			for (int j = 0; j < nvc; j++)
				dup |= vcounts[j] == want[i];
			if (!dup && want[i] <= max_vcpus && (pmb_mode(b) != PMB_SMOKE || want[i] <= 1) &&
			    (only_vcpus < 0 || want[i] == only_vcpus))
				vcounts[nvc++] = want[i];
		}
	}
	jv = json_array();
	for (int i = 0; i < nvc; i++)
		json_array_append_new(jv, json_integer(vcounts[i]));
	pmb_config(b, "vcpu_counts", jv);
	pmb_config(b, "host_touchers", json_integer(ncpu - 1));
	pmb_config(b, "main_thread_cpu", json_integer(ncpu - 1));
	pmb_config(b, "pinning", json_string("vCPU i on CPU i % nproc, host toucher t on CPU t, the timing thread on CPU nproc-1"));
	pmb_config(b, "oversubscribed_means", json_string("busy threads (vCPUs + host touchers + the timing thread) "
		"outnumber the CPUs"));
	pmb_config(b, "gmem_bytes", json_integer(GMEM_SIZE));
	pmb_config(b, "op_pages", json_integer(NP));
	pmb_config(b, "reps", json_integer(pl.reps));
	pmb_config(b, "ops_per_rep", json_integer(pl.k[OP_PUNCH]));
	pmb_config(b, "slot_ops_per_rep", json_integer(pl.k[OP_SLOT_DEL]));
	pmb_config(b, "core_ops_per_rep", json_integer(pl.k_core));
	pmb_config(b, "core_figure", json_string("punch with vcpus=1, host_touchers=0: median ns of a "
		"one-page PUNCH_HOLE while one vCPU on another CPU uses the memory"));
	pmb_config(b, "core_figure_paired", json_string("punch_over_paired: the same punch latency "
		"over its paired anon shootdown, median per repetition (cancels the drift of this "
		"machine's IPI round trip)"));
	if (nvc > 0 && vcounts[nvc - 1] > ncpu)
		pmb_note(b, "at %d vCPUs (2 x nproc) the vCPU threads outnumber the %d CPUs: they "
			  "time-share with each other and with the timing thread", 2 * ncpu, ncpu);

	/* References first, with nothing else of ours running. */
	sched_getaffinity(0, sizeof(old), &old);
	ref_sd = pmb_ref(b, PMB_REF_SHOOTDOWN);
	ref_lf = pmb_ref(b, PMB_REF_LOCAL_FLUSH);
	measure_wis(b, ncpu);

	kvm_why = pmb_kvm_unusable();
	if (kvm_why)
		snprintf(why, sizeof(why), "%s", kvm_why);
	else
		p = pm_need_met(&(struct pm_need){ "sw-default", GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED },
				why, sizeof(why));
	if (!p) {
		pmb_note(b, "skipped: guest-memory operations: %s", why);
		return pmb_finish(b);
	}
	pmb_config(b, "platform", json_string(p->name));
	tracing_init(b, &tr);
	tab = pmb_table(b, "latency",
			"op,host_touchers,vcpus,oversubscribed,median_ns,p10_ns,p90_ns,p99_ns,cv_pct,n_ops,"
			"tlb_ipis_per_op,cal_ipis_per_op,kvm_remote_flush_per_op,ipi_sends_per_op,"
			"paired_ns,ratio_to_paired,ref_shootdown_ns,ref_local_ns");
	for (int ti = 0; ti < 2; ti++) {
		int ntouch = ntouch_modes[ti];

		if (only_touchers >= 0 && (only_touchers > 0) != (ti > 0))
			continue;
		if (ti == 1 && ntouch == 0) {
			pmb_note(b, "skipped: host touching threads need a second CPU");
			break;
		}
		for (int vi = 0; vi < nvc; vi++) {
			struct rig r;

			if (rig_start(&r, b, p, vcounts[vi], ntouch, ncpu) == 0)
				for (int op = 0; op < NR_OPS; op++)
					if (pl.run[op])
						measure_op(b, &r, &pl, op, &tr, tab, ref_sd, ref_lf);
			rig_stop(&r);
			sched_setaffinity(0, sizeof(old), &old);
		}
	}
	return pmb_finish(b);
}
