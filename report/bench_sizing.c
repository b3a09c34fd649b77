// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report --bench-sizing RUN [RUN...]: the hugepage benchmark's sizing answer as a page
 * a planner reads (RUN/sizing.md, for the first RUN, the others side by side), with the
 * retention curves of every backing of every run (sizing.csv, drawn by bench/plots/sizing.gp
 * into sizing.png and sizing.svg).
 *
 * The figures come from each run's hugepage.json: results.sizing (the 90% and 50% crossings on
 * the median curve), the metrics churn_refault and below_*pct_at (per repetition, through
 * bench_load), each churn_refault's retention_curve and guest phase (KVM pages_2m/pages_4k),
 * and the notes that say why a backing was not measured. Nothing is computed here that the
 * benchmark did not measure, except ratios and the reading of it.
 */
#include <sys/wait.h>

#include "bench.h"

#define NB		4
#define PER_2M		512	/* 4K pages per 2M region */
#define SAME_TOL	0.05	/* crossings within 5% of each other are "the same" */

static const char *const bname[NB] = { "anon_thp", "shmem_thp", "hugetlb", "guest_memfd" };
static const char *const btitle[NB] = { "anonymous THP", "shmem/memfd THP", "hugetlb", "guest_memfd" };
static const char *const thr_name[2] = { "below_90pct_at", "below_50pct_at" };

enum xkind { X_AT, X_START, X_NEVER, X_UNKNOWN };

struct cross {
	enum xkind kind;
	double at;			/* X_AT: churn fraction on the median curve */
	const struct bmetric *m;	/* per repetition, when every repetition crossed */
	double model_ratio;		/* measured / model crossing (NAN: none) */
};

struct sback {
	bool measured;
	const char *why;		/* not measured: the benchmark's own reason */
	const char *note;		/* the benchmark's first note on it, if any */
	struct cross x[2];
	double start_pct, end_pct;	/* retention at churn 0 and after the last step */
	const struct bmetric *cost;	/* churn_refault */
	double cost_ratio;		/* against the same-run 4K fault (NAN: none) */
	json_t *curve, *guest;
};

struct srun {
	struct brun b;
	json_t *hp;			/* hugepage.json */
	bool lab;
	char *label;
	long mib, reps;
	const struct bref *fault;	/* fault_anon_4k */
	struct sback bk[NB];
};

/* ---- reading ------------------------------------------------------------------------ */

static const struct bmetric *find_metric(const struct brun *r, const char *metric, const char *b)
{
	char *params = xasprintf("backing=%s", b);

	for (size_t i = 0; i < r->nm; i++)
		if (!strcmp(r->m[i].bench, "hugepage") && !strcmp(r->m[i].metric, metric) &&
		    !strcmp(r->m[i].params, params))
			return &r->m[i];
	return NULL;
}

static json_t *find_json_metric(json_t *hp, const char *metric, const char *b)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(hp, "metrics"), i, m)
		if (!strcmp(jstr(m, "metric"), metric) &&
		    !strcmp(jstr(json_object_get(m, "params"), "backing"), b))
			return m;
	return NULL;
}

/* The first note (or error) of the benchmark that starts with PREFIX, without it. */
static const char *find_note(json_t *hp, const char *list, const char *prefix)
{
	size_t i, n = strlen(prefix);
	json_t *s;

	json_array_foreach(json_object_get(hp, list), i, s)
		if (json_is_string(s) && !strncmp(json_string_value(s), prefix, n))
			return json_string_value(s) + n;
	return NULL;
}

/* The hugepage entry of the run's index: its results file, or one line and exit 2. */
static char *hugepage_path(const char *dir)
{
	char *index = xasprintf("%s/bench.json", dir);
	json_t *idx = json_load_file(index, 0, NULL), *b;
	size_t i;

	json_array_foreach(json_object_get(idx, "benchmarks"), i, b) {
		if (strcmp(jstr(b, "name"), "hugepage"))
			continue;
		if (strcmp(jstr(b, "status"), "ok") || !*jstr(b, "json"))
			die(2, "%s: no hugepage results: hugepage %s%s%s", dir, jstr(b, "status"),
			    *jstr(b, "reason") ? ": " : "", jstr(b, "reason"));
		return xasprintf("%s/%s", dir, jstr(b, "json"));
	}
	die(2, "%s: no hugepage results: the run did not include the hugepage benchmark", dir);
}

static void load_cross(struct srun *r, json_t *sz, int b, int t)
{
	struct cross *x = &r->bk[b].x[t];
	json_t *v = json_object_get(sz, thr_name[t]), *m = find_json_metric(r->hp, thr_name[t], bname[b]);
	json_t *ref = json_object_get(m, "reference");

	x->kind = json_is_number(v) ? (json_number_value(v) > 0 ? X_AT : X_START) :
		  json_is_string(v) && !strcmp(json_string_value(v), "not reached") ? X_NEVER : X_UNKNOWN;
	x->at = json_number_value(v);
	x->m = find_metric(&r->b, thr_name[t], bname[b]);
	x->model_ratio = json_is_number(json_object_get(ref, "ratio")) ?
			 json_number_value(json_object_get(ref, "ratio")) : NAN;
}

static double curve_pct(json_t *point)
{
	json_t *v = json_object_get(point, "backed_2m_pct");

	return json_is_number(v) ? json_number_value(v) :
	       json_is_number(json_object_get(point, "mapped_2m_pct")) ?
	       json_number_value(json_object_get(point, "mapped_2m_pct")) : NAN;
}

static void load_backing(struct srun *r, json_t *sizing, int b)
{
	struct sback *k = &r->bk[b];
	json_t *sz = json_object_get(sizing, bname[b]);
	json_t *m = find_json_metric(r->hp, "churn_refault", bname[b]);
	char *prefix = xasprintf("%s skipped: ", bname[b]), *colon = xasprintf("%s: ", bname[b]);
	size_t n;

	k->note = find_note(r->hp, "notes", colon);
	if (!json_is_object(sz) || !m) {
		k->why = find_note(r->hp, "notes", prefix);
		if (!k->why)
			k->why = find_note(r->hp, "errors", colon);
		if (!k->why)
			k->why = "not in this run (--set backings)";
		return;
	}
	k->measured = true;
	for (int t = 0; t < 2; t++)
		load_cross(r, sz, b, t);
	k->curve = json_object_get(m, "retention_curve");
	k->guest = json_object_get(m, "guest");
	n = json_array_size(k->curve);
	k->start_pct = n ? curve_pct(json_array_get(k->curve, 0)) : NAN;
	k->end_pct = n ? curve_pct(json_array_get(k->curve, n - 1)) : NAN;
	k->cost = find_metric(&r->b, "churn_refault", bname[b]);
	k->cost_ratio = k->cost && r->fault && r->fault->median > 0 ? k->cost->median / r->fault->median : NAN;
}

static void load_run(const char *dir, struct srun *r)
{
	char *path = hugepage_path(dir);
	json_error_t err;
	json_t *idx, *sizing, *cfg;

	bench_load(dir, &r->b);		/* the index and every result, validated */
	r->hp = json_load_file(path, 0, &err);
	if (!r->hp)
		die(2, "%s: %s", path, err.text);
	sizing = json_object_get(json_object_get(r->hp, "results"), "sizing");
	if (strcmp(jstr(r->hp, "benchmark"), "hugepage") || !json_is_object(sizing))
		die(2, "%s: not a hugepage result with results.sizing", path);
	idx = json_load_file(xasprintf("%s/bench.json", dir), 0, NULL);
	r->lab = json_is_object(json_object_get(idx, "lab"));
	r->label = xasprintf("%s %s", r->lab ? "lab" : "host", or_unknown(r->b.kernel));
	cfg = json_object_get(r->hp, "config");
	r->mib = (long)(json_number_value(json_object_get(cfg, "bytes")) / (1 << 20));
	r->reps = (long)json_number_value(json_object_get(json_object_get(r->hp, "defaults"), "reps"));
	for (size_t i = 0; i < r->b.nref; i++)
		if (!strcmp(r->b.ref[i].name, "fault_anon_4k"))
			r->fault = &r->b.ref[i];
	for (int b = 0; b < NB; b++)
		load_backing(r, sizing, b);
}

/* ---- words and numbers ---------------------------------------------------------------- */

/* A churn fraction as a percentage with the punches per 2M region it means. */
static char *churn_text(double x)
{
	return xasprintf("%.3g%% (%.2f punches per 2M)", 100 * x, x * PER_2M);
}

static char *cross_text(const struct sback *k, int t)
{
	const struct cross *x = &k->x[t];

	switch (x->kind) {
	case X_AT: return churn_text(x->at);
	case X_START: return xasprintf("from the start (%.1f%% 2M-backed at churn 0)", k->start_pct);
	case X_NEVER: return xasprintf("never (%.1f%% left after %s churn)", k->end_pct, "100%");
	default: return xstrdup("unknown");
	}
}

/* The spread of the crossing over the repetitions. */
static char *spread_text(const struct cross *x)
{
	double lo = INFINITY, hi = -INFINITY;

	if (x->kind != X_AT)
		return xstrdup("-");
	if (!x->m)
		return xstrdup("not every repetition crossed");
	for (int i = 0; i < x->m->n; i++) {
		lo = fmin(lo, x->m->samples[i]);
		hi = fmax(hi, x->m->samples[i]);
	}
	return xasprintf("%.3g%%..%.3g%%, CV %.1f%%, n=%d", 100 * lo, 100 * hi, 100 * x->m->cv, x->m->n);
}

static char *ns_text(double ns)
{
	return ns >= 1e4 ? xasprintf("%.1f µs", ns / 1e3) : xasprintf("%.0f ns", ns);
}

/* A KVM count from the guest phase: the number, or why there is none. */
static char *kvm_count(json_t *pass, const char *name)
{
	json_t *v = json_object_get(pass, name);

	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	return xstrdup(json_is_string(v) ? json_string_value(v) : "-");
}

static bool same(double a, double b)
{
	return fabs(a - b) <= SAME_TOL * fmax(fabs(a), fabs(b));
}

/* ---- the page ----------------------------------------------------------------------------- */

static void md_runs(FILE *f, struct srun *r, int n)
{
	fputs("| run | where | kernel | mode | memory | repetitions | commit | directory |\n"
	      "|---|---|---|---|---|---|---|---|\n", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "| %s | %s | %s | %s | %ld MiB | %ld | %s | `%s` |\n", r[i].label,
			r[i].lab ? "lab guest (QEMU TCG)" : "this host", or_unknown(r[i].b.kernel),
			r[i].b.mode, r[i].mib, r[i].reps, r[i].b.commit, r[i].b.stamp);
}

static void md_crossings(FILE *f, struct srun *r, int n)
{
	fputs("| backing | run | below 90% at | below 50% at | over repetitions (90%) | "
	      "over repetitions (50%) | measured / model (90%, 50%) | 2M-backed after 100% churn |\n"
	      "|---|---|---|---|---|---|---|---|\n", f);
	for (int b = 0; b < NB; b++)
		for (int i = 0; i < n; i++) {
			const struct sback *k = &r[i].bk[b];

			if (!k->measured) {
				fprintf(f, "| %s | %s | not measured | | | | | |\n", btitle[b], r[i].label);
				continue;
			}
			fprintf(f, "| %s | %s | %s | %s | %s | %s | ", btitle[b], r[i].label,
				cross_text(k, 0), cross_text(k, 1), spread_text(&k->x[0]), spread_text(&k->x[1]));
			for (int t = 0; t < 2; t++)
				fprintf(f, isnan(k->x[t].model_ratio) ? "%s-" : "%s%.2f", t ? ", " : "",
					k->x[t].model_ratio);
			fprintf(f, " | %.1f%% |\n", k->end_pct);
		}
}

static void md_cost(FILE *f, struct srun *r, int n)
{
	fputs("| backing | run | per churned 4K page (median) | CV | n | same-run 4K first-touch fault | ratio |\n"
	      "|---|---|---|---|---|---|---|\n", f);
	for (int b = 0; b < NB; b++)
		for (int i = 0; i < n; i++) {
			const struct sback *k = &r[i].bk[b];

			if (!k->measured || !k->cost) {
				fprintf(f, "| %s | %s | not measured | | | | |\n", btitle[b], r[i].label);
				continue;
			}
			fprintf(f, "| %s | %s | %s%s | %.1f%%", btitle[b], r[i].label,
				ns_text(k->cost->median), r[i].lab ? " (TCG)" : "", 100 * k->cost->cv);
			if (k->cost->cv_max > 0 && k->cost->cv > k->cost->cv_max)
				fprintf(f, " (above its %.0f%% threshold)", 100 * k->cost->cv_max);
			fprintf(f, " | %d | ", k->cost->n);
			if (r[i].fault)
				fprintf(f, "%s (CV %.1f%%) | %.2f |\n", ns_text(r[i].fault->median),
					100 * r[i].fault->cv, k->cost_ratio);
			else
				fputs("not measured | - |\n", f);
		}
}

static void md_kvm(FILE *f, struct srun *r, int n)
{
	fputs("| backing | run | pages_2m / pages_4k after the guest wrote it | after 10% host churn "
	      "and a second guest pass | host 2M-backed % (touch / churn / retouch) |\n"
	      "|---|---|---|---|---|\n", f);
	for (int b = 0; b < NB; b++)
		for (int i = 0; i < n; i++) {
			const struct sback *k = &r[i].bk[b];
			json_t *g = k->guest, *p0 = json_object_get(g, "after_guest_touch");
			json_t *p1 = json_object_get(g, "after_host_churn_and_guest_retouch");

			if (!k->measured)
				continue;
			if (!json_is_object(g) || json_is_string(json_object_get(g, "skipped"))) {
				fprintf(f, "| %s | %s | guest phase skipped: ", btitle[b], r[i].label);
				md_cell(f, json_is_object(g) ? jstr(g, "skipped") : "not recorded");
				fputs(" | | |\n", f);
				continue;
			}
			fprintf(f, "| %s | %s | %s / %s | %s / %s | ", btitle[b], r[i].label,
				kvm_count(p0, "pages_2m"), kvm_count(p0, "pages_4k"),
				kvm_count(p1, "pages_2m"), kvm_count(p1, "pages_4k"));
			for (int s = 0; s < 3; s++) {
				static const char *const key[] = { "host_backed_2m_pct_after_guest_touch",
					"host_backed_2m_pct_after_host_churn", "host_backed_2m_pct_after_guest_retouch" };
				json_t *v = json_object_get(g, key[s]);

				fprintf(f, json_is_number(v) ? "%s%.0f" : "%s-", s ? " / " : "",
					json_number_value(v));
			}
			fputs(" |\n", f);
		}
	/* Why a count is missing, once per run and reason. */
	for (int i = 0; i < n; i++) {
		const char *last = "";

		for (int b = 0; b < NB; b++) {
			json_t *p0 = json_object_get(r[i].bk[b].guest, "after_guest_touch");
			const char *why = jstr(json_object_get(p0, "unavailable_why"), "pages_2m");

			if (*why && strcmp(why, last) && strncmp(why, last, 30))
				fprintf(f, "\n%s: \"unavailable\": %s.\n", r[i].label, why);
			last = *why ? why : last;
		}
	}
}

/* KVM's view of the backing in run R, where it kept the counts. */
static void md_policy_kvm(FILE *f, const struct srun *r, int b)
{
	json_t *g = r->bk[b].guest, *p0 = json_object_get(g, "after_guest_touch");
	json_t *p1 = json_object_get(g, "after_host_churn_and_guest_retouch");

	if (!json_is_integer(json_object_get(p0, "pages_2m")) || !json_is_integer(json_object_get(p1, "pages_2m")))
		return;
	fprintf(f, " With a guest writing %ld MiB of it (%s), KVM's leaf mappings were %s 2M and %s 4K "
		"pages (the whole VM's, its few code and stack pages included); after the host "
		"churned 10%% of it and the guest wrote it again, %s 2M and %s 4K.",
		(long)json_integer_value(json_object_get(g, "guest_mib")), r->label,
		kvm_count(p0, "pages_2m"), kvm_count(p0, "pages_4k"),
		kvm_count(p1, "pages_2m"), kvm_count(p1, "pages_4k"));
}

/* One backing's reading, from the first run; where the others differ, said so. */
static void md_policy_backing(FILE *f, struct srun *r, int n, int b)
{
	const struct sback *k = &r[0].bk[b];
	const struct cross *x9 = &k->x[0], *x5 = &k->x[1];

	if (!k->measured) {
		fprintf(f, "- **%s** was not measured on %s: %s.", btitle[b], r[0].label, k->why);
	} else if (x9->kind == X_START) {
		fprintf(f, "- **%s** is not 2M-backed even before any churn on %s (%.1f%% at churn 0): "
			"there is no 2M backing to lose, and no 4K churn rate changes that; sizing for 2M "
			"does not apply to it there.%s%s%s", btitle[b], r[0].label, k->start_pct,
			k->note ? " The benchmark says: " : "", k->note ? k->note : "",
			k->note && k->note[strlen(k->note) - 1] != '.' ? "." : "");
	} else if (x9->kind == X_NEVER) {
		fprintf(f, "- **%s** keeps %.1f%% of its 2M backing after every one of its 4K pages was "
			"punched and re-faulted on %s: 4K punches do not take its 2M pages apart, which "
			"also means a 4K-granular balloon or punch pattern frees none of that memory "
			"while a 2M page stays partly in use.", btitle[b], k->end_pct, r[0].label);
	} else if (x9->kind == X_AT) {
		fprintf(f, "- **%s** loses 10%% of its 2M backing on %s after %.3g%% of its 4K pages are "
			"churned at random (%.2f per 2M region, one page in %.0f)", btitle[b], r[0].label,
			100 * x9->at, x9->at * PER_2M, 1 / x9->at);
		if (x5->kind == X_AT)
			fprintf(f, ", and half of it after %.3g%% (%.2f per 2M region)", 100 * x5->at,
				x5->at * PER_2M);
		else if (x5->kind == X_NEVER)
			fprintf(f, ", but never half of it (%.1f%% left after 100%% churn)", k->end_pct);
		fputs(". ", f);
		if (!isnan(x9->model_ratio) && x9->model_ratio < 1 + SAME_TOL)
			fputs("That is where the model in which every 4K punch costs its whole 2M region "
			      "crosses: each scattered punch split its region. ", f);
		else if (!isnan(x9->model_ratio))
			fprintf(f, "The model in which every punch costs its 2M region crosses %.2fx earlier: "
				"some 2M pages survive punches. ", x9->model_ratio);
		fprintf(f, "A balloon, free-page-reporting or hole-punch pattern that returns scattered "
			"4K pages of such memory at more than that rate gives up its 2M backing "
			"(and the TLB reach that comes with it) in step with the curve above; "
			"whether 2M-aligned frees keep it is not measured here.");
	}
	if (k->measured && k->cost)
		fprintf(f, " Each churned page cost %s%s (CV %.0f%%; %.2fx the same-run 4K first-touch fault).",
			ns_text(k->cost->median), r[0].lab ? " under TCG" : "", 100 * k->cost->cv, k->cost_ratio);
	/* The other runs: same crossing, or not. */
	for (int i = 1; i < n; i++) {
		const struct sback *o = &r[i].bk[b];

		if (!o->measured) {
			fprintf(f, " On %s it was not measured (%s).", r[i].label, o->why);
		} else if (!k->measured) {
			fprintf(f, " On %s: below 90%% %s.", r[i].label, cross_text(o, 0));
		} else if (o->x[0].kind != x9->kind || o->x[1].kind != x5->kind) {
			fprintf(f, " On %s it behaves differently: below 90%% %s, below 50%% %s.", r[i].label,
				cross_text(o, 0), cross_text(o, 1));
		} else if (x9->kind == X_AT) {
			bool s = same(o->x[0].at, x9->at) && (x5->kind != X_AT || same(o->x[1].at, x5->at));
			bool model = !isnan(o->x[0].model_ratio) && !isnan(x9->model_ratio) &&
				     same(o->x[0].model_ratio, x9->model_ratio);

			fprintf(f, " On %s: %s and %s%s.", r[i].label, cross_text(o, 0), cross_text(o, 1),
				s ? " (the same, within 5%)" :
				model ? " (measured / model the same: the difference is the step grid and memory "
					"size, not the kernel)" : " (different)");
		} else {
			fprintf(f, " The same on %s.", r[i].label);
		}
	}
	for (int i = 0; i < n; i++)
		md_policy_kvm(f, &r[i], b);
	fputc('\n', f);
}

static void md_policy(FILE *f, struct srun *r, int n)
{
	int cheap = -1, dear = -1;

	for (int b = 0; b < NB; b++)
		md_policy_backing(f, r, n, b);
	for (int b = 0; b < NB; b++) {
		const struct sback *k = &r[0].bk[b];

		if (!k->measured || !k->cost)
			continue;
		if (cheap < 0 || k->cost->median < r[0].bk[cheap].cost->median)
			cheap = b;
		if (dear < 0 || k->cost->median > r[0].bk[dear].cost->median)
			dear = b;
	}
	if (cheap >= 0 && dear != cheap)
		fprintf(f, "\nChurn on %s costs from %s per page (%s) to %s (%s)%s.\n", r[0].label,
			ns_text(r[0].bk[cheap].cost->median), btitle[cheap],
			ns_text(r[0].bk[dear].cost->median), btitle[dear],
			r[0].lab ? "; under TCG these times say nothing about real hardware" : "");
	for (int i = 0; i < n; i++)
		if (r[i].lab)
			fprintf(f, "\n%s ran in the lab under QEMU TCG: its timings (cost per page, "
				"fault reference) are not meaningful; its retention fractions, crossings and "
				"KVM page counts are, and are compared above.\n", r[i].label);
	fputs("\nRetention is read right after each churn step: khugepaged may re-collapse "
	      "churned regions later, and the free-page-reporting and deferred-split effects the "
	      "benchmark notes are not part of the crossings.\n", f);
}

static void md_caveats(FILE *f, struct srun *r, int n)
{
	static const char *const which[] = { "khugepaged during the run", "retention repetitions",
					     "conversions" };

	for (int i = 0; i < n; i++)
		for (size_t w = 0; w < sizeof(which) / sizeof(which[0]); w++) {
			const char *s = find_note(r[i].hp, "notes", which[w]);

			if (s)
				fprintf(f, "- %s: %s%s\n", r[i].label, which[w], s);
		}
}

static void write_page(FILE *f, struct srun *r, int n, const char *plot_why, const char *generated)
{
	fprintf(f, "# 2M sizing: how much 4K churn 2M-backed memory takes\n\n"
		"Generated %s by `" PROG " --bench-sizing` from the hugepage benchmark "
		"(bench/hugepage.c) of %d run%s; the first is this directory's.\n\n", generated, n,
		n > 1 ? "s" : "");
	md_runs(f, r, n);
	fputs("\nChurn: a growing, cumulative share of the memory's 4K pages, in one fixed random "
	      "order, punched (MADV_DONTNEED for anonymous memory, fallocate PUNCH_HOLE for files) "
	      "and re-faulted by a write. Retention: the share of 2M-aligned regions still backed by "
	      "one 2M folio (pagemap + kpageflags), median over the repetitions. A crossing is "
	      "interpolated on the median curve; the model is the same churn order if every punch "
	      "cost its 2M region (its crossings are the reference: measured / model 1.00 means "
	      "exactly that).\n\n## Where 2M retention falls below 90% and 50%\n\n", f);
	md_crossings(f, r, n);
	fputs("\n## What it means for policy\n\n", f);
	md_policy(f, r, n);
	fputs("\n## Cost per churned page\n\nPunch + re-fault of one 4K page, averaged over a whole "
	      "curve (splits included), per repetition; against the first-touch anonymous 4K fault "
	      "measured in the same run.\n\n", f);
	md_cost(f, r, n);
	fputs("\n## KVM's leaf mappings with a guest on the memory\n\nThe guest maps the backing with "
	      "2M page tables and writes every page; KVM's pages_2m/pages_4k stats, then again after "
	      "the host churned 10% of it.\n\n", f);
	md_kvm(f, r, n);
	fputs("\n## Plot\n\n", f);
	if (plot_why)
		fprintf(f, "Not drawn: %s. The curves are in sizing.csv.\n", plot_why);
	else
		fputs("![2M retention against churn, every backing of every run](sizing.png)\n\n"
		      "sizing.png / sizing.svg (bench/plots/sizing.gp): retention against churn (log "
		      "scale), one colour per backing, one line style per run, 90% and 50% marked; the "
		      "data in sizing.csv.\n", f);
	fputs("\n## Notes from the runs\n\n", f);
	md_caveats(f, r, n);
	for (int i = 0; i < n; i++)
		for (int b = 0; b < NB; b++)
			if (!r[i].bk[b].measured)
				fprintf(f, "- %s: %s not measured: %s\n", r[i].label, btitle[b], r[i].bk[b].why);
}

/* sizing.csv: one block per run (gnuplot's index), the retention curve of each backing. */
static void write_csv(FILE *f, struct srun *r, int n)
{
	for (int i = 0; i < n; i++) {
		size_t steps = 0, s;
		int ref = -1;

		for (int b = 0; b < NB; b++)
			if (r[i].bk[b].measured && json_array_size(r[i].bk[b].curve) > steps)
				steps = json_array_size(r[i].bk[b].curve), ref = b;
		fprintf(f, "%s# run %d: %s\n# churn_fraction,anon_thp,shmem_thp,hugetlb,guest_memfd,"
			"model_any_punch_splits\n", i ? "\n\n" : "", i + 1, r[i].label);
		for (s = 0; ref >= 0 && s < steps; s++) {
			json_t *p = json_array_get(r[i].bk[ref].curve, s);

			fprintf(f, "%.8g", json_number_value(json_object_get(p, "churn_fraction")));
			for (int b = 0; b < NB; b++) {
				json_t *q = r[i].bk[b].measured ? json_array_get(r[i].bk[b].curve, s) : NULL;

				fprintf(f, q ? ",%.3f" : ",NaN", q ? curve_pct(q) : 0);
			}
			fprintf(f, ",%.3f\n", json_number_value(json_object_get(p, "model_any_punch_splits_pct")));
		}
	}
}

/* ---- files --------------------------------------------------------------------------------- */

static FILE *open_temp(const char *dir, const char *name, char **tmp)
{
	mode_t um = umask(0);
	int fd;

	umask(um);
	*tmp = xasprintf("%s/.%s.XXXXXX", dir, name);
	fd = mkstemp(*tmp);
	if (fd < 0)
		die(2, "%s: cannot create a temporary file: %s", dir, strerror(errno));
	temps[ntemps++] = *tmp;
	fchmod(fd, 0666 & ~um);
	return oom(fdopen(fd, "w"));
}

static void close_temp(FILE *f, const char *tmp)
{
	bool bad = fflush(f) || ferror(f) || fsync(fileno(f));

	if (fclose(f) || bad)
		die(2, "%s: write failed", tmp);
}

/* The plot script: PRIVMEM_PLOTS, else bench/plots beside the build directory of this binary. */
static char *plot_script(void)
{
	const char *env = getenv("PRIVMEM_PLOTS");
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (env && *env)
		return xasprintf("%s/sizing.gp", env);
	if (len <= 0)
		return NULL;
	exe[len] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	return xasprintf("%s/../bench/plots/sizing.gp", exe);
}

/* gnuplot SCRIPT for one format into a temporary file, renamed into place: NULL, or why not. */
static char *draw(const char *dir, const char *script, struct srun *r, int n, const char *fmt)
{
	char *tmp = xasprintf("%s/.sizing.%s.tmp", dir, fmt), *out = xasprintf("%s/sizing.%s", dir, fmt);
	char *log = xasprintf("%s/sizing.plot.log", dir), *plots = xstrdup(script), *e;
	struct sbuf sb = { 0 };
	pid_t pid;
	int st;

	*strrchr(plots, '/') = 0;
	e = xasprintf("dir='%s'; fmt='%s'; plots='%s'; out='%s'; nruns=%d; ", dir, fmt, plots, tmp, n);
	sb_add(&sb, e, strlen(e));
	for (int i = 0; i < n; i++) {
		char *l = xasprintf("label%d='%s%s'; ", i + 1, r[i].label, r[i].lab ? " (TCG)" : "");

		sb_add(&sb, l, strlen(l));
	}
	e = sb_steal(&sb);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		FILE *lf = fopen(log, "a");

		if (lf) {
			dup2(fileno(lf), 1);
			dup2(fileno(lf), 2);
		}
		execlp("gnuplot", "gnuplot", "-e", e, script, (char *)NULL);
		fprintf(stderr, "gnuplot: %s\n", strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return xasprintf("cannot run gnuplot: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 127) {
		unlink(tmp);
		return xstrdup("gnuplot is not installed (make deps)");
	}
	if (WEXITSTATUS(st) || access(tmp, R_OK)) {
		unlink(tmp);
		return xasprintf("gnuplot failed for %s (see sizing.plot.log)", fmt);
	}
	if (rename(tmp, out))
		return xasprintf("%s: %s", out, strerror(errno));
	return NULL;
}

int bench_sizing(char **dirs, int n)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t now = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	struct srun *r = xcalloc(sizeof(*r) * n);
	char generated[32], *tmp_md, *tmp_csv, *script, *why = NULL;
	char *md = xasprintf("%s/sizing.md", dirs[0]), *csv = xasprintf("%s/sizing.csv", dirs[0]);
	struct tm tm;
	FILE *f;

	for (int i = 0; i < n; i++)
		load_run(dirs[i], &r[i]);
	strftime(generated, sizeof(generated), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));

	f = open_temp(dirs[0], "sizing.csv", &tmp_csv);
	write_csv(f, r, n);
	close_temp(f, tmp_csv);
	if (rename(tmp_csv, csv))
		die(2, "%s: %s", csv, strerror(errno));
	ntemps = 0;

	script = plot_script();
	if (!script || access(script, R_OK))
		why = xasprintf("no plot script (%s; PRIVMEM_PLOTS names its directory)",
				script ? script : "/proc/self/exe unreadable");
	for (int i = 0; !why && i < 2; i++)
		why = draw(dirs[0], script, r, n, i ? "svg" : "png");

	f = open_temp(dirs[0], "sizing.md", &tmp_md);
	write_page(f, r, n, why, generated);
	close_temp(f, tmp_md);
	if (rename(tmp_md, md))
		die(2, "%s: %s", md, strerror(errno));
	ntemps = 0;
	printf("wrote %s (%d run%s), %s%s\n", md, n, n > 1 ? "s" : "", csv,
	       why ? "" : ", sizing.png, sizing.svg");
	if (why)
		fprintf(stderr, PROG ": plot not drawn: %s\n", why);
	return 0;
}
