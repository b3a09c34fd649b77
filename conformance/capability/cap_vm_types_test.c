// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CAP_VM_TYPES (api.rst 8.41): "the 1-setting of bit @n means the VM type
 * with value @n is supported". Upstream creates a VM exactly when its type is
 * supported: x86.c kvm_arch_init_vm rejects anything else with -EINVAL
 * (kvm_is_vm_type_supported: type < 32 and its bit in kvm_caps.supported_vm_types,
 * 6.8-6.18), and a kernel without the capability (6.1: answers 0) accepts only
 * type 0 (`if (type) return -EINVAL`).
 */
#include "capability.h"

FIXTURE(cap_vm_types) {
	long types;
};

FIXTURE_SETUP(cap_vm_types)
{
	CAP_REQUIRE_KVM();
	self->types = cap_sys(KVM_CAP_VM_TYPES);
	ASSERT_LE(0, self->types);
}

FIXTURE_TEARDOWN(cap_vm_types)
{
}

static int create_vm(unsigned long type)
{
	int kvm = pm_kvm_open(), vm, err;

	if (kvm < 0)
		return -1;
	do
		vm = ioctl(kvm, KVM_CREATE_VM, type);
	while (vm < 0 && errno == EINTR);
	err = errno;
	close(kvm);
	errno = err;
	return vm;
}

/* Every advertised bit, known to privmem or not, creates a VM (type 0 where the cap is 0). */
TEST_F(cap_vm_types, advertised_bits_create)
{
	for (unsigned long t = 0; t < 64; t++) {
		int vm;

		if (!cap_type_advertised(self->types, t))
			continue;
		vm = create_vm(t);
		if (vm < 0)
			TH_LOG("KVM_CAP_VM_TYPES=0x%lx advertises type %lu but KVM_CREATE_VM fails: %s",
			       self->types, t, strerrorname_np(errno));
		ASSERT_LE(0, vm);
		close(vm);
	}
}

/*
 * Every type number not advertised, 0..63 and the 64-bit values 2^32, 2^63 and
 * ~0 (the ioctl argument is an unsigned long): -1/EINVAL. x86 only: the capability
 * is x86's (api.rst 8.41, "Architectures: x86"); elsewhere KVM_CREATE_VM's type word
 * means something else (aarch64: KVM_VM_TYPE_ARM_IPA_SIZE(n), api.rst 4.2, so e.g.
 * 0x20 is a valid 32-bit IPA VM), and the row is a SKIP naming that.
 */
TEST_F(cap_vm_types, unadvertised_types_einval)
{
	static const unsigned long wide[] = { 1UL << 32, 1UL << 63, ~0UL };
	const char *machine = pm_caps()->uts.machine;

	if (strcmp(machine, "x86_64"))
		SKIP(return, "KVM_CAP_VM_TYPES=0x%lx: x86 VM types (api.rst 8.41) do not apply on %s, "
		     "whose KVM_CREATE_VM type word is %s", self->types, machine,
		     strcmp(machine, "aarch64") ? "architecture-specific" :
		     "the IPA size (KVM_VM_TYPE_ARM_IPA_SIZE, api.rst 4.2)");
	for (unsigned long t = 0; t < 64 + 3; t++) {
		unsigned long type = t < 64 ? t : wide[t - 64];
		int vm, err;

		if (t < 64 && cap_type_advertised(self->types, type))
			continue;
		errno = 0;
		vm = create_vm(type);
		err = vm < 0 ? errno : 0;
		if (vm >= 0)
			close(vm);
		if (vm != -1 || err != EINVAL)
			TH_LOG("KVM_CAP_VM_TYPES=0x%lx lacks type 0x%lx: KVM_CREATE_VM gave %d/%s, want -1/EINVAL",
			       self->types, type, vm, err ? strerrorname_np(err) : "0");
		ASSERT_EQ(-1, vm);
		ASSERT_EQ(EINVAL, err);
	}
}

/*
 * A VM of each advertised type is created and, where privmem can run guests on
 * it (default, sw-protected), a vCPU runs guest code that reads host data from
 * a memslot and writes back; SEV, SEV-ES, SNP and TDX stop after creation.
 */
FIXTURE(cap_vm_type) {
	struct pm_vm *vm;
};

FIXTURE_VARIANT(cap_vm_type) {
	struct cap_type t;
};

CAP_VM_TYPE_VARIANTS(cap_vm_type);

FIXTURE_SETUP(cap_vm_type)
{
	CAP_REQUIRE_KVM();
	CAP_REQUIRE_TYPE(&variant->t);
}

FIXTURE_TEARDOWN(cap_vm_type)
{
	pm_vm_free(self->vm);
}

TEST_F(cap_vm_type, advertised_type_runs_guest)
{
	const uint64_t pages = 2;
	struct pm_vcpu *v;
	uint64_t *host;
	int fd = cap_create_vm(_metadata, &variant->t);

	ASSERT_LE(0, fd);
	close(fd);
	CAP_REQUIRE_LAUNCH(&variant->t);

	self->vm = cap_vm(_metadata, &variant->t);
	ASSERT_NE(NULL, self->vm);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, CAP_SLOT, CAP_GPA, pages * CAP_PAGE, NULL, -1, 0,
				      PM_PAGE_4K));
	host = pm_gpa_to_hva(self->vm, CAP_GPA, pages * CAP_PAGE);
	ASSERT_NE(NULL, host);
	for (uint64_t i = 0; i < pages; i++)
		host[i * CAP_PAGE / 8] = cap_host_word(i);
	v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA, pages, 0);
	if (!v)
		TH_LOG("KVM_CREATE_VCPU on a %s VM: %s", variant->t.name, strerrorname_np(errno));
	ASSERT_NE(NULL, v);
	ASSERT_GUEST_ROUND_TRIP(v, host, pages);
}

TEST_HARNESS_MAIN
