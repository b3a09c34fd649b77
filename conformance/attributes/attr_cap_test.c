// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CAP_MEMORY_ATTRIBUTES, per VM type, against what KVM_SET_MEMORY_ATTRIBUTES
 * accepts. api.rst 4.141: on a VM the capability "precisely returns the
 * attributes supported by that VM", at system scope "all attributes supported by
 * KVM". virt/kvm/kvm_main.c kvm_supported_mem_attributes: PRIVATE for /dev/kvm
 * (kvm == NULL) and for VMs with private memory (kvm_arch_has_private_mem), 0
 * otherwise; kvm_vm_ioctl_set_mem_attributes rejects any bit outside that set.
 * On x86 a VM has private memory iff its type is SW_PROTECTED (x86.c
 * kvm_arch_init_vm), SNP (sev.c) or TDX: the default VM advertises 0 (6.8-6.18).
 */
#include <fcntl.h>

#include "attributes.h"

AT_FIXTURE(attr_cap);

/* api.rst 4.141: what one VM supports is a subset of what KVM supports. */
TEST_F(attr_cap, vm_cap_within_system)
{
	TH_LOG("%s: KVM_CAP_MEMORY_ATTRIBUTES 0x%llx on the VM, 0x%lx on /dev/kvm", self->p->name,
	       (unsigned long long)self->vm_cap, self->sys_cap);
	ASSERT_EQ(0, self->vm_cap & ~(uint64_t)self->sys_cap);
}

/*
 * PRIVATE is advertised exactly on the VM types that have private memory: the
 * default VM has none (6.12: kvm->arch.has_private_mem false, capability 0),
 * sw-protected, SNP and TDX VMs do.
 */
TEST_F(attr_cap, private_iff_private_vm_type)
{
	bool private_type = self->vm->type != KVM_X86_DEFAULT_VM;

	TH_LOG("%s: KVM_CAP_MEMORY_ATTRIBUTES 0x%llx", self->p->name,
	       (unsigned long long)self->vm_cap);
	ASSERT_EQ(private_type, !!(self->vm_cap & KVM_MEMORY_ATTRIBUTE_PRIVATE));
}

/*
 * PRIVATE on a GPA without a memslot: 0 iff the VM advertises it, else EINVAL
 * (attributes & ~kvm_supported_mem_attributes). attributes 0 is valid on every
 * VM, also one whose capability is 0: nothing is set, the range already has no
 * attributes, the call returns 0 (kvm_vm_set_mem_attributes, early exit).
 */
TEST_F(attr_cap, private_iff_advertised)
{
	bool adv = self->vm_cap & KVM_MEMORY_ATTRIBUTE_PRIVATE;

	ASSERT_ATTR(self->vm->fd, adv ? 0 : EINVAL, AT_NOSLOT_GPA, AT_PAGE,
		    KVM_MEMORY_ATTRIBUTE_PRIVATE, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, AT_PAGE, 0, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, 4 * AT_PAGE, 0, 0);
}

/*
 * Every advertised bit is accepted alone and all of them together (and cleared
 * again with 0); the bits outside the capability are attr_validate.unknown_bits_einval.
 */
TEST_F(attr_cap, advertised_bits_accepted)
{
	for (int bit = 0; bit < 64; bit++) {
		if (!(self->vm_cap & (1ULL << bit)))
			continue;
		ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, AT_PAGE, 1ULL << bit, 0);
		ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, AT_PAGE, 0, 0);
	}
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, 2 * AT_PAGE, self->vm_cap, 0);
	ASSERT_ATTR(self->vm->fd, 0, AT_NOSLOT_GPA, 2 * AT_PAGE, 0, 0);
}

/*
 * A kernel whose /dev/kvm reports KVM_CAP_MEMORY_ATTRIBUTES=0 has no
 * KVM_SET_MEMORY_ATTRIBUTES (the ioctl and the capability share one #ifdef, and
 * the system-scope answer is PRIVATE whenever it is built): every VM type it can
 * create reports 0 too, and the VM ioctl is unknown: -1/ENOTTY (x86
 * kvm_arch_vm_ioctl's default; -1/EINVAL on aarch64, whose kvm_arch_vm_ioctl
 * default is -EINVAL), for PRIVATE and for 0 alike; EINVAL for PRIVATE
 * (and 0 for 0) is accepted too, from a kernel that builds the ioctl but
 * advertises no attribute. Runs on such
 * kernels only (< 6.8, or CONFIG_KVM_GENERIC_MEMORY_ATTRIBUTES unset).
 */
FIXTURE(attr_absent) {
	int kvm;
};

FIXTURE_SETUP(attr_absent)
{
	const struct pm_caps *c = pm_caps();
	long cap;

	self->kvm = -1;
	if (!c->kvm)
		SKIP(return, "%s", c->kvm_reason);
	self->kvm = pm_kvm_open();
	ASSERT_LE(0, self->kvm);
	cap = pm_check_cap(self->kvm, KVM_CAP_MEMORY_ATTRIBUTES);
	if (cap != 0)
		SKIP(return, "KVM_CAP_MEMORY_ATTRIBUTES=0x%lx on /dev/kvm: the ioctl exists", cap);
}

FIXTURE_TEARDOWN(attr_absent)
{
	if (self->kvm >= 0)
		close(self->kvm);
}

TEST_F(attr_absent, no_cap_enotty)
{
	const struct pm_caps *c = pm_caps();
	const int unknown = pm_unknown_vm_ioctl_errno(c);
	int tested = 0;

	for (int t = 0; t < PM_NR_VM_TYPES; t++) {
		struct kvm_memory_attributes a = {
			.address = AT_NOSLOT_GPA, .size = AT_PAGE,
			.attributes = KVM_MEMORY_ATTRIBUTE_PRIVATE,
		};
		int vm;

		if (!c->vm_types[t].created)
			continue;
		vm = ioctl(self->kvm, KVM_CREATE_VM, (unsigned long)t);
		ASSERT_LE(0, vm);
		TH_LOG("%s", c->vm_types[t].name);
		EXPECT_EQ(0, pm_check_cap(vm, KVM_CAP_MEMORY_ATTRIBUTES));
		/*
		 * 6.8-6.18 give the unknown-VM-ioctl errno (x86 ENOTTY; aarch64 EINVAL,
		 * arch/arm64/kvm/arm.c kvm_arch_vm_ioctl default); a kernel that built
		 * the ioctl but advertised nothing would refuse PRIVATE as an unsupported
		 * bit (EINVAL) and may accept 0. Either is correct; applying PRIVATE
		 * never is.
		 */
		errno = 0;
		EXPECT_EQ(-1, ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &a));
		EXPECT_TRUE(errno == unknown || errno == EINVAL);
		a.attributes = 0;
		errno = 0;
		if (ioctl(vm, KVM_SET_MEMORY_ATTRIBUTES, &a))
			EXPECT_EQ(unknown, errno);
		close(vm);
		tested++;
	}
	if (!tested)
		SKIP(return, "no VM type could be created (%s: %s)", c->vm_types[0].name,
		     strerror(c->vm_types[0].create_errno));
}

TEST_HARNESS_MAIN
