// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "platform.h"

const struct pm_platform *pm_need_met(const struct pm_need *need, char *why, size_t len)
{
	const struct pm_platform *p = pm_platform_find(need->platform);
	uint64_t valid;

	if (!p) {
		snprintf(why, len, "unknown platform '%s'", need->platform);
		return NULL;
	}
	if (!pm_platform_present(p, why, len)) {
		char reason[200];

		snprintf(reason, sizeof(reason), "%s", why);
		snprintf(why, len, "platform %s absent: %s", p->name, reason);
		return NULL;
	}
	valid = pm_platform_gmem_flags(p, pm_caps());
	if ((need->gmem_flags & valid) != need->gmem_flags) {
		snprintf(why, len, "KVM_CAP_GUEST_MEMFD_FLAGS=0x%llx lacks 0x%llx on %s",
			 (unsigned long long)valid,
			 (unsigned long long)(need->gmem_flags & ~valid), p->name);
		return NULL;
	}
	return p;
}
