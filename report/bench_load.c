// SPDX-License-Identifier: GPL-2.0
/* privmem-report: a benchmark run read back (bench.json and each <name>.json). */
#include "bench.h"

/*
 * The direction of a metric whose JSON does not say it (results written before
 * "better" was recorded): throughputs and fractions kept improve upwards, costs
 * (times, cost ratios) downwards. Anything else, and a figure declared "neither", stays
 * unknown and is compared without a better/worse verdict.
 */
static const struct { const char *unit; enum better b; } unit_dir[] = {
	{ "pages/s", BETTER_HIGHER }, { "GB/s", BETTER_HIGHER }, { "fraction", BETTER_HIGHER },
	{ "fraction of 4K pages churned", BETTER_HIGHER },
	{ "ns", BETTER_LOWER }, { "ns/page", BETTER_LOWER }, { "ns/op", BETTER_LOWER },
	{ "us", BETTER_LOWER }, { "ms", BETTER_LOWER }, { "us/MiB", BETTER_LOWER },
	{ "x", BETTER_LOWER }, { "ratio", BETTER_LOWER },
};

enum better better_of_unit(const char *unit)
{
	for (size_t i = 0; i < sizeof(unit_dir) / sizeof(unit_dir[0]); i++)
		if (!strcmp(unit, unit_dir[i].unit))
			return unit_dir[i].b;
	return BETTER_UNKNOWN;
}

const char *better_name(enum better b)
{
	return b == BETTER_HIGHER ? "higher" : b == BETTER_LOWER ? "lower" : "unknown";
}

static json_t *load_json(const char *path, const char *schema)
{
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);

	if (!j)
		die(2, "%s: %s", path, access(path, R_OK) ? strerror(errno) : err.text);
	if (!json_is_object(j) || strcmp(jstr(j, "schema"), schema))
		die(2, "%s: not a %s file", path, schema);
	return j;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "k=v k=v" with the keys sorted, so that the key of a metric is the same in every run. */
static char *params_str(json_t *params)
{
	const char *keys[64];
	size_t n = 0;
	const char *k;
	json_t *v;
	struct sbuf sb = { 0 };

	json_object_foreach(params, k, v)
		if (n < 64)
			keys[n++] = k;
	qsort(keys, n, sizeof(keys[0]), key_cmp);
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_object_get(params, keys[i]);
		char *s = json_is_string(x) ? xstrdup(json_string_value(x)) :
			  oom(json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT));

		if (i)
			sb_add(&sb, " ", 1);
		s = xasprintf("%s=%s", keys[i], s);
		sb_add(&sb, s, strlen(s));
	}
	return sb.s ? sb_steal(&sb) : xstrdup("");
}

static void load_metric(const char *path, const char *bench, json_t *j, struct bmetric *m)
{
	json_t *samples = json_object_get(j, "samples"), *stats = json_object_get(j, "stats");
	json_t *better = json_object_get(j, "better"), *v;
	size_t i;

	m->bench = bench;
	m->metric = jstr(j, "metric");
	m->unit = jstr(j, "unit");
	if (!*m->metric || !json_is_array(samples) || !json_is_object(stats))
		die(2, "%s: a metric without name, samples or stats", path);
	m->params = params_str(json_object_get(j, "params"));
	m->key = xasprintf("%s %s%s%s", bench, m->metric, *m->params ? " " : "", m->params);
	m->median = json_number_value(json_object_get(stats, "median"));
	m->cv = json_number_value(json_object_get(stats, "cv"));
	m->cv_max = json_number_value(json_object_get(j, "cv_max"));
	m->truncated = json_is_true(json_object_get(j, "samples_truncated"));
	m->better_declared = json_is_string(better);
	m->state = m->better_declared && !strcmp(json_string_value(better), "neither");
	m->better = !m->better_declared ? better_of_unit(m->unit) :
		    !strcmp(json_string_value(better), "higher") ? BETTER_HIGHER :
		    !strcmp(json_string_value(better), "lower") ? BETTER_LOWER : BETTER_UNKNOWN;
	m->samples = xcalloc(sizeof(double) * json_array_size(samples));
	json_array_foreach(samples, i, v) {
		double x = json_number_value(v);

		/* pmb refuses such samples when it writes: here they mean a corrupt file. */
		if (!json_is_number(v) || !(x > 0) || !isfinite(x))
			die(2, "%s: %s: sample %zu is not a positive number", path, m->key, i);
		m->samples[m->n++] = x;
	}
}

static void load_refs(json_t *refs, struct brun *run)
{
	const char *name;
	json_t *r;

	json_object_foreach(refs, name, r) {
		json_t *st = json_object_get(r, "stats");
		bool seen = false;

		for (size_t i = 0; i < run->nref; i++)
			seen |= !strcmp(run->ref[i].name, name);
		if (seen || !json_is_object(st))	/* each benchmark measures its own: keep the first */
			continue;
		run->ref = xrealloc(run->ref, sizeof(*run->ref) * (run->nref + 1));
		run->ref[run->nref++] = (struct bref){ xstrdup(name), jstr(r, "unit"),
			json_number_value(json_object_get(st, "median")),
			json_number_value(json_object_get(st, "cv")) };
	}
}

void bench_load(const char *dir, struct brun *run)
{
	char *index = xasprintf("%s/bench.json", dir);
	json_t *idx, *benches, *b, *caps;
	size_t i;

	if (!is_dir(dir))
		die(2, "%s: not a benchmark run directory", dir);
	if (access(index, R_OK))
		die(2, "%s is not a benchmark run (no bench.json)", dir);
	idx = load_json(index, "privmem-bench-run/1");
	*run = (struct brun){ .dir = dir, .stamp = jstr(idx, "stamp"), .mode = jstr(idx, "mode"),
			      .commit = jstr(idx, "commit"), .background = jstr(idx, "background") };
	caps = json_load_file(xasprintf("%s/caps.json", dir), 0, NULL);
	run->kernel = caps ? jstr(json_object_get(caps, "kernel"), "release") : "";
	benches = json_object_get(idx, "benchmarks");
	if (!json_is_array(benches))
		die(2, "%s: no benchmarks list", index);
	json_array_foreach(benches, i, b) {
		const char *file = jstr(b, "json");
		char *path;
		json_t *res, *ms, *m;
		size_t k;

		if (!*file)	/* a benchmark that skipped or failed has no figures */
			continue;
		path = xasprintf("%s/%s", dir, file);
		res = load_json(path, "privmem-bench/1");
		ms = json_object_get(res, "metrics");
		if (!json_is_array(ms))
			die(2, "%s: no metrics list", path);
		run->m = xrealloc(run->m, sizeof(*run->m) * (run->nm + json_array_size(ms)));
		json_array_foreach(ms, k, m) {
			run->m[run->nm] = (struct bmetric){ 0 };
			load_metric(path, jstr(res, "benchmark"), m, &run->m[run->nm++]);
		}
		load_refs(json_object_get(res, "references"), run);
	}
}
