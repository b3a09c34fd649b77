// SPDX-License-Identifier: GPL-2.0
/* privmem-report: KTAP and .meta parsing, the run directory, caps.json. */
#include "report.h"

/* ---- KTAP parsing ----------------------------------------------------- */

/* One nesting level: the kselftest runner prefixes "# ", KTAP indents. */
static const char *unnest(const char *l)
{
	if (l[0] == '#' && l[1] == ' ')
		return l + 2;
	return l[0] == ' ' || l[0] == '\t' ? skip_ws(l) : NULL;
}

static bool is_plan(const char *v) { return !strncmp(v, "1..", 3) && isdigit((unsigned char)v[3]); }

static bool is_version(const char *v)
{
	return !strncmp(v, "TAP version", 11) || !strncmp(v, "KTAP version", 12);
}

static bool is_result(const char *v)
{
	if (!strncmp(v, "ok ", 3))
		return isdigit((unsigned char)v[3]);
	return !strncmp(v, "not ok ", 7) && isdigit((unsigned char)v[7]);
}

/* Match a whole word case-insensitively; *end is set past it and blanks. */
static bool word_ieq(const char *p, const char *w, const char **end)
{
	size_t n = strlen(w);

	if (strncasecmp(p, w, n) || isalnum((unsigned char)p[n]))
		return false;
	*end = skip_ws(p + n);
	return true;
}

struct result {
	long num;
	char *name, *text;	/* text: directive argument or diagnostic */
	enum status st;
	bool timeout;
};

/* "ok N name # DIRECTIVE text" / "not ok N name #  diagnostic" */
static bool parse_result(const char *v, struct result *r)
{
	bool ok = v[0] == 'o';
	const char *p, *hash, *d;
	char *end;

	*r = (struct result){ 0 };
	if (!is_result(v))
		return false;
	errno = 0;
	r->num = strtol(v + (ok ? 3 : 7), &end, 10);
	if (errno || (*end && *end != ' ' && *end != '\t'))
		return false;
	p = skip_ws(end);
	if (*p == '-' && (p[1] == ' ' || !p[1]))
		p = skip_ws(p + 1);	/* TAP's optional "- " before the name */
	/* Old harnesses print "ok 3 # SKIP why" with no name at all. */
	hash = *p == '#' ? p : strstr(p, " #");
	if (!hash)
		hash = p + strlen(p);
	r->name = trim_dup(p, hash - p);
	r->st = ok ? ST_PASS : ST_FAIL;
	d = *hash ? skip_ws(hash + (*hash == '#' ? 1 : 2)) : hash;
	if (word_ieq(d, "SKIP", &d))
		r->st = ST_SKIP;
	else if (word_ieq(d, "XFAIL", &d))
		r->st = ST_XFAIL;
	else if (word_ieq(d, "XPASS", &d))
		r->st = ST_XPASS;
	else if (word_ieq(d, "TIMEOUT", &d))
		r->st = ST_FAIL, r->timeout = true;
	else if (word_ieq(d, "TODO", &d))
		r->st = ok ? ST_PASS : ST_XFAIL;	/* TAP TODO: expected failure */
	r->text = trim_dup(d, strlen(d));
	return true;
}

/*
 * The harness's own progress lines ("#  RUN  x ...", "#   OK  x",
 * "#      SKIP      why") are indented by two or more blanks after the '#',
 * unlike ksft_print_msg()/TH_LOG output.  Returns the banner word.
 */
static const char *banner(const char *v)
{
	return v[0] == '#' && v[1] == ' ' && v[2] == ' ' ? skip_ws(v + 1) : NULL;
}

static bool is_word(const char *p, const char *w)
{
	size_t n = strlen(w);

	return p && !strncmp(p, w, n) && (p[n] == ' ' || p[n] == '\0');
}

static struct test *add_test(struct binary *b, char *name, enum status st,
			     enum fail_kind kind, char *reason, long num)
{
	static const char mark[] = "\n[... truncated]";

	if (b->ntests == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->tests = xrealloc(b->tests, b->cap * sizeof(*b->tests));
	}
	if (reason && strlen(reason) > REASON_MAX)
		strcpy(reason + utf8_cut(reason, REASON_MAX - strlen(mark)), mark);
	b->tests[b->ntests] = (struct test){ .name = name, .st = st, .kind = kind, .reason = reason,
					      .num = num };
	return &b->tests[b->ntests++];
}

char *exit_str(const struct binary *b)
{
	return b->has_meta ? xasprintf("%d", b->exit_code) : xstrdup("unknown");
}

/* First reason line for tests the binary never reported. */
static char *no_result_reason(const struct binary *b)
{
	if (b->timeout)
		return xasprintf("timeout: runner killed the binary after %gs", b->seconds);
	return xasprintf("no result: binary exited early (exit=%s)", exit_str(b));
}

static char *result_reason(const struct result *res, const struct sbuf *diag)
{
	struct sbuf r = { 0 };

	if (res->st == ST_SKIP || res->st == ST_XFAIL)
		return xstrdup(*res->text ? res->text : "no reason given");
	if (res->st == ST_PASS)
		return *res->text ? res->text : NULL;
	if (res->st == ST_XPASS)
		return xasprintf("unexpected pass (XPASS)%s%s", *res->text ? ": " : "", res->text);
	/* A timeout directive is the headline; the diagnostics explain it. */
	if (res->timeout)
		sb_line(&r, *res->text ? xasprintf("timeout: %s", res->text) : "timeout");
	if (diag->len)
		sb_line(&r, diag->s);
	if (!res->timeout && *res->text)
		sb_line(&r, res->text);
	return r.len ? sb_steal(&r) : xstrdup("failed (no diagnostic output)");
}

/* A harness diagnostic with a source location: "file.c:123:test_name:..." (after "# "). */
bool is_location(const char *l)
{
	size_t n = strcspn(l, ": \t");

	return n > 2 && l[n] == ':' && l[n - 2] == '.' && (l[n - 1] == 'c' || l[n - 1] == 'h') &&
	       isdigit((unsigned char)l[n + 1]) && l[n + 1 + strspn(l + n + 1, "0123456789")] == ':';
}

/*
 * How a result line's failure came about, from the harness's own words in the
 * diagnostics before it (kselftest_harness.h __wait_for_test): a test killed by a
 * signal or by its timeout is not an assertion, whatever it logged before dying.
 */
static enum fail_kind fail_kind_of(const struct result *res, const struct sbuf *diag)
{
	const char *d = diag->s ? diag->s : "";
	bool located = false;

	if (res->timeout || strstr(d, ": Test terminated by timeout"))
		return FK_TIMEOUT;
	if (strstr(d, ": Test terminated unexpectedly by signal") || strstr(d, ": Test ended in some other way"))
		return FK_CRASH;
	for (const char *l = d; *l && !located; l += strcspn(l, "\n"), l += *l == '\n')
		located = is_location(l);
	return located ? FK_ASSERT : FK_OTHER;
}

/*
 * Entries for whatever the binary planned or started but never reported. Returns the
 * index of the entry that takes the output of the test it died in, or -1 if none.
 */
static long add_missing(struct binary *b, const char *run_name, const struct sbuf *diag,
			char **lines, size_t n)
{
	enum fail_kind kind = b->timeout ? FK_TIMEOUT : FK_MISSING;
	bool *seen = xcalloc((b->planned + 1) * sizeof(*seen));
	size_t nmissing = 0, nonblank = 0;
	long blamed = -1;
	struct sbuf r = { 0 };
	struct test *t;

	for (size_t i = 0; i < b->ntests; i++)
		if (b->tests[i].num >= 1 && b->tests[i].num <= b->planned)
			seen[b->tests[i].num] = true;
	for (long k = 1; k <= b->planned; k++) {
		if (seen[k])
			continue;
		sb_line(&r, no_result_reason(b));
		/* Whatever was running when the binary died is the suspect. */
		if (!nmissing++ && run_name)
			sb_line(&r, xasprintf("last started: %s", run_name));
		if (nmissing == 1 && diag->len)
			sb_line(&r, diag->s);
		t = add_test(b, xasprintf("%s.missing_%ld", b->name, k), ST_FAIL, kind, sb_steal(&r), 0);
		t->started = nmissing == 1 ? run_name : NULL;
		if (nmissing == 1)
			blamed = (long)b->ntests - 1;
	}
	if (!nmissing && run_name) {
		sb_line(&r, no_result_reason(b));
		if (diag->len)
			sb_line(&r, diag->s);
		add_test(b, xstrdup(run_name), ST_FAIL, kind, sb_steal(&r), 0);
		blamed = (long)b->ntests - 1;
	}
	if (b->ntests)
		return blamed;
	if (b->timeout)
		sb_line(&r, no_result_reason(b));
	for (size_t i = 0; i < n; i++)
		nonblank += !!*skip_ws(lines[i]);
	sb_line(&r, xasprintf("%s (exit=%s)", nonblank ? "no TAP results in output" :
			      "no output: binary printed nothing", exit_str(b)));
	for (size_t i = 0, s = 0; i < n && s < 20; i++)
		if (*skip_ws(lines[i]))
			sb_line(&r, lines[i]), s++;
	add_test(b, xstrdup(b->name), ST_FAIL, kind, sb_steal(&r), 0);
	return -1;
}

/* Hand the drift lines gathered for a test to its entry, and start afresh for the next. */
static void give_drift(struct test *t, struct drift **v, size_t *n)
{
	t->drift = *v;
	t->ndrift = *n;
	*v = NULL;
	*n = 0;
}

static void parse_ktap(struct binary *b, char **lines, size_t n)
{
	bool top = false, nested = false;
	struct sbuf diag = { 0 };
	/* The drift lines logged since the last RUN banner or result: the next result's. */
	struct drift *drift = NULL, dr;
	size_t ndrift = 0;
	long blamed;
	char *run_name = NULL, *skip_all = NULL, *end;

	/* Nested results only count when the binary printed none itself. */
	for (size_t i = 0; i < n; i++) {
		const char *u = unnest(lines[i]);

		top = top || is_result(lines[i]);
		nested = nested || (u && is_result(u));
	}
	nested = nested && !top;

	for (size_t i = 0; i < n; i++) {
		const char *v = nested ? unnest(lines[i]) : lines[i], *d;
		const char *bw = v ? banner(v) : NULL;
		struct result res;

		if (!v) {
			/* Raw output outside the nested stream: context only. */
			if (*lines[i] && !is_version(lines[i]) && !is_plan(lines[i]))
				sb_line(&diag, lines[i]);
		} else if (is_version(v)) {
			continue;
		} else if (is_plan(v)) {
			diag.len = 0;	/* what came before is runner preamble */
			ndrift = 0;
			if (b->planned >= 0)
				continue;
			b->planned = strtol(v + 3, &end, 10);
			if (b->planned > PLAN_MAX)
				b->planned = PLAN_MAX;
			d = strchr(end, '#');
			if (b->planned == 0 && d && word_ieq(skip_ws(d + 1), "SKIP", &d))
				skip_all = trim_dup(d, strlen(d));
			else if (b->planned == 0)
				skip_all = xstrdup("no tests to run (plan 1..0)");
		} else if (!strncmp(v, "Bail out!", 9)) {
			add_test(b, xasprintf("%s.bail_out", b->name), ST_FAIL, FK_OTHER,
				 xasprintf("Bail out! %s", skip_ws(v + 9)), 0);
		} else if (parse_result(v, &res)) {
			give_drift(add_test(b, *res.name ? res.name : run_name ? run_name :
					    xasprintf("test_%ld", res.num), res.st, fail_kind_of(&res, &diag),
					    result_reason(&res, &diag), res.num), &drift, &ndrift);
			b->reported++;
			run_name = NULL;
			diag.len = 0;
		} else if (is_word(bw, "RUN")) {
			bw = skip_ws(bw + 3);
			d = strstr(bw, " ...");
			run_name = trim_dup(bw, d && !d[4] ? (size_t)(d - bw) : strlen(bw));
			diag.len = 0;
			ndrift = 0;
		} else if (is_word(bw, "OK") || is_word(bw, "FAIL") || is_word(bw, "SKIP") ||
			   is_word(bw, "XFAIL") || is_word(bw, "XPASS")) {
			continue;
		} else {
			/*
			 * Output since the last RUN banner (or result, for
			 * binaries not using the harness) explains the next
			 * result; of its subtests, only the failures do.
			 */
			d = nested ? NULL : unnest(v);
			if (d && (is_version(d) || is_plan(d) || (is_result(d) && d[0] == 'o')))
				continue;
			v = skip_ws(v[0] == '#' ? v + 1 : v);
			if (*v)
				sb_line(&diag, v);
			if (!drift_parse(v, &dr))
				drift_add(&drift, &ndrift, &dr);
		}
	}
	if (skip_all && !b->ntests)
		add_test(b, xstrdup(b->name), ST_SKIP, FK_ASSERT, skip_all, 0);
	blamed = add_missing(b, run_name, &diag, lines, n);
	if (blamed >= 0)
		give_drift(&b->tests[blamed], &drift, &ndrift);
}

/* ---- run directory ---------------------------------------------------- */

static void parse_meta(struct binary *b, const char *rel, char **lines, size_t n)
{
	bool have_exit = false;

	for (size_t i = 0; i < n; i++) {
		char *eq = strchr(lines[i], '='), *key, *val, *end;
		long l;

		if (!*skip_ws(lines[i]) || lines[i][0] == '#')
			continue;
		if (!eq)
			die(2, "%s:%zu: expected key=value, got '%.60s'", rel, i + 1, lines[i]);
		key = trim_dup(lines[i], eq - lines[i]);
		val = trim_dup(eq + 1, strlen(eq + 1));
		errno = 0;
		if (!strcmp(key, "exit")) {
			l = strtol(val, &end, 10);
			if (!*val || *end || errno || l < INT32_MIN || l > INT32_MAX)
				die(2, "%s:%zu: bad exit value '%.60s'", rel, i + 1, val);
			b->exit_code = (int)l;
			have_exit = true;
		} else if (!strcmp(key, "seconds")) {
			b->seconds = strtod(val, &end);
			if (!*val || *end || errno || !isfinite(b->seconds) || b->seconds < 0)
				die(2, "%s:%zu: bad seconds value '%.60s'", rel, i + 1, val);
		} else if (!strcmp(key, "timeout")) {
			if (strcmp(val, "0") && strcmp(val, "1"))
				die(2, "%s:%zu: bad timeout value '%.60s' (want 0 or 1)", rel, i + 1, val);
			b->timeout = val[0] == '1';
		} else if (!strcmp(key, "deviation")) {
			b->deviation = *val ? val : NULL;
		} else if (!strcmp(key, "kmsg")) {
			b->kernel_log = *val ? val : NULL;
		}	/* other keys belong to newer runners: ignore */
	}
	if (!have_exit)
		die(2, "%s: no exit= line", rel);
}


static int not_hidden(const struct dirent *d) { return d->d_name[0] != '.'; }

/* Byte order, not strcoll(): the order must not depend on the locale. */
static int dirent_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * <binary>.kmsg: the kernel splats logged while the binary ran, one per line
 * ("<seq> <facility>.<level> <message>", privmem-kmsg since). Any line fails the
 * binary as a whole, with the first splat as the reason.
 */
static void load_splats(struct binary *b, const char *path, const char *rel)
{
	struct sbuf r = { 0 };
	size_t n = 0, shown = 0;
	char **lines = read_lines(path, &n);

	if (!lines && errno != ENOENT)
		die(2, "%s: %s", rel, strerror(errno));
	for (size_t i = 0; lines && i < n; i++) {
		const char *msg = lines[i];

		if (!*skip_ws(msg))
			continue;
		/* "<seq> <facility>.<level> " precede the kernel's words. */
		for (int f = 0; f < 2 && strchr(msg, ' '); f++)
			msg = strchr(msg, ' ') + 1;
		if (!shown++)
			sb_line(&r, xasprintf("kernel splat while the binary ran: %s", msg));
		if (shown > 1 && shown <= 20)
			sb_line(&r, lines[i]);
	}
	if (shown > 20)
		sb_line(&r, xasprintf("... and %zu more kernel log lines", shown - 20));
	if (shown)
		add_test(b, xasprintf("%s.kernel_splat", b->name), ST_FAIL, FK_SPLAT, sb_steal(&r), 0);
}

static void load_binary(struct run *r, const char *coll, const char *name, const char *cdir)
{
	char *rel = xasprintf("ktap/%s/%s.meta", coll, name), **lines;
	size_t n = 0;
	struct binary *b;

	if (r->nbins == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->bins = xrealloc(r->bins, r->cap * sizeof(*b));
	}
	b = &r->bins[r->nbins++];
	/* File names are bytes; the outputs need UTF-8. */
	*b = (struct binary){ .coll = clean(coll, strlen(coll)), .name = clean(name, strlen(name)),
			      .planned = -1, .exit_code = -1 };
	lines = read_lines(xasprintf("%s/%s.meta", cdir, name), &n);
	if (lines) {
		parse_meta(b, rel, lines, n);
		b->has_meta = true;
	} else if (errno == ENOENT) {
		/* Probably an interrupted run: report what there is. */
		fprintf(stderr, PROG ": warning: %s missing, exit status unknown\n", rel);
	} else {
		die(2, "%s: %s", rel, strerror(errno));
	}
	n = 0;
	lines = read_lines(xasprintf("%s/%s.ktap", cdir, name), &n);
	if (!lines && errno != ENOENT)
		die(2, "ktap/%s/%s.ktap: %s", coll, name, strerror(errno));
	parse_ktap(b, lines, n);	/* a missing .ktap is "no output" */
	load_splats(b, xasprintf("%s/%s.kmsg", cdir, name), xasprintf("ktap/%s/%s.kmsg", coll, name));
}

void scan_run(struct run *r)
{
	char *ktap = xasprintf("%s/ktap", r->dir);
	struct dirent **colls, **ents;
	int nc, ne;

	if (!is_dir(ktap))
		die(2, "%s: no ktap/ directory", r->dir);
	nc = scandir(ktap, &colls, not_hidden, dirent_cmp);
	if (nc < 0)
		die(2, "%s: %s", ktap, strerror(errno));
	for (int c = 0; c < nc; c++) {
		char *cdir = xasprintf("%s/%s", ktap, colls[c]->d_name), **bases = NULL;
		size_t nb = 0;

		if (!is_dir(cdir))
			continue;
		ne = scandir(cdir, &ents, not_hidden, dirent_cmp);
		if (ne < 0)
			die(2, "%s: %s", cdir, strerror(errno));
		/* A binary is known by its .ktap, its .meta, or both. */
		for (int e = 0; e < ne; e++) {
			const char *d = ents[e]->d_name;
			size_t len = strlen(d);

			if (len > 5 && (!strcmp(d + len - 5, ".ktap") || !strcmp(d + len - 5, ".meta"))) {
				bases = xrealloc(bases, (nb + 1) * sizeof(*bases));
				bases[nb++] = xstrndup(d, len - 5);
			}
		}
		if (nb)
			qsort(bases, nb, sizeof(*bases), str_cmp);
		for (size_t i = 0; i < nb; i++)
			if (!i || strcmp(bases[i], bases[i - 1]))
				load_binary(r, colls[c]->d_name, bases[i], cdir);
	}
}



void load_caps(struct run *r)
{
	size_t nbg = 0;
	char **bg = read_lines(xasprintf("%s/background", r->dir), &nbg);

	/* Optional: the stress-ng profile the runner kept busy underneath (BACKGROUND=). */
	if (bg && nbg && *bg[0])
		r->background = bg[0];
	char *path = xasprintf("%s/caps.json", r->dir);
	json_error_t err;

	r->platforms = json_array();
	r->kernel = r->host = "unknown";
	if (access(path, F_OK))
		return;		/* optional: older runners do not write it */
	r->caps = json_load_file(path, 0, &err);
	if (!r->caps && err.line < 1)
		die(2, "caps.json: cannot read: %s", err.text);
	if (!r->caps)
		die(2, "caps.json: invalid JSON at line %d: %s", err.line, err.text);
	if (!json_is_object(r->caps))
		die(2, "caps.json: expected a JSON object");
	r->kernel = or_unknown(jstr(json_object_get(r->caps, "kernel"), "release"));
	r->host = or_unknown(jstr(json_object_get(r->caps, "host"), "hostname"));
	if (json_is_array(json_object_get(r->caps, "platforms")))
		r->platforms = json_object_get(r->caps, "platforms");
}
