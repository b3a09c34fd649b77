// SPDX-License-Identifier: GPL-2.0
/*
 * AMD SEV-SNP (KVM_X86_SNP_VM, Linux 6.11). Detection only: the SNP launch flow
 * (KVM_SEV_INIT2, SNP_LAUNCH_START/UPDATE/FINISH) is not implemented yet: create_vm
 * is NULL (platform.h says how the flow maps onto the ops).
 */
#include <signal.h>

#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	return pm_plat_detect_unlaunched(c, KVM_X86_SNP_VM, why, len);
}

const struct pm_platform pm_platform_snp = {
	.name = "snp",
	.summary = "AMD SEV-SNP guests",
	.vm_type = KVM_X86_SNP_VM,
	.kconfig = "CONFIG_KVM_AMD_SEV",
	.arch = "x86_64",
	.detect = detect,
	.create_private_mem = pm_plat_gmem_create,
	.bind_memslot = pm_plat_bind_gmem,
	.gmem_flags = pm_plat_gmem_flags_from_cap,
	.host_fault = { SIGBUS, BUS_ADRERR },	/* guest_memfd: as sw-protected */
};
