/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Interface between the deviant shim's core (shim.c, which interposes the libc
 * calls) and its per-area modules (one .c file per conformance collection).
 *
 * A module is a table of deviations plus two hooks the core calls around every
 * interposed call. Arguments travel as longs in a[], in the libc function's
 * order (for syscall(): a[0] is the number, a[1..] its arguments). A module
 * acts only when shim_is() says its deviation is the active one.
 */
#ifndef PRIVMEM_SHIM_H
#define PRIVMEM_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compat.h"

enum shim_call {
	SC_IOCTL, SC_OPEN, SC_CLOSE, SC_DUP, SC_DUP2, SC_FSTAT, SC_FCNTL,
	SC_READ, SC_WRITE, SC_PREAD, SC_PWRITE, SC_LSEEK, SC_FTRUNCATE, SC_FSYNC,
	SC_FALLOCATE, SC_FCHMOD,
	SC_MMAP, SC_MUNMAP, SC_MPROTECT, SC_MREMAP, SC_MADVISE,
	SC_MLOCK, SC_MLOCK2, SC_MUNLOCK,
	SC_MEMFD_CREATE, SC_SYSCALL,
	SC_PROCESS_VM_READV, SC_PROCESS_VM_WRITEV, SC_PTRACE, SC_VMSPLICE, SC_SPLICE,
	SC_FORK, SC_UNSHARE,
	SC_MBIND, SC_GET_MEMPOLICY, SC_SET_MEMPOLICY, SC_MOVE_PAGES,
	SC_NR
};

#define SHIM_NARGS 7

struct shim_dev {
	const char *name;	/* PRIVMEM_DEVIATION=<name> */
	const char *desc;	/* the plausible kernel bug it imitates */
	/*
	 * Detectable only where the kernel has the feature the rows need (the QEMU
	 * lab's sw-protected VMs): scripts/lab.sh --deviations runs it there, and
	 * make check on a host without the feature leaves it to the lab.
	 */
	bool lab;
	/*
	 * The rows.tsv ids this deviation targets, space-separated: it counts as
	 * detected only when one of them FAILs by an assertion (scripts/kills.sh).
	 */
	const char *rows;
};

struct shim_module {
	const char *area;		/* the collection expected to detect it */
	const struct shim_dev *devs;	/* terminated by { NULL, NULL } */
	/*
	 * Before the real call: return true to decide the result yourself (*ret,
	 * and errno when failing); a[] may be rewritten to change what the kernel sees.
	 */
	bool (*before)(enum shim_call call, long a[SHIM_NARGS], long *ret);
	/* After the real call: may rewrite *ret and errno. */
	void (*after)(enum shim_call call, long a[SHIM_NARGS], long *ret);
};

void shim_register(const struct shim_module *m);

#define SHIM_MODULE(var)							\
	__attribute__((constructor(101))) static void shim_reg_##var(void)	\
	{ shim_register(&var); }

/* Is `name` the active deviation? (Announces it on stderr the first time.) */
bool shim_is(const char *name);

/* The real libc function behind an interposed call, with the same a[]. */
long shim_real(enum shim_call call, const long a[SHIM_NARGS]);

/* guest_memfd fds the process created (tracked by the core). */
struct shim_gmem {
	bool gmem, bound;
	uint64_t size, flags;
	ino_t ino;
};
struct shim_gmem *shim_gmem(int fd);

/* The kvm_run mapping of a vCPU fd, once the process has mapped it; else NULL. */
struct kvm_run *shim_vcpu_run(int fd);

#endif
