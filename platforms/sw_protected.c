// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_X86_SW_PROTECTED_VM (CONFIG_KVM_SW_PROTECTED_VM): private/shared tracked by
 * KVM_SET_MEMORY_ATTRIBUTES without hardware encryption; api.rst calls its ABI
 * unstable, development and testing only.
 */
#include <signal.h>
#include <stdio.h>

#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	long attrs;

	if (!pm_plat_detect_gmem_vm_type(c, KVM_X86_SW_PROTECTED_VM, why, len))
		return false;
	attrs = pm_vm_cap(c, KVM_X86_SW_PROTECTED_VM, PM_KVM_CAP_MEMORY_ATTRIBUTES);
	if (!(attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE)) {
		snprintf(why, len, "KVM_CAP_MEMORY_ATTRIBUTES=0x%lx lacks PRIVATE on KVM_X86_SW_PROTECTED_VM", attrs);
		return false;
	}
	return true;
}

const struct pm_platform pm_platform_sw_protected = {
	.name = "sw-protected",
	.summary = "KVM_X86_SW_PROTECTED_VM: software private memory with memory attributes",
	.vm_type = KVM_X86_SW_PROTECTED_VM,
	.kconfig = "CONFIG_KVM_SW_PROTECTED_VM",
	.arch = "x86_64",
	.detect = detect,
	.create_vm = pm_plat_create_vm,
	.create_private_mem = pm_plat_gmem_create,
	.bind_memslot = pm_plat_bind_gmem,
	.convert = pm_plat_convert_attributes,
	.gmem_flags = pm_plat_gmem_flags_from_cap,
	/* kvm_gmem_fault_user_mapping: VM_FAULT_SIGBUS, arch/x86/mm/fault.c do_sigbus */
	.host_fault = { SIGBUS, BUS_ADRERR },
};
