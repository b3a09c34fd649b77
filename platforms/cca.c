// SPDX-License-Identifier: GPL-2.0
/*
 * Arm CCA realms. The realm VM type and KVM_CAP_ARM_RMI are not in mainline uapi
 * and the cap number has moved between postings (247, 248, 249), so privmem does
 * not guess it: on arm64 the platform stays absent until the uapi lands.
 */
#include <stdio.h>
#include <string.h>

#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	if (strcmp(c->uts.machine, "aarch64"))
		snprintf(why, len, "host is %s; Arm CCA realms need arm64 with RME", c->uts.machine);
	else
		snprintf(why, len, "realm VM type not in mainline uapi (KVM_CAP_ARM_RMI number unstable)");
	return false;
}

const struct pm_platform pm_platform_cca = {
	.name = "cca",
	.summary = "Arm CCA realms",
	.vm_type = 0,
	.detect = detect,
	.create_vm = pm_plat_no_vm,
	.create_private_mem = pm_plat_gmem_create,
	.bind_memslot = pm_plat_bind_gmem,
	.convert = pm_plat_no_convert,
	.gmem_flags = pm_plat_gmem_flags_from_cap,
	.host_can_map_private = false,
};
