// SPDX-License-Identifier: GPL-2.0
/* privmem-report: one run: validate the inputs, write the three outputs atomically, print the terminal summary. */
#include "report.h"

/* First line of s on the terminal, at most max bytes. */
void put_short(const char *prefix, const char *s, size_t max)
{
	char *l = xasprintf("%s%s", prefix, first_line(s ? s : ""));
	size_t n = utf8_cut(l, max);

	printf("%.*s%s\n", (int)n, l, n < strlen(l) ? "..." : "");
}

static void print_summary(const struct run *r, char *const paths[3])
{
	int fails = r->count[ST_FAIL] + r->count[ST_XPASS], shown = 0;
	size_t ng;
	struct group *g = skip_groups(r, &ng);

	printf("privmem run %s: kernel %s on %s%s%s\n", r->base, r->kernel, r->host,
	       r->background ? ", background load: " : "", r->background ? r->background : "");
	printf("  %zu tests in %zu binaries (%.2fs): %d pass, %d fail, %d skip, %d xfail, %d xpass\n",
	       r->ntests, r->nbins, r->seconds, r->count[ST_PASS], r->count[ST_FAIL],
	       r->count[ST_SKIP], r->count[ST_XFAIL], r->count[ST_XPASS]);
	if (r->have_rows)
		printf("  rows: %zu listed: %d pass, %d fail, %d skip only, %d xfail only, %d not run;"
		       " %zu tests without a row\n",
		       r->nrows, r->row_count[RS_PASS], r->row_count[RS_FAIL], r->row_count[RS_SKIP],
		       r->row_count[RS_XFAIL], r->row_count[RS_NOT_RUN], r->nunlisted);
	if (fails)
		printf("failures (%d):\n", fails);
	for (size_t i = 0; i < r->nbins; i++)
		for (size_t j = 0; j < r->bins[i].ntests; j++) {
			const struct test *t = &r->bins[i].tests[j];

			if (failing(t->st) && shown++ < 10)
				put_short(xasprintf("  %s %s: ", st_name[t->st], test_id(&r->bins[i], t)),
					  t->reason, 150);
		}
	if (shown > 10)
		printf("  ... and %d more, see summary.md\n", shown - 10);
	if (ng)
		printf("skip reasons:\n");
	for (size_t i = 0; i < ng && i < 8; i++)
		put_short(xasprintf("  %4d x ", g[i].count), g[i].reason, 130);
	if (ng > 8)
		printf("  ... and %zu more reasons\n", ng - 8);
	printf("wrote %s, %s, %s\n", paths[0], paths[1], paths[2]);
	printf("%d passed, %d failed, %d skipped\n", r->count[ST_PASS] + r->count[ST_XFAIL],
	       fails, r->count[ST_SKIP]);
}

int report(const char *dir)
{
	static const char *const names[3] = { "results.json", "junit.xml", "summary.md" };
	struct run r = { .dir = dir };
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	time_t now = sde && *sde ? (time_t)strtoll(sde, NULL, 10) : time(NULL);
	char *real, *final[3];
	mode_t um = umask(0);
	struct tm tm;

	umask(um);
	if (!is_dir(dir))
		die(2, "%s: %s", dir, access(dir, F_OK) ? strerror(errno) : "not a directory");
	real = realpath(dir, NULL);
	if (!real)
		die(2, "%s: %s", dir, strerror(errno));
	r.base = strrchr(real, '/')[1] ? strrchr(real, '/') + 1 : real;
	if (!gmtime_r(&now, &tm))
		die(2, "SOURCE_DATE_EPOCH: bad value '%s'", sde);
	strftime(r.generated, sizeof(r.generated), "%Y-%m-%dT%H:%M:%SZ", &tm);

	/* Validate every input before creating any output. */
	load_caps(&r);
	load_rows(&r);
	scan_run(&r);
	for (size_t i = 0; i < r.nbins; i++) {
		r.seconds += r.bins[i].seconds;
		for (size_t j = 0; j < r.bins[i].ntests; j++, r.ntests++)
			r.count[r.bins[i].tests[j].st]++;
	}
	if (r.have_rows)
		tally_rows(&r);
	drift_tally_run(&r, &r.drift);

	/* Temp file + rename(2): readers never see a half-written output. */
	for (int i = 0; i < 3; i++) {
		char *tmp = xasprintf("%s/.%s.XXXXXX", dir, names[i]);
		int fd = mkstemp(tmp);
		FILE *f;
		bool bad;

		if (fd < 0)
			die(2, "%s: cannot create temporary file: %s", dir, strerror(errno));
		temps[ntemps++] = tmp;
		fchmod(fd, 0666 & ~um);	/* mkstemp() makes 0600; outputs are shared */
		f = oom(fdopen(fd, "w"));
		if (i == 0)
			write_json(&r, f);
		else if (i == 1)
			write_junit(&r, f);
		else
			write_markdown(&r, f);
		bad = fflush(f) || ferror(f) || fsync(fd);
		if (fclose(f) || bad)
			die(2, "%s: write failed", tmp);
		final[i] = xasprintf("%s/%s", dir, names[i]);
	}
	for (int i = 0; i < 3; i++)
		if (rename(temps[i], final[i]))
			die(2, "%s: %s", final[i], strerror(errno));
	ntemps = 0;

	print_summary(&r, final);
	if (!r.ntests) {
		fprintf(stderr, PROG ": no test results found in %s\n", dir);
		return 1;
	}
	return r.count[ST_FAIL] + r.count[ST_XPASS] ? 1 : 0;
}

