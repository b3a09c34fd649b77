/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pmb helpers that several benchmarks need beyond the measurement layer (pmb.h):
 * where a mapping's pages are (pagemap.c), a spin barrier for pinned workers
 * (barrier.c), table cells for points not measured (cells.c), latency metrics
 * and medians (latency.c), and references a benchmark attaches itself
 * (ref_attach.c).
 */
#ifndef PRIVMEM_PMB_UTIL_H
#define PRIVMEM_PMB_UTIL_H

#include <stdatomic.h>

#include "pmb.h"

/* ---- physical placement (pagemap.c) ------------------------------------------ */

/*
 * Physical frame numbers of the pages of [addr, addr + pages * 4K) from
 * /proc/self/pagemap: 0 for a page not present (and for every page without
 * CAP_SYS_ADMIN, which hides PFNs). 0, or -1 when pagemap is unreadable.
 */
int pmb_pagemap_pfns(const void *addr, size_t pages, uint64_t *pfn);
/*
 * Can pmb_backed_2m() read folios here (/proc/self/pagemap and /proc/kpageflags,
 * root)? true, or false with the reason in why.
 */
bool pmb_backed_2m_readable(char *why, size_t len);
/*
 * Share (0..1) of the 2M-aligned regions of [p, p + size) backed by one order-9
 * folio: PFNs contiguous from a 2M-aligned compound head, 511 tails in
 * kpageflags. p and size 2M-aligned. -1 when unreadable.
 */
double pmb_backed_2m(const void *p, size_t size);
/*
 * Share (0..1) of [p, p + size) mapped with 2M entries, from the smaps fields of
 * the VMAs inside the range (AnonHugePages, ShmemPmdMapped, FilePmdMapped,
 * *_Hugetlb; smaps_rollup would mix in the rest of the process). -1 when unreadable.
 */
double pmb_mapped_2m(const void *p, size_t size);

/* ---- a spin barrier for pinned workers (barrier.c) ------------------------------ */

/*
 * For workers pinned one per CPU: spinning costs nothing else, and it releases
 * them within a cache-line transfer (a futex wake-up on a VM can take tens of
 * microseconds, which would blur short timed slices).
 */
struct pmb_spin_barrier {
	atomic_uint arrived, generation;
	unsigned int n;
};

void pmb_spin_barrier_init(struct pmb_spin_barrier *sb, unsigned int n);
void pmb_spin_barrier_wait(struct pmb_spin_barrier *sb);

/* ---- table cells (cells.c) ------------------------------------------------------ */

/* snprintf at *off of buf, never past the end (a very wide row is cut, not overrun). */
void pmb_appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* ",<v in fmt>", or ",NaN" for a point not measured (v NaN): the plots skip it. */
void pmb_cell(char *buf, size_t len, size_t *off, const char *fmt, double v);
/* v in fmt, or "NaN" when v is NaN; buf returned. */
const char *pmb_num(char *buf, size_t len, const char *fmt, double v);

/* ---- latency metrics and medians (latency.c) ------------------------------------ */

/*
 * A latency metric from reps repetitions of k operations (lat[rep * k + i]):
 * a latency distribution's CV is its spread, not the stability of its median,
 * so the metric's samples are the repetitions' medians (their CV is the
 * stability) and the pooled per-operation distribution is attached as "per_op".
 * As pmb_record (params stolen); med and pooled may be NULL.
 */
json_t *pmb_record_latency(struct pmb *b, const struct pmb_spec *spec, json_t *params,
			   const double *lat, int reps, int k, struct pmb_stats *med,
			   struct pmb_stats *pooled);
/* Median of v[0..n) (v unchanged), as pmb_stats_of computes it. */
double pmb_median(const double *v, int n);

/* ---- references a benchmark attaches itself (ref_attach.c) ---------------------- */

/*
 * A rate metric (pages/s) against a same-run reference that is a latency (ns per
 * operation): median/ref_median would be meaningless across inverse units, so
 * the reference is attached as the rate it implies, ratio = median * ref / 1e9,
 * in the "reference" shape pmb_record uses (the CSV and checks read it alike).
 */
void pmb_ref_inverse(struct pmb *b, json_t *metric, enum pmb_ref r, const char *ratio_means);
/* A "reference" for a metric read against another measurement of this run. */
void pmb_ref_local(json_t *metric, const char *name, const char *unit, double ref_median,
		   double ratio, const char *ratio_means);

#endif
