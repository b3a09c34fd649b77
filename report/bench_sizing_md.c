// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report --bench-sizing: the page itself (sizing.md), from the runs bench_sizing.c
 * read. Every sentence is a reading of a figure the benchmark measured; where a backing was
 * not measured, it says why.
 */
#include "bench.h"

#define PER_2M		512	/* 4K pages per 2M region */
#define SAME_TOL	0.05	/* crossings within 5% of each other are "the same" */

/* ---- words and numbers ---------------------------------------------------------------- */

/* A churn fraction as a percentage with the punches per 2M region it means. */
static char *churn_text(double x)
{
	return xasprintf("%.3g%% (%.2f punches per 2M)", 100 * x, x * PER_2M);
}

static char *cross_text(const struct sz_back *k, int t)
{
	const struct sz_cross *x = &k->x[t];

	switch (x->kind) {
	case SZ_AT: return churn_text(x->at);
	case SZ_START: return xasprintf("from the start (%.1f%% 2M-backed at churn 0)", k->start_pct);
	case SZ_NEVER: return xasprintf("never (%.1f%% left after %s churn)", k->end_pct, "100%");
	default: return xstrdup("unknown");
	}
}

/* The spread of the crossing over the repetitions. */
static char *spread_text(const struct sz_cross *x)
{
	double lo = INFINITY, hi = -INFINITY;

	if (x->kind != SZ_AT)
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

static void md_runs(FILE *f, struct sz_run *r, int n)
{
	fputs("| run | where | kernel | mode | memory | repetitions | commit | directory |\n"
	      "|---|---|---|---|---|---|---|---|\n", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "| %s | %s | %s | %s | %ld MiB | %ld | %s | `%s` |\n", r[i].label,
			r[i].lab ? "lab guest (QEMU TCG)" : "host", or_unknown(r[i].b.kernel),
			r[i].b.mode, r[i].mib, r[i].reps, r[i].b.commit, r[i].b.stamp);
}

static void md_crossings(FILE *f, struct sz_run *r, int n)
{
	fputs("| backing | run | below 90% at | below 50% at | over repetitions (90%) | "
	      "over repetitions (50%) | measured / model (90%, 50%) | 2M-backed after 100% churn |\n"
	      "|---|---|---|---|---|---|---|---|\n", f);
	for (int b = 0; b < SZ_NB; b++)
		for (int i = 0; i < n; i++) {
			const struct sz_back *k = &r[i].bk[b];

			if (!k->measured) {
				fprintf(f, "| %s | %s | not measured | | | | | |\n", sz_title[b], r[i].label);
				continue;
			}
			fprintf(f, "| %s | %s | %s | %s | %s | %s | ", sz_title[b], r[i].label,
				cross_text(k, 0), cross_text(k, 1), spread_text(&k->x[0]), spread_text(&k->x[1]));
			for (int t = 0; t < 2; t++)
				fprintf(f, isnan(k->x[t].model_ratio) ? "%s-" : "%s%.2f", t ? ", " : "",
					k->x[t].model_ratio);
			fprintf(f, " | %.1f%% |\n", k->end_pct);
		}
}

static void md_cost(FILE *f, struct sz_run *r, int n)
{
	fputs("| backing | run | per churned 4K page (median) | CV | n | same-run 4K first-touch fault | ratio |\n"
	      "|---|---|---|---|---|---|---|\n", f);
	for (int b = 0; b < SZ_NB; b++)
		for (int i = 0; i < n; i++) {
			const struct sz_back *k = &r[i].bk[b];

			if (!k->measured || !k->cost) {
				fprintf(f, "| %s | %s | not measured | | | | |\n", sz_title[b], r[i].label);
				continue;
			}
			fprintf(f, "| %s | %s | %s%s | %.1f%%", sz_title[b], r[i].label,
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

static void md_kvm(FILE *f, struct sz_run *r, int n)
{
	fputs("| backing | run | pages_2m / pages_4k after the guest wrote it | after 10% host churn "
	      "and a second guest pass | host 2M-backed % (touch / churn / retouch) |\n"
	      "|---|---|---|---|---|\n", f);
	for (int b = 0; b < SZ_NB; b++)
		for (int i = 0; i < n; i++) {
			const struct sz_back *k = &r[i].bk[b];
			json_t *g = k->guest, *p0 = json_object_get(g, "after_guest_touch");
			json_t *p1 = json_object_get(g, "after_host_churn_and_guest_retouch");

			if (!k->measured)
				continue;
			if (!json_is_object(g) || json_is_string(json_object_get(g, "skipped"))) {
				fprintf(f, "| %s | %s | guest phase skipped: ", sz_title[b], r[i].label);
				md_cell(f, json_is_object(g) ? jstr(g, "skipped") : "not recorded");
				fputs(" | | |\n", f);
				continue;
			}
			fprintf(f, "| %s | %s | %s / %s | %s / %s | ", sz_title[b], r[i].label,
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

		for (int b = 0; b < SZ_NB; b++) {
			json_t *p0 = json_object_get(r[i].bk[b].guest, "after_guest_touch");
			const char *why = jstr(json_object_get(p0, "unavailable_why"), "pages_2m");

			if (*why && strcmp(why, last) && strncmp(why, last, 30))
				fprintf(f, "\n%s: \"unavailable\": %s.\n", r[i].label, why);
			last = *why ? why : last;
		}
	}
}

/* KVM's view of the backing in run R, where it kept the counts. */
static void md_policy_kvm(FILE *f, const struct sz_run *r, int b)
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
	/* The guest's 2M mappings next to the host's 2M backing under them. */
	if (json_integer_value(json_object_get(p0, "pages_2m")) > 0 &&
	    json_is_number(json_object_get(g, "host_backed_2m_pct_after_host_churn")))
		fprintf(f, " KVM's 2M mappings followed the host's 2M backing under them (host 2M-backed "
			"%.0f%% -> %.0f%%, pages_2m %lld -> %lld).",
			json_number_value(json_object_get(g, "host_backed_2m_pct_after_guest_touch")),
			json_number_value(json_object_get(g, "host_backed_2m_pct_after_host_churn")),
			(long long)json_integer_value(json_object_get(p0, "pages_2m")),
			(long long)json_integer_value(json_object_get(p1, "pages_2m")));
}

/* One backing's reading, from the first run; where the others differ, said so. */
static void md_policy_backing(FILE *f, struct sz_run *r, int n, int b)
{
	const struct sz_back *k = &r[0].bk[b];
	const struct sz_cross *x9 = &k->x[0], *x5 = &k->x[1];

	if (!k->measured) {
		fprintf(f, "- **%s** was not measured on %s: %s.", sz_title[b], r[0].label, k->why);
	} else if (x9->kind == SZ_START) {
		fprintf(f, "- **%s** is not 2M-backed even before any churn on %s (%.1f%% at churn 0): "
			"there is no 2M backing to lose, and no 4K churn rate changes that; sizing for 2M "
			"does not apply to it there.%s%s%s", sz_title[b], r[0].label, k->start_pct,
			k->note ? " The benchmark says: " : "", k->note ? k->note : "",
			k->note && k->note[strlen(k->note) - 1] != '.' ? "." : "");
	} else if (x9->kind == SZ_NEVER) {
		fprintf(f, "- **%s** keeps %.1f%% of its 2M backing after every one of its 4K pages was "
			"punched and re-faulted on %s: 4K punches do not take its 2M pages apart, which "
			"also means a 4K-granular balloon or punch pattern frees none of that memory "
			"while a 2M page stays partly in use.", sz_title[b], k->end_pct, r[0].label);
	} else if (x9->kind == SZ_AT) {
		fprintf(f, "- **%s** loses 10%% of its 2M backing on %s after %.3g%% of its 4K pages are "
			"churned at random (%.2f per 2M region, one page in %.0f)", sz_title[b], r[0].label,
			100 * x9->at, x9->at * PER_2M, 1 / x9->at);
		if (x5->kind == SZ_AT)
			fprintf(f, ", and half of it after %.3g%% (%.2f per 2M region)", 100 * x5->at,
				x5->at * PER_2M);
		else if (x5->kind == SZ_NEVER)
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
		const struct sz_back *o = &r[i].bk[b];

		if (!o->measured) {
			fprintf(f, " On %s it was not measured (%s).", r[i].label, o->why);
		} else if (!k->measured) {
			fprintf(f, " On %s: below 90%% %s.", r[i].label, cross_text(o, 0));
		} else if (o->x[0].kind != x9->kind || o->x[1].kind != x5->kind) {
			fprintf(f, " On %s it behaves differently: below 90%% %s, below 50%% %s.", r[i].label,
				cross_text(o, 0), cross_text(o, 1));
		} else if (x9->kind == SZ_AT) {
			bool s = same(o->x[0].at, x9->at) && (x5->kind != SZ_AT || same(o->x[1].at, x5->at));
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

static void md_policy(FILE *f, struct sz_run *r, int n)
{
	int cheap = -1, dear = -1;

	for (int b = 0; b < SZ_NB; b++)
		md_policy_backing(f, r, n, b);
	for (int b = 0; b < SZ_NB; b++) {
		const struct sz_back *k = &r[0].bk[b];

		if (!k->measured || !k->cost)
			continue;
		if (cheap < 0 || k->cost->median < r[0].bk[cheap].cost->median)
			cheap = b;
		if (dear < 0 || k->cost->median > r[0].bk[dear].cost->median)
			dear = b;
	}
	if (cheap >= 0 && dear != cheap)
		fprintf(f, "\nChurn on %s costs from %s per page (%s) to %s (%s)%s.\n", r[0].label,
			ns_text(r[0].bk[cheap].cost->median), sz_title[cheap],
			ns_text(r[0].bk[dear].cost->median), sz_title[dear],
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

static void md_caveats(FILE *f, struct sz_run *r, int n)
{
	static const char *const which[] = { "khugepaged during the run", "retention repetitions",
					     "conversions" };

	for (int i = 0; i < n; i++)
		for (size_t w = 0; w < sizeof(which) / sizeof(which[0]); w++) {
			const char *s = sz_note(r[i].hp, "notes", which[w]);

			if (s)
				fprintf(f, "- %s: %s%s\n", r[i].label, which[w], s);
		}
}

void sz_write_page(FILE *f, struct sz_run *r, int n, const char *plot_why, const char *generated)
{
	fprintf(f, "# 2M sizing: how much 4K churn 2M-backed memory takes\n\n"
		"Generated %s by `" PROG " --bench-sizing` from the hugepage benchmark "
		"(bench/hugepage/) of %d run%s; the first is this directory's.\n\n", generated, n,
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
		for (int b = 0; b < SZ_NB; b++)
			if (!r[i].bk[b].measured)
				fprintf(f, "- %s: %s not measured: %s\n", r[i].label, sz_title[b], r[i].bk[b].why);
}
