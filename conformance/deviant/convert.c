// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations the convert collection must detect: private<->shared conversions
 * (KVM_SET_MEMORY_ATTRIBUTES) and PUNCH_HOLE on private guest_memfd memory.
 * All need a kernel with sw-protected VMs and the PRIVATE attribute, so they
 * are proven in the lab (scripts/lab.sh --deviations 'conv-*').
 */
#include <errno.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "shim.h"

static const struct shim_dev devs[] = {
	{ "conv-private-ignored", "KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) returns 0 and changes nothing",
	  .lab = true,
	  .rows = "conv_views.private_unwritten_reads_zero_views_split "
		  "conv_views.round_trip_keeps_both_views" },
	{ "conv-shared-ignored", "KVM_SET_MEMORY_ATTRIBUTES(0) (back to shared) returns 0 and changes nothing",
	  .lab = true,
	  .rows = "conv_views.round_trip_keeps_both_views conv_partial.aligned_2m_range "
		  "conv_partial.odd_offset_ranges_and_holes "
		  "conv_partial.one_page_inside_2m_range conv_partial.unaligned_2m_range" },
	{ "conv-one-page-short", "a conversion leaves the last page of the range unconverted",
	  .lab = true,
	  .rows = "conv_partial.aligned_2m_range conv_partial.odd_offset_ranges_and_holes "
		  "conv_partial.one_page_inside_2m_range conv_partial.unaligned_2m_range "
		  "conv_multi.conversions_exact_per_slot_for_all_vcpus" },
	{ "conv-next-page", "a conversion applies to the range one page higher than asked",
	  .lab = true,
	  .rows = "conv_partial.aligned_2m_range conv_partial.odd_offset_ranges_and_holes "
		  "conv_partial.one_page_inside_2m_range conv_partial.unaligned_2m_range "
		  "conv_multi.conversions_exact_per_slot_for_all_vcpus" },
	{ "conv-neighbour-range", "a conversion applies to the equally long range right after the one asked",
	  .lab = true,
	  .rows = "conv_partial.aligned_2m_range conv_partial.odd_offset_ranges_and_holes "
		  "conv_partial.one_page_inside_2m_range conv_partial.unaligned_2m_range "
		  "conv_multi.conversions_exact_per_slot_for_all_vcpus" },
	{ "conv-shared-discards-private", "converting to shared also frees the range's guest_memfd pages",
	  .lab = true,
	  .rows = "conv_views.round_trip_keeps_both_views "
		  "conv_punch.shared_page_punch_shows_when_private_again "
		  "conv_gmem_only.guest_one_memory_across_conversions" },
	{ "conv-private-discards", "converting to private frees the range's guest_memfd pages "
	  "(the data a gmem-only slot showed while shared, or the old private data, is lost)",
	  .lab = true,
	  .rows = "conv_gmem_only.guest_one_memory_across_conversions "
		  "conv_views.round_trip_keeps_both_views "
		  "conv_punch.shared_page_punch_shows_when_private_again" },
	{ "conv-gmem-only-shared-host-faultable", "converting a range to shared makes the "
	  "host mapping of its private (MMAP without INIT_SHARED) guest_memfd fault in fresh "
	  "pages instead of SIGBUS", .lab = true,
	  .rows = "conv_gmem_only.host_sigbus_in_every_attribute_state" },
	{ "conv-punch-noop", "PUNCH_HOLE on a guest_memfd returns 0 and frees nothing",
	  .lab = true,
	  .rows = "conv_punch.private_holes_read_zero_rest_kept "
		  "conv_punch.shared_page_punch_shows_when_private_again "
		  "conv_race.punch_private_while_vcpus_write_read "
		  "conv_gmem_only.guest_one_memory_across_conversions" },
	{ "conv-punch-shifted", "PUNCH_HOLE on a guest_memfd frees the range one page higher than asked",
	  .lab = true,
	  .rows = "conv_punch.private_holes_read_zero_rest_kept "
		  "conv_punch.shared_page_punch_shows_when_private_again "
		  "conv_race.punch_private_while_vcpus_write_read" },
	{ "conv-punch-deferred", "PUNCH_HOLE on a guest_memfd returns before freeing; the pages go at the next punch",
	  .lab = true,
	  .rows = "conv_punch.private_holes_read_zero_rest_kept "
		  "conv_punch.shared_page_punch_shows_when_private_again "
		  "conv_race.punch_private_while_vcpus_write_read" },
	{ NULL, NULL }
};

#define PAGE 4096ULL

static struct kvm_memory_attributes attrs;	/* what the kernel sees instead */

struct gmem_binding {
	bool used;
	long vm;
	int fd;
	uint64_t gpa, size, off;
};

#define MAX_BINDINGS 64
static struct gmem_binding bindings[MAX_BINDINGS];
static long pending[SHIM_NARGS];
static bool pending_used;

static void track_region(long vm, const struct kvm_userspace_memory_region2 *r)
{
	struct gmem_binding *free_b = NULL;

	for (int i = 0; i < MAX_BINDINGS; i++) {
		struct gmem_binding *b = &bindings[i];

		if (b->used && b->vm == vm && b->gpa == r->guest_phys_addr && !r->memory_size)
			b->used = false;
		if (!b->used && !free_b)
			free_b = b;
	}
	if (r->memory_size && free_b && (r->flags & KVM_MEM_GUEST_MEMFD))
		*free_b = (struct gmem_binding){ true, vm, (int)r->guest_memfd, r->guest_phys_addr,
						 r->memory_size, r->guest_memfd_offset };
}

/* Free the guest_memfd pages behind [gpa, gpa + size) of this VM, as a buggy conversion would. */
static void discard(long vm, uint64_t gpa, uint64_t size)
{
	for (int i = 0; i < MAX_BINDINGS; i++) {
		const struct gmem_binding *b = &bindings[i];
		uint64_t lo = gpa > b->gpa ? gpa : b->gpa;
		uint64_t hi = gpa + size < b->gpa + b->size ? gpa + size : b->gpa + b->size;
		long q[SHIM_NARGS] = { 0 };

		if (!b->used || b->vm != vm || lo >= hi)
			continue;
		q[0] = b->fd;
		q[1] = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE;
		q[2] = (long)(b->off + lo - b->gpa);
		q[3] = (long)(hi - lo);
		shim_real(SC_FALLOCATE, q);
	}
}

/* Host mappings of private (MMAP, not INIT_SHARED) guest_memfds: fd, file offset, where. */
#define MAX_MAPS 16
static struct gmem_map {
	bool used;
	int fd;
	uint64_t off, addr, len;
} maps[MAX_MAPS];

static void track_mmap(long a[SHIM_NARGS], long ret)
{
	const struct shim_gmem *g = shim_gmem((int)a[4]);

	if ((void *)ret == MAP_FAILED || !g || !(g->flags & GUEST_MEMFD_FLAG_MMAP) ||
	    (g->flags & GUEST_MEMFD_FLAG_INIT_SHARED))
		return;
	for (int i = 0; i < MAX_MAPS; i++)
		if (!maps[i].used) {
			maps[i] = (struct gmem_map){ true, (int)a[4], (uint64_t)a[5], (uint64_t)ret,
						     (uint64_t)a[1] };
			return;
		}
}

static void untrack_munmap(uint64_t addr, uint64_t len)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used && maps[i].addr < addr + len && addr < maps[i].addr + maps[i].len)
			maps[i].used = false;
}

/*
 * The buggy kernel lets the host fault the converted range: where a host mapping
 * covers the guest_memfd pages behind [gpa, gpa + size), fresh shared pages.
 */
static void make_host_faultable(long vm, uint64_t gpa, uint64_t size)
{
	for (int i = 0; i < MAX_BINDINGS; i++) {
		const struct gmem_binding *b = &bindings[i];
		uint64_t lo = gpa > b->gpa ? gpa : b->gpa;
		uint64_t hi = gpa + size < b->gpa + b->size ? gpa + size : b->gpa + b->size;

		if (!b->used || b->vm != vm || lo >= hi)
			continue;
		for (int j = 0; j < MAX_MAPS; j++) {
			const struct gmem_map *m = &maps[j];
			uint64_t flo = b->off + lo - b->gpa, fhi = b->off + hi - b->gpa;
			long q[SHIM_NARGS] = { 0 };

			if (!m->used || m->fd != b->fd || fhi <= m->off || flo >= m->off + m->len)
				continue;
			flo = flo > m->off ? flo : m->off;
			fhi = fhi < m->off + m->len ? fhi : m->off + m->len;
			q[0] = (long)(m->addr + flo - m->off);
			q[1] = (long)(fhi - flo);
			q[2] = PROT_READ | PROT_WRITE;
			q[3] = MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED;
			q[4] = -1;
			shim_real(SC_MMAP, q);
		}
	}
}

static bool set_attributes(long a[SHIM_NARGS], long *ret)
{
	const struct kvm_memory_attributes *in = (const void *)a[2];
	bool to_private = in->attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE;

	if ((shim_is("conv-private-ignored") && to_private) ||
	    (shim_is("conv-shared-ignored") && !to_private)) {
		*ret = 0;
		return true;
	}
	attrs = *in;
	if (shim_is("conv-one-page-short")) {
		if (attrs.size <= PAGE) {
			*ret = 0;
			return true;
		}
		attrs.size -= PAGE;
	} else if (shim_is("conv-next-page")) {
		attrs.address += PAGE;
	} else if (shim_is("conv-neighbour-range")) {
		attrs.address += attrs.size;
	} else if ((shim_is("conv-shared-discards-private") && !to_private) ||
		   (shim_is("conv-private-discards") && to_private)) {
		*ret = shim_real(SC_IOCTL, a);
		if (*ret == 0)
			discard(a[0], in->address, in->size);
		return true;
	} else if (shim_is("conv-gmem-only-shared-host-faultable") && !to_private) {
		*ret = shim_real(SC_IOCTL, a);
		if (*ret == 0)
			make_host_faultable(a[0], in->address, in->size);
		return true;
	} else {
		return false;
	}
	a[2] = (long)&attrs;
	return false;
}

static bool punch(long a[SHIM_NARGS], long *ret)
{
	if (!shim_gmem((int)a[0]) || !(a[1] & FALLOC_FL_PUNCH_HOLE))
		return false;
	if (shim_is("conv-punch-noop")) {
		*ret = 0;
		return true;
	}
	if (shim_is("conv-punch-shifted")) {
		a[2] += PAGE;
		return false;
	}
	if (shim_is("conv-punch-deferred")) {
		if (pending_used && shim_gmem((int)pending[0]))
			shim_real(SC_FALLOCATE, pending);
		memcpy(pending, a, sizeof(pending));
		pending_used = true;
		*ret = 0;
		return true;
	}
	return false;
}

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	if (c == SC_FALLOCATE)
		return punch(a, ret);
	if (c != SC_IOCTL)
		return false;
	if (a[1] == (long)KVM_SET_MEMORY_ATTRIBUTES)
		return set_attributes(a, ret);
	return false;
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	bool host_faultable = shim_is("conv-gmem-only-shared-host-faultable");

	if (c == SC_IOCTL && a[1] == (long)KVM_SET_USER_MEMORY_REGION2 && *ret == 0 &&
	    (shim_is("conv-shared-discards-private") || shim_is("conv-private-discards") ||
	     host_faultable))
		track_region(a[0], (const void *)a[2]);
	if (c == SC_MMAP && host_faultable)
		track_mmap(a, *ret);
	if (c == SC_MUNMAP && *ret == 0 && host_faultable)
		untrack_munmap((uint64_t)a[0], (uint64_t)a[1]);
}

static const struct shim_module convert_module = {
	.area = "convert", .devs = devs, .before = before, .after = after,
};
SHIM_MODULE(convert_module);
