// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report: the command line (see usage).
 *
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o privmem-report *.c -ljansson
 */
#include "bench.h"

/* ---- main ------------------------------------------------------------- */

static const char usage[] =
	"usage: " PROG " RUN_DIR\n"
	"       " PROG " --diff OLD NEW\n"
	"       " PROG " --bench-compare [--min-effect PCT] [--fdr Q] [--level L] [--all]\n"
	"                      [--noise NOISE.json] [--json FILE] RUN_A RUN_B\n"
	"       " PROG " --bench-noise NOISE.json RUN RUN RUN...\n"
	"       " PROG " --bench-sizing RUN [RUN...]\n"
	"       " PROG " --from-kselftest OUTPUT RUN_DIR [--caps CAPS.json] [--rows ROWS.tsv]\n"
	"       " PROG " --merge OUT_DIR RUN RUN...\n"
	"       " PROG " --help\n\n"
	"RUN_DIR mode reads RUN_DIR/ktap/<collection>/<binary>.ktap (kselftest output)\n"
	"and .meta (exit=, seconds=, timeout=, deviation=) plus the optional\n"
	"RUN_DIR/caps.json and RUN_DIR/rows.tsv (behaviour rows, one per line:\n"
	"id, area, expectation, source, needs; TAB-separated), and writes\n"
	"RUN_DIR/results.json, junit.xml and summary.md.\n\n"
	"--diff compares two results.json files (or run directories holding one) and\n"
	"lists new failures, fixes, skip changes and added/removed tests; when both\n"
	"have behaviour rows, also rows whose status changed and rows only in one; when\n"
	"both record drift (a documented behaviour the kernel showed where upstream\n"
	"changed it without a capability), what changed, which is never a failure.\n\n"
	"Exit status: 0 no failures; 1 failures (with --diff: new failures) or no test\n"
	"results at all; 2 bad input or usage, in which case nothing is written.\n\n"
	"--from-kselftest reads the output of an installed tree's run_kselftest.sh (make\n"
	"install / make dist, run on a target), writes RUN_DIR (new) with one .ktap and\n"
	".meta per privmem binary, the optional caps.json and rows.tsv, then reports it as\n"
	"above.\n\n"
	"--merge writes OUT_DIR/merged.md and merged.json: conformance runs as one\n"
	"behaviour-row x run matrix (rows failing anywhere or differing first, drift per\n"
	"run; exit 1 when a row fails somewhere), benchmark runs as metrics x machines\n"
	"(host and kernel: the median of the run medians, min..max, runs).\n\n"
	"--bench-compare compares two benchmark runs (results/<stamp>-bench) metric by\n"
	"metric on their per-repetition samples: Welch's t on log(samples), or\n"
	"Mann-Whitney U where a sample has an outlier; Benjamini-Hochberg over all\n"
	"metrics (--fdr, default 0.05); a change below --min-effect (percent, default\n"
	"10) is \"same\". Verdicts: same, better, worse (by the metric's direction),\n"
	"higher/lower (no direction), state (not tested), n/a. Exit status: 0 no worse\n"
	"metric, 1 at least one, 2 bad input. --noise adds the run-to-run noise of each metric that\n"
	"--bench-noise measured from three or more runs of this machine with nothing\n"
	"changed: the samples of one run share one moment of the machine and cannot show\n"
	"how it drifts between runs.\n\n"
	"--bench-sizing writes RUN/sizing.md (and sizing.csv, sizing.png, sizing.svg with\n"
	"bench/plots/sizing.gp; PRIVMEM_PLOTS names that directory) for the first RUN, the\n"
	"other RUNs side by side: per backing the churn at which the hugepage benchmark's\n"
	"2M retention fell below 90% and 50%, its spread over repetitions, the cost per\n"
	"churned page against the same-run 4K fault, KVM's pages_2m/pages_4k, and what\n"
	"it means for policy. Exit status: 0 written, 2 bad input (a run without hugepage\n"
	"results), in which case nothing is written.\n\n"
	"SOURCE_DATE_EPOCH, if set, overrides the \"generated\" timestamp.\n";

/* A number option of --bench-compare, within [lo, hi]. */
static double num_opt(const char *opt, const char *val, double lo, double hi)
{
	char *end;
	double v = val ? strtod(val, &end) : NAN;

	if (!val || end == val || *end || !(v >= lo && v <= hi))
		die(2, "%s needs a number in [%g, %g], got '%s'", opt, lo, hi, val ? val : "");
	return v;
}

static int from_kselftest_main(int argc, char **argv)
{
	const char *caps = NULL, *rows = NULL;

	if (argc != 4 && argc != 6 && argc != 8)
		die(2, "--from-kselftest needs OUTPUT RUN_DIR [--caps FILE] [--rows FILE] (see --help)");
	for (int i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--caps"))
			caps = argv[i + 1];
		else if (!strcmp(argv[i], "--rows"))
			rows = argv[i + 1];
		else
			die(2, "--from-kselftest: unknown option '%s' (see --help)", argv[i]);
	}
	return from_kselftest(argv[2], argv[3], caps, rows);
}

static int bench_compare_main(int argc, char **argv)
{
	struct bcompare_opts o = { .min_effect = 0.10, .fdr = 0.05, .level = 0.95 };
	int i = 2;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--all")) {
			o.all = true;
			continue;
		}
		if (!strcmp(opt, "--min-effect"))
			o.min_effect = num_opt(opt, val, 0, 1000) / 100;
		else if (!strcmp(opt, "--fdr"))
			o.fdr = num_opt(opt, val, 1e-6, 0.5);
		else if (!strcmp(opt, "--level"))
			o.level = num_opt(opt, val, 0.5, 0.999);
		else if (!strcmp(opt, "--json") && val)
			o.json = val;
		else if (!strcmp(opt, "--noise") && val)
			o.noise = val;
		else
			die(2, "--bench-compare: unknown option or missing value '%s' (see --help)", opt);
		i++;
	}
	if (argc - i != 2)
		die(2, "--bench-compare needs exactly two runs: RUN_A RUN_B (see --help)");
	return bench_compare(argv[i], argv[i + 1], &o);
}

int main(int argc, char **argv)
{
	int first = argc > 1 && !strcmp(argv[1], "--") ? 2 : 1;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--merge")) {
		if (argc < 5)
			die(2, "--merge needs OUT_DIR and at least two runs (see --help)");
		return merge(argv[2], argv + 3, argc - 3);
	}
	if (argc > 1 && !strcmp(argv[1], "--from-kselftest"))
		return from_kselftest_main(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "--bench-compare"))
		return bench_compare_main(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "--bench-sizing")) {
		if (argc < 3)
			die(2, "--bench-sizing needs at least one benchmark run (see --help)");
		return bench_sizing(argv + 2, argc - 2);
	}
	if (argc > 1 && !strcmp(argv[1], "--bench-noise")) {
		if (argc < 6)
			die(2, "--bench-noise needs OUT.json and at least three runs (see --help)");
		return bench_noise(argv[2], argv + 3, argc - 3);
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
