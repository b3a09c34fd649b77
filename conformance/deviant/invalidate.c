// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations the invalidation collection (guests running while the host
 * punches holes or deletes memslots) must detect. The module keeps its own
 * view of guest_memfd memslot bindings, deleted slots and host mappings of
 * guest_memfd, from the calls it sees while one of its deviations is active.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"

static const struct shim_dev devs[] = {
	{ "inval-punch-deferred",
	  "PUNCH_HOLE returns before invalidating: the range is freed only at the next PUNCH_HOLE",
	  .rows = "inval_multislot.punch_spanning_two_slots_zaps_both "
		  "inval_race.punch_while_vcpus_read_no_stale_data "
		  "inval_repop.punched_pages_refault_zeroed_writable_shared" },
	{ "inval-punch-first-binding-only",
	  "a PUNCH_HOLE spanning two memslots' bindings stops at the end of the first binding",
	  .rows = "inval_multislot.punch_spanning_two_slots_zaps_both" },
	{ "inval-punch-every-other-page",
	  "partial invalidation: PUNCH_HOLE of several pages frees only every other page",
	  .rows = "inval_multislot.punch_spanning_two_slots_zaps_both "
		  "inval_race.punch_while_vcpus_read_no_stale_data "
		  "inval_repop.punched_pages_refault_zeroed_writable_shared" },
	{ "inval-delete-internal-error",
	  "an access to a deleted memslot's GPA exits KVM_EXIT_INTERNAL_ERROR instead of KVM_EXIT_MMIO",
	  .rows = "inval_delete.read_after_delete_exits_then_readd_restores "
		  "inval_delete.write_after_delete_exits_then_readd_restores" },
	{ "inval-delete-efault",
	  "a shared access to a deleted memslot's GPA fails KVM_RUN with EFAULT/KVM_EXIT_MEMORY_FAULT",
	  .rows = "inval_delete.read_after_delete_exits_then_readd_restores "
		  "inval_delete.write_after_delete_exits_then_readd_restores" },
	{ "inval-delete-gpa-page-aligned",
	  "the KVM_EXIT_MMIO of an access to a deleted memslot reports the page, not the address",
	  .rows = "inval_delete.read_after_delete_exits_then_readd_restores "
		  "inval_delete.write_after_delete_exits_then_readd_restores" },
	{ "inval-delete-frees-gmem",
	  "deleting a guest_memfd memslot frees the bound guest_memfd range",
	  .rows = "inval_delete.read_after_delete_exits_then_readd_restores "
		  "inval_delete.write_after_delete_exits_then_readd_restores" },
	{ "inval-delete-ignored",
	  "deleting a guest_memfd memslot succeeds but running vCPUs keep their mappings of it",
	  .rows = "inval_delete.read_after_delete_exits_then_readd_restores "
		  "inval_delete.write_after_delete_exits_then_readd_restores" },
	{ "inval-repop-stale",
	  "pages refaulted after PUNCH_HOLE are not cleared: all but their first and last words are old data",
	  .rows = "inval_repop.punched_pages_refault_zeroed_writable_shared" },
	{ "inval-repop-detached",
	  "after PUNCH_HOLE, host mappings of the range refault private pages, not the file's",
	  .rows = "inval_repop.punched_pages_refault_zeroed_writable_shared" },
	{ NULL, NULL }
};

#define MAX 64

static struct binding {
	bool used;
	long vm;
	uint32_t slot;
	int fd;
	uint64_t gpa, size, off;
} bindings[MAX];

static struct deleted {
	bool used;
	uint64_t gpa, size;
} deleted[MAX];

static struct gmap {
	bool used;
	int fd;
	long addr, len, off;
} maps[MAX];

static struct {
	bool used;
	long a[SHIM_NARGS];
} pending;

static int deleting = -1;	/* deleted[] entry of the deletion in progress */

static long page(void)
{
	return getpagesize();
}

static long punch(int fd, long off, long len)
{
	long b[SHIM_NARGS] = { fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, off, len };

	return shim_real(SC_FALLOCATE, b);
}

static struct binding *binding_at(int fd, uint64_t off)
{
	for (int i = 0; i < MAX; i++)
		if (bindings[i].used && bindings[i].fd == fd && off >= bindings[i].off &&
		    off < bindings[i].off + bindings[i].size)
			return &bindings[i];
	return NULL;
}

static struct binding *binding_of_slot(long vm, uint32_t slot)
{
	for (int i = 0; i < MAX; i++)
		if (bindings[i].used && bindings[i].vm == vm && bindings[i].slot == slot)
			return &bindings[i];
	return NULL;
}

static bool in_deleted(uint64_t gpa)
{
	for (int i = 0; i < MAX; i++)
		if (deleted[i].used && gpa >= deleted[i].gpa && gpa < deleted[i].gpa + deleted[i].size)
			return true;
	return false;
}

/*
 * A slot deletion is recorded before the ioctl: a vCPU thread can see the
 * exit it causes before the deleting thread returns from it.
 */
static int note_deletion(long vm, const struct kvm_userspace_memory_region2 *r)
{
	struct binding *b = binding_of_slot(vm, r->slot);

	if (r->memory_size || !b)
		return -1;
	for (int i = 0; i < MAX; i++)
		if (!deleted[i].used) {
			deleted[i] = (struct deleted){ true, b->gpa, b->size };
			return i;
		}
	return -1;
}

/* Remember a slot change that succeeded. */
static void track_region(long vm, const struct kvm_userspace_memory_region2 *r)
{
	struct binding *b = binding_of_slot(vm, r->slot);

	if (r->memory_size == 0) {
		if (b)
			b->used = false;
		return;
	}
	for (int i = 0; i < MAX; i++)
		if (deleted[i].used && deleted[i].gpa < r->guest_phys_addr + r->memory_size &&
		    r->guest_phys_addr < deleted[i].gpa + deleted[i].size)
			deleted[i].used = false;
	if (!(r->flags & KVM_MEM_GUEST_MEMFD))
		return;
	for (int i = 0; !b && i < MAX; i++)
		if (!bindings[i].used)
			b = &bindings[i];
	if (b)
		*b = (struct binding){ true, vm, r->slot, (int)r->guest_memfd, r->guest_phys_addr,
				       r->memory_size, r->guest_memfd_offset };
}

/* Replace the host's mappings of [off, off + len) of fd with anonymous memory. */
static void detach_maps(int fd, long off, long len)
{
	for (int i = 0; i < MAX; i++) {
		struct gmap *m = &maps[i];
		long lo, hi;

		if (!m->used || m->fd != fd)
			continue;
		lo = off > m->off ? off : m->off;
		hi = off + len < m->off + m->len ? off + len : m->off + m->len;
		if (lo < hi) {
			long b[SHIM_NARGS] = { m->addr + (lo - m->off), hi - lo, PROT_READ | PROT_WRITE,
					       MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0 };

			shim_real(SC_MMAP, b);
		}
	}
}

/* Punch, then put the old contents back into all but each page's first and last word. */
static long punch_leaving_stale(struct shim_gmem *g, int fd, long off, long len)
{
	long m[SHIM_NARGS] = { 0, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off };
	long u[SHIM_NARGS] = { 0, len };
	long p = page(), ret;
	uint8_t *map, *old;

	if (!(g->flags & GUEST_MEMFD_FLAG_MMAP) || off % p || len % p)
		return punch(fd, off, len);
	map = (uint8_t *)shim_real(SC_MMAP, m);
	old = malloc(len);
	if (map == MAP_FAILED || !old) {
		free(old);
		return punch(fd, off, len);
	}
	memcpy(old, map, len);
	ret = punch(fd, off, len);
	if (ret == 0)
		for (long o = 0; o < len; o += p)
			memcpy(map + o + 8, old + o + 8, p - 16);
	free(old);
	u[0] = (long)map;
	shim_real(SC_MUNMAP, u);
	return ret;
}

static bool falloc(long a[SHIM_NARGS], long *ret)
{
	struct shim_gmem *g = shim_gmem(a[0]);
	int fd = a[0];
	long off = a[2], len = a[3], p = page();
	struct binding *b;

	if (!g || !(a[1] & FALLOC_FL_PUNCH_HOLE) || off < 0 || len <= 0)
		return false;
	if (shim_is("inval-punch-deferred")) {
		if (pending.used && shim_gmem(pending.a[0]))
			shim_real(SC_FALLOCATE, pending.a);
		pending.used = true;
		memcpy(pending.a, a, sizeof(pending.a));
		*ret = 0;
		return true;
	}
	if (shim_is("inval-punch-first-binding-only") && (b = binding_at(fd, off)) &&
	    (uint64_t)(off + len) > b->off + b->size && binding_at(fd, b->off + b->size)) {
		a[3] = b->off + b->size - off;
		return false;
	}
	if (shim_is("inval-punch-every-other-page") && len > p && off % p == 0 && len % p == 0) {
		*ret = 0;
		for (long o = off + p; o < off + len && *ret == 0; o += 2 * p)
			*ret = punch(fd, o, p);
		return true;
	}
	if (shim_is("inval-repop-stale")) {
		*ret = punch_leaving_stale(g, fd, off, len);
		return true;
	}
	return false;
}

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	switch (c) {
	case SC_FALLOCATE:
		return falloc(a, ret);
	case SC_IOCTL:
		if (a[1] == (long)KVM_SET_USER_MEMORY_REGION2) {
			const struct kvm_userspace_memory_region2 *r = (void *)a[2];

			if (r->memory_size == 0 && (r->flags & KVM_MEM_GUEST_MEMFD) &&
			    shim_is("inval-delete-ignored")) {
				*ret = 0;
				return true;
			}
			deleting = note_deletion(a[0], r);
		}
		return false;
	default:
		return false;
	}
}

/* An exit of a vCPU whose access hit a GPA the process deleted a memslot from. */
static void run_exit(long vcpu_fd, long *ret)
{
	struct kvm_run *run = shim_vcpu_run(vcpu_fd);
	uint64_t gpa;

	if (!run || *ret != 0 || run->exit_reason != KVM_EXIT_MMIO || !in_deleted(run->mmio.phys_addr))
		return;
	gpa = run->mmio.phys_addr;
	if (shim_is("inval-delete-internal-error")) {
		run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
		run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
		run->internal.ndata = 0;
	} else if (shim_is("inval-delete-efault")) {
		run->exit_reason = KVM_EXIT_MEMORY_FAULT;
		run->memory_fault.flags = 0;
		run->memory_fault.gpa = gpa & ~(uint64_t)(page() - 1);
		run->memory_fault.size = page();
		*ret = -1;
		errno = EFAULT;
	} else if (shim_is("inval-delete-gpa-page-aligned")) {
		run->mmio.phys_addr = gpa & ~(uint64_t)(page() - 1);
	}
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	switch (c) {
	case SC_IOCTL:
		if (a[1] == (long)KVM_RUN) {
			run_exit(a[0], ret);
		} else if (a[1] == (long)KVM_SET_USER_MEMORY_REGION2) {
			const struct kvm_userspace_memory_region2 *r = (void *)a[2];
			struct binding *b = binding_of_slot(a[0], r->slot);

			if (*ret != 0 && deleting >= 0)
				deleted[deleting].used = false;
			deleting = -1;
			if (*ret != 0)
				break;
			if (r->memory_size == 0 && b && shim_is("inval-delete-frees-gmem"))
				punch(b->fd, b->off, b->size);
			track_region(a[0], r);
		}
		break;
	case SC_FALLOCATE:
		if (*ret == 0 && (a[1] & FALLOC_FL_PUNCH_HOLE) && shim_gmem(a[0]) &&
		    shim_is("inval-repop-detached"))
			detach_maps(a[0], a[2], a[3]);
		break;
	case SC_MMAP:
		if ((void *)*ret != MAP_FAILED && shim_gmem(a[4]))
			for (int i = 0; i < MAX; i++)
				if (!maps[i].used) {
					maps[i] = (struct gmap){ true, (int)a[4], *ret, a[1], a[5] };
					break;
				}
		break;
	case SC_MUNMAP:
		if (*ret == 0)
			for (int i = 0; i < MAX; i++)
				if (maps[i].used && maps[i].addr == a[0])
					maps[i].used = false;
		break;
	default:
		break;
	}
}

static const struct shim_module invalidate = {
	.area = "invalidate", .devs = devs, .before = before, .after = after,
};
SHIM_MODULE(invalidate)
