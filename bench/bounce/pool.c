// SPDX-License-Identifier: GPL-2.0
/*
 * bounce model (bounce.h): the slot pool (2 KiB slots, 128-slot segments, areas
 * with their own locks) and the I/O paths, one sample of interleaved direct and
 * bounced slices, and the calibration of a sample's bytes.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"

/* Keep the compiler from merging or dropping copies that only the "device" reads. */
#define COPY(dst, src, n) do { memcpy(dst, src, n); __asm__ volatile("" ::: "memory"); } while (0)

/* ---- the slot pool ------------------------------------------------------------ */

/* Reset the pool to all free, split into nareas areas (nareas a power of two). */
int pool_reset(struct pool *p, unsigned int nareas)
{
	if (p->areas)
		for (unsigned int a = 0; a < p->nareas; a++)
			pthread_spin_destroy(&p->areas[a].lock);
	free(p->areas);
	p->areas = NULL;
	p->nareas = nareas;
	/* Areas are whole segments, so a slot run never spans two areas. */
	p->area_slots = (p->nslots / nareas) & ~(SEG_SLOTS - 1);
	if (p->area_slots < SEG_SLOTS)
		return -1;
	p->areas = aligned_alloc(64, sizeof(*p->areas) * nareas);
	if (!p->areas)
		return -1;
	memset(p->areas, 0, sizeof(*p->areas) * nareas);
	for (unsigned int a = 0; a < nareas; a++)
		pthread_spin_init(&p->areas[a].lock, PTHREAD_PROCESS_PRIVATE);
	for (unsigned int i = 0; i < p->nslots; i++)
		p->free_run[i] = SEG_SLOTS - (i & (SEG_SLOTS - 1));
	return 0;
}

/*
 * n contiguous slots in area a, or -1 when the area has none. step 2 keeps a
 * mapping of a page or more page-aligned (swiotlb aligns those to PAGE_SIZE).
 * Like swiotlb, every map and unmap rewrites the free counts of the free run
 * before it, back to the segment start: for small mappings that bookkeeping is
 * a large share of the cost, next to copies of a few hundred bytes.
 */
static long area_alloc(struct pool *p, unsigned int a, unsigned int n, unsigned int step)
{
	struct area *ar = &p->areas[a];
	unsigned int base = a * p->area_slots;
	unsigned int idx = 0, count = 0;
	long found = -1;

	pthread_spin_lock(&ar->lock);
	if (n <= p->area_slots - ar->used) {
		idx = ar->index & ~(step - 1);
		for (unsigned int checked = 0; checked < p->area_slots; checked += step) {
			if (p->free_run[base + idx] >= n) {
				found = base + idx;
				break;
			}
			idx += step;
			if (idx >= p->area_slots)
				idx = 0;
		}
	}
	if (found >= 0) {
		unsigned long seg = found & ~(unsigned long)(SEG_SLOTS - 1);

		memset(p->free_run + found, 0, n);
		/* The free run just before the allocation now ends at it. */
		for (unsigned long i = found; i-- > seg && p->free_run[i];)
			p->free_run[i] = ++count;
		/* Rotate, so the next search starts past this allocation. */
		ar->index = idx + n >= p->area_slots ? 0 : idx + n;
		ar->used += n;
		if (ar->used > ar->hiwater)
			ar->hiwater = ar->used;
	}
	pthread_spin_unlock(&ar->lock);
	return found;
}

static void pool_free(struct pool *p, unsigned long s, unsigned int n)
{
	struct area *ar = &p->areas[s / p->area_slots];
	unsigned long seg = s & ~(unsigned long)(SEG_SLOTS - 1), end = s + n;
	unsigned int count;

	pthread_spin_lock(&ar->lock);
	/* Merge with the free run that follows (within the segment) ... */
	count = end < seg + SEG_SLOTS ? p->free_run[end] : 0;
	for (unsigned long i = end; i-- > s;)
		p->free_run[i] = ++count;
	/* ... and extend the free run that precedes it. */
	for (unsigned long i = s; i-- > seg && p->free_run[i];)
		p->free_run[i] = ++count;
	ar->used -= n;
	pthread_spin_unlock(&ar->lock);
}

/* Map len bytes for a thread on cpu: its own area first, then the next ones. */
static unsigned long pool_map(struct pool *p, int cpu, size_t len, unsigned long *retries)
{
	unsigned int n = (len + SLOT_SIZE - 1) >> SLOT_SHIFT, step = len >= 4096 ? 2 : 1;
	unsigned int start = cpu & (p->nareas - 1);

	for (;;) {
		unsigned int a = start;

		do {
			long s = area_alloc(p, a, n, step);

			if (s >= 0)
				return s;
			a = (a + 1) & (p->nareas - 1);
		} while (a != start);
		/* Pool exhausted: the kernel fails this mapping; the model waits for a free. */
		(*retries)++;
		sched_yield();
	}
}

/* ---- the I/O model ------------------------------------------------------------- */

static void io_direct(const struct run *r, struct worker *w, size_t off)
{
	if (r->read)
		COPY(w->priv + off, w->dev + off, r->io);
	else
		COPY(w->dev + off, w->priv + off, r->io);
}

static void io_bounce(const struct run *r, struct worker *w, size_t off)
{
	struct pool *p = r->pool;

	for (size_t done = 0; done < r->io; done += MAX_MAPPING) {
		size_t len = r->io - done < MAX_MAPPING ? r->io - done : MAX_MAPPING;
		unsigned int n = (len + SLOT_SIZE - 1) >> SLOT_SHIFT;
		unsigned long s = pool_map(p, w->cpu, len, &w->retries);
		char *slot = p->mem + (s << SLOT_SHIFT);
		char *priv = w->priv + off + done, *dev = w->dev + off + done;

		if (!r->read) {
			COPY(slot, priv, len);		/* map: bounce into shared memory */
			COPY(dev, slot, len);		/* the device reads the slots */
		} else {
			if (r->map_copy)
				COPY(slot, priv, len);	/* map: pre-fill against partial writes */
			COPY(slot, dev, len);		/* the device writes the slots */
			COPY(priv, slot, len);		/* unmap: bounce back into private memory */
		}
		pool_free(p, s, n);
	}
}

/* The next I/O offset: sequential through the buffer, wrapping before the end. */
static size_t next_off(const struct run *r, size_t off)
{
	return off + 2 * r->io > r->buf ? 0 : off + r->io;
}

/*
 * The direct and bounced paths alternate in slices, every thread in step
 * (a barrier before each part), so both see the same memory-bandwidth weather:
 * on a shared host it drifts by several percent over a second, which would
 * otherwise land on one path only. The bounced stream starts half a buffer
 * away from the direct one, so it does not find the data the direct slice
 * just left in the cache.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	size_t per_slice = r->bytes / r->io / r->slices;
	size_t doff = 0, boff = (r->buf / 2) - (r->buf / 2) % r->io;

	pmb_pin_cpu(w->cpu);
	for (int s = 0; s < r->slices; s++) {
		/* The last slice takes the remainder. */
		size_t ios = s < r->slices - 1 ? per_slice : r->bytes / r->io - per_slice * (r->slices - 1);

		pmb_spin_barrier_wait(&r->bar);
		w->t[s][0] = pmb_now_ns();
		for (size_t i = 0; i < ios; i++, doff = next_off(r, doff))
			io_direct(r, w, doff);
		w->t[s][1] = pmb_now_ns();
		pmb_spin_barrier_wait(&r->bar);
		w->t[s][2] = pmb_now_ns();
		for (size_t i = 0; i < ios; i++, boff = next_off(r, boff))
			io_bounce(r, w, boff);
		w->t[s][3] = pmb_now_ns();
	}
	return NULL;
}

/*
 * One sample: `slices` alternations of direct and bounced I/O on every thread,
 * r->bytes per thread on each path. A slice's part lasts from its first thread's
 * start to its last thread's end (the workers time themselves: with one pinned
 * worker per CPU, a coordinating thread may not get a CPU until a worker stops).
 * Returns the bounced GB/s; keeps the direct GB/s and the time ratio.
 */
double sample(void *arg)
{
	struct run *r = arg;
	pthread_t t[MAX_THREADS];
	uint64_t direct_ns = 0, bounce_ns = 0;
	double total, ratio[MAX_SLICES];
	struct pmb_stats rs;

	if (r->nhist == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->bounce = realloc(r->bounce, r->cap * sizeof(double));
		r->direct = realloc(r->direct, r->cap * sizeof(double));
		r->cost = realloc(r->cost, r->cap * sizeof(double));
		if (!r->bounce || !r->direct || !r->cost)
			return -1;
	}
	pmb_spin_barrier_init(&r->bar, r->threads);
	for (int i = 0; i < r->threads; i++) {
		if (pthread_create(&t[i], NULL, worker_main, &r->w[i])) {
			/* Threads already spinning at the barrier cannot be unwound: give up. */
			fprintf(stderr, "bounce: pthread_create failed\n");
			exit(2);
		}
	}
	for (int i = 0; i < r->threads; i++)
		pthread_join(t[i], NULL);
	for (int s = 0; s < r->slices; s++) {
		uint64_t t0 = UINT64_MAX, t1 = 0, t2 = UINT64_MAX, t3 = 0;

		for (int i = 0; i < r->threads; i++) {
			const uint64_t *wt = r->w[i].t[s];

			t0 = wt[0] < t0 ? wt[0] : t0;
			t1 = wt[1] > t1 ? wt[1] : t1;
			t2 = wt[2] < t2 ? wt[2] : t2;
			t3 = wt[3] > t3 ? wt[3] : t3;
		}
		direct_ns += t1 - t0;
		bounce_ns += t3 - t2;
		/* Both parts of a slice move the same bytes. */
		ratio[s] = (double)(t3 - t2) / (t1 - t0);
	}
	total = (double)r->bytes * r->threads;		/* bytes / ns == GB/s */
	r->direct[r->nhist] = total / direct_ns;
	r->bounce[r->nhist] = total / bounce_ns;
	/*
	 * The cost is the median of the slices' own ratios: a slice part hit by a
	 * preemption or a neighbour's burst does not move it (the throughputs above
	 * keep every nanosecond).
	 */
	pmb_stats_of(ratio, r->slices, &rs);
	r->cost[r->nhist] = rs.median;
	return r->bounce[r->nhist++];
}

/* Bytes per thread per path so that a sample's bounced I/O takes about target_ns. */
void calibrate(struct run *r, double target_ns)
{
	size_t probe = 4UL << 20;
	size_t min = r->io * r->slices;
	double gbps;

	r->bytes = probe < min ? min : probe - probe % r->io;
	gbps = sample(r);
	r->nhist = 0;
	if (gbps <= 0)
		return;
	r->bytes = (size_t)(gbps * target_ns / r->threads);
	r->bytes -= r->bytes % r->io;
	if (r->bytes < min)
		r->bytes = min;
}

