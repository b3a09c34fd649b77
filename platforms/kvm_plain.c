// SPDX-License-Identifier: GPL-2.0
/*
 * Plain KVM: a default VM with ordinary anonymous memory and no private memory at
 * all. What the VM library's own rows (conformance/vmlib) need, so they run on any
 * KVM kernel, including ones that predate guest_memfd (Debian's 6.1 in the lab).
 */
#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	return pm_plat_detect_vm_type(c, KVM_X86_DEFAULT_VM, why, len);
}

const struct pm_platform pm_platform_kvm_plain = {
	.name = "kvm",
	.summary = "default VM type with anonymous memory only (no private memory): the VM library's needs",
	.vm_type = KVM_X86_DEFAULT_VM,
	.detect = detect,
	.create_vm = pm_plat_create_vm,
};
