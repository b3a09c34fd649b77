/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hugepage: how much 2M backing survives churn.
 *
 * Memory that starts fully backed and mapped with 2M pages (anonymous THP,
 * shmem/memfd THP, hugetlb, guest_memfd as far as the kernel allows) is
 * churned: a growing, cumulative set of distinct random 4K pages (one fixed
 * permutation per run, --set seed=N) is punched (MADV_DONTNEED for anonymous
 * memory, fallocate(PUNCH_HOLE) for files) and then re-faulted by a write.
 * After each step, retention = the share of the memory's 2M-aligned regions
 * still backed by one 2M folio, read per mapping (not from the global meminfo
 * counters, which other processes move too):
 *   backed: /proc/self/pagemap gives the PFNs of the region's 512 pages; they
 *           must be contiguous from a 2M-aligned PFN that /proc/kpageflags marks
 *           compound head, with the other 511 marked tails (one order-9 folio);
 *   mapped: the smaps 2M-mapped fields of the mapping (AnonHugePages,
 *           ShmemPmdMapped, FilePmdMapped, *_Hugetlb).
 * The model column is what retention would be if any 4K punch cost its 2M
 * region for good: the share of regions the permutation has not hit yet.
 *
 * The sizing answer (results.sizing, and a note per backing): the churn fraction
 * at which backed retention falls below 90% and 50%, interpolated on the median
 * curve (log-linear between points); "not reached" when it never does.
 *
 * A sample is one whole curve on freshly populated memory. Metrics per backing:
 * churn_refault (ns per punched + re-faulted 4K page over the curve, against
 * the same-run anonymous 4K fault) and, where every repetition crossed,
 * below_90pct_at / below_50pct_at (against the model's crossing). A guest phase
 * maps each backing into a VM with 2M guest page tables and reads KVM's
 * pages_4k/pages_2m after the guest wrote every page, before and after churn.
 *
 * Files: main.c (parse, describe, sweep, record), curve.c (the churn order, one
 * curve on fresh memory, crossings), guest.c (guest code and the guest phase).
 */
#ifndef PRIVMEM_BENCH_HUGEPAGE_H
#define PRIVMEM_BENCH_HUGEPAGE_H

#include "pmb_backing.h"
#include "pmb_util.h"
#include "pmb_vm.h"

#define PAGE		4096UL
#define HPAGE		(2UL << 20)
#define PER_HPAGE	(HPAGE / PAGE)

#define GUEST_SLOT	PM_SLOT_FIRST_FREE
#define GUEST_CHURN	0.10	/* host churn between the guest's two touches */

/* The backings hugepage churns, in the order of its table columns. */
#define HP_NR_BACKINGS 4
extern const enum pmb_backing hp_backings[HP_NR_BACKINGS];
/* hugepage records a backing under the table's retention_name ("anon_thp", ...). */
static inline const char *hp_name(enum pmb_backing k) { return pmb_backing(k)->retention_name; }

/*
 * Churn steps as fractions of the memory's 4K pages. 1/512 is one 4K page per
 * 2M region on average; the finer steps below it resolve the anonymous/shmem
 * curves, which fall below 90% well before that.
 */
#define MAX_STEPS 14
extern const double step_fraction[MAX_STEPS];

/* One curve: retention and cost after each step. */
struct curve {
	double backed[MAX_STEPS], mapped[MAX_STEPS];	/* fractions 0..1; backed < 0: unknown */
	double step_ns[MAX_STEPS];			/* ns per page of that step */
};

struct ctx {
	struct pmb *b;
	size_t size, npages, nregions;
	size_t guest_size;
	uint64_t seed;
	uint32_t *perm;		/* the churn order: a permutation of the page indexes */
	size_t nsteps;
	size_t k[MAX_STEPS];	/* pages churned after each step (cumulative) */
	double model[MAX_STEPS];
	bool backed_known;	/* PFNs and page flags readable */
	struct pm_vm *vm;	/* owner of the curves' guest_memfds */
	char gmem_madvise[96];
	/* per backing, filled by curve_sample */
	enum pmb_backing kind;
	struct curve *curves;
	int ncurves, cap;
	bool failed;
	char why[256];
};

/* curve.c */
uint32_t *permutation(size_t n, uint64_t seed);
int plan_steps(struct ctx *c, uint64_t seed);
/* Map size bytes of the backing (not populated; guest_memfd from vm); 0, or -1 with why. */
int region_open(struct ctx *c, struct pm_vm *vm, enum pmb_backing kind, size_t size,
		struct pmb_mem *r, char *why, size_t len);
void touch(struct pmb_mem *r, size_t page);
int punch(struct pmb_mem *r, size_t page);
void populate(struct pmb_mem *r);
void retention(struct ctx *c, struct pmb_mem *r, double *backed, double *mapped);
/* One sample: a whole churn curve on fresh memory; ns per churned page, or -1. */
double curve_sample(void *arg);
double crossing(const struct ctx *c, const double *ret, double thr);

/* guest.c: the same memory mapped into a guest with 2M guest page tables. */
json_t *guest_phase(struct ctx *c, enum pmb_backing kind, size_t size);
json_t *pct_or_null(double v);

#endif
