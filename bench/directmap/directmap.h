/* SPDX-License-Identifier: GPL-2.0 */
/*
 * directmap: fragmentation of the kernel's direct map by memory that is removed
 * from it (memfd_secret; guest_memfd with a no-direct-map flag when the kernel
 * advertises one), and what it costs kernel work afterwards.
 *
 * Mechanism (mm/secretmem.c, arch/x86/mm/pat/set_memory.c): the first write to a
 * memfd_secret page allocates it and removes that 4K page from the direct map,
 * which splits the 2M (and, first, the 1G) mapping around it and flushes the
 * kernel TLB on every CPU; freeing the page makes it present again, but nothing
 * merges the 4K entries back into a large mapping. The splits therefore last until
 * reboot, so the run is bounded: at most budget_mib of secret memory in total, and
 * no sample starts once the run's level-2 splits exceed split_cap. It says so on
 * stderr and in the JSON notes.
 *
 * memfd_secret pages are unmovable allocations (GFP_HIGHUSER), taken one 4K page
 * at a time from the pageblocks that also hold kernel data, slab and guest_memfd:
 * they scatter over many 2 MiB regions, and what the kernel allocates there later
 * is reached through a 4K-mapped direct map.
 *
 * 1. Kernel copy "before": throughput of a kernel copy that reads its source
 *    through the direct map: process_vm_readv() from this process's own mapping
 *    (pin the pages, copy from kmap_local_page(), the direct map on x86-64), of a
 *    tmpfs file (memfd; movable page-cache pages) and of a guest_memfd (unmovable
 *    pages, the same kind of allocation as memfd_secret). One path for both, so
 *    the two sources compare.
 * 2. Control: plain guest_memfd (MMAP|INIT_SHARED) allocated and freed in the same
 *    chunk sizes: its pages stay in the direct map, so it should split nothing.
 * 3. Sweep: for each chunk size (4K..2M) and free order (sequential, random), one
 *    sample allocates S bytes as S/chunk secret files (memfd_secret + ftruncate +
 *    mmap + one write per page), then frees them (munmap + close) in that order.
 *    Per sample: alloc+touch ns/page, free ns/page, and the distinct 2 MiB physical
 *    regions its pages fall in (from /proc/self/pagemap): the splits a GiB of it
 *    causes on a direct map that was not split yet. Per phase, counters:
 *    direct_map_level{2,3}_splits/_collapses, DirectMap4k/2M/1G drift.
 * 4. Kernel copy "after": the same buffers again, and new buffers allocated after
 *    the sweep (which reuse what it freed), each with the share of its pages that
 *    lie in 2 MiB regions the sweep's secret pages touched (all 4K-mapped now).
 *
 * Splits happen only the first time a region is split: a machine fragmented
 * before (by boot, earlier runs, other users) shows fewer; the starting state is
 * recorded. The counters are system-wide: other activity during the run counts.
 *
 * Files: main.c (parse, describe, the phases, record), sweep.c (physical
 * regions, counters, one sample and one phase of the sweep), kcopy.c (the
 * kernel copy through the direct map).
 */
#ifndef PRIVMEM_BENCH_DIRECTMAP_H
#define PRIVMEM_BENCH_DIRECTMAP_H

#include "pmb_backing.h"
#include "pmb_util.h"
#include "pmb_vm.h"

#define PAGE		4096UL
#define MIB		(1UL << 20)
#define BUDGET_MAX_MIB	1024	/* hard bound, whatever --set says */
#define KCOPY_IO	(256UL << 10)	/* per call: the destination stays in L2 */
#define MAX_CHUNKS	8
#define MAX_PHASES	(3 * 2 * MAX_CHUNKS)

extern struct pmb *b;
extern struct pm_vm *vm;	/* only to create guest_memfds */

/* ---- the sweep (sweep.c) ---------------------------------------------------------- */

/*
 * Physical regions of one size (2 MiB: shift 9; 1 GiB: shift 18) seen so far: a
 * mark per region for "seen in this sample / this phase" and whether memory that
 * leaves the direct map touched it in this run (then it is 4K-mapped now).
 */
struct regions {
	int shift;
	size_t n;
	uint32_t *sample_mark, *phase_mark;
	uint8_t *off_dm;
};

struct region_count {
	long sample, phase, new_in_run;	/* distinct regions; never touched before in this run */
};

extern struct regions reg2m, reg1g;

enum { L2S, L3S, L2C, L3C, DM4K, DM2M, DM1G, IRQ_CAL, IRQ_TLB, NR_KEYS };
extern const char *const keys[NR_KEYS];
extern bool key_present[NR_KEYS];
extern struct pmb_snap snap_start;
extern struct pmb_table *t_drift, *t_splits;
extern long long budget_left;	/* bytes of off-direct-map memory the run may still allocate */
extern long split_cap, sweep_reps;

struct phase {
	enum pmb_backing mem;	/* secretmem, gmem, gmem_nodirectmap */
	size_t chunk, bytes;	/* chunk size; bytes per sample */
	bool random;
	uint32_t id;
	uint64_t seed;
	/* per sample (warm-up first) */
	int n;
	double *free_ns, *regions_per_gib;
	/* over all samples */
	long long alloc_d[NR_KEYS], free_d[NR_KEYS];
	uint64_t pages;
	struct region_count r2m, r1g;
	bool pfns_ok;
	/* scratch */
	int *fd;
	char **map;
	size_t *order;
	uint64_t *pfn;
};


void delta(const struct pmb_snap *a, const struct pmb_snap *z, long long *acc);
void drift_row(const char *label);
/* Level-2 splits since the run started (0 where the kernel has no such counter). */
long long splits_since_start(const struct pmb_snap *now);
/* Percentage of a buffer's pages in 2 MiB regions that off-direct-map memory touched. */
double pct_in_split_regions(const char *map, size_t size);
void run_phase(struct phase *ph);

/* ---- kernel copy through the direct map (kcopy.c) --------------------------------- */

struct kbuf {
	const char *source, *path, *buffer;	/* "tmpfs"/"gmem", "process_vm_readv", "old"/"new" */
	struct pmb_mem mem;
	double pct_split;	/* share of its pages in regions touched by off-direct-map memory */
	struct pmb_stats before, after;
};

extern char *kdst;
extern int kpasses;

bool kbuf_make(struct kbuf *k, const char *source, const char *buffer, size_t size);
void kbuf_free(struct kbuf *k);
void kbuf_locate(struct kbuf *k);
void kcopy_measure(struct kbuf *k, const char *when, struct pmb_stats *out);

#endif
