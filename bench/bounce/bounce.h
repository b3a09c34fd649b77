/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bounce: the bounce-buffer data path a confidential guest pays for I/O.
 *
 * A device cannot DMA into a CVM's private (encrypted) memory, so the guest's DMA
 * layer (swiotlb) bounces every I/O buffer through a pool of shared memory: map =
 * allocate contiguous 2 KiB slots and copy the private buffer into them, the
 * device works on the slots, unmap = copy back (device-to-memory) and free. This
 * benchmark runs that mechanism in user space (our own implementation, modelled
 * on the behaviour of the kernel's kernel/dma/swiotlb.c) and reads its cost
 * against the direct path and against the same-run memcpy floor.
 *
 * The model:
 *   pool   pool_mib MiB of shared memory (a memfd mapped MAP_SHARED, prefaulted),
 *          2 KiB slots in 128-slot (256 KiB) segments. Per slot we keep the number
 *          of free slots from it to the end of its segment (0: in use), so one look
 *          at a slot says whether n contiguous slots fit there and no run crosses a
 *          segment.
 *   areas  the pool is split into `areas` equal parts (a power of two), each with
 *          its own spinlock (the kernel's is spin_lock_irqsave), rotating search
 *          index and used count. A mapping starts in area (cpu & (areas - 1)) and
 *          falls through to the next areas when that one is full. areas=1 is the
 *          single-lock pool: every thread contends on it.
 *   map    an I/O larger than 256 KiB (swiotlb's maximum mapping, 2 KiB x 128) is
 *          split into 256 KiB mappings, each mapped, copied and unmapped in turn;
 *          mappings of 4 KiB or more start on a page-aligned slot. When every area
 *          is full the kernel fails the mapping; the model retries and counts it.
 *   write  (memory -> device) map: copy private -> slots (the CPU bounce); the
 *          device reads the slots (modelled as a copy slots -> device buffer);
 *          unmap: free. 2 copies per byte.
 *   read   (device -> memory) map: copy private -> slots (current swiotlb bounces
 *          at map time in every direction, so a device that writes only part of
 *          the buffer cannot expose stale pool contents; --set map_copy=0 drops
 *          it); the device writes the slots (copy device buffer -> slots); unmap:
 *          copy slots -> private, free. 3 copies per byte (2 with map_copy=0).
 *   direct the device copy only (device buffer <-> private buffer): 1 copy.
 *
 * One sample: on each of T threads (pinned to CPU i % ncpus, each with its own
 * private and device buffers of buf_mib MiB, so the data stream is beyond the
 * LLC like the memcpy reference's), `slices` alternations of a slice of direct
 * I/Os and a slice of bounced I/Os of the same size, all threads in step. A
 * slice part lasts from its first thread's start to its last thread's end. The
 * sample's value is the aggregate bounced payload throughput (GB/s); the direct
 * slices of the same sample give the paired cost ratio (bounce time / direct
 * time, the median over its slices), which the interleaving keeps free of the
 * host's slow memory-bandwidth drift. Bytes per sample are calibrated so that
 * its bounced I/O lasts sample_ms.
 *
 * Floor: a bounced byte is copied at least twice, so the floor throughput is
 * memcpy GB/s / 2 (memcpy_1thread for one thread, memcpy_allcpus for more);
 * floor_fraction = bounce GB/s / floor (1.0: as fast as two plain copies).
 *
 * fio variant: fio (Debian's 3.33) runs workloads/fio/bounce-{read,write}.fio
 * against a tmpfs file with its I/O buffer either in private anonymous memory
 * (mem=malloc) or in a memfd this benchmark created, sized and left open across
 * exec (mem=mmapshared:/proc/self/fd/N): the I/O path cost with the buffer in
 * shared memory. It is an I/O figure, not a swiotlb measurement: nothing is
 * bounced, and fio cannot use memfd_secret or guest_memfd buffers (reopening
 * them through /proc/self/fd fails with ENXIO).
 *
 * Files: main.c (parse, describe, sweep, record), pool.c (the slot pool and the
 * I/O model: one sample, calibration), sweep.c (one measured point, the plot
 * tables, the contention answer), fio.c (the fio variant).
 */
#ifndef PRIVMEM_BENCH_BOUNCE_H
#define PRIVMEM_BENCH_BOUNCE_H

#include <pthread.h>

#include "pmb_backing.h"
#include "pmb_util.h"

#define SLOT_SHIFT	11
#define SLOT_SIZE	(1UL << SLOT_SHIFT)		/* 2 KiB, swiotlb's IO_TLB_SIZE */
#define SEG_SLOTS	128U				/* slots per segment, IO_TLB_SEGSIZE */
#define MAX_MAPPING	(SLOT_SIZE * SEG_SLOTS)		/* 256 KiB: larger I/Os are split */
#define MAX_THREADS	256
#define MAX_LIST	32
#define MAX_CONFIGS	(2 * MAX_THREADS)
#define MAX_SLICES	64

/* ---- the slot pool ------------------------------------------------------------ */

struct area {
	pthread_spinlock_t lock;
	unsigned int index;	/* next search start, relative to the area */
	unsigned int used, hiwater;
} __attribute__((aligned(64)));

struct pool {
	char *mem;
	unsigned int nslots, nareas, area_slots;
	unsigned char *free_run;	/* free slots from here to the segment end; 0 = in use */
	struct area *areas;
};

/* Reset the pool to all free, split into nareas areas (nareas a power of two). */

struct run;

struct worker {
	struct run *r;
	int cpu;
	char *priv, *dev;	/* private buffer, "device" buffer */
	unsigned long retries;
	/* Per slice: direct start, end; bounced start, end. */
	uint64_t t[MAX_SLICES][4];
};

struct run {
	struct pool *pool;
	struct pmb_spin_barrier bar;
	int threads, slices;
	bool read, map_copy;
	size_t io, buf, bytes;	/* I/O size, per-thread buffer size, bytes per thread per path */
	struct worker w[MAX_THREADS];
	/* Per sample (warm-up included): bounce and direct GB/s, bounce/direct time. */
	double *bounce, *direct, *cost;
	int nhist, cap;
};


struct config {
	int threads;
	unsigned int areas;
};

struct point {
	double bounce, direct, floor_frac;	/* medians; NaN when not measured */
};


/* pool.c */
/* Reset the pool to all free, split into nareas areas (nareas a power of two). */
int pool_reset(struct pool *p, unsigned int nareas);
/* One sample (pmb_sample_fn): the bounced GB/s; keeps the direct GB/s and the time ratio. */
double sample(void *arg);
/* Bytes per thread per path so that a sample's bounced I/O takes about target_ns. */
void calibrate(struct run *r, double target_ns);

/* sweep.c */
unsigned int pow2_ceil(unsigned int v);
void measure_point(struct pmb *b, struct run *r, struct pool *pool, const struct config *c,
		   bool record_direct, bool core, long sample_ms, struct point *pt);
void write_tables(struct pmb *b, bool read, const long *sz, int nsz, const struct config *cfg,
		  int ncfg, struct point (*pt)[MAX_LIST]);
void contention_result(json_t *out, bool read, const long *sz, int nsz,
		       const struct config *cfg, int ncfg, struct point (*pt)[MAX_LIST]);

/* main.c */
/* "512,4k,1m" -> sizes; the number parsed, or -1 on a malformed list. */
int parse_sizes(const char *s, long *v, int max, long lo, long hi);

/* fio.c */
void run_fio(struct pmb *b, const char *jobs_param, const char *bs_list, long runtime_ms,
	     long ramp_ms, long log_ms, long file_mib);

#endif
