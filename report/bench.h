/* SPDX-License-Identifier: GPL-2.0 */
/*
 * privmem-report's benchmark side: benchmark runs (results/<stamp>-bench, written by
 * scripts/bench.sh) read back, compared with statistics, and summarised.
 *   bench_load.c     a run directory: bench.json and each <name>.json's metrics
 *   bench_stats.c    the tests (GSL): Mann-Whitney U, Welch's t on logs, a bootstrap
 *                    interval of the median ratio, Benjamini-Hochberg adjustment
 *   bench_noise.c    --bench-noise: run-to-run noise per metric from identical runs
 *   bench_compare.c  --bench-compare: verdict per metric, table, JSON, exit status
 *   bench_sizing.c   --bench-sizing: the hugepage sizing page (sizing.md) of one or more runs
 */
#ifndef PRIVMEM_REPORT_BENCH_H
#define PRIVMEM_REPORT_BENCH_H

#include "report.h"

/* Which way a metric improves: from its JSON "better", else from its unit. */
enum better { BETTER_UNKNOWN, BETTER_HIGHER, BETTER_LOWER };

struct bmetric {
	const char *key;	/* "<bench> <metric> k=v k=v" (params sorted): same in every run */
	const char *bench, *metric, *params, *unit;
	enum better better;
	bool better_declared;	/* from the JSON, not derived from the unit */
	bool state;		/* declared "neither": where the allocator placed pages, not a cost */
	double median, cv, cv_max;
	double *samples;	/* per repetition, as the benchmark kept them */
	int n;
	bool truncated;		/* the JSON kept only part of the samples */
};

/* A same-run physical reference (memcpy bandwidth, fault cost): the machine's own drift. */
struct bref { const char *name, *unit; double median, cv; };

struct brun {
	const char *dir, *stamp, *mode, *commit, *background, *kernel;
	struct bmetric *m;
	size_t nm;
	struct bref *ref;
	size_t nref;
};

/* bench_load.c: a run directory, validated; bad input exits 2 with one line. */
void bench_load(const char *dir, struct brun *run);
enum better better_of_unit(const char *unit);
const char *better_name(enum better b);

/* bench_noise.c: a calibration file (privmem-bench-noise/1) */
struct bnoise { const char *path, *mode; json_t *metrics; };
int bench_noise(const char *out, char **dirs, int n);
void bench_noise_load(const char *path, struct bnoise *nz);
/* The metric's sd of log(run median) and the runs it came from; false if not calibrated. */
bool bench_noise_of(const struct bnoise *nz, const char *key, double *sigma, int *runs);

/* bench_stats.c */
struct btest {
	double ratio;		/* median(b) / median(a) */
	double ci_lo, ci_hi;	/* bootstrap percentile interval of the ratio */
	double p_mwu;		/* Mann-Whitney U, two-sided, normal approximation with ties */
	double p_welch;		/* Welch's t on log(samples), two-sided */
	double p_run;		/* with run-to-run noise (calibrated metrics only), else NAN */
	double p;		/* the one the verdict uses (see bench_test) */
	const char *test;	/* "welch-log", "mann-whitney" or "run-noise" */
};
/* sigma_run, runs: the metric's run-to-run noise (runs 0: not calibrated). */
void bench_test(const double *a, int na, const double *b, int nb, double level,
		double sigma_run, int runs, struct btest *t);
/* Benjamini-Hochberg: p[i] -> adjusted q[i] (monotone, <= 1). */
void bh_adjust(const double *p, double *q, size_t n);

/* bench_compare.c */
struct bcompare_opts {
	double min_effect;	/* |ratio - 1| below it is "same", whatever the p-value */
	double fdr;		/* false discovery rate over all compared metrics */
	double level;		/* confidence of the bootstrap interval */
	bool all;		/* also list metrics present in one run only */
	const char *json;	/* write the comparison here too */
	const char *noise;	/* --noise: a --bench-noise calibration */
};
int bench_compare(const char *a, const char *b, const struct bcompare_opts *o);

/* bench_sizing.c: RUN[0]/sizing.md (+ csv, plots), the runs side by side; bad input exits 2. */
int bench_sizing(char **dirs, int n);

#endif
