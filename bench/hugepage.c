// SPDX-License-Identifier: GPL-2.0
/*
 * hugepage: how much 2M backing survives churn.
 *
 * Memory that starts fully backed and mapped with 2M pages (anonymous THP,
 * shmem/memfd THP, hugetlb, guest_memfd as far as the kernel allows) is
 * churned: a growing, cumulative set of distinct random 4K pages (one fixed
 * permutation per run, --set seed=N) is punched (MADV_DONTNEED for anonymous
 * memory, fallocate(PUNCH_HOLE) for files) and then re-faulted by a write.
 * After each step, retention = the share of the memory's 2M-aligned regions
 * still backed by one 2M folio, read per mapping (not from the global meminfo
 * counters, which other processes move too):
 *   backed: /proc/self/pagemap gives the PFNs of the region's 512 pages; they
 *           must be contiguous from a 2M-aligned PFN that /proc/kpageflags marks
 *           compound head, with the other 511 marked tails (one order-9 folio);
 *   mapped: the smaps 2M-mapped fields of the mapping (AnonHugePages,
 *           ShmemPmdMapped, FilePmdMapped, *_Hugetlb).
 * The model column is what retention would be if any 4K punch cost its 2M
 * region for good: the share of regions the permutation has not hit yet.
 *
 * The sizing answer (results.sizing, and a note per backing): the churn fraction
 * at which backed retention falls below 90% and 50%, interpolated on the median
 * curve (log-linear between points); "not reached" when it never does.
 *
 * A sample is one whole curve on freshly populated memory. Metrics per backing:
 * churn_refault (ns per punched + re-faulted 4K page over the curve, against
 * the same-run anonymous 4K fault) and, where every repetition crossed,
 * below_90pct_at / below_50pct_at (against the model's crossing). A guest phase
 * maps each backing into a VM with 2M guest page tables and reads KVM's
 * pages_4k/pages_2m after the guest wrote every page, before and after churn.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/kernel-page-flags.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "caps.h"
#include "pmb.h"
#include "pmb_vm.h"

#define PAGE		4096UL
#define HPAGE		(2UL << 20)
#define PER_HPAGE	(HPAGE / PAGE)

/* <linux/memfd.h> clashes with glibc's <sys/mman.h>: the 2M hugetlb size encoding (log2 << 26). */
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB	(21U << 26)
#endif

#define THP_DIR		"/sys/kernel/mm/transparent_hugepage"
#define GUEST_SLOT	PM_SLOT_FIRST_FREE
#define GUEST_CHURN	0.10	/* host churn between the guest's two touches */

enum backing { B_ANON, B_SHMEM, B_HUGETLB, B_GMEM, NR_BACKINGS };

static const char *const backing_name[NR_BACKINGS] = {
	[B_ANON] = "anon_thp", [B_SHMEM] = "shmem_thp", [B_HUGETLB] = "hugetlb",
	[B_GMEM] = "guest_memfd",
};

/*
 * Churn steps as fractions of the memory's 4K pages. 1/512 is one 4K page per
 * 2M region on average; the finer steps below it resolve the anonymous/shmem
 * curves, which fall below 90% well before that.
 */
static const double step_fraction[] = {
	0, 1.0 / 16384, 1.0 / 8192, 1.0 / 4096, 1.0 / 2048, 1.0 / 1024, 1.0 / 512, 1.0 / 256,
	0.01, 0.05, 0.10, 0.25, 0.50, 1.0,
};
#define MAX_STEPS (sizeof(step_fraction) / sizeof(step_fraction[0]))

/* One curve: retention and cost after each step. */
struct curve {
	double backed[MAX_STEPS], mapped[MAX_STEPS];	/* fractions 0..1; backed < 0: unknown */
	double step_ns[MAX_STEPS];			/* ns per page of that step */
};

struct region {
	enum backing kind;
	char *p;		/* 2M-aligned mapping */
	size_t size;
	int fd;			/* memfd / guest_memfd, -1 for anonymous memory */
};

struct ctx {
	struct pmb *b;
	size_t size, npages, nregions;
	size_t guest_size;
	uint64_t seed;
	uint32_t *perm;		/* the churn order: a permutation of the page indexes */
	size_t nsteps;
	size_t k[MAX_STEPS];	/* pages churned after each step (cumulative) */
	double model[MAX_STEPS];
	int pagemap_fd, kpageflags_fd;
	bool backed_known;	/* PFNs and page flags readable */
	struct pm_vm *vm;	/* owner of the curves' guest_memfds */
	uint64_t gmem_flags;
	char gmem_madvise[96];
	/* per backing, filled by curve_sample */
	enum backing kind;
	struct curve *curves;
	int ncurves, cap;
	bool failed;
	char why[256];
};

/* ---- randomness: a fixed-seed permutation -------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: enough to spread punches uniformly, reproducible per seed. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static uint32_t *permutation(size_t n, uint64_t seed)
{
	uint32_t *p = malloc(n * sizeof(*p));
	uint64_t s = seed ? seed : 1;

	if (!p)
		return NULL;
	for (size_t i = 0; i < n; i++)
		p[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rng_next(&s) % (i + 1);
		uint32_t t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

/* ---- the backings -------------------------------------------------------------- */

/* A mapping at a 2M-aligned address, so 2M folios can be mapped with PMDs. */
static char *map_aligned(size_t size, int flags, int fd)
{
	size_t span = size + HPAGE;
	char *r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a, *p;

	if (r == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)r + HPAGE - 1) & ~(HPAGE - 1));
	p = mmap(a, size, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		munmap(r, span);
		return NULL;
	}
	if (a > r)
		munmap(r, a - r);
	if (r + span > a + size)
		munmap(a + size, r + span - (a + size));
	return p;
}

static void region_close(struct region *r)
{
	if (r->p)
		munmap(r->p, r->size);
	if (r->fd >= 0)
		close(r->fd);
	r->p = NULL;
	r->fd = -1;
}

/* Map size bytes of the backing (not populated yet; guest_memfd from vm); 0, or -1 with why. */
static int region_open(struct ctx *c, struct pm_vm *vm, enum backing kind, size_t size,
		       struct region *r, char *why, size_t len)
{
	int flags = MAP_SHARED;

	*r = (struct region){ .kind = kind, .size = size, .fd = -1 };
	switch (kind) {
	case B_ANON:
		flags = MAP_PRIVATE | MAP_ANONYMOUS;
		break;
	case B_SHMEM:
		r->fd = memfd_create("privmem-hugepage-shmem", MFD_CLOEXEC);
		break;
	case B_HUGETLB:
		r->fd = memfd_create("privmem-hugepage-hugetlb", MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB);
		break;
	case B_GMEM:
		r->fd = pm_gmem_create(vm, size, c->gmem_flags);
		break;
	default:
		break;
	}
	if (kind != B_ANON && r->fd < 0) {
		snprintf(why, len, "creating the %s file failed: %s", backing_name[kind], strerror(errno));
		return -1;
	}
	if ((kind == B_SHMEM || kind == B_HUGETLB) && ftruncate(r->fd, size)) {
		snprintf(why, len, "ftruncate(%zu) of the %s memfd failed: %s", size,
			 backing_name[kind], strerror(errno));
		region_close(r);
		return -1;
	}
	r->p = map_aligned(size, flags, r->fd);
	if (!r->p) {
		snprintf(why, len, "mmap of %zu bytes of %s failed: %s", size, backing_name[kind],
			 strerror(errno));
		region_close(r);
		return -1;
	}
	/* Asks for THP where the policy is "madvise"/"advise"; hugetlb is huge anyway. */
	if (kind == B_ANON || kind == B_SHMEM) {
		if (madvise(r->p, size, MADV_HUGEPAGE)) {
			snprintf(why, len, "madvise(MADV_HUGEPAGE) on %s failed: %s", backing_name[kind],
				 strerror(errno));
			region_close(r);
			return -1;
		}
	} else if (kind == B_GMEM && !c->gmem_madvise[0]) {
		/* Recorded, not required: guest_memfd has no huge folios to ask for. */
		int rc = madvise(r->p, size, MADV_HUGEPAGE);

		snprintf(c->gmem_madvise, sizeof(c->gmem_madvise), "%s",
			 rc ? strerror(errno) : "accepted");
	}
	return 0;
}

static void touch(struct region *r, size_t page)
{
	*(volatile uint64_t *)(r->p + page * PAGE) = page | 1;
}

static int punch(struct region *r, size_t page)
{
	if (r->kind == B_ANON)
		return madvise(r->p + page * PAGE, PAGE, MADV_DONTNEED);
	return fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, page * PAGE, PAGE);
}

static void populate(struct region *r)
{
	for (size_t i = 0; i < r->size / PAGE; i++)
		touch(r, i);
}

/* ---- retention, per mapping ------------------------------------------------------ */

#define PAGEMAP_PRESENT	(1ULL << 63)
#define PAGEMAP_PFN	((1ULL << 55) - 1)

/*
 * PMB-CANDIDATE: share of a mapping's 2M regions backed by one order-9 folio,
 * from /proc/self/pagemap + /proc/kpageflags (root). -1 when unreadable.
 */
static double backed_2m(struct ctx *c, const char *p, size_t size)
{
	uint64_t pm[PER_HPAGE], fl[PER_HPAGE];
	size_t n = size / HPAGE, good = 0;

	for (size_t i = 0; i < n; i++) {
		off_t vpn = (off_t)((uintptr_t)p / PAGE + i * PER_HPAGE);
		uint64_t pfn0;
		size_t j;

		if (pread(c->pagemap_fd, pm, sizeof(pm), vpn * 8) != sizeof(pm))
			return -1;
		pfn0 = pm[0] & PAGEMAP_PFN;
		if (!(pm[0] & PAGEMAP_PRESENT) || pfn0 % PER_HPAGE)
			continue;
		for (j = 1; j < PER_HPAGE; j++)
			if (!(pm[j] & PAGEMAP_PRESENT) || (pm[j] & PAGEMAP_PFN) != pfn0 + j)
				break;
		if (j < PER_HPAGE)
			continue;
		/* Contiguous could still be 512 separate pages: the folio structure decides. */
		if (pread(c->kpageflags_fd, fl, sizeof(fl), (off_t)pfn0 * 8) != sizeof(fl))
			return -1;
		if (!(fl[0] & (1ULL << KPF_COMPOUND_HEAD)))
			continue;
		for (j = 1; j < PER_HPAGE; j++)
			if (!(fl[j] & (1ULL << KPF_COMPOUND_TAIL)))
				break;
		good += j == PER_HPAGE;
	}
	return (double)good / n;
}

/*
 * PMB-CANDIDATE: bytes of [p, p + size) mapped with 2M entries, from the smaps
 * fields of the VMAs inside that range (smaps_rollup would mix in the rest of
 * the process). -1 when smaps is unreadable.
 */
static double mapped_2m(const char *p, size_t size)
{
	static const char *const fields[] = {
		"AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb",
	};
	uintptr_t lo = (uintptr_t)p, hi = lo + size;
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long long kib = 0;
	char line[512];
	bool in = false;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		unsigned long long v;
		char key[40], perms[8];

		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3) {
			in = s >= lo && e <= hi;
			continue;
		}
		if (!in || sscanf(line, "%39[^:]: %llu kB", key, &v) != 2)
			continue;
		for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!strcmp(key, fields[i]))
				kib += v;
	}
	fclose(f);
	return (double)kib * 1024 / size;
}

static void retention(struct ctx *c, struct region *r, double *backed, double *mapped)
{
	*backed = c->backed_known ? backed_2m(c, r->p, r->size) : -1;
	*mapped = mapped_2m(r->p, r->size);
}

/* ---- one sample: a whole churn curve on fresh memory ----------------------------- */

static double curve_sample(void *arg)
{
	struct ctx *c = arg;
	struct region r;
	struct curve cv;
	uint64_t total = 0;

	if (region_open(c, c->vm, c->kind, c->size, &r, c->why, sizeof(c->why))) {
		c->failed = true;
		return -1;
	}
	populate(&r);
	retention(c, &r, &cv.backed[0], &cv.mapped[0]);
	cv.step_ns[0] = NAN;
	for (size_t s = 1; s < c->nsteps; s++) {
		uint64_t t0 = pmb_now_ns(), t;

		for (size_t j = c->k[s - 1]; j < c->k[s]; j++) {
			if (punch(&r, c->perm[j])) {
				snprintf(c->why, sizeof(c->why), "punching a 4K page of %s failed: %s",
					 backing_name[c->kind], strerror(errno));
				c->failed = true;
				region_close(&r);
				return -1;
			}
		}
		for (size_t j = c->k[s - 1]; j < c->k[s]; j++)
			touch(&r, c->perm[j]);
		t = pmb_now_ns() - t0;
		total += t;
		cv.step_ns[s] = (double)t / (c->k[s] - c->k[s - 1]);
		/* Right after the step: khugepaged gets no time to collapse regions back. */
		retention(c, &r, &cv.backed[s], &cv.mapped[s]);
	}
	region_close(&r);
	if (c->ncurves == c->cap) {
		struct curve *n = realloc(c->curves, (c->cap * 2 + 8) * sizeof(*n));

		if (!n) {
			snprintf(c->why, sizeof(c->why), "out of memory");
			c->failed = true;
			return -1;
		}
		c->curves = n;
		c->cap = c->cap * 2 + 8;
	}
	c->curves[c->ncurves++] = cv;
	return (double)total / c->k[c->nsteps - 1];
}

/* ---- sizing ------------------------------------------------------------------------ */

/*
 * Churn fraction where ret[] first falls below thr: linear from churn 0 to the
 * first step, log-linear between later steps (the steps are log-spaced). 0 when
 * it is below from the start, NAN when never.
 */
static double crossing(const struct ctx *c, const double *ret, double thr)
{
	if (ret[0] < thr)
		return 0;
	for (size_t s = 1; s < c->nsteps; s++) {
		double f0 = (double)c->k[s - 1] / c->npages, f1 = (double)c->k[s] / c->npages;
		double w;

		if (ret[s] >= thr)
			continue;
		w = (ret[s - 1] - thr) / (ret[s - 1] - ret[s]);
		return f0 == 0 ? w * f1 : f0 * pow(f1 / f0, w);
	}
	return NAN;
}

static double median_of(double *v, int n)
{
	struct pmb_stats s;

	pmb_stats_of(v, n, &s);
	return s.median;
}

/* ---- guest phase --------------------------------------------------------------------- */

PM_GUEST_CODE_BEGIN

/* Write one word in every 4K page of [gpa, gpa + size), once per pass, reporting each pass. */
static PM_GUEST void guest_touch(uint64_t gpa, uint64_t size, uint64_t passes)
{
	for (uint64_t pass = 1; pass <= passes; pass++) {
		for (uint64_t off = 0; off < size; off += PAGE)
			pm_guest_write64((void *)(gpa + off), pass << 40 | off);
		GUEST_SYNC(pass);
	}
}

PM_GUEST_CODE_END

struct guest_run {
	struct ctx *c;
	struct region *r;
	struct pmb_kvm_stats *st;
	uint32_t *perm;		/* churn order over the guest region */
	size_t npages;
	uint64_t t0;
	json_t *pass[2];
	double host_backed[3], host_mapped[3];	/* after guest touch, after churn, at the end */
	char why[200];
};

static json_t *kvm_stats_json(struct pmb_kvm_stats *st)
{
	static const char *const names[] = { "pages_4k", "pages_2m", "pages_1g", "remote_tlb_flush" };
	json_t *o = json_object();

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t v;

		if (!pmb_kvm_stat(st, names[i], &v))
			json_object_set_new(o, names[i], json_integer((json_int_t)v));
	}
	return o;
}

/* In the vCPU thread, after each guest pass: KVM's view, then (after pass 1) host churn. */
static int guest_on_sync(int idx, struct pm_vcpu *vcpu, const struct pm_exit *e, void *arg)
{
	struct guest_run *g = arg;
	uint64_t stage = e->rep.vals[0], now = pmb_now_ns();
	size_t k = (size_t)llround(GUEST_CHURN * g->npages);

	(void)idx;
	(void)vcpu;
	if (stage < 1 || stage > 2)
		return 1;
	g->pass[stage - 1] = kvm_stats_json(g->st);
	json_object_set_new(g->pass[stage - 1], "guest_touch_ms", json_real((now - g->t0) / 1e6));
	if (stage == 1) {
		retention(g->c, g->r, &g->host_backed[0], &g->host_mapped[0]);
		for (size_t j = 0; j < k; j++) {
			if (punch(g->r, g->perm[j])) {
				snprintf(g->why, sizeof(g->why), "punch during the guest phase: %s",
					 strerror(errno));
				return 1;
			}
		}
		for (size_t j = 0; j < k; j++)
			touch(g->r, g->perm[j]);
		retention(g->c, g->r, &g->host_backed[1], &g->host_mapped[1]);
	}
	g->t0 = pmb_now_ns();
	return 0;
}

static json_t *pct_or_null(double v)
{
	return v >= 0 ? json_real(100 * v) : json_null();
}

/*
 * Map guest_mib MiB of the backing into a VM (2M guest page tables), let the
 * guest write every 4K page, read KVM's leaf-mapping counts; churn GUEST_CHURN
 * of it on the host, let the guest write it all again, read them again.
 */
static json_t *guest_phase(struct ctx *c, enum backing kind, size_t size)
{
	struct pmb *b = c->b;
	struct guest_run g = { .c = c, .npages = size / PAGE };
	json_t *o = json_object();
	struct pm_vcpu *vcpu;
	struct pm_vm *vm = NULL;
	struct region r = { .fd = -1 };
	char err[400];

	json_object_set_new(o, "guest_mib", json_integer(size >> 20));
	json_object_set_new(o, "guest_page", json_string("2M"));
	json_object_set_new(o, "host_churn_between_passes", json_real(GUEST_CHURN));
	/* A guest_memfd belongs to the VM that created it: the guest's VM makes it here. */
	vm = pm_vm_create(0);
	if (!vm) {
		snprintf(err, sizeof(err), "KVM_CREATE_VM failed: %s", strerror(errno));
		goto skip;
	}
	vm->timeout_ms = 120000;
	if (region_open(c, vm, kind, size, &r, err, sizeof(err)))
		goto skip;
	populate(&r);
	g.r = &r;
	g.perm = permutation(g.npages, c->seed);
	if (!g.perm) {
		snprintf(err, sizeof(err), "out of memory");
		goto skip;
	}
	if (pm_vm_add_memory(vm, GUEST_SLOT, PM_TEST_GPA, size, r.p, kind == B_GMEM ? r.fd : -1, 0,
			     PM_PAGE_2M)) {
		snprintf(err, sizeof(err), "adding the %s memslot failed: %s", backing_name[kind],
			 strerror(errno));
		goto skip;
	}
	vcpu = pm_vcpu_add(vm, guest_touch, PM_TEST_GPA, size, 2);
	g.st = pmb_kvm_stats_open(vm->fd);
	if (!vcpu || !g.st) {
		snprintf(err, sizeof(err), "%s failed: %s", vcpu ? "KVM_GET_STATS_FD" : "adding a vCPU",
			 strerror(errno));
		goto skip;
	}
	g.t0 = pmb_now_ns();
	if (pmb_run_vcpus(&vcpu, 1, true, guest_on_sync, &g, err, sizeof(err))) {
		if (g.why[0])
			snprintf(err, sizeof(err), "%s", g.why);
		goto skip;
	}
	retention(c, &r, &g.host_backed[2], &g.host_mapped[2]);
	for (int i = 0; i < 2; i++) {
		json_t *p = g.pass[i];
		json_int_t n4 = json_integer_value(json_object_get(p, "pages_4k"));
		json_int_t n2 = json_integer_value(json_object_get(p, "pages_2m"));
		json_int_t n1 = json_integer_value(json_object_get(p, "pages_1g"));
		char why[300];

		/*
		 * The guest just wrote every page: KVM maps all of them at some level.
		 * If no level counts anything, the counts are not kept, not zero.
		 */
		if (n4 + n2 + n1 == 0) {
			snprintf(why, sizeof(why), "%s keeps no leaf-mapping counts: pages_4k/2m/1g all 0 "
				 "after the guest wrote %zu pages of the %s slot", pm_caps()->kvm_module,
				 g.npages, backing_name[kind]);
			pmb_counter_require(b, p, "pages_4k", why);
			pmb_counter_require(b, p, "pages_2m", why);
		}
	}
	{
		json_t *f0 = json_object_get(g.pass[0], "remote_tlb_flush");
		json_t *f1 = json_object_get(g.pass[1], "remote_tlb_flush");
		char why[300];

		/*
		 * Punching pages the guest has mapped must zap KVM's mappings and flush
		 * the guest TLBs, except on hugetlb, where a 4K punch only zeroes.
		 */
		if (json_is_integer(f0) && json_is_integer(f1)) {
			json_object_set_new(o, "remote_tlb_flush_over_churn",
					    json_integer(json_integer_value(f1) - json_integer_value(f0)));
			snprintf(why, sizeof(why), "%s counted no remote TLB flush although the host "
				 "punched %lld pages the guest had mapped (%s)", pm_caps()->kvm_module,
				 llround(GUEST_CHURN * g.npages), backing_name[kind]);
			if (kind != B_HUGETLB)
				pmb_counter_require(b, o, "remote_tlb_flush_over_churn", why);
		}
	}
	json_object_set_new(o, "after_guest_touch", g.pass[0]);
	json_object_set_new(o, "after_host_churn_and_guest_retouch", g.pass[1]);
	/* The host backing under the guest: a guest write must not change it. */
	json_object_set_new(o, "host_backed_2m_pct_after_guest_touch", pct_or_null(g.host_backed[0]));
	json_object_set_new(o, "host_backed_2m_pct_after_host_churn", pct_or_null(g.host_backed[1]));
	json_object_set_new(o, "host_backed_2m_pct_after_guest_retouch", pct_or_null(g.host_backed[2]));
	g.pass[0] = g.pass[1] = NULL;
	goto out;
skip:
	json_object_set_new(o, "skipped", json_string(err));
	pmb_note(b, "%s guest phase skipped: %s", backing_name[kind], err);
out:
	json_decref(g.pass[0]);
	json_decref(g.pass[1]);
	pmb_kvm_stats_close(g.st);
	pm_vm_free(vm);	/* before the backing goes: the slot points into it */
	region_close(&r);
	free(g.perm);
	return o;
}

/* ---- setup: policies, reservations, capabilities -------------------------------------- */

/* The THP policy file must be one of ok[], else it is set to want (restored at exit). */
static bool thp_policy(struct pmb *b, const char *file, const char *const *ok, const char *want,
		       char *why, size_t len)
{
	char path[128], cur[128];

	snprintf(path, sizeof(path), THP_DIR "/%s", file);
	if (pmb_knob_get(path, cur, sizeof(cur))) {
		snprintf(why, len, "%s unreadable: %s (no THP in this kernel?)", path, strerror(errno));
		return false;
	}
	for (int i = 0; ok[i]; i++)
		if (!strcmp(cur, ok[i]))
			return true;
	if (pmb_knob_set(b, path, want)) {
		snprintf(why, len, "%s is '%s' and setting '%s' failed: %s", path, cur, want,
			 strerror(errno));
		return false;
	}
	return true;
}

/* guest_memfd: usable when the host can map it (to populate and re-fault it). */
static bool probe_gmem(struct ctx *c, char *why, size_t len)
{
	const struct pm_caps *caps = pm_caps();
	const uint64_t need = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;
	const char *kvm_why = pmb_kvm_unusable();
	long fl = caps->cap[PM_KVM_CAP_GUEST_MEMFD_FLAGS];

	if (kvm_why) {
		snprintf(why, len, "%s", kvm_why);
		return false;
	}
	if (caps->cap[PM_KVM_CAP_GUEST_MEMFD] <= 0) {
		snprintf(why, len, "KVM_CAP_GUEST_MEMFD=%ld", caps->cap[PM_KVM_CAP_GUEST_MEMFD]);
		return false;
	}
	if (fl < 0 || ((uint64_t)fl & need) != need) {
		snprintf(why, len, "KVM_CAP_GUEST_MEMFD_FLAGS=0x%lx lacks MMAP|INIT_SHARED: the host "
			 "cannot populate and re-fault it", fl);
		return false;
	}
	/* Capability-driven: a flag beyond the two known ones may be a huge-folio one. */
	if ((uint64_t)fl & ~need)
		pmb_note(c->b, "guest_memfd: KVM_CAP_GUEST_MEMFD_FLAGS=0x%lx has flags this benchmark "
			 "does not know (a huge-folio flag?); measured with MMAP|INIT_SHARED only", fl);
	else
		pmb_note(c->b, "guest_memfd: KVM_CAP_GUEST_MEMFD_FLAGS=0x%lx (MMAP|INIT_SHARED) has no "
			 "huge-folio flag: guest_memfd allocates 4K folios, so its 2M retention is 0 from "
			 "the start; measured anyway", fl);
	c->gmem_flags = need;
	c->vm = pm_vm_create(0);
	if (!c->vm) {
		snprintf(why, len, "KVM_CREATE_VM failed: %s", strerror(errno));
		return false;
	}
	return true;
}

static void probe_backings(struct ctx *c, const char *only, bool *avail, char (*why)[300])
{
	static const char *const anon_ok[] = { "always", "madvise", NULL };
	static const char *const shmem_ok[] = { "always", "within_size", "advise", "force", NULL };
	struct pmb *b = c->b;
	char v[128];

	avail[B_ANON] = thp_policy(b, "enabled", anon_ok, "madvise", why[B_ANON], sizeof(why[B_ANON]));
	if (avail[B_ANON] && !pmb_knob_get(THP_DIR "/hugepages-2048kB/enabled", v, sizeof(v)) &&
	    !strcmp(v, "never")) {
		avail[B_ANON] = false;
		snprintf(why[B_ANON], sizeof(why[B_ANON]),
			 "2M anonymous THP is off (hugepages-2048kB/enabled=never)");
	}
	avail[B_SHMEM] = thp_policy(b, "shmem_enabled", shmem_ok, "advise", why[B_SHMEM],
				    sizeof(why[B_SHMEM]));
	/* Curves and the guest phase use the pool one after the other. */
	avail[B_HUGETLB] = !pmb_hugetlb_reserve(b, (long)((c->size > c->guest_size ? c->size : c->guest_size) / HPAGE),
					   why[B_HUGETLB], sizeof(why[B_HUGETLB]));
	avail[B_GMEM] = probe_gmem(c, why[B_GMEM], sizeof(why[B_GMEM]));
	for (int k = 0; k < NR_BACKINGS; k++) {
		if (!strstr(only, backing_name[k])) {
			avail[k] = false;
			snprintf(why[k], sizeof(why[k]), "not selected (--set backings=%s)", only);
		}
	}
}

#define PAGE_REPORTING	"/sys/module/page_reporting/parameters"

/*
 * Free page reporting (virtio-balloon) hands freed blocks of at least
 * page_reporting_order back to the hypervisor: allocating them again pays a
 * hypervisor fault, which shows in populate and re-fault times. -1: not here.
 */
static long long page_reporting(const char *param)
{
	char path[160], v[64];

	snprintf(path, sizeof(path), PAGE_REPORTING "/%s", param);
	return pmb_knob_get(path, v, sizeof(v)) ? -1 : atoll(v);
}

static long long khugepaged_value(const char *key)
{
	char path[160], v[64];

	snprintf(path, sizeof(path), THP_DIR "/khugepaged/%s", key);
	return pmb_knob_get(path, v, sizeof(v)) ? -1 : atoll(v);
}

/* khugepaged can collapse churned regions back: record how eagerly. */
static json_t *khugepaged_settings(void)
{
	static const char *const keys[] = { "pages_to_scan", "scan_sleep_millisecs",
		"alloc_sleep_millisecs", "max_ptes_none", "defrag" };
	json_t *o = json_object();
	char v[128];

	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (khugepaged_value(keys[i]) >= 0)
			json_object_set_new(o, keys[i], json_integer(khugepaged_value(keys[i])));
	if (!pmb_knob_get(THP_DIR "/defrag", v, sizeof(v)))
		json_object_set_new(o, "thp_defrag", json_string(v));
	return o;
}

/* Steps: distinct cumulative page counts (small sizes merge the finest fractions), and the model. */
static int plan_steps(struct ctx *c, uint64_t seed)
{
	size_t *first;

	for (size_t s = 0; s < MAX_STEPS; s++) {
		size_t k = (size_t)llround(step_fraction[s] * c->npages);

		if (s && k == 0)
			k = 1;
		if (c->nsteps && k <= c->k[c->nsteps - 1])
			continue;
		c->k[c->nsteps++] = k;
	}
	c->perm = permutation(c->npages, seed);
	first = malloc(c->nregions * sizeof(*first));
	if (!c->perm || !first) {
		free(first);
		return -1;
	}
	/* first[i]: position in the churn order of region i's first punched page. */
	for (size_t i = 0; i < c->nregions; i++)
		first[i] = c->npages;
	for (size_t j = c->npages; j-- > 0;)
		first[c->perm[j] / PER_HPAGE] = j;
	for (size_t s = 0; s < c->nsteps; s++) {
		size_t n = 0;

		for (size_t i = 0; i < c->nregions; i++)
			n += first[i] >= c->k[s];
		c->model[s] = (double)n / c->nregions;
	}
	free(first);
	return 0;
}

/* ---- one backing --------------------------------------------------------------------- */

struct result {
	bool have;
	struct curve med;	/* medians over the repetitions */
	double sz[2];		/* crossings of 90% and 50% on the median curve */
};

static const char *sizing_text(double x, double at_end, char *buf, size_t len)
{
	if (isnan(x))
		snprintf(buf, len, "never (%.1f%% left after 100%% churn)", 100 * at_end);
	else if (x == 0)
		snprintf(buf, len, "from the start (not 2M-backed at churn 0)");
	else
		snprintf(buf, len, "from churn %.3g%% (%.2f punches per 2M)", 100 * x, x * PER_HPAGE);
	return buf;
}

/* The sizing answer: per repetition (stats) and on the median curve. */
static json_t *sizing(struct ctx *c, enum backing k, struct result *res, int first, int n)
{
	json_t *o = json_object();

	for (int t = 0; t < 2; t++) {
		static const char *const key[] = { "below_90pct_at", "below_50pct_at" };
		static const char *const per2m[] = { "punches_per_2m_at_90pct", "punches_per_2m_at_50pct" };
		struct pmb_spec xs = { .metric = key[t], .unit = "fraction of 4K pages churned", .cv_max = 0.03 };
		double thr = t ? 0.5 : 0.9, v[n];
		int reached = 0;

		res->sz[t] = crossing(c, res->med.backed, thr);
		for (int i = 0; i < n; i++) {
			const struct curve *cv = &c->curves[first + i];
			double x = crossing(c, c->backed_known ? cv->backed : cv->mapped, thr);

			if (!isnan(x) && x > 0)
				v[reached++] = x;
		}
		/* Only where every repetition crossed after some churn: a metric is never 0. */
		if (reached == n) {
			double mx = crossing(c, c->model, thr);
			struct pmb_stats st;
			json_t *m = pmb_record(c->b, &xs, pmb_params("backing", backing_name[k], NULL), v, n, &st);

			/*
			 * No physical reference fits a fraction: its same-run reference is
			 * the model's crossing on the same churn order (pmb's layout).
			 */
			if (m && mx > 0)
				json_object_set_new(m, "reference", json_pack("{s:s, s:s, s:f, s:f, s:s}",
					"name", "model_any_punch_splits", "unit", xs.unit, "median", mx,
					"ratio", st.median / mx, "ratio_means",
					"measured crossing / crossing if every 4K punch cost its 2M region "
					"(1: each punch splits exactly its region; > 1: 2M pages survive punches)"));
		}
		json_object_set_new(o, key[t], isnan(res->sz[t]) ? json_string("not reached") :
				    json_real(res->sz[t]));
		if (!isnan(res->sz[t]))
			json_object_set_new(o, per2m[t], json_real(res->sz[t] * PER_HPAGE));
	}
	json_object_set_new(o, "retention_at_churn0_pct", json_real(100 * res->med.backed[0]));
	if (res->med.backed[0] < 0.9)
		json_object_set_new(o, "why", json_string("below at churn 0: not 2M-backed to begin with"));
	return o;
}

/* What the counters say about the backing (global vmstat deltas: other processes move them too). */
static void backing_notes(struct ctx *c, enum backing k, const struct result *res, json_t *cnt)
{
	struct pmb *b = c->b;
	double end = res->med.backed[c->nsteps - 1];

	if (k == B_ANON) {
		pmb_counter_require(b, cnt, "thp_fault_alloc", "populating anonymous THP memory allocated no 2M page");
		pmb_note(b, "anon_thp: thp_deferred_split_page +%lld, thp_split_page +%lld during the curves: a "
			 "4K MADV_DONTNEED splits the PMD, but the rest of the 2M folio stays allocated and "
			 "PTE-mapped (not counted as 2M-backed here) until the deferred-split shrinker runs",
			 (long long)json_integer_value(json_object_get(cnt, "thp_deferred_split_page")),
			 (long long)json_integer_value(json_object_get(cnt, "thp_split_page")));
	} else if (k == B_SHMEM) {
		pmb_counter_require(b, cnt, "thp_file_alloc", "populating shmem THP memory allocated no 2M page");
		pmb_note(b, "shmem_thp: thp_split_page +%lld during the curves: a 4K PUNCH_HOLE splits the 2M "
			 "page-cache folio at once; the re-fault then gets a 4K folio",
			 (long long)json_integer_value(json_object_get(cnt, "thp_split_page")));
	} else if (k == B_HUGETLB) {
		pmb_note(b, "hugetlb: a 4K PUNCH_HOLE inside a 2M hugetlbfs page only zeroes those 4K (only "
			 "holes covering whole huge pages free them), so retention stays 100%% by "
			 "construction; measured %.1f%% after 100%% churn", 100 * end);
	} else if (k == B_GMEM) {
		pmb_note(b, "guest_memfd: %.1f%% 2M-backed at churn 0 (4K folios only); MADV_HUGEPAGE on its "
			 "mapping: %s", 100 * res->med.backed[0], c->gmem_madvise);
	}
	if (k != B_GMEM && res->med.backed[0] < 0.99)
		pmb_warn(b, "%s: only %.1f%% 2M-backed right after populating (THP allocation fell back to "
			 "4K: fragmented or short memory?)", backing_name[k], 100 * res->med.backed[0]);
}

static void run_backing(struct ctx *c, enum backing k, struct result *res, json_t *all_sizing)
{
	struct pmb_spec spec = {
		.metric = "churn_refault", .unit = "ns", .cv_max = 0.05,
		.ref = PMB_REF_FAULT_4K,
		.ref_ratio = "punch + write re-fault of one 4K page (averaged over a whole churn curve, "
			     "splits included) / first-touch anonymous 4K fault",
	};
	struct pmb *b = c->b;
	struct pmb_snap s0, s1;
	struct pmb_stats st;
	const char *kvm_why = pmb_kvm_unusable();
	json_t *m, *curve, *cnt;
	int first;

	pmb_progress(b, "%s: %zu MiB, %zu steps", backing_name[k], c->size >> 20, c->nsteps);
	c->kind = k;
	c->ncurves = 0;
	c->failed = false;
	pmb_snap(&s0);
	m = pmb_measure(b, &spec, pmb_params("backing", backing_name[k], NULL), curve_sample, c, &st);
	pmb_snap(&s1);
	if (!m) {
		if (c->failed)
			pmb_error(b, "%s: %s", backing_name[k], c->why);
		return;
	}
	res->have = true;
	/* The repetitions are the last st.n curves (the warm-up ones came first). */
	first = c->ncurves - st.n;
	curve = json_array();
	for (size_t s = 0; s < c->nsteps; s++) {
		double vb[st.n], vm[st.n], vn[st.n];

		for (int i = 0; i < st.n; i++) {
			vb[i] = c->curves[first + i].backed[s];
			vm[i] = c->curves[first + i].mapped[s];
			vn[i] = c->curves[first + i].step_ns[s];
		}
		res->med.mapped[s] = median_of(vm, st.n);
		res->med.backed[s] = c->backed_known ? median_of(vb, st.n) : res->med.mapped[s];
		res->med.step_ns[s] = s ? median_of(vn, st.n) : NAN;
		json_array_append_new(curve, json_pack("{s:f, s:I, s:o, s:o, s:f, s:o}",
			"churn_fraction", (double)c->k[s] / c->npages, "pages_churned", (json_int_t)c->k[s],
			"backed_2m_pct", pct_or_null(c->backed_known ? res->med.backed[s] : -1),
			"mapped_2m_pct", pct_or_null(res->med.mapped[s]),
			"model_any_punch_splits_pct", 100 * c->model[s],
			"step_ns_per_page", s ? json_real(res->med.step_ns[s]) : json_null()));
	}
	json_object_set_new(m, "retention_curve", curve);
	cnt = pmb_snap_delta(&s0, &s1);
	json_object_set_new(m, "counters", cnt);
	json_object_set_new(all_sizing, backing_name[k], sizing(c, k, res, first, st.n));
	backing_notes(c, k, res, cnt);

	/* The same memory seen by a guest: KVM's leaf-mapping counts. */
	if (kvm_why) {
		json_object_set_new(m, "guest", json_pack("{s:s}", "skipped", kvm_why));
	} else {
		pmb_progress(b, "%s: guest phase, %zu MiB", backing_name[k], c->guest_size >> 20);
		json_object_set_new(m, "guest", guest_phase(c, k, c->guest_size));
	}
}

/* Plot tables: one column per backing (NaN where it did not run). */
static void write_tables(struct ctx *c, const struct result *res)
{
	struct pmb_table *tr = pmb_table(c->b, "retention",
		"churn_fraction,anon_thp,shmem_thp,hugetlb,guest_memfd,model_any_punch_splits");
	struct pmb_table *tc = pmb_table(c->b, "cost", "churn_fraction,anon_thp,shmem_thp,hugetlb,guest_memfd");

	for (size_t s = 0; s < c->nsteps; s++) {
		char r[256], t[256];
		int nr = snprintf(r, sizeof(r), "%.8g", (double)c->k[s] / c->npages);
		int nt = snprintf(t, sizeof(t), "%.8g", (double)c->k[s] / c->npages);

		for (int k = 0; k < NR_BACKINGS; k++) {
			nr += snprintf(r + nr, sizeof(r) - nr, res[k].have ? ",%.3f" : ",NaN",
				       100 * res[k].med.backed[s]);
			nt += snprintf(t + nt, sizeof(t) - nt, res[k].have ? ",%.1f" : ",NaN",
				       res[k].med.step_ns[s]);
		}
		pmb_row(tr, "%s,%.3f", r, 100 * c->model[s]);
		if (s)	/* churn 0 costs nothing */
			pmb_row(tc, "%s", t);
	}
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "hugepage",
				 "2M retention of THP/hugetlb/guest_memfd memory under 4K punch + re-fault churn");
	struct ctx c = { .b = b, .pagemap_fd = -1, .kpageflags_fd = -1 };
	long mib = pmb_param_long(b, "mib", pmb_by_mode(b, 8, 128, 512));
	long guest_mib = pmb_param_long(b, "guest_mib", pmb_by_mode(b, 4, 32, 128));
	const char *only = pmb_param_str(b, "backings", "anon_thp,shmem_thp,hugetlb,guest_memfd");
	long long collapsed0 = khugepaged_value("pages_collapsed"), scans0 = khugepaged_value("full_scans");
	long long reported0 = page_reporting("reported_kib");
	long memattr = pm_caps()->cap[PM_KVM_CAP_MEMORY_ATTRIBUTES];
	struct result res[NR_BACKINGS] = { 0 };
	char why[NR_BACKINGS][300] = { { 0 } };
	bool avail[NR_BACKINGS] = { 0 };
	json_t *all_sizing = json_object(), *steps = json_array(), *khp = khugepaged_settings();
	int nrun = 0;

	c.seed = (uint64_t)pmb_param_long(b, "seed", 1);
	pmb_params_done(b);
	if (mib < 2 || mib % 2 || guest_mib < 2 || guest_mib % 2)
		pmb_die(b, "mib and guest_mib must be even (whole 2M regions) and >= 2");
	c.size = (size_t)mib << 20;
	c.guest_size = (size_t)guest_mib << 20;
	c.npages = c.size / PAGE;
	c.nregions = c.size / HPAGE;
	if (plan_steps(&c, c.seed))
		pmb_die(b, "out of memory");
	for (size_t s = 0; s < c.nsteps; s++)
		json_array_append_new(steps, json_real((double)c.k[s] / c.npages));
	pmb_config(b, "bytes", json_integer((json_int_t)c.size));
	pmb_config(b, "regions_2m", json_integer((json_int_t)c.nregions));
	pmb_config(b, "churn_fractions", steps);
	pmb_config(b, "churn_definition", json_string(
		"cumulative share of the memory's 4K pages punched once (MADV_DONTNEED for anonymous "
		"memory, fallocate PUNCH_HOLE|KEEP_SIZE for files) and re-faulted by a write, in one "
		"fixed random order (seed); 1/512 = one 4K page per 2M region on average"));
	pmb_config(b, "retention_definition", json_string(
		"share of the 2M-aligned regions backed by one order-9 folio (pagemap PFNs contiguous "
		"from a 2M-aligned compound head, 511 tails in kpageflags), read right after each step"));
	pmb_config(b, "khugepaged", khp);

	/* One CPU: the punches stay local flushes, the timing free of migrations. */
	pmb_pin_cpu(0);

	c.pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	c.kpageflags_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	c.backed_known = c.pagemap_fd >= 0 && c.kpageflags_fd >= 0;
	if (!c.backed_known)
		pmb_note(b, "2M backing unreadable (/proc/self/pagemap or /proc/kpageflags: %s, needs root): "
			 "retention falls back to the smaps 2M-mapped share", strerror(errno));
	probe_backings(&c, only, avail, why);
	if (memattr > 0)
		pmb_note(b, "conversions not measured: KVM_CAP_MEMORY_ATTRIBUTES=0x%lx, but this benchmark "
			 "churns by hole punch only", memattr);
	else
		pmb_note(b, "conversions skipped: KVM_CAP_MEMORY_ATTRIBUTES=%ld (no private<->shared "
			 "conversions on this platform)", memattr);

	for (int k = 0; k < NR_BACKINGS; k++) {
		if (!avail[k]) {
			pmb_note(b, "%s skipped: %s", backing_name[k], why[k]);
			continue;
		}
		run_backing(&c, (enum backing)k, &res[k], all_sizing);
		nrun += res[k].have;
	}
	if (!nrun) {
		fprintf(stderr, "hugepage: no backing could run (%s; %s; %s; %s)\n",
			why[0], why[1], why[2], why[3]);
		exit(4);
	}
	write_tables(&c, res);

	/* The sizing answer, once for the run. */
	pmb_result(b, "sizing", all_sizing);
	for (int k = 0; k < NR_BACKINGS; k++) {
		char a[2][96];
		double end = res[k].med.backed[c.nsteps - 1];

		if (res[k].have)
			pmb_note(b, "sizing %s: 2M retention below 90%% %s; below 50%% %s", backing_name[k],
				 sizing_text(res[k].sz[0], end, a[0], sizeof(a[0])),
				 sizing_text(res[k].sz[1], end, a[1], sizeof(a[1])));
	}
	if (collapsed0 >= 0)
		pmb_note(b, "khugepaged during the run: %lld pages collapsed, %lld full scans (scan every "
			 "%lld ms, %lld pages per scan, max_ptes_none %lld: given time it can re-collapse "
			 "churned MADV_HUGEPAGE regions; retention is read right after each step)",
			 khugepaged_value("pages_collapsed") - collapsed0,
			 khugepaged_value("full_scans") - scans0, khugepaged_value("scan_sleep_millisecs"),
			 khugepaged_value("pages_to_scan"), khugepaged_value("max_ptes_none"));
	if (page_reporting("page_reporting_order") >= 0) {
		char moved[48] = "unknown";

		if (reported0 >= 0)
			snprintf(moved, sizeof(moved), "%lld MiB", (page_reporting("reported_kib") - reported0) >> 10);
		pmb_note(b, "free page reporting (page_reporting_order=%lld): freed blocks that large can go "
			 "back to the hypervisor and cost hypervisor faults when allocated again, noise in "
			 "populate and re-fault times; reported during the run: %s",
			 page_reporting("page_reporting_order"), moved);
	}
	pmb_note(b, "retention repetitions reuse one churn order (seed %llu): their spread is the "
		 "kernel's, not the placement's; --set seed=N samples another placement",
		 (unsigned long long)c.seed);

	pm_vm_free(c.vm);
	if (c.pagemap_fd >= 0)
		close(c.pagemap_fd);
	if (c.kpageflags_fd >= 0)
		close(c.kpageflags_fd);
	free(c.perm);
	free(c.curves);
	return pmb_finish(b);
}
