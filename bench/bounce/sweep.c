// SPDX-License-Identifier: GPL-2.0
/*
 * bounce sweep (bounce.h): one measured (direction, size, threads, areas) point
 * and its metrics, the plot tables, the contention answer.
 */
#include <math.h>
#include <stdlib.h>

#include "bounce.h"

unsigned int pow2_ceil(unsigned int v)
{
	unsigned int p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static const char *ref_label(enum pmb_ref r)
{
	return r == PMB_REF_MEMCPY_1T ? "memcpy_1thread/2" : "memcpy_allcpus/2";
}

/* Measure one (direction, size, threads, areas) point and record its metrics. */
void measure_point(struct pmb *b, struct run *r, struct pool *pool, const struct config *c,
			  bool record_direct, bool core, long sample_ms, struct point *pt)
{
	const char *dname = r->read ? "read" : "write";
	const char *copies = !r->read ? "2" : r->map_copy ? "3" : "2";
	enum pmb_ref ref = c->threads == 1 ? PMB_REF_MEMCPY_1T : PMB_REF_MEMCPY_ALL;
	/* A smoke run validates the output, not timing: its few tiny samples are not judged. */
	double cv_max = pmb_mode(b) == PMB_SMOKE ? 1.0 : 0.03;
	double floor_gbps = pmb_ref(b, ref)->median / 2;
	char mb[32], md[32], mc[32], mf[32], sbuf[24], tbuf[16], abuf[16];
	/* core: the headline point (the first measured), bounced GB/s and its paired cost. */
	struct pmb_spec sb = { .metric = mb, .unit = "GB/s", .cv_max = cv_max, .ref = ref,
		.core = core,
		.ref_ratio = "bounced payload GB/s / memcpy GB/s; a bounced byte is copied `copies` "
			     "times (>= 2), so 0.5 is the two-copy floor (floor_fraction = 2 x this)" };
	struct pmb_spec sd = { .metric = md, .unit = "GB/s", .cv_max = cv_max, .ref = ref,
		.ref_ratio = "direct (one copy per byte) GB/s / memcpy GB/s: 1.0 = at the memcpy floor" };
	struct pmb_spec sc = { .metric = mc, .unit = "x", .cv_max = cv_max, .core = core };
	struct pmb_spec sf = { .metric = mf, .unit = "fraction", .cv_max = cv_max };
	unsigned long retries = 0, hiwater = 0;
	struct pmb_stats st, sts;
	double *ff;
	json_t *m;
	int n;

	snprintf(mb, sizeof(mb), "bounce_%s", dname);
	snprintf(md, sizeof(md), "direct_%s", dname);
	snprintf(mc, sizeof(mc), "cost_%s", dname);
	snprintf(mf, sizeof(mf), "floor_fraction_%s", dname);
	snprintf(sbuf, sizeof(sbuf), "%zu", r->io);
	snprintf(tbuf, sizeof(tbuf), "%d", c->threads);
	snprintf(abuf, sizeof(abuf), "%u", c->areas);
	pmb_progress(b, "%s size=%s threads=%s areas=%s", dname, sbuf, tbuf, abuf);
	pt->bounce = pt->direct = pt->floor_frac = NAN;	/* until measured */

	if (pool_reset(pool, c->areas))
		pmb_die(b, "cannot split the pool into %u areas", c->areas);
	r->threads = c->threads;
	calibrate(r, sample_ms * 1e6);
	pool_reset(pool, c->areas);
	for (int k = 0; k < r->threads; k++)
		r->w[k].retries = 0;
	r->nhist = 0;
	m = pmb_measure(b, &sb, pmb_params("size", sbuf, "threads", tbuf, "areas", abuf,
					   "copies", copies, NULL), sample, r, &st);
	if (!m)
		return;
	for (int k = 0; k < r->threads; k++)
		retries += r->w[k].retries;
	for (unsigned int a = 0; a < pool->nareas; a++)
		hiwater += pool->areas[a].hiwater;
	json_object_set_new(m, "model", json_pack("{s:I, s:i, s:I, s:I, s:I}",
		"bytes_per_thread_per_path", (json_int_t)r->bytes, "slices", r->slices,
		"sample_ms_target", (json_int_t)sample_ms,
		"map_retries_pool_full", (json_int_t)retries,
		"slots_used_hiwater_sum_of_areas", (json_int_t)hiwater));
	/* The last n history entries are the measured samples (warm-ups come first). */
	n = st.n;
	pt->bounce = st.median;
	pt->direct = NAN;
	if (record_direct && pmb_record(b, &sd, pmb_params("size", sbuf, "threads", tbuf, NULL),
					r->direct + r->nhist - n, n, &sts))
		pt->direct = sts.median;
	m = pmb_record(b, &sc, pmb_params("size", sbuf, "threads", tbuf, "areas", abuf, NULL),
		       r->cost + r->nhist - n, n, &sts);
	if (m)
		json_object_set_new(m, "what", json_string(
			"median over the sample's slices of bounce time / direct time (same bytes, interleaved)"));
	ff = malloc(n * sizeof(*ff));
	if (!ff)
		pmb_die(b, "out of memory");
	for (int k = 0; k < n; k++)
		ff[k] = r->bounce[r->nhist - n + k] / floor_gbps;
	pt->floor_frac = NAN;
	if (pmb_record(b, &sf, pmb_params("size", sbuf, "threads", tbuf, "areas", abuf,
					  "floor", ref_label(ref), "copies", copies, NULL), ff, n, &sts))
		pt->floor_frac = sts.median;
	free(ff);
}

/* "1T 2 areas" for a column header. */
static void series_name(char *buf, size_t len, const char *prefix, const struct config *c)
{
	snprintf(buf, len, "%s%dT %u area%s", prefix, c->threads, c->areas, c->areas > 1 ? "s" : "");
}

/*
 * Plot tables for one direction, one row per I/O size (ascending), one column per
 * series: <dir> (bounce GB/s per threads x areas), direct-<dir> (direct GB/s per
 * thread count) and floor-<dir> (fraction of the two-copy memcpy floor).
 */
void write_tables(struct pmb *b, bool read, const long *sz, int nsz, const struct config *cfg,
			 int ncfg, struct point (*pt)[MAX_LIST])
{
	const char *dname = read ? "read" : "write";
	struct pmb_table *t[3];
	char hdr[3][8192], row[3][8192], name[64], suffix[32];
	size_t off[3];
	int order[MAX_LIST];

	for (int i = 0; i < nsz; i++)
		order[i] = i;
	for (int i = 1; i < nsz; i++)
		for (int j = i; j > 0 && sz[order[j]] < sz[order[j - 1]]; j--) {
			int tmp = order[j];

			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	for (int k = 0; k < 3; k++)
		off[k] = snprintf(hdr[k], sizeof(hdr[k]), "io_size_bytes");
	for (int c = 0; c < ncfg; c++) {
		series_name(name, sizeof(name), "bounce ", &cfg[c]);
		pmb_appendf(hdr[0], sizeof(hdr[0]), &off[0], ",%s", name);
		if (c == 0 || cfg[c - 1].threads != cfg[c].threads)
			pmb_appendf(hdr[1], sizeof(hdr[1]), &off[1], ",direct %dT",
					   cfg[c].threads);
		series_name(name, sizeof(name), read ? "read " : "write ", &cfg[c]);
		pmb_appendf(hdr[2], sizeof(hdr[2]), &off[2], ",%s", name);
	}
	t[0] = pmb_table(b, dname, hdr[0]);
	snprintf(suffix, sizeof(suffix), "direct-%s", dname);
	t[1] = pmb_table(b, suffix, hdr[1]);
	snprintf(suffix, sizeof(suffix), "floor-%s", dname);
	t[2] = pmb_table(b, suffix, hdr[2]);
	for (int i = 0; i < nsz; i++) {
		int s = order[i];

		for (int k = 0; k < 3; k++)
			off[k] = snprintf(row[k], sizeof(row[k]), "%ld", sz[s]);
		for (int c = 0; c < ncfg; c++) {
			pmb_cell(row[0], sizeof(row[0]), &off[0], "%.4f", pt[c][s].bounce);
			if (c == 0 || cfg[c - 1].threads != cfg[c].threads)
				pmb_cell(row[1], sizeof(row[1]), &off[1], "%.4f", pt[c][s].direct);
			pmb_cell(row[2], sizeof(row[2]), &off[2], "%.4f", pt[c][s].floor_frac);
		}
		for (int k = 0; k < 3; k++)
			pmb_row(t[k], "%s", row[k]);
	}
}

/*
 * The contention answer: per thread count and size, bounced GB/s with one area
 * (a single lock) over bounced GB/s with one area per thread.
 */
void contention_result(json_t *out, bool read, const long *sz, int nsz,
			      const struct config *cfg, int ncfg, struct point (*pt)[MAX_LIST])
{
	json_t *list = json_array();

	for (int c = 0; c < ncfg; c++) {
		if (cfg[c].areas != 1 || cfg[c].threads < 2)
			continue;
		for (int o = 0; o < ncfg; o++) {
			if (cfg[o].threads != cfg[c].threads || cfg[o].areas != pow2_ceil(cfg[c].threads))
				continue;
			for (int i = 0; i < nsz; i++)
				if (pt[c][i].bounce > 0 && pt[o][i].bounce > 0)
					json_array_append_new(list, json_pack("{s:I, s:i, s:i, s:f}",
						"size", (json_int_t)sz[i], "threads", cfg[c].threads,
						"areas_per_thread", (int)cfg[o].areas,
						"single_lock_over_per_thread_areas", pt[c][i].bounce / pt[o][i].bounce));
		}
	}
	json_object_set_new(out, read ? "read" : "write", list);
}

