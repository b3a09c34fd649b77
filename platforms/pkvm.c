// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 pKVM protected VMs (Documentation/virt/kvm/arm/pkvm.rst): KVM_CREATE_VM
 * with KVM_VM_TYPE_ARM_PROTECTED, which KVM accepts only in kvm-arm.mode=protected.
 * The hypervisor takes each page the guest touches away from the host, so a host
 * access faults (SIGSEGV, SEGV_ACCERR) until the guest shares the page (MEM_SHARE).
 *
 * Private memory is ordinary memslot memory, pinned: here a memfd (shmem) that the
 * host also maps, so a test holds the host's view of what the guest took. It is not
 * guest_memfd (in 7.2 a guest_memfd-backed protected VM fails KVM_RUN with EIO, a row
 * of its own), so the platform joins no guest_memfd variant set. Conversion is the
 * guest's (hypercalls), not the host's: no convert op.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform.h"

static bool detect(const struct pm_caps *c, char *why, size_t len)
{
	const struct pm_vm_type_caps *v = &c->arm_protected;

	if (!c->kvm) {
		snprintf(why, len, "%s", c->kvm_reason);
		return false;
	}
	if (!v->created) {
		snprintf(why, len, "KVM_CREATE_VM(KVM_VM_TYPE_ARM_PROTECTED): %s (kvm-arm.mode=%s; pKVM needs kvm-arm.mode=protected)",
			 strerrorname_np(v->create_errno) ? strerrorname_np(v->create_errno) : "?",
			 c->kvm_arm_mode[0] ? c->kvm_arm_mode : "default");
		return false;
	}
	return true;
}

static int create_mem(struct pm_vm *vm, uint64_t size, uint64_t flags)
{
	(void)vm;
	if (flags) {
		errno = EINVAL;		/* no creation flags: this is not guest_memfd */
		return -1;
	}
	return pm_plat_sized_fd(memfd_create("privmem-pkvm", MFD_CLOEXEC), size);
}

/* A plain slot on the host's shared mapping of the memfd; the slot owns that mapping. */
static int bind_mem(struct pm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		    int fd, uint64_t offset, uint64_t page_size)
{
	void *hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
	int saved;

	if (hva == MAP_FAILED)
		return -1;
	if (pm_vm_add_memory(vm, slot, gpa, size, hva, -1, 0, page_size)) {
		saved = errno;
		munmap(hva, size);
		errno = saved;
		return -1;
	}
	vm->slots[slot].owns_hva = true;
	return 0;
}

const struct pm_platform pm_platform_pkvm = {
	.name = "pkvm",
	.summary = "arm64 pKVM protected VMs (kvm-arm.mode=protected)",
	.vm_type = KVM_VM_TYPE_ARM_PROTECTED,
	.arch = "aarch64",
	.detect = detect,
	.create_vm = pm_plat_create_vm,
	.create_private_mem = create_mem,
	.bind_memslot = bind_mem,
	.host_fault = { SIGSEGV, SEGV_ACCERR },
};
