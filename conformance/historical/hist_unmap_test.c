// SPDX-License-Identifier: GPL-2.0
/*
 * The "unmap guest memory from the host" ancestors of guest_memfd (see
 * historical.h for the table): the 2020 "KVM protected memory extension" RFC
 * (PROT_NONE VM_KVM_PROTECTED VMAs, FOLL_KVM GUP) and the 2021 idea of hiding
 * private pages behind PG_hwpoison/SWP_HWPOISON entries. Neither has a uapi a
 * test could call without a guest hypercall whose number (12) and cpuid bits
 * (14/15/16) upstream gave to other features (KVM_HC_MAP_GPA_RANGE,
 * KVM_FEATURE_ASYNC_PF_INT / MSI_EXT_DEST_ID / HC_MAP_GPA_RANGE), so presence
 * is read from /proc/kallsyms (their KVM handlers' names).
 *
 * Each row prints "verdict: <ancestor> present|absent" and then holds the
 * replacement to the promise the ancestor made, on a guest_memfd created with
 * GUEST_MEMFD_FLAG_MMAP and without INIT_SHARED (private memory, 6.18):
 * host access and GUP fail, the way the ancestor said they would.
 */
#include <sys/uio.h>

#include "pm_test.h"
#include "historical.h"

#define PAGES	2

#define HIST_VERDICT(ancestor, present, fmt, ...)				\
	TH_LOG("verdict: %s %s; " fmt, (ancestor), hist_verdict(present), ##__VA_ARGS__)

/*
 * Probed once for the binary (kallsyms is ~5 MB, the capability probe runs
 * helpers): every test's process inherits both.
 */
static struct hist_syms syms;

__attribute__((constructor)) static void probe_once(void)
{
	hist_syms_scan(&syms);
	pm_caps();
}

static const char *listed(enum hist_sym s)
{
	return syms.found[s] ? "listed" : "not listed";
}

FIXTURE(hist_unmap) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	int fd;
	long page;
	size_t size;
	char *map;
};

FIXTURE_VARIANT(hist_unmap) {
	struct pm_need need;
};

/* The host mmap of private guest_memfd memory: GUEST_MEMFD_FLAG_MMAP advertised (6.18). */
FIXTURE_VARIANT_ADD(hist_unmap, default_vm_mmap) {
	.need = { "sw-default", GUEST_MEMFD_FLAG_MMAP } };

FIXTURE_SETUP(hist_unmap)
{
	self->fd = -1;
	self->map = MAP_FAILED;
	self->page = getpagesize();
	self->size = PAGES * self->page;
	PM_SETUP_VM(&variant->need, self->p, self->vm);
	/* MMAP without INIT_SHARED: every page starts private. */
	self->fd = pm_platform_private_mem(self->p, self->vm, self->size, GUEST_MEMFD_FLAG_MMAP);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(hist_unmap)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->size);
	if (self->fd >= 0)
		close(self->fd);
	pm_vm_free(self->vm);
}

/*
 * 2020 RFC: "Any userspace access to the memory would result in SIGBUS. Any
 * GUP access without FOLL_KVM would result in -EFAULT." Upstream: guest_memfd
 * private pages (virt/kvm/guest_memfd.c kvm_gmem_fault_user_mapping:
 * VM_FAULT_SIGBUS without INIT_SHARED), so user loads/stores get SIGBUS, GUP
 * (process_vm_readv) and kernel copies from the mapping (write to a pipe) get
 * EFAULT.
 */
TEST_F(hist_unmap, kvm_protected_memory_rfc)
{
	const char *name = "KVM protected memory RFC (-> guest_memfd private memory, "
			   "KVM_SET_MEMORY_ATTRIBUTES 6.8, GUEST_MEMFD_FLAG_MMAP 6.18)";
	struct iovec local, remote;
	char buf[64];
	int pipefd[2];

	if (syms.readable && syms.found[HIST_SYM_MEMFD_CREATE])
		HIST_VERDICT(name, syms.found[HIST_SYM_KVM_PROTECT_ALL_MEMORY] ||
			     syms.found[HIST_SYM_KVM_INIT_PROTECTED_MEMORY],
			     "kvm_protect_all_memory %s, kvm_init_protected_memory %s in kallsyms",
			     listed(HIST_SYM_KVM_PROTECT_ALL_MEMORY),
			     listed(HIST_SYM_KVM_INIT_PROTECTED_MEMORY));
	else
		TH_LOG("verdict: %s unknown; /proc/kallsyms lists no syscall names", name);

	self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	for (size_t off = 0; off < self->size; off += self->page) {
		ASSERT_EQ(SIGBUS, pm_touch(self->map + off, false));
		ASSERT_EQ(SIGBUS, pm_touch(self->map + off, true));
	}
	local = (struct iovec){ buf, sizeof(buf) };
	remote = (struct iovec){ self->map, sizeof(buf) };
	ASSERT_ERRNO(EFAULT, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_ERRNO(EFAULT, write(pipefd[1], self->map, sizeof(buf)));
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * 2021 idea: private pages marked PG_hwpoison behind SWP_HWPOISON entries, so
 * a host touch is a memory-error SIGBUS (VM_FAULT_HWPOISON: si_code
 * BUS_MCEERR_AR) and, as the thread required, the pages are "tied to KVM
 * instance and another KVM must not be able to map the page into guest".
 * Upstream keeps that state in the guest_memfd inode instead: the SIGBUS is a
 * plain one (BUS_ADRERR at the faulting address), no page is counted as
 * hardware-corrupted, and a guest_memfd binds only to the VM that created it
 * (virt/kvm/guest_memfd.c kvm_gmem_bind: another VM's file -> EINVAL).
 */
TEST_F(hist_unmap, pg_hwpoison_unmap)
{
	const char *name = "PG_hwpoison unmap idea (-> guest_memfd per-inode private state, 6.8; "
			   "real poison via KVM_RUN EHWPOISON / KVM_EXIT_MEMORY_FAULT)";
	long hw_before, hw_after;
	struct hist_fault f;
	struct pm_vm *other;
	int ret, err;

	if (syms.readable && syms.found[HIST_SYM_MEMFD_CREATE])
		HIST_VERDICT(name, syms.found[HIST_SYM_KVM_SHARE_MEMORY] ||
			     syms.found[HIST_SYM_GFN_IS_SHARED],
			     "kvm_share_memory %s, gfn_is_shared %s in kallsyms",
			     listed(HIST_SYM_KVM_SHARE_MEMORY), listed(HIST_SYM_GFN_IS_SHARED));
	else
		TH_LOG("verdict: %s unknown; /proc/kallsyms lists no syscall names", name);

	hw_before = hist_hw_corrupted_kb();
	self->map = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	for (size_t off = 0; off < self->size; off += self->page) {
		f = hist_touch(self->map + off, false);
		if (f.signo != SIGBUS || f.code != BUS_ADRERR)
			TH_LOG("page %zu: signal %d si_code %d (BUS_MCEERR_AR is %d)", off / self->page,
			       f.signo, f.code, BUS_MCEERR_AR);
		ASSERT_EQ(SIGBUS, f.signo);
		ASSERT_EQ(BUS_ADRERR, f.code);
		ASSERT_EQ(self->map + off, (char *)f.addr);
	}
	/* -1 both times without CONFIG_MEMORY_FAILURE, where PG_hwpoison does not exist at all. */
	hw_after = hist_hw_corrupted_kb();
	if (hw_before < 0 && hw_after < 0)
		TH_LOG("no HardwareCorrupted in /proc/meminfo: CONFIG_MEMORY_FAILURE=n, no PG_hwpoison");
	ASSERT_EQ(hw_before, hw_after);

	/* The positive control proves the arguments valid; only the VM differs. */
	other = pm_platform_vm(self->p);
	ASSERT_NE(NULL, other);
	ret = pm_set_region2(other, PM_SLOT_FIRST_FREE, KVM_MEM_GUEST_MEMFD, PM_TEST_GPA,
			     self->size, self->map, self->fd, 0);
	err = errno;
	pm_vm_free(other);
	if (ret != -1 || err != EINVAL)
		TH_LOG("binding the guest_memfd into another VM: %d/%s", ret, strerrorname_np(err));
	ASSERT_EQ(-1, ret);
	ASSERT_EQ(EINVAL, err);
	ASSERT_EQ(0, pm_set_region2(self->vm, PM_SLOT_FIRST_FREE, KVM_MEM_GUEST_MEMFD, PM_TEST_GPA,
				    self->size, self->map, self->fd, 0));
}

TEST_HARNESS_MAIN
