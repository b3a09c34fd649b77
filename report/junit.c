// SPDX-License-Identifier: GPL-2.0
/* privmem-report: junit.xml of one run (one testsuite per binary). */
#include "report.h"

static void xml_puts(FILE *f, const char *s, bool attr)
{
	for (; *s; s++) {
		unsigned char c = *s;

		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '\n': case '\t': case '\r':
			/* Attribute values would normalize raw newlines to spaces. */
			if (attr)
				fprintf(f, "&#%d;", c);
			else
				fputc(c, f);
			break;
		default:
			/* XML 1.0 cannot carry other C0 controls, not even as &#N;. */
			if (c < 0x20)
				fprintf(f, "\\x%02x", c);
			else
				fputc(c, f);
		}
	}
}

static void xml_attr(FILE *f, const char *name, const char *val)
{
	fprintf(f, " %s=\"", name);
	xml_puts(f, val, true);
	fputc('"', f);
}

/*
 * One <testcase>. Its drift goes to <system-out>, as the lines the test logged: JUnit has
 * <properties> per suite only (a testcase-level one is outside the schema some CI parsers
 * validate against), and system-out is what their test views show.
 */
static void write_testcase(FILE *f, const struct binary *b, const struct test *t)
{
	const char *dot = strrchr(t->name, '.'), *why = t->reason ? t->reason : "";
	char *out = drift_text(t);

	fputs("    <testcase", f);
	xml_attr(f, "classname", xasprintf("%s.%s%s%.*s", b->coll, b->name, dot ? "." : "",
					    dot ? (int)(dot - t->name) : 0, t->name));
	xml_attr(f, "name", dot ? dot + 1 : t->name);
	if (t->st == ST_PASS && !out) {
		fputs("/>\n", f);
		return;
	}
	fputc('>', f);
	if (failing(t->st)) {
		fputs("\n      <failure", f);
		xml_attr(f, "message", first_line(why));
		xml_attr(f, "type", fk_name[t->kind]);
		fputc('>', f);
		xml_puts(f, why, false);
		fputs("</failure>", f);
	} else if (t->st == ST_SKIP) {
		fputs("\n      <skipped", f);
		xml_attr(f, "message", why);
		fputs("/>", f);
	} else if (t->st == ST_XFAIL) {
		out = xasprintf("XFAIL: %s%s%s", why, out ? "\n" : "", out ? out : "");
	}
	if (out) {
		fputs("\n      <system-out>", f);
		xml_puts(f, out, false);
		fputs("</system-out>", f);
	}
	fputs("\n    </testcase>\n", f);
}

void write_junit(const struct run *r, FILE *f)
{
	/* JUnit's xs:dateTime has no zone suffix; the value is UTC. */
	char *stamp = xstrndup(r->generated, strcspn(r->generated, "Z"));

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"privmem\""
		" tests=\"%zu\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"%.3f\">\n",
		r->ntests, r->count[ST_FAIL] + r->count[ST_XPASS], r->count[ST_SKIP], r->seconds);
	for (size_t i = 0; i < r->nbins; i++) {
		const struct binary *b = &r->bins[i];
		int fails = 0, skips = 0;

		for (size_t j = 0; j < b->ntests; j++) {
			fails += failing(b->tests[j].st);
			skips += b->tests[j].st == ST_SKIP;
		}
		fputs("  <testsuite", f);
		xml_attr(f, "name", xasprintf("%s.%s", b->coll, b->name));
		fprintf(f, " tests=\"%zu\" failures=\"%d\" errors=\"0\" skipped=\"%d\" time=\"%.3f\"",
			b->ntests, fails, skips, b->seconds);
		xml_attr(f, "hostname", r->host);
		xml_attr(f, "timestamp", stamp);
		fputs(">\n    <properties>\n      <property name=\"kernel\"", f);
		xml_attr(f, "value", r->kernel);
		fprintf(f, "/>\n      <property name=\"exit\" value=\"%s\"/>\n", exit_str(b));
		if (b->timeout)
			fputs("      <property name=\"timeout\" value=\"true\"/>\n", f);
		if (b->deviation) {
			fputs("      <property name=\"deviation\"", f);
			xml_attr(f, "value", b->deviation);
			fputs("/>\n", f);
		}
		fputs("    </properties>\n", f);
		for (size_t j = 0; j < b->ntests; j++)
			write_testcase(f, b, &b->tests[j]);
		fputs("  </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
}

