// SPDX-License-Identifier: GPL-2.0
/* privmem-report: errors, memory, strings, UTF-8, reading files. */
#include "report.h"

/* ---- errors, memory, strings ---------------------------------------- */

/* Outputs not yet renamed into place; removed on any fatal error. */
char *temps[3];
size_t ntemps;

const char *const st_name[ST_NR] = { "PASS", "FAIL", "SKIP", "XFAIL", "XPASS" };
const char *const rs_name[RS_NR] = { "PASS", "FAIL", "SKIP", "NOT-RUN", "XFAIL" };
const char *const row_field[ROW_FIELDS] = { "id", "area", "expectation", "source", "needs" };
const char *const fk_name[FK_NR] = { "assert", "timeout", "missing", "crash", "other", "splat" };

__attribute__((noreturn, format(printf, 2, 3)))
void die(int code, const char *fmt, ...)
{
	va_list ap;

	while (ntemps)
		unlink(temps[--ntemps]);
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

void *oom(void *p)
{
	if (!p)
		die(2, "out of memory");
	return p;
}

void *xrealloc(void *p, size_t n) { return oom(realloc(p, n ? n : 1)); }
void *xcalloc(size_t n) { return oom(calloc(1, n ? n : 1)); }
char *xstrndup(const char *s, size_t n) { return oom(strndup(s, n)); }
char *xstrdup(const char *s) { return oom(strdup(s)); }

__attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return oom(n < 0 ? NULL : s);
}


void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* Append s as one more line of a "\n"-joined text. */
void sb_line(struct sbuf *b, const char *s)
{
	if (b->len)
		sb_add(b, "\n", 1);
	sb_add(b, s, strlen(s));
}

char *sb_steal(struct sbuf *b)
{
	char *s = b->s ? b->s : xstrdup("");

	*b = (struct sbuf){ 0 };
	return s;
}

const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

char *trim_dup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

char *first_line(const char *s) { return xstrndup(s, strcspn(s, "\n")); }

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
size_t utf8_cut(const char *s, size_t max)
{
	if (strlen(s) <= max)
		return strlen(s);
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/* Length of the valid UTF-8 sequence at s, 0 if invalid (or NUL). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp, min;
	size_t len;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	return cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : len;
}

/*
 * Test output is arbitrary bytes (a crashing test may print anything), but
 * jansson refuses invalid UTF-8 and XML forbids it: replace bad bytes and
 * NULs with U+FFFD once, at input time.
 */
char *clean(const char *s, size_t n)
{
	struct sbuf b = { 0 };

	if (n && s[n - 1] == '\r')
		n--;
	for (size_t i = 0, l; i < n; i += l ? l : 1) {
		l = utf8_len((const unsigned char *)s + i, n - i);
		sb_add(&b, l ? s + i : "\xef\xbf\xbd", l ? l : 3);
	}
	return sb_steal(&b);
}

/* Returns NULL with errno set if the file cannot be read. */
char **read_lines(const char *path, size_t *nlines)
{
	FILE *f = fopen(path, "rb");
	struct sbuf b = { 0 };
	char chunk[65536], **lines = xcalloc(sizeof(*lines));
	size_t n, start = 0;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		sb_add(&b, chunk, n);
	n = ferror(f);
	if (fclose(f) || n) {
		errno = EIO;
		return NULL;
	}
	*nlines = 0;
	for (size_t i = 0; i < b.len || (i == b.len && i > start); i++) {
		if (i < b.len && b.s[i] != '\n')
			continue;
		lines = xrealloc(lines, (*nlines + 1) * sizeof(*lines));
		lines[(*nlines)++] = clean(b.s + start, i - start);
		start = i + 1;
	}
	return lines;
}


bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

const char *or_unknown(const char *s) { return *s ? s : "unknown"; }
