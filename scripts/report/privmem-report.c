// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report: turn the raw output of kselftest_harness binaries from one
 * privmem run into results.json, junit.xml and summary.md, or compare two
 * results.json files.  See usage() for the command line.
 *
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o privmem-report \
 *       privmem-report.c -ljansson
 *
 * The process is short-lived, so memory is deliberately never freed; error
 * paths only remove temporary files before exiting.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROG		"privmem-report"
#define REASON_MAX	4096
#define PLAN_MAX	100000	/* a bigger plan is corrupt output, not a test binary */
/* 15 digits: 0.12 stays "0.12" instead of 0.11999999999999999. */
#define JSON_FLAGS	(JSON_INDENT(2) | JSON_REAL_PRECISION(15))

enum status { ST_PASS, ST_FAIL, ST_SKIP, ST_XFAIL, ST_XPASS, ST_NR };
static const char *const st_name[ST_NR] = { "PASS", "FAIL", "SKIP", "XFAIL", "XPASS" };

/* Why a failing test failed; becomes the JUnit <failure type=...>. */
enum fail_kind { FK_ASSERT, FK_TIMEOUT, FK_MISSING };
static const char *const fk_name[] = { "assert", "timeout", "missing" };

struct test {
	char *name;
	enum status st;
	enum fail_kind kind;
	char *reason;		/* NULL for a plain PASS */
	long num;		/* TAP test number, 0 for synthesized entries */
	/*
	 * For a synthesized "missing" entry: the test the binary had started
	 * when it died, so that its row, not just the binary, fails.
	 */
	const char *started;
	const struct row *row;	/* the behaviour row it counts for, if any */
};

/*
 * A behaviour row of RUN_DIR/rows.tsv.  Its tests are the variants of one
 * harness test: "<fixture>.<variant>.<test>" and "<fixture>.<test>" both
 * count for the row "<fixture>.<test>".
 */
enum row_status { RS_PASS, RS_FAIL, RS_SKIP, RS_NOT_RUN, RS_XFAIL, RS_NR };
static const char *const rs_name[RS_NR] = { "PASS", "FAIL", "SKIP", "NOT-RUN", "XFAIL" };

enum { RF_ID, RF_AREA, RF_EXPECTATION, RF_SOURCE, RF_NEEDS, ROW_FIELDS };
static const char *const row_field[ROW_FIELDS] = { "id", "area", "expectation", "source", "needs" };

struct row {
	char *field[ROW_FIELDS];	/* id, area, ... as in rows.tsv */
	size_t line;
	enum row_status st;
	int count[ST_NR];
	char **reasons;			/* distinct SKIP reasons, first seen first */
	size_t nreasons;
};

struct binary {
	char *coll, *name;
	bool has_meta, timeout;
	int exit_code;
	double seconds;
	char *deviation;
	long planned;		/* -1: no plan line */
	int reported;		/* result lines seen */
	struct test *tests;
	size_t ntests, cap;
};

struct run {
	const char *dir;	/* as given on the command line */
	const char *base, *kernel, *host;
	json_t *caps, *platforms;
	struct binary *bins;
	size_t nbins, cap, ntests;
	int count[ST_NR];
	double seconds;
	char generated[32];
	/* Behaviour rows: only when RUN_DIR/rows.tsv exists (have_rows). */
	bool have_rows;
	struct row *rows;
	size_t nrows, nunlisted;
	json_t *row_index;	/* id -> position in rows */
	int row_count[RS_NR];
};

static bool failing(int st) { return st == ST_FAIL || st == ST_XPASS; }
static bool passing(int st) { return st == ST_PASS || st == ST_XFAIL; }

/* ---- errors, memory, strings ---------------------------------------- */

/* Outputs not yet renamed into place; removed on any fatal error. */
static char *temps[3];
static size_t ntemps;

static __attribute__((noreturn, format(printf, 2, 3)))
void die(int code, const char *fmt, ...)
{
	va_list ap;

	while (ntemps)
		unlink(temps[--ntemps]);
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void *oom(void *p)
{
	if (!p)
		die(2, "out of memory");
	return p;
}

static void *xrealloc(void *p, size_t n) { return oom(realloc(p, n ? n : 1)); }
static void *xcalloc(size_t n) { return oom(calloc(1, n ? n : 1)); }
static char *xstrndup(const char *s, size_t n) { return oom(strndup(s, n)); }
static char *xstrdup(const char *s) { return oom(strdup(s)); }

static __attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return oom(n < 0 ? NULL : s);
}

struct sbuf { char *s; size_t len, cap; };

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* Append s as one more line of a "\n"-joined text. */
static void sb_line(struct sbuf *b, const char *s)
{
	if (b->len)
		sb_add(b, "\n", 1);
	sb_add(b, s, strlen(s));
}

static char *sb_steal(struct sbuf *b)
{
	char *s = b->s ? b->s : xstrdup("");

	*b = (struct sbuf){ 0 };
	return s;
}

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static char *trim_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

static char *first_line(const char *s) { return xstrndup(s, strcspn(s, "\n")); }

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
	if (strlen(s) <= max)
		return strlen(s);
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Length of the valid UTF-8 sequence at s, 0 if invalid (or NUL). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : len;
}

/*
 * Test output is arbitrary bytes (a crashing test may print anything), but
 * jansson refuses invalid UTF-8 and XML forbids it: replace bad bytes and
 * NULs with U+FFFD once, at input time.
 */
static char *clean(const char *s, size_t n)
{
	struct sbuf b = { 0 };

	if (n && s[n - 1] == '\r')
		n--;
	for (size_t i = 0, l; i < n; i += l ? l : 1) {
		l = utf8_len((const unsigned char *)s + i, n - i);
		sb_add(&b, l ? s + i : "\xef\xbf\xbd", l ? l : 3);
	}
	return sb_steal(&b);
}

/* Returns NULL with errno set if the file cannot be read. */
static char **read_lines(const char *path, size_t *nlines)
{
	FILE *f = fopen(path, "rb");
	struct sbuf b = { 0 };
	char chunk[65536], **lines = xcalloc(sizeof(*lines));
	size_t n, start = 0;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sb_add(&b, chunk, n);
	n = ferror(f);
	if (fclose(f) || n) {
		errno = EIO;
		return NULL;
	}
	*nlines = 0;
	for (size_t i = 0; i < b.len || (i == b.len && i > start); i++) {
		if (i < b.len && b.s[i] != '\n')
			continue;
		lines = xrealloc(lines, (*nlines + 1) * sizeof(*lines));
		lines[(*nlines)++] = clean(b.s + start, i - start);
		start = i + 1;
	}
	return lines;
}

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
	b->tests[b->ntests] = (struct test){ name, st, kind, reason, num, NULL, NULL };
	return &b->tests[b->ntests++];
}

static char *exit_str(const struct binary *b)
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

/* Entries for whatever the binary planned or started but never reported. */
static void add_missing(struct binary *b, const char *run_name, const struct sbuf *diag,
			char **lines, size_t n)
{
	enum fail_kind kind = b->timeout ? FK_TIMEOUT : FK_MISSING;
	bool *seen = xcalloc((b->planned + 1) * sizeof(*seen));
	size_t nmissing = 0, nonblank = 0;
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
	}
	if (!nmissing && run_name) {
		sb_line(&r, no_result_reason(b));
		if (diag->len)
			sb_line(&r, diag->s);
		add_test(b, xstrdup(run_name), ST_FAIL, kind, sb_steal(&r), 0);
	}
	if (b->ntests)
		return;
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
}

static void parse_ktap(struct binary *b, char **lines, size_t n)
{
	bool top = false, nested = false;
	struct sbuf diag = { 0 };
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
			add_test(b, xasprintf("%s.bail_out", b->name), ST_FAIL, FK_ASSERT,
				 xasprintf("Bail out! %s", skip_ws(v + 9)), 0);
		} else if (parse_result(v, &res)) {
			add_test(b, *res.name ? res.name : run_name ? run_name :
				 xasprintf("test_%ld", res.num), res.st,
				 res.timeout ? FK_TIMEOUT : FK_ASSERT, result_reason(&res, &diag), res.num);
			b->reported++;
			run_name = NULL;
			diag.len = 0;
		} else if (is_word(bw, "RUN")) {
			bw = skip_ws(bw + 3);
			d = strstr(bw, " ...");
			run_name = trim_dup(bw, d && !d[4] ? (size_t)(d - bw) : strlen(bw));
			diag.len = 0;
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
		}
	}
	if (skip_all && !b->ntests)
		add_test(b, xstrdup(b->name), ST_SKIP, FK_ASSERT, skip_all, 0);
	add_missing(b, run_name, &diag, lines, n);
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
		}	/* other keys belong to newer runners: ignore */
	}
	if (!have_exit)
		die(2, "%s: no exit= line", rel);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
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
}

static void scan_run(struct run *r)
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

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static const char *or_unknown(const char *s) { return *s ? s : "unknown"; }

static void load_caps(struct run *r)
{
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
static void load_rows(struct run *r)
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
static void tally_rows(struct run *r)
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

/* ---- outputs ---------------------------------------------------------- */

static char *test_id(const struct binary *b, const struct test *t)
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

		json_array_append_new(bins, json_pack("{s:s, s:s, s:o, s:f, s:b, s:s?, s:o, s:i}",
			"collection", b->coll, "binary", b->name,
			"exit", b->has_meta ? json_integer(b->exit_code) : json_null(),
			"seconds", b->seconds, "timeout", b->timeout, "deviation", b->deviation,
			"planned", b->planned >= 0 ? json_integer(b->planned) : json_null(),
			"reported", b->reported));
		for (size_t j = 0; j < b->ntests; j++) {
			const struct test *t = &b->tests[j];
			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?}",
				"id", test_id(b, t), "collection", b->coll, "binary", b->name,
				"name", t->name, "status", st_name[t->st], "reason", t->reason);

			/* Without rows.tsv the output stays exactly as before. */
			if (o && r->have_rows)
				json_object_set_new(o, "row", t->row ? json_string(t->row->field[RF_ID]) :
						    json_null());
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
	root = json_pack("{s:s, s:i, s:{s:s, s:s, s:s, s:s}, s:o, s:o, s:o, s:o*, s:O, s:O?}",
		"format", "privmem-results", "version", 1,
		"run", "dir", r->base, "generated", r->generated, "kernel", r->kernel, "host", r->host,
		"summary", summary, "binaries", bins, "tests", tests, "rows", rows,
		"platforms", r->platforms, "caps", r->caps);
	/* Everything was sanitized to UTF-8, so a failed pack is a bug. */
	if (!root || json_array_size(bins) != r->nbins || json_array_size(tests) != r->ntests ||
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
		for (size_t j = 0; j < b->ntests; j++) {
			const struct test *t = &b->tests[j];
			const char *dot = strrchr(t->name, '.'), *why = t->reason ? t->reason : "";

			fputs("    <testcase", f);
			xml_attr(f, "classname", xasprintf("%s.%s%s%.*s", b->coll, b->name, dot ? "." : "",
							    dot ? (int)(dot - t->name) : 0, t->name));
			xml_attr(f, "name", dot ? dot + 1 : t->name);
			if (t->st == ST_PASS) {
				fputs("/>\n", f);
				continue;
			}
			if (failing(t->st)) {
				fputs(">\n      <failure", f);
				xml_attr(f, "message", first_line(why));
				xml_attr(f, "type", fk_name[t->kind]);
				fputc('>', f);
				xml_puts(f, why, false);
				fputs("</failure>", f);
			} else if (t->st == ST_SKIP) {
				fputs(">\n      <skipped", f);
				xml_attr(f, "message", why);
				fputs("/>", f);
			} else {
				fputs(">\n      <system-out>XFAIL: ", f);
				xml_puts(f, why, false);
				fputs("</system-out>", f);
			}
			fputs("\n    </testcase>\n", f);
		}
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
static void md_cell(FILE *f, const char *s)
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
	fprintf(f, "\n\nRun `%s`, generated %s.\n\n**%zu tests**: %d passed, %d failed, %d skipped,"
		" %d xfail, %d xpass (%zu binaries, %.2f s)\n\n## Platforms\n\n", r->base,
		r->generated, r->ntests, r->count[ST_PASS], r->count[ST_FAIL], r->count[ST_SKIP],
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
		fputs(" |\n", f);
	}
}

/* First line of s on the terminal, at most max bytes. */
static void put_short(const char *prefix, const char *s, size_t max)
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

	printf("privmem run %s: kernel %s on %s\n", r->base, r->kernel, r->host);
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

static int report(const char *dir)
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

static int diff(const char *old_arg, const char *new_arg)
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
	for (size_t i = 0; i < n.n; i++) {
		const struct rtest *was = lookup(&o, n.t[i].id);

		still += failing(n.t[i].st) && was && failing(was->st);
	}
	printf("\nstill failing: %zu\n%zu new failures, %zu fixed, %zu newly skipped, "
	       "%zu no longer skipped, %zu added, %zu removed\n", still, cnt[D_NEWFAIL],
	       cnt[D_FIXED], cnt[D_NEWSKIP], cnt[D_UNSKIP], cnt[D_ADDED], cnt[D_REMOVED]);
	return cnt[D_NEWFAIL] ? 1 : 0;
}

/* ---- main ------------------------------------------------------------- */

static const char usage[] =
	"usage: " PROG " RUN_DIR\n"
	"       " PROG " --diff OLD NEW\n"
	"       " PROG " --help\n\n"
	"RUN_DIR mode reads RUN_DIR/ktap/<collection>/<binary>.ktap (kselftest output)\n"
	"and .meta (exit=, seconds=, timeout=, deviation=) plus the optional\n"
	"RUN_DIR/caps.json and RUN_DIR/rows.tsv (behaviour rows, one per line:\n"
	"id, area, expectation, source, needs; TAB-separated), and writes\n"
	"RUN_DIR/results.json, junit.xml and summary.md.\n\n"
	"--diff compares two results.json files (or run directories holding one) and\n"
	"lists new failures, fixes, skip changes and added/removed tests; when both\n"
	"have behaviour rows, also rows whose status changed and rows only in one.\n\n"
	"Exit status: 0 no failures; 1 failures (with --diff: new failures) or no test\n"
	"results at all; 2 bad input or usage, in which case nothing is written.\n"
	"SOURCE_DATE_EPOCH, if set, overrides the \"generated\" timestamp.\n";

int main(int argc, char **argv)
{
	int first = argc > 1 && !strcmp(argv[1], "--") ? 2 : 1;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--diff")) {
		if (argc != 4)
			die(2, "--diff needs exactly two arguments: OLD NEW (see --help)");
		return diff(argv[2], argv[3]);
	}
	if (first == 1 && argc > 1 && argv[1][0] == '-' && argv[1][1])
		die(2, "unknown option '%s' (see --help)", argv[1]);
	if (argc != first + 1)
		die(2, "expected one RUN_DIR argument (see --help)");
	return report(argv[first]);
}
