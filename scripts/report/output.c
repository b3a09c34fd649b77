// SPDX-License-Identifier: GPL-2.0
/* privmem-report: results.json, junit.xml, summary.md and the terminal summary of one run. */
#include "report.h"

/* ---- outputs ---------------------------------------------------------- */

char *test_id(const struct binary *b, const struct test *t)
{
	return xasprintf("%s.%s.%s", b->coll, b->name, t->name);
}

static json_t *json_counts(const int count[ST_NR])
{
	return json_pack("{s:i, s:i, s:i, s:i, s:i}", "pass", count[ST_PASS], "fail", count[ST_FAIL],
			 "skip", count[ST_SKIP], "xfail", count[ST_XFAIL], "xpass", count[ST_XPASS]);
}

/* "rows": every row of rows.tsv in file order, with its outcome. */
static json_t *json_rows(const struct run *r)
{
	json_t *rows = json_array();

	for (size_t i = 0; i < r->nrows; i++) {
		const struct row *w = &r->rows[i];
		json_t *reasons = json_array();

		for (size_t k = 0; k < w->nreasons; k++)
			json_array_append_new(reasons, json_string(w->reasons[k]));
		json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
			"id", w->field[RF_ID], "area", w->field[RF_AREA],
			"expectation", w->field[RF_EXPECTATION], "source", w->field[RF_SOURCE],
			"needs", w->field[RF_NEEDS], "status", rs_name[w->st],
			"counts", json_counts(w->count), "skip_reasons", reasons));
	}
	return rows;
}

/* The row counts and the tests no row claims, added to "summary". */
static void json_row_summary(const struct run *r, json_t *summary)
{
	json_t *unlisted = json_array();

	for (size_t i = 0; i < r->nbins; i++)
		for (size_t j = 0; j < r->bins[i].ntests; j++)
			if (!r->bins[i].tests[j].row)
				json_array_append_new(unlisted,
						      json_string(test_id(&r->bins[i], &r->bins[i].tests[j])));
	json_object_update(summary, json_pack("{s:I, s:i, s:i, s:i, s:i, s:i, s:o}",
		"rows_total", (json_int_t)r->nrows, "rows_pass", r->row_count[RS_PASS],
		"rows_fail", r->row_count[RS_FAIL], "rows_skip", r->row_count[RS_SKIP],
		"rows_xfail", r->row_count[RS_XFAIL],
		"rows_not_run", r->row_count[RS_NOT_RUN], "unlisted_tests", unlisted));
}

static void write_json(const struct run *r, FILE *f)
{
	json_t *bins = json_array(), *tests = json_array(), *summary, *rows = NULL, *root;

	for (size_t i = 0; i < r->nbins; i++) {
		const struct binary *b = &r->bins[i];

		json_array_append_new(bins, json_pack("{s:s, s:s, s:o, s:f, s:b, s:s?, s:o, s:i, s:s?}",
			"collection", b->coll, "binary", b->name,
			"exit", b->has_meta ? json_integer(b->exit_code) : json_null(),
			"seconds", b->seconds, "timeout", b->timeout, "deviation", b->deviation,
			"planned", b->planned >= 0 ? json_integer(b->planned) : json_null(),
			"reported", b->reported, "kernel_log", b->kernel_log));
		for (size_t j = 0; j < b->ntests; j++) {
			const struct test *t = &b->tests[j];
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}",
				"id", test_id(b, t), "collection", b->coll, "binary", b->name,
				"name", t->name, "status", st_name[t->st], "reason", t->reason);

			/* Without rows.tsv the output stays exactly as before. */
			if (o && r->have_rows)
				json_object_set_new(o, "row", t->row ? json_string(t->row->field[RF_ID]) :
						    json_null());
			/* How a failure came about (assert, crash, timeout, missing, other). */
			if (o && failing(t->st))
				json_object_set_new(o, "kind", json_string(fk_name[t->kind]));
			/* The documented behaviours it showed where upstream drifted; no key if none. */
			if (o && t->ndrift)
				json_object_set_new(o, "drift", drift_json_test(t));
			json_array_append_new(tests, o);
		}
	}
	summary = json_pack("{s:I, s:i, s:i, s:i, s:i, s:i, s:I, s:f}",
		"total", (json_int_t)r->ntests, "pass", r->count[ST_PASS],
		"fail", r->count[ST_FAIL], "skip", r->count[ST_SKIP], "xfail", r->count[ST_XFAIL],
		"xpass", r->count[ST_XPASS], "binaries", (json_int_t)r->nbins, "seconds", r->seconds);
	if (summary && r->have_rows) {
		json_row_summary(r, summary);
		rows = json_rows(r);
	}
	root = json_pack("{s:s, s:i, s:{s:s, s:s, s:s, s:s}, s:o, s:o, s:o, s:o*, s:o, s:O, s:O?}",
		"format", "privmem-results", "version", 1,
		"run", "dir", r->base, "generated", r->generated, "kernel", r->kernel, "host", r->host,
		"summary", summary, "binaries", bins, "tests", tests, "rows", rows,
		"drift", drift_json_run(&r->drift),
		"platforms", r->platforms, "caps", r->caps);
	if (root && r->background)
		json_object_set_new(json_object_get(root, "run"), "background", json_string(r->background));
	/* Everything was sanitized to UTF-8, so a failed pack is a bug. */
	if (!root || json_array_size(bins) != r->nbins || json_array_size(tests) != r->ntests ||
	    json_array_size(json_object_get(root, "drift")) != drift_nseen(&r->drift) ||
	    json_array_size(rows) != r->nrows || (r->have_rows &&
	    json_array_size(json_object_get(summary, "unlisted_tests")) != r->nunlisted))
		die(2, "internal error: cannot encode results.json");
	json_dumpf(root, f, JSON_FLAGS);
	fputc('\n', f);
}

static void xml_puts(FILE *f, const char *s, bool attr)
{
	for (; *s; s++) {
		unsigned char c = *s;

		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\n': case '\t': case '\r':
			/* Attribute values would normalize raw newlines to spaces. */
			if (attr)
				fprintf(f, "&#%d;", c);
			else
				fputc(c, f);
			break;
		default:
			/* XML 1.0 cannot carry other C0 controls, not even as &#N;. */
			if (c < 0x20)
				fprintf(f, "\\x%02x", c);
			else
				fputc(c, f);
		}
	}
}

static void xml_attr(FILE *f, const char *name, const char *val)
{
	fprintf(f, " %s=\"", name);
	xml_puts(f, val, true);
	fputc('"', f);
}

/*
 * One <testcase>. Its drift goes to <system-out>, as the lines the test logged: JUnit has
 * <properties> per suite only (a testcase-level one is outside the schema some CI parsers
 * validate against), and system-out is what their test views show.
 */
static void write_testcase(FILE *f, const struct binary *b, const struct test *t)
{
	const char *dot = strrchr(t->name, '.'), *why = t->reason ? t->reason : "";
	char *out = drift_text(t);

	fputs("    <testcase", f);
	xml_attr(f, "classname", xasprintf("%s.%s%s%.*s", b->coll, b->name, dot ? "." : "",
					    dot ? (int)(dot - t->name) : 0, t->name));
	xml_attr(f, "name", dot ? dot + 1 : t->name);
	if (t->st == ST_PASS && !out) {
		fputs("/>\n", f);
		return;
	}
	fputc('>', f);
	if (failing(t->st)) {
		fputs("\n      <failure", f);
		xml_attr(f, "message", first_line(why));
		xml_attr(f, "type", fk_name[t->kind]);
		fputc('>', f);
		xml_puts(f, why, false);
		fputs("</failure>", f);
	} else if (t->st == ST_SKIP) {
		fputs("\n      <skipped", f);
		xml_attr(f, "message", why);
		fputs("/>", f);
	} else if (t->st == ST_XFAIL) {
		out = xasprintf("XFAIL: %s%s%s", why, out ? "\n" : "", out ? out : "");
	}
	if (out) {
		fputs("\n      <system-out>", f);
		xml_puts(f, out, false);
		fputs("</system-out>", f);
	}
	fputs("\n    </testcase>\n", f);
}

static void write_junit(const struct run *r, FILE *f)
{
	/* JUnit's xs:dateTime has no zone suffix; the value is UTC. */
	char *stamp = xstrndup(r->generated, strcspn(r->generated, "Z"));

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"privmem\""
		" tests=\"%zu\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"%.3f\">\n",
		r->ntests, r->count[ST_FAIL] + r->count[ST_XPASS], r->count[ST_SKIP], r->seconds);
	for (size_t i = 0; i < r->nbins; i++) {
		const struct binary *b = &r->bins[i];
		int fails = 0, skips = 0;

		for (size_t j = 0; j < b->ntests; j++) {
			fails += failing(b->tests[j].st);
			skips += b->tests[j].st == ST_SKIP;
		}
		fputs("  <testsuite", f);
		xml_attr(f, "name", xasprintf("%s.%s", b->coll, b->name));
		fprintf(f, " tests=\"%zu\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"%.3f\"",
			b->ntests, fails, skips, b->seconds);
		xml_attr(f, "hostname", r->host);
		xml_attr(f, "timestamp", stamp);
		fputs(">\n    <properties>\n      <property name=\"kernel\"", f);
		xml_attr(f, "value", r->kernel);
		fprintf(f, "/>\n      <property name=\"exit\" value=\"%s\"/>\n", exit_str(b));
		if (b->timeout)
			fputs("      <property name=\"timeout\" value=\"true\"/>\n", f);
		if (b->deviation) {
			fputs("      <property name=\"deviation\"", f);
			xml_attr(f, "value", b->deviation);
			fputs("/>\n", f);
		}
		fputs("    </properties>\n", f);
		for (size_t j = 0; j < b->ntests; j++)
			write_testcase(f, b, &b->tests[j]);
		fputs("  </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
}

struct group { const char *reason; int count; };

static int group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	return x->count != y->count ? y->count - x->count : strcmp(x->reason, y->reason);
}

/* Distinct SKIP reasons, most frequent first. */
static struct group *skip_groups(const struct run *r, size_t *ng)
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

static void write_markdown(const struct run *r, FILE *f)
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

/* First line of s on the terminal, at most max bytes. */
void put_short(const char *prefix, const char *s, size_t max)
{
	char *l = xasprintf("%s%s", prefix, first_line(s ? s : ""));
	size_t n = utf8_cut(l, max);

	printf("%.*s%s\n", (int)n, l, n < strlen(l) ? "..." : "");
}

static void print_summary(const struct run *r, char *const paths[3])
{
	int fails = r->count[ST_FAIL] + r->count[ST_XPASS], shown = 0;
	size_t ng;
	struct group *g = skip_groups(r, &ng);

	printf("privmem run %s: kernel %s on %s%s%s\n", r->base, r->kernel, r->host,
	       r->background ? ", background load: " : "", r->background ? r->background : "");
	printf("  %zu tests in %zu binaries (%.2fs): %d pass, %d fail, %d skip, %d xfail, %d xpass\n",
	       r->ntests, r->nbins, r->seconds, r->count[ST_PASS], r->count[ST_FAIL],
	       r->count[ST_SKIP], r->count[ST_XFAIL], r->count[ST_XPASS]);
	if (r->have_rows)
		printf("  rows: %zu listed: %d pass, %d fail, %d skip only, %d xfail only, %d not run;"
		       " %zu tests without a row\n",
		       r->nrows, r->row_count[RS_PASS], r->row_count[RS_FAIL], r->row_count[RS_SKIP],
		       r->row_count[RS_XFAIL], r->row_count[RS_NOT_RUN], r->nunlisted);
	if (fails)
		printf("failures (%d):\n", fails);
	for (size_t i = 0; i < r->nbins; i++)
		for (size_t j = 0; j < r->bins[i].ntests; j++) {
			const struct test *t = &r->bins[i].tests[j];

			if (failing(t->st) && shown++ < 10)
				put_short(xasprintf("  %s %s: ", st_name[t->st], test_id(&r->bins[i], t)),
					  t->reason, 150);
		}
	if (shown > 10)
		printf("  ... and %d more, see summary.md\n", shown - 10);
	if (ng)
		printf("skip reasons:\n");
	for (size_t i = 0; i < ng && i < 8; i++)
		put_short(xasprintf("  %4d x ", g[i].count), g[i].reason, 130);
	if (ng > 8)
		printf("  ... and %zu more reasons\n", ng - 8);
	printf("wrote %s, %s, %s\n", paths[0], paths[1], paths[2]);
	printf("%d passed, %d failed, %d skipped\n", r->count[ST_PASS] + r->count[ST_XFAIL],
	       fails, r->count[ST_SKIP]);
}

int report(const char *dir)
{
	static const char *const names[3] = { "results.json", "junit.xml", "summary.md" };
	struct run r = { .dir = dir };
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t now = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	char *real, *final[3];
	mode_t um = umask(0);
	struct tm tm;

	umask(um);
	if (!is_dir(dir))
		die(2, "%s: %s", dir, access(dir, F_OK) ? strerror(errno) : "not a directory");
	real = realpath(dir, NULL);
	if (!real)
		die(2, "%s: %s", dir, strerror(errno));
	r.base = strrchr(real, '/')[1] ? strrchr(real, '/') + 1 : real;
	if (!gmtime_r(&now, &tm))
		die(2, "SOURCE_DATE_EPOCH: bad value '%s'", sde);
	strftime(r.generated, sizeof(r.generated), "%Y-%m-%dT%H:%M:%SZ", &tm);

	/* Validate every input before creating any output. */
	load_caps(&r);
	load_rows(&r);
	scan_run(&r);
	for (size_t i = 0; i < r.nbins; i++) {
		r.seconds += r.bins[i].seconds;
		for (size_t j = 0; j < r.bins[i].ntests; j++, r.ntests++)
			r.count[r.bins[i].tests[j].st]++;
	}
	if (r.have_rows)
		tally_rows(&r);
	drift_tally_run(&r, &r.drift);

	/* Temp file + rename(2): readers never see a half-written output. */
	for (int i = 0; i < 3; i++) {
		char *tmp = xasprintf("%s/.%s.XXXXXX", dir, names[i]);
		int fd = mkstemp(tmp);
		FILE *f;
		bool bad;

		if (fd < 0)
			die(2, "%s: cannot create temporary file: %s", dir, strerror(errno));
		temps[ntemps++] = tmp;
		fchmod(fd, 0666 & ~um);	/* mkstemp() makes 0600; outputs are shared */
		f = oom(fdopen(fd, "w"));
		if (i == 0)
			write_json(&r, f);
		else if (i == 1)
			write_junit(&r, f);
		else
			write_markdown(&r, f);
		bad = fflush(f) || ferror(f) || fsync(fd);
		if (fclose(f) || bad)
			die(2, "%s: write failed", tmp);
		final[i] = xasprintf("%s/%s", dir, names[i]);
	}
	for (int i = 0; i < 3; i++)
		if (rename(temps[i], final[i]))
			die(2, "%s: %s", final[i], strerror(errno));
	ntemps = 0;

	print_summary(&r, final);
	if (!r.ntests) {
		fprintf(stderr, PROG ": no test results found in %s\n", dir);
		return 1;
	}
	return r.count[ST_FAIL] + r.count[ST_XPASS] ? 1 : 0;
}

