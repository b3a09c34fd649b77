// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-side runtime, generic part: entry, reporting, assertions. Runs inside
 * the VM only; nothing here may call libc. Every function is PM_GUEST
 * (lib/guest.h) and the file is built without sanitizers (-fno-sanitize=all).
 * The report page and the exit are the architecture's (lib/<arch>/guest.c).
 */
#include "guest.h"

PM_GUEST void pm_guest_sync(uint64_t stage, uint64_t a, uint64_t b, uint64_t c)
{
	volatile struct pm_report *r = pm_guest_report_page();

	r->kind = PM_REP_SYNC;
	r->nvals = 4;
	r->vals[0] = stage;
	r->vals[1] = a;
	r->vals[2] = b;
	r->vals[3] = c;
	pm_guest_report_exit(PM_REP_SYNC);
}

PM_GUEST void pm_guest_done(void)
{
	volatile struct pm_report *r = pm_guest_report_page();

	r->kind = PM_REP_DONE;
	r->nvals = 0;
	pm_guest_report_exit(PM_REP_DONE);
	/* The host does not resume a vCPU that reported DONE. */
	pm_guest_halt();
}

/* A bounded, NUL-terminated copy into the report page (no libc in the guest). */
static PM_GUEST void copy_str(volatile char *dst, const char *src, unsigned long len)
{
	unsigned long i;

	for (i = 0; src && i + 1 < len && src[i]; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

PM_GUEST void pm_guest_assert_fail(const char *file, int line, const char *expr, uint64_t a, uint64_t b)
{
	volatile struct pm_report *r = pm_guest_report_page();

	r->kind = PM_REP_ASSERT;
	copy_str(r->file, file, sizeof(r->file));
	r->line = line;
	copy_str(r->expr, expr, sizeof(r->expr));
	r->nvals = 2;
	r->vals[0] = a;
	r->vals[1] = b;
	pm_guest_report_exit(PM_REP_ASSERT);
	pm_guest_halt();
}

/* The host starts every vCPU here: fn(a0, a1, a2), then DONE. */
PM_GUEST void pm_guest_entry(void (*fn)(uint64_t, uint64_t, uint64_t), uint64_t a0, uint64_t a1, uint64_t a2)
{
	fn(a0, a1, a2);
	pm_guest_done();
}
