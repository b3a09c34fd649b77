// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations the memslot collection must detect: flag validation, what
 * KVM_SET_USER_MEMORY_REGION2 accepts as a guest_memfd binding, overlap rules,
 * immutability of gmem slots, slot-id limits, and the lifetimes of a binding.
 *
 * The module keeps its own picture of the process's memslots and guest_memfds
 * (which VM made a gmem, which slots are live, which gmem ranges were bound,
 * which fds are closed) to know when a request falls into a deviation's case.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"

static const struct shim_dev devs[] = {
	/* flags */
	{ "v1-gmem-flag-accepted",     "KVM_SET_USER_MEMORY_REGION ignores KVM_MEM_GUEST_MEMFD instead of EINVAL",
	  .rows = "memslot_flags.v1_flag_bits_follow_caps memslot_flags.v1_gmem_flag_einval" },
	{ "unknown-memslot-flag-ignored", "memslot flag bits above KVM_MEM_GUEST_MEMFD are ignored instead of EINVAL",
	  .rows = "memslot_flags.v1_flag_bits_follow_caps "
		  "memslot_flags.v2_gmem_unknown_flag_einval "
		  "memslot_flags.v2_plain_flag_bits_follow_caps" },
	{ "readonly-slot-rejected",    "KVM_MEM_READONLY is refused (EINVAL) although KVM_CAP_READONLY_MEM says 1",
	  .rows = "memslot_flags.v1_flag_bits_follow_caps "
		  "memslot_flags.v2_plain_flag_bits_follow_caps" },
	{ "gmem-dirty-log-accepted",   "KVM_MEM_GUEST_MEMFD|KVM_MEM_LOG_DIRTY_PAGES is accepted (dirty logging dropped)",
	  .rows = "memslot_flags.gmem_log_dirty_einval memslot_immutable.add_log_dirty_einval" },
	{ "gmem-readonly-accepted",    "KVM_MEM_GUEST_MEMFD|KVM_MEM_READONLY is accepted (read-only dropped)",
	  .rows = "memslot_flags.gmem_readonly_einval" },
	/* the guest_memfd field and range */
	{ "non-gmem-fd-accepted",      "guest_memfd naming a non-guest_memfd file (/dev/kvm, VM, memfd) is accepted",
	  .rows = "memslot_bind.non_gmem_fd_einval" },
	{ "bad-fd-einval",             "guest_memfd naming no open file fails with EINVAL instead of EBADF",
	  .rows = "memslot_bind.bad_fd_ebadf memslot_close.closed_gmem_slot_deletes_and_rebinds" },
	{ "cross-vm-gmem-accepted",    "a guest_memfd created by another VM binds",
	  .rows = "memslot_bind.other_vm_gmem_einval memslot_vmfree.dead_vm_gmem_bind_einval" },
	{ "gmem-offset-unaligned-accepted", "an unaligned guest_memfd_offset is rounded down and accepted",
	  .rows = "memslot_bind.offset_unaligned_einval" },
	{ "gmem-range-past-eof-accepted", "guest_memfd_offset + memory_size beyond the file is accepted",
	  .rows = "memslot_bind.offset_wrap_einval memslot_bind.range_past_eof_einval" },
	{ "gmem-range-to-eof-rejected", "a range ending exactly at the end of the file is refused (off by one)",
	  .rows = "memslot_bind.range_past_eof_einval" },
	{ "gmem-offset-wrap-accepted", "guest_memfd_offset + memory_size wrapping 2^64 is accepted",
	  .rows = "memslot_bind.offset_wrap_einval" },
	{ "gmem-offset-signed-sum",    "guest_memfd_offset + memory_size summed as signed loff_t: an end past 2^63 is accepted",
	  .lab = true, .rows = "memslot_bind.offset_signed_overflow_einval" },
	{ "gmem-slot-alignment-unchecked", "unaligned memory_size/guest_phys_addr/userspace_addr of a gmem slot are rounded down",
	  .rows = "memslot_bind.unaligned_size_gpa_hva_einval" },
	{ "region2-pad-checked",       "non-zero pad1/pad2[] of kvm_userspace_memory_region2 fail with EINVAL",
	  .rows = "memslot_bind.region2_pads_ignored" },
	/* overlap */
	{ "gmem-overlap-accepted",     "two slots may bind overlapping ranges of one guest_memfd",
	  .rows = "memslot_multi.disjoint_ranges_bind memslot_overlap.gmem_range_overlap_einval" },
	{ "gpa-overlap-einval",        "overlapping GPA ranges fail with EINVAL instead of EEXIST",
	  .rows = "memslot_overlap.gpa_overlap_back_eexist "
		  "memslot_overlap.gpa_overlap_checked_before_gmem_eexist "
		  "memslot_overlap.gpa_overlap_front_eexist" },
	{ "gmem-one-binding-only",     "a guest_memfd accepts one binding only; a second disjoint range fails EINVAL",
	  .rows = "memslot_multi.disjoint_ranges_bind memslot_multi.guest_sees_each_slot_offset" },
	{ "gmem-offset-ignored",       "a gmem slot serves the file from offset 0, ignoring guest_memfd_offset",
	  .rows = "memslot_multi.guest_sees_each_slot_offset" },
	/* immutability */
	{ "gmem-slot-mutable",         "a live slot accepts a KVM_MEM_GUEST_MEMFD request (re-set, move, plain->gmem)",
	  .rows = "memslot_immutable.identical_reset_einval memslot_immutable.move_einval "
		  "memslot_immutable.plain_slot_to_gmem_einval" },
	{ "gmem-flag-droppable",       "a gmem slot re-set without KVM_MEM_GUEST_MEMFD succeeds (pre-Dec-2025 bug)",
	  .rows = "memslot_immutable.drop_gmem_flag_einval" },
	{ "gmem-unbind-leaks",         "deleting a gmem slot leaves its range bound: binding it again fails EINVAL",
	  .rows = "memslot_immutable.delete_and_recreate_succeeds" },
	/* slot id */
	{ "slot-limit-off-by-one",     "slot id == KVM_CAP_NR_MEMSLOTS is accepted",
	  .rows = "memslot_limits.slot_id_nr_memslots_einval" },
	{ "last-slot-rejected",        "slot id KVM_CAP_NR_MEMSLOTS-1 is refused with EINVAL",
	  .rows = "memslot_limits.last_user_slot_id_accepted" },
	{ "as-id-ignored",             "address-space bits 16-31 of the slot field are ignored",
	  .rows = "memslot_limits.address_space_id_einval" },
	/* lifetimes */
	{ "gmem-close-unbinds",        "closing a guest_memfd fd deletes its bindings although a mapping keeps the file",
	  .rows = "memslot_close.closed_gmem_slot_deletes_and_rebinds "
		  "memslot_close.mapping_keeps_binding_after_close" },
	{ "closed-gmem-delete-ebadf",  "deleting a slot whose guest_memfd fd was closed fails with EBADF",
	  .rows = "memslot_close.closed_gmem_slot_deletes_and_rebinds memslot_race.close_vs_slot_delete" },
	{ "gmem-release-keeps-slot",   "releasing a bound guest_memfd's last reference leaves the guest its memory",
	  .rows = "memslot_close.released_gmem_guest_access_efault" },
	{ "gmem-dies-with-vm",         "fallocate on a guest_memfd fails with EIO once its VM's fds are closed",
	  .rows = "memslot_vmfree.gmem_outlives_vm_fallocate" },
	{ NULL, NULL }
};

#define NFD	4096
#define NSLOT	64
#define NRANGE	64
#define NMAP	64

#define KNOWN_FLAGS (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY | KVM_MEM_GUEST_MEMFD)

/* A VM is its fd plus a generation: fd numbers get reused. */
static unsigned int vm_gen[NFD];
static unsigned int gen_next = 1;

static struct {
	int vm;
	unsigned int gen;
	bool vm_dead;
} gm[NFD];			/* by guest_memfd fd */

static struct slot {
	bool live;
	int vm;
	unsigned int gen;
	uint32_t id, flags;
	uint64_t gpa, size, off;
	int gmem;		/* -1: plain slot */
	ino_t ino;
	bool gmem_closed;
} slots[NSLOT];

/* gmem ranges [start, end) (bytes) bound once and since deleted, by inode. */
static struct { ino_t ino; uint64_t start, end; } freed[NRANGE];
static int nfreed;

static struct { uintptr_t addr; size_t len; int fd; } maps[NMAP];

static bool fail(long *ret, int err)
{
	errno = err;
	*ret = -1;
	return true;
}

static bool ok(long *ret)
{
	*ret = 0;
	return true;
}

static bool fd_ok(int fd)
{
	return fd >= 0 && fd < NFD;
}

static uint64_t page_mask(void)
{
	return (uint64_t)getpagesize() - 1;
}

static struct slot *find_slot(int vm, uint32_t id)
{
	for (int i = 0; i < NSLOT; i++)
		if (slots[i].live && slots[i].vm == vm && fd_ok(vm) && slots[i].gen == vm_gen[vm] &&
		    slots[i].id == id)
			return &slots[i];
	return NULL;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* A live binding of inode `ino` other than slot `id` of `vm`, overlapping [off, off+size). */
static struct slot *live_binding(ino_t ino, int vm, uint32_t id, uint64_t off, uint64_t size, bool any)
{
	for (int i = 0; i < NSLOT; i++) {
		struct slot *s = &slots[i];

		if (!s->live || s->gmem < 0 || s->ino != ino || (s->vm == vm && s->id == id))
			continue;
		if (any || overlaps(s->off, s->size, off, size))
			return s;
	}
	return NULL;
}

static long check_ext(int vm, long cap)
{
	long q[SHIM_NARGS] = { vm, KVM_CHECK_EXTENSION, cap };

	return shim_real(SC_IOCTL, q);
}

static int new_gmem(int vm, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd g = { .size = size, .flags = flags };
	long q[SHIM_NARGS] = { vm, KVM_CREATE_GUEST_MEMFD, (long)&g };

	return shim_real(SC_IOCTL, q);
}

static bool fd_open(int fd)
{
	long q[SHIM_NARGS] = { fd, F_GETFD };

	return fd >= 0 && shim_real(SC_FCNTL, q) >= 0;
}

/* The request as the caller made it, for after(); the kernel may see a rewritten copy. */
static __thread struct kvm_userspace_memory_region2 req, copy;
static __thread bool is_v2;

static bool slot_id_devs(int vm, uint32_t *slot, uint64_t size, long *ret)
{
	long nr = check_ext(vm, KVM_CAP_NR_MEMSLOTS);
	uint32_t id = (uint16_t)*slot;

	if (nr > 0 && id == nr && size && shim_is("slot-limit-off-by-one"))
		return ok(ret);
	if (nr > 0 && id == nr - 1 && size && shim_is("last-slot-rejected"))
		return fail(ret, EINVAL);
	if ((*slot >> 16) && shim_is("as-id-ignored"))
		*slot = id;
	return false;
}

/* Both region ioctls, as a v2 request in `copy` (v1 has no gmem fields). */
static bool region(long a[SHIM_NARGS], long *ret)
{
	struct kvm_userspace_memory_region2 *r = &copy;
	struct shim_gmem *g;
	struct slot *live;
	int vm = a[0];
	bool gmem;

	memset(&copy, 0, sizeof(copy));
	if (is_v2) {
		copy = *(struct kvm_userspace_memory_region2 *)a[2];
	} else {
		memcpy(&copy, (void *)a[2], sizeof(struct kvm_userspace_memory_region));
		copy.guest_memfd = -1;
	}
	req = copy;
	gmem = r->flags & KVM_MEM_GUEST_MEMFD;
	live = find_slot(vm, r->slot);

	if (slot_id_devs(vm, &r->slot, r->memory_size, ret))
		return true;
	if (r->flags & ~KNOWN_FLAGS && shim_is("unknown-memslot-flag-ignored"))
		r->flags &= KNOWN_FLAGS;
	if (!is_v2 && gmem && shim_is("v1-gmem-flag-accepted")) {
		r->flags &= ~KVM_MEM_GUEST_MEMFD;
		gmem = false;
	}
	if (!gmem && (r->flags & KVM_MEM_READONLY) && shim_is("readonly-slot-rejected"))
		return fail(ret, EINVAL);
	if (is_v2 && shim_is("region2-pad-checked")) {
		bool dirty = r->pad1;

		for (int i = 0; i < 14; i++)
			dirty |= r->pad2[i] != 0;
		if (dirty)
			return fail(ret, EINVAL);
	}

	if (r->memory_size == 0) {
		if (live && live->gmem >= 0 && live->gmem_closed && shim_is("closed-gmem-delete-ebadf"))
			return fail(ret, EBADF);
		goto pass;
	}

	/* Requests on a live slot. */
	if (live && gmem && !(r->flags & (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)) &&
	    shim_is("gmem-slot-mutable"))
		return ok(ret);
	if (live && live->gmem >= 0 && !gmem && r->guest_phys_addr == live->gpa &&
	    shim_is("gmem-flag-droppable"))
		return ok(ret);
	if (gmem && (r->flags & KVM_MEM_LOG_DIRTY_PAGES) && shim_is("gmem-dirty-log-accepted")) {
		if (live)
			return ok(ret);
		r->flags &= ~KVM_MEM_LOG_DIRTY_PAGES;
	}
	if (gmem && (r->flags & KVM_MEM_READONLY) && shim_is("gmem-readonly-accepted"))
		r->flags &= ~KVM_MEM_READONLY;
	if (!gmem)
		goto pass;

	/* A new gmem binding. */
	if (shim_is("gmem-slot-alignment-unchecked")) {
		r->memory_size &= ~page_mask();
		r->guest_phys_addr &= ~page_mask();
		r->userspace_addr &= ~page_mask();
	}
	if ((r->guest_memfd_offset & page_mask()) && shim_is("gmem-offset-unaligned-accepted"))
		r->guest_memfd_offset &= ~page_mask();
	if ((r->guest_memfd_offset + r->memory_size < r->guest_memfd_offset ||
	     r->guest_memfd_offset >> 63) && shim_is("gmem-offset-wrap-accepted"))
		return ok(ret);
	if (!fd_open(r->guest_memfd)) {
		if (shim_is("bad-fd-einval"))
			return fail(ret, EINVAL);
		goto pass;
	}
	g = shim_gmem(r->guest_memfd);
	if (!g) {
		if (shim_is("non-gmem-fd-accepted")) {
			int fd = new_gmem(vm, r->guest_memfd_offset + r->memory_size, 0);

			if (fd >= 0)
				r->guest_memfd = fd;
		}
		goto pass;
	}
	if ((!fd_ok(vm) || gm[r->guest_memfd].vm != vm || gm[r->guest_memfd].gen != vm_gen[vm]) &&
	    shim_is("cross-vm-gmem-accepted")) {
		int fd = new_gmem(vm, g->size, g->flags);

		if (fd >= 0)
			r->guest_memfd = fd;
		goto pass;
	}
	if (r->guest_memfd_offset + r->memory_size > g->size &&
	    r->guest_memfd_offset + r->memory_size >= r->guest_memfd_offset &&
	    shim_is("gmem-range-past-eof-accepted"))
		return ok(ret);
	/* The pre-eba85fee7fc6 check: (loff_t)offset + size, negative past 2^63, "fits". */
	if (!(r->guest_memfd_offset >> 63) && (r->guest_memfd_offset + r->memory_size) >> 63 &&
	    shim_is("gmem-offset-signed-sum"))
		return ok(ret);
	if (r->guest_memfd_offset + r->memory_size == g->size && shim_is("gmem-range-to-eof-rejected"))
		return fail(ret, EINVAL);
	if (live_binding(g->ino, vm, r->slot, 0, 0, true) && shim_is("gmem-one-binding-only"))
		return fail(ret, EINVAL);
	if (shim_is("gmem-unbind-leaks"))
		for (int i = 0; i < nfreed; i++)
			if (freed[i].ino == g->ino &&
			    overlaps(freed[i].start, freed[i].end - freed[i].start,
				     r->guest_memfd_offset, r->memory_size))
				return fail(ret, EINVAL);
	if ((g->flags & GUEST_MEMFD_FLAG_MMAP) && r->guest_memfd_offset &&
	    r->userspace_addr >= r->guest_memfd_offset && shim_is("gmem-offset-ignored"))
		r->userspace_addr -= r->guest_memfd_offset;
pass:
	a[2] = (long)&copy;
	if (!is_v2) {
		/* v1 takes the leading fields only; they are laid out alike. */
		static __thread struct kvm_userspace_memory_region v1;

		memcpy(&v1, &copy, sizeof(v1));
		a[2] = (long)&v1;
	}
	return false;
}

/* Keep the picture of live slots and freed gmem ranges after a real region call. */
static void region_done(int vm, long ret)
{
	const struct kvm_userspace_memory_region2 *r = &req;
	struct slot *s = find_slot(vm, r->slot);
	struct shim_gmem *g;

	if (ret != 0)
		return;
	if (r->memory_size == 0) {
		if (!s)
			return;
		if (s->gmem >= 0 && nfreed < NRANGE)
			freed[nfreed++] = (typeof(freed[0])){ s->ino, s->off, s->off + s->size };
		s->live = false;
		return;
	}
	if (!s) {
		for (int i = 0; i < NSLOT && !s; i++)
			if (!slots[i].live)
				s = &slots[i];
		if (!s)
			return;
	}
	g = (r->flags & KVM_MEM_GUEST_MEMFD) ? shim_gmem(r->guest_memfd) : NULL;
	*s = (struct slot){
		.live = true, .vm = vm, .gen = fd_ok(vm) ? vm_gen[vm] : 0, .id = r->slot,
		.flags = r->flags, .gpa = r->guest_phys_addr, .size = r->memory_size,
		.off = r->guest_memfd_offset, .gmem = g ? (int)r->guest_memfd : -1,
		.ino = g ? g->ino : 0,
	};
}

/* The fd being closed: a gmem (its slots lose their fd) or a VM (its gmems are orphaned). */
static void closing(int fd)
{
	if (!fd_ok(fd))
		return;
	if (shim_gmem(fd)) {
		if (shim_is("gmem-close-unbinds")) {
			for (int i = 0; i < NSLOT; i++) {
				struct slot *s = &slots[i];
				struct kvm_userspace_memory_region2 del;
				long q[SHIM_NARGS] = { s->vm, KVM_SET_USER_MEMORY_REGION2, (long)&del };

				if (!s->live || s->gmem != fd)
					continue;
				del = (struct kvm_userspace_memory_region2){
					.slot = s->id, .flags = s->flags, .guest_phys_addr = s->gpa,
					.guest_memfd = fd,
				};
				if (shim_real(SC_IOCTL, q) == 0)
					s->live = false;
			}
		}
		for (int i = 0; i < NSLOT; i++)
			if (slots[i].live && slots[i].gmem == fd)
				slots[i].gmem_closed = true;
		return;
	}
	if (vm_gen[fd]) {
		for (int g = 0; g < NFD; g++)
			if (gm[g].vm == fd && gm[g].gen == vm_gen[fd])
				gm[g].vm_dead = true;
		for (int i = 0; i < NSLOT; i++)
			if (slots[i].vm == fd && slots[i].gen == vm_gen[fd])
				slots[i].live = false;
		vm_gen[fd] = 0;
	}
}

/* munmap of a mapping of a bound gmem whose fd is closed: the mapping is the last reference. */
static bool unmapping(long a[SHIM_NARGS], long *ret)
{
	for (int i = 0; i < NMAP; i++) {
		int fd = maps[i].fd;
		bool bound = false;

		if (!maps[i].len || maps[i].addr != (uintptr_t)a[0])
			continue;
		maps[i].len = 0;
		for (int j = 0; j < NSLOT; j++)
			bound |= slots[j].live && slots[j].gmem == fd && slots[j].gmem_closed;
		if (bound && shim_is("gmem-release-keeps-slot"))
			return ok(ret);
	}
	return false;
}

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	switch (c) {
	case SC_IOCTL:
		if (a[1] == (long)KVM_SET_USER_MEMORY_REGION || a[1] == (long)KVM_SET_USER_MEMORY_REGION2) {
			is_v2 = a[1] == (long)KVM_SET_USER_MEMORY_REGION2;
			return region(a, ret);
		}
		return false;
	case SC_CLOSE:
		closing(a[0]);
		return false;
	case SC_MUNMAP:
		return unmapping(a, ret);
	case SC_FALLOCATE:
		return shim_gmem(a[0]) && fd_ok(a[0]) && gm[a[0]].vm_dead &&
		       shim_is("gmem-dies-with-vm") && fail(ret, EIO);
	default:
		return false;
	}
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	if (c == SC_MMAP) {
		if ((void *)*ret != MAP_FAILED && shim_gmem(a[4]))
			for (int i = 0; i < NMAP; i++)
				if (!maps[i].len) {
					maps[i].addr = *ret, maps[i].len = a[1], maps[i].fd = a[4];
					break;
				}
		return;
	}
	if (c != SC_IOCTL)
		return;
	if (a[1] == (long)KVM_CREATE_VM && *ret >= 0 && fd_ok(*ret)) {
		vm_gen[*ret] = gen_next++;
	} else if (a[1] == (long)KVM_CREATE_GUEST_MEMFD && *ret >= 0 && fd_ok(*ret)) {
		gm[*ret].vm = a[0];
		gm[*ret].gen = fd_ok(a[0]) ? vm_gen[a[0]] : 0;
		gm[*ret].vm_dead = false;
	} else if (a[1] == (long)KVM_SET_USER_MEMORY_REGION ||
		   a[1] == (long)KVM_SET_USER_MEMORY_REGION2) {
		if (*ret == -1 && errno == EEXIST && shim_is("gpa-overlap-einval"))
			errno = EINVAL;
		/* EINVAL before 7.2 / 6.12.118, EEXIST since (memslot.h ASSERT_GMEM_RANGE_TAKEN). */
		if (*ret == -1 && (errno == EINVAL || errno == EEXIST) && (req.flags & KVM_MEM_GUEST_MEMFD) &&
		    shim_gmem(req.guest_memfd) &&
		    live_binding(shim_gmem(req.guest_memfd)->ino, a[0], req.slot,
				 req.guest_memfd_offset, req.memory_size, false) &&
		    shim_is("gmem-overlap-accepted"))
			*ret = 0;
		region_done(a[0], *ret);
	}
}

static const struct shim_module memslot = {
	.area = "memslot", .devs = devs, .before = before, .after = after,
};
SHIM_MODULE(memslot)
