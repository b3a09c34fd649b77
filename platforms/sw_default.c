// SPDX-License-Identifier: GPL-2.0
/* Default VM + guest_memfd: the pure-software mode every guest_memfd kernel has. */
#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	return pm_plat_detect_gmem_vm_type(c, KVM_X86_DEFAULT_VM, why, len);
}

const struct pm_platform pm_platform_sw_default = {
	.name = "sw-default",
	.summary = "default VM type, guest memory in guest_memfd (no hardware protection)",
	.vm_type = KVM_X86_DEFAULT_VM,
	.detect = detect,
	.create_vm = pm_plat_create_vm,
	.create_private_mem = pm_plat_gmem_create,
	.bind_memslot = pm_plat_bind_gmem,
	.gmem_flags = pm_plat_gmem_flags_from_cap,
};
