// SPDX-License-Identifier: GPL-2.0
/* privmem-report --diff: compare two results.json files. */
#include "report.h"

/* ---- --diff ----------------------------------------------------------- */

struct rtest { const char *id, *reason; int st; };
struct rrow { const char *id; int st; };

struct rfile {
	const char *path, *kernel, *host;
	struct rtest *t;
	size_t n;
	json_t *index;		/* id -> position in t; first occurrence wins */
	int count[ST_NR];
	bool has_rows;
	struct rrow *rows;
	size_t nrows;
	json_t *row_index;	/* id -> position in rows */
	struct drift_tally drift;	/* not recorded by results from before drift was */
};

/*
 * "rows" of a results file, if it has them (runs without rows.tsv do not).
 * Only what --diff compares is kept: id and status.
 */
static void load_result_rows(json_t *root, struct rfile *rf)
{
	json_t *rows = json_object_get(root, "rows"), *w;
	size_t i;

	if (!rows)
		return;
	if (!json_is_array(rows))
		die(2, "%s: \"rows\" is not an array", rf->path);
	rf->has_rows = true;
	rf->nrows = json_array_size(rows);
	rf->rows = xcalloc(rf->nrows * sizeof(*rf->rows));
	rf->row_index = json_object();
	json_array_foreach(rows, i, w) {
		struct rrow *x = &rf->rows[i];

		x->id = json_string_value(json_object_get(w, "id"));
		for (x->st = 0; x->st < RS_NR && strcmp(jstr(w, "status"), rs_name[x->st]); x->st++)
			;
		if (!x->id || x->st == RS_NR)
			die(2, "%s: rows[%zu]: missing \"id\" or unknown \"status\"", rf->path, i);
		if (!json_object_get(rf->row_index, x->id))
			json_object_set_new(rf->row_index, x->id, json_integer(i));
	}
}

static void load_results(const char *arg, struct rfile *rf)
{
	const char *path = is_dir(arg) ? xasprintf("%s/results.json", arg) : arg;
	json_t *root, *tests, *t;
	json_error_t err;
	size_t i;

	root = json_load_file(path, 0, &err);
	if (!root && err.line < 1)
		die(2, "%s: cannot read: %s", path, err.text);
	if (!root)
		die(2, "%s: invalid JSON at line %d: %s", path, err.line, err.text);
	if (strcmp(jstr(root, "format"), "privmem-results"))
		die(2, "%s: not a privmem results file (\"format\" is not \"privmem-results\")", path);
	if (json_integer_value(json_object_get(root, "version")) != 1)
		die(2, "%s: unsupported results version (want 1)", path);
	tests = json_object_get(root, "tests");
	if (!json_is_array(tests))
		die(2, "%s: \"tests\" is not an array", path);
	rf->path = path;
	rf->kernel = or_unknown(jstr(json_object_get(root, "run"), "kernel"));
	rf->host = or_unknown(jstr(json_object_get(root, "run"), "host"));
	rf->n = json_array_size(tests);
	rf->t = xcalloc(rf->n * sizeof(*rf->t));
	rf->index = json_object();
	json_array_foreach(tests, i, t) {
		struct rtest *x = &rf->t[i];

		x->id = json_string_value(json_object_get(t, "id"));
		x->reason = jstr(t, "reason");
		for (x->st = 0; x->st < ST_NR && strcmp(jstr(t, "status"), st_name[x->st]); x->st++)
			;
		if (!x->id || x->st == ST_NR)
			die(2, "%s: tests[%zu]: missing \"id\" or unknown \"status\"", path, i);
		rf->count[x->st]++;
		if (!json_object_get(rf->index, x->id))
			json_object_set_new(rf->index, x->id, json_integer(i));
	}
	load_result_rows(root, rf);
	if (drift_load(root, &rf->drift) && errno != ENOENT)
		die(2, "%s: \"drift\" is not an array of {what, seen, commit, tests}", path);
}

static const struct rtest *lookup(const struct rfile *rf, const char *id)
{
	json_t *pos = json_object_get(rf->index, id);

	return pos ? &rf->t[json_integer_value(pos)] : NULL;
}

enum { D_NEWFAIL, D_FIXED, D_NEWSKIP, D_UNSKIP, D_ADDED, D_REMOVED, D_NR };
static const char *const d_title[D_NR] = {
	"new failures", "fixed", "newly skipped", "no longer skipped", "added", "removed",
};

/* Does the change was -> now (either may be NULL: absent) belong to section d? */
static bool in_section(int d, const struct rtest *was, const struct rtest *now)
{
	switch (d) {
	case D_NEWFAIL: return now && failing(now->st) && !(was && failing(was->st));
	case D_FIXED:	return was && now && failing(was->st) && passing(now->st);
	case D_NEWSKIP:	return was && now && now->st == ST_SKIP && was->st != ST_SKIP;
	case D_UNSKIP:	return was && now && was->st == ST_SKIP && now->st != ST_SKIP;
	case D_ADDED:	return !was;
	default:	return !now;
	}
}

static const struct rrow *lookup_row(const struct rfile *rf, const char *id)
{
	json_t *pos = json_object_get(rf->row_index, id);

	return pos ? &rf->rows[json_integer_value(pos)] : NULL;
}

enum { DR_CHANGED, DR_OLD_ONLY, DR_NEW_ONLY, DR_NR };
static const char *const dr_title[DR_NR] = { "rows changed", "rows only in old", "rows only in new" };

/* Rows whose status changed, and rows that only one of the runs lists. */
static void diff_rows(const struct rfile *o, const struct rfile *n)
{
	if (!o->has_rows || !n->has_rows) {
		/* Runs from before rows.tsv: nothing to compare, and no noise. */
		if (o->has_rows || n->has_rows)
			printf("\nrows: not compared (no rows in the %s results)\n", o->has_rows ? "new" : "old");
		return;
	}
	for (int d = 0; d < DR_NR; d++) {
		const struct rfile *walk = d == DR_OLD_ONLY ? o : n, *other = d == DR_OLD_ONLY ? n : o;
		size_t cnt = 0;

		for (int pass = 0; pass < 2; pass++) {
			if (pass)
				printf(cnt ? "\n%s (%zu):\n" : "\n%s: none\n", dr_title[d], cnt);
			for (size_t i = 0; i < walk->nrows && (!pass || cnt); i++) {
				const struct rrow *w = &walk->rows[i], *u = lookup_row(other, w->id);

				if (d == DR_CHANGED ? !u || u->st == w->st : u != NULL)
					continue;
				if (!pass)
					cnt++;
				else if (d == DR_CHANGED)
					printf("  %s: %s -> %s\n", w->id, rs_name[u->st], rs_name[w->st]);
				else
					printf("  %s  (%s)\n", w->id, rs_name[w->st]);
			}
		}
	}
}

int diff(const char *old_arg, const char *new_arg)
{
	struct rfile o = { 0 }, n = { 0 };
	size_t cnt[D_NR] = { 0 }, still = 0;

	load_results(old_arg, &o);
	load_results(new_arg, &n);
	printf("privmem diff\n  old: kernel %s on %s (%s)\n  new: kernel %s on %s (%s)\n",
	       o.kernel, o.host, o.path, n.kernel, n.host, n.path);
	printf("\n       %6s %6s %6s %6s %6s %6s\n", "total", "pass", "fail", "skip", "xfail", "xpass");
	for (int k = 0; k < 2; k++) {
		printf("  %s  %6zu", k ? "new" : "old", k ? n.n : o.n);
		for (int s = 0; s < ST_NR; s++)
			printf(" %6d", k ? n.count[s] : o.count[s]);
		putchar('\n');
	}
	for (int d = 0; d < D_NR; d++) {
		/* "removed" walks the old results, everything else the new ones. */
		const struct rfile *walk = d == D_REMOVED ? &o : &n, *other = d == D_REMOVED ? &n : &o;

		for (int pass = 0; pass < 2; pass++) {
			if (pass && !cnt[d])
				printf("\n%s: none\n", d_title[d]);
			else if (pass)
				printf("\n%s (%zu):\n", d_title[d], cnt[d]);
			for (size_t i = 0; i < walk->n && (!pass || cnt[d]); i++) {
				const struct rtest *t = &walk->t[i], *u = lookup(other, t->id);
				const struct rtest *was = d == D_REMOVED ? t : u, *now = d == D_REMOVED ? u : t;

				if (!in_section(d, was, now))
					continue;
				if (!pass) {
					cnt[d]++;
					continue;
				}
				printf("  %-5s %s", st_name[t->st], t->id);
				if (was && now)
					printf("  (was %s)", st_name[was->st]);
				putchar('\n');
				/* The reason that explains this change, shown once. */
				if (d == D_UNSKIP)
					put_short("        was skipped: ", was->reason, 160);
				else if (t->st != ST_PASS && *t->reason && !(d == D_ADDED && failing(t->st)))
					put_short("        ", t->reason, 160);
			}
		}
	}
	diff_rows(&o, &n);
	drift_diff(&o.drift, &n.drift);
	for (size_t i = 0; i < n.n; i++) {
		const struct rtest *was = lookup(&o, n.t[i].id);

		still += failing(n.t[i].st) && was && failing(was->st);
	}
	printf("\nstill failing: %zu\n%zu new failures, %zu fixed, %zu newly skipped, "
	       "%zu no longer skipped, %zu added, %zu removed\n", still, cnt[D_NEWFAIL],
	       cnt[D_FIXED], cnt[D_NEWSKIP], cnt[D_UNSKIP], cnt[D_ADDED], cnt[D_REMOVED]);
	return cnt[D_NEWFAIL] ? 1 : 0;
}

