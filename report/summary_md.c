// SPDX-License-Identifier: GPL-2.0
/* privmem-report: summary.md of one run, and the SKIP reasons it and the terminal group. */
#include "report.h"


static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->count != y->count ? y->count - x->count : strcmp(x->reason, y->reason);
}

/* Distinct SKIP reasons, most frequent first. */
struct group *skip_groups(const struct run *r, size_t *ng)
{
	struct group *g = xcalloc((r->count[ST_SKIP] + 1) * sizeof(*g));

	*ng = 0;
	for (size_t i = 0; i < r->nbins; i++)
		for (size_t j = 0; j < r->bins[i].ntests; j++) {
			const struct test *t = &r->bins[i].tests[j];
			size_t k = 0;

			if (t->st != ST_SKIP)
				continue;
			while (k < *ng && strcmp(g[k].reason, t->reason))
				k++;
			if (k == *ng)
				g[(*ng)++].reason = t->reason;
			g[k].count++;
		}
	qsort(g, *ng, sizeof(*g), group_cmp);
	return g;
}

/* A Markdown table cell must stay on one line and not open a column or tag. */
void md_cell(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '|': fputs("\\|", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\n': case '\r': case '\t': fputc(' ', f); break;
		default: fputc(*s, f);
		}
	}
}

/* Areas in the order rows.tsv first names them. */
static const char **row_areas(const struct run *r, size_t *na)
{
	const char **a = xcalloc(r->nrows * sizeof(*a));
	size_t k;

	*na = 0;
	for (size_t i = 0; i < r->nrows; i++) {
		for (k = 0; k < *na && strcmp(a[k], r->rows[i].field[RF_AREA]); k++)
			;
		if (k == *na)
			a[(*na)++] = r->rows[i].field[RF_AREA];
	}
	return a;
}

static void md_rows(const struct run *r, FILE *f)
{
	size_t na;
	const char **areas = row_areas(r, &na);

	fprintf(f, "\n## Behaviour rows\n\n%zu rows listed in `rows.tsv`: %d pass, %d fail, %d skip only,"
		" %d xfail only, %d not run; %zu tests without a row.\n", r->nrows, r->row_count[RS_PASS],
		r->row_count[RS_FAIL], r->row_count[RS_SKIP], r->row_count[RS_XFAIL],
		r->row_count[RS_NOT_RUN], r->nunlisted);
	if (na)
		fputs("\n| Area | Rows | Pass | Fail | Skip | XFail | Not run |\n"
		      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n", f);
	for (size_t k = 0; k < na; k++) {
		int c[RS_NR] = { 0 }, n = 0;

		for (size_t i = 0; i < r->nrows; i++)
			if (!strcmp(r->rows[i].field[RF_AREA], areas[k]))
				c[r->rows[i].st]++, n++;
		fputs("| ", f);
		md_cell(f, areas[k]);
		fprintf(f, " | %d | %d | %d | %d | %d | %d |\n", n, c[RS_PASS], c[RS_FAIL], c[RS_SKIP],
			c[RS_XFAIL], c[RS_NOT_RUN]);
	}
	if (r->row_count[RS_NOT_RUN])
		fprintf(f, "\nRows not run (%d), no test maps to them:\n\n", r->row_count[RS_NOT_RUN]);
	for (size_t i = 0; i < r->nrows; i++) {
		if (r->rows[i].st != RS_NOT_RUN)
			continue;
		fputs("- `", f);
		md_cell(f, r->rows[i].field[RF_ID]);
		fputs("`: ", f);
		md_cell(f, r->rows[i].field[RF_EXPECTATION]);
		fputc('\n', f);
	}
	if (r->nunlisted)
		fprintf(f, "\nTests without a row (%zu):\n\n", r->nunlisted);
	for (size_t i = 0; i < r->nbins; i++)
		for (size_t j = 0; j < r->bins[i].ntests; j++) {
			if (r->bins[i].tests[j].row)
				continue;
			fputs("- `", f);
			md_cell(f, test_id(&r->bins[i], &r->bins[i].tests[j]));
			fputs("`\n", f);
		}
}

void write_markdown(const struct run *r, FILE *f)
{
	size_t ng, i;
	struct group *g = skip_groups(r, &ng);
	json_t *p;

	fputs("# privmem results: ", f);
	md_cell(f, r->kernel);
	fputs(" on ", f);
	md_cell(f, r->host);
	fprintf(f, "\n\nRun `%s`, generated %s%s%s.\n\n**%zu tests**: %d passed, %d failed, %d skipped,"
		" %d xfail, %d xpass (%zu binaries, %.2f s)\n\n## Platforms\n\n", r->base,
		r->generated, r->background ? ", under the stress-ng background load " : "",
		r->background ? r->background : "", r->ntests, r->count[ST_PASS], r->count[ST_FAIL], r->count[ST_SKIP],
		r->count[ST_XFAIL], r->count[ST_XPASS], r->nbins, r->seconds);
	fputs(json_array_size(r->platforms) ? "| Platform | Status | Reason |\n| --- | --- | --- |\n" :
	      "No platform information (caps.json absent or without platforms).\n", f);
	json_array_foreach(r->platforms, i, p) {
		const char *cell[3] = { jstr(p, "name"), jstr(p, "status"), jstr(p, "reason") };

		for (int c = 0; c < 3; c++) {
			fputs("| ", f);
			md_cell(f, cell[c]);
			fputc(' ', f);
		}
		fputs("|\n", f);
	}
	if (r->have_rows)
		md_rows(r, f);
	if (r->count[ST_FAIL] + r->count[ST_XPASS])
		fprintf(f, "\n## Failures (%d)\n\n| Test | Status | Reason |\n| --- | --- | --- |\n",
			r->count[ST_FAIL] + r->count[ST_XPASS]);
	for (i = 0; i < r->nbins; i++)
		for (size_t j = 0; j < r->bins[i].ntests; j++) {
			const struct test *t = &r->bins[i].tests[j];

			if (!failing(t->st))
				continue;
			fputs("| `", f);
			md_cell(f, test_id(&r->bins[i], t));
			fprintf(f, "` | %s | ", st_name[t->st]);
			md_cell(f, first_line(t->reason));
			fputs(" |\n", f);
		}
	drift_markdown(&r->drift, f);
	if (ng)
		fputs("\n## Skip reasons\n\n| Reason | Tests |\n| --- | ---: |\n", f);
	for (i = 0; i < ng; i++) {
		fputs("| ", f);
		md_cell(f, g[i].reason);
		fprintf(f, " | %d |\n", g[i].count);
	}
	fputs("\n## Binaries\n\n| Binary | Exit | Seconds | Results/plan | Notes |\n"
	      "| --- | ---: | ---: | ---: | --- |\n", f);
	for (i = 0; i < r->nbins; i++) {
		const struct binary *b = &r->bins[i];

		fprintf(f, "| `%s.%s` | %s | %.2f | %d/%s | %s", b->coll, b->name, exit_str(b),
			b->seconds, b->reported, b->planned >= 0 ? xasprintf("%ld", b->planned) : "-",
			b->timeout ? "killed at time limit" : "");
		if (b->deviation) {
			fputs(b->timeout ? "; deviation: " : "deviation: ", f);
			md_cell(f, b->deviation);
		}
		/* A kernel log the runner could not read is said, never taken as clean. */
		if (b->kernel_log && strcmp(b->kernel_log, "checked")) {
			fputs(b->timeout || b->deviation ? "; kernel log " : "kernel log ", f);
			md_cell(f, b->kernel_log);
		}
		fputs(" |\n", f);
	}
}

