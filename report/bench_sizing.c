// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report --bench-sizing RUN [RUN...]: the hugepage benchmark's sizing answer as a page
 * a planner reads (RUN/sizing.md, for the first RUN, the others side by side), with the
 * retention curves of every backing of every run (sizing.csv, drawn by bench/plots/sizing.gp
 * into sizing.png and sizing.svg).
 *
 * The figures come from each run's hugepage.json: results.sizing (the 90% and 50% crossings on
 * the median curve), the metrics churn_refault and below_*pct_at (per repetition, through
 * bench_load), each churn_refault's retention_curve and guest phase (KVM pages_2m/pages_4k),
 * and the notes that say why a backing was not measured. Nothing is computed here that the
 * benchmark did not measure, except ratios and the reading of it.
 */
#include <sys/wait.h>

#include "bench.h"

static const char *const bname[SZ_NB] = { "anon_thp", "shmem_thp", "hugetlb", "guest_memfd" };
const char *const sz_title[SZ_NB] = { "anonymous THP", "shmem/memfd THP", "hugetlb", "guest_memfd" };
static const char *const thr_name[2] = { "below_90pct_at", "below_50pct_at" };

/* ---- reading ------------------------------------------------------------------------ */

static const struct bmetric *find_metric(const struct brun *r, const char *metric, const char *b)
{
	char *params = xasprintf("backing=%s", b);

	for (size_t i = 0; i < r->nm; i++)
		if (!strcmp(r->m[i].bench, "hugepage") && !strcmp(r->m[i].metric, metric) &&
		    !strcmp(r->m[i].params, params))
			return &r->m[i];
	return NULL;
}

static json_t *find_json_metric(json_t *hp, const char *metric, const char *b)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(hp, "metrics"), i, m)
		if (!strcmp(jstr(m, "metric"), metric) &&
		    !strcmp(jstr(json_object_get(m, "params"), "backing"), b))
			return m;
	return NULL;
}

const char *sz_note(json_t *hp, const char *list, const char *prefix)
{
	size_t i, n = strlen(prefix);
	json_t *s;

	json_array_foreach(json_object_get(hp, list), i, s)
		if (json_is_string(s) && !strncmp(json_string_value(s), prefix, n))
			return json_string_value(s) + n;
	return NULL;
}

/* The hugepage entry of the run's index: its results file, or one line and exit 2. */
static char *hugepage_path(const char *dir)
{
	char *index = xasprintf("%s/bench.json", dir);
	json_t *idx = json_load_file(index, 0, NULL), *b;
	size_t i;

	json_array_foreach(json_object_get(idx, "benchmarks"), i, b) {
		if (strcmp(jstr(b, "name"), "hugepage"))
			continue;
		if (strcmp(jstr(b, "status"), "ok") || !*jstr(b, "json"))
			die(2, "%s: no hugepage results: hugepage %s%s%s", dir, jstr(b, "status"),
			    *jstr(b, "reason") ? ": " : "", jstr(b, "reason"));
		return xasprintf("%s/%s", dir, jstr(b, "json"));
	}
	die(2, "%s: no hugepage results: the run did not include the hugepage benchmark", dir);
}

static void load_cross(struct sz_run *r, json_t *sz, int b, int t)
{
	struct sz_cross *x = &r->bk[b].x[t];
	json_t *v = json_object_get(sz, thr_name[t]), *m = find_json_metric(r->hp, thr_name[t], bname[b]);
	json_t *ref = json_object_get(m, "reference");

	x->kind = json_is_number(v) ? (json_number_value(v) > 0 ? SZ_AT : SZ_START) :
		  json_is_string(v) && !strcmp(json_string_value(v), "not reached") ? SZ_NEVER : SZ_UNKNOWN;
	x->at = json_number_value(v);
	x->m = find_metric(&r->b, thr_name[t], bname[b]);
	x->model_ratio = json_is_number(json_object_get(ref, "ratio")) ?
			 json_number_value(json_object_get(ref, "ratio")) : NAN;
}

static double curve_pct(json_t *point)
{
	json_t *v = json_object_get(point, "backed_2m_pct");

	return json_is_number(v) ? json_number_value(v) :
	       json_is_number(json_object_get(point, "mapped_2m_pct")) ?
	       json_number_value(json_object_get(point, "mapped_2m_pct")) : NAN;
}

static void load_backing(struct sz_run *r, json_t *sizing, int b)
{
	struct sz_back *k = &r->bk[b];
	json_t *sz = json_object_get(sizing, bname[b]);
	json_t *m = find_json_metric(r->hp, "churn_refault", bname[b]);
	char *prefix = xasprintf("%s skipped: ", bname[b]), *colon = xasprintf("%s: ", bname[b]);
	size_t n;

	k->note = sz_note(r->hp, "notes", colon);
	if (!json_is_object(sz) || !m) {
		k->why = sz_note(r->hp, "notes", prefix);
		if (!k->why)
			k->why = sz_note(r->hp, "errors", colon);
		if (!k->why)
			k->why = "not in this run (--set backings)";
		return;
	}
	k->measured = true;
	for (int t = 0; t < 2; t++)
		load_cross(r, sz, b, t);
	k->curve = json_object_get(m, "retention_curve");
	k->guest = json_object_get(m, "guest");
	n = json_array_size(k->curve);
	k->start_pct = n ? curve_pct(json_array_get(k->curve, 0)) : NAN;
	k->end_pct = n ? curve_pct(json_array_get(k->curve, n - 1)) : NAN;
	k->cost = find_metric(&r->b, "churn_refault", bname[b]);
	k->cost_ratio = k->cost && r->fault && r->fault->median > 0 ? k->cost->median / r->fault->median : NAN;
}

static void load_run(const char *dir, struct sz_run *r)
{
	char *path;
	json_error_t err;
	json_t *idx, *sizing, *cfg;

	bench_load(dir, &r->b);		/* the index and every result, validated */
	path = hugepage_path(dir);
	r->hp = json_load_file(path, 0, &err);
	if (!r->hp)
		die(2, "%s: %s", path, err.text);
	sizing = json_object_get(json_object_get(r->hp, "results"), "sizing");
	if (strcmp(jstr(r->hp, "benchmark"), "hugepage") || !json_is_object(sizing))
		die(2, "%s: not a hugepage result with results.sizing", path);
	idx = json_load_file(xasprintf("%s/bench.json", dir), 0, NULL);
	r->lab = json_is_object(json_object_get(idx, "lab"));
	r->label = xasprintf("%s %s", r->lab ? "lab" : "host", or_unknown(r->b.kernel));
	cfg = json_object_get(r->hp, "config");
	r->mib = (long)(json_number_value(json_object_get(cfg, "bytes")) / (1 << 20));
	r->reps = (long)json_number_value(json_object_get(json_object_get(r->hp, "defaults"), "reps"));
	for (size_t i = 0; i < r->b.nref; i++)
		if (!strcmp(r->b.ref[i].name, "fault_anon_4k"))
			r->fault = &r->b.ref[i];
	for (int b = 0; b < SZ_NB; b++)
		load_backing(r, sizing, b);
}

/* sizing.csv: one block per run (gnuplot's index), the retention curve of each backing. */
static void write_csv(FILE *f, struct sz_run *r, int n)
{
	for (int i = 0; i < n; i++) {
		size_t steps = 0, s;
		int ref = -1;

		for (int b = 0; b < SZ_NB; b++)
			if (r[i].bk[b].measured && json_array_size(r[i].bk[b].curve) > steps)
				steps = json_array_size(r[i].bk[b].curve), ref = b;
		fprintf(f, "%s# run %d: %s\n# churn_fraction,anon_thp,shmem_thp,hugetlb,guest_memfd,"
			"model_any_punch_splits\n", i ? "\n\n" : "", i + 1, r[i].label);
		for (s = 0; ref >= 0 && s < steps; s++) {
			json_t *p = json_array_get(r[i].bk[ref].curve, s);

			fprintf(f, "%.8g", json_number_value(json_object_get(p, "churn_fraction")));
			for (int b = 0; b < SZ_NB; b++) {
				json_t *q = r[i].bk[b].measured ? json_array_get(r[i].bk[b].curve, s) : NULL;

				fprintf(f, q ? ",%.3f" : ",NaN", q ? curve_pct(q) : 0);
			}
			fprintf(f, ",%.3f\n", json_number_value(json_object_get(p, "model_any_punch_splits_pct")));
		}
	}
}

/* ---- files --------------------------------------------------------------------------------- */

static FILE *open_temp(const char *dir, const char *name, char **tmp)
{
	mode_t um = umask(0);
	int fd;

	umask(um);
	*tmp = xasprintf("%s/.%s.XXXXXX", dir, name);
	fd = mkstemp(*tmp);
	if (fd < 0)
		die(2, "%s: cannot create a temporary file: %s", dir, strerror(errno));
	temps[ntemps++] = *tmp;
	fchmod(fd, 0666 & ~um);
	return oom(fdopen(fd, "w"));
}

static void close_temp(FILE *f, const char *tmp)
{
	bool bad = fflush(f) || ferror(f) || fsync(fileno(f));

	if (fclose(f) || bad)
		die(2, "%s: write failed", tmp);
}

/* The plot script: PRIVMEM_PLOTS, else bench/plots beside the build directory of this binary. */
static char *plot_script(void)
{
	const char *env = getenv("PRIVMEM_PLOTS");
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (env && *env)
		return xasprintf("%s/sizing.gp", env);
	if (len <= 0)
		return NULL;
	exe[len] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	return xasprintf("%s/../bench/plots/sizing.gp", exe);
}

/* gnuplot SCRIPT for one format into a temporary file, renamed into place: NULL, or why not. */
static char *draw(const char *dir, const char *script, struct sz_run *r, int n, const char *fmt)
{
	char *tmp = xasprintf("%s/.sizing.%s.tmp", dir, fmt), *out = xasprintf("%s/sizing.%s", dir, fmt);
	char *log = xasprintf("%s/sizing.plot.log", dir), *plots = xstrdup(script), *e;
	struct sbuf sb = { 0 };
	pid_t pid;
	int st;

	*strrchr(plots, '/') = 0;
	e = xasprintf("dir='%s'; fmt='%s'; plots='%s'; out='%s'; nruns=%d; ", dir, fmt, plots, tmp, n);
	sb_add(&sb, e, strlen(e));
	for (int i = 0; i < n; i++) {
		char *l = xasprintf("label%d='%s%s'; ", i + 1, r[i].label, r[i].lab ? " (TCG)" : "");

		sb_add(&sb, l, strlen(l));
	}
	e = sb_steal(&sb);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		FILE *lf = fopen(log, "a");

		if (lf) {
			dup2(fileno(lf), 1);
			dup2(fileno(lf), 2);
		}
		execlp("gnuplot", "gnuplot", "-e", e, script, (char *)NULL);
		fprintf(stderr, "gnuplot: %s\n", strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return xasprintf("cannot run gnuplot: %s", strerror(errno));
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 127) {
		unlink(tmp);
		return xstrdup("gnuplot is not installed (make deps)");
	}
	if (WEXITSTATUS(st) || access(tmp, R_OK)) {
		unlink(tmp);
		return xasprintf("gnuplot failed for %s (see sizing.plot.log)", fmt);
	}
	if (rename(tmp, out))
		return xasprintf("%s: %s", out, strerror(errno));
	return NULL;
}

int bench_sizing(char **dirs, int n)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t now = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	struct sz_run *r = xcalloc(sizeof(*r) * n);
	char generated[32], *tmp_md, *tmp_csv, *script, *why = NULL;
	char *md = xasprintf("%s/sizing.md", dirs[0]), *csv = xasprintf("%s/sizing.csv", dirs[0]);
	struct tm tm;
	FILE *f;

	for (int i = 0; i < n; i++)
		load_run(dirs[i], &r[i]);
	strftime(generated, sizeof(generated), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));

	f = open_temp(dirs[0], "sizing.csv", &tmp_csv);
	write_csv(f, r, n);
	close_temp(f, tmp_csv);
	if (rename(tmp_csv, csv))
		die(2, "%s: %s", csv, strerror(errno));
	ntemps = 0;

	script = plot_script();
	if (!script || access(script, R_OK))
		why = xasprintf("no plot script (%s; PRIVMEM_PLOTS names its directory)",
				script ? script : "/proc/self/exe unreadable");
	for (int i = 0; !why && i < 2; i++)
		why = draw(dirs[0], script, r, n, i ? "svg" : "png");

	f = open_temp(dirs[0], "sizing.md", &tmp_md);
	sz_write_page(f, r, n, why, generated);
	close_temp(f, tmp_md);
	if (rename(tmp_md, md))
		die(2, "%s: %s", md, strerror(errno));
	ntemps = 0;
	printf("wrote %s (%d run%s), %s%s\n", md, n, n > 1 ? "s" : "", csv,
	       why ? "" : ", sizing.png, sizing.svg");
	if (why)
		fprintf(stderr, PROG ": plot not drawn: %s\n", why);
	return 0;
}
