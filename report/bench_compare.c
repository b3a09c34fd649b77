// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report --bench-compare A B: every metric both runs measured, compared on its
 * per-repetition samples (bench_stats.c), with one verdict:
 *   same    the change is not significant after the Benjamini-Hochberg adjustment
 *           over all compared metrics, or smaller than the minimum effect;
 *   better / worse   significant and at least the minimum effect, in the metric's
 *           direction ("better" in its JSON, else from its unit);
 *   higher / lower   the same for a metric without a direction (never gated);
 *   n/a     fewer than 3 samples in a run.
 * The minimum effect is what absorbs drift between runs that the samples of one run
 * cannot show (machine and outer-hypervisor state): see bench/README.md for the
 * false-positive rate measured on identical runs.
 * Exit status: 0 no worse metric, 1 at least one, 2 bad input.
 */
#include "bench.h"

enum verdict { V_WORSE, V_BETTER, V_LOWER, V_HIGHER, V_SAME, V_NA, V_NR };
static const char *const v_name[V_NR] = { "worse", "better", "lower", "higher", "same", "n/a" };

struct pair {
	const struct bmetric *a, *b;
	struct btest t;
	double q;
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

	if (p->a->n < 3 || p->b->n < 3)
		return V_NA;
	if (!(p->q < o->fdr) || fabs(p->t.ratio - 1) < o->min_effect)
		return V_SAME;
	if (p->b->better == BETTER_UNKNOWN || p->a->better != p->b->better)
		return up ? V_HIGHER : V_LOWER;
	return up == (p->b->better == BETTER_HIGHER) ? V_BETTER : V_WORSE;
}

static struct pair *pair_up(const struct brun *a, const struct brun *b, const struct bcompare_opts *o,
			    size_t *np)
{
	struct pair *p = xcalloc(sizeof(*p) * (a->nm + 1));
	double *pv, *qv;
	size_t n = 0;

	for (size_t i = 0; i < a->nm; i++) {
		const struct bmetric *mb = find(b, a->m[i].key);

		if (!mb)
			continue;
		p[n] = (struct pair){ .a = &a->m[i], .b = mb };
		if (p[n].a->n >= 3 && mb->n >= 3)
			bench_test(p[n].a->samples, p[n].a->n, mb->samples, mb->n, o->level, &p[n].t);
		else
			p[n].t = (struct btest){ .ratio = mb->median / a->m[i].median, .p = 1, .test = "none" };
		n++;
	}
	pv = xcalloc(sizeof(double) * n);
	qv = xcalloc(sizeof(double) * n);
	for (size_t i = 0; i < n; i++)
		pv[i] = p[i].t.p;
	bh_adjust(pv, qv, n);
	for (size_t i = 0; i < n; i++) {
		p[i].q = qv[i];
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
		json_array_append_new(ms, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:f, s:[f, f], s:f, s:f, s:s, s:f, s:s}",
			"key", p[i].a->key, "bench", p[i].a->bench, "metric", p[i].a->metric,
			"params", p[i].a->params, "unit", p[i].a->unit, "better", better_name(p[i].b->better),
			"a", side_json(p[i].a), "b", side_json(p[i].b), "ratio", p[i].t.ratio,
			"ci", p[i].t.ci_lo, p[i].t.ci_hi, "p_welch_log", p[i].t.p_welch,
			"p_mann_whitney", p[i].t.p_mwu, "test", p[i].t.test, "q", p[i].q,
			"verdict", v_name[p[i].v]));
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
	struct pair *p;
	size_t n;
	int count[V_NR] = { 0 };

	bench_load(da, &a);
	bench_load(db, &b);
	p = pair_up(&a, &b, o, &n);
	if (!n)
		die(2, "%s and %s have no metric in common", da, db);
	for (size_t i = 0; i < n; i++)
		count[p[i].v]++;
	if (o->json)
		write_compare_json(o->json, &a, &b, p, n, count, o);

	printf("A: %s (%s, %s, %s)\nB: %s (%s, %s, %s)\n", da, a.kernel, a.mode, or_unknown(a.commit),
	       db, b.kernel, b.mode, or_unknown(b.commit));
	if (strcmp(a.mode, b.mode))
		printf("  note: the runs were made in different modes (%s, %s): repetitions differ\n",
		       a.mode, b.mode);
	print_refs(&a, &b);
	printf("%zu metrics compared: minimum effect %.0f%%, false discovery rate %.2g, %.0f%% bootstrap intervals\n",
	       n, o->min_effect * 100, o->fdr, o->level * 100);
	for (int v = 0; v < V_NR; v++)
		for (size_t i = 0; i < n; i++)
			if ((int)p[i].v == v && (v != V_SAME || o->all))
				print_pair(&p[i]);
	if (o->all) {
		for (size_t i = 0; i < a.nm; i++)
			if (!find(&b, a.m[i].key))
				printf("only in A: %s\n", a.m[i].key);
		for (size_t i = 0; i < b.nm; i++)
			if (!find(&a, b.m[i].key))
				printf("only in B: %s\n", b.m[i].key);
	}
	printf("%d worse, %d better, %d higher, %d lower, %d same, %d n/a\n", count[V_WORSE],
	       count[V_BETTER], count[V_HIGHER], count[V_LOWER], count[V_SAME], count[V_NA]);
	return count[V_WORSE] ? 1 : 0;
}
