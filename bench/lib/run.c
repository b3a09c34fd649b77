// SPDX-License-Identifier: GPL-2.0
/*
 * pmb run context: command line, parameters, progress, the result document and
 * its atomic output (JSON, metric CSV, plot tables).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pmb_int.h"

static const char *const mode_names[] = { "smoke", "quick", "full" };

uint64_t pmb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int pmb_nr_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

enum pmb_mode pmb_mode(const struct pmb *b)
{
	return b->mode;
}

const char *pmb_mode_name(const struct pmb *b)
{
	return mode_names[b->mode];
}

long pmb_by_mode(const struct pmb *b, long smoke, long quick, long full)
{
	return b->mode == PMB_SMOKE ? smoke : b->mode == PMB_QUICK ? quick : full;
}

static void usage(const char *prog, const char *name, const char *summary, FILE *f)
{
	fprintf(f, "%s: privmem benchmark '%s': %s\n"
		"usage: %s [--smoke|--quick|--full] [--out DIR] [--reps N] [--warmup N]\n"
		"          [--set KEY=VALUE]... [--timeout SECONDS]\n"
		"Writes DIR/%s.json, DIR/%s.csv and DIR/%s-<table>.csv (default DIR: .).\n"
		"Parameters (--set) are listed in the result's \"config\".\n",
		prog, name, summary, prog, name, name, name);
}

static long parse_count(const char *prog, const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "%s: %s wants a whole number in [%ld, %ld], got '%s'\n",
			prog, opt, min, max, s);
		exit(2);
	}
	return v;
}

struct pmb *pmb_init(int argc, char **argv, const char *name, const char *summary)
{
	static const struct option opts[] = {
		{ "smoke", no_argument, NULL, 's' },
		{ "quick", no_argument, NULL, 'q' },
		{ "full", no_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "reps", required_argument, NULL, 'r' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "set", required_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *prog = argv[0];
	struct pmb *b = calloc(1, sizeof(*b));
	struct stat st;
	int c;

	if (!b) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(2);
	}
	b->name = name;
	b->summary = summary;
	b->mode = PMB_FULL;
	b->out_dir = ".";
	b->t0 = pmb_now_ns();
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': b->mode = PMB_SMOKE; break;
		case 'q': b->mode = PMB_QUICK; break;
		case 'f': b->mode = PMB_FULL; break;
		case 'o': b->out_dir = optarg; break;
		case 'r': b->reps = parse_count(prog, "--reps", optarg, 1, 100000); break;
		case 'w':
			b->warmup = parse_count(prog, "--warmup", optarg, 0, 100000);
			b->warmup_given = true;
			break;
		case 't': b->timeout_s = parse_count(prog, "--timeout", optarg, 1, 86400); break;
		case 'S':
			if (!strchr(optarg, '=') || optarg[0] == '=' || b->nr_sets >= PMB_MAX_PARAMS) {
				fprintf(stderr, "%s: --set wants KEY=VALUE (at most %d), got '%s'\n",
					prog, PMB_MAX_PARAMS, optarg);
				exit(2);
			}
			b->sets[b->nr_sets++].kv = optarg;
			break;
		case 'h':
			usage(prog, name, summary, stdout);
			exit(0);
		default:
			fprintf(stderr, "%s: unknown option '%s' (try --help)\n", prog, argv[optind - 1]);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (try --help)\n", prog, argv[optind]);
		exit(2);
	}
	if (stat(b->out_dir, &st) || !S_ISDIR(st.st_mode) || access(b->out_dir, W_OK)) {
		fprintf(stderr, "%s: --out %s is not a writable directory\n", prog, b->out_dir);
		exit(2);
	}
	if (!b->reps)
		b->reps = pmb_by_mode(b, 3, 7, 15);
	if (!b->warmup_given)
		b->warmup = pmb_by_mode(b, 1, 1, 2);

	b->root = json_object();
	b->config = json_object();
	b->metrics = json_array();
	b->refs = json_object();
	b->notes = json_array();
	b->warnings = json_array();
	b->errors = json_array();
	b->counters = json_object();
	b->results = json_object();
	pmb_signals_init(b);
	return b;
}

static struct pmb_param *param_find(struct pmb *b, const char *key)
{
	size_t kl = strlen(key);

	for (int i = 0; i < b->nr_sets; i++)
		if (!strncmp(b->sets[i].kv, key, kl) && b->sets[i].kv[kl] == '=')
			return &b->sets[i];
	return NULL;
}

const char *pmb_param_str(struct pmb *b, const char *key, const char *def)
{
	struct pmb_param *p = param_find(b, key);
	const char *v = def;

	if (p) {
		p->used = true;
		v = strchr(p->kv, '=') + 1;
	}
	json_object_set_new(b->config, key, v ? json_string(v) : json_null());
	return v;
}

long pmb_param_long(struct pmb *b, const char *key, long def)
{
	struct pmb_param *p = param_find(b, key);
	long v = def;

	if (p) {
		const char *s = strchr(p->kv, '=') + 1;
		char *end;

		p->used = true;
		errno = 0;
		v = strtol(s, &end, 0);
		if (errno || end == s || *end) {
			fprintf(stderr, "%s: --set %s wants a number, got '%s'\n", b->name, key, s);
			exit(2);
		}
	}
	json_object_set_new(b->config, key, json_integer(v));
	return v;
}

void pmb_params_done(struct pmb *b)
{
	for (int i = 0; i < b->nr_sets; i++) {
		if (!b->sets[i].used) {
			fprintf(stderr, "%s: unknown parameter in --set %s (known: see \"config\" in its JSON)\n",
				b->name, b->sets[i].kv);
			exit(2);
		}
	}
}

void pmb_config(struct pmb *b, const char *key, json_t *value)
{
	json_object_set_new(b->config, key, value);
}

void pmb_result(struct pmb *b, const char *key, json_t *value)
{
	json_object_set_new(b->results, key, value);
}

static json_t *vjson_string(const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	return json_string(buf);
}

void pmb_note(struct pmb *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_array_append_new(b->notes, vjson_string(fmt, ap));
	va_end(ap);
}

/* A warning or error: on stderr now, and in the result's array. */
static void report(struct pmb *b, json_t *to, const char *label, const char *fmt, va_list ap)
{
	json_t *s = vjson_string(fmt, ap);

	fprintf(stderr, "%s: %s: %s\n", b->name, label, json_string_value(s));
	json_array_append_new(to, s);
}

void pmb_warn(struct pmb *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(b, b->warnings, "warning", fmt, ap);
	va_end(ap);
}

void pmb_error(struct pmb *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(b, b->errors, "error", fmt, ap);
	va_end(ap);
}

void pmb_die(struct pmb *b, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", b ? b->name : "pmb");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pmb_cleanup_now();
	if (b)
		pmb_tables_discard(b);
	exit(2);
}

void pmb_skip(struct pmb *b, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", b->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pmb_cleanup_now();
	pmb_tables_discard(b);
	exit(4);
}

void pmb_progress(struct pmb *b, const char *fmt, ...)
{
	va_list ap;

	if (b->mode == PMB_SMOKE && !getenv("PMB_VERBOSE"))
		return;
	fprintf(stderr, "  [%s +%.1fs] ", b->name, (pmb_now_ns() - b->t0) / 1e9);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

json_t *pmb_params(const char *key, ...)
{
	json_t *o = json_object();
	va_list ap;

	va_start(ap, key);
	for (const char *k = key; k; k = va_arg(ap, const char *)) {
		const char *v = va_arg(ap, const char *);

		json_object_set_new(o, k, json_string(v ? v : ""));
	}
	va_end(ap);
	return o;
}

/* ---- tables ------------------------------------------------------------------ */

struct pmb_table *pmb_table(struct pmb *b, const char *suffix, const char *header)
{
	struct pmb_table *t = calloc(1, sizeof(*t));

	if (!t)
		pmb_die(b, "out of memory");
	snprintf(t->path, sizeof(t->path), "%s/%s-%s.csv", b->out_dir, b->name, suffix);
	snprintf(t->tmp, sizeof(t->tmp), "%s.tmp", t->path);
	t->f = fopen(t->tmp, "w");
	if (!t->f)
		pmb_die(b, "cannot write %s: %s", t->tmp, strerror(errno));
	pmb_tmp_track(t->tmp, true);
	fprintf(t->f, "%s\n", header);
	t->next = b->tables;
	b->tables = t;
	return t;
}

void pmb_row(struct pmb_table *t, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(t->f, fmt, ap);
	va_end(ap);
	fputc('\n', t->f);
	t->rows++;
}

void pmb_tables_discard(struct pmb *b)
{
	for (struct pmb_table *t = b->tables; t; t = t->next) {
		if (t->f)
			fclose(t->f);
		t->f = NULL;
		unlink(t->tmp);
		pmb_tmp_track(t->tmp, false);
	}
}

/* ---- finish ------------------------------------------------------------------- */

static int write_atomic_json(struct pmb *b, const char *path, json_t *doc)
{
	char tmp[PATH_MAX + 8];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	pmb_tmp_track(tmp, true);
	if (json_dump_file(doc, tmp, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(8))) {
		unlink(tmp);
		pmb_die(b, "cannot write %s", tmp);
	}
	if (rename(tmp, path)) {
		unlink(tmp);
		pmb_die(b, "cannot rename %s: %s", tmp, strerror(errno));
	}
	pmb_tmp_track(tmp, false);
	return 0;
}

static void csv_field_params(FILE *f, json_t *params)
{
	const char *k;
	json_t *v;
	int first = 1;

	json_object_foreach(params, k, v) {
		if (json_is_string(v))
			fprintf(f, "%s%s=%s", first ? "" : ";", k, json_string_value(v));
		else if (json_is_integer(v))
			fprintf(f, "%s%s=%lld", first ? "" : ";", k, (long long)json_integer_value(v));
		else if (json_is_real(v))
			fprintf(f, "%s%s=%g", first ? "" : ";", k, json_real_value(v));
		first = 0;
	}
}

static double jnum(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static void write_metrics_csv(struct pmb *b, const char *path)
{
	char tmp[PATH_MAX + 8];
	size_t i;
	json_t *m;
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	pmb_tmp_track(tmp, true);
	f = fopen(tmp, "w");
	if (!f)
		pmb_die(b, "cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "benchmark,metric,params,unit,n,median,min,max,mean,cv,p90,p99,stable,reference,ref_median,ratio_to_ref\n");
	json_array_foreach(b->metrics, i, m) {
		json_t *s = json_object_get(m, "stats"), *r = json_object_get(m, "reference");

		fprintf(f, "%s,%s,", b->name, json_string_value(json_object_get(m, "metric")));
		csv_field_params(f, json_object_get(m, "params"));
		fprintf(f, ",%s,%d,%.6g,%.6g,%.6g,%.6g,%.4f,%.6g,%.6g,%s,",
			json_string_value(json_object_get(m, "unit")),
			(int)json_integer_value(json_object_get(s, "n")),
			jnum(s, "median"), jnum(s, "min"), jnum(s, "max"), jnum(s, "mean"), jnum(s, "cv"),
			jnum(s, "p90"), jnum(s, "p99"),
			json_is_true(json_object_get(m, "stable")) ? "yes" : "no");
		if (r)
			fprintf(f, "%s,%.6g,%.6g\n", json_string_value(json_object_get(r, "name")),
				jnum(r, "median"), jnum(r, "ratio"));
		else
			fprintf(f, ",,\n");
	}
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		pmb_die(b, "cannot write %s", path);
	}
	pmb_tmp_track(tmp, false);
}

int pmb_finish(struct pmb *b)
{
	char path[PATH_MAX];
	size_t i;
	json_t *m;
	int rc;

	pmb_cleanup_now();	/* restore knobs and stop helpers before anything is written */
	json_object_set_new(b->root, "schema", json_string("privmem-bench/1"));
	json_object_set_new(b->root, "benchmark", json_string(b->name));
	json_object_set_new(b->root, "summary", json_string(b->summary));
	json_object_set_new(b->root, "mode", json_string(pmb_mode_name(b)));
	json_object_set_new(b->root, "defaults", json_pack("{s:i, s:i}", "warmup", b->warmup,
							    "reps", b->reps));
	json_object_set_new(b->root, "machine", pmb_machine_json());
	json_object_set_new(b->root, "config", b->config);
	json_object_set_new(b->root, "references", b->refs);
	json_object_set_new(b->root, "metrics", b->metrics);
	json_object_set_new(b->root, "counters", b->counters);
	json_object_set_new(b->root, "results", b->results);
	json_object_set_new(b->root, "notes", b->notes);
	json_object_set_new(b->root, "warnings", b->warnings);
	json_object_set_new(b->root, "errors", b->errors);
	json_object_set_new(b->root, "elapsed_s", json_real((pmb_now_ns() - b->t0) / 1e9));
	if (json_array_size(b->metrics) == 0)
		pmb_error(b, "no metric was recorded");
	json_object_set_new(b->root, "valid", json_boolean(json_array_size(b->errors) == 0));

	for (struct pmb_table *t = b->tables; t; t = t->next) {
		json_t *tabs = json_object_get(b->root, "tables");

		if (!tabs)
			json_object_set_new(b->root, "tables", tabs = json_array());
		json_array_append_new(tabs, json_string(strrchr(t->path, '/') + 1));
		if (t->rows == 0)
			pmb_error(b, "table %s has no rows", strrchr(t->path, '/') + 1);
		if (fclose(t->f) || rename(t->tmp, t->path)) {
			t->f = NULL;
			pmb_die(b, "cannot write %s", t->path);
		}
		t->f = NULL;
		pmb_tmp_track(t->tmp, false);
	}
	json_object_set_new(b->root, "valid", json_boolean(json_array_size(b->errors) == 0));
	snprintf(path, sizeof(path), "%s/%s.csv", b->out_dir, b->name);
	write_metrics_csv(b, path);
	snprintf(path, sizeof(path), "%s/%s.json", b->out_dir, b->name);
	write_atomic_json(b, path, b->root);

	printf("%s (%s, %.1f s):\n", b->name, pmb_mode_name(b), (pmb_now_ns() - b->t0) / 1e9);
	json_array_foreach(b->metrics, i, m) {
		json_t *s = json_object_get(m, "stats"), *r = json_object_get(m, "reference");
		char params[256] = "";
		const char *k;
		json_t *v;
		size_t off = 0;

		json_object_foreach(json_object_get(m, "params"), k, v)
			if (json_is_string(v) && off < sizeof(params))
				off += snprintf(params + off, sizeof(params) - off, "%s%s=%s",
						off ? " " : "", k, json_string_value(v));
		printf("  %-22s %-34s %12.4g %-8s cv %5.2f%% n=%d%s",
		       json_string_value(json_object_get(m, "metric")), params, jnum(s, "median"),
		       json_string_value(json_object_get(m, "unit")), 100 * jnum(s, "cv"),
		       (int)json_integer_value(json_object_get(s, "n")),
		       json_is_true(json_object_get(m, "stable")) ? "" : " UNSTABLE");
		if (r)
			printf("  (%.3gx %s)", jnum(r, "ratio"), json_string_value(json_object_get(r, "name")));
		putchar('\n');
	}
	printf("  -> %s\n", strrchr(path, '/') + 1);
	rc = json_array_size(b->errors) ? 1 : 0;
	/* Release the run: root owns config, metrics, ... (json_object_set_new above). */
	json_decref(b->root);
	while (b->tables) {
		struct pmb_table *t = b->tables;

		b->tables = t->next;
		free(t);
	}
	free(b);
	return rc;
}
