/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the memfd seals collection shares: the memfd/seal ABI values glibc 2.36
 * lacks, a clean sealable memfd, and a way to run code as PID 1 of a throw-away
 * PID namespace (vm.memfd_noexec is per PID namespace).
 */
#ifndef PRIVMEM_SEALS_H
#define PRIVMEM_SEALS_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compat.h"	/* MFD_EXEC, MFD_NOEXEC_SEAL, F_SEAL_EXEC (Linux 6.3) */
/* Linux 5.1 (glibc has it since 2.29; kept for older libcs). */
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE	0x0010
#endif

/* mm/memfd.c MFD_NAME_MAX_LEN: NAME_MAX minus the "memfd:" prefix. */
#define SEALS_NAME_MAX		249

/* The seals F_SEAL_EXEC brings along on a file with any x bit (mm/memfd.c, 6.3). */
#define SEALS_WX		(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)

#define SEALS_SYSCTL		"/proc/sys/vm/memfd_noexec"

/* Exit status of a namespace child that refused to run (not PID 1 of a new namespace). */
#define SEALS_NOT_PID1		100
/* ...and of one that could not get a new PID namespace (no CAP_SYS_ADMIN, CONFIG_PID_NS=n). */
#define SEALS_NO_PIDNS		110

/*
 * The MFD_EXEC answer of this kernel in this PID namespace: 0 = accepted;
 * EINVAL = the flag is unknown (kernel before 6.3); EACCES = vm.memfd_noexec=2
 * here forbids executable memfds.
 */
static inline int seals_exec_support(void)
{
	int fd = memfd_create("seals_probe", MFD_CLOEXEC | MFD_EXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/*
 * A sealable memfd of `size` bytes, mode 0666, no seals, whatever the
 * vm.memfd_noexec default: created MFD_EXEC where the kernel knows the flag (so
 * no F_SEAL_EXEC comes with it), then made non-executable so that a later
 * F_SEAL_EXEC implies nothing else. -1 with errno on failure (EACCES:
 * vm.memfd_noexec=2 in this namespace).
 */
static inline int seals_memfd(const char *name, size_t size)
{
	unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	int fd = memfd_create(name, flags | MFD_EXEC);

	if (fd < 0 && errno == EINVAL)
		fd = memfd_create(name, flags);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0666) || ftruncate(fd, size)) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static inline int seals_get(int fd)
{
	return fcntl(fd, F_GET_SEALS);
}

static inline int seals_mode(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : (int)(st.st_mode & 07777);
}

static inline off_t seals_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

/* vm.memfd_noexec as this process's PID namespace sees it; -1 with errno if unreadable. */
static inline int seals_sysctl_read(void)
{
	char buf[16] = "";
	int fd = open(SEALS_SYSCTL, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		errno = n ? errno : EIO;
		return -1;
	}
	return atoi(buf);
}

/* Write it for this process's PID namespace; 0 or -1 with errno. */
static inline int seals_sysctl_write(const char *val)
{
	int fd = open(SEALS_SYSCTL, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	err = errno;
	close(fd);
	errno = err;
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

static inline int seals_wait(pid_t pid)
{
	int status;

	if (pid < 0)
		return SEALS_NOT_PID1 + 1;
	if (waitpid(pid, &status, 0) != pid)
		return SEALS_NOT_PID1 + 2;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "# namespace child killed by signal %d\n", WTERMSIG(status));
		return SEALS_NOT_PID1 + 3;
	}
	return WEXITSTATUS(status);
}

/*
 * Run fn(arg) as PID 1 of a new PID namespace, a child of this process's
 * namespace: a child process unshare()s CLONE_NEWPID and forks fn's process,
 * the first process of the new namespace. fn returns 0 or the number of the
 * step that failed (see SEALS_STEP_FAIL). Before fn runs, the process checks
 * that it really is PID 1 of a namespace made for it, so the sysctl it writes
 * can never be the caller's (SEALS_NOT_PID1 otherwise). Nesting: call it again
 * from fn. Never use the harness's ASSERTs inside fn (another process).
 */
static inline int seals_in_new_pidns(int (*fn)(void *), void *arg)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (unshare(CLONE_NEWPID)) {
			fprintf(stderr, "# unshare(CLONE_NEWPID): %s\n", strerror(errno));
			_exit(SEALS_NO_PIDNS);
		}
		pid = fork();
		if (pid == 0) {
			if (getpid() != 1) {
				fprintf(stderr, "# not PID 1 after unshare(CLONE_NEWPID) (pid %d): "
					"refusing to touch vm.memfd_noexec\n", getpid());
				_exit(SEALS_NOT_PID1);
			}
			fflush(stderr);
			_exit(fn(arg));
		}
		_exit(seals_wait(pid));
	}
	return seals_wait(pid);
}

/* For fn: report a failed step with its reason and return the step number. */
#define SEALS_STEP_FAIL(step, fmt, ...) ({					\
	fprintf(stderr, "#   step %d: " fmt "\n", (step), ##__VA_ARGS__);	\
	(step);									\
})

#endif
