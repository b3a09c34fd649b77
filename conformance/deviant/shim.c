// SPDX-License-Identifier: GPL-2.0
/*
 * The deviant shim: an LD_PRELOAD library that makes the "kernel" deviate in
 * exactly one documented way, so `make check` can prove every behaviour check
 * can fail. This is the only mock of the kernel in privmem, and it exists for
 * that purpose alone.
 *
 *   PRIVMEM_DEVIATION=<name>   inject one deviation
 *   PRIVMEM_DEVIATION=list     print "name<TAB>area<TAB>host|lab<TAB>target rows<TAB>description"
 *                              lines and exit
 *   PRIVMEM_ENV=no-kvm         /dev/kvm is absent (ENOENT): everything must SKIP
 *   PRIVMEM_ENV=kmsg-splat     a test binary writes a kernel-style WARNING line to
 *                              /dev/kmsg as it starts: the runner must fail it
 *
 * This file is the core: it interposes the libc calls the suite makes, tracks
 * guest_memfd and vCPU fds, and hands every call to the module (one per
 * conformance area, see shim.h) that owns the active deviation.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shim.h"

/* The 64-bit aliases below need not repeat glibc's nonnull/leaf attributes. */
#pragma GCC diagnostic ignored "-Wmissing-attributes"

#define MAX_MODULES 16
static const struct shim_module *modules[MAX_MODULES];
static int nr_modules;
static const struct shim_module *owner;	/* module of the active deviation */
static const char *active;		/* its name */
static bool no_kvm;

#define MAX_FD 4096
static struct shim_gmem gmems[MAX_FD];
static struct kvm_run *vcpu_runs[MAX_FD];
static bool is_vcpu[MAX_FD];

void shim_register(const struct shim_module *m)
{
	if (nr_modules == MAX_MODULES) {
		fprintf(stderr, "privmem-deviant: too many modules\n");
		exit(2);
	}
	modules[nr_modules++] = m;
}

bool shim_is(const char *name)
{
	static bool said;

	if (!active || strcmp(active, name))
		return false;
	if (!said) {
		said = true;
		fprintf(stderr, "# privmem-deviant: injecting %s\n", name);
	}
	return true;
}

struct shim_gmem *shim_gmem(int fd)
{
	return fd >= 0 && fd < MAX_FD && gmems[fd].gmem ? &gmems[fd] : NULL;
}

struct kvm_run *shim_vcpu_run(int fd)
{
	return fd >= 0 && fd < MAX_FD ? vcpu_runs[fd] : NULL;
}

/*
 * The kernel log as the runner reads it gets one line shaped like a WARN() splat,
 * written while a test binary runs (its start), never by the runner's own tools.
 */
static void inject_splat(void)
{
	extern char *program_invocation_short_name;
	const char *me = program_invocation_short_name;
	size_t len = strlen(me);
	char line[160];
	long a[SHIM_NARGS] = { (long)"/dev/kmsg", O_WRONLY };
	int fd;

	if (len < 5 || strcmp(me + len - 5, "_test"))
		return;
	fd = shim_real(SC_OPEN, a);
	if (fd < 0) {
		fprintf(stderr, "privmem-deviant: kmsg-splat: /dev/kmsg: %s\n", strerror(errno));
		return;
	}
	a[0] = fd, a[1] = (long)line;
	a[2] = snprintf(line, sizeof(line), "<4>WARNING: CPU: 0 PID: %d at privmem-deviant "
			"kmsg-splat (%s): injected, not a kernel bug\n", getpid(), me);
	shim_real(SC_WRITE, a);
	a[0] = fd;
	shim_real(SC_CLOSE, a);
}

/* After the modules have registered (their constructors run first). */
__attribute__((constructor(200))) static void init(void)
{
	const char *want = getenv("PRIVMEM_DEVIATION");
	const char *env = getenv("PRIVMEM_ENV");

	no_kvm = env && !strcmp(env, "no-kvm");
	if (env && !strcmp(env, "kmsg-splat"))
		inject_splat();
	if (!want || !*want)
		return;
	for (int m = 0; m < nr_modules; m++)
		for (const struct shim_dev *d = modules[m]->devs; d->name; d++) {
			if (!strcmp(want, "list"))
				printf("%s\t%s\t%s\t%s\t%s\n", d->name, modules[m]->area,
				       d->lab ? "lab" : "host", d->rows ? d->rows : "", d->desc);
			else if (!strcmp(want, d->name))
				owner = modules[m], active = d->name;
		}
	if (!strcmp(want, "list"))
		exit(0);
	if (!owner) {
		fprintf(stderr, "privmem-deviant: unknown deviation '%s' (PRIVMEM_DEVIATION=list)\n", want);
		exit(2);
	}
}

/* ---- the real functions ------------------------------------------------------------ */

static void *real_sym(enum shim_call c)
{
	static const char *const names[SC_NR] = {
		[SC_IOCTL] = "ioctl", [SC_OPEN] = "open", [SC_CLOSE] = "close",
		[SC_DUP] = "dup", [SC_DUP2] = "dup2", [SC_FSTAT] = "fstat",
		[SC_FCNTL] = "fcntl", [SC_READ] = "read", [SC_WRITE] = "write",
		[SC_PREAD] = "pread", [SC_PWRITE] = "pwrite", [SC_LSEEK] = "lseek",
		[SC_FTRUNCATE] = "ftruncate", [SC_FSYNC] = "fsync",
		[SC_FALLOCATE] = "fallocate", [SC_FCHMOD] = "fchmod",
		[SC_MMAP] = "mmap", [SC_MUNMAP] = "munmap", [SC_MPROTECT] = "mprotect",
		[SC_MREMAP] = "mremap", [SC_MADVISE] = "madvise", [SC_MLOCK] = "mlock",
		[SC_MLOCK2] = "mlock2", [SC_MUNLOCK] = "munlock",
		[SC_MEMFD_CREATE] = "memfd_create", [SC_SYSCALL] = "syscall",
		[SC_PROCESS_VM_READV] = "process_vm_readv",
		[SC_PROCESS_VM_WRITEV] = "process_vm_writev", [SC_PTRACE] = "ptrace",
		[SC_VMSPLICE] = "vmsplice", [SC_SPLICE] = "splice", [SC_FORK] = "fork",
		[SC_UNSHARE] = "unshare", [SC_MBIND] = "mbind",
		[SC_GET_MEMPOLICY] = "get_mempolicy", [SC_SET_MEMPOLICY] = "set_mempolicy",
		[SC_MOVE_PAGES] = "move_pages",
	};
	static void *cache[SC_NR];

	if (!cache[c])
		cache[c] = dlsym(RTLD_NEXT, names[c]);
	if (!cache[c]) {
		fprintf(stderr, "privmem-deviant: no real %s\n", names[c]);
		abort();
	}
	return cache[c];
}

/* Every interposed function has at most 7 arguments, all passed as longs. */
typedef long (*fn7)(long, long, long, long, long, long, long);

long shim_real(enum shim_call c, const long a[SHIM_NARGS])
{
	void *f = real_sym(c);

	/*
	 * mmap returns a pointer, lseek an off_t, the others int/ssize_t/long: all
	 * returned in the same register on x86-64; narrower ones are sign-extended here.
	 */
	switch (c) {
	case SC_MMAP: case SC_MREMAP: case SC_LSEEK: case SC_SYSCALL: case SC_PTRACE:
	case SC_READ: case SC_WRITE: case SC_PREAD: case SC_PWRITE:
	case SC_PROCESS_VM_READV: case SC_PROCESS_VM_WRITEV: case SC_VMSPLICE:
	case SC_SPLICE: case SC_GET_MEMPOLICY: case SC_MBIND: case SC_SET_MEMPOLICY:
	case SC_MOVE_PAGES:
		return ((fn7)f)(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
	default:
		return (int)((fn7)f)(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
	}
}

/* Bookkeeping every run needs, deviation or not. */
static void track(enum shim_call c, const long a[SHIM_NARGS], long ret)
{
	int fd = (int)a[0];

	switch (c) {
	case SC_IOCTL:
		if (a[1] == (long)KVM_CREATE_GUEST_MEMFD && ret >= 0 && ret < MAX_FD) {
			const struct kvm_create_guest_memfd *g = (void *)a[2];
			struct stat st;

			gmems[ret] = (struct shim_gmem){ .gmem = true, .size = g->size,
							.flags = g->flags };
			if (!((int (*)(int, struct stat *))real_sym(SC_FSTAT))(ret, &st))
				gmems[ret].ino = st.st_ino;
		} else if (a[1] == (long)KVM_CREATE_VCPU && ret >= 0 && ret < MAX_FD) {
			is_vcpu[ret] = true;
		} else if (a[1] == (long)KVM_SET_USER_MEMORY_REGION2 && ret == 0) {
			const struct kvm_userspace_memory_region2 *r = (void *)a[2];

			if ((r->flags & KVM_MEM_GUEST_MEMFD) && shim_gmem(r->guest_memfd))
				gmems[r->guest_memfd].bound = r->memory_size != 0;
		}
		break;
	case SC_CLOSE:
		if (ret == 0 && fd >= 0 && fd < MAX_FD) {
			gmems[fd].gmem = false;
			is_vcpu[fd] = false;
			vcpu_runs[fd] = NULL;
		}
		break;
	case SC_MMAP:
		fd = (int)a[4];
		if (fd >= 0 && fd < MAX_FD && is_vcpu[fd] && (void *)ret != MAP_FAILED && a[5] == 0)
			vcpu_runs[fd] = (void *)ret;
		break;
	default:
		break;
	}
}

static long call(enum shim_call c, long a[SHIM_NARGS])
{
	long ret;

	if (owner && owner->before && owner->before(c, a, &ret))
		return ret;
	ret = shim_real(c, a);
	if (ret != -1 || c == SC_MMAP)
		track(c, a, ret);
	if (owner && owner->after) {
		int saved = errno;

		owner->after(c, a, &ret);
		if (ret == -1 && errno == 0)
			errno = saved;
	}
	return ret;
}

#define CALL(c, ...) ({ long __a[SHIM_NARGS] = { __VA_ARGS__ }; call((c), __a); })
#define L(x) ((long)(x))

/* ---- interposed functions ------------------------------------------------------------ */

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	return CALL(SC_IOCTL, fd, L(req), L(arg));
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = va_arg(ap, mode_t);
	va_end(ap);
	if (no_kvm && !strcmp(path, "/dev/kvm")) {
		errno = ENOENT;
		return -1;
	}
	return CALL(SC_OPEN, L(path), flags, mode);
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int close(int fd) { return CALL(SC_CLOSE, fd); }
int dup(int fd) { return CALL(SC_DUP, fd); }
int dup2(int fd, int to) { return CALL(SC_DUP2, fd, to); }
int fstat(int fd, struct stat *st) { return CALL(SC_FSTAT, fd, L(st)); }

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return CALL(SC_FCNTL, fd, cmd, arg);
}
int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

ssize_t read(int fd, void *buf, size_t n) { return CALL(SC_READ, fd, L(buf), L(n)); }
ssize_t write(int fd, const void *buf, size_t n) { return CALL(SC_WRITE, fd, L(buf), L(n)); }
ssize_t pread(int fd, void *buf, size_t n, off_t off) { return CALL(SC_PREAD, fd, L(buf), L(n), off); }
ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { return CALL(SC_PWRITE, fd, L(buf), L(n), off); }
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));
off_t lseek(int fd, off_t off, int whence) { return CALL(SC_LSEEK, fd, off, whence); }
off_t lseek64(int fd, off_t off, int whence) __attribute__((alias("lseek")));
int ftruncate(int fd, off_t len) { return CALL(SC_FTRUNCATE, fd, len); }
int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));
int fsync(int fd) { return CALL(SC_FSYNC, fd); }
int fdatasync(int fd) __attribute__((alias("fsync")));
int fallocate(int fd, int mode, off_t off, off_t len) { return CALL(SC_FALLOCATE, fd, mode, off, len); }
int fallocate64(int fd, int mode, off_t off, off_t len) __attribute__((alias("fallocate")));
int fchmod(int fd, mode_t mode) { return CALL(SC_FCHMOD, fd, mode); }

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return (void *)CALL(SC_MMAP, L(addr), L(len), prot, flags, fd, off);
}
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));
int munmap(void *addr, size_t len) { return CALL(SC_MUNMAP, L(addr), L(len)); }
int mprotect(void *addr, size_t len, int prot) { return CALL(SC_MPROTECT, L(addr), L(len), prot); }

void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	va_list ap;
	void *new_addr;

	va_start(ap, flags);
	/* glibc reads the fifth argument for DONTUNMAP too. */
	new_addr = (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) ? va_arg(ap, void *) : NULL;
	va_end(ap);
	return (void *)CALL(SC_MREMAP, L(old), L(old_len), L(new_len), flags, L(new_addr));
}

int madvise(void *addr, size_t len, int advice) { return CALL(SC_MADVISE, L(addr), L(len), advice); }
int mlock(const void *addr, size_t len) { return CALL(SC_MLOCK, L(addr), L(len)); }
int mlock2(const void *addr, size_t len, unsigned int flags) { return CALL(SC_MLOCK2, L(addr), L(len), flags); }
int munlock(const void *addr, size_t len) { return CALL(SC_MUNLOCK, L(addr), L(len)); }
int memfd_create(const char *name, unsigned int flags) { return CALL(SC_MEMFD_CREATE, L(name), flags); }

long syscall(long nr, ...)
{
	long a[SHIM_NARGS] = { nr };
	va_list ap;

	va_start(ap, nr);
	for (int i = 1; i < SHIM_NARGS; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return call(SC_SYSCALL, a);
}

ssize_t process_vm_readv(pid_t pid, const struct iovec *l, unsigned long ln,
			 const struct iovec *r, unsigned long rn, unsigned long flags)
{
	return CALL(SC_PROCESS_VM_READV, pid, L(l), L(ln), L(r), L(rn), L(flags));
}

ssize_t process_vm_writev(pid_t pid, const struct iovec *l, unsigned long ln,
			  const struct iovec *r, unsigned long rn, unsigned long flags)
{
	return CALL(SC_PROCESS_VM_WRITEV, pid, L(l), L(ln), L(r), L(rn), L(flags));
}

long ptrace(int req, ...)
{
	va_list ap;
	long pid, addr, data;

	va_start(ap, req);
	pid = va_arg(ap, long);
	addr = va_arg(ap, long);
	data = va_arg(ap, long);
	va_end(ap);
	return CALL(SC_PTRACE, req, pid, addr, data);
}

ssize_t vmsplice(int fd, const struct iovec *iov, size_t n, unsigned int flags)
{
	return CALL(SC_VMSPLICE, fd, L(iov), L(n), flags);
}

ssize_t splice(int in, loff_t *in_off, int out, loff_t *out_off, size_t len, unsigned int flags)
{
	return CALL(SC_SPLICE, in, L(in_off), out, L(out_off), L(len), flags);
}

pid_t fork(void) { return CALL(SC_FORK, 0); }
int unshare(int flags) { return CALL(SC_UNSHARE, flags); }

/* libnuma's numaif.h functions (the shim forwards to libnuma's own). */
long mbind(void *addr, unsigned long len, int mode, const unsigned long *mask,
	   unsigned long maxnode, unsigned int flags)
{
	return CALL(SC_MBIND, L(addr), L(len), mode, L(mask), L(maxnode), flags);
}

long get_mempolicy(int *mode, unsigned long *mask, unsigned long maxnode, void *addr,
		   unsigned long flags)
{
	return CALL(SC_GET_MEMPOLICY, L(mode), L(mask), L(maxnode), L(addr), L(flags));
}

long set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode)
{
	return CALL(SC_SET_MEMPOLICY, mode, L(mask), L(maxnode));
}

long move_pages(int pid, unsigned long count, void **pages, const int *nodes,
		int *status, int flags)
{
	return CALL(SC_MOVE_PAGES, pid, L(count), L(pages), L(nodes), L(status), flags);
}
