// SPDX-License-Identifier: GPL-2.0
/*
 * First faults of a fresh secretmem file, raced: FAULTERS threads write the same
 * pages of a new mapping while another thread gives the file its size with the
 * first ftruncate. Two fixed kernel races live here, both visible only as a
 * kernel oops (the runner fails the binary on a splat in the kernel log) or as
 * a thread that never comes back (a task killed by an oops holding a lock):
 *   - a fault between the first ftruncate's i_size update and its
 *     truncate_pagecache() took the page out of the direct map just before
 *     truncation zeroed its tail: oops in truncate_inode_partial_folio
 *     (84ac013046cc "secretmem: fix unhandled fault in truncate", v5.19:
 *     secretmem_fault takes mapping->invalidate_lock, which secretmem_setattr
 *     holds exclusively);
 *   - the loser of two faults of one page (filemap_add_folio -EEXIST) freed its
 *     folio before restoring it in the direct map (6f86d0534fdd "mm/secretmem:
 *     fix use-after-free race in fault handler", v6.18; 6.12.59).
 * The size is not page aligned, so the first ftruncate has a partial page to zero.
 *
 * What the ABI says, and the row checks exactly (mm/secretmem.c secretmem_fault,
 * secretmem_setattr): a fault at or past i_size is SIGBUS (vmf_error(-EINVAL));
 * once the first ftruncate has returned 0 every page below the size faults in, a
 * zeroed page (__GFP_ZERO) shared by all threads; a second ftruncate -> -1/EINVAL.
 * So: SIGBUS only before ftruncate returned; afterwards each thread's bytes read
 * back and every other byte of the mapping reads 0.
 *
 * Bounded: ROUNDS rounds, stopped early after BUDGET_S seconds (that only limits
 * coverage; the round count is logged). The pm_watchdog FAILs the test with
 * "hung: ..." naming the step and round when a round (well under a millisecond
 * when correct) does not finish within HANG_S seconds, before the harness's
 * timeout would.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>

#include "secretmem.h"

#define FAULTERS	4
#define PAGES		8
#define TAIL		1000	/* bytes of the last page inside the size */
#define ROUNDS		2000
#define BUDGET_S	15	/* coverage only: rounds stop early past it */
#define HANG_S		10	/* per round, pm_watchdog */

SECRET_FIXTURE(secret_race, 0)

/* Per-thread SIGBUS/SIGSEGV recovery: the handler jumps back into the faulting thread. */
static __thread sigjmp_buf fault_env;
static __thread volatile sig_atomic_t fault_sig;

static void on_fault(int sig)
{
	fault_sig = sig;
	siglongjmp(fault_env, 1);
}

/* Write one byte; 0 or the signal it raised. */
static int touch_write(volatile uint8_t *addr, uint8_t val)
{
	fault_sig = 0;
	if (!sigsetjmp(fault_env, 1))
		*addr = val;
	return fault_sig;
}

struct race {
	pthread_barrier_t start, end;
	long page;
	size_t size, len;
	uint8_t *p;
	int fd, round;
	atomic_bool stop;
	atomic_bool sized;		/* the first ftruncate has returned 0 */
	atomic_long early;		/* SIGBUS before the size was set (coverage, logged) */
	int trunc[2], trunc_err[2];	/* the two ftruncate results */
	pthread_mutex_t lock;
	char fail[256];			/* first mismatch a thread saw */
};

static uint8_t value(int round, int thread, int page)
{
	return (uint8_t)(1 + thread + FAULTERS * (page + PAGES * round) % 251);
}

static void thread_fail(struct race *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->fail[0]) {
		va_start(ap, fmt);
		vsnprintf(r->fail, sizeof(r->fail), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->lock);
}

struct worker {
	struct race *r;
	int id;
};

static void *faulter(void *arg)
{
	struct worker *w = arg;
	struct race *r = w->r;
	int i = w->id;

	for (;;) {
		pthread_barrier_wait(&r->start);
		if (atomic_load(&r->stop))
			break;
		/* The partial last page first (the one the first ftruncate zeroes), then the rest. */
		for (int k = 0; k < PAGES; k++) {
			int pg = k ? k - 1 : PAGES - 1, sig;
			size_t off = pg * r->page + i * 8;

			for (;;) {
				bool sized = atomic_load(&r->sized);

				sig = touch_write(r->p + off, value(r->round, i, pg));
				if (!sig)
					break;
				if (sig != SIGBUS || sized) {
					thread_fail(r, "round %d: faulter %d: page %d: signal %d (%s) %s",
						    r->round, i, pg, sig, strsignal(sig),
						    sized ? "after the first ftruncate returned 0"
							  : "before the size was set (SIGBUS expected)");
					goto end;
				}
				atomic_fetch_add(&r->early, 1);
				sched_yield();	/* size not set yet: SIGBUS is the ABI, try again */
			}
		}
end:
		pthread_barrier_wait(&r->end);
	}
	return NULL;
}

static void *truncator(void *arg)
{
	struct race *r = arg;

	for (;;) {
		pthread_barrier_wait(&r->start);
		if (atomic_load(&r->stop))
			break;
		for (int n = 0; n < 2; n++) {
			errno = 0;
			r->trunc[n] = ftruncate(r->fd, r->size);
			r->trunc_err[n] = errno;
			if (!n && !r->trunc[0])
				atomic_store(&r->sized, true);
		}
		pthread_barrier_wait(&r->end);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * FAULTERS threads write their own byte of every page of a fresh mapping (the
 * partial last page first) while a fifth sets the size with the first ftruncate
 * (then tries a second): SIGBUS only before that ftruncate returned; afterwards
 * every write lands, the pages hold exactly what was written and zeros
 * elsewhere; ftruncate -> 0 then -1/EINVAL. No kernel splat, no hang.
 */
TEST_F_TIMEOUT(secret_race, first_faults_vs_first_truncate, BUDGET_S + 2 * HANG_S + 10)
{
	struct sigaction sa = { .sa_handler = on_fault, .sa_flags = SA_NODEFER };
	pthread_t threads[FAULTERS + 1];
	struct worker workers[FAULTERS];
	struct pm_watchdog w;
	struct race *r;
	struct rlimit rl;
	double t0 = now_s();
	int round;

	r = calloc(1, sizeof(*r));
	ASSERT_NE(NULL, r);
	r->page = self->page;
	r->len = PAGES * self->page;
	r->size = (PAGES - 1) * self->page + TAIL;

	/* Secret pages are charged to RLIMIT_MEMLOCK (per page in 6.12's model): room for two rounds. */
	ASSERT_EQ(0, getrlimit(RLIMIT_MEMLOCK, &rl));
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * r->len) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= 2 * r->len ?
			      2 * r->len : rl.rlim_max;
		setrlimit(RLIMIT_MEMLOCK, &rl);
		getrlimit(RLIMIT_MEMLOCK, &rl);
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 2 * r->len)
			SKIP(return, "RLIMIT_MEMLOCK %llu bytes (hard %llu) < the %zu bytes of secret pages "
			     "two rounds may hold", (unsigned long long)rl.rlim_cur,
			     (unsigned long long)rl.rlim_max, 2 * r->len);
	}

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
	ASSERT_EQ(0, pthread_mutex_init(&r->lock, NULL));
	ASSERT_EQ(0, pthread_barrier_init(&r->start, NULL, FAULTERS + 2));
	ASSERT_EQ(0, pthread_barrier_init(&r->end, NULL, FAULTERS + 2));
	PM_WATCHDOG_START(&w, HANG_S);
	for (int i = 0; i < FAULTERS; i++) {
		workers[i] = (struct worker){ r, i };
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, faulter, &workers[i]));
	}
	ASSERT_EQ(0, pthread_create(&threads[FAULTERS], NULL, truncator, r));

	for (round = 0; round < ROUNDS && now_s() - t0 < BUDGET_S; round++) {
		w.round = round;
		w.step = "creating and mapping a memfd_secret";
		r->fd = secret_create(0);
		ASSERT_LE(0, r->fd) TH_LOG("round %d: memfd_secret: %s", round, strerror(errno));
		/* Mapped while the size is still 0: mmap does not check it, the fault does. */
		r->p = secret_map(r->fd, r->len, 0);
		ASSERT_NE(MAP_FAILED, r->p) TH_LOG("round %d: mmap: %s", round, strerror(errno));
		r->round = round;
		atomic_store(&r->sized, false);
		w.step = "a round of 4 faulters racing the first ftruncate";
		pthread_barrier_wait(&r->start);
		pthread_barrier_wait(&r->end);
		w.step = "checking, unmapping and closing";

		ASSERT_EQ('\0', r->fail[0]) TH_LOG("%s", r->fail);
		ASSERT_EQ(0, r->trunc[0]) TH_LOG("round %d: first ftruncate(%zu): %s", round, r->size,
						 strerrorname_np(r->trunc_err[0]));
		ASSERT_EQ(-1, r->trunc[1]) TH_LOG("round %d: second ftruncate succeeded", round);
		ASSERT_EQ(EINVAL, r->trunc_err[1]);
		for (size_t off = 0; off < r->len; off++) {
			int pg = off / r->page, in = off % r->page;
			uint8_t want = in % 8 == 0 && in / 8 < FAULTERS ? value(round, in / 8, pg) : 0;

			ASSERT_EQ(want, r->p[off]) TH_LOG("round %d: page %d byte %d", round, pg, in);
		}
		ASSERT_EQ(0, munmap(r->p, r->len));
		ASSERT_EQ(0, close(r->fd));
	}
	TH_LOG("%d rounds of %d faulters racing the first ftruncate in %.1f s, %ld SIGBUS before "
	       "the size was set", round, FAULTERS, now_s() - t0, atomic_load(&r->early));

	w.step = "stopping the threads";
	atomic_store(&r->stop, true);
	pthread_barrier_wait(&r->start);
	for (int i = 0; i <= FAULTERS; i++)
		ASSERT_EQ(0, pthread_join(threads[i], NULL));
	PM_WATCHDOG_STOP(&w);
	signal(SIGBUS, SIG_DFL);
	signal(SIGSEGV, SIG_DFL);
}

TEST_HARNESS_MAIN
