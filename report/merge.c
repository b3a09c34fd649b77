// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report --merge OUT_DIR RUN RUN...: many runs of a fleet (machines x kernels) in
 * one view, written to OUT_DIR/merged.md and merged.json (privmem-merge/1).
 *
 * Conformance runs (results.json): one behaviour-row x run matrix, with the rows that
 * FAIL anywhere and the rows whose status differs between runs first, and the drift each
 * run showed (what upstream changed without a capability, the behaviour seen, its commit).
 * Exit 1 when a row FAILs in any run.
 * Benchmark runs (bench.json): one table of metrics x machines (host and kernel), each cell
 * the median over that machine's runs of the run medians, with their spread (min..max and
 * the number of runs). Exit 0.
 * Runs of both kinds in one call, an unreadable run, an existing OUT_DIR/merged.*: exit 2.
 */
#include "bench.h"

struct crun { const char *dir, *label; json_t *res; };

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void write_out(const char *dir, const char *name, const char *text, json_t *j)
{
	char *path = xasprintf("%s/%s", dir, name), *tmp = xasprintf("%s.tmp", path);
	FILE *f;

	temps[ntemps++] = tmp;
	f = fopen(tmp, "w");
	if (!f || (text ? fputs(text, f) < 0 : json_dumpf(j, f, JSON_FLAGS)) || fclose(f) || rename(tmp, path))
		die(2, "%s: cannot write: %s", path, strerror(errno));
	ntemps--;
}

static const char *row_status(json_t *res, const char *id)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(res, "rows"), i, r)
		if (!strcmp(jstr(r, "id"), id))
			return jstr(r, "status");
	return "";
}

static int merge_conformance(const char *out, struct crun *r, int n)
{
	json_t *ids = json_array(), *seen = json_object(), *rows = json_array(), *runs = json_array();
	struct sbuf md = { 0 }, matrix = { 0 };
	int nfail = 0, ndiff = 0;
	size_t i;
	json_t *x;
	char *s;

	for (int k = 0; k < n; k++)	/* the union of rows, in first-seen order */
		json_array_foreach(json_object_get(r[k].res, "rows"), i, x)
			if (!json_object_get(seen, jstr(x, "id"))) {
				json_object_set_new(seen, jstr(x, "id"), json_true());
				json_array_append_new(ids, json_string(jstr(x, "id")));
			}
	s = xasprintf("# privmem fleet: %d runs, %zu behaviour rows\n\n| run | kernel | host | pass | fail | skip |\n|---|---|---|---|---|---|\n",
		      n, json_array_size(ids));
	sb_add(&md, s, strlen(s));
	for (int k = 0; k < n; k++) {
		json_t *sum = json_object_get(r[k].res, "summary"), *run = json_object_get(r[k].res, "run");

		s = xasprintf("| %s | %s | %s | %lld | %lld | %lld |\n", r[k].label, jstr(run, "kernel"), jstr(run, "host"),
			      json_integer_value(json_object_get(sum, "pass")) + json_integer_value(json_object_get(sum, "xfail")),
			      json_integer_value(json_object_get(sum, "fail")) + json_integer_value(json_object_get(sum, "xpass")),
			      json_integer_value(json_object_get(sum, "skip")));
		sb_add(&md, s, strlen(s));
		json_array_append_new(runs, json_pack("{s:s, s:s, s:s, s:O}", "dir", r[k].dir, "kernel", jstr(run, "kernel"),
						      "host", jstr(run, "host"), "summary", sum));
	}
	s = "\n## Rows that fail somewhere or differ between runs\n\n| row | ";
	sb_add(&md, s, strlen(s));
	for (int k = 0; k < n; k++) {
		s = xasprintf("%s | ", r[k].label);
		sb_add(&md, s, strlen(s));
	}
	sb_add(&md, "\n|---|", 6);
	for (int k = 0; k < n; k++)
		sb_add(&md, "---|", 4);
	sb_add(&md, "\n", 1);
	json_array_foreach(ids, i, x) {
		const char *id = json_string_value(x), *first = NULL;
		json_t *st = json_array();
		bool fail = false, diff = false;
		struct sbuf line = { 0 };

		s = xasprintf("| %s |", id);
		sb_add(&line, s, strlen(s));
		for (int k = 0; k < n; k++) {
			const char *v = row_status(r[k].res, id);

			fail |= !strcmp(v, "FAIL");
			diff |= first && strcmp(first, v);
			first = first ? first : v;
			json_array_append_new(st, json_string(*v ? v : "absent"));
			s = xasprintf(" %s |", !strcmp(v, "FAIL") ? "**FAIL**" : *v ? v : "absent");
			sb_add(&line, s, strlen(s));
		}
		sb_add(&line, "\n", 1);
		nfail += fail;
		ndiff += diff;
		if (fail || diff)
			sb_add(&md, line.s, line.len);
		sb_add(&matrix, line.s, line.len);
		json_array_append_new(rows, json_pack("{s:s, s:o, s:b, s:b}", "id", id, "status", st, "fail", fail,
						      "differs", diff));
	}
	s = xasprintf("\n%d rows fail in some run; %d rows differ between runs.\n\n## Drift seen (a behaviour upstream changed without a capability)\n\n",
		      nfail, ndiff);
	sb_add(&md, s, strlen(s));
	for (int k = 0; k < n; k++)
		json_array_foreach(json_object_get(r[k].res, "drift"), i, x) {
			s = xasprintf("- %s: %s → %s (%s)\n", r[k].label, jstr(x, "what"), jstr(x, "seen"), jstr(x, "commit"));
			sb_add(&md, s, strlen(s));
		}
	s = "\n## Every row\n\n";
	sb_add(&md, s, strlen(s));
	sb_add(&md, matrix.s ? matrix.s : "", matrix.len);
	write_out(out, "merged.md", md.s, NULL);
	write_out(out, "merged.json", NULL, json_pack("{s:s, s:s, s:o, s:o, s:i, s:i}", "schema", "privmem-merge/1",
		  "kind", "conformance", "runs", runs, "rows", rows, "rows_failing", nfail, "rows_differing", ndiff));
	printf("merged %d runs, %zu rows: %d fail in some run, %d differ between runs; wrote %s/merged.md, merged.json\n",
	       n, json_array_size(ids), nfail, ndiff, out);
	return nfail ? 1 : 0;
}

/* Benchmark runs: per metric, per machine (host, kernel), the median of the run medians. */
static int merge_bench(const char *out, char **dirs, int n)
{
	struct brun *b = xcalloc(sizeof(*b) * (size_t)n);
	json_t *machines = json_array(), *metrics = json_array();
	const char **mach = xcalloc(sizeof(char *) * (size_t)n);
	int nm = 0, *of = xcalloc(sizeof(int) * (size_t)n);
	struct sbuf md = { 0 };
	char *s;

	for (int k = 0; k < n; k++) {
		const char *m;
		json_t *caps = json_load_file(xasprintf("%s/caps.json", dirs[k]), 0, NULL);
		const char *host = caps ? jstr(json_object_get(caps, "host"), "hostname") : "";

		bench_load(dirs[k], &b[k]);
		m = *host ? xasprintf("%s %s", host, b[k].kernel) : xstrdup(b[k].kernel);
		of[k] = -1;
		for (int j = 0; j < nm; j++)
			if (!strcmp(mach[j], m))
				of[k] = j;
		if (of[k] < 0) {
			mach[nm] = m;
			json_array_append_new(machines, json_string(m));
			of[k] = nm++;
		}
	}
	s = xasprintf("# privmem benchmarks across %d machines (%d runs)\n\nEach cell: the median over that machine's runs of the run medians [min..max, runs].\n\n| metric | unit |",
		      nm, n);
	sb_add(&md, s, strlen(s));
	for (int j = 0; j < nm; j++) {
		s = xasprintf(" %s |", mach[j]);
		sb_add(&md, s, strlen(s));
	}
	sb_add(&md, "\n|---|---|", 10);
	for (int j = 0; j < nm; j++)
		sb_add(&md, "---|", 4);
	sb_add(&md, "\n", 1);
	for (size_t i = 0; i < b[0].nm; i++) {
		const struct bmetric *m0 = &b[0].m[i];
		json_t *cells = json_array();

		s = xasprintf("| %s | %s |", m0->key, m0->unit);
		sb_add(&md, s, strlen(s));
		for (int j = 0; j < nm; j++) {
			double v[256];
			int c = 0;

			for (int k = 0; k < n && c < 256; k++)
				for (size_t q = 0; of[k] == j && q < b[k].nm; q++)
					if (!strcmp(b[k].m[q].key, m0->key))
						v[c++] = b[k].m[q].median;
			if (!c) {
				sb_add(&md, " - |", 4);
				json_array_append_new(cells, json_null());
				continue;
			}
			qsort(v, (size_t)c, sizeof(double), dbl_cmp);
			s = xasprintf(" %.4g [%.4g..%.4g, %d] |", c % 2 ? v[c / 2] : (v[c / 2 - 1] + v[c / 2]) / 2,
				      v[0], v[c - 1], c);
			sb_add(&md, s, strlen(s));
			json_array_append_new(cells, json_pack("{s:f, s:f, s:f, s:i}", "median",
				c % 2 ? v[c / 2] : (v[c / 2 - 1] + v[c / 2]) / 2, "min", v[0], "max", v[c - 1], "runs", c));
		}
		sb_add(&md, "\n", 1);
		json_array_append_new(metrics, json_pack("{s:s, s:s, s:o}", "key", m0->key, "unit", m0->unit, "machines", cells));
	}
	write_out(out, "merged.md", md.s, NULL);
	write_out(out, "merged.json", NULL, json_pack("{s:s, s:s, s:o, s:o}", "schema", "privmem-merge/1",
		  "kind", "bench", "machines", machines, "metrics", metrics));
	printf("merged %d benchmark runs from %d machines, %zu metrics; wrote %s/merged.md, merged.json\n",
	       n, nm, b[0].nm, out);
	return 0;
}

int merge(const char *out, char **dirs, int n)
{
	int nconf = 0, nbench = 0;
	struct crun *r = xcalloc(sizeof(*r) * (size_t)n);

	if (n < 2)
		die(2, "--merge needs at least two runs");
	if (!is_dir(out))
		die(2, "%s: not a directory", out);
	if (!access(xasprintf("%s/merged.md", out), F_OK) || !access(xasprintf("%s/merged.json", out), F_OK))
		die(2, "%s already holds a merge: give an empty directory", out);
	for (int k = 0; k < n; k++) {
		bool conf = !access(xasprintf("%s/results.json", dirs[k]), R_OK);
		bool bench = !access(xasprintf("%s/bench.json", dirs[k]), R_OK);

		if (!conf && !bench)
			die(2, "%s: neither a conformance run (results.json) nor a benchmark run (bench.json)", dirs[k]);
		nconf += conf;
		nbench += !conf && bench;
		if (conf) {
			json_error_t err;

			r[k].dir = dirs[k];
			r[k].res = json_load_file(xasprintf("%s/results.json", dirs[k]), 0, &err);
			if (!r[k].res || !json_is_array(json_object_get(r[k].res, "rows")))
				die(2, "%s/results.json: %s", dirs[k], r[k].res ? "no behaviour rows" : err.text);
			r[k].label = xasprintf("%s", strrchr(dirs[k], '/') && strrchr(dirs[k], '/')[1] ?
					       strrchr(dirs[k], '/') + 1 : dirs[k]);
		}
	}
	if (nconf && nbench)
		die(2, "--merge: conformance and benchmark runs mixed: merge each kind on its own");
	return nconf ? merge_conformance(out, r, n) : merge_bench(out, dirs, n);
}
