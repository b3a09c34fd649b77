// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations the gmem_mmap collection must detect: how the rest of mm treats a
 * host mapping of guest_memfd (protection, mremap, fork, madvise, GUP,
 * userfaultfd, mempolicy). The module keeps its own table of the process's
 * guest_memfd mappings to know which addresses they cover.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static const struct shim_dev devs[] = {
	{ "gmmap-exec-allowed",          "PROT_EXEC mappings/mprotect of guest_memfd succeed (no noexec on its fs)",
	  .rows = "gmmap_prot.exec_mapping_eperm gmmap_prot.mprotect_exec_eacces" },
	{ "gmmap-mprotect-ignored",      "mprotect() on a guest_memfd mapping returns 0 and changes nothing",
	  .rows = "gmmap_gup.proc_self_mem_read_write gmmap_prot.mprotect_exec_eacces "
		  "gmmap_prot.mprotect_tracks_protection" },
	{ "gmmap-mremap-detached",       "mremap() of a guest_memfd mapping leaves anonymous copies, not the file",
	  .rows = "gmmap_mremap.dontunmap_keeps_old_range_on_file "
		  "gmmap_mremap.grow_in_place_within_file gmmap_mremap.grow_past_eof_sigbus "
		  "gmmap_mremap.move_keeps_file_backing" },
	{ "gmmap-mremap-shrink-noop",    "shrinking mremap() of a guest_memfd mapping leaves the tail mapped",
	  .rows = "gmmap_mremap.shrink_unmaps_tail" },
	{ "gmmap-mremap-no-sigbus",      "a guest_memfd mapping grown past EOF by mremap() reads zeroes there",
	  .rows = "gmmap_mremap.grow_past_eof_sigbus" },
	{ "gmmap-dontunmap-drops-old",   "MREMAP_DONTUNMAP empties the old range as for anonymous memory",
	  .rows = "gmmap_mremap.dontunmap_keeps_old_range_on_file" },
	{ "gmmap-fork-private-copy",     "fork() gives the child private copies of guest_memfd mappings",
	  .rows = "gmmap_fork.child_shares_data_both_ways "
		  "gmmap_fork.punch_in_parent_seen_by_child" },
	{ "gmmap-dontfork-ignored",      "MADV_DONTFORK on a guest_memfd mapping is ignored",
	  .rows = "gmmap_fork.dontfork_range_absent_in_child" },
	{ "gmmap-dontneed-zaps-data",    "MADV_DONTNEED on a guest_memfd mapping discards the file's pages",
	  .rows = "gmmap_madvise.dontneed_keeps_data gmmap_madvise.hugepage_ok_collapse_einval" },
	{ "gmmap-remove-ignored",        "MADV_REMOVE on a guest_memfd mapping returns 0 but punches nothing",
	  .rows = "gmmap_madvise.remove_punches_range" },
	{ "gmmap-pageout-drops-data",    "MADV_PAGEOUT reclaims guest_memfd pages, losing their data",
	  .rows = "gmmap_madvise.pageout_cold_keep_data" },
	{ "gmmap-free-accepted",         "MADV_FREE is accepted on a guest_memfd mapping",
	  .rows = "gmmap_madvise.anon_only_advice_einval" },
	{ "gmmap-populate-ignores-sigbus", "MADV_POPULATE_* succeed where a fault would raise SIGBUS",
	  .rows = "gmmap_madvise.populate_stops_at_eof gmmap_private.gup_refused" },
	{ "gmmap-collapse-accepted",     "MADV_COLLAPSE succeeds on a guest_memfd mapping",
	  .rows = "gmmap_madvise.hugepage_ok_collapse_einval" },
	{ "gmmap-proc-mem-zeros",        "/proc/<pid>/mem reads of guest_memfd mappings return zeroes",
	  .rows = "gmmap_gup.child_mem_and_process_vm gmmap_gup.proc_self_mem_read_write" },
	{ "gmmap-process-vm-zeros",      "process_vm_readv() of guest_memfd mappings returns zeroes",
	  .rows = "gmmap_gup.child_mem_and_process_vm" },
	{ "gmmap-odirect-efault",        "O_DIRECT refuses buffers in shared guest_memfd mappings (EFAULT)",
	  .rows = "gmmap_gup.odirect_read_write" },
	{ "gmmap-vmsplice-efault",       "vmsplice() refuses shared guest_memfd mappings (EFAULT)",
	  .rows = "gmmap_gup.vmsplice_round_trip" },
	{ "gmmap-private-readable",      "GUP on private guest_memfd memory succeeds with zero pages instead of failing",
	  .rows = "gmmap_private.gup_refused gmmap_private.odirect_efault" },
	{ "gmmap-uffd-accepted",         "UFFDIO_REGISTER on a guest_memfd mapping succeeds in every mode",
	  .rows = "gmmap_uffd.register_minor_einval gmmap_uffd.register_missing_einval "
		  "gmmap_uffd.register_wp_einval" },
	{ "gmmap-uffd-wp-async-refused", "UFFDIO_REGISTER WP with UFFD_FEATURE_WP_ASYNC fails on guest_memfd",
	  .rows = "gmmap_uffd.wp_async_tracks_writes" },
	{ "gmmap-mbind-lost",            "mbind() on a guest_memfd mapping returns 0 but sets no policy",
	  .rows = "gmmap_numa.mbind_invalid_mode_einval gmmap_numa.mbind_round_trip" },
	{ "gmmap-mbind-any-mode",        "mbind() on a guest_memfd mapping accepts an unknown mode",
	  .rows = "gmmap_numa.mbind_invalid_mode_einval" },
	{ "gmmap-policy-not-enforced",   "mbind() on a guest_memfd mapping is accepted and reported by "
	  "get_mempolicy(), but guest_memfd allocates without it", .lab = true,
	  .rows = "gmmap_numa_private.policy_places_private_allocations "
		  "gmmap_numa.bind_before_fault_places_pages" },
	{ "gmmap-policy-scope-flipped",  "a guest_memfd policy is shared across mappings when it should be per-VMA, or vice versa",
	  .rows = "gmmap_numa.policy_scope_follows_shared_policy" },
	{ NULL, NULL }
};

/* ---- the process's guest_memfd mappings ----------------------------------------------- */

#define MAX_MAPS 64
static struct gmap {
	bool used;
	uintptr_t addr;
	size_t len;
	int fd;
	off_t off;
	uint64_t size, flags;
} maps[MAX_MAPS];

static struct gmap *find(uintptr_t addr)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used && addr >= maps[i].addr && addr < maps[i].addr + maps[i].len)
			return &maps[i];
	return NULL;
}

static void forget(uintptr_t addr, size_t len)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used && maps[i].addr < addr + len && addr < maps[i].addr + maps[i].len)
			maps[i].used = false;
}

static void remember(uintptr_t addr, size_t len, int fd, off_t off, const struct shim_gmem *g)
{
	forget(addr, len);
	for (int i = 0; i < MAX_MAPS; i++)
		if (!maps[i].used) {
			maps[i] = (struct gmap){ true, addr, len, fd, off, g->size, g->flags };
			return;
		}
}

/* Bytes of the mapping that lie below EOF (the rest raises SIGBUS). */
static size_t in_file(const struct gmap *m, size_t len)
{
	size_t left = m->size > (uint64_t)m->off ? m->size - m->off : 0;

	return len < left ? len : left;
}

static long real(enum shim_call c, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long a[SHIM_NARGS] = { a0, a1, a2, a3, a4, a5 };

	return shim_real(c, a);
}

static void *anon_at(uintptr_t addr, size_t len, int flags)
{
	return (void *)real(SC_MMAP, addr, len, PROT_READ | PROT_WRITE,
			    flags | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

/* Replace [addr, addr+len) with anonymous memory holding the same bytes. */
static void detach(uintptr_t addr, size_t len, int flags)
{
	long page = getpagesize();

	for (size_t off = 0; off < len; off += page) {
		void *copy;

		/* Only pages that are mapped here (MADV_DONTFORK ranges are not, in a child). */
		if (real(SC_MADVISE, addr + off, page, MADV_NORMAL, 0, 0, 0))
			continue;
		copy = malloc(page);
		if (!copy)
			continue;
		memcpy(copy, (void *)(addr + off), page);
		anon_at(addr + off, page, flags);
		memcpy((void *)(addr + off), copy, page);
		free(copy);
	}
}

static void punch(const struct gmap *m, uintptr_t addr, size_t len)
{
	off_t off = m->off + (addr - m->addr);

	real(SC_FALLOCATE, m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len, 0, 0);
}

/* ---- fds the collection opens: /proc/<pid>/mem and O_DIRECT files -------------------- */

#define MAX_FD 1024
static bool proc_mem[MAX_FD], odirect[MAX_FD];

static bool is_proc_mem(const char *path)
{
	size_t n = strlen(path);

	return !strncmp(path, "/proc/", 6) && n > 4 && !strcmp(path + n - 4, "/mem");
}

/* ---- mempolicy: the last mbind() on a guest_memfd mapping ----------------------------- */

static struct {
	bool set;
	int fd, mode;
	uintptr_t map_addr;	/* the mapping it was set through */
	unsigned long mask0;
} policy;

/*
 * gmmap-policy-not-enforced: the policies mbind() set on guest_memfd mappings, kept
 * here instead of in the kernel (newest last), and reported back by get_mempolicy().
 */
#define MAX_FAKE 16
static struct {
	uintptr_t addr;
	size_t len;
	int mode;
	unsigned long mask0;
} fake[MAX_FAKE];
static int nr_fake;

static bool fake_mbind(long a[SHIM_NARGS], long *ret);
static bool fake_get_mempolicy(long a[SHIM_NARGS], long *ret);

/* ---- hooks ----------------------------------------------------------------------------- */

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

static bool shared_mem(const struct gmap *m)
{
	return m && (m->flags & GUEST_MEMFD_FLAG_INIT_SHARED);
}

static bool before_madvise(long a[SHIM_NARGS], long *ret)
{
	struct gmap *m = find(a[0]);
	int advice = a[2];

	if (!m)
		return false;
	if ((advice == MADV_DONTFORK && shim_is("gmmap-dontfork-ignored")) ||
	    (advice == MADV_REMOVE && shim_is("gmmap-remove-ignored")) ||
	    (advice == MADV_COLLAPSE && shim_is("gmmap-collapse-accepted")) ||
	    (advice == MADV_FREE && shim_is("gmmap-free-accepted")))
		return ok(ret, 0);
	return false;
}

static bool before_mremap(long a[SHIM_NARGS], long *ret)
{
	struct gmap *m = find(a[0]);

	if (m && (size_t)a[2] < (size_t)a[1] && !(a[3] & (MREMAP_MAYMOVE | MREMAP_FIXED)) &&
	    shim_is("gmmap-mremap-shrink-noop"))
		return ok(ret, a[0]);
	return false;
}

static bool before_io(long a[SHIM_NARGS], long *ret)
{
	struct gmap *m = find(a[1]);
	int fd = a[0];

	if (fd < 0 || fd >= MAX_FD || !odirect[fd] || !m)
		return false;
	if (shared_mem(m) && shim_is("gmmap-odirect-efault"))
		return fail(ret, EFAULT);
	/* Claims success; nothing can actually be copied to or from private memory. */
	if (!shared_mem(m) && shim_is("gmmap-private-readable"))
		return ok(ret, a[2]);
	return false;
}

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	struct gmap *m;

	switch (c) {
	case SC_MMAP:
		if (shim_gmem(a[4]) && (a[2] & PROT_EXEC) && shim_is("gmmap-exec-allowed"))
			a[2] &= ~PROT_EXEC;
		return false;
	case SC_MPROTECT:
		if (!find(a[0]))
			return false;
		if (shim_is("gmmap-mprotect-ignored"))
			return ok(ret, 0);
		if ((a[2] & PROT_EXEC) && shim_is("gmmap-exec-allowed"))
			a[2] &= ~PROT_EXEC;
		return false;
	case SC_MADVISE:
		return before_madvise(a, ret);
	case SC_MREMAP:
		return before_mremap(a, ret);
	case SC_PREAD:
	case SC_PWRITE:
		return before_io(a, ret);
	case SC_VMSPLICE:
		m = find((uintptr_t)((const struct iovec *)a[1])->iov_base);
		return shared_mem(m) && shim_is("gmmap-vmsplice-efault") && fail(ret, EFAULT);
	case SC_IOCTL:
		if (a[1] == (long)UFFDIO_REGISTER &&
		    find(((struct uffdio_register *)a[2])->range.start) &&
		    shim_is("gmmap-uffd-accepted")) {
			((struct uffdio_register *)a[2])->ioctls = 0;
			return ok(ret, 0);
		}
		return false;
	case SC_MBIND:
		m = find(a[0]);
		if (!m)
			return false;
		if (shim_is("gmmap-mbind-lost") ||
		    ((a[2] < 0 || a[2] > 64) && shim_is("gmmap-mbind-any-mode")))
			return ok(ret, 0);
		return fake_mbind(a, ret);
	case SC_GET_MEMPOLICY:
		return fake_get_mempolicy(a, ret);
	default:
		return false;
	}
}

/* Valid requests only (the kernel keeps answering the invalid ones), on page ranges. */
static bool fake_mbind(long a[SHIM_NARGS], long *ret)
{
	const unsigned long *mask = (const unsigned long *)a[3];
	int mode = a[2];

	if (!shim_is("gmmap-policy-not-enforced") || mode < MPOL_DEFAULT || mode > MPOL_LOCAL ||
	    (mode != MPOL_DEFAULT && (!mask || !mask[0])))
		return false;
	if (nr_fake == MAX_FAKE)
		memmove(&fake[0], &fake[1], --nr_fake * sizeof(fake[0]));
	fake[nr_fake].addr = a[0];
	fake[nr_fake].len = a[1];
	fake[nr_fake].mode = mode;
	fake[nr_fake++].mask0 = mode == MPOL_DEFAULT ? 0 : mask[0];
	return ok(ret, 0);
}

static bool fake_get_mempolicy(long a[SHIM_NARGS], long *ret)
{
	uintptr_t addr = a[3];
	int *mode = (int *)a[0];
	unsigned long *mask = (unsigned long *)a[1];

	if (!(a[4] & MPOL_F_ADDR) || !shim_is("gmmap-policy-not-enforced"))
		return false;
	for (int i = nr_fake - 1; i >= 0; i--) {
		if (addr < fake[i].addr || addr >= fake[i].addr + fake[i].len)
			continue;
		if (mode)
			*mode = fake[i].mode;
		if (mask && a[2] > 0) {
			memset(mask, 0, ((size_t)a[2] + 63) / 64 * sizeof(*mask));
			mask[0] = fake[i].mask0;
		}
		return ok(ret, 0);
	}
	return false;
}

static void after_mremap(long a[SHIM_NARGS], long *ret)
{
	struct gmap *m = find(a[0]), copy;
	size_t valid;

	if (!m || *ret == -1)
		return;
	copy = *m;
	valid = in_file(&copy, a[2]);
	/* MREMAP_DONTUNMAP leaves the old range mapped to the file; otherwise it is gone. */
	if (!(a[3] & MREMAP_DONTUNMAP)) {
		forget(a[0], a[1]);
	} else if (shim_is("gmmap-dontunmap-drops-old")) {
		anon_at(a[0], a[1], MAP_PRIVATE);
		forget(a[0], a[1]);
	}
	if (shim_is("gmmap-mremap-detached")) {
		detach(*ret, valid, MAP_SHARED);
		return;
	}
	if ((size_t)a[2] > valid && shim_is("gmmap-mremap-no-sigbus"))
		anon_at(*ret + valid, a[2] - valid, MAP_SHARED);
	else
		remember(*ret, a[2], copy.fd, copy.off,
			 &(struct shim_gmem){ .size = copy.size, .flags = copy.flags });
}

static void after_fork_child(void)
{
	if (!shim_is("gmmap-fork-private-copy"))
		return;
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used && shared_mem(&maps[i])) {
			detach(maps[i].addr, in_file(&maps[i], maps[i].len), MAP_PRIVATE);
			maps[i].used = false;
		}
}

/* get_mempolicy(MPOL_F_ADDR) through another mapping of the file mbind() used: flip it. */
static void after_get_mempolicy(long a[SHIM_NARGS], long *ret)
{
	struct gmap *m = find(a[3]);
	int *mode = (int *)a[0];
	unsigned long *mask = (unsigned long *)a[1];

	if (*ret || !(a[4] & MPOL_F_ADDR) || !m || !policy.set || m->fd != policy.fd ||
	    m->addr == policy.map_addr || !mode || !shim_is("gmmap-policy-scope-flipped"))
		return;
	if (*mode == MPOL_DEFAULT) {
		*mode = policy.mode;
		if (mask)
			mask[0] = policy.mask0;
	} else {
		*mode = MPOL_DEFAULT;
		if (mask)
			mask[0] = 0;
	}
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	struct shim_gmem *g;
	struct gmap *m;

	switch (c) {
	case SC_MMAP:
		if ((void *)*ret == MAP_FAILED)
			break;
		g = shim_gmem(a[4]);
		if (g)
			remember(*ret, a[1], a[4], a[5], g);
		else
			forget(*ret, a[1]);
		break;
	case SC_MUNMAP:
		if (!*ret)
			forget(a[0], a[1]);
		break;
	case SC_MREMAP:
		after_mremap(a, ret);
		break;
	case SC_FORK:
		if (*ret == 0)
			after_fork_child();
		break;
	case SC_MADVISE:
		m = find(a[0]);
		if (!m)
			break;
		if (!*ret && ((a[2] == MADV_DONTNEED && shim_is("gmmap-dontneed-zaps-data")) ||
			      (a[2] == MADV_PAGEOUT && shim_is("gmmap-pageout-drops-data"))))
			punch(m, a[0], a[1]);
		if (*ret == -1 && errno == EFAULT &&
		    (a[2] == MADV_POPULATE_READ || a[2] == MADV_POPULATE_WRITE) &&
		    shim_is("gmmap-populate-ignores-sigbus"))
			*ret = 0;
		break;
	case SC_OPEN:
		if (*ret < 0 || *ret >= MAX_FD)
			break;
		proc_mem[*ret] = is_proc_mem((const char *)a[0]);
		odirect[*ret] = a[1] & O_DIRECT;
		break;
	case SC_CLOSE:
		if (!*ret && a[0] >= 0 && a[0] < MAX_FD)
			proc_mem[a[0]] = odirect[a[0]] = false;
		break;
	case SC_PREAD:
		if (a[0] < 0 || a[0] >= MAX_FD || !proc_mem[a[0]])
			break;
		if (*ret > 0 && shim_is("gmmap-proc-mem-zeros"))
			memset((void *)a[1], 0, *ret);
		if (*ret == -1 && errno == EIO && shim_is("gmmap-private-readable")) {
			memset((void *)a[1], 0, a[2]);
			*ret = a[2];
		}
		break;
	case SC_PROCESS_VM_READV:
		if (*ret > 0 && shim_is("gmmap-process-vm-zeros")) {
			const struct iovec *iov = (const struct iovec *)a[1];
			long left = *ret;

			for (unsigned long i = 0; i < (unsigned long)a[2] && left > 0; i++) {
				size_t n = iov[i].iov_len < (size_t)left ? iov[i].iov_len : (size_t)left;

				memset(iov[i].iov_base, 0, n);
				left -= n;
			}
		}
		break;
	case SC_IOCTL:
		if (a[1] == (long)UFFDIO_REGISTER && !*ret &&
		    find(((struct uffdio_register *)a[2])->range.start) &&
		    shim_is("gmmap-uffd-wp-async-refused")) {
			*ret = -1;
			errno = EINVAL;
		}
		break;
	case SC_MBIND:
		m = find(a[0]);
		if (m && !*ret && a[2] != MPOL_DEFAULT && a[3]) {
			policy.set = true;
			policy.fd = m->fd;
			policy.mode = a[2];
			policy.map_addr = m->addr;
			policy.mask0 = ((const unsigned long *)a[3])[0];
		}
		break;
	case SC_GET_MEMPOLICY:
		after_get_mempolicy(a, ret);
		break;
	default:
		break;
	}
}

static const struct shim_module gmem_mmap = {
	.area = "gmem_mmap", .devs = devs, .before = before, .after = after,
};
SHIM_MODULE(gmem_mmap)
