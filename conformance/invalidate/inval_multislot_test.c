// SPDX-License-Identifier: GPL-2.0
/*
 * One guest_memfd bound by two memslots to disjoint ranges (api.rst 4.142:
 * "any number of memory regions can be bound to a single guest_memfd file,
 * but the bound ranges must not overlap"). A single PUNCH_HOLE covering the
 * end of slot A's range and the start of slot B's must invalidate the guest's
 * mappings through both slots: guest_memfd.c kvm_gmem_invalidate_begin walks
 * every binding overlapping the range (for slots faulted through their
 * userspace_addr, the mmu_notifier covers each slot's hva range). Nothing
 * upstream punches across two slots (conformance-anchors.md §5 item 7).
 *
 * Slot B (the higher gmem offsets) sits at the lower GPA, so a translation
 * from file offset to GPA that assumes one slot, or slots in GPA order, shows.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inval.h"
#include "pm_test.h"

#define GMEM_SIZE	(4ULL << 20)
#define HALF		(GMEM_SIZE / 2)			/* each slot binds 2M */
#define HALF_PAGES	(HALF / INVAL_PAGE)
#define GPA_A		(PM_TEST_GPA + (1ULL << 30))	/* gmem [0, 2M) */
#define GPA_B		PM_TEST_GPA			/* gmem [2M, 4M) */
#define SLOT_A		PM_SLOT_FIRST_FREE
#define SLOT_B		(PM_SLOT_FIRST_FREE + 1)
/* The punch: the last 8 pages of A's range and the first 8 of B's. */
#define PUNCH_FIRST	(HALF_PAGES - 8)
#define PUNCH_END	(HALF_PAGES + 8)
/* Guests check every page from 8 before the punch to 8 after, and both file ends. */
#define NEAR_FIRST	(PUNCH_FIRST - 8)
#define NEAR_END	(PUNCH_END + 8)

PM_GUEST_CODE_BEGIN

/* Where gmem page g is in the guest. */
static PM_GUEST uint64_t *gmem_page_gpa(uint64_t g, int last)
{
	uint64_t base = g < HALF_PAGES ? GPA_A + g * INVAL_PAGE : GPA_B + (g - HALF_PAGES) * INVAL_PAGE;

	return (uint64_t *)(base + (last ? INVAL_PAGE - 8 : 0));
}

static PM_GUEST uint64_t pattern(uint64_t g, int last)
{
	return 0x534c4f5400000000ULL | ((uint64_t)last << 16) | (g + 1);
}

#define NCHECKED	(NEAR_END - NEAR_FIRST + 2)

/* The i-th checked gmem page: both file ends, then every page near the punch. */
static PM_GUEST uint64_t checked_page(uint64_t i)
{
	return i == 0 ? 0 : i == 1 ? 2 * HALF_PAGES - 1 : NEAR_FIRST + i - 2;
}

static PM_GUEST bool in_punch(uint64_t g)
{
	return g >= PUNCH_FIRST && g < PUNCH_END;
}

static PM_GUEST void guest_two_slots(uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a0, (void)a1, (void)a2;
	for (uint64_t i = 0; i < NCHECKED; i++)
		for (int last = 0; last < 2; last++)
			pm_guest_write64(gmem_page_gpa(checked_page(i), last), pattern(checked_page(i), last));
	GUEST_SYNC(1);		/* both slots mapped; the host punches */
	for (uint64_t i = 0; i < NCHECKED; i++) {
		uint64_t g = checked_page(i);

		for (int last = 0; last < 2; last++) {
			uint64_t val = pm_guest_read64(gmem_page_gpa(g, last));

			if (val != (in_punch(g) ? 0 : pattern(g, last)))
				GUEST_SYNC_VALS(99, g, last, val);	/* reported, then fails */
		}
	}
	GUEST_SYNC(2);
}

PM_GUEST_CODE_END

FIXTURE(inval_multislot) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	int fd;
	uint64_t *host;
};

FIXTURE_VARIANT(inval_multislot) {
	struct pm_need need;
	uint64_t guest_page;
};

PM_GMEM_GUEST_VARIANTS(inval_multislot);

FIXTURE_SETUP(inval_multislot)
{
	self->fd = -1;
	self->host = MAP_FAILED;
	PM_SETUP_VM(&variant->need, self->p, self->vm);
	PM_MAPPED_GMEM(self->p, self->vm, variant->need.gmem_flags, GMEM_SIZE, self->fd, self->host);
	/* Each slot's userspace_addr is its part of the gmem mapping. */
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT_A, GPA_A, HALF, self->host, self->fd, 0,
				      variant->guest_page));
	ASSERT_EQ(0, pm_vm_add_memory(self->vm, SLOT_B, GPA_B, HALF, (uint8_t *)self->host + HALF,
				      self->fd, HALF, variant->guest_page));
}

FIXTURE_TEARDOWN(inval_multislot)
{
	pm_vm_free(self->vm);
	if (self->host != MAP_FAILED)
		munmap(self->host, GMEM_SIZE);
	if (self->fd >= 0)
		close(self->fd);
}

static uint64_t host_word(uint64_t *host, uint64_t g, int last)
{
	return host[(g * INVAL_PAGE + (last ? INVAL_PAGE - 8 : 0)) / 8];
}

TEST_F(inval_multislot, punch_spanning_two_slots_zaps_both)
{
	struct pm_vcpu *vcpu = pm_vcpu_add(self->vm, guest_two_slots, 0, 0, 0);
	struct pm_exit e;

	ASSERT_NE(NULL, vcpu);
	ASSERT_GUEST_SYNC(vcpu, 1);
	for (uint64_t i = 0; i < NCHECKED; i++)
		ASSERT_EQ(pattern(checked_page(i), 1), host_word(self->host, checked_page(i), 1));

	ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
			       PUNCH_FIRST * INVAL_PAGE, (PUNCH_END - PUNCH_FIRST) * INVAL_PAGE));

	pm_vcpu_run(vcpu, &e);
	if (e.result == PM_RUN_SYNC && e.rep.vals[0] == 99)
		TH_LOG("guest read 0x%llx at gmem page %llu (%s slot %s), %s word",
		       (unsigned long long)e.rep.vals[3], (unsigned long long)e.rep.vals[1],
		       in_punch(e.rep.vals[1]) ? "punched," : "not punched,",
		       e.rep.vals[1] < HALF_PAGES ? "A" : "B", e.rep.vals[2] ? "last" : "first");
	else if (e.result != PM_RUN_SYNC)
		TH_LOG("%s", e.msg);
	ASSERT_EQ(PM_RUN_SYNC, e.result);
	ASSERT_EQ(2, e.rep.vals[0]);
	for (uint64_t i = 0; i < NCHECKED; i++) {
		uint64_t g = checked_page(i);

		for (int last = 0; last < 2; last++)
			ASSERT_EQ(in_punch(g) ? 0 : pattern(g, last), host_word(self->host, g, last));
	}
	ASSERT_GUEST_DONE(vcpu);
}

TEST_HARNESS_MAIN
