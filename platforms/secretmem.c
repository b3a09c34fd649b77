// SPDX-License-Identifier: GPL-2.0
/*
 * memfd_secret: memory removed from the kernel direct map, mapped only into the
 * owning process. KVM cannot pin it, so it backs no memslot; the platform exists
 * for host-side conformance and the direct-map benchmarks.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	if (!c->secretmem)
		snprintf(why, len, "%s", c->secretmem_reason);
	return c->secretmem;
}

static int create_secret(struct pm_vm *vm, uint64_t size, uint64_t flags)
{
	(void)vm;
	return pm_plat_sized_fd(syscall(SYS_memfd_secret, (unsigned int)flags), size);
}

const struct pm_platform pm_platform_secretmem = {
	.name = "secretmem",
	.summary = "memfd_secret: host-only memory removed from the direct map",
	.kconfig = "CONFIG_SECRETMEM",
	.vm_type = KVM_X86_DEFAULT_VM,
	.detect = detect,
	.create_vm = pm_plat_create_vm,
	.create_private_mem = create_secret,
};
