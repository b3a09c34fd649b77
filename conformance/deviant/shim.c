// SPDX-License-Identifier: GPL-2.0
/*
 * The deviant shim: an LD_PRELOAD library that makes the "kernel" deviate in
 * exactly one documented way, so `make check` can prove every behaviour check
 * can fail. This is the only mock of the kernel in privmem, and it exists for
 * that purpose alone.
 *
 *   PRIVMEM_DEVIATION=<name>   inject one deviation (see deviations.h)
 *   PRIVMEM_DEVIATION=list     print "name<TAB>description" lines and exit
 *   PRIVMEM_ENV=no-kvm         /dev/kvm is absent (ENOENT): everything must SKIP
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compat.h"
#include "deviations.h"

/* The 64-bit aliases below need not repeat glibc's nonnull/leaf attributes. */
#pragma GCC diagnostic ignored "-Wmissing-attributes"

/* Names contain '-', so the enum is keyed by index into this table. */
static const struct { const char *name, *desc; } table[] = {
#define DEV_ROW(name, desc) { #name, desc },
	PM_DEVIATIONS(DEV_ROW)
#undef DEV_ROW
};

static int active = -1;		/* index into table, -1: none */
static bool no_kvm;

#define MAX_FD 4096
static struct gmem {
	bool gmem, bound;
	uint64_t size, flags;
	ino_t ino;
} fds[MAX_FD];
static ino_t first_ino;

/* vCPU fds and their kvm_run mappings, for deviations on KVM_RUN. */
static struct kvm_run *vcpu_run[MAX_FD];
static bool is_vcpu[MAX_FD];

static bool is(const char *name)
{
	if (active < 0 || strcmp(table[active].name, name))
		return false;
	static bool said;
	if (!said) {
		said = true;
		fprintf(stderr, "# privmem-deviant: injecting %s\n", name);
	}
	return true;
}

static struct gmem *gm(int fd)
{
	return fd >= 0 && fd < MAX_FD && fds[fd].gmem ? &fds[fd] : NULL;
}

__attribute__((constructor)) static void init(void)
{
	const char *want = getenv("PRIVMEM_DEVIATION");
	const char *env = getenv("PRIVMEM_ENV");

	no_kvm = env && !strcmp(env, "no-kvm");
	if (!want || !*want)
		return;
	if (!strcmp(want, "list")) {
		for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			printf("%s\t%s\n", table[i].name, table[i].desc);
		exit(0);
	}
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (!strcmp(table[i].name, want))
			active = i;
	if (active < 0) {
		fprintf(stderr, "privmem-deviant: unknown deviation '%s' (PRIVMEM_DEVIATION=list)\n", want);
		exit(2);
	}
}

#define REAL(ret, name, ...) \
	static ret (*real_##name)(__VA_ARGS__); \
	if (!real_##name) real_##name = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name)

static long fake_ok(int fd, size_t n)
{
	(void)fd;
	return n;
}

/* ---- ioctl: creation, caps, binding ------------------------------------------ */

static int create_gmem(int vmfd, struct kvm_create_guest_memfd *g,
		       int (*real)(int, unsigned long, ...))
{
	struct kvm_create_guest_memfd copy = *g;
	long page = getpagesize();
	int fd;

	if (is("create-unaligned-size") && copy.size % page)
		copy.size = (copy.size + page - 1) / page * page;
	if (is("create-size-zero") && copy.size == 0)
		copy.size = page;
	if (is("create-negative-size") && (int64_t)copy.size < 0)
		copy.size = page;
	if (is("unadvertised-flag")) {
		int valid = real(vmfd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_MEMFD_FLAGS);

		copy.flags &= valid > 0 ? (uint64_t)valid : 0;
	}
	if (is("advertised-flag-rejected") && (copy.flags & GUEST_MEMFD_FLAG_INIT_SHARED)) {
		errno = EINVAL;
		return -1;
	}
	for (int i = 0; i < 6; i++)
		if (copy.reserved[i] && is("reserved-eperm")) {
			errno = EPERM;
			return -1;
		}
	fd = real(vmfd, KVM_CREATE_GUEST_MEMFD, &copy);
	if (fd >= 0 && fd < MAX_FD) {
		struct stat st;

		fds[fd] = (struct gmem){ .gmem = true, .size = copy.size, .flags = copy.flags };
		if (!fstat(fd, &st)) {
			fds[fd].ino = st.st_ino;
			if (!first_ino)
				first_ino = st.st_ino;
		}
	}
	return fd;
}

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	REAL(int, ioctl, int, unsigned long, ...);

	if (req == KVM_CREATE_GUEST_MEMFD)
		return create_gmem(fd, arg, real_ioctl);
	if (req == KVM_CHECK_EXTENSION && (long)arg == KVM_CAP_GUEST_MEMFD_FLAGS &&
	    is("cap-hides-flags"))
		return 0;
	if (req == KVM_CREATE_VCPU) {
		int vcpu = real_ioctl(fd, req, arg);

		if (vcpu >= 0 && vcpu < MAX_FD)
			is_vcpu[vcpu] = true;
		return vcpu;
	}
	if (req == KVM_RUN && fd < MAX_FD && vcpu_run[fd] && is("io-exits-lost")) {
		int ret;

		/* The guest continues after its OUT as if the host had handled it. */
		do
			ret = real_ioctl(fd, req, arg);
		while (ret == 0 && vcpu_run[fd]->exit_reason == KVM_EXIT_IO);
		return ret;
	}
	if (req == KVM_RUN && fd < MAX_FD && vcpu_run[fd] && is("run-ignores-timeout")) {
		int ret;

		/* Swallow EINTR and the immediate_exit request: a stuck guest stays stuck. */
		for (;;) {
			ret = real_ioctl(fd, req, arg);
			if (ret == 0 || errno != EINTR)
				return ret;
			vcpu_run[fd]->immediate_exit = 0;
		}
	}
	if (req == KVM_SET_USER_MEMORY_REGION2) {
		struct kvm_userspace_memory_region2 *r = arg;
		int ret = real_ioctl(fd, req, arg);

		if (!ret && (r->flags & KVM_MEM_GUEST_MEMFD) && gm(r->guest_memfd))
			fds[r->guest_memfd].bound = r->memory_size != 0;
		return ret;
	}
	return real_ioctl(fd, req, arg);
}

/* ---- open/close/stat/fcntl ------------------------------------------------------ */

static int reopen(const char *path)
{
	int fd;

	if (sscanf(path, "/proc/self/fd/%d", &fd) == 1 && gm(fd) && is("reopen-allowed"))
		return dup(fd);
	return -1;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	REAL(int, open, const char *, int, ...);
	if (no_kvm && !strcmp(path, "/dev/kvm")) {
		errno = ENOENT;
		return -1;
	}
	fd = reopen(path);
	return fd >= 0 ? fd : real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int close(int fd)
{
	REAL(int, close, int);
	if (fd >= 0 && fd < MAX_FD) {
		fds[fd].gmem = false;
		is_vcpu[fd] = false;
		vcpu_run[fd] = NULL;
	}
	return real_close(fd);
}

static void fix_stat(int fd, struct stat *st)
{
	struct gmem *g = gm(fd);

	if (!g)
		return;
	if (is("same-inode") && first_ino)
		st->st_ino = first_ino;
	if (is("wrong-size"))
		st->st_size -= getpagesize();
	if (is("blksize-512"))
		st->st_blksize = 512;
}

int fstat(int fd, struct stat *st)
{
	REAL(int, fstat, int, struct stat *);
	int ret = real_fstat(fd, st);

	if (!ret)
		fix_stat(fd, st);
	return ret;
}


int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;
	int ret;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	REAL(int, fcntl, int, int, ...);
	if (gm(fd) && cmd == F_GET_SEALS && is("seals-supported"))
		return 0;
	ret = real_fcntl(fd, cmd, arg);
	if (gm(fd) && cmd == F_GETFL && ret >= 0 && is("fd-readonly"))
		ret = (ret & ~O_ACCMODE) | O_RDONLY;
	return ret;
}

int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

/* ---- read/write/seek/truncate/sync ------------------------------------------------- */

ssize_t read(int fd, void *buf, size_t n)
{
	REAL(ssize_t, read, int, void *, size_t);
	if (gm(fd) && is("read-succeeds")) {
		memset(buf, 0, n);
		return fake_ok(fd, n);
	}
	return real_read(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, int, const void *, size_t);
	if (gm(fd) && is("write-succeeds"))
		return fake_ok(fd, n);
	return real_write(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pread, int, void *, size_t, off_t);
	if (gm(fd) && is("pread-succeeds")) {
		memset(buf, 0, n);
		return fake_ok(fd, n);
	}
	return real_pread(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	REAL(ssize_t, pwrite, int, const void *, size_t, off_t);
	if (gm(fd) && is("pread-succeeds"))
		return fake_ok(fd, n);
	return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

off_t lseek(int fd, off_t off, int whence)
{
	REAL(off_t, lseek, int, off_t, int);
	if (gm(fd) && is("lseek-succeeds"))
		return whence == SEEK_SET ? off : 0;
	return real_lseek(fd, off, whence);
}

off_t lseek64(int fd, off_t off, int whence) __attribute__((alias("lseek")));

int ftruncate(int fd, off_t len)
{
	REAL(int, ftruncate, int, off_t);
	if (gm(fd) && is("ftruncate-resizes"))
		return 0;
	return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

int fsync(int fd)
{
	REAL(int, fsync, int);
	if (gm(fd) && is("fsync-succeeds"))
		return 0;
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(int, fdatasync, int);
	if (gm(fd) && is("fsync-succeeds"))
		return 0;
	return real_fdatasync(fd);
}

/* ---- mmap --------------------------------------------------------------------------- */

static void *anon(void *addr, size_t len, int prot, int flags)
{
	REAL(void *, mmap, void *, size_t, int, int, int, off_t);
	return real_mmap(addr, len, prot, (flags & ~MAP_FILE) | MAP_ANONYMOUS, -1, 0);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct gmem *g = gm(fd);
	void *p;

	REAL(void *, mmap, void *, size_t, int, int, int, off_t);
	if (g && (g->flags & GUEST_MEMFD_FLAG_MMAP) && is("mmap-refused")) {
		errno = ENODEV;
		return MAP_FAILED;
	}
	if (g && (g->flags & GUEST_MEMFD_FLAG_INIT_SHARED) && (flags & MAP_SHARED) &&
	    is("mmap-detached"))
		return anon(addr, len, prot, flags);
	if (g && !(g->flags & GUEST_MEMFD_FLAG_MMAP) && is("mmap-without-flag"))
		return anon(addr, len, prot, flags);
	if (g && (flags & MAP_PRIVATE) && is("mmap-private"))
		return anon(addr, len, prot, flags);
	if (g && (g->flags & GUEST_MEMFD_FLAG_MMAP) && !(g->flags & GUEST_MEMFD_FLAG_INIT_SHARED) &&
	    is("private-pages-mappable"))
		return anon(addr, len, prot, flags);
	p = real_mmap(addr, len, prot, flags, fd, off);
	if (fd >= 0 && fd < MAX_FD && is_vcpu[fd] && p != MAP_FAILED && off == 0)
		vcpu_run[fd] = p;
	if (g && p != MAP_FAILED && (uint64_t)off + len > g->size && is("no-sigbus-past-eof")) {
		size_t keep = g->size > (uint64_t)off ? g->size - off : 0;

		anon((char *)p + keep, len - keep, prot, MAP_SHARED | MAP_FIXED);
	}
	return p;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

/* ---- fallocate -------------------------------------------------------------------- */

int fallocate(int fd, int mode, off_t off, off_t len)
{
	struct gmem *g = gm(fd);
	long page = getpagesize();
	bool punch = mode & FALLOC_FL_PUNCH_HOLE;

	REAL(int, fallocate, int, int, off_t, off_t);
	if (g && len == 0 && is("zero-len-accepted"))
		return 0;
	if (!g || len <= 0 || off < 0)
		return real_fallocate(fd, mode, off, len);
	if (mode == FALLOC_FL_KEEP_SIZE && (uint64_t)(off + len) <= g->size && is("alloc-enomem")) {
		errno = ENOMEM;
		return -1;
	}
	if (mode == 0 && is("alloc-without-keep-size"))
		mode = FALLOC_FL_KEEP_SIZE;
	if (mode == (FALLOC_FL_KEEP_SIZE | FALLOC_FL_ZERO_RANGE) && is("zero-range"))
		return 0;
	if (!punch && mode == FALLOC_FL_KEEP_SIZE && (uint64_t)(off + len) > g->size &&
	    is("alloc-past-eof"))
		return 0;
	if (punch && (uint64_t)(off + len) > g->size && is("punch-past-eof-einval")) {
		errno = EINVAL;
		return -1;
	}
	if ((off % page || len % page) &&
	    (punch ? is("punch-unaligned") : is("alloc-unaligned"))) {
		off_t end = (off + len + page - 1) / page * page;

		off = off / page * page;
		len = end - off;
	}
	if (punch && (is("punch-noop") || (g->bound && is("punch-ignored-when-bound"))))
		return 0;
	if (punch && is("punch-too-much")) {
		off = 0;
		len = g->size;
	}
	return real_fallocate(fd, mode, off, len);
}

int fallocate64(int fd, int mode, off_t off, off_t len) __attribute__((alias("fallocate")));
