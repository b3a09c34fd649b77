// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report: the command line (see usage).
 *
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Werror -o privmem-report *.c -ljansson
 */
#include "report.h"

/* ---- main ------------------------------------------------------------- */

static const char usage[] =
	"usage: " PROG " RUN_DIR\n"
	"       " PROG " --diff OLD NEW\n"
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
	"results at all; 2 bad input or usage, in which case nothing is written.\n"
	"SOURCE_DATE_EPOCH, if set, overrides the \"generated\" timestamp.\n";

int main(int argc, char **argv)
{
	int first = argc > 1 && !strcmp(argv[1], "--") ? 2 : 1;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
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
