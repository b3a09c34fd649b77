// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations the secretmem collection must detect: memfd_secret creation, its
 * file operations, mappings, the refusal of every remote access path, fork,
 * RLIMIT_MEMLOCK, zeroing and the direct-map bookkeeping.
 *
 * The module tracks what it needs itself: fds memfd_secret returned, the
 * secretmem mappings of this process (a forked child inherits them at the same
 * addresses, and they share pages, which lets a "remote" read be answered from
 * the local mapping), and the fds of the /proc files the collection reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "shim.h"

static const struct shim_dev devs[] = {
	/* creation */
	{ "secret-flag-accepted",      "memfd_secret ignores flag bits other than O_CLOEXEC instead of EINVAL",
	  .rows = "secret_create.flags_other_than_cloexec_einval" },
	{ "secret-cloexec-ignored",    "memfd_secret(O_CLOEXEC) returns an fd without FD_CLOEXEC",
	  .rows = "secret_create.cloexec_sets_fd_cloexec" },
	{ "secret-is-memfd",           "memfd_secret silently returns a plain memfd (tmpfs: in the direct map, reachable by GUP)",
	  .rows = "secret_create.fd_is_secretmem secret_access.proc_mem_eio "
		  "secret_access.process_vm_rw_efault secret_access.ptrace_peek_poke_eio "
		  "secret_access.vmsplice_efault" },
	/* file operations */
	{ "secret-resizable",          "ftruncate of a sized secretmem file succeeds",
	  .rows = "secret_fileops.ftruncate_sets_size_once "
		  "secret_fileops.ftruncate_zero_keeps_it_resizable" },
	{ "secret-size-fixed-at-zero", "ftruncate(0) counts as the one size change: the file can never be sized",
	  .rows = "secret_fileops.ftruncate_zero_keeps_it_resizable" },
	{ "secret-first-size-lost",    "the first ftruncate of an already mapped secretmem file returns 0 but the "
	  "size stays 0 (its faults keep getting SIGBUS)",
	  .rows = "secret_race.first_faults_vs_first_truncate" },
	{ "secret-read-succeeds",      "read()/write() on a secretmem fd transfer data",
	  .rows = "secret_fileops.read_write_einval" },
	{ "secret-pread-succeeds",     "pread()/pwrite() on a secretmem fd transfer data",
	  .rows = "secret_fileops.pread_pwrite_espipe" },
	{ "secret-lseek-succeeds",     "lseek() on a secretmem fd succeeds",
	  .rows = "secret_fileops.lseek_espipe" },
	{ "secret-fallocate-succeeds", "fallocate() (allocate, punch) on a secretmem fd succeeds",
	  .rows = "secret_fileops.fallocate_eopnotsupp" },
	{ "secret-fsync-succeeds",     "fsync() on a secretmem fd succeeds",
	  .rows = "secret_fileops.fsync_einval" },
	{ "secret-reopen-allowed",     "/proc/self/fd/N of a secretmem fd can be reopened",
	  .rows = "secret_fileops.proc_reopen_enxio" },
	{ "secret-seals-supported",    "F_GET_SEALS works on a secretmem fd",
	  .rows = "secret_fileops.seals_einval" },
	/* mappings */
	{ "secret-map-private",        "MAP_PRIVATE of secretmem is allowed (copy-on-write into anonymous memory)",
	  .rows = "secret_mmap.map_private_einval" },
	{ "secret-mmap-detached",      "MAP_SHARED of secretmem gives fresh memory instead of the file's pages",
	  .rows = "secret_mmap.map_shared_round_trip secret_fork.child_shares_pages" },
	{ "secret-no-sigbus-past-eof", "secretmem pages at or past i_size can be faulted",
	  .rows = "secret_mmap.fault_past_size_sigbus" },
	{ "secret-dumpable",           "secretmem VMAs lack VM_DONTDUMP (secrets go into core dumps)",
	  .rows = "secret_fork.child_shares_pages secret_mmap.vma_shared_and_dontdump" },
	{ "secret-mlock-succeeds",     "mlock() of a secretmem range succeeds",
	  .rows = "secret_mmap.mlock_enomem" },
	/* remote access */
	{ "secret-vmsplice-pins",      "vmsplice pins secretmem pages (GUP does not refuse them)",
	  .rows = "secret_access.vmsplice_efault" },
	{ "secret-remote-rw",          "process_vm_readv/writev reach another process's secretmem",
	  .rows = "secret_access.process_vm_rw_efault" },
	{ "secret-ptrace-peek",        "PTRACE_PEEKDATA/POKEDATA read and write secretmem",
	  .rows = "secret_access.ptrace_peek_poke_eio" },
	{ "secret-proc-mem-readable",  "/proc/pid/mem reads and writes secretmem",
	  .rows = "secret_access.proc_mem_eio" },
	/* fork */
	{ "secret-fork-detached",      "a forked child gets fresh pages instead of sharing the parent's secretmem",
	  .rows = "secret_fork.child_shares_pages" },
	{ "secret-dontfork-ignored",   "MADV_DONTFORK on secretmem is ignored: the child inherits the mapping",
	  .rows = "secret_fork.dontfork_leaves_child_unmapped" },
	/* accounting, zeroing, direct map */
	{ "secret-memlock-unenforced", "RLIMIT_MEMLOCK does not bound secretmem mappings",
	  .rows = "secret_memlock.rlimit_memlock_bounds_secret_pages" },
	{ "secret-stale-pages",        "freed secretmem pages reach the next secretmem file with their contents",
	  .rows = "secret_zero.new_pages_zero_after_freed_secrets" },
	{ "secret-directmap-unaccounted", "DirectMap4k grows by 4 kB per secret page without a split being counted",
	  .rows = "secret_directmap.split_accounting_consistent" },
	{ NULL, NULL }
};

#define MAX_FD 4096
#define MAX_MAPS 64

enum fd_kind { FD_OTHER, FD_SECRET, FD_PROC_MEM, FD_SMAPS, FD_MEMINFO };
static unsigned char kind[MAX_FD];
static bool sized_once[MAX_FD];

static struct { uintptr_t addr; size_t len; long fd, off; } maps[MAX_MAPS];
static long secret_pages_mapped;
static unsigned char stash[4096];
static bool stash_valid;

static bool fail(long *ret, int err)
{
	errno = err;
	*ret = -1;
	return true;
}

static bool ok(long *ret, long v)
{
	errno = 0;
	*ret = v;
	return true;
}

static enum fd_kind fd_kind(long fd)
{
	struct statfs s;

	if (fd < 0 || fd >= MAX_FD)
		return FD_OTHER;
	if (kind[fd] == FD_OTHER && !fstatfs(fd, &s) && s.f_type == SECRETMEM_MAGIC)
		kind[fd] = FD_SECRET;	/* inherited or created before tracking */
	return kind[fd];
}

static bool is_secret(long fd)
{
	return fd_kind(fd) == FD_SECRET;
}

static bool in_secret(long addr)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].len && (uintptr_t)addr >= maps[i].addr &&
		    (uintptr_t)addr < maps[i].addr + maps[i].len)
			return true;
	return false;
}

static long file_size(long fd)
{
	struct stat st;
	long a[SHIM_NARGS] = { fd, (long)&st };

	return shim_real(SC_FSTAT, a) ? -1 : st.st_size;
}

static long anon(long len, long prot, long flags)
{
	long a[SHIM_NARGS] = { 0, len, prot, flags | MAP_ANONYMOUS, -1, 0 };

	return shim_real(SC_MMAP, a);
}

static bool create(long a[SHIM_NARGS], long *ret)
{
	unsigned int flags = a[1];

	if (shim_is("secret-flag-accepted"))
		a[1] = flags & O_CLOEXEC;
	if (shim_is("secret-cloexec-ignored"))
		a[1] = flags & ~O_CLOEXEC;
	if (shim_is("secret-is-memfd")) {
		long m[SHIM_NARGS] = { (long)"secretmem", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0 };

		if (flags & ~O_CLOEXEC)
			return fail(ret, EINVAL);
		*ret = shim_real(SC_MEMFD_CREATE, m);
		if (*ret >= 0 && *ret < MAX_FD)
			kind[*ret] = FD_SECRET;
		return true;
	}
	return false;
}

static bool is_mapped(long fd)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].len && maps[i].fd == fd)
			return true;
	return false;
}

static bool truncate_(long a[SHIM_NARGS], long *ret)
{
	if (!is_secret(a[0]))
		return false;
	if (shim_is("secret-first-size-lost") && file_size(a[0]) == 0 && a[1] > 0 && is_mapped(a[0]))
		return ok(ret, 0);	/* "sized", the size stays 0 */
	if (shim_is("secret-resizable") && file_size(a[0]) > 0)
		return ok(ret, 0);	/* "resized" */
	if (shim_is("secret-size-fixed-at-zero")) {
		if (sized_once[a[0]])
			return fail(ret, EINVAL);
		*ret = shim_real(SC_FTRUNCATE, a);
		if (*ret == 0)
			sized_once[a[0]] = true;
		return true;
	}
	return false;
}

static bool map(long a[SHIM_NARGS], long *ret)
{
	long len = a[1], prot = a[2], flags = a[3], fd = a[4], off = a[5];

	if (!is_secret(fd))
		return false;
	if ((flags & MAP_PRIVATE) && shim_is("secret-map-private"))
		return ok(ret, anon(len, prot, MAP_PRIVATE));
	if ((flags & MAP_SHARED) && shim_is("secret-mmap-detached"))
		return ok(ret, anon(len, prot, MAP_SHARED));
	if (off + len > file_size(fd) && shim_is("secret-no-sigbus-past-eof"))
		return ok(ret, anon(len, prot, MAP_SHARED));
	return false;
}

static void mapped(long a[SHIM_NARGS], long *ret)
{
	long len = a[1], fd = a[4], off = a[5];
	int i;

	if (!is_secret(fd))
		return;
	if (*ret == -1 && errno == EAGAIN && shim_is("secret-memlock-unenforced")) {
		*ret = anon(len, a[2], MAP_SHARED);
		return;
	}
	if (*ret == -1)
		return;
	for (i = 0; i < MAX_MAPS && maps[i].len; i++)
		;
	if (i < MAX_MAPS)
		maps[i].addr = *ret, maps[i].len = len, maps[i].fd = fd, maps[i].off = off;
	secret_pages_mapped += len / getpagesize();
	if (stash_valid && (a[2] & PROT_WRITE) && file_size(fd) >= off + (long)sizeof(stash) &&
	    shim_is("secret-stale-pages"))
		memcpy((void *)*ret, stash, sizeof(stash));
}

static void unmapping(long addr, long len)
{
	for (int i = 0; i < MAX_MAPS; i++) {
		if (!maps[i].len || maps[i].addr < (uintptr_t)addr ||
		    maps[i].addr + maps[i].len > (uintptr_t)addr + len)
			continue;
		if (shim_is("secret-stale-pages") && maps[i].len >= sizeof(stash) &&
		    file_size(maps[i].fd) >= maps[i].off + (long)sizeof(stash)) {
			const unsigned char *p = (const void *)maps[i].addr;

			for (size_t b = 0; b < sizeof(stash); b++)
				if (p[b]) {
					memcpy(stash, p, sizeof(stash));
					stash_valid = true;
					break;
				}
		}
		maps[i].len = 0;
	}
}

static bool reopen(const char *path, long *ret)
{
	int fd;

	if (sscanf(path, "/proc/self/fd/%d", &fd) == 1 && is_secret(fd) &&
	    shim_is("secret-reopen-allowed")) {
		long a[SHIM_NARGS] = { fd };

		return ok(ret, shim_real(SC_DUP, a));
	}
	return false;
}

static void opened(const char *path, long fd)
{
	size_t n = strlen(path);
	char rest[8];
	int pid;

	if (fd < 0 || fd >= MAX_FD)
		return;
	kind[fd] = FD_OTHER;
	if (!strcmp(path, "/proc/meminfo"))
		kind[fd] = FD_MEMINFO;
	else if (n >= 6 && !strcmp(path + n - 6, "/smaps"))
		kind[fd] = FD_SMAPS;
	else if (!strcmp(path, "/proc/self/mem") ||
		 (sscanf(path, "/proc/%d/%7s", &pid, rest) == 2 && !strcmp(rest, "mem")))
		kind[fd] = FD_PROC_MEM;
}

/* Drop " dd" from VmFlags lines: the VMAs no longer say VM_DONTDUMP. */
static void strip_dontdump(char *buf, long *len)
{
	char *v = buf, *end = buf + *len;

	while ((v = memmem(v, end - v, "VmFlags:", 8))) {
		char *eol = memchr(v, '\n', end - v), *d;

		if (!eol)
			eol = end;
		d = memmem(v, eol - v, " dd", 3);
		if (d && (d + 3 == eol || d[3] == ' ' || d[3] == '\n')) {
			memmove(d, d + 3, end - (d + 3));
			end -= 3, eol -= 3;
		}
		v = eol;
	}
	*len = end - buf;
}

/* Add 4 kB per secret page mapped so far to DirectMap4k, nothing to the split counters. */
static void drift_directmap(char *buf, long len)
{
	char *f = memmem(buf, len, "DirectMap4k:", 12), *kb, tmp[32];
	unsigned long long v;
	int width;

	if (!f || !(kb = memmem(f, buf + len - f, " kB", 3)))
		return;
	f += 12;
	width = kb - f;
	v = strtoull(f, NULL, 10) + 4ull * secret_pages_mapped;
	if (snprintf(tmp, sizeof(tmp), "%*llu", width, v) == width)
		memcpy(f, tmp, width);
}

/* The child of a fork sees fresh zero pages where the secretmem mappings were. */
static void detach_child(void)
{
	for (int i = 0; i < MAX_MAPS; i++) {
		long a[SHIM_NARGS] = { (long)maps[i].addr, (long)maps[i].len, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0 };

		if (maps[i].len)
			shim_real(SC_MMAP, a);
	}
}

static long copy_iov(const struct iovec *to, const struct iovec *from)
{
	size_t n = to->iov_len < from->iov_len ? to->iov_len : from->iov_len;

	memcpy(to->iov_base, from->iov_base, n);
	return n;
}

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	switch (c) {
	case SC_SYSCALL:
		return a[0] == SYS_memfd_secret && create(a, ret);
	case SC_FTRUNCATE:
		return truncate_(a, ret);
	case SC_READ:
	case SC_WRITE:
		if (is_secret(a[0]) && shim_is("secret-read-succeeds")) {
			if (c == SC_READ)
				memset((void *)a[1], 0, a[2]);
			return ok(ret, a[2]);
		}
		return false;
	case SC_PREAD:
	case SC_PWRITE:
		if (is_secret(a[0]) && shim_is("secret-pread-succeeds")) {
			if (c == SC_PREAD)
				memset((void *)a[1], 0, a[2]);
			return ok(ret, a[2]);
		}
		if (fd_kind(a[0]) == FD_PROC_MEM && in_secret(a[3]) &&
		    shim_is("secret-proc-mem-readable")) {
			if (c == SC_PREAD)
				memcpy((void *)a[1], (void *)a[3], a[2]);
			else
				memcpy((void *)a[3], (void *)a[1], a[2]);
			return ok(ret, a[2]);
		}
		return false;
	case SC_LSEEK:
		return is_secret(a[0]) && shim_is("secret-lseek-succeeds") && ok(ret, 0);
	case SC_FALLOCATE:
		return is_secret(a[0]) && shim_is("secret-fallocate-succeeds") && ok(ret, 0);
	case SC_FSYNC:
		return is_secret(a[0]) && shim_is("secret-fsync-succeeds") && ok(ret, 0);
	case SC_OPEN:
		return reopen((const char *)a[0], ret);
	case SC_FCNTL:
		return is_secret(a[0]) && a[1] == F_GET_SEALS && shim_is("secret-seals-supported") &&
		       ok(ret, 0);
	case SC_MMAP:
		return map(a, ret);
	case SC_MUNMAP:
		unmapping(a[0], a[1]);
		return false;
	case SC_MLOCK:
	case SC_MLOCK2:
		return in_secret(a[0]) && shim_is("secret-mlock-succeeds") && ok(ret, 0);
	case SC_MADVISE:
		return a[2] == MADV_DONTFORK && in_secret(a[0]) && shim_is("secret-dontfork-ignored") &&
		       ok(ret, 0);
	case SC_VMSPLICE: {
		const struct iovec *iov = (const void *)a[1];

		return a[2] > 0 && in_secret((long)iov->iov_base) && shim_is("secret-vmsplice-pins") &&
		       ok(ret, iov->iov_len);
	}
	case SC_PROCESS_VM_READV:
	case SC_PROCESS_VM_WRITEV: {
		const struct iovec *local = (const void *)a[1], *remote = (const void *)a[3];

		if (a[2] < 1 || a[4] < 1 || !in_secret((long)remote->iov_base) ||
		    !shim_is("secret-remote-rw"))
			return false;
		/* The child's pages are the parent's: answer from the local mapping. */
		return ok(ret, c == SC_PROCESS_VM_READV ? copy_iov(local, remote) : copy_iov(remote, local));
	}
	case SC_PTRACE:
		if ((a[0] == PTRACE_PEEKDATA || a[0] == PTRACE_POKEDATA) && in_secret(a[2]) &&
		    shim_is("secret-ptrace-peek")) {
			if (a[0] == PTRACE_PEEKDATA)
				return ok(ret, *(long *)a[2]);
			*(long *)a[2] = a[3];
			return ok(ret, 0);
		}
		return false;
	default:
		return false;
	}
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	switch (c) {
	case SC_SYSCALL:
		if (a[0] == SYS_memfd_secret && *ret >= 0 && *ret < MAX_FD)
			kind[*ret] = FD_SECRET, sized_once[*ret] = false;
		break;
	case SC_OPEN:
		opened((const char *)a[0], *ret);
		break;
	case SC_CLOSE:
		if (*ret == 0 && a[0] >= 0 && a[0] < MAX_FD)
			kind[a[0]] = FD_OTHER, sized_once[a[0]] = false;
		break;
	case SC_MMAP:
		mapped(a, ret);
		break;
	case SC_READ:
		if (*ret > 0 && fd_kind(a[0]) == FD_SMAPS && shim_is("secret-dumpable"))
			strip_dontdump((char *)a[1], ret);
		if (*ret > 0 && fd_kind(a[0]) == FD_MEMINFO && shim_is("secret-directmap-unaccounted"))
			drift_directmap((char *)a[1], *ret);
		break;
	case SC_FORK:
		if (*ret == 0 && shim_is("secret-fork-detached"))
			detach_child();
		break;
	default:
		break;
	}
}

static const struct shim_module secretmem = {
	.area = "secretmem", .devs = devs, .before = before, .after = after
};
SHIM_MODULE(secretmem)
