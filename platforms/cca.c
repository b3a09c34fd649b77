// SPDX-License-Identifier: GPL-2.0
/*
 * Arm CCA realms. The realm VM type and KVM_CAP_ARM_RMI are not in mainline uapi
 * and the cap number has moved between postings (247, 248, 249), so privmem does
 * not guess it: on arm64 the platform stays absent until the uapi lands (elsewhere
 * pm_platform_detect says the host is not arm64).
 */
#include <signal.h>
#include <stdio.h>

#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	(void)c;
	snprintf(why, len, "realm VM type not in mainline uapi (KVM_CAP_ARM_RMI number unstable)");
	return false;
}

const struct pm_platform pm_platform_cca = {
	.name = "cca",
	.summary = "Arm CCA realms",
	.vm_type = 0,
	.arch = "aarch64",
	.detect = detect,
	.create_private_mem = pm_plat_gmem_create,
	.bind_memslot = pm_plat_bind_gmem,
	.gmem_flags = pm_plat_gmem_flags_from_cap,
	/* guest_memfd: arm64 do_page_fault, VM_FAULT_SIGBUS -> SIGBUS, BUS_ADRERR */
	.host_fault = { SIGBUS, BUS_ADRERR },
};
