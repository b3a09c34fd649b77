// SPDX-License-Identifier: GPL-2.0
/* Table cells: wide rows built piece by piece, NaN for a point not measured (pmb_util.h). */
#include <math.h>
#include <stdarg.h>

#include "pmb_util.h"

void pmb_appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	*off = n < 0 ? len - 1 : *off + n < len - 1 ? *off + n : len - 1;
}

const char *pmb_num(char *buf, size_t len, const char *fmt, double v)
{
	if (isnan(v))
		snprintf(buf, len, "NaN");
	else
		snprintf(buf, len, fmt, v);
	return buf;
}

void pmb_cell(char *buf, size_t len, size_t *off, const char *fmt, double v)
{
	char num[64];

	pmb_appendf(buf, len, off, ",%s", pmb_num(num, sizeof(num), fmt, v));
}
