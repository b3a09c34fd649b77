/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest side of the privmem VM library: what C code running inside a privmem
 * VM may use. Guest code runs from an identity-mapped copy of the test binary,
 * so it can call other functions and read string literals and globals (its own
 * copy of them), but must not call libc. Reporting to the host goes through a
 * per-vCPU report page and one exit the host recognises: port I/O on x86_64,
 * an MMIO write on arm64 (lib/<arch>/guest.c).
 */
#ifndef PRIVMEM_GUEST_H
#define PRIVMEM_GUEST_H

#include <stdint.h>

/* x86_64: the I/O port the guest writes to after filling its report page. */
#define PM_REPORT_PORT 0x1f0e
/*
 * arm64: the guest physical address the guest stores to after filling its report
 * page; no memslot covers it, so the store is a KVM_EXIT_MMIO. Just below PM_SYS_GPA.
 */
#define PM_REPORT_MMIO 0x3fff0000ULL

enum pm_report_kind {
	PM_REP_NONE = 0,
	PM_REP_SYNC,		/* guest reached a sync point: vals[0] is the stage */
	PM_REP_ASSERT,		/* guest assertion failed: file, line, expr, vals[0..1] */
	PM_REP_DONE,		/* guest function returned or called GUEST_DONE() */
	PM_REP_EXCEPTION,	/* CPU exception: vals as lib/<arch>/guest.c says */
};

#define PM_REPORT_VALS 6

/*
 * One page per vCPU; the host reads it after the report exit. The guest copies
 * an assertion's strings into it: the host never reads other guest memory,
 * which a protected VM (pKVM) does not let it read.
 */
struct pm_report {
	uint64_t self;		/* guest address of this struct (x86_64: read via %gs:0) */
	uint32_t kind;
	uint32_t line;
	uint64_t nvals;
	uint64_t vals[PM_REPORT_VALS];
	char file[128];
	char expr[256];
};


/*
 * Wrap guest code in these: it is compiled with the host's flags, and at -O2
 * GCC vectorises loops into SSE. Guest code uses integer registers only,
 * because a backend need not give the guest usable SSE state (kvm_pvm stops
 * the vCPU with an emulation failure on the first SSE instruction).
 */
#define PM_GUEST_CODE_BEGIN _Pragma("GCC push_options") _Pragma("GCC target(\"general-regs-only\")")
#define PM_GUEST_CODE_END   _Pragma("GCC pop_options")

/*
 * Every function that runs inside the VM, entry points and the helpers they call,
 * is declared PM_GUEST:
 *
 *   static PM_GUEST void guest_fill(uint64_t gpa, uint64_t size, uint64_t unused)
 *
 * It places the function in the pm_guest_text section and keeps out what needs the
 * host process: sanitizer instrumentation (make SANITIZE=1: ASan checks its shadow
 * memory, which is not mapped in the guest, and both sanitizers call their runtime
 * in libasan/libubsan, which is not in the guest image), -finstrument-functions
 * hooks, the stack protector (it reads %fs:0x28; %fs is not set up in the guest)
 * and SSE (as PM_GUEST_CODE_BEGIN). Forgetting it cannot go unnoticed:
 * pm_vcpu_add() refuses an entry point outside pm_guest_text (EFAULT), and the
 * build runs scripts/guest-check.sh on every binary, which fails when code in
 * pm_guest_text calls or jumps outside it, reads the ASan shadow, names a
 * sanitizer symbol, uses %fs or an SSE register.
 */
#define PM_GUEST __attribute__((section("pm_guest_text"), no_sanitize("address", "undefined"), \
				no_instrument_function, no_stack_protector, target("general-regs-only")))

/*
 * What each architecture's guest runtime (lib/<arch>/guest.c) provides: this
 * vCPU's report page, the exit that tells the host it is filled, and a halt.
 */
PM_GUEST struct pm_report *pm_guest_report_page(void);
PM_GUEST void pm_guest_report_exit(uint32_t kind);
PM_GUEST void pm_guest_halt(void) __attribute__((noreturn));

/*
 * arm64: an SMCCC call to the hypervisor (HVC #0; x0 = function id, x1-x3
 * arguments; returns x0). pKVM's memory-sharing calls (Documentation/virt/kvm/
 * arm/hypercalls.rst): MEM_SHARE / MEM_UNSHARE of one granule at an IPA.
 */
#define PM_SMCCC_SUCCESS	0
#define PM_SMCCC_NOT_SUPPORTED	((uint64_t)-1)
#define PM_SMCCC_HYP_MEMINFO	0xc6000002ULL
#define PM_SMCCC_MEM_SHARE	0xc6000003ULL
#define PM_SMCCC_MEM_UNSHARE	0xc6000004ULL
#ifdef __aarch64__
PM_GUEST uint64_t pm_guest_smccc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
#endif

/* The guest runtime (lib/guest.c). */
PM_GUEST void pm_guest_sync(uint64_t stage, uint64_t a, uint64_t b, uint64_t c);
PM_GUEST void pm_guest_done(void) __attribute__((noreturn));
PM_GUEST void pm_guest_assert_fail(const char *file, int line, const char *expr,
				   uint64_t a, uint64_t b) __attribute__((noreturn));

/* Host-visible sync point; the host resumes the vCPU with pm_vcpu_run(). */
#define GUEST_SYNC(stage)		pm_guest_sync((stage), 0, 0, 0)
#define GUEST_SYNC_VALS(stage, a, b, c)	pm_guest_sync((stage), (a), (b), (c))
#define GUEST_DONE()			pm_guest_done()

#define GUEST_ASSERT(cond) do {							\
	if (!(cond))								\
		pm_guest_assert_fail(__FILE__, __LINE__, #cond, 0, 0);		\
} while (0)

#define GUEST_ASSERT_EQ(a, b) do {						\
	uint64_t __ga = (uint64_t)(a), __gb = (uint64_t)(b);			\
	if (__ga != __gb)							\
		pm_guest_assert_fail(__FILE__, __LINE__, #a " == " #b, __ga, __gb); \
} while (0)

/*
 * Guest memory accessors the compiler may not fold or turn into libc calls.
 * Macros, not inline functions: GCC does not inline a function into code compiled
 * with different target options (PM_GUEST_CODE_BEGIN), and an out-of-line call per
 * access doubles the cost of guest loops on slow backends.
 */
#define pm_guest_read64(p)	(*(const volatile uint64_t *)(p))
#define pm_guest_write64(p, v)	((void)(*(volatile uint64_t *)(p) = (uint64_t)(v)))

/*
 * Per-architecture guest primitives: a full memory barrier (stores visible before
 * later loads), a spin-loop hint, and which exception a guest access to an unmapped
 * address raises (vals[0] of PM_REP_EXCEPTION; vals[3] is the address on both).
 */
#if defined(__x86_64__)
#define pm_guest_mb()		__asm__ volatile("lock; orq $0, (%%rsp)" ::: "memory", "cc")
#define pm_guest_cpu_relax()	__asm__ volatile("pause")
#define PM_EXC_PAGE_FAULT	14	/* #PF; vals[3] = CR2 */
#elif defined(__aarch64__)
#define pm_guest_mb()		__asm__ volatile("dmb ish" ::: "memory")
#define pm_guest_cpu_relax()	__asm__ volatile("yield")
#define PM_EXC_PAGE_FAULT	4	/* synchronous, current EL with SP_ELx; vals[3] = FAR_EL1 */
#endif

#endif
