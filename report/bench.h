/* SPDX-License-Identifier: GPL-2.0 */
/*
 * privmem-report's benchmark side: benchmark runs (results/<stamp>-bench, written by
 * scripts/bench.sh) read back, compared with statistics, and summarised.
 *   bench_load.c     a run directory: bench.json and each <name>.json's metrics
 *   bench_stats.c    the tests (GSL): Mann-Whitney U, Welch's t on logs, a bootstrap
 *                    interval of the median ratio, Benjamini-Hochberg adjustment
 *   bench_noise.c    --bench-noise: run-to-run noise per metric from identical runs
 *   bench_compare.c  --bench-compare: verdict per metric, table, JSON, exit status
 *   bench_sizing.c   --bench-sizing: the hugepage sizing page of one or more runs: read,
 *                    sizing.csv, the plot, files; bench_sizing_md.c: the page (sizing.md)
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

/* The sizing page's runs, read by bench_sizing.c, written by bench_sizing_md.c. */
#define SZ_NB 4		/* backings: anon_thp, shmem_thp, hugetlb, guest_memfd */
extern const char *const sz_title[SZ_NB];
/* A threshold crossing: at a churn fraction, below it from the start, or never. */
enum sz_kind { SZ_AT, SZ_START, SZ_NEVER, SZ_UNKNOWN };

struct sz_cross {
	enum sz_kind kind;
	double at;			/* SZ_AT: churn fraction on the median curve */
	const struct bmetric *m;	/* per repetition, when every repetition crossed */
	double model_ratio;		/* measured / model crossing (NAN: none) */
};

struct sz_back {
	bool measured;
	const char *why;		/* not measured: the benchmark's own reason */
	const char *note;		/* the benchmark's first note on it, if any */
	struct sz_cross x[2];		/* 90%, 50% */
	double start_pct, end_pct;	/* retention at churn 0 and after the last step */
	const struct bmetric *cost;	/* churn_refault */
	double cost_ratio;		/* against the same-run 4K fault (NAN: none) */
	json_t *curve, *guest;
};

struct sz_run {
	struct brun b;
	json_t *hp;			/* hugepage.json */
	bool lab;			/* bench.json has "lab": QEMU TCG, timings not meaningful */
	char *label;
	long mib, reps;
	const struct bref *fault;	/* fault_anon_4k */
	struct sz_back bk[SZ_NB];
};
/* The first note (or error: LIST) of the benchmark that starts with PREFIX, without it. */
const char *sz_note(json_t *hp, const char *list, const char *prefix);
void sz_write_page(FILE *f, struct sz_run *r, int n, const char *plot_why, const char *generated);

#endif
