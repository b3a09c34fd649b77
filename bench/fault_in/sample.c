// SPDX-License-Identifier: GPL-2.0
/*
 * fault_in samples: the guest code, a fresh VM per sample, the measured
 * (two-pass) and the paired samples (fault_in.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "fault_in.h"

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

/*
 * --set guest_loop=memstress: the per-page guest work of upstream's
 * demand_paging_test (its guest loop is memstress_guest_code() in
 * tools/testing/selftests/kvm/lib/memstress.c), written here so that its figure
 * and privmem's can be read on the same work. Per 4K page: three reads of a
 * shared argument block (the random-access flag, the page size, the write
 * percentage), a call that steps a Park-Miller (MINSTD) generator whose state
 * lives on the stack, the draw modulo 100 against the write percentage (100:
 * always a write), the write. Built by gcc 12 -O2 that is 35 guest instructions
 * and 8 memory accesses per page, as demand_paging_test's, against touch_pages'
 * 6 and 1: a few nanoseconds either way on hardware KVM, but on a backend that
 * emulates every guest instruction (kvm_pvm, ~0.9 us each) the loop sets the
 * rate. Global, not static: GCC folds a never-written static into constants,
 * and the guest must read it from memory as demand_paging_test's does.
 */
struct fi_ms_args {
	uint64_t page_size;
	uint8_t write_percent;
	uint8_t random_access;
};
struct fi_ms_args fi_ms_args = { .page_size = PM_PAGE_4K, .write_percent = 100 };

static PM_GUEST __attribute__((noinline)) uint32_t ms_random(uint32_t *state)
{
	*state = (uint32_t)((uint64_t)*state * 48271 % 0x7fffffffu);
	return *state;
}

static PM_GUEST void touch_pages_ms(uint64_t start, uint64_t pages, uint64_t tag)
{
	uint32_t state = (uint32_t)tag | 1;

	for (uint64_t i = 0; i < pages; i++) {
		uint64_t page = fi_ms_args.random_access ? ms_random(&state) % pages : i;
		uint64_t addr = start + page * fi_ms_args.page_size;

		if (ms_random(&state) % 100 < fi_ms_args.write_percent)
			pm_guest_write64((void *)addr, tag);
		else
			(void)pm_guest_read64((void *)addr);
	}
}

/* guest_two_pass with demand_paging_test's per-page work. */
static PM_GUEST void guest_two_pass_ms(uint64_t start, uint64_t pages, uint64_t tag)
{
	touch_pages_ms(start, pages, tag);
	GUEST_SYNC(1);
	touch_pages_ms(start, pages, tag + 1);
}

PM_GUEST_CODE_END

static void (*const guest_fn[])(uint64_t, uint64_t, uint64_t) = {
	[FI_TWO_PASS] = guest_two_pass, [FI_PAIRED] = guest_paired, [FI_ONE_PASS] = guest_one_pass,
	[FI_TWO_PASS_MS] = guest_two_pass_ms,
};

/* ---- a VM per sample ----------------------------------------------------------------- */

void teardown(struct setup *s)
{
	pm_vm_free(s->vm);	/* slots first, then the memory behind them */
	s->vm = NULL;
	pmb_mem_close(&s->mem);
	for (int v = 0; v < MAX_VCPUS; v++) {
		if (s->host[v])
			munmap(s->host[v], s->pages[v] * PM_PAGE_4K);
		s->host[v] = NULL;
	}
}

int setup(const struct cfg *c, struct setup *s, uint32_t tag)
{
	uint64_t total = c->size / PM_PAGE_4K;

	memset(s, 0, sizeof(*s));
	s->mem.fd = -1;
	s->vm = pm_vm_create_mapped(0, c->image_page ? c->image_page : PM_PAGE_2M);
	if (!s->vm) {
		snprintf(s->err, sizeof(s->err), "creating the VM: %s", strerror(errno));
		return -1;
	}
	s->vm->timeout_ms = SYNC_WAIT_S * 1000;
	if (pmb_mem_open(&s->mem, c->k, s->vm, c->size, s->err, sizeof(s->err)))
		goto fail;
	if (pm_vm_add_memory(s->vm, SLOT, TEST_GPA, c->size, s->mem.p,
			     c->k == PMB_GMEM ? s->mem.fd : -1, 0, c->gpage)) {
		snprintf(s->err, sizeof(s->err), "adding the %s memslot: %s", pmb_backing_name(c->k), strerror(errno));
		goto fail;
	}
	for (int v = 0; v < c->vcpus; v++) {
		/* Parts as equal as 4K pages allow; vCPU v's part follows v-1's. */
		s->first_page[v] = total * v / c->vcpus;
		s->pages[v] = total * (v + 1) / c->vcpus - s->first_page[v];
		s->vcpu[v] = pm_vcpu_add(s->vm, guest_fn[c->guest], TEST_GPA + s->first_page[v] * PM_PAGE_4K,
					 s->pages[v], tag);
		if (!s->vcpu[v]) {
			snprintf(s->err, sizeof(s->err), "adding vCPU %d: %s", v, strerror(errno));
			goto fail;
		}
		if (c->guest != FI_PAIRED)
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
int check_written(const struct cfg *c, struct setup *s, uint64_t want, char *err, size_t len)
{
	for (int v = 0; v < c->vcpus; v++) {
		uint64_t ends[2] = { s->first_page[v], s->first_page[v] + s->pages[v] - 1 };

		for (int i = 0; i < 2; i++) {
			uint64_t got = pm_guest_read64((char *)s->mem.p + ends[i] * PM_PAGE_4K);

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
double sample_two_pass(struct cfgrun *r)
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
		pmb_error(c->b, "%s: %s", pmb_backing_name(c->k), s.err);
		return -1;
	}
	t_setup = pmb_now_ns() - t_setup;
	pmb_snap(&s0);
	f0 = pmb_process_faults();
	t0 = pmb_now_ns();
	if (pmb_run_vcpus(s.vcpu, c->vcpus, true, on_sync, &bar, err, sizeof(err))) {
		pmb_error(c->b, "%s: %s", pmb_backing_name(c->k), err);
		teardown(&s);
		return -1;
	}
	t1 = pmb_now_ns();
	f1 = pmb_process_faults();
	pmb_snap(&s1);
	if (check_written(c, &s, tag + 1, err, sizeof(err))) {
		pmb_error(c->b, "%s: the guest's writes are not in the memory: %s", pmb_backing_name(c->k), err);
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
 * One paired sample of configuration r (FI_PAIRED). Per chunk (PAIR_CHUNK
 * pages of one vCPU) the guest's first touch over the host's first touch right
 * after it, and over the guest's second write right after that; the sample is
 * the median over every chunk of every vCPU, so a chunk that an exit or the
 * outer hypervisor happened to stretch does not move it. The guest's times
 * include the sync exit ending the chunk; the host's does not.
 */
double sample_paired(struct cfgrun *r)
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
		pmb_error(c->b, "%s (paired): %s", pmb_backing_name(c->k), s.err);
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
	r->over_host[r->n] = pmb_median(oh, nc);
	r->over_write[r->n] = pmb_median(ow, nc);
	r->host_ns[r->n] = (double)hsum / (c->size / PM_PAGE_4K);
	r->n++;
	free(oh);
	free(ow);
	paired_free(&p);
	teardown(&s);
	return r->over_host[r->n - 1];
fail:
	pmb_error(c->b, "%s (paired): %s", pmb_backing_name(c->k), err);
	free(oh);
	free(ow);
	paired_free(&p);
	teardown(&s);
	return -1;
}

