// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_CAP_GUEST_MEMFD and KVM_CAP_GUEST_MEMFD_FLAGS, per VM type, against what
 * KVM_CREATE_GUEST_MEMFD, KVM_SET_USER_MEMORY_REGION2 and the fd itself do.
 *
 * What upstream answers, from the source:
 *  - 6.8 (a7800aa80ea4 "KVM: Add KVM_CREATE_GUEST_MEMFD ioctl()") to 6.17:
 *    KVM_CAP_GUEST_MEMFD = !kvm || kvm_arch_has_private_mem(kvm), so on x86 1 on
 *    /dev/kvm and on sw-protected/SNP/TDX VMs, 0 on the default VM. kvm_gmem_create
 *    does not look at the VM type (a default VM can create one), but
 *    check_memory_region_flags only accepts KVM_MEM_GUEST_MEMFD where
 *    kvm_arch_has_private_mem: binding it is -EINVAL. No flag is valid (6.12
 *    kvm_gmem_create: valid_flags = 0); KVM_CAP_GUEST_MEMFD_FLAGS is unknown (0).
 *  - 6.18 (d1e54dd08f16 "KVM: x86: Enable KVM_GUEST_MEMFD for all 64-bit builds",
 *    3d3a04fad25a mmap, 44c6cb9fe988 mmap for private-memory VMs): the capability
 *    is 1 for every VM, KVM_CAP_GUEST_MEMFD_FLAGS = kvm_gmem_get_supported_flags():
 *    MMAP everywhere, INIT_SHARED where kvm_arch_supports_gmem_init_shared (x86:
 *    VMs without private memory) and on /dev/kvm; kvm_gmem_create rejects any
 *    other bit with -EINVAL.
 *  - No guest_memfd at all (6.1, or CONFIG_KVM_PRIVATE_MEM/GUEST_MEMFD unset):
 *    both capabilities 0 and KVM_CREATE_GUEST_MEMFD is an unknown VM ioctl,
 *    -ENOTTY (x86 kvm_arch_vm_ioctl default).
 */
#include "capability.h"

#define GMEM_PAGES	4

FIXTURE(cap_gmem) {
	struct pm_vm *vm;	/* types privmem can run guests on */
	int vm_fd;		/* the VM under test (vm->fd, or a bare KVM_CREATE_VM) */
	long sys_gmem, sys_flags, vm_gmem, vm_flags;
};

FIXTURE_VARIANT(cap_gmem) {
	struct cap_type t;
};

CAP_VM_TYPE_VARIANTS(cap_gmem);

FIXTURE_SETUP(cap_gmem)
{
	self->vm_fd = -1;
	CAP_REQUIRE_KVM();
	CAP_REQUIRE_TYPE(&variant->t);
	if (variant->t.launch) {
		self->vm = cap_vm(_metadata, &variant->t);
		ASSERT_NE(NULL, self->vm);
	} else {
		self->vm_fd = cap_create_vm(_metadata, &variant->t);
		ASSERT_LE(0, self->vm_fd);
	}
	if (self->vm)
		self->vm_fd = self->vm->fd;
	self->sys_gmem = cap_sys(KVM_CAP_GUEST_MEMFD);
	self->sys_flags = cap_sys(KVM_CAP_GUEST_MEMFD_FLAGS);
	self->vm_gmem = pm_check_cap(self->vm_fd, KVM_CAP_GUEST_MEMFD);
	self->vm_flags = pm_check_cap(self->vm_fd, KVM_CAP_GUEST_MEMFD_FLAGS);
	ASSERT_LE(0, self->sys_gmem);
	ASSERT_LE(0, self->sys_flags);
	ASSERT_LE(0, self->vm_gmem);
	ASSERT_LE(0, self->vm_flags);
}

FIXTURE_TEARDOWN(cap_gmem)
{
	if (self->vm)
		pm_vm_free(self->vm);
	else if (self->vm_fd >= 0)
		close(self->vm_fd);
}

#define REQUIRE_GMEM(self, variant) do {					\
	if ((self)->vm_gmem <= 0)						\
		SKIP(return, "KVM_CAP_GUEST_MEMFD=0 on %s (cap_gmem.unadvertised_refused)", \
		     (variant)->t.name);					\
} while (0)

#define REQUIRE_FLAG(self, variant, flag) do {					\
	if (!((self)->vm_flags & (flag)))					\
		SKIP(return, "KVM_CAP_GUEST_MEMFD_FLAGS=0x%lx on %s lacks %s (cap_gmem.flag_bits_exact)", \
		     (self)->vm_flags, (variant)->t.name, #flag);		\
} while (0)

static void *anon(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * KVM_CAP_GUEST_MEMFD > 0 on the VM: a guest_memfd is created and binds as a
 * KVM_MEM_GUEST_MEMFD memslot, which then deletes. Created with flags 0; bound with
 * the flags the architecture requires of a memslot's guest_memfd (0 on x86; MMAP on
 * aarch64, which must then be advertised). SNP and TDX VMs stop after
 * creation (their memslots belong to a launch flow privmem does not have).
 */
TEST_F(cap_gmem, advertised_creates_and_binds)
{
	uint64_t slot_flags = pm_slot_gmem_flags(pm_caps());
	uint64_t size = GMEM_PAGES * CAP_PAGE;
	void *hva;
	int fd, ret;

	REQUIRE_GMEM(self, variant);
	fd = cap_gmem(self->vm_fd, size, 0);
	if (fd < 0)
		TH_LOG("KVM_CAP_GUEST_MEMFD=%ld on %s, KVM_CREATE_GUEST_MEMFD: %s", self->vm_gmem,
		       variant->t.name, strerrorname_np(errno));
	ASSERT_LE(0, fd);
	CAP_REQUIRE_LAUNCH(&variant->t);
	if (slot_flags) {
		/*
		 * The architecture binds only a guest_memfd created with slot_flags
		 * (pm_slot_gmem_flags; aarch64: MMAP, arch/arm64/kvm/mmu.c
		 * kvm_arch_prepare_memory_region): bind one of those, which the VM
		 * must then advertise, or no guest_memfd of it could back a slot.
		 */
		close(fd);
		if ((self->vm_flags & slot_flags) != slot_flags)
			TH_LOG("KVM_CAP_GUEST_MEMFD=%ld on %s but KVM_CAP_GUEST_MEMFD_FLAGS=0x%lx "
			       "lacks 0x%llx, which %s requires of a memslot's guest_memfd",
			       self->vm_gmem, variant->t.name, self->vm_flags,
			       (unsigned long long)slot_flags, pm_caps()->uts.machine);
		ASSERT_EQ(slot_flags, self->vm_flags & slot_flags);
		fd = cap_gmem(self->vm_fd, size, slot_flags);
		ASSERT_LE(0, fd);
	}
	hva = anon(size);
	ASSERT_NE(NULL, hva);
	ret = cap_region2(self->vm_fd, CAP_SLOT, CAP_GPA, size, hva, fd);
	if (ret)
		TH_LOG("KVM_CAP_GUEST_MEMFD=%ld on %s, binding a KVM_MEM_GUEST_MEMFD slot "
		       "(guest_memfd flags 0x%llx): %s", self->vm_gmem, variant->t.name,
		       (unsigned long long)slot_flags, strerrorname_np(errno));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, cap_region2(self->vm_fd, CAP_SLOT, CAP_GPA, 0, hva, fd));
	munmap(hva, size);
	close(fd);
}

/*
 * KVM_CAP_GUEST_MEMFD = 0 on the VM: no flag is advertised, and guest_memfd
 * cannot back its memory. Without guest_memfd in the kernel (/dev/kvm says 0)
 * KVM_CREATE_GUEST_MEMFD is -1/ENOTTY. With it (6.8-6.17 x86 default VM),
 * creation is not checked per VM type (a valid fd; -1/EINVAL would be as honest),
 * and binding the fd as a KVM_MEM_GUEST_MEMFD slot is -1/EINVAL.
 */
TEST_F(cap_gmem, unadvertised_refused)
{
	uint64_t size = GMEM_PAGES * CAP_PAGE;
	void *hva;
	int fd, err;

	if (self->vm_gmem > 0)
		SKIP(return, "KVM_CAP_GUEST_MEMFD=%ld on %s (cap_gmem.advertised_creates_and_binds)",
		     self->vm_gmem, variant->t.name);
	ASSERT_EQ(0, self->vm_flags) TH_LOG("flags advertised for a VM without guest_memfd");
	errno = 0;
	fd = cap_gmem(self->vm_fd, size, 0);
	err = fd < 0 ? errno : 0;
	if (self->sys_gmem <= 0) {
		if (fd >= 0)
			close(fd);
		ASSERT_EQ(-1, fd) TH_LOG("no guest_memfd advertised anywhere, yet created one");
		ASSERT_EQ(ENOTTY, err);
		return;
	}
	if (fd < 0) {
		ASSERT_EQ(EINVAL, err);
		return;
	}
	CAP_REQUIRE_LAUNCH(&variant->t);
	hva = anon(size);
	ASSERT_NE(NULL, hva);
	ASSERT_ERRNO(EINVAL, cap_region2(self->vm_fd, CAP_SLOT, CAP_GPA, size, hva, fd));
	munmap(hva, size);
	close(fd);
}

/*
 * /dev/kvm answers for KVM as a whole (6.18 kvm_gmem_get_supported_flags(NULL)
 * has every flag some VM type gets): a VM's flags are a subset, and a VM that
 * advertises flags advertises guest_memfd.
 */
TEST_F(cap_gmem, flags_within_system)
{
	if ((self->vm_flags & ~self->sys_flags) || (self->vm_flags && self->vm_gmem <= 0) ||
	    (self->vm_gmem > 0 && self->sys_gmem <= 0))
		TH_LOG("%s: KVM_CAP_GUEST_MEMFD %ld, KVM_CAP_GUEST_MEMFD_FLAGS 0x%lx; /dev/kvm: %ld, 0x%lx",
		       variant->t.name, self->vm_gmem, self->vm_flags, self->sys_gmem, self->sys_flags);
	ASSERT_EQ(0, self->vm_flags & ~self->sys_flags);
	if (self->vm_flags)
		ASSERT_LT(0, self->vm_gmem);
	if (self->vm_gmem > 0)
		ASSERT_LT(0, self->sys_gmem);
}

/*
 * Each bit of the VM's KVM_CAP_GUEST_MEMFD_FLAGS creates alone and all together;
 * each other bit 0..63 is -1/EINVAL alone and with all advertised bits
 * (create.flag_bits_follow_cap checks single bits against the start-of-run probe).
 */
TEST_F(cap_gmem, flag_bits_exact)
{
	uint64_t adv = (uint64_t)self->vm_flags;
	int fd;

	REQUIRE_GMEM(self, variant);
	for (int bit = 0; bit < 64; bit++) {
		uint64_t flag = 1ULL << bit;

		if (adv & flag) {
			fd = cap_gmem(self->vm_fd, CAP_PAGE, flag);
			if (fd < 0)
				TH_LOG("flag 0x%llx advertised (0x%llx) but rejected: %s",
				       (unsigned long long)flag, (unsigned long long)adv,
				       strerrorname_np(errno));
			ASSERT_LE(0, fd);
			close(fd);
			continue;
		}
		for (int with = 0; with < 2; with++) {
			uint64_t flags = flag | (with ? adv : 0);
			int err;

			errno = 0;
			fd = cap_gmem(self->vm_fd, CAP_PAGE, flags);
			err = fd < 0 ? errno : 0;
			if (fd >= 0)
				close(fd);
			if (fd != -1 || err != EINVAL)
				TH_LOG("flags 0x%llx (0x%llx not advertised): %d/%s, want -1/EINVAL",
				       (unsigned long long)flags, (unsigned long long)flag, fd,
				       err ? strerrorname_np(err) : "0");
			ASSERT_EQ(-1, fd);
			ASSERT_EQ(EINVAL, err);
		}
	}
	fd = cap_gmem(self->vm_fd, CAP_PAGE, adv);
	ASSERT_LE(0, fd);
	close(fd);
}

/*
 * GUEST_MEMFD_FLAG_MMAP advertised: a guest_memfd created with it maps MAP_SHARED
 * (6.18 kvm_gmem_mmap), one created without it does not (-ENODEV, also 6.12 where
 * guest_memfd has no mmap). With INIT_SHARED advertised too, the mapping holds
 * data: written through one mapping, read back through another. (Without
 * INIT_SHARED every access is SIGBUS: gmem_mmap.sigbus_on_private_memory.)
 */
TEST_F(cap_gmem, mmap_flag_maps_file)
{
	uint64_t size = GMEM_PAGES * CAP_PAGE;
	uint64_t *m1, *m2;
	void *p;
	int fd, plain;

	REQUIRE_GMEM(self, variant);
	REQUIRE_FLAG(self, variant, GUEST_MEMFD_FLAG_MMAP);
	fd = cap_gmem(self->vm_fd, size, GUEST_MEMFD_FLAG_MMAP);
	ASSERT_LE(0, fd);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		TH_LOG("MMAP advertised on %s, mmap of a MMAP guest_memfd: %s", variant->t.name,
		       strerrorname_np(errno));
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, size);
	close(fd);

	plain = cap_gmem(self->vm_fd, size, 0);
	ASSERT_LE(0, plain);
	errno = 0;
	ASSERT_EQ(MAP_FAILED, mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, plain, 0));
	ASSERT_EQ(ENODEV, errno);
	close(plain);

	if (!(self->vm_flags & GUEST_MEMFD_FLAG_INIT_SHARED))
		return;
	fd = cap_gmem(self->vm_fd, size, PM_MMAP_SHARED);
	ASSERT_LE(0, fd);
	m1 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	m2 = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m1);
	ASSERT_NE(MAP_FAILED, m2);
	for (uint64_t i = 0; i < GMEM_PAGES; i++) {
		ASSERT_EQ(0, pm_touch(&m1[i * CAP_PAGE / 8], true)) TH_LOG("page %llu",
									   (unsigned long long)i);
		m1[i * CAP_PAGE / 8] = cap_host_word(i);
	}
	for (uint64_t i = 0; i < GMEM_PAGES; i++)
		ASSERT_EQ(cap_host_word(i), m2[i * CAP_PAGE / 8]);
	munmap(m1, size);
	munmap(m2, size);
	close(fd);
}

/*
 * GUEST_MEMFD_FLAG_INIT_SHARED advertised: memory starts shared. Every page of a
 * MMAP|INIT_SHARED guest_memfd faults in the host (reads 0, takes a write), where
 * MMAP alone gives SIGBUS (6.18 kvm_gmem_fault_user_mapping); and a guest on a
 * memslot bound to it (userspace_addr = the mapping) reads the host's data and
 * its stores reach the host. INIT_SHARED is only observable through MMAP, which
 * every kernel advertising it also advertises (kvm_gmem_get_supported_flags).
 */
TEST_F(cap_gmem, init_shared_starts_shared)
{
	uint64_t size = GMEM_PAGES * CAP_PAGE;
	struct pm_vcpu *v;
	uint64_t *host, *priv;
	int fd, pfd;

	REQUIRE_GMEM(self, variant);
	REQUIRE_FLAG(self, variant, GUEST_MEMFD_FLAG_INIT_SHARED);
	ASSERT_TRUE(self->vm_flags & GUEST_MEMFD_FLAG_MMAP)
		TH_LOG("INIT_SHARED advertised without MMAP (0x%lx)", self->vm_flags);

	pfd = cap_gmem(self->vm_fd, CAP_PAGE, GUEST_MEMFD_FLAG_MMAP);
	ASSERT_LE(0, pfd);
	priv = mmap(NULL, CAP_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
	ASSERT_NE(MAP_FAILED, priv);
	ASSERT_EQ(SIGBUS, pm_touch(priv, false)) TH_LOG("MMAP without INIT_SHARED is not private");
	munmap(priv, CAP_PAGE);
	close(pfd);

	fd = cap_gmem(self->vm_fd, size, PM_MMAP_SHARED);
	ASSERT_LE(0, fd);
	host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, host);
	for (uint64_t i = 0; i < GMEM_PAGES; i++) {
		uint64_t *w = &host[i * CAP_PAGE / 8];

		ASSERT_EQ(0, pm_touch(w, false)) TH_LOG("INIT_SHARED page %llu not shared",
							(unsigned long long)i);
		ASSERT_EQ(0, *w);
		ASSERT_EQ(0, pm_touch(w, true));
		*w = cap_host_word(i);
	}
	CAP_REQUIRE_LAUNCH(&variant->t);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, CAP_SLOT, CAP_GPA, size, host, fd, 0, PM_PAGE_4K));
	v = pm_vcpu_add(self->vm, cap_guest_read_write, CAP_GPA, GMEM_PAGES, 0);
	ASSERT_NE(NULL, v);
	ASSERT_GUEST_ROUND_TRIP(v, host, GMEM_PAGES);
}

/*
 * Which VM types get INIT_SHARED, and why: a VM either tracks private memory per
 * gfn itself (KVM_MEMORY_ATTRIBUTE_PRIVATE in its KVM_CAP_MEMORY_ATTRIBUTES,
 * api.rst 4.141) or has no private memory, and guest_memfd keeps no per-page
 * shared state of its own, only the file-wide INIT_SHARED bit. A file that is
 * all host-faultable could not back gfns the VM holds PRIVATE, so KVM offers
 * INIT_SHARED exactly to VMs without the PRIVATE attribute: both answers derive
 * from kvm_arch_has_private_mem() (7.3 kvm_main.c kvm_supported_mem_attributes;
 * x86.c kvm_arch_supports_gmem_init_shared, "the private vs. shared tracking
 * needs to be moved into guest_memfd"; kvm_host.h kvm_gmem_get_supported_flags).
 * On x86: the default and SEV/SEV-ES VMs MMAP|INIT_SHARED (0x3), sw-protected,
 * SNP and TDX VMs MMAP (0x1); /dev/kvm every flag (0x3). The flag's effect is
 * checked as advertised: INIT_SHARED (with MMAP where offered) creates a file
 * iff INIT_SHARED is offered, else -1/EINVAL. (6.18-7.3; in-place conversion, kvm.gmem_in_place_conversion, puts per-page shared
 * state in guest_memfd: with it on, this row SKIPs.)
 */
TEST_F(cap_gmem, init_shared_iff_no_private_attribute)
{
	bool priv, init;
	long attrs;
	int fd, err;

	REQUIRE_GMEM(self, variant);
	if (!self->vm_flags)
		SKIP(return, "KVM_CAP_GUEST_MEMFD_FLAGS=0x0 on %s: the kernel enumerates no "
		     "guest_memfd flag", variant->t.name);
	PM_SKIP_IF_GMEM_IN_PLACE("INIT_SHARED can then sit next to PRIVATE");
	attrs = pm_check_cap(self->vm_fd, KVM_CAP_MEMORY_ATTRIBUTES);
	ASSERT_LE(0, attrs);
	priv = attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE;
	init = self->vm_flags & GUEST_MEMFD_FLAG_INIT_SHARED;
	if (priv == init)
		TH_LOG("%s: KVM_CAP_MEMORY_ATTRIBUTES=0x%lx, KVM_CAP_GUEST_MEMFD_FLAGS=0x%lx: "
		       "INIT_SHARED must be offered iff PRIVATE is not", variant->t.name, attrs,
		       self->vm_flags);
	ASSERT_NE(priv, init);

	errno = 0;
	fd = cap_gmem(self->vm_fd, CAP_PAGE, GUEST_MEMFD_FLAG_INIT_SHARED |
		      ((uint64_t)self->vm_flags & GUEST_MEMFD_FLAG_MMAP));
	err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	if (init ? fd < 0 : fd != -1 || err != EINVAL)
		TH_LOG("%s: creating with INIT_SHARED, %s: %d/%s", variant->t.name,
		       init ? "offered" : "not offered", fd, err ? strerrorname_np(err) : "0");
	if (init) {
		ASSERT_LE(0, fd);
	} else {
		ASSERT_EQ(-1, fd);
		ASSERT_EQ(EINVAL, err);
	}
}

TEST_HARNESS_MAIN
