// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report --bench-noise OUT RUN RUN RUN...: the run-to-run noise of each metric,
 * from three or more runs of the same benchmarks on one machine with nothing changed.
 *
 * Why: the repetitions of one run are taken within a second or two and share the
 * machine's state of that moment (an outer hypervisor's memory bandwidth, how the
 * direct map was already split, the page allocator's free lists). Between runs that
 * state moves: on the development VM the median of a bandwidth figure moves 5-20%
 * between identical runs while its samples within a run spread 2%. A test on the
 * samples alone then calls that drift a change. The standard deviation of log(run
 * median) over calibration runs is the variance component the samples cannot show;
 * --bench-compare --noise adds it (bench_compare.c), so the verdicts say "changed
 * beyond what this machine does by itself".
 */
#include "bench.h"

#include <gsl/gsl_statistics_double.h>

#define NOISE_SCHEMA "privmem-bench-noise/1"

struct noisy { const char *key; double sigma; };

static int noisy_cmp(const void *x, const void *y)
{
	double a = ((const struct noisy *)x)->sigma, b = ((const struct noisy *)y)->sigma;

	return (a < b) - (a > b);
}

/* What a planner should distrust first on this machine: the metrics that move most by themselves. */
static void print_noisiest(json_t *metrics, size_t max)
{
	struct noisy *v = xcalloc(sizeof(*v) * (json_object_size(metrics) + 1));
	size_t n = 0, over = 0;
	const char *key;
	json_t *m;

	json_object_foreach(metrics, key, m) {
		v[n] = (struct noisy){ key, json_number_value(json_object_get(m, "sigma_log")) };
		over += v[n++].sigma > 0.05;
	}
	qsort(v, n, sizeof(*v), noisy_cmp);
	printf("%zu of %zu metrics move more than 5%% (sd of log median) between runs; the most:\n", over, n);
	for (size_t i = 0; i < n && i < max; i++)
		printf("  %5.1f%%  %s\n", 100 * v[i].sigma, v[i].key);
}

int bench_noise(const char *out, char **dirs, int n)
{
	struct brun *runs = xcalloc(sizeof(*runs) * (size_t)n);
	json_t *root, *metrics = json_object(), *rl = json_array();
	double *lv = xcalloc(sizeof(double) * (size_t)n);
	char *tmp = xasprintf("%s.tmp", out);
	size_t kept = 0;

	if (n < 3)
		die(2, "--bench-noise needs at least three runs (got %d)", n);
	for (int i = 0; i < n; i++) {
		bench_load(dirs[i], &runs[i]);
		if (strcmp(runs[i].mode, runs[0].mode))
			die(2, "%s was run in mode %s, %s in mode %s: calibrate on runs of one mode",
			    dirs[i], runs[i].mode, dirs[0], runs[0].mode);
		json_array_append_new(rl, json_pack("{s:s, s:s, s:s}", "dir", dirs[i], "stamp",
						    runs[i].stamp, "kernel", runs[i].kernel));
	}
	for (size_t k = 0; k < runs[0].nm; k++) {
		const struct bmetric *m = &runs[0].m[k];
		int have = 0;

		if (m->state)	/* never tested: no noise to calibrate */
			continue;
		for (int i = 0; i < n; i++)
			for (size_t j = 0; j < runs[i].nm; j++)
				if (!strcmp(runs[i].m[j].key, m->key)) {
					lv[have++] = log(runs[i].m[j].median);
					break;
				}
		if (have < 3)	/* measured in too few runs to say how it moves */
			continue;
		json_object_set_new(metrics, m->key, json_pack("{s:f, s:i}", "sigma_log",
				    gsl_stats_sd(lv, 1, (size_t)have), "runs", have));
		kept++;
	}
	root = json_pack("{s:s, s:s, s:o, s:o}", "schema", NOISE_SCHEMA, "mode", runs[0].mode,
			 "runs", rl, "metrics", metrics);
	temps[ntemps++] = tmp;
	if (json_dump_file(root, tmp, JSON_FLAGS) || rename(tmp, out))
		die(2, "%s: cannot write: %s", out, strerror(errno));
	ntemps = 0;
	printf("%s: run-to-run noise of %zu metrics from %d runs (%s)\n", out, kept, n, runs[0].mode);
	print_noisiest(metrics, 10);
	return 0;
}

void bench_noise_load(const char *path, struct bnoise *nz)
{
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err), *ms, *v;
	const char *key;

	if (!j)
		die(2, "%s: %s", path, access(path, R_OK) ? strerror(errno) : err.text);
	ms = json_object_get(j, "metrics");
	if (strcmp(jstr(j, "schema"), NOISE_SCHEMA) || !json_is_object(ms))
		die(2, "%s: not a " NOISE_SCHEMA " file (make one with --bench-noise)", path);
	nz->path = path;
	nz->mode = jstr(j, "mode");
	nz->metrics = ms;
	json_object_foreach(ms, key, v)
		if (!(json_number_value(json_object_get(v, "sigma_log")) >= 0) ||
		    json_integer_value(json_object_get(v, "runs")) < 3)
			die(2, "%s: %s: bad sigma_log or runs", path, key);
}

bool bench_noise_of(const struct bnoise *nz, const char *key, double *sigma, int *runs)
{
	json_t *v = nz && nz->metrics ? json_object_get(nz->metrics, key) : NULL;

	if (!v)
		return false;
	*sigma = json_number_value(json_object_get(v, "sigma_log"));
	*runs = (int)json_integer_value(json_object_get(v, "runs"));
	return true;
}
