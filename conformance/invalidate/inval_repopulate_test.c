// SPDX-License-Identifier: GPL-2.0
/*
 * After PUNCH_HOLE the guest's next access to a hole faults in a fresh page:
 * zero in every byte (guest_memfd.c kvm_gmem_prepare_folio, 6.12: "the guest
 * sees a zero page so as to avoid leaking host data"; 6.18 clears new folios
 * before a host mapping uses them, kvm_gmem_fault_user_mapping; observed
 * upstream behaviour: private_mem_conversions_test.c guest_test_punch_hole,
 * the next guest read after a punch faults in zeroes). The page is writable
 * by the guest and is the file's page, so the host sees the guest's new data
 * through its mapping, an existing one or a new one, and the guest sees what
 * the host writes there (api.rst 4.142; upstream 6.18 guest_memfd_test.c
 * test_guest_memfd_guest for the shared view). The holes sit at both ends of
 * the file and in its middle; their neighbours keep their data.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include "inval.h"
#include "pm_test.h"

#define GMEM_SIZE	PM_PAGE_2M
#define NPAGES		(GMEM_SIZE / INVAL_PAGE)
#define WORDS		(INVAL_PAGE / 8)
#define GMEM_GPA	PM_TEST_GPA
#define SLOT		PM_SLOT_FIRST_FREE

/* Holes: [0, 3), [200, 202), [NPAGES - 3, NPAGES); the pages next to each are kept. */
#define NHOLES		3
static const uint64_t hole_first[NHOLES] = { 0, 200, NPAGES - 3 };
static const uint64_t hole_end[NHOLES] = { 3, 202, NPAGES };

PM_GUEST_CODE_BEGIN

static PM_GUEST bool in_hole(uint64_t pg)
{
	for (int h = 0; h < NHOLES; h++)
		if (pg >= hole_first[h] && pg < hole_end[h])
			return true;
	return false;
}

/* Checked pages: each hole and the page on each side of it. */
static PM_GUEST uint64_t near_first(int h)
{
	return hole_first[h] ? hole_first[h] - 1 : 0;
}

static PM_GUEST uint64_t near_end(int h)
{
	return hole_end[h] < NPAGES ? hole_end[h] + 1 : NPAGES;
}

static PM_GUEST uint64_t pattern(uint64_t pg, uint64_t w, uint64_t round)
{
	return 0x5245504f00000000ULL | (round << 28) | (pg << 12) | w;
}

/* The words the guest writes and the host writes back: both ends and the middle. */
static PM_GUEST uint64_t word_at(int k)
{
	return k == 0 ? 0 : k == 1 ? WORDS / 2 : WORDS - 1;
}

static PM_GUEST uint64_t *gpa_word(uint64_t pg, uint64_t w)
{
	return (uint64_t *)(GMEM_GPA + pg * INVAL_PAGE + w * 8);
}

static PM_GUEST void guest_repopulate(uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a0, (void)a1, (void)a2;
	/* Map every checked page (the host filled them); the host then punches. */
	for (int h = 0; h < NHOLES; h++)
		for (uint64_t pg = near_first(h); pg < near_end(h); pg++)
			GUEST_ASSERT_EQ(pm_guest_read64(gpa_word(pg, 1)), pattern(pg, 1, 1));
	GUEST_SYNC(1);

	for (int h = 0; h < NHOLES; h++)
		for (uint64_t pg = near_first(h); pg < near_end(h); pg++) {
			if (!in_hole(pg)) {
				for (int k = 0; k < 3; k++)
					GUEST_ASSERT_EQ(pm_guest_read64(gpa_word(pg, word_at(k))),
							pattern(pg, word_at(k), 1));
				continue;
			}
			/* Every byte of a refaulted hole is zero... */
			for (uint64_t w = 0; w < WORDS; w++) {
				uint64_t val = pm_guest_read64(gpa_word(pg, w));

				if (val)
					GUEST_SYNC_VALS(99, pg, w, val);	/* reported, then fails */
			}
			/* ...and the page is writable. */
			for (int k = 0; k < 3; k++)
				pm_guest_write64(gpa_word(pg, word_at(k)), pattern(pg, word_at(k), 2));
		}
	GUEST_SYNC(2);

	/* The host wrote round 3 into the holes through its mapping. */
	for (int h = 0; h < NHOLES; h++)
		for (uint64_t pg = hole_first[h]; pg < hole_end[h]; pg++)
			for (int k = 0; k < 3; k++)
				GUEST_ASSERT_EQ(pm_guest_read64(gpa_word(pg, word_at(k))),
						pattern(pg, word_at(k), 3));
}

PM_GUEST_CODE_END

PM_GMEM_GUEST_FIXTURE(inval_repop, GMEM_SIZE, SLOT, GMEM_GPA);

TEST_F(inval_repop, punched_pages_refault_zeroed_writable_shared)
{
	struct pm_vcpu *vcpu = pm_vcpu_add(self->vm, guest_repopulate, 0, 0, 0);
	uint64_t *fresh;
	struct pm_exit e;

	ASSERT_NE(NULL, vcpu);
	/* Every word nonzero, so any leftover of the old page shows. */
	for (uint64_t pg = 0; pg < NPAGES; pg++)
		for (uint64_t w = 0; w < WORDS; w++)
			self->host[pg * WORDS + w] = pattern(pg, w, 1);
	ASSERT_GUEST_SYNC(vcpu, 1);

	for (int h = 0; h < NHOLES; h++)
		ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
				       hole_first[h] * INVAL_PAGE,
				       (hole_end[h] - hole_first[h]) * INVAL_PAGE));

	pm_vcpu_run(vcpu, &e);
	if (e.result == PM_RUN_SYNC && e.rep.vals[0] == 99)
		TH_LOG("refaulted hole page %llu word %llu reads 0x%llx in the guest",
		       (unsigned long long)e.rep.vals[1], (unsigned long long)e.rep.vals[2],
		       (unsigned long long)e.rep.vals[3]);
	else if (e.result != PM_RUN_SYNC)
		TH_LOG("%s", e.msg);
	ASSERT_EQ(PM_RUN_SYNC, e.result);
	ASSERT_EQ(2, e.rep.vals[0]);

	/* The guest's writes are in the file: through the old mapping and a new one. */
	fresh = mmap(NULL, GMEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, fresh);
	for (uint64_t pg = 0; pg < NPAGES; pg++) {
		if (!in_hole(pg))
			continue;
		for (uint64_t w = 0; w < WORDS; w++) {
			bool written = w == word_at(0) || w == word_at(1) || w == word_at(2);
			uint64_t want = written ? pattern(pg, w, 2) : 0;

			ASSERT_EQ(want, self->host[pg * WORDS + w]);
			ASSERT_EQ(want, fresh[pg * WORDS + w]);
		}
		for (int k = 0; k < 3; k++)
			self->host[pg * WORDS + word_at(k)] = pattern(pg, word_at(k), 3);
	}
	munmap(fresh, GMEM_SIZE);
	ASSERT_GUEST_DONE(vcpu);
}

TEST_HARNESS_MAIN
