// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations the historical collection must detect: a kernel that accepts the
 * bits guest_memfd's ancestors proposed and ignores them, that serves the
 * number memfd_restricted claimed with something other than cachestat, or
 * whose guest_memfd breaks a promise the ancestors made (host access and GUP
 * fail on private memory, no hwpoison, one VM per guest_memfd).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

#define HIST_MFD_INACCESSIBLE		0x0008U
#define HIST_F_SEAL_INACCESSIBLE	0x0020
#define NR_CACHESTAT			451

static const struct shim_dev devs[] = {
	{ "hist-mfd-inaccessible-ignored",  "memfd_create accepts flag 0x8 (MFD_INACCESSIBLE) and creates a plain memfd",
	  .rows = "hist_memfd.mfd_inaccessible_flag" },
	{ "hist-seal-inaccessible-ignored", "F_ADD_SEALS accepts bit 0x20 (F_SEAL_INACCESSIBLE) and adds nothing",
	  .rows = "hist_memfd.f_seal_inaccessible_seal" },
	{ "hist-451-not-cachestat",         "syscall 451 is not cachestat (EINVAL, as a memfd_restricted there would answer)",
	  .rows = "hist_memfd.memfd_restricted_syscall" },
	{ "hist-private-mappable",          "host mmap of private guest_memfd memory gives accessible memory",
	  .rows = "hist_unmap.kvm_protected_memory_rfc hist_unmap.pg_hwpoison_unmap" },
	{ "hist-private-sigsegv",           "host access to private guest_memfd memory raises SIGSEGV (PROT_NONE) not SIGBUS",
	  .rows = "hist_unmap.kvm_protected_memory_rfc hist_unmap.pg_hwpoison_unmap" },
	{ "hist-gup-reaches-private",       "process_vm_readv reads private guest_memfd memory",
	  .rows = "hist_unmap.kvm_protected_memory_rfc" },
	{ "hist-private-counted-poisoned",  "a host fault on private guest_memfd memory counts as HardwareCorrupted",
	  .rows = "hist_unmap.pg_hwpoison_unmap" },
	{ "hist-gmem-cross-vm-bind",        "a guest_memfd can be bound into a VM other than its creator",
	  .rows = "hist_unmap.pg_hwpoison_unmap" },
	{ NULL, NULL }
};

#define MAX_FD 1024

static int gmem_vm[MAX_FD];		/* VM fd + 1 that created guest_memfd fd (0: none) */
static bool meminfo_fd[MAX_FD];
static bool private_mapped;		/* a private guest_memfd range was mapped */

static bool fail(long *ret, int err)
{
	errno = err;
	*ret = -1;
	return true;
}

static bool is_private_gmem(long fd)
{
	struct shim_gmem *g = shim_gmem(fd);

	return g && (g->flags & GUEST_MEMFD_FLAG_MMAP) && !(g->flags & GUEST_MEMFD_FLAG_INIT_SHARED);
}

static bool map_private(long a[SHIM_NARGS], long *ret)
{
	long q[SHIM_NARGS] = { a[0], a[1], a[2], (a[3] & ~MAP_SHARED) | MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0 };

	if (shim_is("hist-private-sigsegv"))
		q[2] = PROT_NONE;
	*ret = shim_real(SC_MMAP, q);
	return true;
}

static bool bind_other_vm(long a[SHIM_NARGS], long *ret)
{
	const struct kvm_userspace_memory_region2 *r = (const void *)a[2];
	int g = r->guest_memfd;

	if (!(r->flags & KVM_MEM_GUEST_MEMFD) || g < 0 || g >= MAX_FD || !gmem_vm[g] ||
	    gmem_vm[g] - 1 == a[0])
		return false;
	*ret = 0;	/* reported bound, though the kernel was never asked */
	return true;
}

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	switch (c) {
	case SC_MEMFD_CREATE:
		if ((a[1] & HIST_MFD_INACCESSIBLE) && shim_is("hist-mfd-inaccessible-ignored"))
			a[1] = (a[1] & ~HIST_MFD_INACCESSIBLE) | MFD_ALLOW_SEALING;
		return false;
	case SC_FCNTL:
		if (a[1] == F_ADD_SEALS && (a[2] & HIST_F_SEAL_INACCESSIBLE) &&
		    shim_is("hist-seal-inaccessible-ignored"))
			a[2] &= ~HIST_F_SEAL_INACCESSIBLE;
		return false;
	case SC_SYSCALL:
		return a[0] == NR_CACHESTAT && shim_is("hist-451-not-cachestat") && fail(ret, EINVAL);
	case SC_MMAP:
		if (is_private_gmem(a[4]) &&
		    (shim_is("hist-private-mappable") || shim_is("hist-private-sigsegv")))
			return map_private(a, ret);
		return false;
	case SC_PROCESS_VM_READV:
		if (shim_is("hist-gup-reaches-private")) {
			const struct iovec *l = (const void *)a[1];
			size_t n = 0;

			for (unsigned long i = 0; i < (unsigned long)a[2]; i++) {
				memset(l[i].iov_base, 0, l[i].iov_len);
				n += l[i].iov_len;
			}
			*ret = n;
			return true;
		}
		return false;
	case SC_IOCTL:
		if (a[1] == (long)KVM_SET_USER_MEMORY_REGION2 && shim_is("hist-gmem-cross-vm-bind"))
			return bind_other_vm(a, ret);
		return false;
	default:
		return false;
	}
}

/*
 * Add `kb` to the HardwareCorrupted value of a /proc/meminfo read, keeping its
 * width; on a kernel without the line (CONFIG_MEMORY_FAILURE=n) append one.
 */
static long bump_hw_corrupted(char *buf, long len, long cap, long kb)
{
	char *line = memmem(buf, len, "HardwareCorrupted:", 18), *num, *end, tmp[64];
	int width, n;

	if (!line) {
		n = snprintf(tmp, sizeof(tmp), "HardwareCorrupted: %8ld kB\n", kb);
		if (len + n > cap)
			return len;
		memcpy(buf + len, tmp, n);
		return len + n;
	}
	num = line + 18;
	end = memmem(num, buf + len - num, " kB", 3);
	if (!end)
		return len;
	width = end - num;
	if (snprintf(tmp, sizeof(tmp), "%*ld", width, strtol(num, NULL, 10) + kb) == width)
		memcpy(num, tmp, width);
	return len;
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	switch (c) {
	case SC_IOCTL:
		if (a[1] == (long)KVM_CREATE_GUEST_MEMFD && *ret >= 0 && *ret < MAX_FD)
			gmem_vm[*ret] = a[0] + 1;
		break;
	case SC_OPEN:
		if (*ret >= 0 && *ret < MAX_FD)
			meminfo_fd[*ret] = !strcmp((const char *)a[0], "/proc/meminfo");
		break;
	case SC_CLOSE:
		if (*ret == 0 && a[0] >= 0 && a[0] < MAX_FD)
			gmem_vm[a[0]] = 0, meminfo_fd[a[0]] = false;
		break;
	case SC_MMAP:
		if ((void *)*ret != MAP_FAILED && is_private_gmem(a[4]))
			private_mapped = true;
		break;
	case SC_READ:
		if (*ret > 0 && a[0] >= 0 && a[0] < MAX_FD && meminfo_fd[a[0]] && private_mapped &&
		    shim_is("hist-private-counted-poisoned"))
			*ret = bump_hw_corrupted((char *)a[1], *ret, a[2], getpagesize() / 1024);
		break;
	default:
		break;
	}
}

static const struct shim_module historical = {
	.area = "historical", .devs = devs, .before = before, .after = after,
};
SHIM_MODULE(historical)
