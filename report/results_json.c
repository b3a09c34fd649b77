// SPDX-License-Identifier: GPL-2.0
/* privmem-report: results.json of one run. */
#include "report.h"

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

void write_json(const struct run *r, FILE *f)
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
