// SPDX-License-Identifier: GPL-2.0
/* Statistics over repetitions, and recording a metric with its reference. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pmb_int.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pctl(const double *v, int n, double p)
{
	int k = (int)ceil(p / 100.0 * n);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

void pmb_stats_of(const double *v, int n, struct pmb_stats *s)
{
	double *w, sum = 0, sq = 0;

	memset(s, 0, sizeof(*s));
	if (n <= 0)
		return;
	w = malloc(n * sizeof(*w));
	if (!w)
		abort();
	memcpy(w, v, n * sizeof(*w));
	qsort(w, n, sizeof(*w), cmp_double);
	s->n = n;
	s->min = w[0];
	s->max = w[n - 1];
	s->median = n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
	for (int i = 0; i < n; i++)
		sum += w[i];
	s->mean = sum / n;
	for (int i = 0; i < n; i++)
		sq += (w[i] - s->mean) * (w[i] - s->mean);
	s->stddev = n > 1 ? sqrt(sq / (n - 1)) : 0;
	s->cv = s->mean != 0 ? s->stddev / fabs(s->mean) : 0;
	s->p10 = pctl(w, n, 10);
	s->p90 = pctl(w, n, 90);
	s->p99 = pctl(w, n, 99);
	s->p999 = pctl(w, n, 99.9);
	free(w);
}

json_t *pmb_stats_json(const struct pmb_stats *s)
{
	return json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
			 "n", s->n, "median", s->median, "min", s->min, "max", s->max,
			 "mean", s->mean, "stddev", s->stddev, "cv", s->cv, "p10", s->p10,
			 "p90", s->p90, "p99", s->p99, "p999", s->p999);
}

json_t *pmb_record(struct pmb *b, const struct pmb_spec *spec, json_t *params,
		   const double *v, int n, struct pmb_stats *out)
{
	double cv_max = spec->cv_max > 0 ? spec->cv_max : 0.05;
	json_t *m = json_object(), *samples = json_array();
	struct pmb_stats s;
	int bad = -1;

	if (!params)
		params = json_object();
	for (int i = 0; i < n && bad < 0; i++)
		if (!isfinite(v[i]) || v[i] <= 0)
			bad = i;
	pmb_stats_of(v, n, &s);
	if (out)
		*out = s;
	json_object_set_new(m, "metric", json_string(spec->metric));
	json_object_set_new(m, "unit", json_string(spec->unit));
	json_object_set_new(m, "params", params);
	json_object_set_new(m, "stats", pmb_stats_json(&s));
	json_object_set_new(m, "cv_max", json_real(cv_max));
	json_object_set_new(m, "latency", json_boolean(spec->latency));
	json_object_set_new(m, "core", json_boolean(spec->core));
	if (spec->better != PMB_BETTER_UNIT)
		json_object_set_new(m, "better", json_string(spec->better == PMB_HIGHER ? "higher" :
							      spec->better == PMB_LOWER ? "lower" : "neither"));
	for (int i = 0; i < n && (spec->keep_samples || i < 64); i++)
		json_array_append_new(samples, json_real(v[i]));
	json_object_set_new(m, "samples", samples);
	json_object_set_new(m, "samples_truncated", json_boolean(!spec->keep_samples && n > 64));
	if (n <= 0 || bad >= 0) {
		/* Refused: no zero, negative or non-finite figure is ever reported. */
		pmb_error(b, "refusing %s %s: %s", spec->metric, spec->unit,
			  n <= 0 ? "no samples" : "a sample is zero, negative or not finite");
		json_object_set_new(m, "stable", json_false());
		json_object_set_new(m, "refused", json_true());
	} else {
		bool stable = s.cv <= cv_max;

		json_object_set_new(m, "stable", json_boolean(stable));
		if (!stable) {
			char pbuf[200] = "";
			char *d = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);

			snprintf(pbuf, sizeof(pbuf), "%s", d ? d : "");
			free(d);
			pmb_warn(b, "%s %s: CV %.1f%% exceeds its threshold %.1f%% (n=%d, min %.4g, max %.4g): read the median with care",
				 spec->metric, pbuf, 100 * s.cv, 100 * cv_max, s.n, s.min, s.max);
		}
	}
	if (spec->ref != PMB_REF_NONE && bad < 0 && n > 0) {
		const struct pmb_stats *r = pmb_ref(b, spec->ref);

		json_t *ref = json_pack("{s:s, s:s, s:s?}", "name", pmb_ref_name(spec->ref),
					"unit", pmb_ref_unit(spec->ref), "ratio_means", spec->ref_ratio);

		/* An unavailable reference (n == 0) gives no ratio rather than a 0 ratio. */
		json_object_set_new(ref, "median", r->n ? json_real(r->median) : json_null());
		json_object_set_new(ref, "ratio", r->n && r->median > 0 ?
				    json_real(s.median / r->median) : json_null());
		json_object_set_new(m, "reference", ref);
	}
	json_array_append_new(b->metrics, m);
	return bad >= 0 || n <= 0 ? NULL : m;
}

json_t *pmb_measure(struct pmb *b, const struct pmb_spec *spec, json_t *params,
		    pmb_sample_fn fn, void *arg, struct pmb_stats *out)
{
	int warmup = spec->warmup ? spec->warmup : b->warmup;
	int reps = spec->reps ? spec->reps : b->reps;
	double *v = calloc(reps, sizeof(*v));
	json_t *m;

	if (!v)
		pmb_die(b, "out of memory");
	for (int i = 0; i < warmup; i++) {
		if (fn(arg) <= 0) {
			pmb_error(b, "%s: a warm-up run failed", spec->metric);
			json_decref(params);
			free(v);
			return NULL;
		}
	}
	for (int i = 0; i < reps; i++) {
		v[i] = fn(arg);
		if (!(v[i] > 0)) {
			reps = i + 1;
			break;
		}
	}
	m = pmb_record(b, spec, params, v, reps, out);
	if (m)
		json_object_set_new(m, "warmup", json_integer(warmup));
	free(v);
	return m;
}
