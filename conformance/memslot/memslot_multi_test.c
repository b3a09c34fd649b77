// SPDX-License-Identifier: GPL-2.0
/*
 * One guest_memfd, several slots on disjoint ranges of it: "any number of
 * memory regions can be bound to a single guest_memfd file, but the bound
 * ranges must not overlap" (api.rst 4.142). Each slot's gfn g maps file page
 * guest_memfd_offset/PAGE_SIZE + (g - base_gfn) (guest_memfd.c
 * kvm_gmem_get_index()), so every slot must show its own part of the file.
 *
 * Slots are laid out in the opposite GPA order to their file order, so an
 * implementation that ignored guest_memfd_offset, or mapped by slot order,
 * reads the wrong pages.
 */
#include "memslot.h"

#define NSLOTS		4
#define SLOT_PAGES	4
#define GMEM_PAGES	(NSLOTS * SLOT_PAGES)
#define PAGE		4096ULL		/* x86 */
#define SLOT_STRIDE	(2ULL << 20)

MS_FIXTURE(memslot_multi, GMEM_PAGES, PM_GMEM_FLAG_VARIANTS);

/* Slot i covers file pages [i*SLOT_PAGES, (i+1)*SLOT_PAGES) at a GPA in reverse order. */
static PM_GUEST uint64_t slot_gpa(int i)
{
	return MS_GPA + (uint64_t)(NSLOTS - 1 - i) * SLOT_STRIDE;
}

static PM_GUEST uint64_t pattern(uint64_t file_page, uint64_t round)
{
	return 0x4d534c4f00000000ULL | round << 16 | file_page;
}

TEST_F(memslot_multi, disjoint_ranges_bind)
{
	for (int i = 0; i < NSLOTS; i++)
		ASSERT_EQ(0, ms_bind(self, MS_SLOT + i, slot_gpa(i), SLOT_PAGES * self->page,
				     i * SLOT_PAGES * self->page));
	/* Every page is bound now: one more slot anywhere in the file is refused. */
	ASSERT_GMEM_RANGE_TAKEN(ms_bind(self, MS_SLOT + NSLOTS, MS_GPA + (1ULL << 30), self->page,
				     (GMEM_PAGES - 1) * self->page));
	for (int i = 0; i < NSLOTS; i++)
		ASSERT_EQ(0, ms_delete(self, MS_SLOT + i));
}

/* Guest: every page of every slot holds its file page's round-1 pattern; write round 2. */
static PM_GUEST void guest_check_slots(uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a0, (void)a1, (void)a2;
	for (int i = 0; i < NSLOTS; i++) {
		for (int j = 0; j < SLOT_PAGES; j++) {
			uint8_t *p = (uint8_t *)(slot_gpa(i) + j * PAGE);
			uint64_t file_page = i * SLOT_PAGES + j;

			GUEST_ASSERT_EQ(pm_guest_read64(p), pattern(file_page, 1));
			GUEST_ASSERT_EQ(pm_guest_read64(p + PAGE - 8), pattern(file_page, 1));
			pm_guest_write64(p + 8, pattern(file_page, 2));
		}
	}
	GUEST_SYNC(1);
}

/*
 * Host writes each file page through a gmem mapping (MMAP|INIT_SHARED), the
 * guest checks what each slot shows, then writes, and the host finds each
 * write at the right file offset. userspace_addr is the gmem mapping at the
 * slot's offset, as a VMM would set it: both of KVM's fault paths (gmem and
 * userspace_addr) then name the same memory.
 */
TEST_F(memslot_multi, guest_sees_each_slot_offset)
{
	struct pm_vcpu *vcpu;
	uint64_t *host;

	PM_REQUIRE_FLAGS(self->flags, PM_MMAP_SHARED);
	host = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->gmem, 0);
	ASSERT_NE(MAP_FAILED, host);
	for (uint64_t pg = 0; pg < GMEM_PAGES; pg++) {
		host[pg * PAGE / 8] = pattern(pg, 1);
		host[(pg * PAGE + PAGE - 8) / 8] = pattern(pg, 1);
	}
	for (int i = 0; i < NSLOTS; i++) {
		uint64_t off = i * SLOT_PAGES * PAGE;

		ASSERT_EQ(0, pm_set_region2(self->vm, MS_SLOT + i, KVM_MEM_GUEST_MEMFD, slot_gpa(i),
					    SLOT_PAGES * PAGE, (uint8_t *)host + off, self->gmem,
					    off));
		ASSERT_EQ(0, pm_vm_map(self->vm, slot_gpa(i), SLOT_PAGES * PAGE, PM_PAGE_4K));
	}
	vcpu = pm_vcpu_add(self->vm, guest_check_slots, 0, 0, 0);
	ASSERT_NE(NULL, vcpu);
	ASSERT_GUEST_SYNC(vcpu, 1);
	for (uint64_t pg = 0; pg < GMEM_PAGES; pg++)
		ASSERT_EQ(pattern(pg, 2), host[(pg * PAGE + 8) / 8]);
	munmap(host, self->size);
}

TEST_HARNESS_MAIN
