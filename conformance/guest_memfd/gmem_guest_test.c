// SPDX-License-Identifier: GPL-2.0
/*
 * Guest code on a guest_memfd-backed memslot. The host punches holes while the
 * guest has the memory mapped; KVM must invalidate its secondary MMU so the
 * guest reads zeroes afterwards, never stale data (api.rst 4.142: PUNCH_HOLE
 * "frees the memory"; guest_memfd.c kvm_gmem_invalidate_begin). Needs a flag set
 * the host can map (MMAP|INIT_SHARED) to check both sides.
 */
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>

#include "pm_test.h"

#define GMEM_SIZE	(4ULL << 20)	/* two 2M guest pages, 1024 4K host pages */
#define GMEM_GPA	PM_TEST_GPA
#define SLOT		PM_SLOT_FIRST_FREE
#define PAGE		4096ULL

/* Every third 4K page is punched: inside 2M guest mappings as well as at their edges. */
static PM_GUEST bool punched(uint64_t page)
{
	return page % 3 == 1;
}

static PM_GUEST uint64_t pattern(uint64_t page, uint64_t round)
{
	return 0x5052495600000000ULL | (round << 20) | (page + 1);
}

/* Both ends of every 4K page, so partial zapping cannot hide. */
static PM_GUEST void guest_write_all(uint64_t round)
{
	for (uint64_t pg = 0; pg < GMEM_SIZE / PAGE; pg++) {
		uint8_t *p = (uint8_t *)(GMEM_GPA + pg * PAGE);

		pm_guest_write64(p, pattern(pg, round));
		pm_guest_write64(p + PAGE - 8, pattern(pg, round));
	}
}

static PM_GUEST void guest_check_all(uint64_t round, bool after_punch)
{
	for (uint64_t pg = 0; pg < GMEM_SIZE / PAGE; pg++) {
		uint8_t *p = (uint8_t *)(GMEM_GPA + pg * PAGE);
		uint64_t want = after_punch && punched(pg) ? 0 : pattern(pg, round);

		GUEST_ASSERT_EQ(pm_guest_read64(p), want);
		GUEST_ASSERT_EQ(pm_guest_read64(p + PAGE - 8), want);
	}
}

static PM_GUEST void guest_punch_observer(uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a0, (void)a1, (void)a2;
	guest_write_all(1);
	guest_check_all(1, false);
	GUEST_SYNC(1);			/* host verifies, then punches */
	guest_check_all(1, true);
	guest_write_all(2);		/* holes refault as fresh memory */
	GUEST_SYNC(2);			/* host sees round-2 data everywhere */
}

/* The host writes, the guest reads it through its own mapping and answers. */
static PM_GUEST void guest_reader(uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a0, (void)a1, (void)a2;
	guest_check_all(7, false);
	guest_write_all(8);
	GUEST_SYNC(1);
}

PM_GMEM_GUEST_FIXTURE(guest, GMEM_SIZE, SLOT, GMEM_GPA);

static uint64_t host_word(uint64_t *host, uint64_t page, bool last)
{
	return host[(page * PAGE + (last ? PAGE - 8 : 0)) / 8];
}

TEST_F(guest, guest_sees_host_data_and_back)
{
	struct pm_vcpu *vcpu;

	for (uint64_t pg = 0; pg < GMEM_SIZE / PAGE; pg++) {
		self->host[pg * PAGE / 8] = pattern(pg, 7);
		self->host[(pg * PAGE + PAGE - 8) / 8] = pattern(pg, 7);
	}
	vcpu = pm_vcpu_add(self->vm, guest_reader, 0, 0, 0);
	ASSERT_NE(NULL, vcpu);
	ASSERT_GUEST_SYNC(vcpu, 1);
	for (uint64_t pg = 0; pg < GMEM_SIZE / PAGE; pg++) {
		ASSERT_EQ(pattern(pg, 8), host_word(self->host, pg, false));
		ASSERT_EQ(pattern(pg, 8), host_word(self->host, pg, true));
	}
}

TEST_F(guest, punch_hole_seen_by_guest)
{
	struct pm_vcpu *vcpu = pm_vcpu_add(self->vm, guest_punch_observer, 0, 0, 0);

	ASSERT_NE(NULL, vcpu);
	ASSERT_GUEST_SYNC(vcpu, 1);
	for (uint64_t pg = 0; pg < GMEM_SIZE / PAGE; pg++)
		ASSERT_EQ(pattern(pg, 1), host_word(self->host, pg, false));

	for (uint64_t pg = 0; pg < GMEM_SIZE / PAGE; pg++)
		if (punched(pg))
			ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE,
					       pg * PAGE, PAGE));
	/* The host view zeroes too, before the guest looks. */
	for (uint64_t pg = 0; pg < GMEM_SIZE / PAGE; pg++)
		ASSERT_EQ(punched(pg) ? 0 : pattern(pg, 1), host_word(self->host, pg, true));

	ASSERT_GUEST_SYNC(vcpu, 2);
	for (uint64_t pg = 0; pg < GMEM_SIZE / PAGE; pg++) {
		ASSERT_EQ(pattern(pg, 2), host_word(self->host, pg, false));
		ASSERT_EQ(pattern(pg, 2), host_word(self->host, pg, true));
	}
	ASSERT_GUEST_DONE(vcpu);
}

/* Punching the whole file at once: the guest's every page reads zero. */
static PM_GUEST void guest_whole_punch(uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a0, (void)a1, (void)a2;
	guest_write_all(3);
	GUEST_SYNC(1);
	for (uint64_t pg = 0; pg < GMEM_SIZE / PAGE; pg++) {
		GUEST_ASSERT_EQ(pm_guest_read64((void *)(GMEM_GPA + pg * PAGE)), 0);
		GUEST_ASSERT_EQ(pm_guest_read64((void *)(GMEM_GPA + pg * PAGE + PAGE - 8)), 0);
	}
}

TEST_F(guest, punch_whole_file_seen_by_guest)
{
	struct pm_vcpu *vcpu = pm_vcpu_add(self->vm, guest_whole_punch, 0, 0, 0);

	ASSERT_NE(NULL, vcpu);
	ASSERT_GUEST_SYNC(vcpu, 1);
	ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, GMEM_SIZE));
	ASSERT_GUEST_DONE(vcpu);
}

static PM_GUEST void guest_read_one(uint64_t gpa, uint64_t a1, uint64_t a2)
{
	(void)a1, (void)a2;
	GUEST_SYNC_VALS(1, pm_guest_read64((void *)gpa), 0, 0);
	pm_guest_write64((void *)gpa, 0x600d);
}

/*
 * An MMAP guest_memfd makes the memslot gmem-only: the guest's memory *is*
 * the guest_memfd, whatever userspace_addr says. Upstream's 6.18
 * test_guest_memfd_guest binds with userspace_addr NULL and expects the guest
 * to see what the host wrote through the gmem mapping, and the host to see the
 * guest's write. The other rows here bind userspace_addr to the gmem mapping
 * itself, so they cannot tell the two paths apart; this one can.
 */
TEST_F(guest, gmem_only_slot_serves_guest_memfd)
{
	const uint64_t gpa = GMEM_GPA + (1ULL << 30);
	struct pm_vcpu *vcpu;
	struct pm_exit e;
	uint64_t *host;
	bool ok;
	int fd;

	fd = pm_platform_private_mem(self->p, self->vm, PM_PAGE_2M, variant->need.gmem_flags);
	ASSERT_LE(0, fd);
	host = mmap(NULL, PM_PAGE_2M, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, host);
	host[0] = 0xfeedface;
	ASSERT_EQ(0, pm_set_region2(self->vm, SLOT + 1, KVM_MEM_GUEST_MEMFD, gpa, PM_PAGE_2M,
				    NULL, fd, 0));
	ASSERT_EQ(0, pm_vm_map(self->vm, gpa, PM_PAGE_2M, variant->guest_page));
	vcpu = pm_vcpu_add(self->vm, guest_read_one, gpa, 0, 0);
	ASSERT_NE(NULL, vcpu);
	pm_vcpu_run(vcpu, &e);
	ok = e.result == PM_RUN_SYNC && e.rep.vals[1] == 0xfeedface;
	if (ok) {
		pm_vcpu_run(vcpu, &e);
		ok = e.result == PM_RUN_DONE && host[0] == 0x600d;
	}
	PM_VERDICT(ok, "gmem-only slot: %s, guest read 0x%llx, host sees 0x%llx",
		   e.msg, (unsigned long long)e.rep.vals[1], (unsigned long long)host[0]);
	munmap(host, PM_PAGE_2M);
	close(fd);
}

TEST_HARNESS_MAIN
