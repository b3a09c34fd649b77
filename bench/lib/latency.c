// SPDX-License-Identifier: GPL-2.0
/* Latency metrics from repetitions of operations, and medians (pmb_util.h). */
#include <stdlib.h>
#include <string.h>

#include "pmb_util.h"

json_t *pmb_record_latency(struct pmb *b, const struct pmb_spec *spec, json_t *params,
			   const double *lat, int reps, int k, struct pmb_stats *med,
			   struct pmb_stats *pooled)
{
	double *m = calloc(reps, sizeof(*m));
	struct pmb_stats ms, ps;
	json_t *o;

	if (!m)
		pmb_die(b, "out of memory");
	for (int i = 0; i < reps; i++)
		m[i] = pmb_median(lat + (size_t)i * k, k);
	pmb_stats_of(lat, reps * k, &ps);
	o = pmb_record(b, spec, params, m, reps, &ms);
	free(m);
	if (o) {
		json_object_set_new(o, "per_op", pmb_stats_json(&ps));
		json_object_set_new(o, "ops_per_rep", json_integer(k));
		json_object_set_new(o, "samples_are",
				    json_string("median latency of each repetition; per_op: every operation pooled"));
	}
	if (med)
		*med = ms;
	if (pooled)
		*pooled = ps;
	return o;
}

double pmb_median(const double *v, int n)
{
	struct pmb_stats s;

	pmb_stats_of(v, n, &s);
	return s.median;
}
