/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ancestors of guest_memfd: interfaces proposed on the lists but never
 * merged, and what replaced them upstream. The historical collection reports,
 * per ancestor, whether this kernel has it (present/absent) by a probe that is
 * safe on any kernel, and checks that the ancestor's promise holds in the
 * upstream mechanism that replaced it.
 *
 *  ancestor (proposal, date)                     uapi it proposed                      replaced upstream by
 *  --------------------------------------------  ------------------------------------  -------------------------------------------
 *  "KVM protected memory extension" RFC v1/v2    KVM_FEATURE_MEM_PROTECTED (cpuid bit  guest_memfd (KVM_CREATE_GUEST_MEMFD, 6.8),
 *  (Kirill Shutemov, 2020-05-22 / 2020-10-20)    14, then 15), KVM_HC_ENABLE_MEM_      private/shared per GPA by
 *                                                PROTECTED (hypercall 12), KVM_HC_MEM_ KVM_SET_MEMORY_ATTRIBUTES (6.8); host
 *                                                SHARE/UNSHARE (13/14); VM_KVM_        mmap of it only via GUEST_MEMFD_FLAG_MMAP,
 *                                                PROTECTED VMAs made PROT_NONE,        private pages SIGBUS unless INIT_SHARED
 *                                                FOLL_KVM GUP; host access: SIGBUS,    (6.18)
 *                                                GUP: -EFAULT
 *  "unmap guest memory using poisoned pages"     KVM_FEATURE_MEM_PROTECTED (bit 16),   the same guest_memfd private state, kept per
 *  RFC v1 7/7 (Kirill Shutemov, 2021-04-02)      hypercalls 12/13; private pages       inode (as the thread's "per-inode tracking"
 *                                                marked PG_hwpoison behind             foresaw) instead of PG_hwpoison; a gmem is
 *                                                SWP_HWPOISON entries: SIGBUS (as a    bound only to its own VM; real poison is
 *                                                memory error), GUP -EFAULT            reported apart (KVM_RUN EHWPOISON,
 *                                                                                      KVM_CAP_MEMORY_FAULT_INFO, 6.8)
 *  MFD_INACCESSIBLE + memfile_notifier           memfd_create flag MFD_INACCESSIBLE    KVM_CREATE_GUEST_MEMFD (6.8): a KVM-owned
 *  v3..v7 (Chao Peng, 2021-12 .. 2022-07)        0x0008 (no read/write/mmap),          fd with no read/write, mmap only with
 *                                                INACCESSIBLE_MAGIC fs (v7)            GUEST_MEMFD_FLAG_MMAP (6.18). 0x0008 is
 *                                                                                      MFD_NOEXEC_SEAL since 6.3
 *  F_SEAL_INACCESSIBLE (same series, v3/v4;      fcntl seal 0x0020 (v5 made it         same; 0x0020 is F_SEAL_EXEC since 6.3
 *  dropped in v5, 2022-03)                       in-kernel only)
 *  memfd_restricted() v8..v10                    new syscall memfd_restricted(flags),  KVM_CREATE_GUEST_MEMFD (6.8). Its x86
 *  (Chao Peng / Kirill Shutemov, 2022-09 ..      number 451 in the series,             number 451 is cachestat() since 6.5
 *  2022-12)                                      RESTRICTEDMEM_MAGIC 0x5245534d
 *
 * Every number above is the series' own (lore: 20200522125214.31348-1,
 * 20201020061859.18385-1, 20210402152645.26680-8, 20220118132121.31388-1 (v4),
 * 20220310140911.50924-1 (v5), 20221025151344.3784230-1 (v9),
 * 20221202061347.1070246-1 (v10)). None is ABI: these are for probing only and
 * do not belong in lib/compat.h. No guessed syscall number is ever called.
 */
#ifndef PRIVMEM_HISTORICAL_H
#define PRIVMEM_HISTORICAL_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Never merged: the values the series proposed (see the table above). */
#define HIST_MFD_INACCESSIBLE		0x0008U		/* v3..v7 include/uapi/linux/memfd.h */
#define HIST_F_SEAL_INACCESSIBLE	0x0020		/* v3/v4 include/uapi/linux/fcntl.h */

/* The upstream owners of those bits today: MFD_NOEXEC_SEAL, F_SEAL_EXEC (Linux 6.3). */
#include "compat.h"

/* cachestat(2), Linux 6.5: the owner of the number memfd_restricted had (451). */
#ifndef __NR_cachestat
#define __NR_cachestat		451
#endif
struct hist_cachestat_range {
	uint64_t off, len;
};
struct hist_cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

/*
 * /proc/kallsyms names, looked up once per process (the file is ~5 MB, 50 ms
 * to read). A syscall name matches its entry points on every arch and
 * version ("sys_x", "__x64_sys_x", "__arm64_sys_x", "__se_sys_x", ...).
 */
enum hist_sym {
	HIST_SYM_MEMFD_CREATE,		/* control: present on every kernel with memfd */
	HIST_SYM_MEMFD_RESTRICTED,	/* syscall of memfd_restricted v8..v10 */
	HIST_SYM_RESTRICTEDMEM_GET_PAGE,/* its in-kernel interface for KVM */
	HIST_SYM_CACHESTAT,		/* syscall, 6.5 */
	HIST_SYM_KVM_PROTECT_ALL_MEMORY,/* 2020 RFC: handler of KVM_HC_ENABLE_MEM_PROTECTED */
	HIST_SYM_KVM_INIT_PROTECTED_MEMORY, /* 2020 RFCv2 virt/lib/mem_protected.c */
	HIST_SYM_KVM_SHARE_MEMORY,	/* 2021 PG_hwpoison RFC: handler of KVM_HC_MEM_SHARE */
	HIST_SYM_GFN_IS_SHARED,		/* 2021 PG_hwpoison RFC */
	HIST_SYM_NR
};

struct hist_syms {
	bool readable;			/* the file could be read and had names */
	bool found[HIST_SYM_NR];
};

static const struct {
	const char *name;
	bool syscall;
} hist_sym_names[HIST_SYM_NR] = {
	[HIST_SYM_MEMFD_CREATE] = { "memfd_create", true },
	[HIST_SYM_MEMFD_RESTRICTED] = { "memfd_restricted", true },
	[HIST_SYM_RESTRICTEDMEM_GET_PAGE] = { "restrictedmem_get_page", false },
	[HIST_SYM_CACHESTAT] = { "cachestat", true },
	[HIST_SYM_KVM_PROTECT_ALL_MEMORY] = { "kvm_protect_all_memory", false },
	[HIST_SYM_KVM_INIT_PROTECTED_MEMORY] = { "kvm_init_protected_memory", false },
	[HIST_SYM_KVM_SHARE_MEMORY] = { "kvm_share_memory", false },
	[HIST_SYM_GFN_IS_SHARED] = { "gfn_is_shared", false },
};

static inline bool hist_sym_match(const char *sym, size_t len, int i)
{
	const char *want = hist_sym_names[i].name;
	size_t n = strlen(want);

	if (len == n && !memcmp(sym, want, n))
		return true;
	if (!hist_sym_names[i].syscall || len < n + 4)
		return false;
	/* "sys_<name>" alone or as the tail of an arch/wrapper prefix ("__x64_sys_"). */
	return !memcmp(sym + len - n, want, n) && !memcmp(sym + len - n - 4, "sys_", 4) &&
	       (len == n + 4 || sym[len - n - 5] == '_');
}

/* One line: "<addr> <type> <name>[\t[module]]". */
static inline void hist_sym_line(struct hist_syms *s, const char *line, size_t len)
{
	const char *name = memchr(line, ' ', len);
	size_t n;

	if (!name || (name = memchr(name + 1, ' ', len - (name + 1 - line))) == NULL)
		return;
	name++;
	n = len - (name - line);
	for (size_t i = 0; i < n; i++)
		if (name[i] == '\t' || name[i] == ' ') {
			n = i;
			break;
		}
	s->readable = true;
	for (int i = 0; i < HIST_SYM_NR; i++)
		if (hist_sym_match(name, n, i))
			s->found[i] = true;
}

/* Scan /proc/kallsyms (with the libc calls, so the deviant shim sees them). */
static inline void hist_syms_scan(struct hist_syms *s)
{
	static char buf[1 << 16];
	size_t have = 0;
	int fd = open("/proc/kallsyms", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	memset(s, 0, sizeof(*s));
	if (fd < 0)
		return;
	while ((n = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		char *p = buf, *end = buf + have + n, *nl;

		while ((nl = memchr(p, '\n', end - p))) {
			hist_sym_line(s, p, nl - p);
			p = nl + 1;
		}
		have = end - p;
		memmove(buf, p, have);
	}
	close(fd);
}

static inline const char *hist_verdict(bool present)
{
	return present ? "present" : "absent";
}

/*
 * A sealable memfd holding `size` bytes of `fill`, mode 0666 and no seals
 * whatever the vm.memfd_noexec default (created MFD_EXEC where the kernel has
 * it, then made non-executable). -1 with errno (EACCES: vm.memfd_noexec=2).
 */
static inline int hist_memfd(size_t size, char fill)
{
	unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	int fd = memfd_create("hist", flags | MFD_EXEC);
	char *buf;

	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("hist", flags);
	if (fd < 0)
		return -1;
	buf = malloc(size);
	if (!buf || fchmod(fd, 0666) || pwrite(fd, memset(buf, fill, size), size, 0) != (ssize_t)size) {
		int err = buf ? errno : ENOMEM;

		free(buf);
		close(fd);
		errno = err;
		return -1;
	}
	free(buf);
	return fd;
}

/*
 * How an fd answers ordinary access, as the MFD_INACCESSIBLE/F_SEAL_INACCESSIBLE
 * series specified it: "cannot read(), write() or mmap()". Each field is the
 * errno of the refusal, 0 when the access worked.
 */
struct hist_access {
	int read, write, mmap;
};

static inline struct hist_access hist_access(int fd, size_t size)
{
	struct hist_access a = { 0 };
	char c = 'w';
	void *p;

	if (pread(fd, &c, 1, 0) != 1)
		a.read = errno ?: EIO;
	if (pwrite(fd, &c, 1, 0) != 1)
		a.write = errno ?: EIO;
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		a.mmap = errno ?: EIO;
	else
		munmap(p, size);
	return a;
}

static inline bool hist_inaccessible(struct hist_access a)
{
	return a.read && a.write && a.mmap;
}

/* Touch one byte and report the signal with its si_code (0/0 when none). */
struct hist_fault {
	int signo, code;
	void *addr;
};

static sigjmp_buf hist_fault_env;
static volatile struct hist_fault hist_fault_seen;

static inline void hist_fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hist_fault_seen.signo = sig;
	hist_fault_seen.code = si->si_code;
	hist_fault_seen.addr = si->si_addr;
	siglongjmp(hist_fault_env, 1);
}

static inline struct hist_fault hist_touch(volatile char *p, bool write)
{
	struct sigaction sa = { .sa_sigaction = hist_fault_handler, .sa_flags = SA_SIGINFO };
	struct sigaction old_bus, old_segv;
	struct hist_fault f;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	hist_fault_seen.signo = hist_fault_seen.code = 0;
	hist_fault_seen.addr = NULL;
	if (!sigsetjmp(hist_fault_env, 1)) {
		if (write)
			*p = *p;
		else
			(void)*p;
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	f.signo = hist_fault_seen.signo;
	f.code = hist_fault_seen.code;
	f.addr = hist_fault_seen.addr;
	return f;
}

/* /proc/meminfo HardwareCorrupted in kB (pages memory_failure() marked PG_hwpoison); -1 if absent. */
static inline long hist_hw_corrupted_kb(void)
{
	static char buf[8192];
	int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	char *line;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	line = strstr(buf, "HardwareCorrupted:");
	return line ? strtol(line + strlen("HardwareCorrupted:"), NULL, 10) : -1;
}

#endif
