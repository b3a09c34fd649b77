// SPDX-License-Identifier: GPL-2.0
/*
 * Where a protected VM's memory comes from and where it goes (pkvm.rst): pages the
 * guest touches are pinned and counted in the owner's locked memory
 * (RLIMIT_MEMLOCK), guest_memfd cannot back a protected VM (7.2), and teardown
 * gives every page back to the host. And the VM type itself: KVM accepts it
 * only in kvm-arm.mode=protected.
 */
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "pkvm.h"

FIXTURE_SETUP(pkvm)
{
	PK_SETUP(0);
}

FIXTURE_TEARDOWN(pkvm)
{
	pk_teardown(self);
}

#define TOUCH_PAGES 3
#define TOUCH_GPA (PK_GPA + 4 * PK_PAGE)	/* pages 4..7: untouched by guest_share_cycle */

/* Touch pages one at a time, reporting before each (stage 10 + i). */
static PM_GUEST void guest_touch_pages(uint64_t gpa, uint64_t n, uint64_t unused)
{
	(void)unused;
	for (uint64_t i = 0; i < n; i++) {
		GUEST_SYNC(10 + i);
		pm_guest_write64(pk_page(gpa, i), PK_GUEST_PAT(i));
	}
}

/* VmLck of this process, in bytes: what account_locked_vm() charged. */
static long locked_bytes(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib < 0 ? -1 : kib * 1024;
}

/* Without CAP_IPC_LOCK (root has it), RLIMIT_MEMLOCK binds. */
static int drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_IPC_LOCK / 32].effective &= ~(1U << (CAP_IPC_LOCK % 32));
	return syscall(SYS_capset, &h, d);
}

/*
 * Each page the guest takes is pinned and charged to the VMM's locked memory: once
 * the guest's first access to a region has brought its stage-2 tables (charged
 * too), every further page adds exactly one page to VmLck.
 */
TEST_F(pkvm, touched_pages_count_as_locked)
{
	struct pm_vcpu *v = pm_vcpu_add(self->vm, guest_touch_pages, TOUCH_GPA, TOUCH_PAGES, 0);
	long l1, l2, l3;

	ASSERT_NE(NULL, v);
	ASSERT_GUEST_SYNC(v, 10);
	ASSERT_GUEST_SYNC(v, 11);		/* page 0 and the region's tables taken */
	l1 = locked_bytes();
	ASSERT_LE(0, l1);
	ASSERT_GUEST_SYNC(v, 12);
	l2 = locked_bytes();
	ASSERT_GUEST_DONE(v);
	l3 = locked_bytes();
	ASSERT_EQ(l1 + (long)PK_PAGE, l2);
	ASSERT_EQ(l2 + (long)PK_PAGE, l3);
}

/*
 * Without CAP_IPC_LOCK, a donation past RLIMIT_MEMLOCK fails the guest's access:
 * KVM_RUN -1/ENOMEM (pkvm.rst: "the VMM must have a sufficient resource limit").
 * Nothing is lost: with one more page of limit the same access completes.
 */
TEST_F(pkvm, memlock_limit_fails_run_enomem)
{
	struct pm_vcpu *v = pm_vcpu_add(self->vm, guest_touch_pages, TOUCH_GPA, TOUCH_PAGES, 0);
	struct rlimit rl;
	struct pm_exit e;

	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, drop_ipc_lock());
	ASSERT_GUEST_SYNC(v, 10);
	ASSERT_GUEST_SYNC(v, 11);		/* the region's tables exist now */
	rl.rlim_cur = rl.rlim_max = locked_bytes();	/* no room for another page */
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_EQ(PM_RUN_ERROR, pm_vcpu_run(v, &e));
	ASSERT_EQ(ENOMEM, e.err);
	rl.rlim_cur = rl.rlim_max = rl.rlim_cur + PK_PAGE;
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	ASSERT_GUEST_SYNC(v, 12);
}

/*
 * A guest_memfd page cannot be pinned, so a protected VM cannot take it: a slot whose
 * memory is guest_memfd (its userspace address the guest_memfd mapping) fails the
 * guest's first access, KVM_RUN -1/EIO (7.2, observed).
 */
TEST_F(pkvm, guest_memfd_backed_run_eio)
{
	int gfd = pm_gmem_create(self->vm, PK_PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
	struct pm_vcpu *v = pm_vcpu_add(self->vm, guest_touch_pages, PK_GPA2, 1, 0);
	void *gv;
	struct pm_exit e;

	ASSERT_LE(0, gfd);
	ASSERT_NE(NULL, v);
	gv = mmap(NULL, PK_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, gfd, 0);
	ASSERT_NE(MAP_FAILED, gv);
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, PK_SLOT + 1, PK_GPA2, PK_PAGE, gv, gfd, 0, 0));
	ASSERT_GUEST_SYNC(v, 10);
	ASSERT_EQ(PM_RUN_ERROR, pm_vcpu_run(v, &e));
	ASSERT_EQ(EIO, e.err);
	ASSERT_HOST_NO_FAULT(gv, false);
	ASSERT_EQ(0, *(uint64_t *)gv);		/* the guest's store never landed */
	munmap(gv, PK_PAGE);
	close(gfd);
}

/*
 * Teardown gives the pages back: the host can read and write every one again.
 * Whether the guest's data was wiped is not documented (pkvm.rst promises zeroing
 * for pages reclaimed by a syscall only); the row logs what it saw.
 */
TEST_F(pkvm, teardown_returns_pages_to_host)
{
	uint64_t *view;

	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	pm_vm_free(self->vm);
	self->vm = NULL;
	view = mmap(NULL, PK_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, view);
	for (uint64_t i = 0; i < PK_PAGES; i++) {
		ASSERT_HOST_NO_FAULT(&view[i * PK_PAGE / 8], false);
		ASSERT_HOST_NO_FAULT(&view[i * PK_PAGE / 8], true);
	}
	TH_LOG("after teardown the private page holds 0x%llx: %s", (unsigned long long)view[0],
	       view[0] == PK_GUEST_PAT(PK_PRIV) ? "the guest's data, not wiped" :
	       view[0] == 0 ? "wiped" : "neither the guest's data nor zero");
	view[0] = PK_HOST_PAT;
	ASSERT_EQ(PK_HOST_PAT, view[0]);
	munmap(view, PK_SIZE);
}

/* The type outside protected mode: a plain KVM host rejects it with EINVAL. */
FIXTURE(pkvm_type) {
	int kvm;
};

FIXTURE_SETUP(pkvm_type)
{
	const struct pm_caps *c = pm_caps();

	self->kvm = -1;
	if (strcmp(c->uts.machine, "aarch64"))
		SKIP(return, "host is %s; KVM_VM_TYPE_ARM_PROTECTED is arm64's", c->uts.machine);
	if (!c->kvm)
		SKIP(return, "%s", c->kvm_reason);
	if (!strcmp(c->kvm_arm_mode, "protected"))
		SKIP(return, "kvm-arm.mode=protected: the type is accepted (the pkvm rows run)");
	self->kvm = pm_kvm_open();
	ASSERT_LE(0, self->kvm);
}

FIXTURE_TEARDOWN(pkvm_type)
{
	if (self->kvm >= 0)
		close(self->kvm);
}

TEST_F(pkvm_type, rejected_outside_protected_mode_einval)
{
	errno = 0;
	ASSERT_EQ(-1, ioctl(self->kvm, KVM_CREATE_VM, KVM_VM_TYPE_ARM_PROTECTED));
	ASSERT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
