// SPDX-License-Identifier: GPL-2.0
/*
 * shootdown: the will-it-scale tlb_flush2 pattern (shootdown.h): write one byte,
 * madvise(DONTNEED) that page, per-thread private pages in one shared mm.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "shootdown.h"

#define WIS_BYTES (1UL << 20)

struct wis {
	int threads;
	long dur_us;
	uint64_t all_ops;	/* over every sample, warm-up included, for the IPIs per op */
	atomic_int stop;
	pthread_barrier_t bar;
	struct {
		int cpu;
		uint64_t ops;
		pthread_t tid;
	} t[256];
};

static void *wis_main(void *arg)
{
	struct wis *w = ((void **)arg)[0];
	int i = (int)(long)((void **)arg)[1];
	char *c = mmap(NULL, WIS_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t n = 0;

	pmb_pin_cpu(w->t[i].cpu);
	if (c != MAP_FAILED)
		madvise(c, WIS_BYTES, MADV_NOHUGEPAGE);	/* one 4K page per op, like the original */
	pthread_barrier_wait(&w->bar);
	while (c != MAP_FAILED && !atomic_load_explicit(&w->stop, memory_order_relaxed))
		for (size_t off = 0; off < WIS_BYTES; off += PAGE) {
			c[off] = 1;
			madvise(c + off, PAGE, MADV_DONTNEED);
			n++;
			if (atomic_load_explicit(&w->stop, memory_order_relaxed))
				break;
		}
	w->t[i].ops = c == MAP_FAILED ? 0 : n;
	pthread_barrier_wait(&w->bar);
	if (c != MAP_FAILED)
		munmap(c, WIS_BYTES);
	return NULL;
}

/* One sample: ns per operation of one thread (threads x elapsed / all operations). */
static double wis_sample(void *arg)
{
	struct wis *w = arg;
	void *targ[256][2];
	uint64_t t0, t1, total = 0;

	atomic_store(&w->stop, 0);
	pthread_barrier_init(&w->bar, NULL, w->threads + 1);
	for (int i = 0; i < w->threads; i++) {
		targ[i][0] = w;
		targ[i][1] = (void *)(long)i;
		if (pthread_create(&w->t[i].tid, NULL, wis_main, targ[i]))
			return -1;
	}
	pthread_barrier_wait(&w->bar);
	t0 = pmb_now_ns();
	nap_us(w->dur_us);
	atomic_store(&w->stop, 1);
	pthread_barrier_wait(&w->bar);
	t1 = pmb_now_ns();
	for (int i = 0; i < w->threads; i++) {
		pthread_join(w->t[i].tid, NULL);
		total += w->t[i].ops;
	}
	w->all_ops += total;
	pthread_barrier_destroy(&w->bar);
	return total ? (double)(t1 - t0) * w->threads / total : -1;
}

void measure_wis(struct pmb *b, int ncpu)
{
	struct pmb_table *tab = pmb_table(b, "wis", "threads,ops_per_s,ns_per_op,cv_pct,tlb_ipis_per_op");
	struct wis *w = calloc(1, sizeof(*w));

	if (!w)
		pmb_die(b, "out of memory");
	w->dur_us = pmb_by_mode(b, 5000, 100000, 200000);
	for (int n = 1; n <= ncpu && n <= 256; n++) {
		struct pmb_spec spec = {
			.metric = "wis_tlb_flush", .unit = "ns/op",
			.cv_max = 0.05,
			.ref = n > 1 ? PMB_REF_SHOOTDOWN : PMB_REF_LOCAL_FLUSH,
			.ref_ratio = n > 1 ?
				"will-it-scale tlb_flush2 time per op of one thread (write fault + DONTNEED, "
				"other threads of the mm busy on the other CPUs) / one remote shootdown madvise" :
				"will-it-scale tlb_flush2 time per op, one thread (write fault + local DONTNEED) / local-only madvise",
		};
		struct pmb_stats s;
		struct pmb_snap s0, s1;
		char nt[16];
		json_t *m, *c;
		double ops_s, ipis = 0;

		w->threads = n;
		for (int i = 0; i < n; i++)
			w->t[i].cpu = i % ncpu;
		snprintf(nt, sizeof(nt), "%d", n);
		pmb_progress(b, "will-it-scale tlb_flush2, %d threads", n);
		w->all_ops = 0;
		pmb_snap(&s0);
		m = pmb_measure(b, &spec, pmb_params("threads", nt, NULL), wis_sample, w, &s);
		pmb_snap(&s1);
		if (!m)
			continue;
		ops_s = 1e9 * n / s.median;
		c = json_object();
		json_object_set_new(c, "ops_per_s", json_real(ops_s));
		if (pmb_snap_get(&s1, "irq_TLB") >= 0) {
			ipis = (double)(pmb_snap_get(&s1, "irq_TLB") - pmb_snap_get(&s0, "irq_TLB")) / w->all_ops;
			json_object_set_new(c, "tlb_ipis_per_op", json_real(ipis));
			if (n > 1)
				pmb_counter_require(b, c, "tlb_ipis_per_op",
						    "no TLB IPI counted although other threads of the mm run on other CPUs");
		}
		json_object_set_new(m, "counters", c);
		pmb_row(tab, "%d,%.0f,%.1f,%.2f,%.3f", n, ops_s, s.median, 100 * s.cv, ipis);
	}
	free(w);
}

