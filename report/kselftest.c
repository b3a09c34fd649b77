// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-report --from-kselftest OUTPUT RUN_DIR [--caps CAPS.json] [--rows ROWS.tsv]:
 * the output of an installed tree's run_kselftest.sh (make install / make dist), as a
 * fleet's target writes it, turned into a run directory and reported like `make run`'s.
 *
 * kselftest's runner (tools/testing/selftests/kselftest/runner.sh) prints, per binary,
 * "# selftests: <collection>: <binary>", then the binary's own KTAP with every line
 * prefixed "# ", then its verdict: "ok N selftests: <collection>: <binary>" with
 * " # SKIP" (exit 4), or "not ok N ..." with " # exit=<rc>" or " # TIMEOUT <s> seconds".
 * Each privmem binary becomes ktap/<collection>/<binary>.ktap (its lines, prefix
 * removed) and .meta (exit=, timeout=). The whole stream is checked before anything is
 * written, and the directory is built under a temporary
 * name and renamed into place, so a bad stream leaves nothing behind.
 */
#include "report.h"

#define HDR	"# selftests: privmem/"
#define SELF	" selftests: privmem/"

struct kst_bin {
	char *coll, *name;
	struct sbuf out;	/* its KTAP, the runner's "# " prefix removed */
	int exit_code;
	bool timeout, done;
};

static void write_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(s, 1, n, f) != n || fclose(f))
		die(2, "%s: cannot write: %s", path, strerror(errno));
}

/* "privmem/<coll>: <bin>" after the prefix: split into coll and bin, or false. */
static bool split_name(const char *s, char **coll, char **bin)
{
	const char *colon = strstr(s, ": ");

	if (!colon || colon == s || strchr(colon + 2, ' ') || strchr(colon + 2, '/') || !colon[2] ||
	    memchr(s, '/', (size_t)(colon - s)))
		return false;
	*coll = xstrndup(s, (size_t)(colon - s));
	*bin = xstrdup(colon + 2);
	return true;
}

/* The verdict line of the binary being read: its exit status and timeout, or die. */
static void close_bin(struct kst_bin *b, const char *line, size_t lineno, const char *src)
{
	bool ok = !strncmp(line, "ok ", 3);
	const char *rest = strstr(line, SELF) + strlen(SELF), *hash;
	char *want = xasprintf("%s: %s", b->coll, b->name);

	if (strncmp(rest, want, strlen(want)) || (rest[strlen(want)] && strncmp(rest + strlen(want), " # ", 3)))
		die(2, "%s:%zu: verdict for another binary than %s: '%.80s'", src, lineno, want, line);
	hash = rest[strlen(want)] ? rest + strlen(want) + 3 : "";
	if (ok && !strcmp(hash, "SKIP"))
		b->exit_code = 4;	/* kselftest's skip status */
	else if (!ok && !strncmp(hash, "exit=", 5))
		b->exit_code = atoi(hash + 5);
	else if (!ok && !strncmp(hash, "TIMEOUT", 7))
		b->exit_code = 124, b->timeout = true;
	else if (!ok || *hash)
		die(2, "%s:%zu: unknown verdict '%.80s'", src, lineno, line);
	b->done = true;
}

/* Each binary's .ktap and .meta under dir/ktap/<collection>/. */
static void write_bins(const char *dir, const struct kst_bin *v, size_t n, const char *src)
{
	if (mkdir(xasprintf("%s/ktap", dir), 0777))
		die(2, "%s/ktap: %s", dir, strerror(errno));
	for (size_t i = 0; i < n; i++) {
		char *cdir = xasprintf("%s/ktap/%s", dir, v[i].coll);
		char *meta = xasprintf("exit=%d\ntimeout=%d\n# from run_kselftest.sh output: %s\n",
				       v[i].exit_code, v[i].timeout, src);

		if (mkdir(cdir, 0777) && errno != EEXIST)
			die(2, "%s: %s", cdir, strerror(errno));
		write_file(xasprintf("%s/%s.ktap", cdir, v[i].name), v[i].out.s ? v[i].out.s : "", v[i].out.len);
		write_file(xasprintf("%s/%s.meta", cdir, v[i].name), meta, strlen(meta));
	}
}

static void copy_into(const char *from, const char *dir, const char *name)
{
	size_t n;
	char **lines = read_lines(from, &n);
	struct sbuf sb = { 0 };

	if (!lines)
		die(2, "%s: %s", from, strerror(errno));
	for (size_t i = 0; i < n; i++)
		sb_line(&sb, lines[i]);
	write_file(xasprintf("%s/%s", dir, name), sb.s ? sb.s : "", sb.len);
}

int from_kselftest(const char *src, const char *dir, const char *caps, const char *rows)
{
	size_t n, nbins = 0;
	char **lines = read_lines(src, &n), *tmp;
	struct kst_bin *v = NULL, *b = NULL;

	if (!lines)
		die(2, "%s: %s", src, strerror(errno));
	if (!access(dir, F_OK))
		die(2, "%s exists: give a new run directory", dir);
	if ((caps && access(caps, R_OK)) || (rows && access(rows, R_OK)))
		die(2, "%s: %s", caps && access(caps, R_OK) ? caps : rows, strerror(errno));
	/* The whole stream is read and checked before anything is written. */
	for (size_t i = 0; i < n; i++) {
		const char *l = lines[i];

		if (!strncmp(l, HDR, strlen(HDR))) {
			if (b && !b->done)
				die(2, "%s:%zu: %s/%s has no verdict line", src, i + 1, b->coll, b->name);
			v = xrealloc(v, sizeof(*v) * (nbins + 1));
			b = &v[nbins++];
			*b = (struct kst_bin){ 0 };
			if (!split_name(l + strlen(HDR), &b->coll, &b->name))
				die(2, "%s:%zu: bad header '%.80s'", src, i + 1, l);
		} else if (b && !b->done && (!strncmp(l, "ok ", 3) || !strncmp(l, "not ok ", 7)) && strstr(l, SELF)) {
			close_bin(b, l, i + 1, src);
		} else if (b && !b->done && (!strcmp(l, "#") || !strncmp(l, "# ", 2))) {
			sb_line(&b->out, l[1] ? l + 2 : "");
		}
	}
	if (b && !b->done)
		die(2, "%s: %s/%s has no verdict line (the run was cut short?)", src, b->coll, b->name);
	if (!nbins)
		die(2, "%s: no privmem binary in this run_kselftest.sh output", src);
	tmp = xasprintf("%s.incomplete.%d", dir, (int)getpid());
	if (mkdir(tmp, 0777))
		die(2, "%s: %s", tmp, strerror(errno));
	write_bins(tmp, v, nbins, src);
	if (caps)
		copy_into(caps, tmp, "caps.json");
	if (rows)
		copy_into(rows, tmp, "rows.tsv");
	if (rename(tmp, dir))
		die(2, "%s: %s", dir, strerror(errno));
	return report(dir);
}
