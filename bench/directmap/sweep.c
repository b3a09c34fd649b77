// SPDX-License-Identifier: GPL-2.0
/*
 * directmap sweep (directmap.h): which physical regions the memory lands in,
 * the direct-map counters, one sample (allocate + touch, locate, free in order)
 * and one phase (a chunk size and free order of one kind of memory).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "directmap.h"

/* ---- physical placement (/proc/self/pagemap) ------------------------------------- */

struct regions reg2m = { .shift = 9 }, reg1g = { .shift = 18 };

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
double pct_in_split_regions(const char *map, size_t size)
{
	size_t pages = size / PAGE, in = 0, known = 0;
	uint64_t *pfn = malloc(pages * sizeof(*pfn));

	if (!pfn || pmb_pagemap_pfns(map, pages, pfn)) {
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

const char *const keys[NR_KEYS] = {
	"direct_map_level2_splits", "direct_map_level3_splits",
	"direct_map_level2_collapses", "direct_map_level3_collapses",
	"DirectMap4k", "DirectMap2M", "DirectMap1G", "irq_CAL", "irq_TLB",
};
bool key_present[NR_KEYS];

void delta(const struct pmb_snap *a, const struct pmb_snap *z, long long *acc)
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

struct pmb_snap snap_start;

/* DirectMap drift over the run: one row per step. */
struct pmb_table *t_drift;
static int drift_step;

void drift_row(const char *label)
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

long long budget_left;
long split_cap;

/* Level-2 splits since the run started (0 where the kernel has no such counter). */
long long splits_since_start(const struct pmb_snap *now)
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
	if (pmb_backing(ph->mem)->off_direct_map) {
		/* Safety net: the sample sizes were chosen so this never triggers. */
		if (budget_left < (long long)ph->bytes) {
			pmb_error(b, "%s: the memory budget is exhausted (sizing bug)", pmb_backing_name(ph->mem));
			return -1;
		}
		/*
		 * The hard stop inside a phase (between phases the run stops with a
		 * warning): a run is refused rather than let it split more.
		 */
		if (splits_since_start(&s0) > split_cap) {
			pmb_error(b, "stopped in %s chunk %zu KiB: this run's level-2 splits (%lld) exceed split_cap=%ld",
				  pmb_backing_name(ph->mem), ph->chunk >> 10, splits_since_start(&s0), split_cap);
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
		ph->fd[i] = pmb_backing_fd(ph->mem, vm, ph->chunk);
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
		if (pmb_pagemap_pfns(ph->map[i], per, ph->pfn + i * per))
			memset(ph->pfn + i * per, 0, per * sizeof(*ph->pfn));
	}
	for (size_t p = 0; p < pages; p++) {
		if (!ph->pfn[p])
			continue;
		ph->pfns_ok = true;
		regions_add(&reg2m, ph->pfn[p], sid, ph->id, pmb_backing(ph->mem)->off_direct_map, &c2);
		regions_add(&reg1g, ph->pfn[p], sid, ph->id, pmb_backing(ph->mem)->off_direct_map, &c1);
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
	pmb_error(b, "%s chunk %zu KiB: allocating: %s", pmb_backing_name(ph->mem), ph->chunk >> 10, strerror(errno));
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

struct pmb_table *t_splits;
long sweep_reps;

void run_phase(struct phase *ph)
{
	size_t nchunks = ph->bytes / ph->chunk;
	int nsamples = 1 + (int)sweep_reps;
	char chunk[24], sample[24], label[80], n1[32], n2[32];
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
	pmb_progress(b, "%s chunk %s, free %s: %d samples of %zu MiB", pmb_backing_name(ph->mem), chunk, order,
		     nsamples, ph->bytes / MIB);

	m = pmb_measure(b, &alloc, pmb_params("mem", pmb_backing_name(ph->mem), "chunk", chunk, "free_order", order,
					      "sample", sample, NULL), sweep_sample, ph, &sa);
	if (m) {
		/* The warm-up sample comes first; the rest are the measured repetitions. */
		int w = ph->n - sa.n;

		pmb_record(b, &freed, pmb_params("mem", pmb_backing_name(ph->mem), "chunk", chunk, "free_order",
						 order, "sample", sample, NULL), ph->free_ns + w, sa.n, &sf);
		if (ph->pfns_ok)
			pmb_record(b, &regions, pmb_params("mem", pmb_backing_name(ph->mem), "chunk", chunk,
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
			if (pmb_backing(ph->mem)->off_direct_map)
				json_object_set_new(c, "regions_2m_first_touched_in_run",
						    json_integer(ph->r2m.new_in_run));
		}
		json_object_set_new(m, "counters", c);
	}
	l2 = key_present[L2S] ? ph->alloc_d[L2S] + ph->free_d[L2S] : -1;
	pmb_row(t_splits, "%s,%s,%zu,%s,%.2f,%.1f,%.1f,%lld,%lld,%s,%s,%ld,%lld,%lld,%lld",
		pmb_backing_name(ph->mem), chunk, ph->chunk >> 10, order, gib * 1024, sa.median, sf.median,
		l2, key_present[L3S] ? ph->alloc_d[L3S] + ph->free_d[L3S] : -1,
		pmb_num(n1, sizeof(n1), "%.1f", l2 >= 0 ? l2 / gib : NAN),
		pmb_num(n2, sizeof(n2), "%.1f", ph->pfns_ok ? sr.median : NAN),
		pmb_backing(ph->mem)->off_direct_map ? ph->r2m.new_in_run : 0,
		ph->alloc_d[L2C] + ph->free_d[L2C] + ph->alloc_d[L3C] + ph->free_d[L3C],
		ph->alloc_d[DM4K], ph->free_d[DM4K]);
	snprintf(label, sizeof(label), "%s %s %s", pmb_backing_name(ph->mem), chunk, order);
	drift_row(label);
	free(ph->fd);
	free(ph->map);
	free(ph->order);
	free(ph->pfn);
	free(ph->free_ns);
	free(ph->regions_per_gib);
}

