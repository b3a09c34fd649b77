// SPDX-License-Identifier: GPL-2.0
/*
 * Nothing but the owning process's own loads and stores reaches secretmem:
 * GUP refuses secretmem VMAs (mm/gup.c check_vma_flags: EFAULT; GUP-fast rejects
 * secretmem folios), so every kernel path that reads user memory through page
 * pinning fails. Upstream tools/testing/selftests/mm/memfd_secret.c checks
 * vmsplice (EFAULT, fresh and populated page), process_vm_readv and
 * PTRACE_PEEKDATA (fail); the exact errnos of the latter and of /proc/pid/mem
 * come from the callers: process_vm_rw_core returns the pin error (EFAULT),
 * ptrace_access_vm/mem_rw copy nothing and return EIO.
 *
 * Each remote access is made by the parent on a stopped child that inherited
 * the mapping and made it its tracer with PTRACE_TRACEME (allowed unless Yama's
 * ptrace_scope forbids it, which SKIPs),
 * and is paired with the same access to an ordinary page of that child, which
 * must work: the refusal is about secretmem, not about the access path.
 */
#include <sys/ptrace.h>
#include <sys/uio.h>

#include "secretmem.h"

SECRET_FIXTURE(secret_access, 2)

static const uint64_t pattern = 0x5ec2e75ec2e75ec2ull;

/* An ordinary page with the same pattern, the control. */
static uint64_t control_page[512] __attribute__((aligned(4096)));

/*
 * A child that inherited the mappings, read both (populating its page tables)
 * and stopped for us; -1 on error, -2 when it may not be traced.
 */
static pid_t stopped_child(struct __test_metadata *_metadata, volatile uint64_t *secret)
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(2);
		if (*secret != pattern || control_page[0] != pattern)
			_exit(3);
		raise(SIGSTOP);
		_exit(0);
	}
	if (pid < 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
		return -2;
	if (!WIFSTOPPED(st)) {
		TH_LOG("child did not stop: status 0x%x", st);
		return -1;
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static uint64_t *filled(int fd, size_t len)
{
	uint64_t *p = secret_map(fd, len, 0);

	if (p == MAP_FAILED)
		return NULL;
	p[0] = pattern;
	control_page[0] = pattern;
	return p;
}

/*
 * vmsplice must pin the pages: refused for a page that was never faulted (slow
 * GUP) and for one that is mapped (GUP-fast finds the PTE and must reject it).
 */
TEST_F(secret_access, vmsplice_efault)
{
	struct iovec iov;
	uint8_t *p;
	int pipefd[2];

	p = secret_map(self->fd, self->size, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pipe(pipefd));
	iov = (struct iovec){ p + self->page, self->page };	/* fresh: no page yet */
	ASSERT_ERRNO(EFAULT, vmsplice(pipefd[1], &iov, 1, 0));
	memset(p, 0x55, self->page);				/* populated */
	iov = (struct iovec){ p, self->page };
	ASSERT_ERRNO(EFAULT, vmsplice(pipefd[1], &iov, 1, 0));
	/* The control: an ordinary page splices. */
	iov = (struct iovec){ control_page, 64 };
	ASSERT_EQ(64, vmsplice(pipefd[1], &iov, 1, 0));
	close(pipefd[0]);
	close(pipefd[1]);
	munmap(p, self->size);
}

/* process_vm_readv/writev pin the remote pages: EFAULT, nothing transferred. */
TEST_F(secret_access, process_vm_rw_efault)
{
	uint64_t buf = 0, *p = filled(self->fd, self->size);
	struct iovec local = { &buf, sizeof(buf) }, remote;
	pid_t pid;

	ASSERT_NE(NULL, p);
	pid = stopped_child(_metadata, p);
	if (pid == -2)
		SKIP(return, "PTRACE_TRACEME refused (Yama ptrace_scope)");
	ASSERT_LT(0, pid);
	remote = (struct iovec){ p, sizeof(buf) };
	errno = 0;
	ASSERT_EQ(-1, process_vm_readv(pid, &local, 1, &remote, 1, 0))
		TH_LOG("read 0x%llx", (unsigned long long)buf);
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, buf);
	ASSERT_ERRNO(EFAULT, process_vm_writev(pid, &local, 1, &remote, 1, 0));
	ASSERT_EQ(pattern, p[0]);
	remote = (struct iovec){ control_page, sizeof(buf) };
	ASSERT_EQ((ssize_t)sizeof(buf), process_vm_readv(pid, &local, 1, &remote, 1, 0));
	ASSERT_EQ(pattern, buf);
	reap(pid);
	munmap(p, self->size);
}

/* ptrace_access_vm cannot get the page: PEEKDATA and POKEDATA are EIO. */
TEST_F(secret_access, ptrace_peek_poke_eio)
{
	uint64_t *p = filled(self->fd, self->size);
	pid_t pid;
	long v;

	ASSERT_NE(NULL, p);
	pid = stopped_child(_metadata, p);
	if (pid == -2)
		SKIP(return, "PTRACE_TRACEME refused (Yama ptrace_scope)");
	ASSERT_LT(0, pid);
	errno = 0;
	v = ptrace(PTRACE_PEEKDATA, pid, p, 0);
	ASSERT_EQ(-1, v) TH_LOG("PEEKDATA returned 0x%lx", v);
	ASSERT_EQ(EIO, errno);
	ASSERT_ERRNO(EIO, ptrace(PTRACE_POKEDATA, pid, p, 0));
	ASSERT_EQ(pattern, p[0]);
	errno = 0;
	ASSERT_EQ((long)pattern, ptrace(PTRACE_PEEKDATA, pid, control_page, 0));
	ASSERT_EQ(0, errno);
	reap(pid);
	munmap(p, self->size);
}

/*
 * /proc/pid/mem goes through access_remote_vm: nothing copied, EIO, for another
 * process and for the owner itself.
 */
TEST_F(secret_access, proc_mem_eio)
{
	uint64_t buf = 0, *p = filled(self->fd, self->size);
	char path[64];
	pid_t pid;
	int mem;

	ASSERT_NE(NULL, p);
	pid = stopped_child(_metadata, p);
	if (pid == -2)
		SKIP(return, "PTRACE_TRACEME refused (Yama ptrace_scope)");
	ASSERT_LT(0, pid);
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem = open(path, O_RDWR);
	ASSERT_LE(0, mem);
	ASSERT_ERRNO(EIO, pread(mem, &buf, sizeof(buf), (off_t)(uintptr_t)p));
	ASSERT_ERRNO(EIO, pwrite(mem, &buf, sizeof(buf), (off_t)(uintptr_t)p));
	ASSERT_EQ(0, buf);
	ASSERT_EQ((ssize_t)sizeof(buf), pread(mem, &buf, sizeof(buf), (off_t)(uintptr_t)control_page));
	ASSERT_EQ(pattern, buf);
	close(mem);
	reap(pid);

	buf = 0;
	mem = open("/proc/self/mem", O_RDWR);
	ASSERT_LE(0, mem);
	ASSERT_ERRNO(EIO, pread(mem, &buf, sizeof(buf), (off_t)(uintptr_t)p));
	ASSERT_EQ(0, buf);
	close(mem);
	munmap(p, self->size);
}

TEST_HARNESS_MAIN
