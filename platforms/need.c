// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <string.h>

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

uint64_t pm_slot_gmem_flags(const struct pm_caps *c)
{
	return strcmp(c->uts.machine, "aarch64") ? 0 : GUEST_MEMFD_FLAG_MMAP;
}

const struct pm_platform *pm_need_slot_met(const struct pm_need *need, char *why, size_t len)
{
	const struct pm_platform *p = pm_need_met(need, why, len);
	const struct pm_caps *c = pm_caps();
	uint64_t slot = pm_slot_gmem_flags(c);

	if (p && (need->gmem_flags & slot) != slot) {
		snprintf(why, len, "%s binds only guest_memfd created with 0x%llx (MMAP) to "
			 "memslots (arch/arm64/kvm/mmu.c kvm_arch_prepare_memory_region); "
			 "variant flags 0x%llx", c->uts.machine, (unsigned long long)slot,
			 (unsigned long long)need->gmem_flags);
		return NULL;
	}
	return p;
}

int pm_unknown_vm_ioctl_errno(const struct pm_caps *c)
{
	return strcmp(c->uts.machine, "aarch64") ? ENOTTY : EINVAL;
}
