// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations the capability collection must detect: a kernel whose
 * capabilities, VM types and flag masks claim more than it can do
 * (over-reporting: the "advertised -> works" rows FAIL), or hide something it
 * still accepts (under-reporting: the "unadvertised -> refused" rows FAIL), and
 * memfd_create/memfd_secret flags accepted without their effect.
 *
 * Most bend the answer of KVM_CHECK_EXTENSION or one call, so they are
 * detectable on any KVM kernel. The three marked lab need what only the lab
 * kernel has: a second VM type, or memory-fault exits that are really produced.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

static const struct shim_dev devs[] = {
	{ "cap-vm-types-extra-bit", "KVM_CAP_VM_TYPES claims the lowest type 1..5 it does not "
	  "have, whose KVM_CREATE_VM then fails with EINVAL",
	  .rows = "cap_vm_types.advertised_bits_create cap_vm_type.advertised_type_runs_guest" },
	{ "cap-vm-types-hidden-accepted", "KVM_CREATE_VM accepts type numbers KVM_CAP_VM_TYPES "
	  "does not advertise (and makes a default VM of them)",
	  .rows = "cap_vm_types.unadvertised_types_einval" },
	{ "cap-vm-types-enodev", "unadvertised VM types are refused with ENODEV instead of EINVAL",
	  .rows = "cap_vm_types.unadvertised_types_einval" },
	{ "cap-vm-type-no-vcpu", "an advertised VM type other than the default creates VMs whose "
	  "KVM_CREATE_VCPU fails (ENOMEM)", .lab = true,
	  .rows = "cap_vm_type.advertised_type_runs_guest" },
	{ "cap-gmem-vm-cap-zero", "KVM_CAP_GUEST_MEMFD and KVM_CAP_GUEST_MEMFD_FLAGS read 0 on VM "
	  "fds while guest_memfd creation and KVM_MEM_GUEST_MEMFD memslots work",
	  .rows = "cap_gmem.unadvertised_refused" },
	{ "cap-gmem-bind-einval", "KVM_CAP_GUEST_MEMFD is 1 but KVM_MEM_GUEST_MEMFD memslots are "
	  "refused with EINVAL (6.12's check_memory_region_flags on a VM advertising guest_memfd)",
	  .rows = "cap_gmem.advertised_creates_and_binds" },
	{ "cap-gmem-create-enotty", "KVM_CAP_GUEST_MEMFD is 1 but KVM_CREATE_GUEST_MEMFD is an "
	  "unknown ioctl (ENOTTY)", .rows = "cap_gmem.advertised_creates_and_binds" },
	{ "cap-gmem-flags-system-narrow", "/dev/kvm's KVM_CAP_GUEST_MEMFD_FLAGS lacks "
	  "INIT_SHARED while VM fds advertise it", .rows = "cap_gmem.flags_within_system" },
	{ "cap-gmem-flags-hide-init-shared", "KVM_CAP_GUEST_MEMFD_FLAGS on VM fds drops "
	  "INIT_SHARED while creating a guest_memfd with it still succeeds",
	  .rows = "cap_gmem.flag_bits_exact" },
	{ "cap-gmem-flags-extra-bit", "KVM_CAP_GUEST_MEMFD_FLAGS on VM fds claims bit 2, which "
	  "KVM_CREATE_GUEST_MEMFD rejects", .rows = "cap_gmem.flag_bits_exact" },
	{ "cap-gmem-mmap-enodev", "GUEST_MEMFD_FLAG_MMAP is advertised and accepted, but mmap() "
	  "of such a guest_memfd fails with ENODEV", .rows = "cap_gmem.mmap_flag_maps_file" },
	{ "cap-gmem-init-shared-private", "GUEST_MEMFD_FLAG_INIT_SHARED is accepted and ignored: "
	  "the memory starts private, host accesses SIGBUS",
	  .rows = "cap_gmem.init_shared_starts_shared cap_gmem.mmap_flag_maps_file" },
	{ "cap-gmem-init-shared-withheld", "VMs without the PRIVATE attribute (default VM) neither "
	  "advertise nor accept INIT_SHARED (EINVAL), as for VMs with private memory",
	  .rows = "cap_gmem.init_shared_iff_no_private_attribute" },
	{ "cap-gmem-init-shared-on-private-vm", "VMs with the PRIVATE attribute advertise and accept "
	  "INIT_SHARED, but the file's memory stays private", .lab = true,
	  .rows = "cap_gmem.init_shared_iff_no_private_attribute cap_gmem.init_shared_starts_shared" },
	{ "cap-region2-enotty", "KVM_CAP_USER_MEMORY2 is 1 but KVM_SET_USER_MEMORY_REGION2 is an "
	  "unknown ioctl (ENOTTY)", .rows = "cap_region2.advertised_plain_slot_works" },
	{ "cap-region2-hidden", "KVM_CAP_USER_MEMORY2 reads 0 while KVM_SET_USER_MEMORY_REGION2 "
	  "works", .rows = "cap_region2.unadvertised_enotty" },
	{ "cap-fault-info-unannotated", "KVM_CAP_MEMORY_FAULT_INFO is 1 but faults come back as a "
	  "bare EFAULT, exit_reason not KVM_EXIT_MEMORY_FAULT", .lab = true,
	  .rows = "cap_fault_info.advertised_exit_exact" },
	{ "cap-fault-info-hidden", "KVM_CAP_MEMORY_FAULT_INFO reads 0 while KVM_RUN still reports "
	  "KVM_EXIT_MEMORY_FAULT", .lab = true, .rows = "cap_fault_info.unadvertised_never_reported" },
	{ "cap-prefault-claimed", "KVM_CAP_PRE_FAULT_MEMORY reads 1 on a kernel whose "
	  "KVM_PRE_FAULT_MEMORY refuses (no TDP)", .rows = "cap_prefault.advertised_maps_page" },
	{ "cap-prefault-hidden", "KVM_CAP_PRE_FAULT_MEMORY reads 0 while KVM_PRE_FAULT_MEMORY maps "
	  "the range", .rows = "cap_prefault.unadvertised_refused" },
	{ "cap-prefault-enosys", "an unadvertised KVM_PRE_FAULT_MEMORY fails with ENOSYS, an errno "
	  "no kernel documents", .rows = "cap_prefault.unadvertised_refused" },
	{ "cap-mfd-unknown-bit", "memfd_create accepts bit 5 (0x20) and ignores it",
	  .rows = "cap_mfd.unknown_bits_einval" },
	{ "cap-mfd-cloexec-ignored", "MFD_CLOEXEC is accepted but the fd lacks FD_CLOEXEC",
	  .rows = "cap_mfd.accepted_flags_have_effect" },
	{ "cap-mfd-sealing-ignored", "MFD_ALLOW_SEALING is accepted but the memfd starts "
	  "F_SEAL_SEAL", .rows = "cap_mfd.accepted_flags_have_effect" },
	{ "cap-mfd-hugetlb-on-tmpfs", "MFD_HUGETLB is accepted but the memfd lives on tmpfs with "
	  "4 KiB pages", .rows = "cap_mfd.accepted_flags_have_effect" },
	{ "cap-mfd-noexec-seal-ignored", "MFD_NOEXEC_SEAL is accepted but the memfd is 0777 "
	  "without F_SEAL_EXEC", .rows = "cap_mfd.accepted_flags_have_effect" },
	{ "cap-mfd-exec-einval", "MFD_EXEC is unknown (EINVAL) on a kernel with MFD_NOEXEC_SEAL "
	  "and F_SEAL_EXEC", .rows = "cap_mfd.exec_flags_consistent" },
	{ "cap-secretmem-cloexec-enosys", "memfd_secret(O_CLOEXEC) fails with ENOSYS while "
	  "memfd_secret(0) works", .rows = "cap_secretmem.available_works_or_enosys" },
	{ "cap-secretmem-mmap-enomem", "memfd_secret succeeds but its memory cannot be mapped "
	  "(mmap ENOMEM)", .rows = "cap_secretmem.available_works_or_enosys" },
	{ "cap-nr-memslots-overstated", "KVM_CAP_NR_MEMSLOTS claims one slot more than "
	  "KVM_SET_USER_MEMORY_REGION accepts", .rows = "cap_memslots.nr_memslots_exact" },
	{ "cap-nr-memslots-understated", "KVM_CAP_NR_MEMSLOTS claims one slot less than "
	  "KVM_SET_USER_MEMORY_REGION accepts", .rows = "cap_memslots.nr_memslots_exact" },
	{ NULL, NULL }
};

#define MAX_FD		4096
#define MFD_HUGE_BITS	(0x3fU << 26)

static int vm_type[MAX_FD];	/* VM fd -> its type + 1 */
static bool secret[MAX_FD];	/* memfd_secret fds */

static bool fd_ok(long fd)
{
	return fd >= 0 && fd < MAX_FD;
}

static bool fail(long *ret, int err)
{
	errno = err;
	*ret = -1;
	return true;
}

static long real_ioctl(long fd, unsigned long req, long arg)
{
	long q[SHIM_NARGS] = { fd, (long)req, arg };

	return shim_real(SC_IOCTL, q);
}

/* Does VM fd `fd` advertise the PRIVATE memory attribute (private memory tracked per gfn)? */
static bool private_vm(long fd)
{
	long v = real_ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES);

	return v > 0 && (v & KVM_MEMORY_ATTRIBUTE_PRIVATE);
}

/* KVM_CHECK_EXTENSION, answered by the real kernel and then bent. */
static bool check_extension(long fd, long cap, long *ret)
{
	bool vm = fd_ok(fd) && vm_type[fd];
	long v = real_ioctl(fd, KVM_CHECK_EXTENSION, cap);

	if (v < 0)
		return *ret = v, true;
	switch (cap) {
	case KVM_CAP_VM_TYPES:
		if (shim_is("cap-vm-types-extra-bit"))
			for (int b = 1; b <= 5; b++)
				if (!(v & (1L << b))) {
					v |= 1L | (1L << b);
					break;
				}
		break;
	case KVM_CAP_GUEST_MEMFD:
		if (vm && shim_is("cap-gmem-vm-cap-zero"))
			v = 0;
		break;
	case KVM_CAP_GUEST_MEMFD_FLAGS:
		if (vm && shim_is("cap-gmem-vm-cap-zero"))
			v = 0;
		if (!vm && shim_is("cap-gmem-flags-system-narrow"))
			v &= ~(long)GUEST_MEMFD_FLAG_INIT_SHARED;
		if (vm && shim_is("cap-gmem-flags-hide-init-shared"))
			v &= ~(long)GUEST_MEMFD_FLAG_INIT_SHARED;
		if (vm && shim_is("cap-gmem-flags-extra-bit"))
			v |= 1L << 2;
		if (vm && shim_is("cap-gmem-init-shared-withheld") && !private_vm(fd))
			v &= ~(long)GUEST_MEMFD_FLAG_INIT_SHARED;
		if (vm && v && shim_is("cap-gmem-init-shared-on-private-vm") && private_vm(fd))
			v |= (long)GUEST_MEMFD_FLAG_INIT_SHARED;
		break;
	case KVM_CAP_USER_MEMORY2:
		if (shim_is("cap-region2-hidden"))
			v = 0;
		break;
	case KVM_CAP_MEMORY_FAULT_INFO:
		if (shim_is("cap-fault-info-hidden"))
			v = 0;
		break;
	case KVM_CAP_NR_MEMSLOTS:
		if (shim_is("cap-nr-memslots-overstated"))
			v++;
		if (shim_is("cap-nr-memslots-understated"))
			v--;
		break;
	case KVM_CAP_PRE_FAULT_MEMORY:
		if (shim_is("cap-prefault-claimed"))
			v = 1;
		if (shim_is("cap-prefault-hidden"))
			v = 0;
		break;
	}
	*ret = v;
	return true;
}

/* Is `type` outside what the real kernel advertises? */
static bool unadvertised_type(long kvm_fd, unsigned long type)
{
	long v = real_ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_VM_TYPES);

	if (v <= 0)
		return type != 0;
	return type >= 64 || !(v & (1L << type));
}

static bool kvm_ioctl(long a[SHIM_NARGS], long *ret)
{
	static __thread struct kvm_create_guest_memfd g;
	unsigned long req = (unsigned long)a[1];

	if (req == KVM_CHECK_EXTENSION)
		return check_extension(a[0], a[2], ret);
	if (req == KVM_CREATE_VM && shim_is("cap-vm-types-hidden-accepted") &&
	    unadvertised_type(a[0], (unsigned long)a[2]))
		a[2] = KVM_X86_DEFAULT_VM;
	if (req == KVM_CREATE_VCPU && shim_is("cap-vm-type-no-vcpu") && fd_ok(a[0]) &&
	    vm_type[a[0]] > 1)
		return fail(ret, ENOMEM);
	if (req == KVM_CREATE_GUEST_MEMFD) {
		const struct kvm_create_guest_memfd *in = (const void *)a[2];
		bool init = in && (in->flags & GUEST_MEMFD_FLAG_INIT_SHARED);

		if (shim_is("cap-gmem-create-enotty"))
			return fail(ret, ENOTTY);
		if (init && shim_is("cap-gmem-init-shared-withheld") && !private_vm(a[0]))
			return fail(ret, EINVAL);
		if (init && (shim_is("cap-gmem-init-shared-private") ||
			     (shim_is("cap-gmem-init-shared-on-private-vm") && private_vm(a[0])))) {
			g = *in;
			g.flags &= ~GUEST_MEMFD_FLAG_INIT_SHARED;
			a[2] = (long)&g;
		}
	}
	if (req == KVM_SET_USER_MEMORY_REGION2) {
		const struct kvm_userspace_memory_region2 *r = (void *)a[2];

		if (shim_is("cap-region2-enotty"))
			return fail(ret, ENOTTY);
		if (shim_is("cap-gmem-bind-einval") && r && (r->flags & KVM_MEM_GUEST_MEMFD) &&
		    r->memory_size)
			return fail(ret, EINVAL);
	}
	return false;
}

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	switch (c) {
	case SC_IOCTL:
		return kvm_ioctl(a, ret);
	case SC_MMAP: {
		struct shim_gmem *g = shim_gmem((int)a[4]);

		if (g && (g->flags & GUEST_MEMFD_FLAG_MMAP) && shim_is("cap-gmem-mmap-enodev"))
			return fail(ret, ENODEV);
		if (fd_ok(a[4]) && secret[a[4]] && shim_is("cap-secretmem-mmap-enomem"))
			return fail(ret, ENOMEM);
		return false;
	}
	case SC_MEMFD_CREATE:
		if (shim_is("cap-mfd-unknown-bit"))
			a[1] &= ~0x20L;
		if (shim_is("cap-mfd-cloexec-ignored"))
			a[1] &= ~(long)MFD_CLOEXEC;
		if (shim_is("cap-mfd-sealing-ignored"))
			a[1] &= ~(long)MFD_ALLOW_SEALING;
		if (shim_is("cap-mfd-hugetlb-on-tmpfs") && (a[1] & MFD_HUGETLB))
			a[1] &= ~(long)(MFD_HUGETLB | MFD_HUGE_BITS);
		if (shim_is("cap-mfd-noexec-seal-ignored"))
			a[1] &= ~(long)MFD_NOEXEC_SEAL;
		if (shim_is("cap-mfd-exec-einval") && (a[1] & MFD_EXEC))
			return fail(ret, EINVAL);
		return false;
	case SC_SYSCALL:
		if (a[0] == SYS_memfd_secret && (a[1] & O_CLOEXEC) &&
		    shim_is("cap-secretmem-cloexec-enosys"))
			return fail(ret, ENOSYS);
		return false;
	default:
		return false;
	}
}

/* A valid, unanswered pre-fault request: what a kernel that maps but hides it would do. */
static void prefault_after(long a[SHIM_NARGS], long *ret)
{
	struct kvm_pre_fault_memory *r = (void *)a[2];

	if (*ret == 0 || (errno != EOPNOTSUPP && errno != EINVAL) || !r || r->flags ||
	    (r->gpa | r->size) & 4095 || !r->size)
		return;
	if (shim_is("cap-prefault-enosys")) {
		errno = ENOSYS;
	} else if (shim_is("cap-prefault-hidden")) {
		r->gpa += r->size;
		r->size = 0;
		*ret = 0;
	}
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	if (c == SC_CLOSE && *ret == 0 && fd_ok(a[0])) {
		vm_type[a[0]] = 0;
		secret[a[0]] = false;
		return;
	}
	if (c == SC_SYSCALL && a[0] == SYS_memfd_secret && fd_ok(*ret)) {
		secret[*ret] = true;
		return;
	}
	if (c != SC_IOCTL)
		return;
	if (a[1] == (long)KVM_CREATE_VM) {
		if (fd_ok(*ret))
			vm_type[*ret] = (int)a[2] + 1;
		else if (*ret < 0 && errno == EINVAL && shim_is("cap-vm-types-enodev"))
			errno = ENODEV;
	} else if (a[1] == (long)KVM_PRE_FAULT_MEMORY) {
		prefault_after(a, ret);
	} else if (a[1] == (long)KVM_RUN && *ret < 0 && errno == EFAULT &&
		   shim_is("cap-fault-info-unannotated")) {
		struct kvm_run *run = shim_vcpu_run((int)a[0]);

		if (run && run->exit_reason == KVM_EXIT_MEMORY_FAULT)
			run->exit_reason = KVM_EXIT_UNKNOWN;
	}
}

static const struct shim_module capability = {
	.area = "capability", .devs = devs, .before = before, .after = after,
};
SHIM_MODULE(capability)
