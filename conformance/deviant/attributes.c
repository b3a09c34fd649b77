// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations the attributes collection must detect: KVM_SET_MEMORY_ATTRIBUTES
 * argument checks and effects, and KVM_CAP_MEMORY_ATTRIBUTES per VM type.
 *
 * The ioctl exists only where /dev/kvm advertises the capability (the lab's
 * 6.12 kernel, not kvm_pvm), so all but one are lab deviations: they bend a
 * real call. The one host deviation breaks the other side of the contract: a
 * kernel without the capability still answering the ioctl.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

static const struct shim_dev devs[] = {
	{ "attr-flags-ignored",          "KVM_SET_MEMORY_ATTRIBUTES ignores flags", .lab = true,
	  .rows = "attr_validate.flags_einval" },
	{ "attr-flags-eperm",            "non-zero flags fail with EPERM instead of EINVAL", .lab = true,
	  .rows = "attr_validate.flags_einval" },
	{ "attr-unknown-bit-accepted",   "attribute bits the VM does not support are dropped, the call succeeds", .lab = true,
	  .rows = "attr_validate.unknown_bits_einval attr_cap.private_iff_advertised" },
	{ "attr-size-zero-accepted",     "size 0 returns 0", .lab = true,
	  .rows = "attr_validate.size_zero_einval" },
	{ "attr-unaligned-rounded",      "an unaligned address/size is rounded out to pages instead of EINVAL", .lab = true,
	  .rows = "attr_validate.unaligned_einval" },
	{ "attr-wrap-accepted",          "address + size wrapping past 2^64 returns 0", .lab = true,
	  .rows = "attr_validate.wrap_einval" },
	{ "attr-einval-efault",          "every EINVAL comes back as EFAULT", .lab = true,
	  .rows = "attr_validate.flags_einval attr_validate.size_zero_einval "
		  "attr_validate.unaligned_einval attr_validate.unknown_bits_einval "
		  "attr_validate.wrap_einval attr_cap.private_iff_advertised" },
	{ "attr-efault-einval",          "an unreadable argument fails with EINVAL instead of EFAULT", .lab = true,
	  .rows = "attr_validate.bad_pointer_efault" },
	{ "attr-struct-written-back",    "a successful call writes progress back (address advanced, size 0)", .lab = true,
	  .rows = "attr_validate.flags_einval attr_validate.bad_pointer_efault "
		  "attr_set.no_memslot_private attr_set.beyond_max_gfn" },
	{ "attr-private-not-applied",    "PRIVATE returns 0 but the gfns stay shared", .lab = true,
	  .rows = "attr_set.private_plain_slot_faults" },
	{ "attr-revert-ignored",         "attributes 0 returns 0 but PRIVATE gfns stay private", .lab = true,
	  .rows = "attr_set.private_plain_slot_faults" },
	{ "attr-repeat-eexist",          "setting what the range already has fails with EEXIST", .lab = true,
	  .rows = "attr_set.repeated_identical" },
	{ "attr-large-range-enomem",     "ranges over 16 MiB fail with ENOMEM", .lab = true,
	  .rows = "attr_set.large_range" },
	{ "attr-no-slot-einval",         "PRIVATE on a range no memslot covers fails with EINVAL", .lab = true,
	  .rows = "attr_set.no_memslot_private attr_cap.private_iff_advertised" },
	{ "attr-plain-slot-einval",      "PRIVATE on a slot without guest_memfd fails with EINVAL", .lab = true,
	  .rows = "attr_set.plain_slot_private attr_set.private_plain_slot_faults" },
	{ "attr-high-gpa-efault",        "addresses at or above 2^52 fail with EFAULT", .lab = true,
	  .rows = "attr_set.beyond_max_gfn" },
	{ "attr-vm-cap-extra-bit",       "KVM_CAP_MEMORY_ATTRIBUTES on a VM fd adds bit 0, which the ioctl rejects", .lab = true,
	  .rows = "attr_cap.advertised_bits_accepted attr_cap.vm_cap_within_system" },
	{ "attr-default-vm-cap-private", "the default VM advertises PRIVATE, which its ioctl rejects", .lab = true,
	  .rows = "attr_cap.private_iff_private_vm_type attr_cap.advertised_bits_accepted "
		  "attr_cap.private_iff_advertised" },
	{ "attr-system-cap-zero",        "/dev/kvm reports KVM_CAP_MEMORY_ATTRIBUTES=0 while VMs support it", .lab = true,
	  .rows = "attr_absent.no_cap_enotty attr_cap.vm_cap_within_system" },
	{ "attr-absent-accepted",        "without KVM_CAP_MEMORY_ATTRIBUTES the VM ioctl returns 0 instead of ENOTTY",
	  .rows = "attr_absent.no_cap_enotty" },
	{ NULL, NULL }
};

#define MAX_FD		4096
#define MAX_SLOTS	64
#define PAGE		4096ULL

static int vm_type[MAX_FD];		/* VM fd -> its type + 1 */

struct slot {
	bool used, gmem;
	int vm;
	uint32_t id;
	uint64_t gpa, size;
};
static struct slot slots[MAX_SLOTS];

struct last {
	bool valid;
	struct kvm_memory_attributes a;
};
static struct last last[MAX_FD];	/* last successful call per VM fd */

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

static bool ok(long *ret, long v)
{
	*ret = v;
	return true;
}

static bool any_dev(void)
{
	for (const struct shim_dev *d = devs; d->name; d++)
		if (shim_is(d->name))
			return true;
	return false;
}

static void track_region(int vm, uint32_t id, uint64_t gpa, uint64_t size, bool gmem)
{
	struct slot *free_slot = NULL;

	for (int i = 0; i < MAX_SLOTS; i++) {
		struct slot *s = &slots[i];

		if (s->used && s->vm == vm && s->id == id) {
			s->used = false;
			free_slot = s;
		} else if (!s->used && !free_slot) {
			free_slot = s;
		}
	}
	if (size && free_slot)
		*free_slot = (struct slot){ .used = true, .gmem = gmem, .vm = vm, .id = id,
					    .gpa = gpa, .size = size };
}

/* Does [gpa, gpa+size) overlap a slot of `vm` (any, or only ones without gmem)? */
static bool overlaps(int vm, uint64_t gpa, uint64_t size, bool plain_only)
{
	for (int i = 0; i < MAX_SLOTS; i++) {
		const struct slot *s = &slots[i];

		if (s->used && s->vm == vm && (!plain_only || !s->gmem) &&
		    gpa < s->gpa + s->size && s->gpa < gpa + size)
			return true;
	}
	return false;
}

/* The caller's struct, if readable (a bad pointer must reach the kernel as is). */
static bool copy_in(long p, struct kvm_memory_attributes *out)
{
	struct iovec l = { out, sizeof(*out) }, r = { (void *)p, sizeof(*out) };
	long q[SHIM_NARGS] = { getpid(), (long)&l, 1, (long)&r, 1, 0 };
	int saved = errno;
	bool okay = p && shim_real(SC_PROCESS_VM_READV, q) == (long)sizeof(*out);

	errno = saved;
	return okay;
}

static long real_set(long fd, struct kvm_memory_attributes *a)
{
	long q[SHIM_NARGS] = { fd, (long)KVM_SET_MEMORY_ATTRIBUTES, (long)a };

	return shim_real(SC_IOCTL, q);
}

static long real_cap(long fd)
{
	long q[SHIM_NARGS] = { fd, (long)KVM_CHECK_EXTENSION, KVM_CAP_MEMORY_ATTRIBUTES };

	return shim_real(SC_IOCTL, q);
}

static bool set_attrs(long a[SHIM_NARGS], long *ret)
{
	struct kvm_memory_attributes c, *user = (void *)a[2];
	uint64_t end;
	int vm = (int)a[0];
	int err;

	if (!copy_in(a[2], &c)) {
		*ret = shim_real(SC_IOCTL, a);
		if (*ret < 0 && errno == EFAULT && shim_is("attr-efault-einval"))
			errno = EINVAL;
		return true;
	}
	end = c.address + c.size;
	if (shim_is("attr-flags-eperm") && c.flags)
		return fail(ret, EPERM);
	if (shim_is("attr-size-zero-accepted") && !c.size)
		return ok(ret, 0);
	if (shim_is("attr-wrap-accepted") && c.size && end < c.address)
		return ok(ret, 0);
	if (shim_is("attr-large-range-enomem") && c.size > (16ULL << 20))
		return fail(ret, ENOMEM);
	if (shim_is("attr-high-gpa-efault") && c.address >= (1ULL << 52))
		return fail(ret, EFAULT);
	if (shim_is("attr-revert-ignored") && !c.attributes && !c.flags)
		return ok(ret, 0);
	if (c.attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE) {
		if (shim_is("attr-no-slot-einval") && !overlaps(vm, c.address, c.size, false))
			return fail(ret, EINVAL);
		if (shim_is("attr-plain-slot-einval") && overlaps(vm, c.address, c.size, true))
			return fail(ret, EINVAL);
	}
	if (shim_is("attr-repeat-eexist") && fd_ok(vm) && last[vm].valid &&
	    !memcmp(&last[vm].a, &c, sizeof(c)))
		return fail(ret, EEXIST);
	if (shim_is("attr-flags-ignored"))
		c.flags = 0;
	if (shim_is("attr-unknown-bit-accepted")) {
		long cap = real_cap(vm);

		c.attributes &= cap > 0 ? (uint64_t)cap : 0;
	}
	if (shim_is("attr-private-not-applied"))
		c.attributes &= ~KVM_MEMORY_ATTRIBUTE_PRIVATE;
	if (shim_is("attr-unaligned-rounded") && (c.address % PAGE || c.size % PAGE)) {
		uint64_t e = (c.address + c.size + PAGE - 1) / PAGE * PAGE;

		c.address = c.address / PAGE * PAGE;
		c.size = e - c.address;
	}
	*ret = real_set(vm, &c);
	err = errno;
	if (*ret == 0 && fd_ok(vm)) {
		copy_in(a[2], &last[vm].a);
		last[vm].valid = true;
	}
	if (*ret == 0 && shim_is("attr-struct-written-back")) {
		user->address += user->size;
		user->size = 0;
	}
	if (*ret < 0 && err == EINVAL && shim_is("attr-einval-efault"))
		err = EFAULT;
	errno = err;
	return true;
}

static bool check_cap(long fd, long *ret)
{
	bool is_vm = fd_ok(fd) && vm_type[fd];
	long v = real_cap(fd);

	if (v < 0)
		return ok(ret, v);
	if (is_vm && shim_is("attr-vm-cap-extra-bit"))
		v |= 1;
	if (is_vm && vm_type[fd] - 1 == KVM_X86_DEFAULT_VM && shim_is("attr-default-vm-cap-private"))
		v |= KVM_MEMORY_ATTRIBUTE_PRIVATE;
	if (!is_vm && shim_is("attr-system-cap-zero"))
		v = 0;
	return ok(ret, v);
}

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	if (c != SC_IOCTL || !any_dev())
		return false;
	if (a[1] == (long)KVM_CHECK_EXTENSION && a[2] == KVM_CAP_MEMORY_ATTRIBUTES)
		return check_cap(a[0], ret);
	if (a[1] == (long)KVM_SET_MEMORY_ATTRIBUTES && !shim_is("attr-absent-accepted"))
		return set_attrs(a, ret);
	return false;
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	if (c == SC_CLOSE && *ret == 0 && fd_ok(a[0])) {
		vm_type[a[0]] = 0;
		last[a[0]].valid = false;
		for (int i = 0; i < MAX_SLOTS; i++)
			if (slots[i].vm == a[0])
				slots[i].used = false;
	}
	if (c != SC_IOCTL)
		return;
	if (a[1] == (long)KVM_SET_MEMORY_ATTRIBUTES && *ret == -1 && errno == ENOTTY &&
	    shim_is("attr-absent-accepted")) {
		*ret = 0;
		return;
	}
	if (*ret < 0)
		return;
	if (a[1] == (long)KVM_CREATE_VM && fd_ok(*ret)) {
		vm_type[*ret] = (int)a[2] + 1;
	} else if (a[1] == (long)KVM_SET_USER_MEMORY_REGION2) {
		const struct kvm_userspace_memory_region2 *r = (void *)a[2];

		track_region(a[0], r->slot, r->guest_phys_addr, r->memory_size,
			     r->flags & KVM_MEM_GUEST_MEMFD);
	} else if (a[1] == (long)KVM_SET_USER_MEMORY_REGION) {
		const struct kvm_userspace_memory_region *r = (void *)a[2];

		track_region(a[0], r->slot, r->guest_phys_addr, r->memory_size, false);
	}
}

static const struct shim_module attributes = {
	.area = "attributes", .devs = devs, .before = before, .after = after,
};
SHIM_MODULE(attributes)
