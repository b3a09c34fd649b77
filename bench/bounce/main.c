// SPDX-License-Identifier: GPL-2.0
/*
 * bounce: the bounce-buffer data path a confidential guest pays for I/O (what
 * and how: bounce.h). main() runs the steps: parse, setup (the pool and the
 * buffers, untimed), describe, sweep, record, then the fio variant.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bounce.h"

/* ---- parameters ------------------------------------------------------------------ */

static long parse_size(const char *s, char **end)
{
	long v = strtol(s, end, 10);

	if (**end == 'k' || **end == 'K')
		v <<= 10, (*end)++;
	else if (**end == 'm' || **end == 'M')
		v <<= 20, (*end)++;
	return v;
}

/* "512,4k,1m" -> sizes; the number parsed, or -1 on a malformed list. */
int parse_sizes(const char *s, long *v, int max, long lo, long hi)
{
	int n = 0;

	while (*s && n < max) {
		char *end;

		v[n] = parse_size(s, &end);
		if (end == s || (*end && *end != ',') || v[n] < lo || v[n] > hi)
			return -1;
		n++;
		s = *end ? end + 1 : end;
	}
	return *s ? -1 : n;
}

/*
 * Thread counts x area settings. Threads: a list of counts, "max" (= ncpu), "all"
 * (1..ncpu) or "spread" (1, ncpu/4, ncpu/2, ncpu: bounded work on big machines).
 * Areas: "threads" (the count rounded up to a power of two) and/or powers of two.
 */
static int make_configs(struct pmb *b, const char *threads_s, const char *areas_s, int ncpu,
			struct config *cfg)
{
	char tmp[256], *save = NULL;
	int thr[MAX_THREADS], nthr = 0, ncfg = 0;

	if (!strcmp(threads_s, "all")) {
		for (int t = 1; t <= ncpu && nthr < MAX_THREADS; t++)
			thr[nthr++] = t;
	} else if (!strcmp(threads_s, "spread")) {
		const int want[4] = { 1, ncpu / 4, ncpu / 2, ncpu };

		for (int i = 0; i < 4; i++)
			if (want[i] >= 1 && want[i] <= MAX_THREADS && (nthr == 0 || thr[nthr - 1] < want[i]))
				thr[nthr++] = want[i];
	} else {
		snprintf(tmp, sizeof(tmp), "%s", threads_s);
		for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int t = !strcmp(tok, "max") ? ncpu : atoi(tok);

			if (t < 1 || t > ncpu || t > MAX_THREADS)
				pmb_die(b, "--set threads wants 1..%d (threads are pinned one per online CPU), "
					"'max', 'all' or 'spread', got '%s'", ncpu, tok);
			if (nthr == 0 || thr[nthr - 1] != t)
				thr[nthr++] = t;
		}
	}
	for (int i = 0; i < nthr; i++) {
		snprintf(tmp, sizeof(tmp), "%s", areas_s);
		save = NULL;
		for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			unsigned int a = !strcmp(tok, "threads") ? pow2_ceil(thr[i]) : (unsigned int)atoi(tok);
			bool dup = false;

			if (a < 1 || a > 1024 || (a & (a - 1)))
				pmb_die(b, "--set areas wants 'threads' or powers of two up to 1024, got '%s'", tok);
			for (int c = 0; c < ncfg; c++)
				dup |= cfg[c].threads == thr[i] && cfg[c].areas == a;
			if (!dup && ncfg < MAX_CONFIGS)
				cfg[ncfg++] = (struct config){ thr[i], a };
		}
	}
	if (ncfg == 0)
		pmb_die(b, "--set threads/areas give no configuration");
	return ncfg;
}


/* ---- the steps ------------------------------------------------------------------------ */

struct bo_run {
	struct pmb *b;
	int ncpu;
	long pool_mib, buf_mib, sample_ms, slices, map_copy, fio_on;
	long fio_runtime, fio_ramp, fio_log, fio_file;
	const char *priv_kind, *fio_bs, *fio_jobs, *priv_used;
	long sizes[2][MAX_LIST];
	int nsizes[2], ncfg, maxthr;
	struct config cfg[MAX_CONFIGS];
	struct pool pool;
	struct pmb_mem pool_mem, priv[MAX_THREADS], dev[MAX_THREADS];
	struct pmb_snap s0, s1;		/* around the private buffers' setup */
	struct run *r;
	struct point (*pt[2])[MAX_LIST];	/* per direction: [config][size] */
};

/* parse: the common options and bounce's parameters; bad input exits 2. */
static void parse(struct bo_run *o, int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "bounce",
		"swiotlb-style bounce-buffer I/O (2 KiB slots, 256 KiB segments, areas) vs direct, "
		"against the memcpy floor; fio through a shared-memory buffer");
	bool smoke = pmb_mode(b) == PMB_SMOKE, quick = pmb_mode(b) == PMB_QUICK;
	/* 64k first: the first metric recorded is the run's headline. */
	const char *sizes_s, *read_sizes_s, *threads_s, *areas_s;

	o->b = b;
	o->ncpu = pmb_nr_cpus();
	o->maxthr = 1;
	o->pool_mib = pmb_param_long(b, "pool_mib", 64);
	o->buf_mib = pmb_param_long(b, "buf_mib", pmb_by_mode(b, 4, 64, 64));
	o->sample_ms = pmb_param_long(b, "sample_ms", pmb_by_mode(b, 2, 40, 100));
	o->slices = pmb_param_long(b, "slices", 16);
	sizes_s = pmb_param_str(b, "sizes", smoke ? "64k,4k,1m" :
		quick ? "64k,512,4k,256k,1m" : "64k,512,1k,2k,4k,8k,16k,32k,128k,256k,512k,1m");
	read_sizes_s = pmb_param_str(b, "read_sizes", smoke ? "64k" :
		quick ? "64k,512,1m" : "64k,512,4k,256k,1m");
	threads_s = pmb_param_str(b, "threads", quick || smoke ? "1,max" : "spread");
	areas_s = pmb_param_str(b, "areas", "threads,1");
	o->priv_kind = pmb_param_str(b, "private", "memfd");
	o->map_copy = pmb_param_long(b, "map_copy", 1);
	o->fio_on = pmb_param_long(b, "fio", 1);
	o->fio_bs = pmb_param_str(b, "fio_bs", smoke ? "64k" : quick ? "4k,256k" : "4k,64k,256k,1m");
	o->fio_runtime = pmb_param_long(b, "fio_runtime_ms", pmb_by_mode(b, 600, 800, 3000));
	o->fio_ramp = pmb_param_long(b, "fio_ramp_ms", pmb_by_mode(b, 100, 200, 1000));
	o->fio_log = pmb_param_long(b, "fio_log_ms", pmb_by_mode(b, 100, 100, 250));
	o->fio_file = pmb_param_long(b, "fio_file_mib", pmb_by_mode(b, 8, 64, 256));
	o->fio_jobs = pmb_param_str(b, "fio_jobs", "");
	pmb_params_done(b);
	if (o->pool_mib < 1 || o->pool_mib > 4096 || o->buf_mib < 1 || o->buf_mib > 4096 || o->sample_ms < 1 ||
	    o->slices < 1 || o->slices > MAX_SLICES ||
	    (o->map_copy != 0 && o->map_copy != 1) ||
	    (strcmp(o->priv_kind, "memfd") && strcmp(o->priv_kind, "secret") && strcmp(o->priv_kind, "anon")))
		pmb_die(b, "pool_mib and buf_mib want 1..4096 (MiB), sample_ms >= 1, slices 1..%d, map_copy 0 or 1, "
			"private memfd|secret|anon", MAX_SLICES);
	o->nsizes[0] = parse_sizes(sizes_s, o->sizes[0], MAX_LIST, 1, 64L << 20);
	o->nsizes[1] = parse_sizes(read_sizes_s, o->sizes[1], MAX_LIST, 1, 64L << 20);
	if (o->nsizes[0] < 0 || o->nsizes[1] < 0)
		pmb_die(b, "--set sizes/read_sizes want lists such as 512,4k,64k,1m (at most %d)", MAX_LIST);
	for (int d = 0; d < 2; d++)
		for (int i = 0; i < o->nsizes[d]; i++)
			if (2 * o->sizes[d][i] > o->buf_mib << 20)
				pmb_die(b, "I/O size %ld does not fit twice in buf_mib=%ld", o->sizes[d][i], o->buf_mib);
	o->ncfg = make_configs(b, threads_s, areas_s, o->ncpu, o->cfg);
	for (int c = 0; c < o->ncfg; c++)
		o->maxthr = o->cfg[c].threads > o->maxthr ? o->cfg[c].threads : o->maxthr;
}

/*
 * A buffer for the private side: memfd_secret (private), memfd, or anonymous
 * memory under the system's THP policy, as malloc would get.
 */
static int map_private(struct pmb_mem *m, const char *kind, size_t len, const char **used)
{
	char why[200];

	if (strcmp(kind, "anon")) {
		*used = !strcmp(kind, "secret") ? "memfd_secret" : "memfd";
		return pmb_mem_open(m, !strcmp(kind, "secret") ? PMB_SECRETMEM : PMB_SHMEM, NULL, len,
				    why, sizeof(why));
	}
	*used = "anonymous";
	*m = (struct pmb_mem){ .kind = PMB_ANON, .size = len, .fd = -1 };
	m->p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->p == MAP_FAILED) {
		m->p = NULL;
		return -1;
	}
	return 0;
}

/* setup (untimed): the shared pool, and private and device buffers for the largest thread count. */
static void setup(struct bo_run *o)
{
	struct pmb *b = o->b;
	size_t pool_bytes = (size_t)o->pool_mib << 20;
	char why[200];
	struct run *r;

	/* The shared pool: a memfd mapped shared, prefaulted (its faults are not the I/O's). */
	if (pmb_mem_open(&o->pool_mem, PMB_SHMEM, NULL, pool_bytes, why, sizeof(why)))
		pmb_die(b, "cannot create the %ld MiB pool: %s", o->pool_mib, why);
	o->pool.mem = o->pool_mem.p;
	memset(o->pool.mem, 0, pool_bytes);
	o->pool.nslots = (unsigned int)(pool_bytes >> SLOT_SHIFT);
	o->pool.free_run = malloc(o->pool.nslots);
	if (!o->pool.free_run)
		pmb_die(b, "out of memory");
	for (int c = 0; c < o->ncfg; c++)
		if (o->cfg[c].areas > o->pool.nslots / SEG_SLOTS)
			pmb_die(b, "areas=%u needs a pool of at least %u MiB (one 256 KiB segment per area)",
				o->cfg[c].areas, (o->cfg[c].areas + 3) / 4);

	r = o->r = calloc(1, sizeof(*r));
	if (!r)
		pmb_die(b, "out of memory");
	r->pool = &o->pool;
	r->buf = o->buf_mib << 20;
	r->map_copy = o->map_copy;
	r->slices = (int)o->slices;
	pmb_snap(&o->s0);
	for (int i = 0; i < o->maxthr; i++) {
		struct worker *w = &r->w[i];
		int rc = map_private(&o->priv[i], o->priv_kind, r->buf, &o->priv_used);

		w->r = r;
		w->cpu = i % o->ncpu;
		if (rc && !strcmp(o->priv_kind, "secret") && i == 0) {
			pmb_note(b, "private=secret: memfd_secret unavailable (%s); using memfd", strerror(errno));
			o->priv_kind = "memfd";
			rc = map_private(&o->priv[i], o->priv_kind, r->buf, &o->priv_used);
		}
		/* 4K pages like the memcpy reference's malloc buffers (THP would flatter the model). */
		if (rc || pmb_mem_open(&o->dev[i], PMB_ANON, NULL, r->buf, why, sizeof(why)))
			pmb_die(b, "cannot map %ld MiB buffers for thread %d (private=%s): %s", o->buf_mib, i,
				o->priv_kind, strerror(errno));
		w->priv = o->priv[i].p;
		w->dev = o->dev[i].p;
		memset(w->priv, 0x5a, r->buf);
		memset(w->dev, 0xa5, r->buf);
	}
	pmb_snap(&o->s1);
}

/* describe: the model in the configuration, what the buffers are, the references. */
static void describe(struct bo_run *o)
{
	struct pmb *b = o->b;
	json_t *jm = json_pack("{s:i, s:i, s:i, s:i, s:I, s:s, s:s, s:s, s:b, s:[]}", "slot_bytes", (int)SLOT_SIZE,
			       "segment_slots", (int)SEG_SLOTS, "max_mapping_bytes", (int)MAX_MAPPING,
			       "pool_slots", (int)o->pool.nslots, "buf_bytes_per_thread", (json_int_t)o->r->buf,
			       "private_backing", o->priv_used, "pool_backing", "memfd, MAP_SHARED, 4K pages",
			       "device_backing", "anonymous, MADV_NOHUGEPAGE", "read_map_copy", o->map_copy != 0,
			       "configs");

	for (int c = 0; c < o->ncfg; c++)
		json_array_append_new(json_object_get(jm, "configs"),
				      json_pack("{s:i, s:i}", "threads", o->cfg[c].threads, "areas", o->cfg[c].areas));
	pmb_config(b, "model", jm);
	if (!strcmp(o->priv_used, "memfd_secret")) {
		pmb_config(b, "private_setup_counters", pmb_snap_delta(&o->s0, &o->s1));
		pmb_note(b, "private=secret: the private buffers are memfd_secret, removed from the kernel "
			 "direct map, which can split direct-map huge pages (see private_setup_counters)");
	} else {
		pmb_note(b, "private buffers are %s (the guest-side source/destination; a CVM's would also "
			 "be encrypted, which a host cannot model). --set private=secret uses memfd_secret, "
			 "which removes its pages from the direct map and so splits direct-map huge pages "
			 "(irreversible until reboot; left to the directmap benchmark by default)", o->priv_used);
	}
	/* References first: every ratio below is read against them. */
	pmb_ref(b, PMB_REF_MEMCPY_1T);
	if (o->maxthr > 1)
		pmb_ref(b, PMB_REF_MEMCPY_ALL);
}

/* sweep: every (direction, configuration, size) point, its metrics recorded as measured. */
static void sweep(struct bo_run *o)
{
	for (int d = 0; d < 2; d++) {
		if (o->nsizes[d] == 0)
			continue;
		o->pt[d] = calloc(o->ncfg, sizeof(*o->pt[d]));
		if (!o->pt[d])
			pmb_die(o->b, "out of memory");
		o->r->read = d == 1;
		for (int c = 0; c < o->ncfg; c++) {
			bool first_of_threads = c == 0 || o->cfg[c - 1].threads != o->cfg[c].threads;

			for (int i = 0; i < o->nsizes[d]; i++) {
				o->r->io = o->sizes[d][i];
				measure_point(o->b, o->r, &o->pool, &o->cfg[c], first_of_threads,
					      d == 0 && c == 0 && i == 0, o->sample_ms, &o->pt[d][c][i]);
			}
		}
	}
}

/* record: the plot tables, the contention answer, what the model is and is not. */
static void record(struct bo_run *o)
{
	struct pmb *b = o->b;
	json_t *contention = json_object();

	for (int d = 0; d < 2; d++) {
		if (!o->pt[d])
			continue;
		write_tables(b, d == 1, o->sizes[d], o->nsizes[d], o->cfg, o->ncfg, o->pt[d]);
		contention_result(contention, d == 1, o->sizes[d], o->nsizes[d], o->cfg, o->ncfg, o->pt[d]);
		free(o->pt[d]);
	}
	pmb_result(b, "areas_contention", contention);
	pmb_note(b, "model: 2 KiB slots, 128-slot (256 KiB) segments, I/Os > 256 KiB split into 256 KiB "
		 "mappings, >= 4 KiB mappings page-aligned, one spinlock per area, area = cpu & (areas-1) "
		 "then the next; write = copy private->slots + device copy slots->device; read = copy "
		 "private->slots at map (map_copy=%ld) + device copy device->slots + copy slots->private "
		 "at unmap; direct = the device copy only. CPU copies only: no DMA engine, no IOMMU, no "
		 "memory encryption (a CVM's private-side copies also pay it)", o->map_copy);
	pmb_note(b, "floor_fraction = bounced GB/s / (memcpy GB/s / 2): memcpy_1thread for 1 thread, "
		 "memcpy_allcpus for more (an upper bound for 1 < threads < all CPUs). The model's second "
		 "copy reads slots the CPU has just written (cache-warm), so a fraction above 1 is possible. "
		 "cost = bounce time / direct time of the same bytes, interleaved in slices (median over "
		 "a sample's slices): 2 / cost is the fraction of a two-copy floor measured alongside "
		 "(same I/O size, same buffers), immune to the drift of the host's memory bandwidth "
		 "between the reference and the sweep");
	pmb_note(b, "not measured: swiotlb debugfs (io_tlb_used_hiwater) and the swiotlb:swiotlb_bounced "
		 "tracepoint count bounces only in a guest whose DMA goes through swiotlb (memory "
		 "encryption or swiotlb=force); on this host they do not move, so none is claimed");
}

static void teardown(struct bo_run *o)
{
	for (int i = 0; i < o->maxthr; i++) {
		pmb_mem_close(&o->priv[i]);
		pmb_mem_close(&o->dev[i]);
	}
	pmb_mem_close(&o->pool_mem);
	for (unsigned int a = 0; a < o->pool.nareas; a++)
		pthread_spin_destroy(&o->pool.areas[a].lock);
	free(o->pool.areas);
	free(o->pool.free_run);
	free(o->r->bounce);
	free(o->r->direct);
	free(o->r->cost);
	free(o->r);
}

int main(int argc, char **argv)
{
	struct bo_run *o = calloc(1, sizeof(*o));
	int rc;

	if (!o)
		return 2;
	parse(o, argc, argv);
	setup(o);
	describe(o);
	sweep(o);
	record(o);
	if (o->fio_on)
		run_fio(o->b, o->fio_jobs, o->fio_bs, o->fio_runtime, o->fio_ramp, o->fio_log, o->fio_file);
	else
		pmb_note(o->b, "skipped: fio variant: --set fio=0");
	teardown(o);
	rc = pmb_finish(o->b);
	free(o);
	return rc;
}
