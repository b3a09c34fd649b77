// SPDX-License-Identifier: GPL-2.0
/*
 * Conversions on a VM with private memory whose guest_memfd was created with
 * GUEST_MEMFD_FLAG_MMAP but without GUEST_MEMFD_FLAG_INIT_SHARED: what Linux 6.18+
 * offers sw-protected (and SNP/TDX) VMs, whose KVM_CAP_GUEST_MEMFD_FLAGS has MMAP
 * only (cap_gmem.init_shared_iff_no_private_attribute says why).
 *
 * Two facts from the source, both independent of the VM's memory attributes:
 *
 *  - The host side. virt/kvm/guest_memfd.c kvm_gmem_fault_user_mapping() refuses
 *    every host fault with VM_FAULT_SIGBUS unless kvm_gmem_is_shared_mem(), which
 *    (7.3) is the file's INIT_SHARED bit and nothing else: guest_memfd keeps no
 *    per-page shared state, and KVM_SET_MEMORY_ATTRIBUTES (api.rst 4.141) changes
 *    the VM's gfn attributes only (kvm_main.c kvm_vm_set_mem_attributes: an xarray
 *    of the VM, plus a zap of the VM's mappings). The fault is reported as
 *    arch/x86/mm/fault.c do_sigbus(): SIGBUS, BUS_ADRERR, si_addr = the address.
 *    mmap() itself succeeds (kvm_gmem_mmap checks MMAP and MAP_SHARED only), and
 *    conversions while the file is mapped succeed.
 *
 *  - The guest side. kvm_gmem_bind() marks a slot bound to a MMAP guest_memfd
 *    KVM_MEMSLOT_GMEM_ONLY, and arch/x86/kvm/mmu/mmu.c __kvm_mmu_faultin_pfn()
 *    serves every fault on such a slot from guest_memfd, "regardless of whether
 *    it is a shared or a private fault" (api.rst 4.142). A conversion zaps the
 *    guest's mappings and nothing else, so shared and private gfns show one and
 *    the same memory: data survives conversions both ways, the slot's
 *    userspace_addr is never read or written, and no access exits. PUNCH_HOLE
 *    frees the pages whatever the gfn's attribute (kvm_gmem_punch_hole
 *    invalidates with KVM_FILTER_PRIVATE for a non-INIT_SHARED file, which on x86
 *    selects only TDX's mirror roots: tdp_mmu.h kvm_gfn_range_filter_to_root_types).
 *
 * In-place conversion (shared/private tracked per page in the guest_memfd inode, queued
 * upstream for 7.4: KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd fd, behind the read-only
 * module parameter kvm.gmem_in_place_conversion) changes both facts: shared pages become
 * host-faultable. With that parameter on, these rows SKIP saying so (PM_SKIP_IF_GMEM_IN_PLACE);
 * without PRIVATE in the VM's KVM_CAP_MEMORY_ATTRIBUTES they SKIP too
 * (CONV_REQUIRE_PRIVATE_ATTR).
 */
#include <fcntl.h>
#include <linux/falloc.h>

#include "convert.h"

#define GMEM_SIZE	PM_PAGE_2M
#define PAGES		(GMEM_SIZE / CONV_PAGE)
#define GPA		PM_TEST_GPA

static const struct conv_slot slots[] = { { GPA, 0, GMEM_SIZE } };

FIXTURE(conv_gmem_only) {
	struct conv c;
	uint8_t *map;		/* MAP_SHARED mapping of the whole guest_memfd */
};

FIXTURE_VARIANT(conv_gmem_only) { CONV_VARIANT_FIELDS; };

/* MMAP without INIT_SHARED: the file's memory is private to the host. */
FIXTURE_VARIANT_ADD(conv_gmem_only, swprot_vm_4k) {
	.need = { "sw-protected", GUEST_MEMFD_FLAG_MMAP }, .guest_page = PM_PAGE_4K, .vcpus = 1 };
FIXTURE_VARIANT_ADD(conv_gmem_only, swprot_vm_2m) {
	.need = { "sw-protected", GUEST_MEMFD_FLAG_MMAP }, .guest_page = PM_PAGE_2M, .vcpus = 1 };
PM_CVM_VARIANTS(conv_gmem_only, , GUEST_MEMFD_FLAG_MMAP, .guest_page = PM_PAGE_4K, .vcpus = 1);

FIXTURE_SETUP(conv_gmem_only)
{
	memset(&self->c, 0, sizeof(self->c));
	self->c.fd = -1;
	self->map = MAP_FAILED;
	PM_SKIP_IF_GMEM_IN_PLACE("these rows check the VM's attributes");
	CONV_REQUIRE_PRIVATE_ATTR(&variant->need);
	PM_SETUP_VM(&variant->need, self->c.p, self->c.vm);
	self->c.gmem_flags = variant->need.gmem_flags;
	conv_setup(_metadata, &self->c, GMEM_SIZE, slots, 1, variant->guest_page,
		   conv_nr_vcpus(variant->vcpus));
	self->map = mmap(NULL, GMEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, self->c.fd, 0);
	if (self->map == MAP_FAILED)
		TH_LOG("mmap of a MMAP guest_memfd: %s", strerrorname_np(errno));
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(conv_gmem_only)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, GMEM_SIZE);
	conv_teardown(&self->c);
}

static int punch(int fd, uint64_t first, uint64_t count)
{
	return fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, first * CONV_PAGE,
			 count * CONV_PAGE);
}

/*
 * A read near the start and a write near the end of every page of `map`: each fails
 * as the platform's host_fault says (guest_memfd: SIGBUS, BUS_ADRERR), si_addr exactly
 * the byte touched. The first few misses are logged with the page's attribute.
 */
static void expect_host_fault(struct __test_metadata *_metadata, const struct conv *c,
			      uint8_t *map, const char *state)
{
	int want_sig = c->p->host_fault.signo, want_code = c->p->host_fault.code;
	unsigned int bad = 0;

	ASSERT_NE(0, want_sig) TH_LOG("%s keeps nothing from the host", c->p->name);
	for (uint64_t pg = 0; pg < PAGES; pg++)
		for (int write = 0; write < 2; write++) {
			uint8_t *at = map + pg * CONV_PAGE + (write ? CONV_PAGE - 8 : 0x238);
			void *where = NULL;
			int code = 0, sig = pm_touch_info(at, write, &code, &where);

			if (sig == want_sig && code == want_code && where == at)
				continue;
			if (bad++ < 8)
				TH_LOG("%s: host %s of page %llu (%s) at %p: signal %d si_code %d "
				       "si_addr %p, want signal %d si_code %d at the address", state,
				       write ? "write" : "read", (unsigned long long)pg,
				       c->priv[pg] ? "private" : "shared", (void *)at, sig, code,
				       where, want_sig, want_code);
		}
	if (bad)
		TH_LOG("%s: %u of %llu host accesses did not fault as expected", state, bad,
		       (unsigned long long)(2 * PAGES));
	ASSERT_EQ(0, bad);
}

/*
 * The host never gets at the memory, whatever the VM says of its gfns: every host
 * access SIGBUS before any attribute is set (shared to KVM), after the guest
 * wrote every page, with the whole range PRIVATE, with a mix, after fallocate
 * allocated every page, after all of it went back to shared, and through a
 * mapping made after the conversions. Every conversion returns 0 while the file
 * is mapped; the guest's data is intact at the end.
 */
TEST_F(conv_gmem_only, host_sigbus_in_every_attribute_state)
{
	struct conv *c = &self->c;
	uint8_t *again;

	expect_host_fault(_metadata, c, self->map, "no attribute set");
	conv_guest_write_all(_metadata, c, 0x51);
	expect_host_fault(_metadata, c, self->map, "after the guest wrote every page");
	conv_convert(_metadata, c, GPA, GMEM_SIZE, true);
	expect_host_fault(_metadata, c, self->map, "whole range PRIVATE");
	conv_convert_pages(_metadata, c, 2, 4, false);
	conv_convert_pages(_metadata, c, 300, 10, false);
	expect_host_fault(_metadata, c, self->map, "pages 2-5 and 300-309 shared, rest PRIVATE");
	ASSERT_EQ(0, fallocate(c->fd, FALLOC_FL_KEEP_SIZE, 0, GMEM_SIZE));
	expect_host_fault(_metadata, c, self->map, "after fallocate of the whole file");
	conv_convert(_metadata, c, GPA, GMEM_SIZE, false);
	expect_host_fault(_metadata, c, self->map, "whole range back to shared");

	again = mmap(NULL, GMEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	ASSERT_NE(MAP_FAILED, again);
	expect_host_fault(_metadata, c, again, "a new mapping after the conversions");
	munmap(again, GMEM_SIZE);

	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, CONV_PAT(0x51, g_, w), "after the host's faulting accesses");
}

/*
 * One memory behind shared and private gfns: a fresh file reads 0 through shared
 * gfns (not the userspace_addr data), the guest's data survives every conversion
 * both ways, a punched page reads 0 whether its gfn is shared or private, and the
 * slot's userspace_addr keeps the host's data throughout. Every step is a guest
 * sync: no access exits (ASSERT_GUEST_SYNC in conv_cmd).
 */
TEST_F(conv_gmem_only, guest_one_memory_across_conversions)
{
	struct conv *c = &self->c;

	conv_host_write_all(c, 0x60);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, 0, "fresh file, no attribute set");
	conv_guest_write_all(_metadata, c, 0x61);
	CONV_EXPECT(c, -1, CONV_PAT(0x60, g_, w), "after guest writes to shared gfns");

	conv_convert(_metadata, c, GPA, GMEM_SIZE, true);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, CONV_PAT(0x61, g_, w), "whole range converted to PRIVATE");
	conv_guest_write_all(_metadata, c, 0x62);

	conv_convert_pages(_metadata, c, 1, 1, false);
	conv_convert_pages(_metadata, c, 300, 10, false);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, CONV_PAT(0x62, g_, w), "pages 1 and 300-309 back to shared");
	conv_guest_write_all(_metadata, c, 0x63);

	/* Page 300 is shared, page 5 private: both freed. */
	ASSERT_EQ(0, punch(c->fd, 300, 1));
	ASSERT_EQ(0, punch(c->fd, 5, 1));
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, g_ == 300 || g_ == 5 ? 0 : CONV_PAT(0x63, g_, w),
		    "after punching a shared and a private page");

	conv_convert(_metadata, c, GPA, GMEM_SIZE, false);
	conv_guest_read_all(_metadata, c, 0);
	CONV_EXPECT(c, 0, g_ == 300 || g_ == 5 ? 0 : CONV_PAT(0x63, g_, w),
		    "whole range back to shared");
	CONV_EXPECT(c, -1, CONV_PAT(0x60, g_, w), "at the end");
}

TEST_HARNESS_MAIN
