// SPDX-License-Identifier: GPL-2.0
/*
 * Intel TDX (KVM_X86_TDX_VM, Linux 6.16). Detection only: the TD launch flow
 * (KVM_TDX_INIT_VM, INIT_VCPU, INIT_MEM_REGION, FINALIZE_VM) is not implemented,
 * so a present TDX host reports that instead of pretending to be tested.
 */
#include <stdio.h>

#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	if (!pm_plat_detect_gmem_vm_type(c, KVM_X86_TDX_VM, why, len))
		return false;
	snprintf(why, len, "KVM_X86_TDX_VM advertised, but privmem has no TD launch flow yet");
	return false;
}

const struct pm_platform pm_platform_tdx = {
	.name = "tdx",
	.summary = "Intel TDX trust domains",
	.vm_type = KVM_X86_TDX_VM,
	.detect = detect,
	.create_vm = pm_plat_no_vm,
	.create_private_mem = pm_plat_gmem_create,
	.bind_memslot = pm_plat_bind_gmem,
	.convert = pm_plat_no_convert,
	.gmem_flags = pm_plat_gmem_flags_from_cap,
	.host_can_map_private = false,
};
