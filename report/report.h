/* SPDX-License-Identifier: GPL-2.0 */
/*
 * privmem-report: turn the raw output of kselftest_harness binaries from one
 * privmem run into results.json, junit.xml and summary.md, or compare two
 * results.json files.  Shared types and helpers of its parts:
 *   util.c    errors, memory, strings, UTF-8, reading files
 *   ktap.c    KTAP and .meta parsing, the run directory, caps.json
 *   rows.c    the behaviour rows (rows.tsv) and their tally
 *   run_report.c  one run: inputs validated, outputs written atomically, terminal summary
 *   results_json.c, junit.c, summary_md.c  the three outputs of a run
 *   drift.c   upstream drift: the "drift" lines tests log, in every output and --diff
 *   diff.c    --diff of two results
 *   main.c    the command line
 *
 * The process is short-lived, so memory is deliberately never freed; error
 * paths only remove temporary files before exiting.
 */
#ifndef PRIVMEM_REPORT_H
#define PRIVMEM_REPORT_H

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
extern const char *const st_name[ST_NR];

/*
 * Why a failing test failed; results.json "kind" and the JUnit <failure type=...>.
 * assert: the test itself said so, with the harness's "file:line:" diagnostic (an
 * ASSERT_xx, EXPECT_xx or TH_LOG line); crash: the test process died by a signal;
 * timeout: the harness or the runner killed it; missing: the binary died before
 * reporting it; other: a failure without a file:line diagnostic (a bail-out, a
 * plain non-zero exit); splat: the kernel logged a warning, BUG, oops, KASAN,
 * lockdep, soft-lockup or hung-task report while the binary ran (<binary>.kmsg).
 */
enum fail_kind { FK_ASSERT, FK_TIMEOUT, FK_MISSING, FK_CRASH, FK_OTHER, FK_SPLAT, FK_NR };
extern const char *const fk_name[FK_NR];

/*
 * One behaviour a row documents that this kernel showed, where upstream changed the
 * behaviour without a capability to tell the variants apart (conformance/pm_test.h
 * PM_DRIFT_SEEN): what changed, what the kernel did, the upstream commit behind it.
 */
struct drift { const char *what, *seen, *commit; };

/*
 * A run's drift per <what>, each behaviour seen with the number of tests that showed it
 * (drift.c): built from the tests of a run, or read back from results.json by --diff;
 * recorded is false for a results.json from before drift was recorded.
 */
struct drift_seen { const char *seen, *commit; int tests; };
struct drift_what { const char *what; struct drift_seen *seen; size_t nseen; };
struct drift_tally { struct drift_what *w; size_t nw; bool recorded; };

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
	struct drift *drift;	/* distinct drift lines it logged, first seen first */
	size_t ndrift;
};

/*
 * A behaviour row of RUN_DIR/rows.tsv.  Its tests are the variants of one
 * harness test: "<fixture>.<variant>.<test>" and "<fixture>.<test>" both
 * count for the row "<fixture>.<test>".
 */
enum row_status { RS_PASS, RS_FAIL, RS_SKIP, RS_NOT_RUN, RS_XFAIL, RS_NR };
extern const char *const rs_name[RS_NR];

enum { RF_ID, RF_AREA, RF_EXPECTATION, RF_SOURCE, RF_NEEDS, ROW_FIELDS };
extern const char *const row_field[ROW_FIELDS];

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
	char *kernel_log;	/* .meta kmsg=: "checked", "unchecked: why"; NULL: not recorded */
	long planned;		/* -1: no plan line */
	int reported;		/* result lines seen */
	struct test *tests;
	size_t ntests, cap;
};

struct run {
	const char *dir;	/* as given on the command line */
	const char *base, *kernel, *host;
	const char *background;	/* RUN_DIR/background: the stress-ng profile under the run, or NULL */
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
	struct drift_tally drift;	/* the tests' drift per <what> */
};

static inline bool failing(int st) { return st == ST_FAIL || st == ST_XPASS; }
static inline bool passing(int st) { return st == ST_PASS || st == ST_XFAIL; }


struct sbuf { char *s; size_t len, cap; };

/* util.c */
extern char *temps[3];		/* outputs not yet renamed into place */
extern size_t ntemps;
__attribute__((noreturn, format(printf, 2, 3))) void die(int code, const char *fmt, ...);
void *oom(void *p);
void *xrealloc(void *p, size_t n);
void *xcalloc(size_t n);
char *xstrndup(const char *s, size_t n);
char *xstrdup(const char *s);
__attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...);
void sb_add(struct sbuf *b, const char *s, size_t n);
void sb_line(struct sbuf *b, const char *s);
char *sb_steal(struct sbuf *b);
const char *skip_ws(const char *p);
char *trim_dup(const char *s, size_t n);
char *first_line(const char *s);
size_t utf8_cut(const char *s, size_t max);
char *clean(const char *s, size_t n);
char **read_lines(const char *path, size_t *nlines);
bool is_dir(const char *path);
const char *jstr(json_t *o, const char *key);
const char *or_unknown(const char *s);

/* ktap.c */
bool is_location(const char *l);
void scan_run(struct run *r);
void load_caps(struct run *r);
char *exit_str(const struct binary *b);

/* rows.c */
void load_rows(struct run *r);
void tally_rows(struct run *r);

/* kselftest.c: a run_kselftest.sh output into a run directory, then report() */
int from_kselftest(const char *src, const char *dir, const char *caps, const char *rows);
/* merge.c: many runs of a fleet in one view */
int merge(const char *out, char **dirs, int n);
/* run_report.c */
int report(const char *dir);
void put_short(const char *prefix, const char *s, size_t max);
/* results_json.c */
char *test_id(const struct binary *b, const struct test *t);
void write_json(const struct run *r, FILE *f);
/* junit.c */
void write_junit(const struct run *r, FILE *f);
/* summary_md.c: SKIP reasons grouped, most frequent first (also on the terminal) */
struct group { const char *reason; int count; };
struct group *skip_groups(const struct run *r, size_t *ng);
void md_cell(FILE *f, const char *s);
void write_markdown(const struct run *r, FILE *f);

/* drift.c */
int drift_parse(const char *diag, struct drift *d);
void drift_add(struct drift **v, size_t *n, const struct drift *d);
void drift_tally_run(const struct run *r, struct drift_tally *dt);
json_t *drift_json_test(const struct test *t);
json_t *drift_json_run(const struct drift_tally *dt);
size_t drift_nseen(const struct drift_tally *dt);
int drift_load(json_t *root, struct drift_tally *dt);
char *drift_text(const struct test *t);
void drift_markdown(const struct drift_tally *dt, FILE *f);
void drift_diff(const struct drift_tally *o, const struct drift_tally *n);

/* diff.c */
int diff(const char *old_arg, const char *new_arg);

#endif
