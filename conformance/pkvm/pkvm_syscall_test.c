// SPDX-License-Identifier: GPL-2.0
/*
 * Syscalls that reach a protected VM's private page from the host (pkvm.rst). Each
 * path has one documented outcome, stated per row: the syscall fails with EFAULT
 * and the guest keeps its page, or the kernel reclaims the page (the guest's data
 * is wiped, the syscall sees zeros) and the guest's next KVM_RUN fails with EFAULT.
 * Observed on Debian's stock arm64 7.2 in kvm-arm.mode=protected (the lab).
 */
#include <fcntl.h>
#include <sys/uio.h>

#include "pkvm.h"

FIXTURE_SETUP(pkvm)
{
	PK_SETUP(0);
}

FIXTURE_TEARDOWN(pkvm)
{
	pk_teardown(self);
}

#define PRIV(self) ((self)->host + PK_PRIV * PK_PAGE)

/* The guest kept its page: it resumes and goes on to its next stage. */
#define ASSERT_GUEST_KEPT_PAGE(self) ASSERT_GUEST_SYNC((self)->vcpu, PK_STAGE_UNSHARED)

/* The page was reclaimed: the guest cannot run again (-1/EFAULT). */
#define ASSERT_GUEST_LOST_PAGE(self) do {					\
	struct pm_exit __e;							\
	ASSERT_EQ(PM_RUN_ERROR, pm_vcpu_run((self)->vcpu, &__e));		\
	ASSERT_EQ(EFAULT, __e.err);						\
} while (0)

static void share_back(FIXTURE_DATA(pkvm) *self)
{
	/* The guest checks the host's word in its shared page before going on. */
	((uint64_t *)(self->host + PK_SHARED * PK_PAGE))[1] = PK_HOST_PAT;
}

TEST_F(pkvm, write_from_private_efault)
{
	int p[2];

	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	ASSERT_EQ(0, pipe(p));
	errno = 0;
	ASSERT_EQ(-1, write(p[1], PRIV(self), 8));
	ASSERT_EQ(EFAULT, errno);
	close(p[0]), close(p[1]);
	share_back(self);
	ASSERT_GUEST_KEPT_PAGE(self);
}

TEST_F(pkvm, pwrite_from_private_efault)
{
	int fd = memfd_create("pk-sink", MFD_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	errno = 0;
	ASSERT_EQ(-1, pwrite(fd, PRIV(self), 8, 0));
	ASSERT_EQ(EFAULT, errno);
	close(fd);
	share_back(self);
	ASSERT_GUEST_KEPT_PAGE(self);
}

TEST_F(pkvm, read_into_private_efault)
{
	uint64_t word = PK_HOST_PAT;
	int p[2];

	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(8, write(p[1], &word, 8));
	errno = 0;
	ASSERT_EQ(-1, read(p[0], PRIV(self), 8));
	ASSERT_EQ(EFAULT, errno);
	close(p[0]), close(p[1]);
	share_back(self);
	ASSERT_GUEST_KEPT_PAGE(self);
}

/* vmsplice takes the page into a pipe: reclaimed, and the pipe carries zeros. */
TEST_F(pkvm, vmsplice_from_private_reclaims_zeroed)
{
	struct iovec iov = { .iov_base = PRIV(self), .iov_len = 8 };
	uint64_t word = PK_HOST_PAT;
	int p[2];

	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(8, vmsplice(p[1], &iov, 1, 0));
	ASSERT_EQ(8, read(p[0], &word, 8));
	ASSERT_EQ(0, word);
	close(p[0]), close(p[1]);
	share_back(self);
	ASSERT_GUEST_LOST_PAGE(self);
}

TEST_F(pkvm, process_vm_readv_reclaims_zeroed)
{
	uint64_t word = PK_HOST_PAT;
	struct iovec local = { .iov_base = &word, .iov_len = 8 };
	struct iovec remote = { .iov_base = PRIV(self), .iov_len = 8 };

	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	ASSERT_EQ(8, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	ASSERT_EQ(0, word);			/* wiped, never the guest's data */
	share_back(self);
	ASSERT_GUEST_LOST_PAGE(self);
}

TEST_F(pkvm, process_vm_writev_reclaims)
{
	uint64_t word = PK_HOST_PAT;
	struct iovec local = { .iov_base = &word, .iov_len = 8 };
	struct iovec remote = { .iov_base = PRIV(self), .iov_len = 8 };

	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	ASSERT_EQ(8, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	share_back(self);
	ASSERT_GUEST_LOST_PAGE(self);
}

TEST_F(pkvm, proc_pid_mem_read_reclaims_zeroed)
{
	uint64_t word = PK_HOST_PAT;
	int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_GUEST_SYNC(self->vcpu, PK_STAGE_SHARED);
	ASSERT_EQ(8, pread(fd, &word, 8, (off_t)(uintptr_t)PRIV(self)));
	ASSERT_EQ(0, word);
	close(fd);
	share_back(self);
	ASSERT_GUEST_LOST_PAGE(self);
}

TEST_HARNESS_MAIN
