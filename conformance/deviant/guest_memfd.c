// SPDX-License-Identifier: GPL-2.0
/* Deviations the guest_memfd collection must detect: creation, file ops, mmap, fallocate. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

static const struct shim_dev devs[] = {
	/* KVM_CREATE_GUEST_MEMFD / caps */
	{ "create-unaligned-size",   "KVM_CREATE_GUEST_MEMFD rounds an unaligned size up instead of EINVAL",
	  .rows = "create.size_unaligned_einval" },
	{ "create-size-zero",        "KVM_CREATE_GUEST_MEMFD accepts size 0",
	  .rows = "create.size_zero_einval" },
	{ "create-negative-size",    "KVM_CREATE_GUEST_MEMFD accepts a size with the sign bit set",
	  .rows = "create.size_negative_einval" },
	{ "unadvertised-flag",       "KVM_CREATE_GUEST_MEMFD ignores flag bits not in KVM_CAP_GUEST_MEMFD_FLAGS",
	  .rows = "create.flag_bits_follow_cap" },
	{ "advertised-flag-rejected", "KVM_CREATE_GUEST_MEMFD rejects INIT_SHARED although advertised",
	  .rows = "create.advertised_flags_combined create.flag_bits_follow_cap" },
	{ "cap-hides-flags",         "KVM_CAP_GUEST_MEMFD_FLAGS reads 0 while the flags still work",
	  .rows = "create.flag_bits_follow_cap" },
	{ "reserved-eperm",          "KVM_CREATE_GUEST_MEMFD fails reserved[] != 0 with EPERM",
	  .rows = "create.reserved_fields_ignored_or_einval" },
	{ "same-inode",              "every guest_memfd reports the same st_ino",
	  .rows = "create.multiple_fds_distinct" },
	{ "wrong-size",              "fstat reports st_size one page short",
	  .rows = "fileops.fstat_size_blksize create.multiple_fds_distinct" },
	{ "blksize-512",             "fstat reports st_blksize 512",
	  .rows = "fileops.fstat_size_blksize" },
	{ "fd-readonly",             "the guest_memfd is opened O_RDONLY",
	  .rows = "create.fd_is_read_write" },
	/* file operations */
	{ "read-succeeds",           "read() on guest_memfd returns data",
	  .rows = "fileops.read_einval" },
	{ "write-succeeds",          "write() on guest_memfd is accepted",
	  .rows = "fileops.write_einval" },
	{ "pread-succeeds",          "pread()/pwrite() on guest_memfd are accepted",
	  .rows = "fileops.pread_espipe fileops.pwrite_espipe" },
	{ "lseek-succeeds",          "lseek() on guest_memfd succeeds",
	  .rows = "fileops.lseek_espipe" },
	{ "ftruncate-resizes",       "ftruncate() on guest_memfd succeeds",
	  .rows = "fileops.ftruncate_einval" },
	{ "fsync-succeeds",          "fsync() on guest_memfd succeeds",
	  .rows = "fileops.fsync_einval" },
	{ "reopen-allowed",          "/proc/self/fd/N of a guest_memfd can be reopened",
	  .rows = "fileops.proc_reopen_enxio" },
	{ "seals-supported",         "F_GET_SEALS works on guest_memfd",
	  .rows = "fileops.seals_einval" },
	/* mmap */
	{ "mmap-without-flag",       "mmap() works on a guest_memfd created without MMAP",
	  .rows = "gmem_mmap.private_mapping_refused gmem_mmap.shared_mapping_follows_flag" },
	{ "mmap-private",            "MAP_PRIVATE mappings of guest_memfd are allowed",
	  .rows = "gmem_mmap.private_mapping_refused" },
	{ "no-sigbus-past-eof",      "pages past EOF of a guest_memfd mapping are accessible",
	  .rows = "gmem_mmap.sigbus_past_eof" },
	{ "private-pages-mappable",  "host faults on private (no INIT_SHARED) memory succeed",
	  .rows = "gmem_mmap.sigbus_on_private_memory" },
	{ "mmap-refused",            "mmap() fails with ENODEV although the guest_memfd has MMAP",
	  .rows = "gmem_mmap.shared_mapping_follows_flag gmem_mmap.private_mapping_refused" },
	{ "mmap-detached",           "MAP_SHARED of guest_memfd gives fresh memory, not the file's",
	  .rows = "gmem_mmap.data_round_trip gmem_mmap.punch_zeroes_only_the_range "
		  "gmem_mmap.sigbus_past_eof" },
	/* fallocate */
	{ "alloc-without-keep-size", "fallocate mode 0 is accepted",
	  .rows = "falloc.without_keep_size_eopnotsupp" },
	{ "zero-range",              "FALLOC_FL_ZERO_RANGE|KEEP_SIZE is accepted",
	  .rows = "falloc.other_modes_eopnotsupp" },
	{ "alloc-past-eof",          "allocation past EOF is accepted",
	  .rows = "falloc.allocate_past_eof_einval" },
	{ "punch-past-eof-einval",   "PUNCH_HOLE at or past EOF fails with EINVAL",
	  .rows = "falloc.punch_at_and_past_eof_ok" },
	{ "punch-unaligned",         "an unaligned PUNCH_HOLE is rounded and accepted",
	  .rows = "falloc.punch_unaligned_einval" },
	{ "alloc-unaligned",         "an unaligned allocation is rounded and accepted",
	  .rows = "falloc.allocate_unaligned_einval" },
	{ "alloc-enomem",            "KEEP_SIZE allocation within the file fails with ENOMEM",
	  .rows = "falloc.allocate_whole_file falloc.punch_then_reallocate" },
	{ "zero-len-accepted",       "fallocate with len 0 succeeds",
	  .rows = "falloc.zero_len_or_negative_offset_einval" },
	{ "punch-noop",              "PUNCH_HOLE succeeds but frees nothing",
	  .rows = "gmem_mmap.punch_zeroes_only_the_range guest.punch_hole_seen_by_guest "
		  "guest.punch_whole_file_seen_by_guest" },
	{ "punch-too-much",          "PUNCH_HOLE frees the whole file",
	  .rows = "gmem_mmap.punch_zeroes_only_the_range guest.punch_hole_seen_by_guest" },
	{ "punch-ignored-when-bound", "PUNCH_HOLE on a guest_memfd bound to a memslot leaves the guest's data",
	  .rows = "guest.punch_hole_seen_by_guest guest.punch_whole_file_seen_by_guest" },
	{ NULL, NULL }
};

static ino_t first_ino;

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

static bool create(long a[SHIM_NARGS], long *ret)
{
	/* The kernel sees a rewritten copy; the caller's struct stays as it was. */
	static __thread struct kvm_create_guest_memfd copy;
	long page = getpagesize();

	copy = *(struct kvm_create_guest_memfd *)a[2];
	a[2] = (long)&copy;
	if (shim_is("create-unaligned-size") && copy.size % page)
		copy.size = (copy.size + page - 1) / page * page;
	if (shim_is("create-size-zero") && copy.size == 0)
		copy.size = page;
	if (shim_is("create-negative-size") && (int64_t)copy.size < 0)
		copy.size = page;
	if (shim_is("unadvertised-flag")) {
		long q[SHIM_NARGS] = { a[0], KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS };
		long valid = shim_real(SC_IOCTL, q);

		copy.flags &= valid > 0 ? (uint64_t)valid : 0;
	}
	if (shim_is("advertised-flag-rejected") && (copy.flags & GUEST_MEMFD_FLAG_INIT_SHARED))
		return fail(ret, EINVAL);
	for (int i = 0; i < 6; i++)
		if (copy.reserved[i] && shim_is("reserved-eperm"))
			return fail(ret, EPERM);
	return false;
}

static void *anon(long addr, long len, long prot, long flags)
{
	long a[SHIM_NARGS] = { addr, len, prot, (flags & ~MAP_FILE) | MAP_ANONYMOUS, -1, 0 };

	return (void *)shim_real(SC_MMAP, a);
}

static bool map(long a[SHIM_NARGS], long *ret)
{
	struct shim_gmem *g = shim_gmem(a[4]);
	int flags = a[3];

	if (!g)
		return false;
	if ((g->flags & GUEST_MEMFD_FLAG_MMAP) && shim_is("mmap-refused"))
		return fail(ret, ENODEV);
	if (((g->flags & GUEST_MEMFD_FLAG_INIT_SHARED) && (flags & MAP_SHARED) && shim_is("mmap-detached")) ||
	    (!(g->flags & GUEST_MEMFD_FLAG_MMAP) && shim_is("mmap-without-flag")) ||
	    ((flags & MAP_PRIVATE) && shim_is("mmap-private")) ||
	    ((g->flags & GUEST_MEMFD_FLAG_MMAP) && !(g->flags & GUEST_MEMFD_FLAG_INIT_SHARED) &&
	     shim_is("private-pages-mappable")))
		return ok(ret, (long)anon(a[0], a[1], a[2], flags));
	return false;
}

static bool falloc(long a[SHIM_NARGS], long *ret)
{
	struct shim_gmem *g = shim_gmem(a[0]);
	long page = getpagesize();
	int mode = a[1];
	off_t off = a[2], len = a[3];
	bool punch = mode & FALLOC_FL_PUNCH_HOLE;

	if (!g)
		return false;
	if (len == 0 && shim_is("zero-len-accepted"))
		return ok(ret, 0);
	if (len <= 0 || off < 0)
		return false;
	if (mode == FALLOC_FL_KEEP_SIZE && (uint64_t)(off + len) <= g->size && shim_is("alloc-enomem"))
		return fail(ret, ENOMEM);
	if (mode == 0 && shim_is("alloc-without-keep-size"))
		a[1] = FALLOC_FL_KEEP_SIZE;
	if (mode == (FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE) && shim_is("zero-range"))
		return ok(ret, 0);
	if (!punch && mode == FALLOC_FL_KEEP_SIZE && (uint64_t)(off + len) > g->size &&
	    shim_is("alloc-past-eof"))
		return ok(ret, 0);
	if (punch && (uint64_t)(off + len) > g->size && shim_is("punch-past-eof-einval"))
		return fail(ret, EINVAL);
	if ((off % page || len % page) &&
	    (punch ? shim_is("punch-unaligned") : shim_is("alloc-unaligned"))) {
		off_t end = (off + len + page - 1) / page * page;

		a[2] = off / page * page;
		a[3] = end - a[2];
	}
	if (punch && (shim_is("punch-noop") || (g->bound && shim_is("punch-ignored-when-bound"))))
		return ok(ret, 0);
	if (punch && shim_is("punch-too-much")) {
		a[2] = 0;
		a[3] = g->size;
	}
	return false;
}

static bool reopen(const char *path, long *ret)
{
	int fd;

	if (sscanf(path, "/proc/self/fd/%d", &fd) == 1 && shim_gmem(fd) && shim_is("reopen-allowed")) {
		long a[SHIM_NARGS] = { fd };

		return ok(ret, shim_real(SC_DUP, a));
	}
	return false;
}

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	struct shim_gmem *g = shim_gmem(a[0]);

	switch (c) {
	case SC_IOCTL:
		if (a[1] == (long)KVM_CREATE_GUEST_MEMFD)
			return create(a, ret);
		if (a[1] == (long)KVM_CHECK_EXTENSION && a[2] == KVM_CAP_GUEST_MEMFD_FLAGS &&
		    shim_is("cap-hides-flags"))
			return ok(ret, 0);
		return false;
	case SC_OPEN:
		return reopen((const char *)a[0], ret);
	case SC_FCNTL:
		return g && a[1] == F_GET_SEALS && shim_is("seals-supported") && ok(ret, 0);
	case SC_READ:
	case SC_PREAD:
		if (g && (shim_is("read-succeeds") || (c == SC_PREAD && shim_is("pread-succeeds")))) {
			memset((void *)a[1], 0, a[2]);
			return ok(ret, a[2]);
		}
		return false;
	case SC_WRITE:
		return g && shim_is("write-succeeds") && ok(ret, a[2]);
	case SC_PWRITE:
		return g && shim_is("pread-succeeds") && ok(ret, a[2]);
	case SC_LSEEK:
		return g && shim_is("lseek-succeeds") && ok(ret, a[2] == SEEK_SET ? a[1] : 0);
	case SC_FTRUNCATE:
		return g && shim_is("ftruncate-resizes") && ok(ret, 0);
	case SC_FSYNC:
		return g && shim_is("fsync-succeeds") && ok(ret, 0);
	case SC_MMAP:
		return map(a, ret);
	case SC_FALLOCATE:
		return falloc(a, ret);
	default:
		return false;
	}
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	struct shim_gmem *g;

	switch (c) {
	case SC_IOCTL:
		if (a[1] == (long)KVM_CREATE_GUEST_MEMFD && *ret >= 0 && (g = shim_gmem(*ret)) && !first_ino)
			first_ino = g->ino;
		break;
	case SC_FSTAT:
		if (*ret || !(g = shim_gmem(a[0])))
			break;
		struct stat *st = (struct stat *)a[1];

		if (shim_is("same-inode") && first_ino)
			st->st_ino = first_ino;
		if (shim_is("wrong-size"))
			st->st_size -= getpagesize();
		if (shim_is("blksize-512"))
			st->st_blksize = 512;
		break;
	case SC_FCNTL:
		if (shim_gmem(a[0]) && a[1] == F_GETFL && *ret >= 0 && shim_is("fd-readonly"))
			*ret = (*ret & ~O_ACCMODE) | O_RDONLY;
		break;
	case SC_MMAP:
		g = shim_gmem(a[4]);
		if (g && (void *)*ret != MAP_FAILED && (uint64_t)a[5] + a[1] > g->size &&
		    shim_is("no-sigbus-past-eof")) {
			size_t keep = g->size > (uint64_t)a[5] ? g->size - a[5] : 0;

			anon(*ret + keep, a[1] - keep, a[2], MAP_SHARED | MAP_FIXED);
		}
		break;
	default:
		break;
	}
}

static const struct shim_module guest_memfd = {
	.area = "guest_memfd", .devs = devs, .before = before, .after = after,
};
SHIM_MODULE(guest_memfd)
