// SPDX-License-Identifier: GPL-2.0
/*
 * fault_in: guest first-touch throughput and per-page cost.
 *
 * One sample is one fresh VM with one fresh memslot of S bytes, touched once
 * (one 8-byte write per 4K page) by N vCPUs, each writing its own contiguous
 * part. The VM, the memory, the memslot and the vCPUs are created before the
 * clock starts; the memory is populated lazily, by the guest's writes. Timed:
 * from starting the vCPU threads until the slowest vCPU has finished its part.
 *
 * Sweep: backing (guest_memfd, anonymous, shmem/memfd, THP, hugetlb) x guest
 * page-table size (4K, 2M) x vCPUs (1, nproc, 2 x nproc; --quick and --smoke
 * use 1 and nproc). "Pages" are always 4K pages: with 2M guest pages and a
 * huge backing the host may map a whole 2M at the first touch, and the other
 * 511 writes of that 2M cost only the guest loop.
 *
 * Each sample has a second pass over the same, now populated, memory (after a
 * sync at which the host waits for every vCPU): its cost per page is the guest
 * loop plus whatever the backend does on an already-mapped page, so the
 * difference between the passes is what the first touch itself costs.
 *
 * Paired samples (4K guest pages, one vCPU per CPU, every backing): the first
 * touch in chunks of PAIR_CHUNK pages, each followed at a sync by the vCPU's
 * thread first-touching as many pages of host anonymous memory and then by the
 * guest writing the chunk again; per chunk the guest first touch over each of
 * the two, per sample the median over chunks. The host here drifts by ~10% in
 * absolute speed from one 20-ms sample to the next, so rate cannot be steady;
 * these ratios are read on the same CPU within about a millisecond.
 *
 * References (same run): the host's anonymous 4K first-touch fault
 * (PMB_REF_FAULT_4K); a "raw" mode that runs the same guest work on the same
 * memory with a bare ioctl(KVM_RUN) loop instead of the library's vCPU runner
 * (the harness overhead); and, when --set demand_paging=PATH names a built
 * upstream KVM selftest (scripts/upstream-demand-paging.sh), demand_paging_test
 * on the same work (anonymous memory, 4K guest pages, same bytes and vCPUs).
 */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "caps.h"
#include "pmb_vm.h"

#define SLOT		PM_SLOT_FIRST_FREE
#define TEST_GPA	PM_TEST_GPA
#define TAG		0x46490000u	/* "FI": what the guest writes, checked by the host */
#define SYNC_WAIT_S	30		/* hang bound for the host barrier, never reached when sane */
#define MAX_VCPUS	PM_MAX_VCPUS

/* ---- guest code: integer registers only, no libc (lib/guest.h) ------------------- */
PM_GUEST_CODE_BEGIN

/* One write per 4K page of [start, start + pages * 4K). */
static PM_GUEST void touch_pages(uint64_t start, uint64_t pages, uint64_t tag)
{
	for (uint64_t i = 0; i < pages; i++)
		pm_guest_write64((void *)(start + i * PM_PAGE_4K), tag);
}

/* Measured samples: first touch, a sync the host timestamps, the second pass. */
static PM_GUEST void guest_two_pass(uint64_t start, uint64_t pages, uint64_t tag)
{
	touch_pages(start, pages, tag);
	GUEST_SYNC(1);
	touch_pages(start, pages, tag + 1);
}

/*
 * Paired samples: the first touch in chunks of PAIR_CHUNK pages; after each, a
 * sync at which the vCPU's thread first-touches a chunk of its own host memory
 * (sync 2), then the guest writes the same chunk again (already mapped: the
 * guest loop alone) and syncs (3). The host times the three per chunk, so the
 * guest's first touch is read against a host first touch and a guest write on
 * the same CPU within about a millisecond: that cancels this machine's drift.
 */
#define PAIR_CHUNK 32
static PM_GUEST void guest_paired(uint64_t start, uint64_t pages, uint64_t tag)
{
	for (uint64_t i = 0; i < pages; i += PAIR_CHUNK) {
		uint64_t n = pages - i < PAIR_CHUNK ? pages - i : PAIR_CHUNK;

		touch_pages(start + i * PM_PAGE_4K, n, tag);
		GUEST_SYNC(2);
		touch_pages(start + i * PM_PAGE_4K, n, tag + 1);
		GUEST_SYNC(3);
	}
}

/* Harness comparison: first touch only; the entry's DONE port write ends it. */
static PM_GUEST void guest_one_pass(uint64_t start, uint64_t pages, uint64_t tag)
{
	touch_pages(start, pages, tag);
}

PM_GUEST_CODE_END

/* ---- backings ---------------------------------------------------------------------- */

enum backing { B_GMEM, B_ANON, B_SHMEM, B_THP, B_HUGETLB, NR_BACKINGS };

static const char *const backing_name[NR_BACKINGS] = {
	[B_GMEM] = "gmem", [B_ANON] = "anon", [B_SHMEM] = "shmem",
	[B_THP] = "thp", [B_HUGETLB] = "hugetlb",
};

static const char *const backing_what[NR_BACKINGS] = {
	[B_GMEM] = "guest_memfd (MMAP|INIT_SHARED), its own mapping as userspace_addr",
	[B_ANON] = "anonymous MAP_PRIVATE, MADV_NOHUGEPAGE",
	[B_SHMEM] = "memfd (shmem) MAP_SHARED",
	[B_THP] = "anonymous MAP_PRIVATE, 2M-aligned, MADV_HUGEPAGE",
	[B_HUGETLB] = "anonymous MAP_PRIVATE|MAP_HUGETLB, 2M pages",
};

struct mem {
	void *map;		/* what to munmap */
	size_t map_len;
	void *hva;		/* the slot's userspace_addr */
	int fd;			/* gmem or memfd, -1 otherwise */
};

static void mem_free(struct mem *m)
{
	if (m->map && m->map != MAP_FAILED)
		munmap(m->map, m->map_len);
	if (m->fd >= 0)
		close(m->fd);
	*m = (struct mem){ .fd = -1 };
}

/* Fresh, untouched memory of size bytes for backing k (gmem needs the VM). */
static int mem_alloc(struct mem *m, enum backing k, struct pm_vm *vm, size_t size)
{
	int prot = PROT_READ | PROT_WRITE;

	*m = (struct mem){ .fd = -1, .map_len = size };
	switch (k) {
	case B_GMEM:
		m->fd = pm_gmem_create(vm, size, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
		if (m->fd < 0)
			return -1;
		m->map = mmap(NULL, size, prot, MAP_SHARED, m->fd, 0);
		break;
	case B_ANON:
		m->map = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m->map != MAP_FAILED && madvise(m->map, size, MADV_NOHUGEPAGE))
			goto fail;
		break;
	case B_SHMEM:
		m->fd = memfd_create("privmem-fault_in", MFD_CLOEXEC);
		if (m->fd < 0 || ftruncate(m->fd, size))
			goto fail;
		m->map = mmap(NULL, size, prot, MAP_SHARED, m->fd, 0);
		break;
	case B_THP:
		/* THP needs 2M-aligned virtual addresses: map 2M more and align. */
		m->map_len = size + PM_PAGE_2M;
		m->map = mmap(NULL, m->map_len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m->map == MAP_FAILED)
			break;
		m->hva = (void *)(((uintptr_t)m->map + PM_PAGE_2M - 1) & ~(uintptr_t)(PM_PAGE_2M - 1));
		if (madvise(m->hva, size, MADV_HUGEPAGE))
			goto fail;
		return 0;
	case B_HUGETLB:
		m->map = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (m->map == MAP_FAILED)
		goto fail;
	m->hva = m->map;
	return 0;
fail:
	{
		int saved = errno;

		mem_free(m);
		errno = saved;
	}
	return -1;
}

/* ---- one sample ------------------------------------------------------------------- */

struct cfg {
	struct pmb *b;
	enum backing k;
	uint64_t gpage;		/* guest page-table size */
	int vcpus;
	uint64_t size;		/* bytes of the slot, all vCPUs together */
	void (*guest)(uint64_t, uint64_t, uint64_t);
};

/* A VM with its memslot and vCPUs, ready to run (nothing faulted yet). */
struct setup {
	struct pm_vm *vm;
	struct mem mem;
	struct pm_vcpu *vcpu[MAX_VCPUS];
	uint64_t first_page[MAX_VCPUS], pages[MAX_VCPUS];
	/* Paired samples: vCPU v's thread first-touches host[v] (pages[v] pages). */
	uint8_t *host[MAX_VCPUS];
	char err[256];
};

static void teardown(struct setup *s)
{
	pm_vm_free(s->vm);	/* slots first, then the memory behind them */
	s->vm = NULL;
	mem_free(&s->mem);
	for (int v = 0; v < MAX_VCPUS; v++) {
		if (s->host[v])
			munmap(s->host[v], s->pages[v] * PM_PAGE_4K);
		s->host[v] = NULL;
	}
}

static int setup(const struct cfg *c, struct setup *s, uint32_t tag)
{
	uint64_t total = c->size / PM_PAGE_4K;

	memset(s, 0, sizeof(*s));
	s->mem.fd = -1;
	s->vm = pm_vm_create(0);
	if (!s->vm) {
		snprintf(s->err, sizeof(s->err), "creating the VM: %s", strerror(errno));
		return -1;
	}
	s->vm->timeout_ms = SYNC_WAIT_S * 1000;
	if (mem_alloc(&s->mem, c->k, s->vm, c->size)) {
		snprintf(s->err, sizeof(s->err), "allocating %s memory: %s", backing_name[c->k], strerror(errno));
		goto fail;
	}
	if (pm_vm_add_memory(s->vm, SLOT, TEST_GPA, c->size, s->mem.hva,
			     c->k == B_GMEM ? s->mem.fd : -1, 0, c->gpage)) {
		snprintf(s->err, sizeof(s->err), "adding the %s memslot: %s", backing_name[c->k], strerror(errno));
		goto fail;
	}
	for (int v = 0; v < c->vcpus; v++) {
		/* Parts as equal as 4K pages allow; vCPU v's part follows v-1's. */
		s->first_page[v] = total * v / c->vcpus;
		s->pages[v] = total * (v + 1) / c->vcpus - s->first_page[v];
		s->vcpu[v] = pm_vcpu_add(s->vm, c->guest, TEST_GPA + s->first_page[v] * PM_PAGE_4K,
					 s->pages[v], tag);
		if (!s->vcpu[v]) {
			snprintf(s->err, sizeof(s->err), "adding vCPU %d: %s", v, strerror(errno));
			goto fail;
		}
		if (c->guest != guest_paired)
			continue;
		/* The host's own first touch: anonymous 4K pages, as PMB_REF_FAULT_4K. */
		s->host[v] = mmap(NULL, s->pages[v] * PM_PAGE_4K, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (s->host[v] == MAP_FAILED) {
			s->host[v] = NULL;
			snprintf(s->err, sizeof(s->err), "mapping the paired host memory: %s", strerror(errno));
			goto fail;
		}
		if (madvise(s->host[v], s->pages[v] * PM_PAGE_4K, MADV_NOHUGEPAGE)) {
			snprintf(s->err, sizeof(s->err), "MADV_NOHUGEPAGE on the paired host memory: %s",
				 strerror(errno));
			goto fail;
		}
	}
	return 0;
fail:
	teardown(s);
	return -1;
}

/* The guest's writes reached the memory: first and last page of every part. */
static int check_written(const struct cfg *c, struct setup *s, uint64_t want, char *err, size_t len)
{
	for (int v = 0; v < c->vcpus; v++) {
		uint64_t ends[2] = { s->first_page[v], s->first_page[v] + s->pages[v] - 1 };

		for (int i = 0; i < 2; i++) {
			uint64_t got = pm_guest_read64((char *)s->mem.hva + ends[i] * PM_PAGE_4K);

			if (got != want) {
				snprintf(err, len, "vCPU %d: page %llu holds 0x%llx, not 0x%llx", v,
					 (unsigned long long)ends[i], (unsigned long long)got,
					 (unsigned long long)want);
				return -1;
			}
		}
	}
	return 0;
}

/*
 * Host barrier at the guest's sync: the last vCPU to arrive stamps the end of
 * the first pass and releases the others into the second pass.
 */
struct barrier {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int n, arrived;
	uint64_t t_mid;
};

static int on_sync(int idx, struct pm_vcpu *vcpu, const struct pm_exit *e, void *arg)
{
	struct barrier *bar = arg;
	struct timespec dl;
	int rc = 0;

	(void)idx;
	(void)vcpu;
	if (e->rep.vals[0] != 1)
		return 1;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += SYNC_WAIT_S;
	pthread_mutex_lock(&bar->mu);
	if (++bar->arrived == bar->n) {
		bar->t_mid = pmb_now_ns();
		pthread_cond_broadcast(&bar->cv);
	}
	while (bar->arrived < bar->n && rc == 0)
		rc = pthread_cond_timedwait(&bar->cv, &bar->mu, &dl);
	pthread_mutex_unlock(&bar->mu);
	return rc ? 1 : 0;
}

/*
 * One configuration's samples (warm-up included, in order) and counters
 * summed over every sample.
 */
struct cfgrun {
	struct cfg c;
	bool failed;
	int n;				/* samples taken so far */
	double *rate;			/* first pass, pages/s over all vCPUs */
	double *retouch_ns;		/* second pass, ns per page per vCPU */
	double *setup_ms;		/* VM + memory + memslot + vCPUs, not timed */
	/* Paired samples (guest_paired) only: */
	double *over_host;		/* guest first touch / host first touch */
	double *over_write;		/* guest first touch / guest write to a mapped page */
	double *host_ns;		/* host first touch, ns per page */
	long long host_faults, pgfault, thp_alloc, thp_fallback;
	uint64_t exits, pf_fixed, pf_taken, pages_4k, pages_2m;
	bool kvm_stats;
	long pages;			/* 4K pages first-touched */
};

static void kvm_stats_add(struct cfgrun *a, struct setup *s, int nvcpus)
{
	struct pmb_kvm_stats *vs = pmb_kvm_stats_open(s->vm->fd);
	uint64_t v;

	if (!vs)
		return;
	a->kvm_stats = true;
	/* Instantaneous: the secondary MMU's mappings at the end of the run. */
	if (!pmb_kvm_stat(vs, "pages_4k", &v))
		a->pages_4k += v;
	if (!pmb_kvm_stat(vs, "pages_2m", &v))
		a->pages_2m += v;
	pmb_kvm_stats_close(vs);
	for (int i = 0; i < nvcpus; i++) {
		struct pmb_kvm_stats *cs = pmb_kvm_stats_open(s->vcpu[i]->fd);

		if (!cs)
			continue;
		if (!pmb_kvm_stat(cs, "exits", &v))
			a->exits += v;
		if (!pmb_kvm_stat(cs, "pf_fixed", &v))
			a->pf_fixed += v;
		if (!pmb_kvm_stat(cs, "pf_taken", &v))
			a->pf_taken += v;
		pmb_kvm_stats_close(cs);
	}
}

/*
 * One measured sample of configuration r: returns pages/s of the first pass
 * (all vCPUs together), or -1 with the error recorded.
 */
static double sample_two_pass(struct cfgrun *r)
{
	struct cfg *c = &r->c;
	struct barrier bar = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, c->vcpus, 0, 0 };
	uint32_t tag = TAG + 2 * (uint32_t)r->n;
	struct pmb_snap s0, s1;
	struct setup s;
	uint64_t t0, t1, t_setup = pmb_now_ns();
	long long f0, f1;
	double per_vcpu_pages = (double)c->size / PM_PAGE_4K / c->vcpus;
	char err[320];

	if (setup(c, &s, tag)) {
		pmb_error(c->b, "%s: %s", backing_name[c->k], s.err);
		return -1;
	}
	t_setup = pmb_now_ns() - t_setup;
	pmb_snap(&s0);
	f0 = pmb_process_faults();
	t0 = pmb_now_ns();
	if (pmb_run_vcpus(s.vcpu, c->vcpus, true, on_sync, &bar, err, sizeof(err))) {
		pmb_error(c->b, "%s: %s", backing_name[c->k], err);
		teardown(&s);
		return -1;
	}
	t1 = pmb_now_ns();
	f1 = pmb_process_faults();
	pmb_snap(&s1);
	if (check_written(c, &s, tag + 1, err, sizeof(err))) {
		pmb_error(c->b, "%s: the guest's writes are not in the memory: %s", backing_name[c->k], err);
		teardown(&s);
		return -1;
	}
	r->rate[r->n] = (double)(c->size / PM_PAGE_4K) / ((bar.t_mid - t0) / 1e9);
	/* Per-vCPU time per page of its own part. */
	r->retouch_ns[r->n] = (double)(t1 - bar.t_mid) / per_vcpu_pages;
	r->setup_ms[r->n] = t_setup / 1e6;
	r->n++;
	r->host_faults += f1 - f0;
	r->pgfault += pmb_snap_get(&s1, "pgfault") - pmb_snap_get(&s0, "pgfault");
	r->thp_alloc += pmb_snap_get(&s1, "thp_fault_alloc") - pmb_snap_get(&s0, "thp_fault_alloc");
	r->thp_fallback += pmb_snap_get(&s1, "thp_fault_fallback") -
			   pmb_snap_get(&s0, "thp_fault_fallback");
	r->pages += c->size / PM_PAGE_4K;
	kvm_stats_add(r, &s, c->vcpus);
	teardown(&s);
	return r->rate[r->n - 1];
}

static double median_of(const double *v, int n);

/* Per-chunk times of a paired sample, each vCPU's written only by its own thread. */
struct paired {
	struct setup *s;
	uint64_t t_resume[MAX_VCPUS];	/* the guest was resumed (or started) */
	uint64_t done[MAX_VCPUS];	/* pages (and so chunks) done per vCPU */
	uint32_t *guest[MAX_VCPUS], *write[MAX_VCPUS], *host[MAX_VCPUS];	/* ns per chunk */
};

/* The host's own first touch: one write per 4K page, as the guest does. */
static void host_touch(uint8_t *p, uint64_t pages, uint64_t tag)
{
	for (uint64_t i = 0; i < pages; i++)
		*(volatile uint64_t *)(p + i * PM_PAGE_4K) = tag;
}

static int on_sync_paired(int idx, struct pm_vcpu *vcpu, const struct pm_exit *e, void *arg)
{
	struct paired *p = arg;
	uint64_t t = pmb_now_ns(), i = p->done[idx] / PAIR_CHUNK;

	(void)vcpu;
	if (e->rep.vals[0] == 2) {
		/* A guest chunk of first touches ended: the host's chunk right after it. */
		uint64_t n = p->s->pages[idx] - p->done[idx];

		n = n < PAIR_CHUNK ? n : PAIR_CHUNK;
		p->guest[idx][i] = t - p->t_resume[idx];
		host_touch(p->s->host[idx] + p->done[idx] * PM_PAGE_4K, n, TAG);
		p->t_resume[idx] = pmb_now_ns();
		p->host[idx][i] = p->t_resume[idx] - t;
		return 0;
	}
	if (e->rep.vals[0] == 3) {
		/* The guest's second write of the same chunk ended. */
		uint64_t n = p->s->pages[idx] - p->done[idx];

		p->write[idx][i] = t - p->t_resume[idx];
		p->t_resume[idx] = t;
		p->done[idx] += n < PAIR_CHUNK ? n : PAIR_CHUNK;
		return 0;
	}
	return 1;
}

static void paired_free(struct paired *p)
{
	for (int v = 0; v < MAX_VCPUS; v++) {
		free(p->guest[v]);
		free(p->write[v]);
		free(p->host[v]);
	}
}

/*
 * One paired sample of configuration r (guest_paired). Per chunk (PAIR_CHUNK
 * pages of one vCPU) the guest's first touch over the host's first touch right
 * after it, and over the guest's second write right after that; the sample is
 * the median over every chunk of every vCPU, so a chunk that an exit or the
 * outer hypervisor happened to stretch does not move it. The guest's times
 * include the sync exit ending the chunk; the host's does not.
 */
static double sample_paired(struct cfgrun *r)
{
	struct cfg *c = &r->c;
	uint32_t tag = TAG + 2 * (uint32_t)r->n;
	uint64_t hsum = 0, t0;
	struct paired p = { 0 };
	double *oh = NULL, *ow = NULL;
	struct setup s;
	char err[320] = "out of memory";
	int nc = 0;

	if (setup(c, &s, tag)) {
		pmb_error(c->b, "%s (paired): %s", backing_name[c->k], s.err);
		return -1;
	}
	p.s = &s;
	for (int v = 0; v < c->vcpus; v++) {
		uint64_t chunks = (s.pages[v] + PAIR_CHUNK - 1) / PAIR_CHUNK;

		p.guest[v] = calloc(chunks, sizeof(uint32_t));
		p.write[v] = calloc(chunks, sizeof(uint32_t));
		p.host[v] = calloc(chunks, sizeof(uint32_t));
		if (!p.guest[v] || !p.write[v] || !p.host[v])
			goto fail;
		nc += chunks;
	}
	oh = calloc(nc, sizeof(double));
	ow = calloc(nc, sizeof(double));
	if (!oh || !ow)
		goto fail;
	t0 = pmb_now_ns();
	for (int v = 0; v < c->vcpus; v++)
		p.t_resume[v] = t0;
	if (pmb_run_vcpus(s.vcpu, c->vcpus, true, on_sync_paired, &p, err, sizeof(err)) ||
	    check_written(c, &s, tag + 1, err, sizeof(err)))
		goto fail;
	nc = 0;
	for (int v = 0; v < c->vcpus; v++) {
		for (uint64_t i = 0; i < (s.pages[v] + PAIR_CHUNK - 1) / PAIR_CHUNK; i++) {
			if (!p.guest[v][i] || !p.write[v][i] || !p.host[v][i]) {
				snprintf(err, sizeof(err), "vCPU %d chunk %llu: a zero time", v, (unsigned long long)i);
				goto fail;
			}
			oh[nc] = (double)p.guest[v][i] / p.host[v][i];
			ow[nc++] = (double)p.guest[v][i] / p.write[v][i];
			hsum += p.host[v][i];
		}
	}
	r->over_host[r->n] = median_of(oh, nc);
	r->over_write[r->n] = median_of(ow, nc);
	r->host_ns[r->n] = (double)hsum / (c->size / PM_PAGE_4K);
	r->n++;
	free(oh);
	free(ow);
	paired_free(&p);
	teardown(&s);
	return r->over_host[r->n - 1];
fail:
	pmb_error(c->b, "%s (paired): %s", backing_name[c->k], err);
	free(oh);
	free(ow);
	paired_free(&p);
	teardown(&s);
	return -1;
}

/* ---- raw mode: the same guest work under a bare KVM_RUN loop ------------------------ */

struct raw_thread {
	struct pm_vcpu *vcpu;
	int cpu;
	int err;		/* errno of a failed KVM_RUN, -1 for an unexpected exit */
};

/*
 * Nothing but KVM_RUN until the guest's report port is written: no run timer,
 * no report parsing (checked after the clock stops). The guest makes exactly
 * one port exit (DONE), so any other exit is a failure.
 */
static void *raw_vcpu(void *p)
{
	struct raw_thread *t = p;

	pmb_pin_cpu(t->cpu);
	for (;;) {
		if (ioctl(t->vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			t->err = errno;
			return NULL;
		}
		if (pm_vcpu_is_report(t->vcpu))
			return NULL;
		t->err = -1;
		return NULL;
	}
}

/* One first-touch pass, library runner (raw false) or bare loop (raw true): ns. */
static double one_pass_ns(struct cfg *c, bool raw, uint32_t tag)
{
	struct raw_thread t[MAX_VCPUS];
	pthread_t tid[MAX_VCPUS];
	struct setup s;
	char err[320] = "";
	uint64_t t0, t1;
	int started = 0;

	if (setup(c, &s, tag)) {
		pmb_error(c->b, "raw comparison: %s", s.err);
		return -1;
	}
	t0 = pmb_now_ns();
	if (!raw) {
		if (pmb_run_vcpus(s.vcpu, c->vcpus, true, NULL, NULL, err, sizeof(err)))
			goto fail;
		t1 = pmb_now_ns();
	} else {
		for (int v = 0; v < c->vcpus; v++) {
			t[v] = (struct raw_thread){ .vcpu = s.vcpu[v], .cpu = v % pmb_nr_cpus() };
			if (pthread_create(&tid[v], NULL, raw_vcpu, &t[v])) {
				snprintf(err, sizeof(err), "cannot start a vCPU thread");
				break;
			}
			started++;
		}
		for (int v = 0; v < started; v++)
			pthread_join(tid[v], NULL);
		t1 = pmb_now_ns();
		if (err[0])
			goto fail;
		for (int v = 0; v < c->vcpus; v++) {
			const struct pm_report *rep = pm_gpa_to_hva(s.vm, s.vcpu[v]->area_gpa, sizeof(*rep));

			if (t[v].err || !rep || rep->kind != PM_REP_DONE) {
				snprintf(err, sizeof(err), "raw vCPU %d: %s (exit reason %s, report kind %u)", v,
					 t[v].err > 0 ? strerror(t[v].err) : "stopped",
					 pm_exit_reason_name(s.vcpu[v]->run->exit_reason), rep ? rep->kind : 0);
				goto fail;
			}
		}
	}
	if (check_written(c, &s, tag, err, sizeof(err)))
		goto fail;
	teardown(&s);
	return (double)(t1 - t0);
fail:
	pmb_error(c->b, "raw comparison (%s mode): %s", raw ? "raw" : "library", err);
	teardown(&s);
	return -1;
}

/* ---- upstream demand_paging_test -------------------------------------------------- */

static volatile pid_t upstream_pid;

static void kill_upstream(void)
{
	if (upstream_pid > 0)
		kill(upstream_pid, SIGKILL);
}

/*
 * Run PATH -v n -b bytes_per_vcpu -s anonymous -c pins; parse its "Overall
 * demand paging rate: R pgs/sec". 0 and *rate, or -1 and why.
 */
static int run_upstream(const char *path, int n, uint64_t per_vcpu, double *rate, char *why, size_t len)
{
	char bytes[32], pins[4 * MAX_VCPUS + 8] = "", vcpus[16], out[16384], *p, *last;
	char *argv[] = { (char *)path, "-v", vcpus, "-b", bytes, "-s", "anonymous", "-c", pins, NULL };
	size_t used = 0;
	int pipefd[2], status;
	ssize_t got;
	pid_t pid;

	snprintf(vcpus, sizeof(vcpus), "%d", n);
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)per_vcpu);
	/* The same placement as pmb_run_vcpus: vCPU i on CPU i % nproc. */
	for (int i = 0; i < n; i++)
		snprintf(pins + strlen(pins), sizeof(pins) - strlen(pins), "%s%d", i ? "," : "",
			 i % pmb_nr_cpus());
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execv(path, argv);
		_exit(127);
	}
	upstream_pid = pid;
	close(pipefd[1]);
	while (used + 1 < sizeof(out) && (got = read(pipefd[0], out + used, sizeof(out) - 1 - used)) > 0)
		used += got;
	out[used] = '\0';
	/* Drain what did not fit, so the child cannot block on a full pipe. */
	while (read(pipefd[0], bytes, sizeof(bytes)) > 0)
		;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	upstream_pid = 0;
	p = strstr(out, "Overall demand paging rate:");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && p) {
		*rate = strtod(p + strlen("Overall demand paging rate:"), NULL);
		if (*rate > 0)
			return 0;
	}
	/* Why: its last non-empty output line. */
	while (used && (out[used - 1] == '\n' || out[used - 1] == ' '))
		out[--used] = '\0';
	last = strrchr(out, '\n');
	last = last ? last + 1 : out;
	if (WIFEXITED(status))
		snprintf(why, len, "exit %d: %.200s", WEXITSTATUS(status), used ? last : "(no output)");
	else
		snprintf(why, len, "killed by signal %d: %.200s", WTERMSIG(status), used ? last : "(no output)");
	return -1;
}

/* ---- helpers ------------------------------------------------------------------------ */

/*
 * PMB-CANDIDATE: a same-run reference for a rate metric whose reference is a
 * latency (pages/s against ns per fault): pmb_record computes median/ref_median,
 * which is meaningless across inverse units. This attaches the reference as the
 * rate it implies (1e9 / ref ns) with ratio = median / that rate, in the same
 * "reference" shape pmb_record uses, so the CSV and checks read it alike.
 */
static void attach_inverse_ref(struct pmb *b, json_t *m, enum pmb_ref r, const char *ratio_means)
{
	const struct pmb_stats *rs = pmb_ref(b, r);
	double med = json_number_value(json_object_get(json_object_get(m, "stats"), "median"));
	json_t *ref = json_pack("{s:s, s:s, s:s, s:s}", "name", pmb_ref_name(r), "unit", pmb_ref_unit(r),
				"ratio_means", ratio_means, "inverse", "ratio = median * ref_median / 1e9");

	json_object_set_new(ref, "median", rs->n ? json_real(rs->median) : json_null());
	json_object_set_new(ref, "ratio", rs->n && rs->median > 0 ? json_real(med * rs->median / 1e9)
							: json_null());
	json_object_set_new(m, "reference", ref);
}

/* A reference object for a metric read against another measurement of this run. */
static void attach_local_ref(json_t *m, const char *name, const char *unit, double ref_median,
			     double ratio, const char *ratio_means)
{
	json_object_set_new(m, "reference", json_pack("{s:s, s:s, s:f, s:f, s:s}", "name", name,
		"unit", unit, "median", ref_median, "ratio", ratio, "ratio_means", ratio_means));
}

static const char *gpage_name(uint64_t g)
{
	return g == PM_PAGE_2M ? "2M" : "4K";
}

/* Why backing k cannot run here, or NULL. */
static const char *backing_unusable(struct pmb *b, enum backing k, uint64_t size)
{
	static char why[200];
	char thp[64];

	switch (k) {
	case B_GMEM: {
		const struct pm_caps *caps = pm_caps();
		long flags = pm_vm_cap(caps, 0, PM_KVM_CAP_GUEST_MEMFD_FLAGS);
		uint64_t want = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

		if (pm_vm_cap(caps, 0, PM_KVM_CAP_GUEST_MEMFD) <= 0)
			return "gmem: KVM_CAP_GUEST_MEMFD not advertised on the default VM type";
		/* Without MMAP|INIT_SHARED a default VM cannot fault guest_memfd as shared memory. */
		if (flags < 0 || ((uint64_t)flags & want) != want) {
			snprintf(why, sizeof(why), "gmem: KVM_CAP_GUEST_MEMFD_FLAGS 0x%lx lacks MMAP|INIT_SHARED",
				 flags);
			return why;
		}
		return NULL;
	}
	case B_THP:
		if (pmb_knob_get("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp)))
			return "thp: no /sys/kernel/mm/transparent_hugepage/enabled";
		if (!strcmp(thp, "never") &&
		    pmb_knob_set(b, "/sys/kernel/mm/transparent_hugepage/enabled", "madvise"))
			return "thp: THP is off and could not be set to madvise";
		return NULL;
	case B_HUGETLB:
		return pmb_hugetlb_reserve(b, size / PM_PAGE_2M, why, sizeof(why)) ? why : NULL;
	default:
		return NULL;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_of(const double *v, int n)
{
	double *w = malloc(n * sizeof(*w)), m;

	memcpy(w, v, n * sizeof(*w));
	qsort(w, n, sizeof(*w), cmp_double);
	m = n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
	free(w);
	return m;
}

/* ---- the sweep --------------------------------------------------------------------- */

struct result {
	bool ran;
	double rate, ns_page, retouch_ns, net_ns, faults_per_page;
};

/*
 * Record configuration r from its samples after the warm-up: rate (the core
 * figure), ns_per_page and retouch_ns_per_page, with the counters and its row.
 */
static void record_cfg(struct pmb *b, struct cfgrun *r, int warmup, struct pmb_table *tab,
		       struct result *res)
{
	struct pmb_spec rate_spec = { .metric = "rate", .unit = "pages/s", .cv_max = 0.03 };
	struct pmb_spec ns_spec = { .metric = "ns_per_page", .unit = "ns", .cv_max = 0.03,
		.ref = PMB_REF_FAULT_4K,
		.ref_ratio = "guest first touch per 4K page, per vCPU / host anon 4K first-touch fault" };
	struct pmb_spec re_spec = { .metric = "retouch_ns_per_page", .unit = "ns", .cv_max = 0.10,
		.ref = PMB_REF_FAULT_4K,
		.ref_ratio = "guest second write to an already-touched 4K page, per vCPU (the guest loop without the fault) / host anon 4K first-touch fault" };
	struct cfg *c = &r->c;
	int n = r->n - warmup;
	double *rate = r->rate + warmup, *re = r->retouch_ns + warmup;
	double *ns = calloc(n, sizeof(double)), *net = calloc(n, sizeof(double)), hfpp;
	struct pmb_stats st, ss;
	char vc[16], size[32];
	json_t *m, *rate_m, *ctr;

	snprintf(vc, sizeof(vc), "%d", c->vcpus);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)c->size);
	/* Headline: private memory (guest_memfd), 4K guest pages, one vCPU per CPU. */
	rate_spec.core = c->k == B_GMEM && c->gpage == PM_PAGE_4K && c->vcpus == pmb_nr_cpus();
	for (int i = 0; i < n; i++) {
		/* Per vCPU: the time a vCPU spends per page of its own part. */
		ns[i] = 1e9 * c->vcpus / rate[i];
		/* The same sample's passes, so the difference cancels what they share. */
		net[i] = ns[i] - re[i];
	}
#define CFG_PARAMS pmb_params("backing", backing_name[c->k], "guest_page", gpage_name(c->gpage), \
			      "vcpus", vc, "bytes", size, NULL)
	rate_m = m = pmb_record(b, &rate_spec, CFG_PARAMS, rate, n, &st);
	if (m) {
		json_object_set_new(m, "warmup", json_integer(warmup));
		attach_inverse_ref(b, m, PMB_REF_FAULT_4K,
				   "guest first-touch pages/s (all vCPUs) / host anon 4K first-touch faults/s on one thread");
	}
	m = pmb_record(b, &ns_spec, CFG_PARAMS, ns, n, &ss);
	res->ns_page = ss.median;
	res->net_ns = median_of(net, n);
	if (m) {
		json_object_set_new(m, "warmup", json_integer(warmup));
		json_object_set_new(m, "setup_ms_median", json_real(median_of(r->setup_ms + warmup, n)));
		/* May be <= 0 (noise, or no fault at all): a field, not a metric pmb would refuse. */
		json_object_set_new(m, "net_fault_ns_per_page_median", json_real(res->net_ns));
	}
	m = pmb_record(b, &re_spec, CFG_PARAMS, re, n, &ss);
	if (m)
		json_object_set_new(m, "warmup", json_integer(warmup));
	res->retouch_ns = ss.median;
#undef CFG_PARAMS

	/* Counters over every sample of the configuration (warm-up included). */
	ctr = json_object();
	hfpp = (double)r->host_faults / (r->pages ? r->pages : 1);
	json_object_set_new(ctr, "samples", json_integer(r->n));
	json_object_set_new(ctr, "pages_touched", json_integer(r->pages));
	json_object_set_new(ctr, "host_faults", json_integer(r->host_faults));
	json_object_set_new(ctr, "host_faults_per_page", json_real(hfpp));
	json_object_set_new(ctr, "pgfault_system", json_integer(r->pgfault));
	if (c->k == B_THP) {
		json_object_set_new(ctr, "thp_fault_alloc", json_integer(r->thp_alloc));
		json_object_set_new(ctr, "thp_fault_fallback", json_integer(r->thp_fallback));
	}
	json_object_set_new(ctr, "kvm_pages_4k", json_integer(r->pages_4k));
	json_object_set_new(ctr, "kvm_pages_2m", json_integer(r->pages_2m));
	json_object_set_new(ctr, "kvm_exits", json_integer(r->exits));
	json_object_set_new(ctr, "kvm_exits_per_page", json_real((double)r->exits / (r->pages ? r->pages : 1)));
	json_object_set_new(ctr, "kvm_pf_fixed", json_integer(r->pf_fixed));
	json_object_set_new(ctr, "kvm_pf_taken", json_integer(r->pf_taken));
	/* guest_memfd may be populated by KVM directly, without any host mm fault. */
	if (c->k != B_GMEM)
		pmb_counter_require(b, ctr, "host_faults", "no host page fault counted in this process while the guest touched fresh memory");
	if (c->k == B_THP)
		pmb_counter_require(b, ctr, "thp_fault_alloc",
			     "no THP was allocated for the MADV_HUGEPAGE memory (fragmented memory or THP off)");
	{
		const char *why = r->kvm_stats ? "KVM binary stat reads 0 after the guest faulted memory in (this KVM backend does not maintain it)"
					       : "no KVM binary stats fd";

		/* The secondary MMU maps the slot at 4K or 2M: one of them must be non-zero. */
		if (!r->pages_4k && !r->pages_2m) {
			pmb_counter_require(b, ctr, "kvm_pages_4k", why);
			pmb_counter_require(b, ctr, "kvm_pages_2m", why);
		}
		pmb_counter_require(b, ctr, "kvm_pf_fixed", why);
		pmb_counter_require(b, ctr, "kvm_pf_taken", why);
		pmb_counter_require(b, ctr, "kvm_exits", why);
	}
	if (rate_m)
		json_object_set_new(rate_m, "counters", ctr);
	else
		json_decref(ctr);
	res->ran = true;
	res->rate = st.median;
	res->faults_per_page = hfpp;
	pmb_row(tab, "%s,%s,%d,%llu,%.6g,%.6g,%.6g,%.6g,%.4g,%.4g", backing_name[c->k], gpage_name(c->gpage),
		c->vcpus, (unsigned long long)(c->size / PM_PAGE_4K), st.median, res->ns_page,
		res->retouch_ns, res->net_ns, hfpp, median_of(r->setup_ms + warmup, n));
	free(ns);
	free(net);
}

/*
 * Record the paired samples of configuration r (guest_paired): the guest first
 * touch over the host first touch (core for guest_memfd) and over the guest's
 * own write to the same, then mapped, pages; one row of the paired table.
 */
static void record_paired(struct pmb *b, struct cfgrun *r, int warmup, struct pmb_table *tab)
{
	struct pmb_spec hs = { .metric = "guest_fault_over_host_fault", .unit = "ratio", .cv_max = 0.03,
		/* Its reference is the paired host touch itself, measured in the same instant. */
		.ref = PMB_REF_NONE };
	struct pmb_spec ws = { .metric = "guest_fault_over_guest_write", .unit = "ratio", .cv_max = 0.03 };
	struct cfg *c = &r->c;
	int n = r->n - warmup;
	struct pmb_stats oh, ow, hn;
	char vc[16], size[32], ch[16];
	json_t *m;

	snprintf(vc, sizeof(vc), "%d", c->vcpus);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)c->size);
	snprintf(ch, sizeof(ch), "%d", PAIR_CHUNK);
	hs.core = c->k == B_GMEM && c->gpage == PM_PAGE_4K && c->vcpus == pmb_nr_cpus();
	ws.core = hs.core;
	pmb_stats_of(r->host_ns + warmup, n, &hn);
#define PAIRED_PARAMS pmb_params("backing", backing_name[c->k], "guest_page", gpage_name(c->gpage), \
				 "vcpus", vc, "bytes", size, "chunk_pages", ch, NULL)
	m = pmb_record(b, &hs, PAIRED_PARAMS, r->over_host + warmup, n, &oh);
	if (m) {
		json_object_set_new(m, "warmup", json_integer(warmup));
		json_object_set_new(m, "what", json_string(
			"what a guest first touch costs relative to a host first touch on the same CPU at the same moment: "
			"each vCPU first-touches its part in chunks of chunk_pages 4K pages (one 8-byte write per page, "
			"a sync exit after each chunk); at each sync its thread, on the same CPU, first-touches as many "
			"pages of its own fresh anonymous MADV_NOHUGEPAGE memory; per chunk guest time / host time "
			"(ns per page / ns per page, the guest's including its sync exit), per sample the median over "
			"every chunk of every vCPU. The pairing within about a millisecond is meant to cancel this "
			"machine's drift of its absolute speed, which the rate metric carries; here the guest's speed "
			"drifts partly on its own (see guest_fault_over_guest_write)"));
		json_object_set_new(m, "paired_with", json_pack("{s:s, s:s, s:o}", "what",
			"host anonymous 4K first touch by the vCPU's thread between the guest's chunks",
			"unit", "ns per page", "stats", pmb_stats_json(&hn)));
	}
	m = pmb_record(b, &ws, PAIRED_PARAMS, r->over_write + warmup, n, &ow);
	if (m) {
		json_object_set_new(m, "warmup", json_integer(warmup));
		json_object_set_new(m, "what", json_string(
			"what a guest first touch costs relative to the guest's own write to an already-mapped page on the "
			"same vCPU at the same moment: the same paired samples, per chunk the guest's first touch / its "
			"second write to the same chunk right after the host's chunk (the guest loop and the sync exit "
			"without the fault), per sample the median over chunks; 1 would mean the first touch costs nothing "
			"beyond the guest loop. It cancels the drift of the guest's own speed, which the host touch does "
			"not share"));
	}
#undef PAIRED_PARAMS
	pmb_row(tab, "%s,%d,%.4f,%.4f,%.6g", backing_name[c->k], c->vcpus, oh.median, ow.median, hn.median);
}

/*
 * Harness overhead: paired samples of the library runner and the bare loop
 * on anonymous 4K memory, alternating which goes first.
 */
static bool measure_overhead(struct pmb *b, uint64_t size, int vcpus, int reps, int warmup,
			     struct pmb_table *tab, double *overhead)
{
	struct cfg c = { .b = b, .k = B_ANON, .gpage = PM_PAGE_4K, .vcpus = vcpus, .size = size,
			 .guest = guest_one_pass };
	double *ratio = calloc(reps, sizeof(double)), *raw_rate = calloc(reps, sizeof(double));
	double *lib_rate = calloc(reps, sizeof(double)), pages = (double)size / PM_PAGE_4K;
	struct pmb_stats rs, ls, qs;
	char vc[16], sz[32];
	json_t *m;
	int n = 0;

	snprintf(vc, sizeof(vc), "%d", vcpus);
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	for (int i = -warmup; i < reps; i++) {
		bool raw_first = i & 1;
		double t_lib, t_raw;

		t_lib = raw_first ? 0 : one_pass_ns(&c, false, TAG + 7);
		t_raw = one_pass_ns(&c, true, TAG + 9);
		if (raw_first)
			t_lib = one_pass_ns(&c, false, TAG + 7);
		if (t_lib <= 0 || t_raw <= 0)
			break;
		if (i < 0)
			continue;
		ratio[n] = t_lib / t_raw;
		raw_rate[n] = pages / (t_raw / 1e9);
		lib_rate[n] = pages / (t_lib / 1e9);
		n++;
	}
	if (n < reps) {
		free(ratio);
		free(raw_rate);
		free(lib_rate);
		return false;
	}
	{
		struct pmb_spec s = { .metric = "raw_rate", .unit = "pages/s", .cv_max = 0.03 };

		m = pmb_record(b, &s, pmb_params("backing", "anon", "guest_page", "4K", "vcpus", vc,
						 "bytes", sz, "runner", "raw KVM_RUN loop", NULL),
			       raw_rate, n, &rs);
		if (m)
			attach_inverse_ref(b, m, PMB_REF_FAULT_4K,
					   "raw-loop first-touch pages/s / host anon 4K first-touch faults/s on one thread");
	}
	{
		struct pmb_spec s = { .metric = "lib_rate_one_pass", .unit = "pages/s", .cv_max = 0.03 };

		pmb_record(b, &s, pmb_params("backing", "anon", "guest_page", "4K", "vcpus", vc,
					     "bytes", sz, "runner", "pmb_run_vcpus", NULL), lib_rate, n, &ls);
	}
	{
		struct pmb_spec s = { .metric = "harness_time_ratio", .unit = "x", .cv_max = 0.03 };

		m = pmb_record(b, &s, pmb_params("backing", "anon", "guest_page", "4K", "vcpus", vc,
						 "bytes", sz, NULL), ratio, n, &qs);
		if (m) {
			attach_local_ref(m, "raw_kvm_run_loop", "ns", 1e9 * pages / rs.median, qs.median,
					 "library-runner time / raw KVM_RUN-loop time, paired samples on the same work");
			json_object_set_new(m, "overhead", json_real(qs.median - 1));
			json_object_set_new(m, "overhead_target", json_real(0.05));
			json_object_set_new(m, "overhead_within_target", json_boolean(qs.median - 1 <= 0.05));
		}
	}
	pmb_row(tab, "%d,%llu,%.6g,%.6g,%.4f", vcpus, (unsigned long long)(size / PM_PAGE_4K), ls.median,
		rs.median, 100 * (qs.median - 1));
	free(ratio);
	free(raw_rate);
	free(lib_rate);
	*overhead = qs.median - 1;
	return true;
}

/* demand_paging_test on the work of privmem's anon/4K/vcpus configuration. */
static void measure_upstream(struct pmb *b, const char *path, uint64_t size, int vcpus, int reps,
			     int warmup, double privmem_rate, struct pmb_table **tab, double *ratio_out)
{
	double *v = calloc(reps, sizeof(double)), rate;
	struct pmb_spec s = { .metric = "upstream_rate", .unit = "pages/s", .cv_max = 0.05 };
	/* Its -b is per vCPU; whole 4K pages, as privmem splits the slot. */
	uint64_t per_vcpu = size / vcpus / PM_PAGE_4K * PM_PAGE_4K;
	struct pmb_stats st;
	char vc[16], sz[32], why[300];
	json_t *m;
	int n = 0;

	snprintf(vc, sizeof(vc), "%d", vcpus);
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)per_vcpu);
	for (int i = -warmup; i < reps; i++) {
		if (run_upstream(path, vcpus, per_vcpu, &rate, why, sizeof(why))) {
			pmb_note(b, "skipped: upstream demand_paging_test (%d vCPUs) failed here: %s", vcpus, why);
			free(v);
			return;
		}
		if (i >= 0)
			v[n++] = rate;
	}
	m = pmb_record(b, &s, pmb_params("backing", "anon", "guest_page", "4K", "vcpus", vc,
					 "bytes_per_vcpu", sz, "program", "demand_paging_test", NULL), v, n, &st);
	if (m && privmem_rate > 0) {
		attach_local_ref(m, "privmem_fault_in_rate", "pages/s", privmem_rate, st.median / privmem_rate,
				 "upstream demand_paging_test pages/s / privmem fault_in pages/s on the same work (anon, 4K guest pages, same bytes and vCPUs)");
		json_object_set_new(m, "privmem_over_upstream", json_real(privmem_rate / st.median));
		*ratio_out = privmem_rate / st.median;
		if (!*tab)
			*tab = pmb_table(b, "upstream", "vcpus,pages,upstream_rate_pps,privmem_rate_pps,privmem_over_upstream");
		pmb_row(*tab, "%d,%llu,%.6g,%.6g,%.4f", vcpus, (unsigned long long)(size / PM_PAGE_4K),
			st.median, privmem_rate, privmem_rate / st.median);
	}
	free(v);
}

int main(int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "fault_in",
				 "guest first-touch throughput and per-page cost by backing, guest page size and vCPUs");
	int nproc = pmb_nr_cpus();
	long size_mib = pmb_param_long(b, "size_mib", pmb_by_mode(b, 2, 16, 32));
	/* Paired samples: as large as the others by default (32 MiB in --quick was not steadier). */
	long paired_mib = pmb_param_long(b, "paired_size_mib", size_mib);
	const char *backings = pmb_param_str(b, "backings", "gmem,anon,shmem,thp,hugetlb");
	const char *dpt = pmb_param_str(b, "demand_paging", "");
	long ovh_reps = pmb_param_long(b, "overhead_reps", pmb_by_mode(b, 3, 7, 11));
	long up_reps = pmb_param_long(b, "upstream_reps", pmb_by_mode(b, 2, 5, 9));
	int reps = pmb_reps(b);
	int warmup = pmb_warmup(b);
	struct cfgrun *runs;
	int nr = 0;
	uint64_t size;
	const uint64_t gpages[] = { PM_PAGE_4K, PM_PAGE_2M };
	int vlist[3], nv = 0;
	struct result res[NR_BACKINGS][2][3] = { 0 };
	const char *skip[NR_BACKINGS] = { 0 };
	struct pmb_table *tab, *cost, *net, *ovh, *up = NULL, *sum, *pair_tab = NULL;
	double worst_ovh = NAN, up_ratio = -1;
	bool any = false;
	char hdr[512];

	pmb_params_done(b);
	if (size_mib < 2 || size_mib % 2 || size_mib > 4096)
		pmb_die(b, "size_mib must be an even number of MiB in [2, 4096] (2M guest pages), got %ld", size_mib);
	size = (uint64_t)size_mib << 20;
	if (paired_mib < 2 || paired_mib % 2 || paired_mib > 4096)
		pmb_die(b, "paired_size_mib must be an even number of MiB in [2, 4096], got %ld", paired_mib);
	if (pmb_kvm_unusable()) {
		fprintf(stderr, "fault_in: nothing can run: %s\n", pmb_kvm_unusable());
		return 4;
	}
	/* vCPUs: 1, nproc, 2 x nproc (--full); never more than the library's maximum. */
	vlist[nv++] = 1;
	if (nproc > 1)
		vlist[nv++] = nproc < MAX_VCPUS ? nproc : MAX_VCPUS;
	if (pmb_mode(b) == PMB_FULL && 2 * nproc <= MAX_VCPUS)
		vlist[nv++] = 2 * nproc;
	{
		json_t *vl = json_array();

		for (int i = 0; i < nv; i++)
			json_array_append_new(vl, json_integer(vlist[i]));
		pmb_config(b, "vcpus", vl);
		pmb_config(b, "bytes", json_integer(size));
		pmb_config(b, "paired_bytes", json_integer((uint64_t)paired_mib << 20));
		pmb_config(b, "kvm_module", json_string(pm_caps()->kvm_module));
	}
	for (int k = 0; k < NR_BACKINGS; k++) {
		if (!strstr(backings, backing_name[k]))
			skip[k] = "not selected (--set backings)";
		else
			/* hugetlb: enough 2M pages for the larger of the two sample sizes. */
			skip[k] = backing_unusable(b, k, size > ((uint64_t)paired_mib << 20) ? size : (uint64_t)paired_mib << 20);
		if (skip[k] && strstr(backings, backing_name[k]))
			pmb_note(b, "skipped: %s", skip[k]);
	}
	{
		json_t *w = json_object();

		for (int k = 0; k < NR_BACKINGS; k++)
			json_object_set_new(w, backing_name[k], json_string(backing_what[k]));
		pmb_config(b, "backing_is", w);
	}
	pmb_note(b, "pages are 4K pages: the guest writes 8 bytes to every 4K page once; with 2M guest pages only the guest page tables change");
	pmb_note(b, "timed: vCPU threads start to the slowest vCPU's end of its first pass; VM, vCPU and memslot creation are not timed (setup_ms_median, per sample)");
	pmb_note(b, "paired samples (4K guest pages, one vCPU per CPU, one configuration per backing, in the same rounds): the first touch in chunks of %d pages; after each chunk the vCPU's thread first-touches as many host anon 4K pages, then the guest rewrites the chunk; guest_fault_over_host_fault and guest_fault_over_guest_write are per-chunk ratios, median over the sample's chunks. They cancel this machine's drift of absolute speed, which rate carries", PAIR_CHUNK);
	pmb_note(b, "ns_per_page is per vCPU (time a vCPU spends per page of its own part: 1e9 * vcpus / rate); with more vCPUs than CPUs it includes time-sharing");

	tab = pmb_table(b, "configs",
			"backing,guest_page,vcpus,pages,rate_pps,ns_per_page,retouch_ns_per_page,net_fault_ns_per_page,host_faults_per_page,setup_ms");
	runs = calloc(2 * NR_BACKINGS * 3 + NR_BACKINGS, sizeof(*runs));
	for (int g = 0; g < 2; g++) {
		for (int k = 0; k < NR_BACKINGS; k++) {
			if (skip[k])
				continue;
			for (int i = 0; i < nv; i++) {
				struct cfgrun *r = &runs[nr++];

				r->c = (struct cfg){ .b = b, .k = k, .gpage = gpages[g], .vcpus = vlist[i],
						     .size = size, .guest = guest_two_pass };
				r->rate = calloc(warmup + reps, sizeof(double));
				r->retouch_ns = calloc(warmup + reps, sizeof(double));
				r->setup_ms = calloc(warmup + reps, sizeof(double));
				if (!r->rate || !r->retouch_ns || !r->setup_ms)
					pmb_die(b, "out of memory");
			}
		}
	}
	/* Paired samples: 4K guest pages, one vCPU per CPU (the core configuration's shape). */
	for (int k = 0; k < NR_BACKINGS; k++) {
		struct cfgrun *r = &runs[nr++];

		if (skip[k]) {
			nr--;
			continue;
		}
		r->c = (struct cfg){ .b = b, .k = k, .gpage = PM_PAGE_4K, .vcpus = vlist[nv > 1],
				     .size = (uint64_t)paired_mib << 20, .guest = guest_paired };
		r->over_host = calloc(warmup + reps, sizeof(double));
		r->over_write = calloc(warmup + reps, sizeof(double));
		r->host_ns = calloc(warmup + reps, sizeof(double));
		if (!r->over_host || !r->over_write || !r->host_ns)
			pmb_die(b, "out of memory");
	}
	/*
	 * Round-robin over the configurations, in alternating order, rather than
	 * one configuration's repetitions back to back: when the machine's load
	 * drifts, every configuration samples the whole run instead of one
	 * stretch of it, so configurations stay comparable and runs repeatable.
	 */
	for (int round = 0; round < warmup + reps; round++) {
		pmb_progress(b, "round %d/%d (%s): %d configurations, %llu MiB each", round + 1, warmup + reps,
			     round < warmup ? "warm-up" : "measured", nr, (unsigned long long)(size >> 20));
		for (int j = 0; j < nr; j++) {
			struct cfgrun *r = &runs[round % 2 ? nr - 1 - j : j];
			char why[200];

			if (r->failed)
				continue;
			/* Reserved at start; re-checked in case something released them since. */
			if (r->c.k == B_HUGETLB && pmb_hugetlb_reserve(b, r->c.size / PM_PAGE_2M, why, sizeof(why))) {
				pmb_error(b, "%s (during the run)", why);
				r->failed = true;
				continue;
			}
			if ((r->c.guest == guest_paired ? sample_paired(r) : sample_two_pass(r)) < 0)
				r->failed = true;
		}
	}
	for (int j = 0; j < nr; j++) {
		struct cfgrun *r = &runs[j];
		int g = r->c.gpage == PM_PAGE_2M, i = 0;

		while (vlist[i] != r->c.vcpus)
			i++;
		if (!r->failed && r->c.guest == guest_paired) {
			if (!pair_tab)
				pair_tab = pmb_table(b, "paired",
						     "backing,vcpus,guest_fault_over_host_fault,guest_fault_over_guest_write,host_fault_ns_per_page");
			record_paired(b, r, warmup, pair_tab);
		} else if (!r->failed) {
			record_cfg(b, r, warmup, tab, &res[r->c.k][g][i]);
			any = true;
		}
		free(r->rate);
		free(r->retouch_ns);
		free(r->setup_ms);
		free(r->over_host);
		free(r->over_write);
		free(r->host_ns);
	}
	free(runs);
	/* Is a guest first touch one host fault? The process fault counter answers it. */
	{
		char line[400];
		size_t off = snprintf(line, sizeof(line),
				      "measured: host page faults of this process per first-touched 4K page (4K guest pages, 1 vCPU):");

		for (int k = 0; k < NR_BACKINGS; k++)
			if (res[k][0][0].ran)
				off += snprintf(line + off, sizeof(line) - off, " %s %.3f", backing_name[k],
						res[k][0][0].faults_per_page);
		pmb_note(b, "%s", line);
	}
	if (!any) {
		fprintf(stderr, "fault_in: nothing could run (no backing usable or every sample failed)\n");
		return pmb_finish(b) ? 1 : 4;
	}

	/* Wide tables for the plot: one row per backing, one column per (guest page, vCPUs). */
	{
		size_t off = snprintf(hdr, sizeof(hdr), "backing");

		for (int g = 0; g < 2; g++)
			for (int i = 0; i < nv; i++)
				off += snprintf(hdr + off, sizeof(hdr) - off, ",%s guest pages / %d vCPU%s",
						gpage_name(gpages[g]), vlist[i], vlist[i] > 1 ? "s" : "");
		cost = pmb_table(b, "cost", hdr);
		net = pmb_table(b, "net", hdr);
		for (int k = 0; k < NR_BACKINGS; k++) {
			char row[512], nrow[512];
			size_t noff;

			if (skip[k])
				continue;
			off = snprintf(row, sizeof(row), "%s", backing_name[k]);
			noff = snprintf(nrow, sizeof(nrow), "%s", backing_name[k]);
			for (int g = 0; g < 2; g++) {
				for (int i = 0; i < nv; i++) {
					const struct result *x = &res[k][g][i];

					off += x->ran ? snprintf(row + off, sizeof(row) - off, ",%.6g", x->ns_page) :
							snprintf(row + off, sizeof(row) - off, ",NaN");
					noff += x->ran ? snprintf(nrow + noff, sizeof(nrow) - noff, ",%.6g",
								  x->net_ns) :
							 snprintf(nrow + noff, sizeof(nrow) - noff, ",NaN");
				}
			}
			pmb_row(cost, "%s", row);
			pmb_row(net, "%s", nrow);
		}
	}

	/* Harness overhead against the bare KVM_RUN loop, on the anon/4K work. */
	if (skip[B_ANON])
		pmb_note(b, "skipped: harness overhead: the anon configuration did not run");
	else
		pmb_note(b, "raw mode: VM, memslot, page tables and vCPUs come from the VM library (not timed); only the run differs: bare ioctl(KVM_RUN) until the report port exit, no run timer, no report parsing, same one-pass guest");
	ovh = skip[B_ANON] ? NULL : pmb_table(b, "overhead", "vcpus,pages,library_rate_pps,raw_rate_pps,overhead_pct");
	for (int i = 0; ovh && i < nv; i++) {
		double o;

		pmb_progress(b, "harness overhead: library runner vs raw KVM_RUN loop, %d vCPU%s", vlist[i],
			     vlist[i] > 1 ? "s" : "");
		if (measure_overhead(b, size, vlist[i], (int)ovh_reps, 1, ovh, &o) &&
		    (isnan(worst_ovh) || o > worst_ovh))
			worst_ovh = o;
	}

	/* Upstream demand_paging_test on anon/4K work. */
	if (!dpt || !dpt[0]) {
		pmb_note(b, "skipped: upstream demand_paging_test: no --set demand_paging=PATH (build it with scripts/upstream-demand-paging.sh)");
	} else if (access(dpt, X_OK)) {
		pmb_note(b, "skipped: upstream demand_paging_test: %s: %s", dpt, strerror(errno));
	} else if (skip[B_ANON]) {
		pmb_note(b, "skipped: upstream demand_paging_test: the anon configuration did not run");
	} else {
		char info[600], line[300];
		FILE *f;

		snprintf(info, sizeof(info), "%s.info", dpt);
		f = fopen(info, "re");
		while (f && fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			if (!strncmp(line, "build_seconds=", 14))
				pmb_config(b, "upstream_build_seconds", json_integer(atol(line + 14)));
			if (!strncmp(line, "source=", 7))
				pmb_config(b, "upstream_source", json_string(line + 7));
		}
		if (f)
			fclose(f);
		pmb_on_cleanup(kill_upstream);
		pmb_note(b, "upstream demand_paging_test: -v N -b bytes/N -s anonymous -c <vCPU i on CPU i %% nproc>; its guest loop also draws a random number per page (write_percent), its timer starts before its vCPU threads are created");
		for (int i = 0; i < nv; i++) {
			double r = -1;

			if (!res[B_ANON][0][i].ran)
				continue;
			pmb_progress(b, "upstream demand_paging_test, %d vCPU%s", vlist[i], vlist[i] > 1 ? "s" : "");
			measure_upstream(b, dpt, size, vlist[i], (int)up_reps, 1, res[B_ANON][0][i].rate, &up, &r);
			if (i == 0)
				up_ratio = r;
		}
	}
	{
		const struct pmb_stats *f4k = pmb_ref(b, PMB_REF_FAULT_4K);
		char o[32] = "NaN", u[32] = "NaN";

		/* NaN: not measured (the plot leaves it out of its title). */
		if (!isnan(worst_ovh))
			snprintf(o, sizeof(o), "%.4f", 100 * worst_ovh);
		if (up_ratio > 0)
			snprintf(u, sizeof(u), "%.4f", up_ratio);
		sum = pmb_table(b, "summary", "fault_anon_4k_ns,worst_overhead_pct,privmem_over_upstream_1vcpu,vcpu_counts");
		pmb_row(sum, "%.6g,%s,%s,%d", f4k->median, o, u, nv);
	}
	return pmb_finish(b);
}
