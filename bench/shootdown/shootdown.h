/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shootdown: what it costs to take guest memory away while the guest (and host
 * threads) are using it.
 *
 * Guest memory is a guest_memfd (MMAP | INIT_SHARED), mapped in the host and
 * bound to a memslot through that mapping (userspace_addr = the gmem mmap, which
 * is how kvm_pvm faults MMAP gmem slots). Per configuration (0, 1, nproc and
 * 2 x nproc running vCPUs, with and without host threads touching the same
 * mapping) four operations are timed one by one, clock around the syscall/ioctl:
 *   punch      fallocate(PUNCH_HOLE | KEEP_SIZE) of one populated 4K page;
 *   madvise    madvise(MADV_DONTNEED) of one populated page of the mapping;
 *   munmap     munmap of one populated page of the mapping (re-mmapped with
 *              MAP_FIXED_NOREPLACE outside the timing);
 *   slot_del   KVM_SET_USER_MEMORY_REGION2 deleting the memslot (re-added
 *              outside the timing, then the vCPUs re-fault it);
 *   punch_2m   (--full) PUNCH_HOLE of a populated 2 MiB half of the gmem.
 * The vCPUs run guest code that keeps reading and writing one word of each of
 * the 64 pages the operations hit, so a page the host just took away is
 * re-faulted (as zero after a punch; an access to an unmapped page or a
 * deleted slot exits KVM_EXIT_MMIO here, which the vCPU thread resumes).
 *
 * A page is taken away again only once every running vCPU has accessed it since
 * the last time (wait_retouched), so each operation meets a page the guest has
 * mapped. Each page operation is followed by its paired shootdown (an anon
 * madvise of this process, timed the same way): the IPI round trip on this VM
 * drifts by 20-30% over seconds, and the ratio to the pair cancels that.
 *
 * Per operation and configuration: latency as the median of each repetition's
 * median (repetitions of K operations; the CV across repetitions is the
 * stability), the pooled per-operation distribution (p10/p90/p99), the ratio to
 * the paired shootdown, and, from a separate untimed batch (no pairs, perf
 * counting there only): TLB and CAL interrupts per operation (/proc/interrupts),
 * the KVM VM stats remote_tlb_flush(_requests), the tlb:tlb_flush reasons and
 * the ipi:ipi_send_* tracepoints.
 *
 * Core figure: punch with one vCPU on the other CPU (median ns), and the same
 * against its pair (punch_over_paired).
 *
 * References (same run): PMB_REF_SHOOTDOWN (madvise(DONTNEED) of one anon page
 * with the mm live on another CPU) and PMB_REF_LOCAL_FLUSH (mm on this CPU
 * only), measured before any VM exists; and the will-it-scale tlb_flush2
 * pattern (write one byte, madvise(DONTNEED) that page, per-thread private
 * pages in one shared mm) over 1..nproc threads as the metric set wis_tlb_flush.
 *
 * Files: main.c (parse, describe, sweep), rig.c (guest code, a VM with running
 * vCPUs and host touchers, the operations), measure.c (one operation's latency,
 * counters and record), wis.c (will-it-scale tlb_flush2).
 */
#ifndef PRIVMEM_BENCH_SHOOTDOWN_H
#define PRIVMEM_BENCH_SHOOTDOWN_H

#include <pthread.h>
#include <stdatomic.h>

#include "platform.h"
#include "pmb_backing.h"
#include "pmb_util.h"
#include "pmb_vm.h"

#define PAGE		4096ULL
#define GMEM_SIZE	(4ULL << 20)
#define NP		64			/* pages the operations hit */
#define OP_STRIDE	(GMEM_SIZE / PAGE / NP)	/* 16 pages apart: 64 distinct page tables entries */
#define GMEM_GPA	PM_TEST_GPA
#define GMEM_SLOT	PM_SLOT_FIRST_FREE
#define CTL_SLOT	(PM_SLOT_FIRST_FREE + 1)
#define CTL_GPA		(PM_TEST_GPA + (1ULL << 30))
#define CTL_SIZE	(16 * PAGE)
#define MAX_VCPUS	PM_MAX_VCPUS
#define MAX_TOUCHERS	256
#define WAIT_MS		10000			/* hang bound for vCPU progress, never reached when sane */
#define HOST_BYTE	2048			/* the byte the host writes, clear of the vCPUs' words */
#define PAIRED_WHAT	"madvise(MADV_DONTNEED) of a written private anon page of this process, " \
			"timed right after each page operation (same CPUs busy, no guest memory)"

/* Guest-visible control page: one writer per word, each on its own cache line. */
struct ctl {
	uint64_t stop __attribute__((aligned(64)));
	struct {
		uint64_t passes __attribute__((aligned(64)));
	} vcpu[MAX_VCPUS];
};
_Static_assert(sizeof(struct ctl) <= CTL_SIZE, "control area");
enum op { OP_PUNCH, OP_MADVISE, OP_MUNMAP, OP_SLOT_DEL, OP_PUNCH_2M, NR_OPS };

struct op_info {
	const char *name, *what;
};
extern const struct op_info ops[NR_OPS];

struct rig;

struct vcpu_thread {
	struct rig *r;
	struct pm_vcpu *vcpu;
	int idx;
	pthread_t tid;
	atomic_long mmio_exits;
	atomic_int failed;
	char msg[400];
};

struct rig {
	struct pmb *b;
	int ncpu, main_cpu;
	struct pm_vm *vm;
	struct pmb_mem mem;	/* the guest_memfd and its mapping */
	int fd;			/* mem.fd */
	uint8_t *hva;		/* mem.p */
	struct ctl *ctl;
	uint8_t *anon;		/* the paired shootdown's page, see paired_shootdown() */
	int nvcpus, ntouch;
	struct vcpu_thread vt[MAX_VCPUS];
	pthread_t tt[MAX_TOUCHERS];
	atomic_long laps[MAX_TOUCHERS];	/* passes of each host toucher */
	atomic_int touch_stop;
	struct pmb_kvm_stats *ks;
	/* Each vCPU's word of each op page as read right after the last operation on it. */
	uint64_t seen[NP][MAX_VCPUS];
	uint64_t waits;		/* operations that had to wait for the guest */
};

/* What the sweep does per operation. */
struct plan {
	int reps, warmup;
	int k[NR_OPS];		/* operations per repetition */
	int k_core;		/* for the core figure: longer repetitions */
	int kc[NR_OPS];		/* operations in the traced batch */
	bool run[NR_OPS];
	bool trace_touchers;	/* also trace the configurations with host touchers */
};

#define MAX_REASONS 12

/* The tracepoints counted around each operation (tlb:tlb_flush per reason, ipi:*, kvmmmu:*). */
struct tracing {
	int nreasons;
	char reasons[MAX_REASONS][48];
	char ev[MAX_REASONS + 4][64];
	const char *evp[MAX_REASONS + 4];
	char key[MAX_REASONS + 4][80];
	int nev;
};

/* rig.c */
void nap_us(long us);
int rig_start(struct rig *r, struct pmb *b, const struct pm_platform *p, int nvcpus, int ntouch, int ncpu);
void rig_stop(struct rig *r);
uint64_t min_passes(struct rig *r);
/* n operations op (the seq-th on), each page operation's latency in lat and its pair's in pair. */
int run_ops(struct rig *r, enum op op, uint64_t *seq, int n, double *lat, double *pair);

/* measure.c */
void tracing_init(struct pmb *b, struct tracing *tr);
void measure_op(struct pmb *b, struct rig *r, const struct plan *pl, enum op op, struct tracing *tr,
		struct pmb_table *tab, const struct pmb_stats *ref_sd, const struct pmb_stats *ref_lf);

/* wis.c */
void measure_wis(struct pmb *b, int ncpu);

#endif
