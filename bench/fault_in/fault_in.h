/* SPDX-License-Identifier: GPL-2.0 */
/*
 * fault_in: guest first-touch throughput and per-page cost.
 *
 * One sample is one fresh VM with one fresh memslot of S bytes, touched once
 * (one 8-byte write per 4K page) by N vCPUs, each writing its own contiguous
 * part. The VM, the memory, the memslot and the vCPUs are created before the
 * clock starts; the memory is populated lazily, by the guest's writes. Timed:
 * from starting the vCPU threads until the slowest vCPU has finished its part.
 *
 * Sweep: backing (guest_memfd, anonymous, shmem/memfd, THP, hugetlb) x guest
 * page-table size (4K, 2M) x vCPUs (1, nproc, 2 x nproc; --quick and --smoke
 * use 1 and nproc). "Pages" are always 4K pages: with 2M guest pages and a
 * huge backing the host may map a whole 2M at the first touch, and the other
 * 511 writes of that 2M cost only the guest loop.
 *
 * Each sample has a second pass over the same, now populated, memory (after a
 * sync at which the host waits for every vCPU): its cost per page is the guest
 * loop plus whatever the backend does on an already-mapped page, so the
 * difference between the passes is what the first touch itself costs.
 *
 * Paired samples (4K guest pages, one vCPU per CPU, every backing): the first
 * touch in chunks of PAIR_CHUNK pages, each followed at a sync by the vCPU's
 * thread first-touching as many pages of host anonymous memory and then by the
 * guest writing the chunk again; per chunk the guest first touch over each of
 * the two, per sample the median over chunks. The host here drifts by ~10% in
 * absolute speed from one 20-ms sample to the next, so rate cannot be steady;
 * these ratios are read on the same CPU within about a millisecond.
 *
 * References (same run): the host's anonymous 4K first-touch fault
 * (PMB_REF_FAULT_4K); a "raw" mode that runs the same guest work on the same
 * memory with a bare ioctl(KVM_RUN) loop instead of the library's vCPU runner
 * (the harness overhead); and, when --set demand_paging=PATH names a built
 * upstream KVM selftest (scripts/upstream-demand-paging.sh), demand_paging_test
 * on the same memory (anonymous, 4K guest pages, same bytes and vCPUs, one pass
 * timed from thread start). Its guest does more per page (35 instructions, 8
 * memory accesses, to 6 and 1 here) from 4K-mapped code and stack (2M here):
 * nothing on hardware KVM, but on a backend that emulates every guest
 * instruction (kvm_pvm) that sets the ratio. --set guest_loop=memstress and
 * --set image_page_kib=4 give privmem's guest the same work (bench/README.md).
 *
 * Files: main.c (parse, describe, sweep, record), sample.c (guest code, one VM
 * per sample, the measured and paired samples), compare.c (the harness overhead
 * against a bare KVM_RUN loop, upstream demand_paging_test).
 */
#ifndef PRIVMEM_BENCH_FAULT_IN_H
#define PRIVMEM_BENCH_FAULT_IN_H

#include "pmb_backing.h"
#include "pmb_util.h"
#include "pmb_vm.h"

#define SLOT		PM_SLOT_FIRST_FREE
#define TEST_GPA	PM_TEST_GPA
#define TAG		0x46490000u	/* "FI": what the guest writes, checked by the host */
#define SYNC_WAIT_S	30		/* hang bound for the host barrier, never reached when sane */
#define MAX_VCPUS	PM_MAX_VCPUS
#define PAIR_CHUNK	32		/* pages per chunk of a paired sample */

/* The backings fault_in sweeps, in the order of its tables. */
#define FI_NR_BACKINGS 5
extern const enum pmb_backing fi_backings[FI_NR_BACKINGS];

/* What the guest does (sample.c has the guest code). */
enum fi_guest {
	FI_TWO_PASS,	/* measured samples: first touch, sync, second pass */
	FI_PAIRED,	/* paired samples: chunks of first touch, host touch, rewrite */
	FI_ONE_PASS,	/* harness comparison: first touch only */
	FI_TWO_PASS_MS,	/* FI_TWO_PASS with demand_paging_test's per-page work (guest_loop=memstress) */
};

/* One configuration. */
struct cfg {
	struct pmb *b;
	enum pmb_backing k;
	uint64_t gpage;		/* guest page-table size */
	int vcpus;
	uint64_t size;		/* bytes of the slot, all vCPUs together */
	enum fi_guest guest;
	uint64_t image_page;	/* the VM's own mappings (pm_vm_create_mapped); 0: 2M */
};

/* A VM with its memslot and vCPUs, ready to run (nothing faulted yet). */
struct setup {
	struct pm_vm *vm;
	struct pmb_mem mem;
	struct pm_vcpu *vcpu[MAX_VCPUS];
	uint64_t first_page[MAX_VCPUS], pages[MAX_VCPUS];
	/* Paired samples: vCPU v's thread first-touches host[v] (pages[v] pages). */
	uint8_t *host[MAX_VCPUS];
	char err[256];
};

/*
 * One configuration's samples (warm-up included, in order) and counters
 * summed over every sample.
 */
struct cfgrun {
	struct cfg c;
	bool failed;
	int n;				/* samples taken so far */
	double *rate;			/* first pass, pages/s over all vCPUs */
	double *retouch_ns;		/* second pass, ns per page per vCPU */
	double *setup_ms;		/* VM + memory + memslot + vCPUs, not timed */
	/* Paired samples (FI_PAIRED) only: */
	double *over_host;		/* guest first touch / host first touch */
	double *over_write;		/* guest first touch / guest write to a mapped page */
	double *host_ns;		/* host first touch, ns per page */
	long long host_faults, pgfault, thp_alloc, thp_fallback;
	uint64_t exits, pf_fixed, pf_taken, pages_4k, pages_2m;
	bool kvm_stats;
	long pages;			/* 4K pages first-touched */
};

/* sample.c: a VM per sample, the measured and the paired samples. */
int setup(const struct cfg *c, struct setup *s, uint32_t tag);
void teardown(struct setup *s);
int check_written(const struct cfg *c, struct setup *s, uint64_t want, char *err, size_t len);
/* pages/s of the first pass (all vCPUs), or -1 with the error recorded. */
double sample_two_pass(struct cfgrun *r);
/* guest first touch / host first touch, median over chunks, or -1. */
double sample_paired(struct cfgrun *r);

/* compare.c: the harness overhead and the upstream selftest on the same work. */
bool measure_overhead(struct pmb *b, uint64_t size, int vcpus, int reps, int warmup,
		      struct pmb_table *tab, double *overhead);
/* same_work: privmem ran guest_loop=memstress with image_page_kib=4. */
void upstream_describe(struct pmb *b, const char *path, bool same_work);
void measure_upstream(struct pmb *b, const char *path, const struct cfg *c, int reps,
		      int warmup, double privmem_rate, struct pmb_table **tab, double *ratio_out);

static inline const char *gpage_name(uint64_t g)
{
	return g == PM_PAGE_2M ? "2M" : "4K";
}

#endif
