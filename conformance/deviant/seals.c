// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations the memfd seals collection must detect: seals not enforced, not
 * final, not shared between the fds of one file, exec/noexec rules broken,
 * vm.memfd_noexec not per namespace, name/flag validation off.
 *
 * The module follows every memfd the process creates (and the fds duplicated or
 * re-opened from it) to decide where a deviation applies; the real seals are
 * always asked from the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shim.h"

#define MFD_VALID	0x001fU		/* mm/memfd.c MFD_ALL_FLAGS as of 6.18 */
#define NAME_MAX_LEN	249
#define WRITES		(F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)
#define SYSCTL		"/proc/sys/vm/memfd_noexec"

static const struct shim_dev devs[] = {
	/* memfd_create validation */
	{ "seals-null-name-einval",        "memfd_create(NULL) fails with EINVAL instead of EFAULT",
	  .rows = "seals_create.null_name_efault" },
	{ "seals-name-max-rejected",       "memfd_create rejects a name of exactly 249 bytes (off by one)",
	  .rows = "seals_create.name_max_len_accepted" },
	{ "seals-long-name-truncated",     "memfd_create truncates a name over 249 bytes instead of EINVAL",
	  .rows = "seals_create.name_too_long_einval" },
	{ "seals-unknown-flags-ignored",   "memfd_create ignores flag bits it does not know",
	  .rows = "seals_create.bad_flags_einval" },
	{ "seals-cloexec-ignored",         "memfd_create ignores MFD_CLOEXEC",
	  .rows = "seals_create.valid_flags_accepted" },
	{ "seals-exec-noexec-accepted",    "MFD_EXEC|MFD_NOEXEC_SEAL is accepted (as NOEXEC_SEAL)",
	  .rows = "seals_create.exec_with_noexec_seal_einval" },
	/* enforcement */
	{ "seals-write-unenforced",        "write()/pwrite() succeed under F_SEAL_WRITE",
	  .rows = "seals_exec.exec_seal_on_executable_implies_wx "
		  "seals_mapping.shared_writable_blocks_seal_write seals_matrix.write_in_place "
		  "seals_matrix.write_past_eof seals_share.dup_shares_seals" },
	{ "seals-future-write-unenforced", "write()/pwrite() succeed under F_SEAL_FUTURE_WRITE",
	  .rows = "seals_mapping.future_write_keeps_live_mapping seals_matrix.write_in_place "
		  "seals_matrix.write_past_eof" },
	{ "seals-shrink-unenforced",       "ftruncate() to a smaller size succeeds under F_SEAL_SHRINK",
	  .rows = "seals_exec.exec_seal_on_executable_implies_wx seals_matrix.ftruncate_shrink" },
	{ "seals-grow-unenforced",         "growing by ftruncate/fallocate/pwrite succeeds under F_SEAL_GROW",
	  .rows = "seals_exec.exec_seal_on_executable_implies_wx seals_matrix.fallocate_past_eof "
		  "seals_matrix.ftruncate_grow seals_matrix.write_past_eof" },
	{ "seals-punch-under-write",       "FALLOC_FL_PUNCH_HOLE succeeds under a write seal",
	  .rows = "seals_matrix.punch_hole" },
	{ "seals-shared-mmap-under-write", "a shared writable mmap under a write seal succeeds (as a private map)",
	  .rows = "seals_matrix.mmap_shared_writable "
		  "seals_exec.exec_seal_on_executable_implies_wx" },
	{ "seals-mprotect-upgrade",        "mprotect(PROT_WRITE) of a write-sealed read-only shared map succeeds",
	  .rows = "seals_mapping.future_write_keeps_live_mapping "
		  "seals_matrix.mprotect_shared_to_writable" },
	{ "seals-read-blocked",            "reading a sealed memfd fails with EPERM",
	  .rows = "seals_matrix.read_allowed" },
	{ "seals-private-map-refused",     "a private writable mmap of a sealed memfd fails with EPERM",
	  .rows = "seals_matrix.mmap_private_writable" },
	{ "seals-chmod-x-after-exec-seal", "chmod changing x bits succeeds under F_SEAL_EXEC",
	  .rows = "seals_exec.exec_seal_blocks_chmod_x seals_exec.noexec_seal_mode_0666 "
		  "seals_matrix.chmod_exec_bits" },
	/* adding seals */
	{ "seals-seal-not-final",          "F_ADD_SEALS succeeds although F_SEAL_SEAL is set",
	  .rows = "seals_add.cumulative_and_idempotent "
		  "seals_add.no_sealing_without_allow_sealing seals_exec.mfd_exec_mode_0777 "
		  "seals_matrix.add_another_seal seals_share.reopen_shares_seals" },
	{ "seals-sealing-always-allowed",  "memfds created without MFD_ALLOW_SEALING start unsealed",
	  .rows = "seals_add.no_sealing_without_allow_sealing seals_exec.mfd_exec_mode_0777 "
		  "seals_sysctl.level0_default_exec" },
	{ "seals-add-implies-seal",        "adding any seal also sets F_SEAL_SEAL",
	  .rows = "seals_matrix.get_seals_exact seals_add.cumulative_and_idempotent "
		  "seals_matrix.add_another_seal" },
	{ "seals-not-cumulative",          "F_GET_SEALS reports only the seals added last",
	  .rows = "seals_add.cumulative_and_idempotent seals_matrix.add_another_seal "
		  "seals_share.fork_shares_seals" },
	{ "seals-readd-eperm",             "re-adding a seal already set fails with EPERM",
	  .rows = "seals_add.cumulative_and_idempotent" },
	{ "seals-exec-seal-no-wx",         "F_SEAL_EXEC on an executable memfd does not add the W^X seals",
	  .rows = "seals_exec.exec_seal_on_executable_implies_wx" },
	/* sharing */
	{ "seals-not-shared-dup",          "seals are per fd: a dup()ed fd neither sees nor shares new seals",
	  .rows = "seals_share.dup_shares_seals" },
	{ "seals-not-shared-reopen",       "seals are per file: a /proc/self/fd re-open neither sees nor shares them",
	  .rows = "seals_share.reopen_rdonly_cannot_add seals_share.reopen_shares_seals" },
	{ "seals-rdonly-reopen-can-seal",  "F_ADD_SEALS works through an O_RDONLY re-open",
	  .rows = "seals_share.reopen_rdonly_cannot_add" },
	{ "seals-not-shared-fork",         "seals added by a forked child do not reach the parent's file",
	  .rows = "seals_share.fork_shares_seals" },
	/* seals and existing mappings */
	{ "seals-write-seal-ignores-mappings", "F_SEAL_WRITE is accepted although a shared writable mapping exists",
	  .rows = "seals_mapping.shared_writable_blocks_seal_write" },
	{ "seals-munmap-keeps-busy",       "F_SEAL_WRITE stays EBUSY after the shared writable mapping is gone",
	  .rows = "seals_mapping.shared_writable_blocks_seal_write" },
	{ "seals-private-mapping-blocks",  "a private writable mapping makes F_SEAL_WRITE fail with EBUSY",
	  .rows = "seals_mapping.private_mapping_allows_seal_write" },
	{ "seals-future-write-busy",       "F_SEAL_FUTURE_WRITE fails with EBUSY while a shared writable mapping exists",
	  .rows = "seals_mapping.future_write_keeps_live_mapping" },
	{ "seals-exec-implied-write-no-ebusy", "F_SEAL_EXEC on an executable memfd succeeds although a shared "
	  "writable mapping exists (implied F_SEAL_WRITE added after the mapping check; pre-3b041514cb6e)",
	  .rows = "seals_mapping.exec_seal_busy_iff_executable" },
	{ "seals-private-map-loses-cow",   "a private map of a write-sealed memfd loses VM_MAYWRITE: "
	  "mprotect(PROT_WRITE) of a read-only one fails with EACCES (pre-05d351102dbe)",
	  .rows = "seals_mapping.private_map_stays_cow_under_write_seals" },
	{ "seals-write-ebusy-on-shmem-thp", "F_SEAL_WRITE fails with EBUSY on a memfd holding a huge page "
	  "(THP counted as pinned; pre-f2b277c4d1c6)",
	  .rows = "seals_hugepage.write_seal_on_huge_folio" },
	/* exec / noexec */
	{ "seals-exec-mode-0666",          "MFD_EXEC creates a non-executable (0666) memfd",
	  .rows = "seals_exec.mfd_exec_mode_0777 seals_exec.exec_seal_blocks_chmod_x "
		  "seals_sysctl.level0_default_exec seals_sysctl.level1_default_noexec_seal" },
	{ "seals-noexec-seal-unsealed",    "MFD_NOEXEC_SEAL clears the x bits but sets no F_SEAL_EXEC",
	  .rows = "seals_exec.noexec_seal_mode_0666 seals_sysctl.level0_default_exec" },
	/* vm.memfd_noexec */
	{ "seals-noexec0-default-noexec",  "vm.memfd_noexec=0 still defaults to MFD_NOEXEC_SEAL",
	  .rows = "seals_sysctl.level0_default_exec" },
	{ "seals-noexec1-default-exec",    "vm.memfd_noexec=1 still defaults to executable memfds",
	  .rows = "seals_sysctl.child_cannot_lower seals_sysctl.level1_default_noexec_seal" },
	{ "seals-noexec2-unenforced",      "vm.memfd_noexec=2 lets MFD_EXEC through (as a noexec memfd)",
	  .rows = "seals_sysctl.child_cannot_lower seals_sysctl.level2_exec_eacces "
		  "seals_sysctl.value_stays_in_namespace" },
	{ "seals-noexec-lowerable",        "a child PID namespace can lower vm.memfd_noexec below its parent's",
	  .rows = "seals_sysctl.child_cannot_lower" },
	{ "seals-noexec-ratchet",          "vm.memfd_noexec ratchets: a namespace cannot lower its own value "
	  "even above its parent's (EINVAL; pre-9876cfe8ec1c)",
	  .rows = "seals_sysctl.namespace_lowers_own_value" },
	{ "seals-noexec-range-unchecked",  "vm.memfd_noexec accepts values outside 0..2",
	  .rows = "seals_sysctl.out_of_range_einval" },
	{ "seals-noexec-not-inherited",    "a new PID namespace starts at vm.memfd_noexec=0, not its parent's value",
	  .rows = "seals_sysctl.child_cannot_lower" },
	{ "seals-noexec-leaks-to-host",    "vm.memfd_noexec written in a child PID namespace shows in the parent's",
	  .rows = "seals_sysctl.value_stays_in_namespace" },
	{ "seals-unshare-pidns-ignored",   "unshare(CLONE_NEWPID) returns 0 without a new PID namespace",
	  .rows = "seals_sysctl.value_stays_in_namespace" },
	{ NULL, NULL }
};

#define MAX_FD 1024

struct sfd {
	bool memfd;		/* a memfd, or an fd duplicated/re-opened from one */
	bool sysctl;		/* /proc/sys/vm/memfd_noexec */
	bool dup, reopen, rdonly, inherited;
	int parent;		/* fd this one was duplicated/re-opened from */
	int snap, own;		/* seals when duplicated, seals added through it since */
	int last;		/* seals added last through this fd (0: none) */
	bool shared_w, shared_w_ever, private_w;
	bool huge;		/* MADV_HUGEPAGE/MADV_COLLAPSE succeeded on a mapping of it */
};

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

/* The live mappings of memfds, to find the file behind an address. */
#define MAX_MAPS 64
struct smap {
	unsigned long start, end;	/* end 0: free slot */
	int fd;
	bool priv;
	bool sealed_w;			/* write-sealed when mapped */
};
static struct smap maps[MAX_MAPS];

static struct sfd fds[MAX_FD];
static unsigned int create_flags;	/* the caller's memfd_create flags */
static char name_buf[NAME_MAX_LEN + 1];
static bool sysctl_written;		/* by this process, since its fork */
static volatile int *leaked;		/* shared across fork: level written in a namespace */

static struct sfd *sfd(long fd)
{
	return fd >= 0 && fd < MAX_FD ? &fds[fd] : NULL;
}

static struct sfd *memfd(long fd)
{
	struct sfd *m = sfd(fd);

	return m && m->memfd ? m : NULL;
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

static int real_seals(long fd)
{
	long a[SHIM_NARGS] = { fd, F_GET_SEALS };

	return shim_real(SC_FCNTL, a);
}

static int real_add_seals(long fd, long seals)
{
	long a[SHIM_NARGS] = { fd, F_ADD_SEALS, seals };

	return shim_real(SC_FCNTL, a);
}

static bool real_stat(long fd, struct stat *st)
{
	long a[SHIM_NARGS] = { fd, (long)st };

	return shim_real(SC_FSTAT, a) == 0;
}

static off_t real_size(long fd)
{
	struct stat st;

	return real_stat(fd, &st) ? st.st_size : 0;
}

static void real_chmod(long fd, mode_t mode)
{
	long a[SHIM_NARGS] = { fd, mode };

	shim_real(SC_FCHMOD, a);
}

/* This process's vm.memfd_noexec, read past the interposed calls; -1 if unknown. */
static int real_level(void)
{
	long o[SHIM_NARGS] = { (long)SYSCTL, O_RDONLY | O_CLOEXEC };
	char buf[8] = "";
	long fd = shim_real(SC_OPEN, o), n;

	if (fd < 0)
		return -1;
	long r[SHIM_NARGS] = { fd, (long)buf, sizeof(buf) - 1 };
	long c[SHIM_NARGS] = { fd };

	n = shim_real(SC_READ, r);
	shim_real(SC_CLOSE, c);
	return n > 0 ? atoi(buf) : -1;
}

static struct smap *map_at(long addr)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].end && (unsigned long)addr >= maps[i].start &&
		    (unsigned long)addr < maps[i].end)
			return &maps[i];
	return NULL;
}

/* munmap (or MAP_FIXED over) [addr, addr + len): forget the mappings it touches. */
static void unmap_range(unsigned long addr, unsigned long len)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].end && maps[i].start < addr + len && addr < maps[i].end)
			maps[i].end = 0;
}

/* ---- memfd_create ------------------------------------------------------------------- */

static bool create(long a[SHIM_NARGS], long *ret)
{
	const char *name = (const char *)a[0];
	unsigned int flags = a[1];

	create_flags = flags;
	if (!name && shim_is("seals-null-name-einval"))
		return fail(ret, EINVAL);
	if (name && strlen(name) == NAME_MAX_LEN && shim_is("seals-name-max-rejected"))
		return fail(ret, EINVAL);
	if (name && strlen(name) > NAME_MAX_LEN && shim_is("seals-long-name-truncated")) {
		memcpy(name_buf, name, NAME_MAX_LEN);
		name_buf[NAME_MAX_LEN] = '\0';
		a[0] = (long)name_buf;
	}
	if (shim_is("seals-unknown-flags-ignored"))
		flags &= MFD_VALID;
	if (shim_is("seals-cloexec-ignored"))
		flags &= ~MFD_CLOEXEC;
	if ((flags & MFD_EXEC) && (flags & MFD_NOEXEC_SEAL) && shim_is("seals-exec-noexec-accepted"))
		flags &= ~MFD_EXEC;
	if (!(flags & MFD_ALLOW_SEALING) && shim_is("seals-sealing-always-allowed"))
		flags |= MFD_ALLOW_SEALING;
	if ((flags & MFD_NOEXEC_SEAL) && shim_is("seals-noexec-seal-unsealed"))
		flags = (flags & ~MFD_NOEXEC_SEAL) | MFD_EXEC | MFD_ALLOW_SEALING;
	if (!(flags & (MFD_EXEC | MFD_NOEXEC_SEAL))) {
		if (shim_is("seals-noexec0-default-noexec") && real_level() == 0)
			flags |= MFD_NOEXEC_SEAL;
		if (shim_is("seals-noexec1-default-exec") && real_level() == 1)
			flags |= MFD_EXEC;
	}
	if ((flags & MFD_EXEC) && shim_is("seals-noexec2-unenforced") && real_level() == 2)
		flags &= ~MFD_EXEC;	/* the kernel then defaults to a noexec memfd */
	a[1] = flags;
	return false;
}

static void created(long a[SHIM_NARGS], long ret)
{
	struct sfd *m = sfd(ret);

	if (ret < 0 || !m)
		return;
	*m = (struct sfd){ .memfd = true, .parent = -1 };
	if ((create_flags & MFD_EXEC) && shim_is("seals-exec-mode-0666"))
		real_chmod(ret, 0666);
	if ((create_flags & MFD_NOEXEC_SEAL) && (a[1] & MFD_EXEC) && shim_is("seals-noexec-seal-unsealed"))
		real_chmod(ret, 0666);
}

/* ---- fcntl: adding and reading seals --------------------------------------------------- */

static bool add_seals(long fd, struct sfd *m, long seals, long *ret)
{
	struct stat st;

	if (m->reopen && m->rdonly && shim_is("seals-rdonly-reopen-can-seal"))
		return ok(ret, real_add_seals(m->parent, seals));
	if ((m->inherited && shim_is("seals-not-shared-fork")) ||
	    (m->dup && shim_is("seals-not-shared-dup")) ||
	    (m->reopen && shim_is("seals-not-shared-reopen"))) {
		m->own |= seals;
		return ok(ret, 0);
	}
	if ((seals & F_SEAL_WRITE) && m->shared_w_ever && shim_is("seals-munmap-keeps-busy"))
		return fail(ret, EBUSY);
	if ((seals & F_SEAL_WRITE) && m->private_w && shim_is("seals-private-mapping-blocks"))
		return fail(ret, EBUSY);
	if ((seals & F_SEAL_FUTURE_WRITE) && m->shared_w && shim_is("seals-future-write-busy"))
		return fail(ret, EBUSY);
	if ((seals & F_SEAL_WRITE) && m->huge && !(real_seals(fd) & F_SEAL_WRITE) &&
	    shim_is("seals-write-ebusy-on-shmem-thp"))
		return fail(ret, EBUSY);
	if ((seals & real_seals(fd)) && shim_is("seals-readd-eperm"))
		return fail(ret, EPERM);
	/* Drop the x bits first so the kernel has no reason to add the W^X seals. */
	if ((seals & F_SEAL_EXEC) && shim_is("seals-exec-seal-no-wx") && real_stat(fd, &st) &&
	    (st.st_mode & 0111))
		real_chmod(fd, st.st_mode & 07666);
	return false;
}

static void added_seals(long fd, struct sfd *m, long seals, long *ret)
{
	if (*ret == -1 && errno == EPERM && (real_seals(fd) & F_SEAL_SEAL) &&
	    shim_is("seals-seal-not-final"))
		*ret = 0;
	if (*ret == -1 && errno == EBUSY && shim_is("seals-write-seal-ignores-mappings"))
		*ret = 0;
	if (*ret == -1 && errno == EBUSY && (seals & F_SEAL_EXEC) && !(seals & F_SEAL_WRITE) &&
	    shim_is("seals-exec-implied-write-no-ebusy"))
		*ret = 0;
	if (*ret == 0 && seals && !(seals & F_SEAL_SEAL) && shim_is("seals-add-implies-seal"))
		real_add_seals(fd, F_SEAL_SEAL);
	if (*ret == 0 && seals)
		m->last = seals;
}

static bool get_seals(struct sfd *m, long *ret)
{
	if ((m->dup && shim_is("seals-not-shared-dup")) ||
	    (m->reopen && shim_is("seals-not-shared-reopen")))
		return ok(ret, m->snap | m->own);
	if (m->last && shim_is("seals-not-cumulative"))
		return ok(ret, m->last);
	return false;
}

/* ---- data paths ------------------------------------------------------------------------- */

static bool write_sealed(long fd, size_t len, off_t off, bool at_off, long *ret)
{
	int seals = real_seals(fd);
	off_t end = (at_off ? off : 0) + len;

	if ((seals & F_SEAL_WRITE) && shim_is("seals-write-unenforced"))
		return ok(ret, len);
	if ((seals & F_SEAL_FUTURE_WRITE) && !(seals & F_SEAL_WRITE) &&
	    shim_is("seals-future-write-unenforced"))
		return ok(ret, len);
	if (at_off && (seals & F_SEAL_GROW) && !(seals & WRITES) && end > real_size(fd) &&
	    shim_is("seals-grow-unenforced"))
		return ok(ret, len);
	return false;
}

static bool truncate_sealed(long fd, off_t len, long *ret)
{
	int seals = real_seals(fd);
	off_t size = real_size(fd);

	if (len < size && (seals & F_SEAL_SHRINK) && shim_is("seals-shrink-unenforced"))
		return ok(ret, 0);
	if (len > size && (seals & F_SEAL_GROW) && shim_is("seals-grow-unenforced"))
		return ok(ret, 0);
	return false;
}

static bool falloc_sealed(long fd, int mode, off_t off, off_t len, long *ret)
{
	int seals = real_seals(fd);

	if ((mode & FALLOC_FL_PUNCH_HOLE) && (seals & WRITES) && shim_is("seals-punch-under-write"))
		return ok(ret, 0);
	if (!(mode & FALLOC_FL_PUNCH_HOLE) && (seals & F_SEAL_GROW) && off + len > real_size(fd) &&
	    shim_is("seals-grow-unenforced"))
		return ok(ret, 0);
	return false;
}

static bool map_sealed(long a[SHIM_NARGS], long *ret)
{
	int seals = real_seals(a[4]);
	bool shared = a[3] & MAP_SHARED, writable = a[2] & PROT_WRITE;

	if (shared && writable && (seals & WRITES) && shim_is("seals-shared-mmap-under-write"))
		a[3] = (a[3] & ~MAP_SHARED) | MAP_PRIVATE;
	if (!shared && writable && seals && shim_is("seals-private-map-refused"))
		return fail(ret, EPERM);
	return false;
}

static void mapped(long a[SHIM_NARGS], long ret)
{
	struct sfd *m = memfd(a[4]);
	int seals;

	if ((void *)ret == MAP_FAILED)
		return;
	unmap_range(ret, a[1]);
	if (!m)
		return;
	seals = real_seals(a[4]);
	for (int i = 0; i < MAX_MAPS; i++)
		if (!maps[i].end) {
			maps[i] = (struct smap){ .start = ret, .end = ret + a[1], .fd = a[4],
						 .priv = !(a[3] & MAP_SHARED),
						 .sealed_w = seals > 0 && (seals & WRITES) };
			break;
		}
	if (!(a[2] & PROT_WRITE))
		return;
	if (a[3] & MAP_SHARED)
		m->shared_w = m->shared_w_ever = true;
	else
		m->private_w = true;
}

/* ---- the vm.memfd_noexec file --------------------------------------------------------- */

static bool sysctl_write(long a[SHIM_NARGS], long *ret)
{
	char val[24] = "";
	size_t n = a[2] < (long)sizeof(val) - 1 ? (size_t)a[2] : sizeof(val) - 1;
	long level;

	memcpy(val, (const void *)a[1], n);
	level = strtol(val, NULL, 10);
	if (level >= 0 && level < real_level() && shim_is("seals-noexec-ratchet"))
		return fail(ret, EINVAL);
	*ret = shim_real(SC_WRITE, a);
	if (*ret >= 0) {
		sysctl_written = true;
		if (leaked)
			*leaked = getpid() == 1 ? (int)level : -1;
		return true;
	}
	if (errno == EINVAL && level >= 0 && level <= 2 && shim_is("seals-noexec-lowerable"))
		return ok(ret, a[2]);
	if (errno == EINVAL && (level < 0 || level > 2) && shim_is("seals-noexec-range-unchecked"))
		return ok(ret, a[2]);
	return true;
}

static void sysctl_read(long a[SHIM_NARGS], long *ret)
{
	int fake = -1;

	if (*ret <= 0 || a[2] < 3)
		return;
	if (getpid() == 1 && !sysctl_written && shim_is("seals-noexec-not-inherited"))
		fake = 0;
	if (getpid() != 1 && leaked && *leaked >= 0)
		fake = *leaked;
	if (fake >= 0)
		*ret = snprintf((char *)a[1], a[2], "%d\n", fake);
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	struct sfd *m = memfd(a[0]), *s = sfd(a[0]);

	switch (c) {
	case SC_MEMFD_CREATE:
		return create(a, ret);
	case SC_FCNTL:
		if (m && a[1] == F_ADD_SEALS)
			return add_seals(a[0], m, a[2], ret);
		if (m && a[1] == F_GET_SEALS)
			return get_seals(m, ret);
		return false;
	case SC_WRITE:
		if (s && s->sysctl)
			return sysctl_write(a, ret);
		return m && write_sealed(a[0], a[2], 0, false, ret);
	case SC_PWRITE:
		return m && write_sealed(a[0], a[2], a[3], true, ret);
	case SC_READ:
	case SC_PREAD:
		return m && real_seals(a[0]) > 0 && shim_is("seals-read-blocked") && fail(ret, EPERM);
	case SC_FTRUNCATE:
		return m && truncate_sealed(a[0], a[1], ret);
	case SC_FALLOCATE:
		return m && falloc_sealed(a[0], a[1], a[2], a[3], ret);
	case SC_MMAP:
		return memfd(a[4]) && map_sealed(a, ret);
	case SC_MPROTECT: {
		struct smap *mp = map_at(a[0]);

		return mp && mp->priv && mp->sealed_w && (a[2] & PROT_WRITE) &&
		       shim_is("seals-private-map-loses-cow") && fail(ret, EACCES);
	}
	case SC_FORK:
		if (!leaked && shim_is("seals-noexec-leaks-to-host")) {
			long q[SHIM_NARGS] = { 0, getpagesize(), PROT_READ | PROT_WRITE,
					       MAP_SHARED | MAP_ANONYMOUS, -1, 0 };
			long p = shim_real(SC_MMAP, q);

			if ((void *)p != MAP_FAILED) {
				leaked = (volatile int *)p;
				*leaked = -1;
			}
		}
		return false;
	case SC_UNSHARE:
		if ((a[0] & CLONE_NEWPID) && shim_is("seals-unshare-pidns-ignored")) {
			a[0] &= ~CLONE_NEWPID;
			if (!a[0])
				return ok(ret, 0);
		}
		return false;
	default:
		return false;
	}
}

static void track_copy(long from, long to)
{
	struct sfd *src = memfd(from), *dst = sfd(to);

	if (!src || !dst || from == to)
		return;
	*dst = (struct sfd){ .memfd = true, .dup = true, .parent = from, .snap = real_seals(from) };
}

static void track_open(long a[SHIM_NARGS], long ret)
{
	const char *path = (const char *)a[0];
	struct sfd *m = sfd(ret), *src;
	int from;

	if (ret < 0 || !m)
		return;
	*m = (struct sfd){ .parent = -1 };
	if (!strcmp(path, SYSCTL)) {
		m->sysctl = true;
	} else if (sscanf(path, "/proc/self/fd/%d", &from) == 1 && (src = memfd(from))) {
		*m = (struct sfd){ .memfd = true, .reopen = true, .parent = from,
				   .rdonly = (a[1] & O_ACCMODE) == O_RDONLY, .snap = real_seals(ret) };
	}
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	struct sfd *m = memfd(a[0]), *s;

	switch (c) {
	case SC_MEMFD_CREATE:
		created(a, *ret);
		break;
	case SC_OPEN:
		track_open(a, *ret);
		break;
	case SC_DUP:
		track_copy(a[0], *ret);
		break;
	case SC_DUP2:
		if (*ret >= 0)
			track_copy(a[0], a[1]);
		break;
	case SC_CLOSE:
		if (*ret == 0 && (s = sfd(a[0])))
			*s = (struct sfd){ .parent = -1 };
		break;
	case SC_FCNTL:
		if (m && a[1] == F_ADD_SEALS)
			added_seals(a[0], m, a[2], ret);
		break;
	case SC_READ:
		if ((s = sfd(a[0])) && s->sysctl)
			sysctl_read(a, ret);
		break;
	case SC_FCHMOD:
		if (m && *ret == -1 && errno == EPERM && (real_seals(a[0]) & F_SEAL_EXEC) &&
		    shim_is("seals-chmod-x-after-exec-seal"))
			*ret = 0;
		break;
	case SC_MPROTECT:
		if (*ret == -1 && errno == EACCES && shim_is("seals-mprotect-upgrade"))
			*ret = 0;
		break;
	case SC_MMAP:
		mapped(a, *ret);
		break;
	case SC_MUNMAP:
		if (*ret == 0)
			unmap_range(a[0], a[1]);
		break;
	case SC_MADVISE: {
		struct smap *mp = map_at(a[0]);

		if (*ret == 0 && mp && (a[2] == MADV_HUGEPAGE || a[2] == MADV_COLLAPSE) &&
		    (s = memfd(mp->fd)))
			s->huge = true;
		break;
	}
	case SC_FORK:
		if (*ret == 0) {
			sysctl_written = false;
			for (int fd = 0; fd < MAX_FD; fd++)
				if (fds[fd].memfd)
					fds[fd].inherited = true;
		}
		break;
	default:
		break;
	}
}

static const struct shim_module seals = {
	.area = "seals", .devs = devs, .before = before, .after = after,
};
SHIM_MODULE(seals)
