// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CAP_USER_MEMORY2 (api.rst 4.140): KVM_SET_USER_MEMORY_REGION2 exists. The
 * ioctl and the capability came together in 6.8 ("KVM: Add
 * KVM_SET_USER_MEMORY_REGION2 to allow extended memslot fields"); kvm_main.c
 * answers 1 for the capability on /dev/kvm and every VM. A kernel without it
 * (6.1) answers 0 and does not know the ioctl: kvm_vm_ioctl hands it to x86
 * kvm_arch_vm_ioctl, whose default is -ENOTTY.
 *
 * Only the types privmem runs guests on: the rows prove the memslot by a guest
 * reading through it (KVM_CAP_USER_MEMORY2 is generic, the same for every type).
 */
#include "capability.h"

#define PAGES CAP_PLAIN_PAGES

CAP_PLAIN_SLOT_FIXTURE(cap_region2, KVM_CAP_USER_MEMORY2);

/*
 * Advertised: a plain memslot created with KVM_SET_USER_MEMORY_REGION2 serves the
 * guest (it reads the host's words, the host sees its stores) and deletes.
 */
TEST_F(cap_region2, advertised_plain_slot_works)
{
	struct pm_vcpu *v;
	int ret;

	if (self->cap <= 0)
		SKIP(return, "KVM_CAP_USER_MEMORY2=0 on %s (cap_region2.unadvertised_enotty)",
		     variant->t.name);
	ret = cap_region2(self->vm->fd, CAP_SLOT, CAP_GPA, PAGES * CAP_PAGE, self->hva, -1);
	if (ret)
		TH_LOG("KVM_CAP_USER_MEMORY2=%ld, KVM_SET_USER_MEMORY_REGION2: %s", self->cap,
		       strerrorname_np(errno));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, pm_vm_map(self->vm, CAP_GPA, PAGES * CAP_PAGE, PM_PAGE_4K));
	v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA, PAGES, 0);
	ASSERT_NE(NULL, v);
	ASSERT_GUEST_ROUND_TRIP(v, self->hva, PAGES);
	ASSERT_EQ(0, cap_region2(self->vm->fd, CAP_SLOT, CAP_GPA, 0, self->hva, -1));
}

/*
 * Not advertised (on the VM, and then on /dev/kvm too: the capability is
 * generic): the same valid request is -1/ENOTTY, and no memslot appears (another
 * slot id can take the GPA range with KVM_SET_USER_MEMORY_REGION; EEXIST otherwise).
 */
TEST_F(cap_region2, unadvertised_enotty)
{
	if (self->cap > 0)
		SKIP(return, "KVM_CAP_USER_MEMORY2=%ld on %s (cap_region2.advertised_plain_slot_works)",
		     self->cap, variant->t.name);
	ASSERT_EQ(0, cap_sys(KVM_CAP_USER_MEMORY2));
	ASSERT_ERRNO(ENOTTY, cap_region2(self->vm->fd, CAP_SLOT, CAP_GPA, PAGES * CAP_PAGE,
					 self->hva, -1));
	ASSERT_EQ(0, pm_set_region(self->vm, CAP_SLOT + 1, 0, CAP_GPA, PAGES * CAP_PAGE, self->hva));
}

TEST_HARNESS_MAIN
