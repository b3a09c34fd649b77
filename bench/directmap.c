// SPDX-License-Identifier: GPL-2.0
/*
 * directmap: fragmentation of the kernel's direct map by memory that is removed
 * from it (memfd_secret; guest_memfd with a no-direct-map flag when the kernel
 * advertises one), and what it costs kernel work afterwards.
 *
 * Mechanism (mm/secretmem.c, arch/x86/mm/pat/set_memory.c): the first write to a
 * memfd_secret page allocates it and removes that 4K page from the direct map,
 * which splits the 2M (and, first, the 1G) mapping around it and flushes the
 * kernel TLB on every CPU; freeing the page makes it present again, but nothing
 * merges the 4K entries back into a large mapping. The splits therefore last until
 * reboot, so the run is bounded: at most budget_mib of secret memory in total, and
 * no sample starts once the run's level-2 splits exceed split_cap. It says so on
 * stderr and in the JSON notes.
 *
 * memfd_secret pages are unmovable allocations (GFP_HIGHUSER), taken one 4K page
 * at a time from the pageblocks that also hold kernel data, slab and guest_memfd:
 * they scatter over many 2 MiB regions, and what the kernel allocates there later
 * is reached through a 4K-mapped direct map.
 *
 * 1. Kernel copy "before": throughput of a kernel copy that reads its source
 *    through the direct map: process_vm_readv() from this process's own mapping
 *    (pin the pages, copy from kmap_local_page(), the direct map on x86-64), of a
 *    tmpfs file (memfd; movable page-cache pages) and of a guest_memfd (unmovable
 *    pages, the same kind of allocation as memfd_secret). One path for both, so
 *    the two sources compare.
 * 2. Control: plain guest_memfd (MMAP|INIT_SHARED) allocated and freed in the same
 *    chunk sizes: its pages stay in the direct map, so it should split nothing.
 * 3. Sweep: for each chunk size (4K..2M) and free order (sequential, random), one
 *    sample allocates S bytes as S/chunk secret files (memfd_secret + ftruncate +
 *    mmap + one write per page), then frees them (munmap + close) in that order.
 *    Per sample: alloc+touch ns/page, free ns/page, and the distinct 2 MiB physical
 *    regions its pages fall in (from /proc/self/pagemap): the splits a GiB of it
 *    causes on a direct map that was not split yet. Per phase, counters:
 *    direct_map_level{2,3}_splits/_collapses, DirectMap4k/2M/1G drift.
 * 4. Kernel copy "after": the same buffers again, and new buffers allocated after
 *    the sweep (which reuse what it freed), each with the share of its pages that
 *    lie in 2 MiB regions the sweep's secret pages touched (all 4K-mapped now).
 *
 * Splits happen only the first time a region is split: a machine fragmented
 * before (by boot, earlier runs, other users) shows fewer; the starting state is
 * recorded. The counters are system-wide: other activity during the run counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "caps.h"
#include "platform.h"
#include "pmb.h"
#include "pmb_vm.h"
#include "vm.h"

#define PAGE		4096UL
#define MIB		(1UL << 20)
#define BUDGET_MAX_MIB	1024	/* hard bound, whatever --set says */
#define KCOPY_IO	(256UL << 10)	/* per call: the destination stays in L2 */
#define MAX_CHUNKS	8
#define MAX_PHASES	(3 * 2 * MAX_CHUNKS)

static struct pmb *b;
static struct pm_vm *vm;	/* only to create guest_memfds */
static int pagemap_fd = -1;

/* ---- memory kinds -------------------------------------------------------------- */

struct mem_kind {
	const char *name;
	bool off_direct_map;	/* its pages leave the direct map: counted in the budget */
	uint64_t gmem_flags;	/* 0: memfd_secret */
};

static const struct mem_kind secretmem = { "secretmem", true, 0 };
static const struct mem_kind gmem_plain = { "gmem", false,
	GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED };
#ifdef GUEST_MEMFD_FLAG_NO_DIRECT_MAP
static const struct mem_kind gmem_nodm = { "gmem_nodirectmap", true,
	GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED | GUEST_MEMFD_FLAG_NO_DIRECT_MAP };
#endif

static int mem_create(const struct mem_kind *k, size_t size)
{
	if (k->gmem_flags)
		return pm_gmem_create(vm, size, k->gmem_flags);
	/* The secretmem platform's own constructor: memfd_secret(O_CLOEXEC), sized. */
	return pm_platform_private_mem(&pm_platform_secretmem, vm, size, O_CLOEXEC);
}

/* ---- physical placement (/proc/self/pagemap) ------------------------------------- */

/*
 * PMB-CANDIDATE: physical frame numbers of a mapped range from /proc/self/pagemap
 * (0 for pages not present; PFNs read 0 without CAP_SYS_ADMIN).
 */
static int range_pfns(const void *addr, size_t pages, uint64_t *pfn)
{
	off_t off = (off_t)((uintptr_t)addr / PAGE) * 8;
	ssize_t len = (ssize_t)(pages * 8);

	if (pagemap_fd < 0 || pread(pagemap_fd, pfn, len, off) != len)
		return -1;
	for (size_t i = 0; i < pages; i++)
		pfn[i] = (pfn[i] >> 63) ? pfn[i] & ((1ULL << 55) - 1) : 0;
	return 0;
}

/*
 * Physical regions of one size (2 MiB: shift 9; 1 GiB: shift 18) seen so far: a
 * mark per region for "seen in this sample / this phase" and whether memory that
 * leaves the direct map touched it in this run (then it is 4K-mapped now).
 */
struct regions {
	int shift;
	size_t n;
	uint32_t *sample_mark, *phase_mark;
	uint8_t *off_dm;
};

static struct regions reg2m = { .shift = 9 }, reg1g = { .shift = 18 };

static void regions_grow(struct regions *r, size_t idx)
{
	size_t n = r->n ? r->n : 1024;

	if (idx < r->n)
		return;
	while (n <= idx)
		n *= 2;
	r->sample_mark = realloc(r->sample_mark, n * sizeof(*r->sample_mark));
	r->phase_mark = realloc(r->phase_mark, n * sizeof(*r->phase_mark));
	r->off_dm = realloc(r->off_dm, n);
	if (!r->sample_mark || !r->phase_mark || !r->off_dm)
		pmb_die(b, "out of memory");
	memset(r->sample_mark + r->n, 0, (n - r->n) * sizeof(*r->sample_mark));
	memset(r->phase_mark + r->n, 0, (n - r->n) * sizeof(*r->phase_mark));
	memset(r->off_dm + r->n, 0, n - r->n);
	r->n = n;
}

struct region_count {
	long sample, phase, new_in_run;	/* distinct regions; never touched before in this run */
};

static void regions_add(struct regions *r, uint64_t pfn, uint32_t sample_id, uint32_t phase_id,
			bool off_dm, struct region_count *c)
{
	size_t idx = pfn >> r->shift;

	regions_grow(r, idx);
	if (r->sample_mark[idx] != sample_id) {
		r->sample_mark[idx] = sample_id;
		c->sample++;
	}
	if (r->phase_mark[idx] != phase_id) {
		r->phase_mark[idx] = phase_id;
		c->phase++;
	}
	if (off_dm && !r->off_dm[idx]) {
		r->off_dm[idx] = 1;
		c->new_in_run++;
	}
}

/* Percentage of a buffer's pages in 2 MiB regions that off-direct-map memory touched. */
static double pct_in_split_regions(const char *map, size_t size)
{
	size_t pages = size / PAGE, in = 0, known = 0;
	uint64_t *pfn = malloc(pages * sizeof(*pfn));

	if (!pfn || range_pfns(map, pages, pfn)) {
		free(pfn);
		return -1;
	}
	for (size_t i = 0; i < pages; i++) {
		size_t idx = pfn[i] >> reg2m.shift;

		if (!pfn[i])
			continue;
		known++;
		if (idx < reg2m.n && reg2m.off_dm[idx])
			in++;
	}
	free(pfn);
	return known ? 100.0 * in / pages : -1;
}

/* ---- counters ------------------------------------------------------------------ */

enum { L2S, L3S, L2C, L3C, DM4K, DM2M, DM1G, IRQ_CAL, IRQ_TLB, NR_KEYS };
static const char *const keys[NR_KEYS] = {
	"direct_map_level2_splits", "direct_map_level3_splits",
	"direct_map_level2_collapses", "direct_map_level3_collapses",
	"DirectMap4k", "DirectMap2M", "DirectMap1G", "irq_CAL", "irq_TLB",
};
static bool key_present[NR_KEYS];

static void delta(const struct pmb_snap *a, const struct pmb_snap *z, long long *acc)
{
	for (int k = 0; k < NR_KEYS; k++) {
		long long x = pmb_snap_get(a, keys[k]), y = pmb_snap_get(z, keys[k]);

		if (x >= 0 && y >= 0)
			acc[k] += y - x;
	}
}

/* Set counters[name] = v when the kernel has the key, else mark it unavailable. */
static void put_counter(json_t *c, int k, const char *name, json_t *v)
{
	if (key_present[k]) {
		json_object_set_new(c, name, v);
		return;
	}
	json_decref(v);
	pmb_counter_require(b, c, name, k <= L3C ? "not in /proc/vmstat on this kernel (x86 only)" :
			    k <= DM1G ? "not in /proc/meminfo on this kernel" :
			    "no such row in /proc/interrupts");
}

static struct pmb_snap snap_start;

/* DirectMap drift over the run: one row per step. */
static struct pmb_table *t_drift;
static int drift_step;

static void drift_row(const char *label)
{
	struct pmb_snap s;
	long long d[NR_KEYS] = { 0 };

	pmb_snap(&s);
	delta(&snap_start, &s, d);
	pmb_row(t_drift, "%d,%s,%.1f,%.1f,%.1f,%lld,%lld,%lld,%lld", drift_step++, label,
		pmb_snap_get(&s, "DirectMap4k") / 1024.0, pmb_snap_get(&s, "DirectMap2M") / 1024.0,
		pmb_snap_get(&s, "DirectMap1G") / 1024.0, d[L2S], d[L3S], d[L2C], d[L3C]);
}

/* ---- the sweep ----------------------------------------------------------------- */

struct phase {
	const struct mem_kind *mem;
	size_t chunk, bytes;	/* chunk size; bytes per sample */
	bool random;
	uint32_t id;
	uint64_t seed;
	/* per sample (warm-up first) */
	int n;
	double *free_ns, *regions_per_gib;
	/* over all samples */
	long long alloc_d[NR_KEYS], free_d[NR_KEYS];
	uint64_t pages;
	struct region_count r2m, r1g;
	bool pfns_ok;
	/* scratch */
	int *fd;
	char **map;
	size_t *order;
	uint64_t *pfn;
};

static long long budget_left;	/* bytes of off-direct-map memory the run may still allocate */
static long split_cap;

/* Level-2 splits since the run started (0 where the kernel has no such counter). */
static long long splits_since_start(const struct pmb_snap *now)
{
	long long a = pmb_snap_get(&snap_start, "direct_map_level2_splits");
	long long z = pmb_snap_get(now, "direct_map_level2_splits");

	return a >= 0 && z >= 0 ? z - a : 0;
}
static uint32_t sample_ids;

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void release(struct phase *ph, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		size_t i = ph->order[k];

		if (ph->map[i] && ph->map[i] != MAP_FAILED)
			munmap(ph->map[i], ph->chunk);
		if (ph->fd[i] >= 0)
			close(ph->fd[i]);
	}
}

/* One sample: allocate + touch, locate, free in order. Returns alloc+touch ns/page. */
static double sweep_sample(void *arg)
{
	struct phase *ph = arg;
	size_t nchunks = ph->bytes / ph->chunk, per = ph->chunk / PAGE, pages = ph->bytes / PAGE;
	struct pmb_snap s0, s1, s2;
	struct region_count c2 = { 0 }, c1 = { 0 };
	uint32_t sid = ++sample_ids;
	uint64_t t0, t1, t2, t3;

	pmb_snap(&s0);
	if (ph->mem->off_direct_map) {
		/* Safety net: the sample sizes were chosen so this never triggers. */
		if (budget_left < (long long)ph->bytes) {
			pmb_error(b, "%s: the memory budget is exhausted (sizing bug)", ph->mem->name);
			return -1;
		}
		/*
		 * The hard stop inside a phase (between phases the run stops with a
		 * warning): a run is refused rather than let it split more.
		 */
		if (splits_since_start(&s0) > split_cap) {
			pmb_error(b, "stopped in %s chunk %zu KiB: this run's level-2 splits (%lld) exceed split_cap=%ld",
				  ph->mem->name, ph->chunk >> 10, splits_since_start(&s0), split_cap);
			return -1;
		}
		budget_left -= ph->bytes;
	}
	for (size_t i = 0; i < nchunks; i++) {
		ph->fd[i] = -1;
		ph->map[i] = NULL;
		ph->order[i] = i;
	}
	t0 = pmb_now_ns();
	for (size_t i = 0; i < nchunks; i++) {
		ph->fd[i] = mem_create(ph->mem, ph->chunk);
		if (ph->fd[i] < 0)
			goto fail;
		ph->map[i] = mmap(NULL, ph->chunk, PROT_READ | PROT_WRITE, MAP_SHARED, ph->fd[i], 0);
		if (ph->map[i] == MAP_FAILED)
			goto fail;
		/* The write fault allocates the page (and takes it out of the direct map). */
		for (size_t off = 0; off < ph->chunk; off += PAGE)
			*(volatile char *)(ph->map[i] + off) = 1;
	}
	t1 = pmb_now_ns();
	pmb_snap(&s1);

	for (size_t i = 0; i < nchunks; i++) {
		if (range_pfns(ph->map[i], per, ph->pfn + i * per))
			memset(ph->pfn + i * per, 0, per * sizeof(*ph->pfn));
	}
	for (size_t p = 0; p < pages; p++) {
		if (!ph->pfn[p])
			continue;
		ph->pfns_ok = true;
		regions_add(&reg2m, ph->pfn[p], sid, ph->id, ph->mem->off_direct_map, &c2);
		regions_add(&reg1g, ph->pfn[p], sid, ph->id, ph->mem->off_direct_map, &c1);
	}

	if (ph->random) {
		for (size_t i = nchunks - 1; i > 0; i--) {
			size_t j = xorshift(&ph->seed) % (i + 1), t = ph->order[i];

			ph->order[i] = ph->order[j];
			ph->order[j] = t;
		}
	}
	t2 = pmb_now_ns();
	release(ph, nchunks);
	t3 = pmb_now_ns();
	pmb_snap(&s2);

	delta(&s0, &s1, ph->alloc_d);
	delta(&s1, &s2, ph->free_d);
	ph->pages += pages;
	ph->r2m.phase += c2.phase;
	ph->r2m.new_in_run += c2.new_in_run;
	ph->r1g.phase += c1.phase;
	ph->r1g.new_in_run += c1.new_in_run;
	ph->free_ns[ph->n] = (double)(t3 - t2) / pages;
	ph->regions_per_gib[ph->n] = (double)c2.sample * (1UL << 30) / ph->bytes;
	ph->n++;
	return (double)(t1 - t0) / pages;
fail:
	pmb_error(b, "%s chunk %zu KiB: allocating: %s", ph->mem->name, ph->chunk >> 10, strerror(errno));
	release(ph, nchunks);
	return -1;
}

static const char *size_name(size_t bytes, char *buf, size_t len)
{
	if (bytes >= MIB && !(bytes % MIB))
		snprintf(buf, len, "%zuM", bytes / MIB);
	else
		snprintf(buf, len, "%zuK", bytes >> 10);
	return buf;
}

static struct pmb_table *t_splits;
static long sweep_reps;

static void run_phase(struct phase *ph)
{
	size_t nchunks = ph->bytes / ph->chunk;
	int nsamples = 1 + (int)sweep_reps;
	char chunk[24], sample[24], label[80];
	const char *order = ph->random ? "random" : "seq";
	double gib = (double)ph->pages * PAGE / (1UL << 30);
	struct pmb_spec alloc = {
		.metric = "alloc_touch", .unit = "ns/page", .warmup = 1, .reps = (int)sweep_reps,
		.ref = PMB_REF_FAULT_4K,
		.ref_ratio = "cost per page to create, map and first-write the memory / host anonymous 4K first-touch fault",
	};
	struct pmb_spec freed = {
		.metric = "free", .unit = "ns/page", .ref = PMB_REF_FAULT_4K,
		.ref_ratio = "cost per page to munmap + close / host anonymous 4K first-touch fault",
	};
	struct pmb_spec regions = { .metric = "regions_2m_per_gib", .unit = "regions/GiB", .cv_max = 0.10,
				     .better = PMB_NEITHER };
	struct pmb_stats sa = { 0 }, sf = { 0 }, sr = { 0 };
	json_t *m, *c;
	long long l2;

	size_name(ph->chunk, chunk, sizeof(chunk));
	size_name(ph->bytes, sample, sizeof(sample));
	ph->fd = calloc(nchunks, sizeof(*ph->fd));
	ph->map = calloc(nchunks, sizeof(*ph->map));
	ph->order = calloc(nchunks, sizeof(*ph->order));
	ph->pfn = calloc(ph->bytes / PAGE, sizeof(*ph->pfn));
	ph->free_ns = calloc(nsamples, sizeof(double));
	ph->regions_per_gib = calloc(nsamples, sizeof(double));
	if (!ph->fd || !ph->map || !ph->order || !ph->pfn || !ph->free_ns || !ph->regions_per_gib)
		pmb_die(b, "out of memory");
	pmb_progress(b, "%s chunk %s, free %s: %d samples of %zu MiB", ph->mem->name, chunk, order,
		     nsamples, ph->bytes / MIB);

	m = pmb_measure(b, &alloc, pmb_params("mem", ph->mem->name, "chunk", chunk, "free_order", order,
					      "sample", sample, NULL), sweep_sample, ph, &sa);
	if (m) {
		/* The warm-up sample comes first; the rest are the measured repetitions. */
		int w = ph->n - sa.n;

		pmb_record(b, &freed, pmb_params("mem", ph->mem->name, "chunk", chunk, "free_order",
						 order, "sample", sample, NULL), ph->free_ns + w, sa.n, &sf);
		if (ph->pfns_ok)
			pmb_record(b, &regions, pmb_params("mem", ph->mem->name, "chunk", chunk,
							   "free_order", order, "sample", sample, NULL),
				   ph->regions_per_gib + w, sa.n, &sr);

		gib = (double)ph->pages * PAGE / (1UL << 30);
		c = json_object();
		json_object_set_new(c, "samples_incl_warmup", json_integer(ph->n));
		json_object_set_new(c, "mib_allocated", json_real(gib * 1024));
		put_counter(c, L2S, "direct_map_level2_splits", json_integer(ph->alloc_d[L2S] + ph->free_d[L2S]));
		put_counter(c, L3S, "direct_map_level3_splits", json_integer(ph->alloc_d[L3S] + ph->free_d[L3S]));
		put_counter(c, L2S, "level2_splits_per_gib",
			    json_real((ph->alloc_d[L2S] + ph->free_d[L2S]) / gib));
		put_counter(c, L2C, "direct_map_level2_collapses", json_integer(ph->alloc_d[L2C] + ph->free_d[L2C]));
		put_counter(c, L3C, "direct_map_level3_collapses", json_integer(ph->alloc_d[L3C] + ph->free_d[L3C]));
		put_counter(c, DM4K, "DirectMap4k_kib_during_alloc", json_integer(ph->alloc_d[DM4K]));
		put_counter(c, DM4K, "DirectMap4k_kib_during_free", json_integer(ph->free_d[DM4K]));
		put_counter(c, DM2M, "DirectMap2M_kib", json_integer(ph->alloc_d[DM2M] + ph->free_d[DM2M]));
		put_counter(c, DM1G, "DirectMap1G_kib", json_integer(ph->alloc_d[DM1G] + ph->free_d[DM1G]));
		put_counter(c, IRQ_CAL, "irq_CAL_per_page_alloc", json_real((double)ph->alloc_d[IRQ_CAL] / ph->pages));
		put_counter(c, IRQ_TLB, "irq_TLB_per_page_alloc", json_real((double)ph->alloc_d[IRQ_TLB] / ph->pages));
		if (ph->pfns_ok) {
			json_object_set_new(c, "regions_2m_touched", json_integer(ph->r2m.phase));
			json_object_set_new(c, "regions_1g_touched", json_integer(ph->r1g.phase));
			if (ph->mem->off_direct_map)
				json_object_set_new(c, "regions_2m_first_touched_in_run",
						    json_integer(ph->r2m.new_in_run));
		}
		json_object_set_new(m, "counters", c);
	}
	l2 = key_present[L2S] ? ph->alloc_d[L2S] + ph->free_d[L2S] : -1;
	pmb_row(t_splits, "%s,%s,%zu,%s,%.2f,%.1f,%.1f,%lld,%lld,%.1f,%.1f,%ld,%lld,%lld,%lld",
		ph->mem->name, chunk, ph->chunk >> 10, order, gib * 1024, sa.median, sf.median,
		l2, key_present[L3S] ? ph->alloc_d[L3S] + ph->free_d[L3S] : -1,
		l2 >= 0 ? l2 / gib : NAN, ph->pfns_ok ? sr.median : NAN,
		ph->mem->off_direct_map ? ph->r2m.new_in_run : 0,
		ph->alloc_d[L2C] + ph->free_d[L2C] + ph->alloc_d[L3C] + ph->free_d[L3C],
		ph->alloc_d[DM4K], ph->free_d[DM4K]);
	snprintf(label, sizeof(label), "%s %s %s", ph->mem->name, chunk, order);
	drift_row(label);
	free(ph->fd);
	free(ph->map);
	free(ph->order);
	free(ph->pfn);
	free(ph->free_ns);
	free(ph->regions_per_gib);
}

/* ---- kernel copy through the direct map ------------------------------------------ */

struct kbuf {
	const char *source, *path, *buffer;	/* "tmpfs"/"gmem", "process_vm_readv", "old"/"new" */
	int fd;
	char *map;
	size_t size;
	double pct_split;	/* share of its pages in regions touched by off-direct-map memory */
	struct pmb_stats before, after;
};

static char *kdst;
static int kpasses;

static double kcopy_sample(void *arg)
{
	struct kbuf *k = arg;
	pid_t self = getpid();
	uint64_t t0 = pmb_now_ns(), t1;

	for (int pass = 0; pass < kpasses; pass++) {
		for (size_t off = 0; off < k->size; off += KCOPY_IO) {
			struct iovec l = { kdst, KCOPY_IO }, r = { k->map + off, KCOPY_IO };

			if (process_vm_readv(self, &l, 1, &r, 1, 0) != (ssize_t)KCOPY_IO)
				return -1;
		}
	}
	t1 = pmb_now_ns();
	return (double)k->size * kpasses / (t1 - t0);	/* bytes/ns == GB/s */
}

/*
 * A tmpfs file (memfd: movable page-cache pages) or a guest_memfd (unmovable
 * pages, like memfd_secret's), mapped and filled.
 */
static bool kbuf_make(struct kbuf *k, const char *source, const char *buffer, size_t size)
{
	memset(k, 0, sizeof(*k));
	k->source = source;
	k->buffer = buffer;
	k->path = "process_vm_readv";
	k->size = size;
	if (!strcmp(source, "tmpfs"))
		k->fd = memfd_create("pmb-directmap-kcopy", MFD_CLOEXEC);
	else
		k->fd = pm_gmem_create(vm, size, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	if (k->fd < 0 || (!strcmp(source, "tmpfs") && ftruncate(k->fd, size)))
		return false;
	k->map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, k->fd, 0);
	if (k->map == MAP_FAILED) {
		k->map = NULL;
		return false;
	}
	memset(k->map, 0x5a, size);
	return true;
}

static void kbuf_free(struct kbuf *k)
{
	if (k->map)
		munmap(k->map, k->size);
	if (k->fd >= 0)
		close(k->fd);
	k->map = NULL;
	k->fd = -1;
}

/* Where its pages are, after the sweep. */
static void kbuf_locate(struct kbuf *k)
{
	k->pct_split = pct_in_split_regions(k->map, k->size);
}

static void kcopy_measure(struct kbuf *k, const char *when, struct pmb_stats *out)
{
	struct pmb_spec s = {
		.metric = "kcopy", .unit = "GB/s", .cv_max = 0.03, .ref = PMB_REF_MEMCPY_1T,
		.ref_ratio = "kernel copy reading its source through the direct map / user-space memcpy, one thread",
	};
	json_t *m;

	pmb_progress(b, "kernel copy %s %s (%s buffer) %s", k->source, k->path, k->buffer, when);
	m = pmb_measure(b, &s, pmb_params("source", k->source, "path", k->path, "buffer", k->buffer,
					  "when", when, NULL), kcopy_sample, k, out);
	if (m && !strcmp(when, "after")) {
		json_t *c = json_object();

		/* A lower bound: regions split before this run are not known. */
		if (k->pct_split >= 0)
			json_object_set_new(c, "pct_pages_in_regions_split_by_this_run", json_real(k->pct_split));
		else
			pmb_counter_require(b, c, "pct_pages_in_regions_split_by_this_run",
					    "no PFNs from /proc/self/pagemap (needs CAP_SYS_ADMIN)");
		json_object_set_new(m, "counters", c);
	}
}

/* ---- main ------------------------------------------------------------------------ */

static int parse_chunks(const char *s, size_t *out)
{
	int n = 0;
	char *end;

	while (*s && n < MAX_CHUNKS) {
		long v = strtol(s, &end, 10);

		if (end == s || v < 4 || v > 2048 || (v & (v - 1)))
			return -1;
		out[n++] = (size_t)v << 10;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return *s ? -1 : n;
}

static bool noise_overlap(const struct pmb_stats *x, const struct pmb_stats *y)
{
	return x->min <= y->max && y->min <= x->max;
}

int main(int argc, char **argv)
{
	const struct pm_caps *caps;
	const struct mem_kind *kinds[3];
	int nkinds = 0, nphases = 0, nchunks;
	size_t chunks[MAX_CHUNKS], sample_bytes, kcopy_bytes;
	long budget_mib, kcopy_mib, seed;
	const char *chunk_list, *kvm_why;
	long long gmem_flags_cap = 0;
	struct phase *phases;
	struct kbuf kb[4];
	int nkb = 0;
	struct rlimit rl;
	char nodm_why[200] = "", vm_why[120];
	long long splits_now;

	b = pmb_init(argc, argv, "directmap",
		     "direct-map fragmentation by memfd_secret (and guest_memfd without direct map): splits per GiB, DirectMap drift, cost to kernel copies");
	budget_mib = pmb_param_long(b, "budget_mib", pmb_by_mode(b, 4, 256, 256));
	split_cap = pmb_param_long(b, "split_cap", pmb_by_mode(b, 64, 512, 512));
	chunk_list = pmb_param_str(b, "chunks_kib", pmb_mode(b) == PMB_SMOKE ? "4,64" : "4,64,512,2048");
	sweep_reps = pmb_param_long(b, "sweep_reps", pmb_by_mode(b, 3, 7, 15));
	kcopy_mib = pmb_param_long(b, "kcopy_mib", pmb_by_mode(b, 8, 128, 256));
	kpasses = (int)pmb_param_long(b, "kcopy_passes", pmb_by_mode(b, 1, 3, 3));
	seed = pmb_param_long(b, "seed", 1);
	pmb_params_done(b);

	nchunks = parse_chunks(chunk_list, chunks);
	if (nchunks <= 0)
		pmb_die(b, "--set chunks_kib wants a comma list of powers of two in [4, 2048], got '%s'", chunk_list);
	if (budget_mib < 1 || budget_mib > BUDGET_MAX_MIB)
		pmb_die(b, "--set budget_mib wants 1..%d (direct-map splits last until reboot)", BUDGET_MAX_MIB);
	if (sweep_reps < 2 || sweep_reps > 1000 || kcopy_mib < 1 || kcopy_mib > 4096 || kpasses < 1 ||
	    split_cap < 1)
		pmb_die(b, "--set: sweep_reps >= 2, kcopy_mib 1..4096, kcopy_passes >= 1, split_cap >= 1");

	/* What can run here. */
	caps = pm_caps();
	if (caps->secretmem)
		kinds[nkinds++] = &secretmem;
	else
		pmb_note(b, "skipped: %s", caps->secretmem_reason);
	kvm_why = pmb_kvm_unusable();
	if (!kvm_why) {
		vm = pm_vm_create(0);
		if (!vm) {
			snprintf(vm_why, sizeof(vm_why), "creating a VM: %s", strerror(errno));
			kvm_why = vm_why;
		}
	}
	if (vm) {
		gmem_flags_cap = pm_check_cap(vm->fd, KVM_CAP_GUEST_MEMFD_FLAGS);
		if (gmem_flags_cap < 0)
			gmem_flags_cap = 0;
	}
#ifdef GUEST_MEMFD_FLAG_NO_DIRECT_MAP
	if (kvm_why)
		snprintf(nodm_why, sizeof(nodm_why), "%s", kvm_why);
	else if ((gmem_flags_cap & gmem_nodm.gmem_flags) != gmem_nodm.gmem_flags)
		snprintf(nodm_why, sizeof(nodm_why), "KVM_CAP_GUEST_MEMFD_FLAGS=%#llx lacks NO_DIRECT_MAP|MMAP|INIT_SHARED",
			 gmem_flags_cap);
	else
		kinds[nkinds++] = &gmem_nodm;
#else
	snprintf(nodm_why, sizeof(nodm_why),
		 "KVM_CAP_GUEST_MEMFD_FLAGS=%#llx lacks NO_DIRECT_MAP (GUEST_MEMFD_FLAG_NO_DIRECT_MAP is not defined by the uapi headers this was built against; its bit is not guessed)",
		 gmem_flags_cap);
#endif
	if (nodm_why[0])
		pmb_note(b, "skipped: guest_memfd without direct map: %s", nodm_why);
	if (!nkinds) {
		fprintf(stderr, "directmap: nothing removes memory from the direct map here: %s; guest_memfd: %s\n",
			caps->secretmem_reason, nodm_why);
		if (vm)
			pm_vm_free(vm);
		return 4;
	}

	/* Size the sweep: every sample of every off-direct-map phase fits the budget. */
	{
		int samples = (int)(1 + sweep_reps) * 2 * nchunks * nkinds;
		size_t maxchunk = 0;

		for (int i = 0; i < nchunks; i++)
			if (chunks[i] > maxchunk)
				maxchunk = chunks[i];
		sample_bytes = ((size_t)budget_mib * MIB / samples) / maxchunk * maxchunk;
		if (!sample_bytes)
			pmb_die(b, "budget_mib=%ld is too small for %d samples of at least the %zu KiB chunk: raise it or drop large chunks_kib",
				budget_mib, samples, maxchunk >> 10);
		budget_left = (long long)budget_mib * MIB;
	}
	kcopy_bytes = (size_t)kcopy_mib * MIB;

	/* Enough descriptors for one sample of the smallest chunk. */
	{
		size_t minchunk = chunks[0];

		for (int i = 1; i < nchunks; i++)
			if (chunks[i] < minchunk)
				minchunk = chunks[i];
		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < sample_bytes / minchunk + 64) {
			rl.rlim_cur = rl.rlim_max < sample_bytes / minchunk + 64 ? rl.rlim_max : sample_bytes / minchunk + 64;
			setrlimit(RLIMIT_NOFILE, &rl);
			if (rl.rlim_cur < sample_bytes / minchunk + 64)
				pmb_die(b, "RLIMIT_NOFILE hard limit %lu < %zu files per sample",
					(unsigned long)rl.rlim_max, sample_bytes / minchunk);
		}
	}

	/* Say what this does to the machine, before doing it. */
	{
		/*
		 * Each page splits at most one 2 MiB region; a sample starts only while
		 * the run's splits are within split_cap, so the run splits at most
		 * split_cap + one sample's pages, and never more regions than RAM has.
		 */
		long long regions_max = (long long)budget_mib * MIB / PAGE;
		long long capped = split_cap + (long long)(sample_bytes / PAGE);
		long long ram_regions = caps->mem_kib / 2048;
		char names[64];

		snprintf(names, sizeof(names), "%s%s%s", kinds[0]->name, nkinds > 1 ? " and " : "",
			 nkinds > 1 ? kinds[1]->name : "");
		if (regions_max > capped)
			regions_max = capped;
		if (regions_max > ram_regions)
			regions_max = ram_regions;
		pmb_note(b, "IRREVERSIBLE UNTIL REBOOT: removing a page of %s from the direct map splits the large mapping around it (1 GiB -> 2 MiB, 2 MiB -> 4K) unless it is split already, and freeing the page merges nothing back. This run allocates at most %ld MiB of it in total (budget_mib; %zu KiB per sample, %ld samples per phase) and starts no sample once its level-2 splits exceed split_cap=%ld, so it splits at most %lld 2 MiB regions (%lld MiB of direct map turned into 4K pages); in practice far fewer, as the same pages are reused. The default budget is the same in --quick and --full; more only with --set budget_mib=N (at most %d).",
			 names, budget_mib, sample_bytes >> 10, 1 + sweep_reps, split_cap, regions_max,
			 regions_max * 2, BUDGET_MAX_MIB);
		if (pmb_mode(b) != PMB_SMOKE)
			fprintf(stderr, "directmap: WARNING: direct-map splits are irreversible until reboot. This run allocates up to %ld MiB of %s and splits at most %lld 2 MiB direct-map regions (%lld MiB of direct map turned into 4K pages; split_cap=%ld).\n",
				budget_mib, names, regions_max, regions_max * 2, split_cap);
	}

	pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	kdst = aligned_alloc(PAGE, KCOPY_IO);
	if (!kdst)
		pmb_die(b, "out of memory");
	memset(kdst, 0x5a, KCOPY_IO);
	/* One CPU for everything measured here; the kernel TLB flushes still reach the others. */
	pmb_pin_cpu(pmb_nr_cpus() - 1);

	pmb_snap(&snap_start);
	for (int k = 0; k < NR_KEYS; k++)
		key_present[k] = pmb_snap_get(&snap_start, keys[k]) >= 0;
	pmb_config(b, "sample_bytes", json_integer((json_int_t)sample_bytes));
	pmb_config(b, "kvm_cap_guest_memfd_flags", json_integer(gmem_flags_cap));
	pmb_note(b, "starting state: DirectMap4k %.0f MiB, direct_map_level2_splits %lld and level3_splits %lld since boot: regions split earlier split no more, so an already fragmented machine shows fewer new splits (regions_2m_per_gib is what an unsplit direct map would take)",
		 pmb_snap_get(&snap_start, "DirectMap4k") / 1024.0,
		 pmb_snap_get(&snap_start, "direct_map_level2_splits"),
		 pmb_snap_get(&snap_start, "direct_map_level3_splits"));
	t_drift = pmb_table(b, "drift", "step,label,directmap4k_mib,directmap2m_mib,directmap1g_mib,level2_splits,level3_splits,level2_collapses,level3_collapses");
	t_splits = pmb_table(b, "splits", "mem,chunk,chunk_kib,free_order,mib_allocated,alloc_ns_per_page,free_ns_per_page,level2_splits,level3_splits,level2_splits_per_gib,regions_2m_per_gib,regions_2m_first_touched,collapses,directmap4k_kib_alloc,directmap4k_kib_free");
	drift_row("start");
	pmb_note(b, "regions_2m_per_gib: distinct 2 MiB physical regions the pages of one sample fall in (from /proc/self/pagemap), per GiB of sample (its size is the \"sample\" param): the level-2 splits that memory would cause on a direct map not split before. It is per sample, so bounded by the machine's region count, and larger samples pack more pages into each region");

	/* 1. Kernel copy before. */
	if (!kbuf_make(&kb[nkb], "tmpfs", "old", kcopy_bytes))
		pmb_die(b, "tmpfs kernel-copy file of %ld MiB: %s", kcopy_mib, strerror(errno));
	nkb++;
	if (vm) {
		if (kbuf_make(&kb[nkb], "gmem", "old", kcopy_bytes)) {
			nkb++;
		} else {
			pmb_note(b, "skipped: kernel copy from guest_memfd: %s", strerror(errno));
			kbuf_free(&kb[nkb]);
		}
	} else {
		pmb_note(b, "skipped: guest_memfd control and kernel copy from guest_memfd: %s", kvm_why);
	}
	for (int i = 0; i < nkb; i++)
		kcopy_measure(&kb[i], "before", &kb[i].before);
	drift_row("kcopy before");

	/* 2 + 3. The phases: the control first, so memory freed by the sweep is what the new buffers get. */
	phases = calloc(MAX_PHASES, sizeof(*phases));
	if (!phases)
		pmb_die(b, "out of memory");
	if (vm && (gmem_flags_cap & gmem_plain.gmem_flags) == gmem_plain.gmem_flags) {
		for (int c = 0; c < nchunks; c++)
			phases[nphases++] = (struct phase){ .mem = &gmem_plain, .chunk = chunks[c] };
	} else if (vm) {
		pmb_note(b, "skipped: guest_memfd control: KVM_CAP_GUEST_MEMFD_FLAGS=%#llx lacks MMAP|INIT_SHARED",
			 gmem_flags_cap);
	}
	for (int k = 0; k < nkinds; k++)
		for (int c = 0; c < nchunks; c++)
			for (int r = 0; r < 2; r++)
				phases[nphases++] = (struct phase){ .mem = kinds[k], .chunk = chunks[c], .random = r };
	for (int i = 0; i < nphases; i++) {
		struct pmb_snap s;

		phases[i].bytes = sample_bytes;
		phases[i].id = i + 1;
		phases[i].seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)seed ^ ((uint64_t)(i + 1) << 32);
		pmb_snap(&s);
		splits_now = splits_since_start(&s);
		if (phases[i].mem->off_direct_map && key_present[L2S] && splits_now > split_cap) {
			pmb_warn(b, "stopped before %s chunk %zu KiB: this run's level-2 splits (%lld) exceed split_cap=%ld",
				 phases[i].mem->name, phases[i].chunk >> 10, splits_now, split_cap);
			break;
		}
		if (phases[i].bytes / phases[i].chunk < 4 && phases[i].random)
			pmb_note(b, "%s chunk %zu KiB: only %zu chunks per sample, so the random free order is nearly sequential",
				 phases[i].mem->name, phases[i].chunk >> 10, phases[i].bytes / phases[i].chunk);
		run_phase(&phases[i]);
	}

	/* 4. Kernel copy after: the old buffers, then new ones that reuse what the sweep freed. */
	{
		int old = nkb;

		for (int i = 0; i < old; i++) {
			if (kbuf_make(&kb[nkb], kb[i].source, "new", kcopy_bytes))
				nkb++;
			else {
				pmb_error(b, "new %s kernel-copy buffer: %s", kb[i].source, strerror(errno));
				kbuf_free(&kb[nkb]);
			}
		}
		for (int i = 0; i < nkb; i++)
			kbuf_locate(&kb[i]);
		for (int i = 0; i < nkb; i++)
			kcopy_measure(&kb[i], "after", &kb[i].after);
		drift_row("kcopy after");

		/* after / before: old buffer against itself, new buffer against the old one before. */
		{
			struct pmb_table *t = pmb_table(b, "kcopy", "i,source,path,buffer,before_gbs,before_min,before_max,after_gbs,after_min,after_max,after_over_before,pct_pages_in_split_regions,within_noise");
			json_t *res = json_array();

			for (int i = 0; i < nkb; i++) {
				const struct pmb_stats *bef = i < old ? &kb[i].before : &kb[i - old].before;
				double ratio = bef->median > 0 ? kb[i].after.median / bef->median : NAN;
				bool noise = noise_overlap(bef, &kb[i].after);
				char where[96];

				pmb_row(t, "%d,%s,%s,%s,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.4f,%.1f,%s", i, kb[i].source,
					kb[i].path, kb[i].buffer, bef->median, bef->min, bef->max,
					kb[i].after.median, kb[i].after.min, kb[i].after.max, ratio,
					kb[i].pct_split >= 0 ? kb[i].pct_split : NAN, noise ? "yes" : "no");
				if (kb[i].pct_split >= 0)
					snprintf(where, sizeof(where), "%.1f%% of its pages in 2 MiB regions this run split",
						 kb[i].pct_split);
				else
					snprintf(where, sizeof(where), "placement unknown (no PFNs)");
				pmb_note(b, "kernel copy %s %s, %s buffer: after/before %.3f (%.2f vs %.2f GB/s; CV %.1f%% / %.1f%%); %s%s",
					 kb[i].source, kb[i].path, kb[i].buffer, ratio, kb[i].after.median,
					 bef->median, 100 * bef->cv, 100 * kb[i].after.cv, where,
					 noise ? "; within noise (the before and after sample ranges overlap)" : "");
				json_array_append_new(res, json_pack("{s:s, s:s, s:s, s:f, s:o, s:b}", "source", kb[i].source,
							  "path", kb[i].path, "buffer", kb[i].buffer, "after_over_before", ratio,
							  "pct_pages_in_regions_split_by_this_run",
							  kb[i].pct_split >= 0 ? json_real(kb[i].pct_split) : json_null(),
							  "within_noise", noise));
			}
			pmb_result(b, "kcopy_after_over_before", res);
		}
		/*
		 * The same copy at the same time from unmovable pages (guest_memfd, mostly in
		 * regions the sweep split) and movable ones (tmpfs, outside them): the
		 * direct-map page size is the difference the sweep made between them.
		 */
		if (nkb == 4) {
			const struct kbuf *t = &kb[2], *g = &kb[3];

			pmb_note(b, "kernel copy after the sweep, new buffers: guest_memfd / tmpfs = %.3f (%.1f%% vs %.1f%% of their pages in regions this run split); before the sweep, old buffers: %.3f%s",
				 g->after.median / t->after.median, g->pct_split, t->pct_split,
				 kb[1].before.median / kb[0].before.median,
				 noise_overlap(&g->after, &t->after) ? "; after: within noise (sample ranges overlap)" : "");
		}
	}

	/* What the run left behind. */
	{
		struct pmb_snap end;
		long long d[NR_KEYS] = { 0 };
		json_t *dm;

		pmb_snap(&end);
		delta(&snap_start, &end, d);
		dm = json_pack("{s:o, s:o, s:o, s:b}", "at_start", pmb_snap_json(&snap_start),
				"at_end", pmb_snap_json(&end), "over_run", pmb_snap_delta(&snap_start, &end),
				"collapsed_back", d[L2C] + d[L3C] > 0);
		pmb_note(b, "over the run: %lld level-2 and %lld level-3 splits, %lld + %lld collapses; DirectMap4k %+lld MiB, 2M %+lld MiB, 1G %+lld MiB (system-wide counters: other activity counts too)%s",
			 d[L2S], d[L3S], d[L2C], d[L3C], d[DM4K] / 1024, d[DM2M] / 1024, d[DM1G] / 1024,
			 d[L2C] + d[L3C] == 0 && d[DM4K] >= 0 ? "; nothing collapsed back after the frees" : "");
		if (reg2m.n) {
			long touched = 0;

			for (size_t i = 0; i < reg2m.n; i++)
				touched += reg2m.off_dm[i];
			pmb_note(b, "%s pages of this run touched %ld distinct 2 MiB regions (%ld MiB of direct map now 4K-mapped, split by this run or earlier)",
				 kinds[0]->name, touched, touched * 2);
			json_object_set_new(dm, "regions_2m_touched_by_run", json_integer(touched));
		}
		if (pagemap_fd < 0 || !reg2m.n)
			pmb_note(b, "unavailable: physical placement (regions_2m_per_gib, pct_pages_in_regions_split_by_this_run): /proc/self/pagemap gave no PFNs (needs CAP_SYS_ADMIN)");
		pmb_result(b, "direct_map", dm);
	}

	for (int i = 0; i < nkb; i++)
		kbuf_free(&kb[i]);
	free(phases);
	free(kdst);
	if (pagemap_fd >= 0)
		close(pagemap_fd);
	if (vm)
		pm_vm_free(vm);
	return pmb_finish(b);
}
