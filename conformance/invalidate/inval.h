/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the invalidation collection: a "crew" of vCPU threads the host
 * steps one KVM_RUN at a time (so it can act while guests run, and look at
 * every exit), and the control page through which running guests and the host
 * talk without exits.
 */
#ifndef PRIVMEM_INVAL_H
#define PRIVMEM_INVAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vm.h"

#define INVAL_MAX_VCPUS	16
#define INVAL_PAGE	4096ULL

/* A plain (non-guest_memfd) slot, so invalidating guest_memfd never touches it. */
#define INVAL_CTL_SLOT	(PM_SLOT_FIRST_FREE + 8)
#define INVAL_CTL_GPA	(PM_TEST_GPA + (2ULL << 30))

/*
 * Guest-visible control page. Every word has one writer (host or one vCPU) and
 * sits on its own cache line; ordering is by acquire/release, not by exits.
 */
struct inval_ctl {
	uint64_t punched __attribute__((aligned(64)));	/* host: round whose punch returned */
	uint64_t stop __attribute__((aligned(64)));	/* host: round whose reading ends */
	struct {
		uint64_t seen;		/* round in which this vCPU finished a read pass */
		uint64_t spins;		/* accesses done, for the host to wait on */
		uint64_t bad_page, bad_word, bad_val, bad_epoch; /* first wrong read */
	} vcpu[INVAL_MAX_VCPUS] __attribute__((aligned(64)));
};
_Static_assert(sizeof(struct inval_ctl) <= INVAL_PAGE, "control page");

/* One vCPU thread: runs the vCPU each time the host allows, records each exit. */
struct inval_runner {
	struct pm_vcpu *vcpu;
	pthread_t tid;
	bool started;
	unsigned int runs;	/* KVM_RUNs the host allowed */
	unsigned int exits;	/* KVM_RUNs that returned */
	struct pm_exit last;
	struct inval_crew *crew;
};

struct inval_crew {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool abort;
	int n;
	struct inval_runner r[INVAL_MAX_VCPUS];
};

static void *inval_runner_main(void *arg)
{
	struct inval_runner *r = arg;
	struct inval_crew *c = r->crew;
	struct pm_exit e;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (r->runs == r->exits && !c->abort)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->abort)
			break;
		pthread_mutex_unlock(&c->mu);
		pm_vcpu_run(r->vcpu, &e);
		pthread_mutex_lock(&c->mu);
		r->last = e;
		r->exits++;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static inline void inval_crew_init(struct inval_crew *c)
{
	pthread_condattr_t a;

	pthread_mutex_init(&c->mu, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cv, &a);
	pthread_condattr_destroy(&a);
	c->abort = false;
	c->n = 0;
}

/* Start one thread per vCPU; each enters KVM_RUN at once. */
static inline int inval_crew_start(struct inval_crew *c, struct pm_vcpu **vcpus, int n)
{
	for (int i = 0; i < n; i++) {
		struct inval_runner *r = &c->r[i];

		*r = (struct inval_runner){ .vcpu = vcpus[i], .runs = 1, .crew = c };
		if (pthread_create(&r->tid, NULL, inval_runner_main, r))
			return -1;
		r->started = true;
		c->n = i + 1;
	}
	return 0;
}

static inline struct timespec inval_deadline(unsigned int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

static inline bool inval_past(const struct timespec *d)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec > d->tv_sec || (t.tv_sec == d->tv_sec && t.tv_nsec >= d->tv_nsec);
}

/*
 * Wait until vCPU i's current run has returned; false if it has not by `ms`
 * (a hang bound, far above any correct run). The exit is in c->r[i].last.
 */
static inline bool inval_crew_wait(struct inval_crew *c, int i, unsigned int ms)
{
	struct timespec d = inval_deadline(ms);
	bool ok;

	pthread_mutex_lock(&c->mu);
	while (c->r[i].exits != c->r[i].runs &&
	       pthread_cond_timedwait(&c->cv, &c->mu, &d) == 0)
		;
	ok = c->r[i].exits == c->r[i].runs;
	pthread_mutex_unlock(&c->mu);
	return ok;
}

/* Has vCPU i's current run returned (e.g. a guest assertion while the host polls)? */
static inline bool inval_crew_exited(struct inval_crew *c, int i)
{
	bool ret;

	pthread_mutex_lock(&c->mu);
	ret = c->r[i].exits == c->r[i].runs;
	pthread_mutex_unlock(&c->mu);
	return ret;
}

/* Let vCPU i run again (after its last run returned). */
static inline void inval_crew_resume(struct inval_crew *c, int i)
{
	pthread_mutex_lock(&c->mu);
	if (c->r[i].exits == c->r[i].runs)
		c->r[i].runs++;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/*
 * Join every thread. A vCPU still in KVM_RUN returns within vm->timeout_ms
 * (pm_vcpu_run's timer), so this is bounded even when a guest hangs.
 */
static inline void inval_crew_stop(struct inval_crew *c)
{
	pthread_mutex_lock(&c->mu);
	c->abort = true;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	for (int i = 0; i < c->n; i++)
		if (c->r[i].started)
			pthread_join(c->r[i].tid, NULL);
	c->n = 0;
}

/* Guest side of the control page. */
static inline PM_GUEST uint64_t inval_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline PM_GUEST void inval_store(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Host: sleep a little while polling, so vCPU threads get the CPUs. */
static inline void inval_nap(void)
{
	struct timespec t = { 0, 50000 };

	nanosleep(&t, NULL);
}

#endif
