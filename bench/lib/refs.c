// SPDX-License-Identifier: GPL-2.0
/*
 * Same-run physical references: the floor a benchmark's figure is read against,
 * measured on this machine in this run (never a constant from elsewhere).
 *   memcpy bandwidth (1 thread, all CPUs): copy-bound work (bounce buffers);
 *   first-touch anonymous 4K fault: fault-bound work (fault-in);
 *   madvise(DONTNEED) of one page with the mm live on another CPU vs on this CPU
 *   only: the cost of one remote TLB shootdown round trip (flush-bound work).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pmb_int.h"

static const struct {
	const char *name, *unit, *what;
} refs[PMB_NR_REFS] = {
	[PMB_REF_MEMCPY_1T] = { "memcpy_1thread", "GB/s", "memcpy of 64 MiB buffers, one thread" },
	[PMB_REF_MEMCPY_ALL] = { "memcpy_allcpus", "GB/s", "memcpy of 64 MiB buffers, one thread per CPU, aggregate" },
	[PMB_REF_FAULT_4K] = { "fault_anon_4k", "ns", "first-touch write fault of anonymous memory, MADV_NOHUGEPAGE" },
	[PMB_REF_SHOOTDOWN] = { "shootdown_1page", "ns", "madvise(MADV_DONTNEED) of one written page while a thread of the same mm runs on another CPU" },
	[PMB_REF_LOCAL_FLUSH] = { "local_flush_1page", "ns", "madvise(MADV_DONTNEED) of one written page, mm on this CPU only" },
};

const char *pmb_ref_name(enum pmb_ref r)
{
	return r > PMB_REF_NONE && r < PMB_NR_REFS ? refs[r].name : "none";
}

const char *pmb_ref_unit(enum pmb_ref r)
{
	return r > PMB_REF_NONE && r < PMB_NR_REFS ? refs[r].unit : "";
}

/* ---- memcpy ---------------------------------------------------------------------- */

#define COPY_BYTES (64UL << 20)

struct copier {
	char *src, *dst;
	pthread_barrier_t *bar;
	int cpu;
	uint64_t t0, t1;	/* taken by the pinned copier itself, not the unpinned main thread */
};

static void *copier_thread(void *arg)
{
	struct copier *c = arg;

	pmb_pin_cpu(c->cpu);
	pthread_barrier_wait(c->bar);
	c->t0 = pmb_now_ns();
	memcpy(c->dst, c->src, COPY_BYTES);
	c->t1 = pmb_now_ns();
	return NULL;
}

struct memcpy_ref {
	int threads;
	struct copier c[256];
};

static double memcpy_sample(void *arg)
{
	struct memcpy_ref *r = arg;
	pthread_barrier_t bar;
	pthread_t t[256];
	uint64_t t0 = UINT64_MAX, t1 = 0;

	pthread_barrier_init(&bar, NULL, r->threads);
	for (int i = 0; i < r->threads; i++) {
		r->c[i].bar = &bar;
		if (pthread_create(&t[i], NULL, copier_thread, &r->c[i]))
			return -1;
	}
	for (int i = 0; i < r->threads; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	/* From the first copier's start to the last one's end. */
	for (int i = 0; i < r->threads; i++) {
		t0 = r->c[i].t0 < t0 ? r->c[i].t0 : t0;
		t1 = r->c[i].t1 > t1 ? r->c[i].t1 : t1;
	}
	return (double)COPY_BYTES * r->threads / (t1 - t0);	/* bytes/ns == GB/s */
}

static int measure_memcpy(struct pmb *b, int threads, double *v, int reps)
{
	struct memcpy_ref *r = calloc(1, sizeof(*r));
	int ok = 0;

	if (threads > 256)
		threads = 256;
	r->threads = threads;
	for (int i = 0; i < threads; i++) {
		r->c[i].src = malloc(COPY_BYTES);
		r->c[i].dst = malloc(COPY_BYTES);
		if (!r->c[i].src || !r->c[i].dst)
			pmb_die(b, "cannot allocate memcpy reference buffers");
		memset(r->c[i].src, 0x5a, COPY_BYTES);
		memset(r->c[i].dst, 0, COPY_BYTES);
		r->c[i].cpu = i % pmb_nr_cpus();
	}
	memcpy_sample(r);	/* warm-up */
	for (int i = 0; i < reps; i++)
		if ((v[i] = memcpy_sample(r)) > 0)
			ok++;
	for (int i = 0; i < threads; i++) {
		free(r->c[i].src);
		free(r->c[i].dst);
	}
	free(r);
	return ok == reps ? reps : 0;
}

/* ---- 4K fault --------------------------------------------------------------------- */

#define FAULT_BYTES (32UL << 20)

static double fault_sample(void)
{
	char *p = mmap(NULL, FAULT_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t t0, t1;

	if (p == MAP_FAILED)
		return -1;
	madvise(p, FAULT_BYTES, MADV_NOHUGEPAGE);
	t0 = pmb_now_ns();
	for (size_t off = 0; off < FAULT_BYTES; off += 4096)
		*(volatile char *)(p + off) = 1;
	t1 = pmb_now_ns();
	munmap(p, FAULT_BYTES);
	return (double)(t1 - t0) / (FAULT_BYTES / 4096);
}

/* ---- shootdown ------------------------------------------------------------------- */

#define FLUSH_OPS 2000

static atomic_int spinner_stop;
static char *spin_page;

static void *spinner(void *arg)
{
	pmb_pin_cpu((int)(long)arg);
	/* Stay in this mm, touching memory, so the mm is live on this CPU. */
	while (!atomic_load_explicit(&spinner_stop, memory_order_relaxed))
		(void)*(volatile char *)spin_page;
	return NULL;
}

static double flush_sample(char *page)
{
	uint64_t t = 0;

	for (int i = 0; i < FLUSH_OPS; i++) {
		uint64_t t0;

		*(volatile char *)page = 1;
		t0 = pmb_now_ns();
		madvise(page, 4096, MADV_DONTNEED);
		t += pmb_now_ns() - t0;
	}
	return (double)t / FLUSH_OPS;
}

static int measure_flush(struct pmb *b, bool remote, double *v, int reps, double *ipis_per_op)
{
	char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pmb_snap s0, s1;
	pthread_t t;
	cpu_set_t old;

	if (p == MAP_FAILED)
		pmb_die(b, "cannot map the shootdown reference page");
	sched_getaffinity(0, sizeof(old), &old);
	pmb_pin_cpu(0);
	spin_page = p + 4096;
	*spin_page = 1;
	atomic_store(&spinner_stop, 0);
	if (remote && pthread_create(&t, NULL, spinner, (void *)1L))
		pmb_die(b, "cannot start the shootdown reference thread");
	flush_sample(p);	/* warm-up */
	pmb_snap(&s0);
	for (int i = 0; i < reps; i++)
		v[i] = flush_sample(p);
	pmb_snap(&s1);
	atomic_store(&spinner_stop, 1);
	if (remote)
		pthread_join(t, NULL);
	sched_setaffinity(0, sizeof(old), &old);
	munmap(p, 2 * 4096);
	if (pmb_snap_get(&s1, "irq_TLB") >= 0)
		*ipis_per_op = (double)(pmb_snap_get(&s1, "irq_TLB") - pmb_snap_get(&s0, "irq_TLB")) /
			       ((double)reps * FLUSH_OPS);
	return reps;
}

const struct pmb_stats *pmb_ref(struct pmb *b, enum pmb_ref r)
{
	int reps = (int)pmb_by_mode(b, 3, 9, 15), n = 0;
	double *v, ipis = -1;
	json_t *o;

	if (r <= PMB_REF_NONE || r >= PMB_NR_REFS)
		pmb_die(b, "unknown reference %d", r);
	if (b->ref_done[r])
		return &b->ref_stats[r];
	v = calloc(reps, sizeof(*v));
	switch (r) {
	case PMB_REF_MEMCPY_1T:
		n = measure_memcpy(b, 1, v, reps);
		break;
	case PMB_REF_MEMCPY_ALL:
		n = measure_memcpy(b, pmb_nr_cpus(), v, reps);
		break;
	case PMB_REF_FAULT_4K:
		fault_sample();
		for (n = 0; n < reps; n++)
			if ((v[n] = fault_sample()) <= 0)
				break;
		break;
	case PMB_REF_SHOOTDOWN:
		if (pmb_nr_cpus() < 2)
			break;
		n = measure_flush(b, true, v, reps, &ipis);
		break;
	case PMB_REF_LOCAL_FLUSH:
		n = measure_flush(b, false, v, reps, &ipis);
		break;
	default:
		break;
	}
	pmb_stats_of(v, n, &b->ref_stats[r]);
	b->ref_done[r] = true;
	o = json_pack("{s:s, s:s, s:o}", "unit", refs[r].unit, "what", refs[r].what,
		      "stats", pmb_stats_json(&b->ref_stats[r]));
	if (ipis >= 0)
		json_object_set_new(o, "tlb_ipis_per_op", json_real(ipis));
	if (n == 0) {
		json_object_set_new(o, "unavailable", json_string(r == PMB_REF_SHOOTDOWN ?
			"needs two CPUs" : "measurement failed"));
		pmb_warn(b, "reference %s unavailable", refs[r].name);
	}
	json_object_set_new(b->refs, refs[r].name, o);
	free(v);
	return &b->ref_stats[r];
}
