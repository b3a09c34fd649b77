// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report --bench-compare A B: every metric both runs measured, compared on its
 * per-repetition samples (bench_stats.c), with one verdict:
 *   same    the change is not significant after the Benjamini-Hochberg adjustment
 *           over all compared metrics, or smaller than the minimum effect;
 *   better / worse   significant and at least the minimum effect, in the metric's
 *           direction ("better" in its JSON, else from its unit);
 *   higher / lower   the same for a metric without a direction (never gated);
 *   state   a figure its benchmark declares a state, not a cost (where the allocator
 *           placed pages): its change is shown, never tested;
 *   n/a     fewer than 3 samples in a run.
 * With --noise (a --bench-noise calibration of this machine), a calibrated metric is
 * tested against its run-to-run noise as well as its samples (bench_stats.c).
 * The minimum effect is what absorbs drift between runs that the samples of one run
 * cannot show (machine and outer-hypervisor state): see bench/README.md for the
 * false-positive rate measured on identical runs.
 * Exit status: 0 no worse metric, 1 at least one, 2 bad input.
 */
#include "bench.h"

enum verdict { V_WORSE, V_BETTER, V_LOWER, V_HIGHER, V_SAME, V_STATE, V_NA, V_NR };
static const char *const v_name[V_NR] = { "worse", "better", "lower", "higher", "same", "state", "n/a" };

struct pair {
	const struct bmetric *a, *b;
	struct btest t;
	double q, sigma_run;	/* sigma_run: NAN when not calibrated */
	int runs;
	enum verdict v;
};

static const struct bmetric *find(const struct brun *r, const char *key)
{
	for (size_t i = 0; i < r->nm; i++)
		if (!strcmp(r->m[i].key, key))
			return &r->m[i];
	return NULL;
}

static enum verdict verdict_of(const struct pair *p, const struct bcompare_opts *o)
{
	bool up = p->t.ratio > 1;

	if (p->a->state || p->b->state)
		return V_STATE;
	if (p->a->n < 3 || p->b->n < 3)
		return V_NA;
	if (!(p->q < o->fdr) || fabs(p->t.ratio - 1) < o->min_effect)
		return V_SAME;
	if (p->b->better == BETTER_UNKNOWN || p->a->better != p->b->better)
		return up ? V_HIGHER : V_LOWER;
	return up == (p->b->better == BETTER_HIGHER) ? V_BETTER : V_WORSE;
}

static struct pair *pair_up(const struct brun *a, const struct brun *b, const struct bcompare_opts *o,
			    const struct bnoise *nz, size_t *np)
{
	struct pair *p = xcalloc(sizeof(*p) * (a->nm + 1));
	double *pv, *qv;
	size_t n = 0, ntested = 0;

	for (size_t i = 0; i < a->nm; i++) {
		const struct bmetric *mb = find(b, a->m[i].key);

		if (!mb)
			continue;
		p[n] = (struct pair){ .a = &a->m[i], .b = mb, .sigma_run = NAN };
		if (!bench_noise_of(nz, mb->key, &p[n].sigma_run, &p[n].runs))
			p[n].runs = 0;
		if (p[n].a->n >= 3 && mb->n >= 3 && !mb->state && !p[n].a->state)
			bench_test(p[n].a->samples, p[n].a->n, mb->samples, mb->n, o->level,
				   p[n].sigma_run, p[n].runs, &p[n].t);
		else
			p[n].t = (struct btest){ .ratio = mb->median / a->m[i].median, .p = 1,
						.p_run = NAN, .test = "none" };
		n++;
	}
	/* The adjustment counts the metrics actually tested (not state figures, not n/a). */
	pv = xcalloc(sizeof(double) * n);
	qv = xcalloc(sizeof(double) * n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].t.test, "none"))
			pv[ntested++] = p[i].t.p;
	bh_adjust(pv, qv, ntested);
	for (size_t i = 0, k = 0; i < n; i++) {
		p[i].q = strcmp(p[i].t.test, "none") ? qv[k++] : 1;
		p[i].v = verdict_of(&p[i], o);
	}
	*np = n;
	return p;
}

static const char *num(double x)
{
	double a = fabs(x);

	return a >= 1000 ? xasprintf("%.0f", x) : a >= 10 ? xasprintf("%.1f", x) :
	       a >= 0.01 ? xasprintf("%.3g", x) : xasprintf("%.3g", x);
}

static void print_pair(const struct pair *p)
{
	printf("%-7s %+6.1f%%  %.3f [%.3f, %.3f]  q=%-8.2g %-12s %s: %s -> %s %s\n",
	       v_name[p->v], (p->t.ratio - 1) * 100, p->t.ratio, p->t.ci_lo, p->t.ci_hi, p->q,
	       p->t.test, p->a->key, num(p->a->median), num(p->b->median), p->a->unit);
}

static json_t *run_json(const struct brun *r)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}", "dir", r->dir, "stamp", r->stamp,
			 "kernel", r->kernel, "mode", r->mode, "commit", r->commit,
			 "background", *r->background ? r->background : NULL);
}

static json_t *side_json(const struct bmetric *m)
{
	return json_pack("{s:f, s:f, s:i}", "median", m->median, "cv", m->cv, "n", m->n);
}

/* A number, or null where there is none (an untested metric, an uncalibrated one). */
static json_t *jnum(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *pair_json(const struct pair *p)
{
	bool tested = strcmp(p->t.test, "none");

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:f, s:[o, o], s:o, s:o, s:o, s:o, s:s, s:f, s:s}",
		"key", p->a->key, "bench", p->a->bench, "metric", p->a->metric, "params", p->a->params,
		"unit", p->a->unit, "better", p->b->state ? "neither" : better_name(p->b->better),
		"a", side_json(p->a), "b", side_json(p->b), "ratio", p->t.ratio,
		"ci", jnum(tested ? p->t.ci_lo : NAN), jnum(tested ? p->t.ci_hi : NAN),
		"p_welch_log", jnum(tested ? p->t.p_welch : NAN),
		"p_mann_whitney", jnum(tested ? p->t.p_mwu : NAN), "p_run_noise", jnum(p->t.p_run),
		"sigma_run", jnum(p->sigma_run), "test", p->t.test, "q", p->q, "verdict", v_name[p->v]);
}

static void write_compare_json(const char *path, const struct brun *a, const struct brun *b,
			       const struct pair *p, size_t n, const int count[V_NR],
			       const struct bcompare_opts *o)
{
	json_t *root = json_pack("{s:s, s:o, s:o, s:{s:f, s:f, s:f}}", "schema", "privmem-bench-compare/1",
				 "a", run_json(a), "b", run_json(b), "options", "min_effect", o->min_effect,
				 "fdr", o->fdr, "level", o->level);
	json_t *ms = json_array(), *refs = json_array(), *counts = json_object();
	char *tmp = xasprintf("%s.tmp", path);

	for (size_t i = 0; i < n; i++)
		json_array_append_new(ms, pair_json(&p[i]));
	for (size_t i = 0; i < a->nref; i++)
		for (size_t j = 0; j < b->nref; j++)
			if (!strcmp(a->ref[i].name, b->ref[j].name))
				json_array_append_new(refs, json_pack("{s:s, s:s, s:f, s:f}", "name", a->ref[i].name,
					"unit", a->ref[i].unit, "a", a->ref[i].median, "b", b->ref[j].median));
	for (int v = 0; v < V_NR; v++)
		json_object_set_new(counts, v_name[v], json_integer(count[v]));
	json_object_set_new(root, "metrics", ms);
	json_object_set_new(root, "references", refs);
	json_object_set_new(root, "counts", counts);
	json_object_set_new(root, "regression", json_boolean(count[V_WORSE] > 0));
	temps[ntemps++] = tmp;
	if (json_dump_file(root, tmp, JSON_FLAGS) || rename(tmp, path))
		die(2, "%s: cannot write: %s", path, strerror(errno));
	ntemps = 0;
}

/* The machine's own drift between the runs, from the references both measured. */
static void print_refs(const struct brun *a, const struct brun *b)
{
	for (size_t i = 0; i < a->nref; i++)
		for (size_t j = 0; j < b->nref; j++)
			if (!strcmp(a->ref[i].name, b->ref[j].name))
				printf("  reference %s: %s -> %s %s (%+.1f%%)\n", a->ref[i].name,
				       num(a->ref[i].median), num(b->ref[j].median), a->ref[i].unit,
				       (b->ref[j].median / a->ref[i].median - 1) * 100);
}

int bench_compare(const char *da, const char *db, const struct bcompare_opts *o)
{
	struct brun a, b;
	struct bnoise nz = { 0 };
	struct pair *p;
	size_t n, ncal = 0;
	int count[V_NR] = { 0 };

	bench_load(da, &a);
	bench_load(db, &b);
	if (o->noise)
		bench_noise_load(o->noise, &nz);
	p = pair_up(&a, &b, o, &nz, &n);
	if (!n)
		die(2, "%s and %s have no metric in common", da, db);
	for (size_t i = 0; i < n; i++) {
		count[p[i].v]++;
		ncal += p[i].runs >= 3;
	}
	if (o->json)
		write_compare_json(o->json, &a, &b, p, n, count, o);

	printf("A: %s (%s, %s, %s)\nB: %s (%s, %s, %s)\n", da, a.kernel, a.mode, or_unknown(a.commit),
	       db, b.kernel, b.mode, or_unknown(b.commit));
	if (strcmp(a.mode, b.mode))
		printf("  note: the runs were made in different modes (%s, %s): repetitions differ\n",
		       a.mode, b.mode);
	print_refs(&a, &b);
	if (o->noise)
		printf("run-to-run noise: %s (%s runs), %zu of %zu metrics calibrated%s\n", o->noise, nz.mode,
		       ncal, n, strcmp(nz.mode, b.mode) ? " (NOTE: calibrated in another mode)" : "");
	else
		printf("no --noise calibration: a run's samples do not show how this machine drifts between\n"
		       "  runs; verdicts may include that drift (see --bench-noise)\n");
	printf("%zu metrics compared: minimum effect %.0f%%, false discovery rate %.2g, %.0f%% bootstrap intervals\n",
	       n, o->min_effect * 100, o->fdr, o->level * 100);
	for (int v = 0; v < V_NR; v++)
		for (size_t i = 0; i < n; i++)
			if ((int)p[i].v == v && ((v != V_SAME && v != V_STATE) || o->all))
				print_pair(&p[i]);
	if (o->all) {
		for (size_t i = 0; i < a.nm; i++)
			if (!find(&b, a.m[i].key))
				printf("only in A: %s\n", a.m[i].key);
		for (size_t i = 0; i < b.nm; i++)
			if (!find(&a, b.m[i].key))
				printf("only in B: %s\n", b.m[i].key);
	}
	printf("%d worse, %d better, %d higher, %d lower, %d same, %d state, %d n/a\n", count[V_WORSE],
	       count[V_BETTER], count[V_HIGHER], count[V_LOWER], count[V_SAME], count[V_STATE],
	       count[V_NA]);
	return count[V_WORSE] ? 1 : 0;
}
