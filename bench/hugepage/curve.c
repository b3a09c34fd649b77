// SPDX-License-Identifier: GPL-2.0
/* hugepage curves: the churn order, one curve on fresh memory, crossings (hugepage.h). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hugepage.h"

const double step_fraction[MAX_STEPS] = {
	0, 1.0 / 16384, 1.0 / 8192, 1.0 / 4096, 1.0 / 2048, 1.0 / 1024, 1.0 / 512, 1.0 / 256,
	0.01, 0.05, 0.10, 0.25, 0.50, 1.0,
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

uint32_t *permutation(size_t n, uint64_t seed)
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

/* ---- the memory ------------------------------------------------------------------ */

int region_open(struct ctx *c, struct pm_vm *vm, enum pmb_backing kind, size_t size,
		struct pmb_mem *r, char *why, size_t len)
{
	if (pmb_mem_open(r, kind, vm, size, why, len))
		return -1;
	if (kind == PMB_GMEM && !c->gmem_madvise[0]) {
		/* Recorded, not required: guest_memfd has no huge folios to ask for. */
		int rc = madvise(r->p, size, MADV_HUGEPAGE);

		snprintf(c->gmem_madvise, sizeof(c->gmem_madvise), "%s", rc ? strerror(errno) : "accepted");
	}
	return 0;
}

void touch(struct pmb_mem *r, size_t page)
{
	*(volatile uint64_t *)(r->p + page * PAGE) = page | 1;
}

int punch(struct pmb_mem *r, size_t page)
{
	return pmb_mem_punch(r, page * PAGE, PAGE);
}

void populate(struct pmb_mem *r)
{
	for (size_t i = 0; i < r->size / PAGE; i++)
		touch(r, i);
}

/* Retention per mapping (pmb_util.h), not from the global counters other processes move. */
void retention(struct ctx *c, struct pmb_mem *r, double *backed, double *mapped)
{
	*backed = c->backed_known ? pmb_backed_2m(r->p, r->size) : -1;
	*mapped = pmb_mapped_2m(r->p, r->size);
}

/* ---- one sample: a whole churn curve on fresh memory ----------------------------- */

double curve_sample(void *arg)
{
	struct ctx *c = arg;
	struct pmb_mem r;
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
					 hp_name(c->kind), strerror(errno));
				c->failed = true;
				pmb_mem_close(&r);
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
	pmb_mem_close(&r);
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
double crossing(const struct ctx *c, const double *ret, double thr)
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

/* Steps: distinct cumulative page counts (small sizes merge the finest fractions), and the model. */
int plan_steps(struct ctx *c, uint64_t seed)
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

