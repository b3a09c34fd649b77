// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 pKVM protected VMs (kvm-arm.mode=protected): the hypervisor takes the
 * guest's pages from the host at donation, so a host access faults (SIGSEGV,
 * SEGV_ACCERR). Their memory is not guest_memfd-backed (in 7.2 a guest_memfd-backed
 * protected VM fails KVM_RUN with EIO), so the platform joins no guest_memfd variant
 * set. Not probed yet: absent everywhere, no VM (create_vm NULL).
 */
#include <signal.h>
#include <stdio.h>

#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	(void)c;
	snprintf(why, len, "not probed yet");
	return false;
}

const struct pm_platform pm_platform_pkvm = {
	.name = "pkvm",
	.summary = "arm64 pKVM protected VMs (kvm-arm.mode=protected)",
	.vm_type = 0,
	.arch = "aarch64",
	.detect = detect,
	.host_fault = { SIGSEGV, SEGV_ACCERR },
};
