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
	int fd;

	(void)vm;
	fd = syscall(SYS_memfd_secret, (unsigned int)flags);
	if (fd >= 0 && ftruncate(fd, size)) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static int bind_none(struct pm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		     int fd, uint64_t offset, uint64_t page_size)
{
	(void)vm, (void)slot, (void)gpa, (void)size, (void)fd, (void)offset, (void)page_size;
	errno = EOPNOTSUPP;
	return -1;
}

static uint64_t no_gmem_flags(const struct pm_caps *c, unsigned long vm_type)
{
	(void)c, (void)vm_type;
	return 0;
}

const struct pm_platform pm_platform_secretmem = {
	.name = "secretmem",
	.summary = "memfd_secret: host-only memory removed from the direct map",
	.kconfig = "CONFIG_SECRETMEM",
	.vm_type = KVM_X86_DEFAULT_VM,
	.detect = detect,
	.create_vm = pm_plat_create_vm,
	.create_private_mem = create_secret,
	.bind_memslot = bind_none,
	.convert = pm_plat_no_convert,
	.gmem_flags = no_gmem_flags,
	.host_can_map_private = true,
};
