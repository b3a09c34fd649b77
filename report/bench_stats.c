// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report: the statistics of --bench-compare.  Distributions, sorting, moments,
 * quantiles and the random numbers come from GSL; only the test statistics are
 * computed here.
 *
 * Which test: benchmark samples are positive and their noise is multiplicative, so
 * Welch's t runs on log(samples) (mmtests compares with Welch's t too), where each
 * sample looks normal. A sample with an outlier (farther than 3.5 robust standard
 * deviations, 1.4826 x MAD, from its median: a preempted repetition, a page-cache
 * miss) is not, and then the rank test decides: Mann-Whitney U, whose normal
 * approximation with the tie correction GSL's Gaussian tail gives. Both p-values are
 * reported; the interval is a percentile bootstrap of the median ratio, which
 * assumes neither.
 */
#include "bench.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#define BOOT_ROUNDS	4000
#define OUTLIER_SD	3.5

static double *sorted_copy(const double *v, int n)
{
	double *s = xcalloc(sizeof(*s) * (size_t)n);

	memcpy(s, v, sizeof(*s) * (size_t)n);
	gsl_sort(s, 1, (size_t)n);
	return s;
}

static double median_of(const double *v, int n)
{
	double *s = sorted_copy(v, n), m = gsl_stats_median_from_sorted_data(s, 1, (size_t)n);

	free(s);
	return m;
}

/* Does a point lie farther than OUTLIER_SD robust standard deviations from the median? */
static bool has_outlier(const double *v, int n)
{
	double *s = sorted_copy(v, n), *work = xcalloc(sizeof(*work) * (size_t)n);
	double med = gsl_stats_median_from_sorted_data(s, 1, (size_t)n);
	double sd = 1.4826 * gsl_stats_mad0(v, 1, (size_t)n, work);
	bool out = sd > 0 && (med - s[0] > OUTLIER_SD * sd || s[n - 1] - med > OUTLIER_SD * sd);

	free(s);
	free(work);
	return out;
}

static double welch_log_p(const double *a, int na, const double *b, int nb)
{
	double *la = xcalloc(sizeof(double) * (size_t)na), *lb = xcalloc(sizeof(double) * (size_t)nb);
	double ma, mb, va, vb, se2, t, df, p;

	for (int i = 0; i < na; i++)
		la[i] = log(a[i]);
	for (int i = 0; i < nb; i++)
		lb[i] = log(b[i]);
	ma = gsl_stats_mean(la, 1, (size_t)na);
	mb = gsl_stats_mean(lb, 1, (size_t)nb);
	va = gsl_stats_variance_m(la, 1, (size_t)na, ma) / na;
	vb = gsl_stats_variance_m(lb, 1, (size_t)nb, mb) / nb;
	se2 = va + vb;
	free(la);
	free(lb);
	if (se2 == 0)	/* constant samples (counts): equal or certainly different */
		return ma == mb ? 1 : 0;
	t = fabs(ma - mb) / sqrt(se2);
	/* Welch-Satterthwaite degrees of freedom. */
	df = se2 * se2 / (va * va / (na - 1) + vb * vb / (nb - 1));
	p = 2 * gsl_cdf_tdist_Q(t, df);
	return p > 1 ? 1 : p;
}

struct ranked { double v; int from_a; };

static int ranked_cmp(const void *x, const void *y)
{
	double a = ((const struct ranked *)x)->v, b = ((const struct ranked *)y)->v;

	return (a > b) - (a < b);
}

static double mann_whitney_p(const double *a, int na, const double *b, int nb)
{
	int n = na + nb;
	struct ranked *r = xcalloc(sizeof(*r) * (size_t)n);
	double ra = 0, ties = 0, u, mu, var, z;

	for (int i = 0; i < na; i++)
		r[i] = (struct ranked){ a[i], 1 };
	for (int i = 0; i < nb; i++)
		r[na + i] = (struct ranked){ b[i], 0 };
	qsort(r, (size_t)n, sizeof(*r), ranked_cmp);
	for (int i = 0; i < n;) {	/* average ranks over runs of ties */
		int j = i;

		while (j < n && r[j].v == r[i].v)
			j++;
		for (int k = i; k < j; k++)
			if (r[k].from_a)
				ra += (i + 1 + j) / 2.0;
		ties += pow(j - i, 3) - (j - i);
		i = j;
	}
	free(r);
	u = ra - na * (na + 1) / 2.0;
	mu = na * (double)nb / 2;
	var = na * (double)nb / 12 * ((n + 1) - ties / ((double)n * (n - 1)));
	if (var <= 0)
		return 1;
	z = (fabs(u - mu) - 0.5) / sqrt(var);	/* continuity correction */
	return z <= 0 ? 1 : fmin(1, 2 * gsl_cdf_ugaussian_Q(z));
}

/* Percentile bootstrap of median(b) / median(a), resampling each run on its own. */
static void boot_ratio(const double *a, int na, const double *b, int nb, double level,
		       double *lo, double *hi)
{
	gsl_rng *rng = oom(gsl_rng_alloc(gsl_rng_mt19937));
	double *ra = xcalloc(sizeof(double) * (size_t)na), *rb = xcalloc(sizeof(double) * (size_t)nb);
	double *q = xcalloc(sizeof(double) * BOOT_ROUNDS);

	gsl_rng_set(rng, 1);	/* the same interval for the same data, every time */
	for (int k = 0; k < BOOT_ROUNDS; k++) {
		for (int i = 0; i < na; i++)
			ra[i] = a[gsl_rng_uniform_int(rng, (unsigned long)na)];
		for (int i = 0; i < nb; i++)
			rb[i] = b[gsl_rng_uniform_int(rng, (unsigned long)nb)];
		q[k] = median_of(rb, nb) / median_of(ra, na);
	}
	gsl_sort(q, 1, BOOT_ROUNDS);
	*lo = gsl_stats_quantile_from_sorted_data(q, 1, BOOT_ROUNDS, (1 - level) / 2);
	*hi = gsl_stats_quantile_from_sorted_data(q, 1, BOOT_ROUNDS, 1 - (1 - level) / 2);
	gsl_rng_free(rng);
	free(ra);
	free(rb);
	free(q);
}

/*
 * With the metric's run-to-run noise known (bench_noise.c): each run's log median is the
 * true value plus a run effect of sd sigma_run plus its own sampling error, so the
 * difference of two runs has variance 2 sigma_run^2 + se_a^2 + se_b^2; sigma_run comes from
 * `runs` calibration runs, hence Student's t with runs - 1 degrees of freedom.
 */
static double run_noise_p(const double *a, int na, const double *b, int nb, double ratio,
			  double sigma_run, int runs)
{
	double var = 2 * sigma_run * sigma_run, z;
	const double *v[2] = { a, b };
	int n[2] = { na, nb };

	for (int s = 0; s < 2; s++) {
		double *l = xcalloc(sizeof(double) * (size_t)n[s]);

		for (int i = 0; i < n[s]; i++)
			l[i] = log(v[s][i]);
		var += gsl_stats_variance(l, 1, (size_t)n[s]) / n[s];
		free(l);
	}
	if (var <= 0)
		return ratio == 1 ? 1 : 0;
	z = fabs(log(ratio)) / sqrt(var);
	return fmin(1, 2 * gsl_cdf_tdist_Q(z, runs - 1));
}

void bench_test(const double *a, int na, const double *b, int nb, double level,
		double sigma_run, int runs, struct btest *t)
{
	t->ratio = median_of(b, nb) / median_of(a, na);
	boot_ratio(a, na, b, nb, level, &t->ci_lo, &t->ci_hi);
	t->p_mwu = mann_whitney_p(a, na, b, nb);
	t->p_welch = welch_log_p(a, na, b, nb);
	/* Below 5 samples a side the rank test cannot reach significance, nor the screen see outliers. */
	if (na >= 5 && nb >= 5 && (has_outlier(a, na) || has_outlier(b, nb))) {
		t->p = t->p_mwu;
		t->test = "mann-whitney";
	} else {
		t->p = t->p_welch;
		t->test = "welch-log";
	}
	t->p_run = NAN;
	if (runs >= 3) {	/* calibrated: the run-level test decides */
		t->p_run = run_noise_p(a, na, b, nb, t->ratio, sigma_run, runs);
		t->p = t->p_run;
		t->test = "run-noise";
	}
}

struct pidx { double p; size_t i; };

static int pidx_cmp(const void *x, const void *y)
{
	double a = ((const struct pidx *)x)->p, b = ((const struct pidx *)y)->p;

	return (a > b) - (a < b);
}

void bh_adjust(const double *p, double *q, size_t n)
{
	struct pidx *s = xcalloc(sizeof(*s) * n);
	double run = 1;

	for (size_t i = 0; i < n; i++)
		s[i] = (struct pidx){ p[i], i };
	qsort(s, n, sizeof(*s), pidx_cmp);
	/* q_(k) = min over j >= k of p_(j) * n / j: step-up, kept monotone. */
	for (size_t k = n; k-- > 0;) {
		double v = s[k].p * (double)n / (double)(k + 1);

		run = fmin(run, v);
		q[s[k].i] = run;
	}
	free(s);
}
