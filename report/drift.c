// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report: upstream drift. Where upstream changed a behaviour without a capability
 * to tell the variants apart, a row documents the set of behaviours, each tied to the
 * upstream commit that introduced it; the test accepts any member and logs the one this
 * kernel showed (conformance/pm_test.h PM_DRIFT_SEEN). A drift is therefore never a
 * failure: it is recorded so that a reader sees which variant each kernel has, and --diff
 * shows when that changed. Here: parsing the lines, the per-<what> tally, the outputs.
 */
#include "report.h"

/* ---- parsing ---------------------------------------------------------- */

static const char drift_word[] = "drift ";

/* The '(' matching the ')' at close, searching back to start; NULL if unbalanced. */
static const char *matching_open(const char *start, const char *close)
{
	int depth = 0;

	for (const char *q = close; q >= start; q--) {
		depth += *q == ')';
		if (*q == '(' && !--depth)
			return q;
	}
	return NULL;
}

/* Whether every parenthesis in s[0..n) is closed: <seen> may hold a group, never half of one. */
static bool balanced(const char *s, size_t n)
{
	int depth = 0;

	for (size_t i = 0; i < n && depth >= 0; i++)
		depth += (s[i] == '(') - (s[i] == ')');
	return !depth;
}

/* Past "file.c:123:test:", the harness's TH_LOG location; NULL if the line has none. */
static const char *after_location(const char *diag)
{
	const char *p = diag;

	if (!is_location(diag))
		return NULL;
	for (int f = 0; f < 3 && p; f++) {
		p = strchr(p, ':');
		p = p ? p + 1 : NULL;
	}
	return p;
}

/*
 * A test's diagnostic line (without its "# "): "file.c:123:test:drift <what>: <seen> (<commit>)",
 * as TH_LOG prints PM_DRIFT_SEEN. The location is required: it proves the harness logged the
 * line for a test, not that some output merely starts with "drift". <commit> is the trailing
 * parenthesised group, which may itself hold commas, semicolons or parentheses
 * ("06ba195f136a, v7.2; 6.12.118"); <seen> is what lies between ": " and it, with its own
 * parentheses balanced (else the split is a guess, and the line is not taken).
 * Returns 0, or -1 with errno EINVAL when the line is not a drift line.
 */
int drift_parse(const char *diag, struct drift *d)
{
	const char *p = after_location(diag), *sep, *open, *end;
	size_t n;

	if (!p || strncmp(p, drift_word, sizeof(drift_word) - 1))
		return errno = EINVAL, -1;
	p += sizeof(drift_word) - 1;
	sep = strstr(p, ": ");
	n = strlen(p);
	while (n && isspace((unsigned char)p[n - 1]))
		n--;
	end = p + n;	/* one past the closing ')' */
	if (!sep || n < 2 || end[-1] != ')')
		return errno = EINVAL, -1;
	open = matching_open(sep + 2, end - 1);
	if (!open || open == sep + 2 || open[-1] != ' ' || !balanced(sep + 2, open - (sep + 2)))
		return errno = EINVAL, -1;
	d->what = trim_dup(p, sep - p);
	d->seen = trim_dup(sep + 2, open - (sep + 2));
	d->commit = trim_dup(open + 1, end - 1 - (open + 1));
	if (!*d->what || !*d->seen || !*d->commit)
		return errno = EINVAL, -1;
	return 0;
}

static bool same_drift(const struct drift *a, const struct drift *b)
{
	return !strcmp(a->what, b->what) && !strcmp(a->seen, b->seen) && !strcmp(a->commit, b->commit);
}

/* A test that checks the same call several times logs the same line each time: keep one. */
void drift_add(struct drift **v, size_t *n, const struct drift *d)
{
	for (size_t i = 0; i < *n; i++)
		if (same_drift(&(*v)[i], d))
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = *d;
}

/* ---- the per-<what> tally --------------------------------------------- */

static struct drift_what *what_of(struct drift_tally *dt, const char *what)
{
	for (size_t i = 0; i < dt->nw; i++)
		if (!strcmp(dt->w[i].what, what))
			return &dt->w[i];
	dt->w = xrealloc(dt->w, (dt->nw + 1) * sizeof(*dt->w));
	dt->w[dt->nw] = (struct drift_what){ .what = what };
	return &dt->w[dt->nw++];
}

static struct drift_seen *seen_of(struct drift_what *w, const char *seen, const char *commit)
{
	for (size_t i = 0; i < w->nseen; i++)
		if (!strcmp(w->seen[i].seen, seen) && !strcmp(w->seen[i].commit, commit))
			return &w->seen[i];
	w->seen = xrealloc(w->seen, (w->nseen + 1) * sizeof(*w->seen));
	w->seen[w->nseen] = (struct drift_seen){ .seen = seen, .commit = commit };
	return &w->seen[w->nseen++];
}

/* Every <what> in the order the tests first show it; a test counts once per behaviour. */
void drift_tally_run(const struct run *r, struct drift_tally *dt)
{
	*dt = (struct drift_tally){ .recorded = true };
	for (size_t i = 0; i < r->nbins; i++)
		for (size_t j = 0; j < r->bins[i].ntests; j++) {
			const struct test *t = &r->bins[i].tests[j];

			for (size_t k = 0; k < t->ndrift; k++)
				seen_of(what_of(dt, t->drift[k].what), t->drift[k].seen,
					t->drift[k].commit)->tests++;
		}
}

/* ---- outputs ---------------------------------------------------------- */

/* A test's "drift" in results.json; NULL (no key) for the tests without any. */
json_t *drift_json_test(const struct test *t)
{
	json_t *a;

	if (!t->ndrift)
		return NULL;
	a = json_array();
	for (size_t i = 0; i < t->ndrift; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "what", t->drift[i].what,
						   "seen", t->drift[i].seen, "commit", t->drift[i].commit));
	return a;
}

/*
 * The top-level "drift": one entry {what, seen, commit, tests} per behaviour seen, those of
 * one <what> together, in the order the tests first show them; [] when none. Flat, so that
 * a consumer reads it like a test's "drift" (what: seen (commit)) and finds the count beside.
 */
json_t *drift_json_run(const struct drift_tally *dt)
{
	json_t *a = json_array();

	for (size_t i = 0; i < dt->nw; i++)
		for (size_t k = 0; k < dt->w[i].nseen; k++) {
			const struct drift_seen *s = &dt->w[i].seen[k];

			json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i}", "what", dt->w[i].what,
							   "seen", s->seen, "commit", s->commit,
							   "tests", s->tests));
		}
	return a;
}

/* Number of entries drift_json_run makes: one per behaviour of every <what>. */
size_t drift_nseen(const struct drift_tally *dt)
{
	size_t n = 0;

	for (size_t i = 0; i < dt->nw; i++)
		n += dt->w[i].nseen;
	return n;
}

/* One entry of a results.json "drift" into the tally; -1 with errno EINVAL if malformed. */
static int load_entry(json_t *e, struct drift_tally *dt)
{
	const char *what = json_string_value(json_object_get(e, "what"));
	const char *seen = json_string_value(json_object_get(e, "seen"));
	const char *commit = json_string_value(json_object_get(e, "commit"));
	json_t *tests = json_object_get(e, "tests");

	if (!what || !seen || !commit || !json_is_integer(tests))
		return errno = EINVAL, -1;
	seen_of(what_of(dt, what), seen, commit)->tests += (int)json_integer_value(tests);
	return 0;
}

/*
 * The top-level "drift" of a results.json back into a tally. Returns 0, or -1 with errno
 * ENOENT (results from before drift was recorded) or EINVAL (malformed).
 */
int drift_load(json_t *root, struct drift_tally *dt)
{
	json_t *a = json_object_get(root, "drift"), *e;
	size_t i;

	*dt = (struct drift_tally){ 0 };
	if (!a)
		return errno = ENOENT, -1;
	if (!json_is_array(a))
		return errno = EINVAL, -1;
	json_array_foreach(a, i, e)
		if (load_entry(e, dt))
			return -1;
	dt->recorded = true;
	return 0;
}

/* A test's drift as the lines it logged ("drift <what>: <seen> (<commit>)"); NULL if none. */
char *drift_text(const struct test *t)
{
	struct sbuf b = { 0 };

	for (size_t i = 0; i < t->ndrift; i++)
		sb_line(&b, xasprintf("drift %s: %s (%s)", t->drift[i].what, t->drift[i].seen,
				      t->drift[i].commit));
	return t->ndrift ? sb_steal(&b) : NULL;
}

/* summary.md: one line per behaviour seen, only when there is any. */
void drift_markdown(const struct drift_tally *dt, FILE *f)
{
	if (!dt->nw)
		return;
	fputs("\n## Drift (upstream changed a behaviour without a capability)\n\n"
	      "Each is one of the behaviours its row documents, not a failure.\n\n"
	      "| What | Seen | Commit | Tests |\n| --- | --- | --- | ---: |\n", f);
	for (size_t i = 0; i < dt->nw; i++)
		for (size_t k = 0; k < dt->w[i].nseen; k++) {
			const char *cell[3] = { dt->w[i].what, dt->w[i].seen[k].seen, dt->w[i].seen[k].commit };

			for (int c = 0; c < 3; c++) {
				fputs("| ", f);
				md_cell(f, cell[c]);
				fputc(' ', f);
			}
			fprintf(f, "| %d |\n", dt->w[i].seen[k].tests);
		}
}

/* ---- --diff ----------------------------------------------------------- */

static const struct drift_what *find_what(const struct drift_tally *dt, const char *what)
{
	for (size_t i = 0; i < dt->nw; i++)
		if (!strcmp(dt->w[i].what, what))
			return &dt->w[i];
	return NULL;
}

static bool has_seen(const struct drift_what *w, const struct drift_seen *s)
{
	for (size_t i = 0; i < w->nseen; i++)
		if (!strcmp(w->seen[i].seen, s->seen) && !strcmp(w->seen[i].commit, s->commit))
			return true;
	return false;
}

/* Same behaviours (seen and commit) in both, however many tests showed each. */
static bool same_behaviours(const struct drift_what *a, const struct drift_what *b)
{
	if (!a || !b || a->nseen != b->nseen)
		return false;
	for (size_t i = 0; i < a->nseen; i++)
		if (!has_seen(b, &a->seen[i]))
			return false;
	return true;
}

/* "seen (commit)", several joined by " + " (a commit may hold commas), or "not seen". */
static char *behaviours_str(const struct drift_what *w)
{
	struct sbuf b = { 0 };

	for (size_t i = 0; w && i < w->nseen; i++) {
		char *s = xasprintf("%s%s (%s)", i ? " + " : "", w->seen[i].seen, w->seen[i].commit);

		sb_add(&b, s, strlen(s));
	}
	return b.len ? sb_steal(&b) : xstrdup("not seen");
}

/* The <what>s whose behaviours differ: the new run's in its order, then the old-only ones. */
static const char **changed_whats(const struct drift_tally *o, const struct drift_tally *n,
				  size_t *nc)
{
	const char **c = xcalloc((o->nw + n->nw) * sizeof(*c));

	*nc = 0;
	for (size_t i = 0; i < n->nw; i++)
		if (!same_behaviours(find_what(o, n->w[i].what), &n->w[i]))
			c[(*nc)++] = n->w[i].what;
	for (size_t i = 0; i < o->nw; i++)
		if (!find_what(n, o->w[i].what))
			c[(*nc)++] = o->w[i].what;
	return c;
}

/*
 * The drift that changed between two runs: informational only, never a failure (the
 * kernel showed a documented behaviour either way), so it leaves the counts and the exit
 * status alone.
 */
void drift_diff(const struct drift_tally *o, const struct drift_tally *n)
{
	size_t nc;
	const char **c;

	if (!o->recorded || !n->recorded) {
		/* Results from before drift was recorded: nothing to compare, and no noise. */
		if (o->recorded || n->recorded)
			printf("\ndrift: not compared (no drift record in the %s results)\n",
			       o->recorded ? "new" : "old");
		return;
	}
	c = changed_whats(o, n, &nc);
	printf(nc ? "\ndrift changed (%zu):\n" : "\ndrift changed: none\n", nc);
	for (size_t i = 0; i < nc; i++)
		printf("  %s: %s -> %s\n", c[i], behaviours_str(find_what(o, c[i])),
		       behaviours_str(find_what(n, c[i])));
}
