// SPDX-License-Identifier: GPL-2.0
/*
 * The host punches holes in PRIVATE guest_memfd pages while 2 and 2 x nproc
 * vCPUs keep writing a tagged pattern there and reading it back. Upstream
 * punches private memory only while the guest waits in a hypercall
 * (private_mem_conversions_test.c guest_test_punch_hole);
 * conformance/invalidate races the punch against shared (mmap-faulted) memory.
 *
 * Why the verdict is exact although it races: kvm_gmem_punch_hole
 * (virt/kvm/guest_memfd.c) zaps the guest's private mappings of the range and
 * flushes every vCPU's TLB (kvm_gmem_invalidate_begin, kvm_flush_remote_tlbs)
 * and truncates the pages before fallocate() returns; faults meanwhile retry
 * (mmu_invalidate_in_progress), later ones get a zeroed folio
 * (kvm_gmem_prepare_folio). The host stores `started = k` before punch k and
 * `done = k` after it returned. A vCPU writes its pages, fences, loads
 * `started` (s), then reads the pages back, loading `done` (d) before each
 * pass. If d > s, punch d began after the write was globally visible and ended
 * before the read, so the read must return 0: the old data is a stale read.
 * Besides: a page never holds anything but the vCPU's last write or 0, and once
 * it read 0 it never shows that write again.
 *
 * Progress, without timing: a vCPU rewrites its pages only after reading all of
 * them as 0, and publishes `armed = s + 1` with each write; the host starts
 * punch k only once every vCPU is armed with s = k - 1. So every round every
 * vCPU holds a write that punch k must free, and it counts at least one
 * all-zero pass per round (`clears` >= ROUNDS), or it reports the stale read.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <time.h>

#include "convert.h"

#define GMEM_SIZE	PM_PAGE_2M
#define GPA		PM_TEST_GPA
#define NPV		4				/* pages each vCPU owns */
#define OWN_PAGES	(CONV_MAX_VCPUS * NPV * 2)	/* owned pages, every other page */
#define KEEP_FIRST	200				/* one never-punched page per vCPU */
#define ROUNDS		6
#define WAIT_MS		20000		/* hang bound, never reached when correct */
#define MAX_PASSES	(1ULL << 32)
_Static_assert(KEEP_FIRST >= OWN_PAGES, "kept pages outside the punched area");

struct race_ctl {
	uint64_t started __attribute__((aligned(64)));
	uint64_t done __attribute__((aligned(64)));
	uint64_t stop __attribute__((aligned(64)));
	struct {
		uint64_t armed;		/* 1 + `started` seen after the vCPU's latest write */
		uint64_t clears;	/* passes that read 0 from every owned page */
		uint64_t bad_page, bad_val, bad_want, bad_s, bad_d;
	} vcpu[CONV_MAX_VCPUS] __attribute__((aligned(64)));
};
_Static_assert(sizeof(struct race_ctl) <= CONV_CTL_SIZE, "control slot");

PM_GUEST_CODE_BEGIN

static PM_GUEST uint64_t *own_page(uint64_t v, uint64_t j)
{
	return (uint64_t *)(GPA + (v * NPV + j) * 2 * CONV_PAGE);
}

static PM_GUEST uint64_t race_pat(uint64_t v, uint64_t j, uint64_t iter)
{
	return 0x5241000000000000ULL | (v << 40) | (j << 32) | (iter & 0xffffffffULL);
}

static PM_GUEST void guest_race(uint64_t v, uint64_t a1, uint64_t a2)
{
	struct race_ctl *ctl = (struct race_ctl *)CONV_CTL_GPA;
	uint64_t *keep = (uint64_t *)(GPA + (KEEP_FIRST + v) * CONV_PAGE);
	uint64_t clears = 0;

	(void)a1, (void)a2;
	pm_guest_write64(keep, race_pat(v, NPV, 0));
	for (uint64_t iter = 1; !__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE); iter++) {
		uint64_t s, gone = 0;

		for (uint64_t j = 0; j < NPV; j++)
			pm_guest_write64(own_page(v, j), race_pat(v, j, iter));
		/* The writes are globally visible before `started` is loaded. */
		pm_guest_mb();
		s = __atomic_load_n(&ctl->started, __ATOMIC_ACQUIRE);
		__atomic_store_n(&ctl->vcpu[v].armed, s + 1, __ATOMIC_RELEASE);

		for (uint64_t pass = 0; gone != (1ULL << NPV) - 1; pass++) {
			uint64_t d;

			GUEST_ASSERT(pass < MAX_PASSES);
			if (__atomic_load_n(&ctl->stop, __ATOMIC_ACQUIRE))
				break;
			d = __atomic_load_n(&ctl->done, __ATOMIC_ACQUIRE);
			for (uint64_t j = 0; j < NPV; j++) {
				uint64_t want = race_pat(v, j, iter);
				uint64_t val = pm_guest_read64(own_page(v, j));

				if (val == 0) {
					gone |= 1ULL << j;
					continue;
				}
				if (val == want && !(gone & (1ULL << j)) && d <= s)
					continue;
				ctl->vcpu[v].bad_page = (uint64_t)own_page(v, j);
				ctl->vcpu[v].bad_val = val;
				ctl->vcpu[v].bad_want = want;
				ctl->vcpu[v].bad_s = s;
				ctl->vcpu[v].bad_d = d;
				GUEST_ASSERT_EQ(val, 0);
			}
		}
		if (gone == (1ULL << NPV) - 1)
			__atomic_store_n(&ctl->vcpu[v].clears, ++clears, __ATOMIC_RELEASE);
	}
	GUEST_ASSERT_EQ(pm_guest_read64(keep), race_pat(v, NPV, 0));
	GUEST_SYNC_VALS(2, clears, 0, 0);
}

PM_GUEST_CODE_END

struct race_runner {
	struct pm_vcpu *vcpu;
	pthread_t tid;
	bool started;
	int finished;
	struct pm_exit exit;
};

static void *race_thread(void *arg)
{
	struct race_runner *r = arg;

	pm_vcpu_run(r->vcpu, &r->exit);
	__atomic_store_n(&r->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

FIXTURE(conv_race) {
	struct conv c;
	struct race_ctl *ctl;
	struct race_runner r[CONV_MAX_VCPUS];
	int n;
};

FIXTURE_VARIANT(conv_race) { CONV_VARIANT_FIELDS; };

FIXTURE_VARIANT_ADD(conv_race, swprot_vm_2vcpus_4k) {
	.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_4K, .vcpus = 2 };
FIXTURE_VARIANT_ADD(conv_race, swprot_vm_2xnproc_4k) {
	.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_4K, .vcpus = 0 };
FIXTURE_VARIANT_ADD(conv_race, swprot_vm_2xnproc_2m) {
	.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_2M, .vcpus = 0 };
PM_CVM_VARIANTS(conv_race, , 0, .guest_page = PM_PAGE_4K, .vcpus = 2);

static const struct conv_slot slots[] = { { GPA, 0, GMEM_SIZE } };

FIXTURE_SETUP(conv_race)
{
	memset(&self->c, 0, sizeof(self->c));
	self->c.fd = -1;
	self->ctl = NULL;
	self->n = 0;
	CONV_REQUIRE_PRIVATE_ATTR(&variant->need);
	PM_SETUP_VM(&variant->need, self->c.p, self->c.vm);
	self->c.vm->timeout_ms = WAIT_MS;
	conv_setup(_metadata, &self->c, GMEM_SIZE, slots, 1, variant->guest_page, 0);
	conv_convert(_metadata, &self->c, GPA, GMEM_SIZE, true);
	self->ctl = (struct race_ctl *)self->c.ctl;
	for (int v = 0; v < conv_nr_vcpus(variant->vcpus); v++) {
		self->r[v].vcpu = pm_vcpu_add(self->c.vm, guest_race, v, 0, 0);
		ASSERT_NE(NULL, self->r[v].vcpu);
		self->n = v + 1;
	}
}

FIXTURE_TEARDOWN(conv_race)
{
	if (self->ctl)
		__atomic_store_n(&self->ctl->stop, 1, __ATOMIC_RELEASE);
	/* Each run ends within vm->timeout_ms, so the joins are bounded. */
	for (int v = 0; v < self->n; v++)
		if (self->r[v].started)
			pthread_join(self->r[v].tid, NULL);
	conv_teardown(&self->c);
}

static int punch(int fd, uint64_t first, uint64_t count)
{
	return fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, first * CONV_PAGE,
			 count * CONV_PAGE);
}

/* Why vCPU v stopped (or did not arm) in round k, with its first wrong read. */
static void log_vcpu(struct __test_metadata *_metadata, FIXTURE_DATA(conv_race) *self,
		     int v, uint64_t k, bool hung)
{
	const typeof(self->ctl->vcpu[0]) *b = &self->ctl->vcpu[v];

	TH_LOG("vCPU %d/%d, round %llu: %s", v, self->n, (unsigned long long)k,
	       hung ? "not armed within the hang bound" : self->r[v].exit.msg);
	if (b->bad_page)
		TH_LOG("vCPU %d read 0x%llx at gpa 0x%llx (its write 0x%llx): written before "
		       "punch %llu began, read after punch %llu returned", v,
		       (unsigned long long)b->bad_val, (unsigned long long)b->bad_page,
		       (unsigned long long)b->bad_want, (unsigned long long)b->bad_s + 1,
		       (unsigned long long)b->bad_d);
}

static bool past(const struct timespec *t0, unsigned int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000 > ms;
}

/* Wait until every vCPU is armed with a write made after `started` = k - 1. */
static void wait_armed(struct __test_metadata *_metadata, FIXTURE_DATA(conv_race) *self,
		       uint64_t k)
{
	struct timespec t0, nap = { 0, 50000 };

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int v = 0; v < self->n; v++)
		while (__atomic_load_n(&self->ctl->vcpu[v].armed, __ATOMIC_ACQUIRE) < k) {
			bool hung = past(&t0, WAIT_MS);

			if (hung || __atomic_load_n(&self->r[v].finished, __ATOMIC_ACQUIRE)) {
				log_vcpu(_metadata, self, v, k, hung);
				ASSERT_TRUE(false);
			}
			nanosleep(&nap, NULL);
		}
}

TEST_F(conv_race, punch_private_while_vcpus_write_read)
{
	for (int v = 0; v < self->n; v++) {
		ASSERT_EQ(0, pthread_create(&self->r[v].tid, NULL, race_thread, &self->r[v]));
		self->r[v].started = true;
	}
	for (uint64_t k = 1; k <= ROUNDS; k++) {
		wait_armed(_metadata, self, k);
		__atomic_store_n(&self->ctl->started, k, __ATOMIC_RELEASE);
		if (k % 2) {
			ASSERT_EQ(0, punch(self->c.fd, 0, OWN_PAGES));
		} else {
			/* Page by page, in a different order from the vCPUs' writes. */
			for (uint64_t p = OWN_PAGES; p-- > 0;)
				if (p % 2 == 0)
					ASSERT_EQ(0, punch(self->c.fd, p, 1));
		}
		__atomic_store_n(&self->ctl->done, k, __ATOMIC_RELEASE);
	}
	/* Every vCPU has cleared after the last punch: each round was checked. */
	wait_armed(_metadata, self, ROUNDS + 1);
	__atomic_store_n(&self->ctl->stop, 1, __ATOMIC_RELEASE);
	for (int v = 0; v < self->n; v++) {
		struct pm_exit *e = &self->r[v].exit;

		ASSERT_EQ(0, pthread_join(self->r[v].tid, NULL));
		self->r[v].started = false;
		if (e->result != PM_RUN_SYNC || e->rep.vals[0] != 2)
			TH_LOG("vCPU %d: %s", v, e->msg);
		ASSERT_EQ(PM_RUN_SYNC, e->result);
		ASSERT_EQ(2, e->rep.vals[0]);
		ASSERT_LE(ROUNDS, e->rep.vals[1]);
	}
}

TEST_HARNESS_MAIN
