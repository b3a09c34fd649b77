// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "platform.h"

#define PM_PLATFORM_PTR(ident, ...) &pm_platform_##ident,
#define PM_PLATFORM_NAME(ident, name, ...) name,

const struct pm_platform *const pm_platforms[] = {
	PM_PLATFORM_LIST(PM_PLATFORM_PTR)
	NULL,
};

/* The names variants need a platform by: the list's, which each ops table's .name repeats. */
static const char *const pm_platform_names[] = { PM_PLATFORM_LIST(PM_PLATFORM_NAME) };

const struct pm_platform *pm_platform_find(const char *name)
{
	for (int i = 0; pm_platforms[i]; i++) {
		if (strcmp(pm_platforms[i]->name, pm_platform_names[i])) {
			fprintf(stderr, "privmem: platforms/list.h entry %d is '%s', its ops table "
				"says '%s'\n", i, pm_platform_names[i], pm_platforms[i]->name);
			abort();
		}
		if (!strcmp(pm_platforms[i]->name, name))
			return pm_platforms[i];
	}
	return NULL;
}

const char *pm_kconfig(const struct pm_caps *c, const char *option)
{
	for (int i = 0; i < PM_NR_KCONFIG; i++)
		if (!strcmp(pm_kconfig_names[i], option))
			return c->kconfig[i][0] ? c->kconfig[i] : NULL;
	return NULL;
}

bool pm_platform_detect(const struct pm_platform *p, const struct pm_caps *c, char *why, size_t len)
{
	const char *v = p->kconfig ? pm_kconfig(c, p->kconfig) : NULL;
	size_t n;

	why[0] = '\0';
	if (p->arch && strcmp(c->uts.machine, p->arch)) {
		snprintf(why, len, "host is %s; %s needs %s", c->uts.machine, p->name, p->arch);
		return false;
	}
	if (p->detect(c, why, len))
		return true;
	n = strlen(why);
	if (v && !strcmp(v, "n") && n + 1 < len)
		snprintf(why + n, len - n, " (%s is not set)", p->kconfig);
	return false;
}

bool pm_platform_present(const struct pm_platform *p, char *why, size_t len)
{
	return pm_platform_detect(p, pm_caps(), why, len);
}

struct pm_vm *pm_plat_create_vm(const struct pm_platform *p)
{
	return pm_vm_create(p->vm_type);
}

int pm_plat_sized_fd(int fd, uint64_t size)
{
	int saved;

	if (fd < 0 || !ftruncate(fd, size))
		return fd;
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int pm_plat_gmem_create(struct pm_vm *vm, uint64_t size, uint64_t flags)
{
	return pm_gmem_create(vm, size, flags);
}

int pm_plat_bind_gmem(struct pm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		      int fd, uint64_t offset, uint64_t page_size)
{
	return pm_vm_add_memory(vm, slot, gpa, size, NULL, fd, offset, page_size);
}

int pm_plat_convert_attributes(struct pm_vm *vm, uint64_t gpa, uint64_t size, bool to_private)
{
	struct kvm_memory_attributes a = {
		.address = gpa, .size = size,
		.attributes = to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};

	return ioctl(vm->fd, KVM_SET_MEMORY_ATTRIBUTES, &a);
}

/* KVM_CAP_GUEST_MEMFD_FLAGS is the whole truth; absent cap means no flag is valid. */
uint64_t pm_plat_gmem_flags_from_cap(const struct pm_caps *c, unsigned long vm_type)
{
	long v = pm_vm_cap(c, vm_type, PM_KVM_CAP_GUEST_MEMFD_FLAGS);

	return v > 0 ? (uint64_t)v : 0;
}

bool pm_plat_detect_vm_type(const struct pm_caps *c, unsigned long type, char *why, size_t len)
{
	const struct pm_vm_type_caps *v = &c->vm_types[type];

	if (!c->kvm) {
		snprintf(why, len, "%s", c->kvm_reason);
		return false;
	}
	if (!v->advertised) {
		snprintf(why, len, "KVM_CAP_VM_TYPES=0x%lx lacks %s (bit %lu)",
			 c->cap[PM_KVM_CAP_VM_TYPES] > 0 ? c->cap[PM_KVM_CAP_VM_TYPES] : 0,
			 v->name, type);
		return false;
	}
	if (!v->created) {
		snprintf(why, len, "KVM_CREATE_VM(%s): %s", v->name, strerror(v->create_errno));
		return false;
	}
	return true;
}

bool pm_plat_detect_gmem_vm_type(const struct pm_caps *c, unsigned long type,
				 char *why, size_t len)
{
	if (!pm_plat_detect_vm_type(c, type, why, len))
		return false;
	if (pm_vm_cap(c, type, PM_KVM_CAP_GUEST_MEMFD) <= 0) {
		snprintf(why, len, "KVM_CAP_GUEST_MEMFD=0 on %s", c->vm_types[type].name);
		return false;
	}
	return true;
}

/*
 * Hardware platforms whose launch flow privmem does not implement: absent with
 * the kernel's reason, or, where the kernel offers the VM type, absent because
 * nothing here could test it. Never "present" without a way to run guests.
 */
bool pm_plat_detect_unlaunched(const struct pm_caps *c, unsigned long type,
			       char *why, size_t len)
{
	if (pm_plat_detect_gmem_vm_type(c, type, why, len))
		snprintf(why, len, "%s advertised, but privmem has no launch flow for it yet",
			 c->vm_types[type].name);
	return false;
}
