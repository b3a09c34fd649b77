// SPDX-License-Identifier: GPL-2.0
/*
 * Intel TDX (KVM_X86_TDX_VM, Linux 6.16). Detection only: the TD launch flow
 * (KVM_TDX_INIT_VM, INIT_VCPU, INIT_MEM_REGION, FINALIZE_VM) is not implemented,
 * so a present TDX host reports that instead of pretending to be tested: create_vm
 * is NULL (platform.h says how the flow maps onto the ops).
 */
#include <signal.h>

#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	return pm_plat_detect_unlaunched(c, KVM_X86_TDX_VM, why, len);
}

const struct pm_platform pm_platform_tdx = {
	.name = "tdx",
	.summary = "Intel TDX trust domains",
	.vm_type = KVM_X86_TDX_VM,
	.kconfig = "CONFIG_INTEL_TDX_HOST",
	.arch = "x86_64",
	.detect = detect,
	.create_private_mem = pm_plat_gmem_create,
	.bind_memslot = pm_plat_bind_gmem,
	.gmem_flags = pm_plat_gmem_flags_from_cap,
	.host_fault = { SIGBUS, BUS_ADRERR },	/* guest_memfd: as sw-protected */
};
