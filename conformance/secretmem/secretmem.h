/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the secretmem (memfd_secret) tests share: creation through the syscall
 * (glibc 2.36 has no wrapper; the number comes from <sys/syscall.h>), a fixture
 * that SKIPs with the platform layer's reason when memfd_secret is unavailable
 * (ENOSYS: secretmem.enable=0, CONFIG_SECRETMEM=n or no direct-map control),
 * /proc readers and a report channel for checks made in child processes.
 *
 * /proc files are read with open()/read() rather than stdio so that the
 * deviant shim sees those reads like every other call the suite makes.
 */
#ifndef PRIVMEM_SECRETMEM_H
#define PRIVMEM_SECRETMEM_H

#include <fcntl.h>
#include <linux/magic.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "pm_test.h"

#ifndef SYS_memfd_secret
#error "no SYS_memfd_secret in <sys/syscall.h> for this architecture"
#endif

static const struct pm_need secret_need = { "secretmem", 0 };

/*
 * Probe the machine once, before the harness forks a process per test, so every
 * test inherits the result instead of probing again.
 */
__attribute__((constructor)) static void secret_probe_once(void)
{
	pm_caps();
}

/* errno as a name for messages; "success" for 0. */
static inline const char *secret_errname(int err)
{
	return err ? strerrorname_np(err) : "success";
}

static inline int secret_create(unsigned int flags)
{
	return syscall(SYS_memfd_secret, flags);
}

/* A MAP_SHARED read/write mapping of the fd; MAP_FAILED on error. */
static inline void *secret_map(int fd, size_t len, off_t off)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
}

/*
 * The common fixture body: the secretmem platform (else SKIP with its reason),
 * one fd and, when pages > 0, its size set by the one allowed ftruncate.
 */
#define SECRET_FIXTURE(name, pages)						\
	FIXTURE(name) {								\
		const struct pm_platform *p;					\
		int fd;								\
		long page;							\
		size_t size;							\
	};									\
	FIXTURE_SETUP(name)							\
	{									\
		self->fd = -1;							\
		self->page = getpagesize();					\
		self->size = (pages) * self->page;				\
		PM_REQUIRE(&secret_need, self->p);				\
		self->fd = secret_create(0);					\
		ASSERT_LE(0, self->fd) TH_LOG("memfd_secret(0): %s", strerror(errno)); \
		if (self->size)							\
			ASSERT_EQ(0, ftruncate(self->fd, self->size));		\
	}									\
	FIXTURE_TEARDOWN(name)							\
	{									\
		if (self->fd >= 0)						\
			close(self->fd);					\
	}

/* Whole (small) /proc file into buf, NUL-terminated; bytes read or -1. */
static inline ssize_t secret_slurp(const char *path, char *buf, size_t size)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	while ((size_t)got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

/* Value after "key" at the start of a line ("key value" or "key:   value kB"); -1 if absent. */
static inline long long secret_field(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		if (!strncmp(l, key, klen) && (l[klen] == ' ' || l[klen] == ':' || l[klen] == '\t'))
			return strtoll(l + klen + (l[klen] == ':'), NULL, 10);
	return -1;
}

/*
 * The VmFlags of the VMA that starts at addr, from /proc/self/smaps, as a
 * space-separated list with a leading and trailing space (" rd wr sh dd ").
 * Returns false when no VMA starts there.
 */
static inline bool secret_vmflags(const void *addr, char *flags, size_t len)
{
	static char smaps[1 << 20];
	char start[32], *vma, *f, *end;

	if (secret_slurp("/proc/self/smaps", smaps, sizeof(smaps)) <= 0)
		return false;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	for (vma = smaps; vma; vma = strchr(vma, '\n'), vma = vma ? vma + 1 : NULL)
		if (!strncmp(vma, start, strlen(start)))
			break;
	if (!vma || !(f = strstr(vma, "\nVmFlags:")))
		return false;
	f += strlen("\nVmFlags:");
	end = strchr(f, '\n');
	if (!end)
		end = f + strlen(f);
	while (end > f && end[-1] == ' ')
		end--;
	snprintf(flags, len, "%.*s ", (int)(end - f), f);
	return true;
}

/* Is the two-letter smaps flag (e.g. "dd") in a secret_vmflags() list? */
static inline bool secret_has_flag(const char *flags, const char *flag)
{
	char tok[8];

	snprintf(tok, sizeof(tok), " %s ", flag);
	return strstr(flags, tok) != NULL;
}

/*
 * Checks made in a child process cannot use the harness's ASSERTs (they would
 * unwind the child's copy of the test). The child records the first mismatch
 * here, in memory shared with the parent, and exits 1; the parent logs it.
 */
struct secret_report {
	char msg[512];
};

static inline struct secret_report *secret_report_new(void)
{
	struct secret_report *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (r == MAP_FAILED)
		return NULL;
	r->msg[0] = '\0';
	return r;
}

__attribute__((format(printf, 2, 3), noreturn))
static inline void secret_child_fail(struct secret_report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	_exit(1);
}

/* In a child: require cond, else report the message and exit 1. */
#define CHILD_CHECK(rep, cond, fmt, ...) do {					\
	if (!(cond))								\
		secret_child_fail((rep), "%s:%d: %s: " fmt, __FILE__, __LINE__,	\
				  #cond, ##__VA_ARGS__);				\
} while (0)

/* Reap a child that ran CHILD_CHECKs: it must have exited 0. */
#define ASSERT_CHILD_OK(pid, rep) do {						\
	int __st;								\
	ASSERT_EQ((pid), waitpid((pid), &__st, 0));				\
	if (!WIFEXITED(__st) || WEXITSTATUS(__st))				\
		TH_LOG("child: %s (wait status 0x%x)",				\
		       (rep)->msg[0] ? (rep)->msg : "no report", __st);		\
	ASSERT_TRUE(WIFEXITED(__st));						\
	ASSERT_EQ(0, WEXITSTATUS(__st));					\
} while (0)

#endif
