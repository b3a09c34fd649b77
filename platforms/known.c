// SPDX-License-Identifier: GPL-2.0
/*
 * Known deviations of KVM backends from upstream behaviour, as data. A row
 * listed here reports XFAIL with the reason when the deviation is observed,
 * and XPASS (counted as a failure) once the backend behaves, so the list
 * cannot go stale silently. Each entry says how it was observed.
 */
#include <stdlib.h>
#include <string.h>

#include "platform.h"

static const struct {
	const char *kvm_module;
	const char *row;
	const char *reason;
} known[] = {
	{ "kvm_pvm", "gmem-only-slot",
	  "kvm_pvm faults MMAP guest_memfd memslots through userspace_addr, not guest_memfd "
	  "(upstream 6.18 serves them from guest_memfd; NULL userspace_addr gives KVM_EXIT_MMIO "
	  "here; observed 2026-11 on 6.18.44)" },
};

const char *pm_known_deviation(const struct pm_caps *c, const char *row)
{
	const char *strict = getenv("PRIVMEM_STRICT");

	/* Strict mode (vendors, and make check's proof that these rows can fail). */
	if (strict && *strict && strcmp(strict, "0"))
		return NULL;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i].kvm_module, c->kvm_module) && !strcmp(known[i].row, row))
			return known[i].reason;
	return NULL;
}
