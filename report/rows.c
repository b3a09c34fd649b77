// SPDX-License-Identifier: GPL-2.0
/* privmem-report: the behaviour rows (rows.tsv) and their tally. */
#include "report.h"

/* ---- behaviour rows ----------------------------------------------------- */

/* "<fixture>.<test>": exactly one dot, both parts non-empty, no blanks. */
static bool valid_row_id(const char *id)
{
	const char *dot = strchr(id, '.');

	return dot && dot != id && dot[1] && !strchr(dot + 1, '.') && !id[strcspn(id, " \t")];
}

/*
 * One "id area expectation source needs" line.  Strict, because a row
 * silently lost to a typo would read as "not run" rather than as an error.
 */
static void parse_row(struct run *r, const char *line, size_t lineno)
{
	struct row w = { .line = lineno, .st = RS_NOT_RUN };
	const char *p = line;
	size_t nf = 1;
	json_t *dup;

	for (const char *t = line; (t = strchr(t, '\t')); t++)
		nf++;
	if (nf != ROW_FIELDS)
		die(2, "rows.tsv:%zu: expected %d TAB-separated fields (id, area, expectation, source,"
		    " needs), found %zu", lineno, ROW_FIELDS, nf);
	for (int i = 0; i < ROW_FIELDS; i++) {
		size_t len = strcspn(p, "\t");

		w.field[i] = trim_dup(p, len);
		if (!*w.field[i])
			die(2, "rows.tsv:%zu: empty %s field", lineno, row_field[i]);
		p += len + 1;
	}
	if (!valid_row_id(w.field[RF_ID]))
		die(2, "rows.tsv:%zu: bad row id '%.60s' (want <fixture>.<test>)", lineno, w.field[RF_ID]);
	dup = json_object_get(r->row_index, w.field[RF_ID]);
	if (dup)
		die(2, "rows.tsv:%zu: duplicate row id '%s' (first on line %zu)", lineno,
		    w.field[RF_ID], r->rows[json_integer_value(dup)].line);
	json_object_set_new(r->row_index, w.field[RF_ID], json_integer(r->nrows));
	r->rows = xrealloc(r->rows, (r->nrows + 1) * sizeof(*r->rows));
	r->rows[r->nrows++] = w;
}

/* RUN_DIR/rows.tsv is optional: runs from older runners have none. */
void load_rows(struct run *r)
{
	char *path = xasprintf("%s/rows.tsv", r->dir), **lines;
	size_t n = 0;

	lines = read_lines(path, &n);
	if (!lines && errno == ENOENT)
		return;
	if (!lines)
		die(2, "rows.tsv: %s", is_dir(path) ? "is a directory" : strerror(errno));
	r->have_rows = true;
	r->row_index = json_object();
	for (size_t i = 0; i < n; i++)
		if (lines[i][0] != '#' && *skip_ws(lines[i]))
			parse_row(r, lines[i], i + 1);
}

/*
 * The row a KTAP test counts for: "<first>.<last>" component of its name.
 * Synthesized entries named after the binary (no dot) have none.
 */
static struct row *row_of(const struct run *r, const char *name)
{
	const char *dot = strchr(name, '.');
	json_t *pos;

	if (!dot)
		return NULL;
	pos = json_object_get(r->row_index, xasprintf("%.*s%s", (int)(dot - name), name,
						       strrchr(name, '.')));
	return pos ? &r->rows[json_integer_value(pos)] : NULL;
}

static void add_skip_reason(struct row *w, char *reason)
{
	for (size_t i = 0; i < w->nreasons; i++)
		if (!strcmp(w->reasons[i], reason))
			return;
	w->reasons = xrealloc(w->reasons, (w->nreasons + 1) * sizeof(*w->reasons));
	w->reasons[w->nreasons++] = reason;
}

/*
 * A failing variant fails the row; a passing one makes it a PASS; a row whose
 * only runs are known backend deviations is XFAIL (ran, but not as upstream).
 */
static enum row_status row_status(const struct row *w)
{
	if (w->count[ST_FAIL] || w->count[ST_XPASS])
		return RS_FAIL;
	if (w->count[ST_PASS])
		return RS_PASS;
	if (w->count[ST_XFAIL])
		return RS_XFAIL;
	return w->count[ST_SKIP] ? RS_SKIP : RS_NOT_RUN;
}

/* Link every test to its row and count the rows' outcomes. */
void tally_rows(struct run *r)
{
	for (size_t i = 0; i < r->nbins; i++)
		for (size_t j = 0; j < r->bins[i].ntests; j++) {
			struct test *t = &r->bins[i].tests[j];
			struct row *w = row_of(r, t->started ? t->started : t->name);

			t->row = w;
			if (!w) {
				r->nunlisted++;
				continue;
			}
			w->count[t->st]++;
			if (t->st == ST_SKIP)
				add_skip_reason(w, t->reason);
		}
	for (size_t i = 0; i < r->nrows; i++) {
		r->rows[i].st = row_status(&r->rows[i]);
		r->row_count[r->rows[i].st]++;
	}
}

