// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations of pKVM's host-access contract that the pkvm collection must detect.
 * Only a protected-mode arm64 lab has protected VMs: every one is a lab deviation
 * (scripts/lab.sh --deviations), except pkvm-unprotected, which the normal-mode
 * arm64 lab's pkvm_type row catches too.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>

#include "shim.h"

#define HOST_ROWS "pkvm.private_page_read_faults pkvm.private_page_write_faults " \
	"pkvm.unshared_page_faults_again pkvm.shared_page_reaches_both_ways"
#define SLOT_ROWS "pkvm.delete_after_first_run_eperm pkvm.readonly_slot_after_first_run_eperm " \
	"pkvm.log_dirty_slot_after_first_run_eperm"

static const struct shim_dev devs[] = {
	{ "pkvm-unprotected", "KVM_VM_TYPE_ARM_PROTECTED creates an ordinary VM (protection silently off)",
	  .lab = true, .rows = HOST_ROWS " " SLOT_ROWS " pkvm.touched_pages_count_as_locked "
	  "pkvm.new_slot_after_first_run_serves_guest "
	  "pkvm.memlock_limit_fails_run_enomem pkvm_type.rejected_outside_protected_mode_einval" },
	{ "pkvm-slot-change-after-run", "memslot delete and READONLY/LOG_DIRTY slots accepted after a protected VM ran",
	  .lab = true, .rows = SLOT_ROWS },
	{ "pkvm-syscall-copies-private", "a syscall reading or filling a protected page succeeds instead of -EFAULT",
	  .lab = true, .rows = "pkvm.write_from_private_efault pkvm.pwrite_from_private_efault "
	  "pkvm.read_into_private_efault" },
	{ "pkvm-reclaim-leaks-data", "a page reclaimed from a protected VM reaches the host unwiped",
	  .lab = true, .rows = "pkvm.process_vm_readv_reclaims_zeroed pkvm.proc_pid_mem_read_reclaims_zeroed "
	  "pkvm.vmsplice_from_private_reclaims_zeroed" },
	{ "pkvm-writev-refused", "process_vm_writev into a protected page fails with EFAULT instead of reclaiming it",
	  .lab = true, .rows = "pkvm.process_vm_writev_reclaims" },
	{ "pkvm-eager-donation", "the first run takes every page of the guest's memory from the host, touched or not",
	  .lab = true, .rows = "pkvm.untouched_page_stays_host_accessible" },
	{ "pkvm-memlock-ignored", "donations to a protected VM ignore RLIMIT_MEMLOCK",
	  .lab = true, .rows = "pkvm.memlock_limit_fails_run_enomem" },
	{ "pkvm-gmem-run-efault", "a guest_memfd-backed protected VM fails KVM_RUN with EFAULT, not EIO",
	  .lab = true, .rows = "pkvm.guest_memfd_backed_run_eio" },
	{ "pkvm-teardown-keeps-pages", "closing a protected VM's fd leaves the VM and its pages alive",
	  .lab = true, .rows = "pkvm.teardown_returns_pages_to_host" },
	{ NULL, NULL }
};

/* Test memory (slots from PM_SLOT_FIRST_FREE on; the library's own hold the report pages). */
#define FIRST_TEST_SLOT 2
static struct { uint64_t hva, size; } regions[64];
static int nr_regions;

static int vm_fds[64];
static int nr_vm_fds;

static bool is_vm_fd(long fd)
{
	for (int i = 0; i < nr_vm_fds; i++)
		if (vm_fds[i] == fd)
			return true;
	return false;
}

static bool protected_type(const long a[SHIM_NARGS])
{
	return a[1] == (long)KVM_CREATE_VM && ((unsigned long)a[2] & KVM_VM_TYPE_ARM_PROTECTED);
}

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	if (c == SC_IOCTL && protected_type(a) && shim_is("pkvm-unprotected"))
		a[2] &= ~(long)KVM_VM_TYPE_ARM_PROTECTED;
	if (c == SC_PROCESS_VM_WRITEV && shim_is("pkvm-writev-refused")) {
		errno = EFAULT;
		*ret = -1;
		return true;
	}
	if (c == SC_CLOSE && is_vm_fd(a[0]) && shim_is("pkvm-teardown-keeps-pages")) {
		*ret = 0;	/* the VM stays alive: its pages stay the guest's */
		return true;
	}
	return false;
}

static bool region_ioctl(long req)
{
	return req == (long)KVM_SET_USER_MEMORY_REGION || req == (long)KVM_SET_USER_MEMORY_REGION2;
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	int err = errno;

	if (c == SC_IOCTL && a[1] == (long)KVM_CREATE_VM && *ret >= 0 &&
	    ((unsigned long)a[2] & KVM_VM_TYPE_ARM_PROTECTED) && nr_vm_fds < 64)
		vm_fds[nr_vm_fds++] = *ret;
	if (c == SC_IOCTL && region_ioctl(a[1]) && *ret == 0 && is_vm_fd(a[0]) && nr_regions < 64) {
		/* region and region2 begin alike: slot, flags, gpa, size, userspace address. */
		const struct kvm_userspace_memory_region *r = (const void *)a[2];

		if (r->slot >= FIRST_TEST_SLOT && r->memory_size)
			regions[nr_regions].hva = r->userspace_addr, regions[nr_regions++].size = r->memory_size;
	}
	if (c == SC_IOCTL && a[1] == (long)KVM_RUN && *ret == 0 && shim_is("pkvm-eager-donation"))
		for (int i = 0; i < nr_regions; i++)
			mprotect((void *)regions[i].hva, regions[i].size, PROT_NONE);
	if (c == SC_IOCTL && region_ioctl(a[1]) && *ret == -1 && err == EPERM &&
	    shim_is("pkvm-slot-change-after-run"))
		*ret = 0;
	if ((c == SC_WRITE || c == SC_PWRITE || c == SC_READ) && *ret == -1 && err == EFAULT &&
	    shim_is("pkvm-syscall-copies-private"))
		*ret = a[2];	/* "copied" the whole count */
	if ((c == SC_PROCESS_VM_READV || ((c == SC_PREAD || c == SC_READ) && a[2] == 8)) && *ret > 0 &&
	    shim_is("pkvm-reclaim-leaks-data")) {
		/* The stale bytes a page not wiped on reclaim would carry. */
		if (c != SC_PROCESS_VM_READV)
			memset((void *)a[1], 0xa5, *ret);
		else
			memset(((struct iovec *)a[1])->iov_base, 0xa5, ((struct iovec *)a[1])->iov_len);
	}
	if (c == SC_IOCTL && a[1] == (long)KVM_RUN && *ret == -1 && err == ENOMEM &&
	    shim_is("pkvm-memlock-ignored")) {
		struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };

		/* Raise the limit back (the test process may) and run on, as if never charged. */
		if (!setrlimit(RLIMIT_MEMLOCK, &rl) || !prlimit(0, RLIMIT_MEMLOCK, NULL, &rl))
			*ret = shim_real(SC_IOCTL, a);
		err = errno;
	}
	if (c == SC_IOCTL && a[1] == (long)KVM_RUN && *ret == -1 && err == EIO &&
	    shim_is("pkvm-gmem-run-efault"))
		err = EFAULT;
	errno = err;
}

static const struct shim_module pkvm = { .area = "pkvm", .devs = devs, .before = before, .after = after };
SHIM_MODULE(pkvm)
