// SPDX-License-Identifier: GPL-2.0
/*
 * Lifetimes around a binding. kvm_gmem_bind() takes no reference on the file:
 * "The file pins KVM, not the other way 'round. Active bindings are invalidated
 * if the file is closed before memslots are destroyed" (guest_memfd.c, 6.12 and
 * 6.18). So:
 *  - closing the gmem fd changes nothing while another reference (a host
 *    mapping) keeps the file open;
 *  - when the last reference goes, kvm_gmem_release() clears the slot's file
 *    and zaps its mappings; a guest access to a gmem-only slot then fails in
 *    kvm_gmem_get_pfn() (no file: -EFAULT), which x86's
 *    kvm_mmu_faultin_pfn_gmem() turns into KVM_RUN -EFAULT with a
 *    KVM_EXIT_MEMORY_FAULT exit; deleting the slot still works
 *    (kvm_gmem_unbind(): "Nothing to do if the underlying file was _already_
 *    closed");
 *  - the other way round, a guest_memfd holds its VM (__kvm_gmem_create():
 *    kvm_get_kvm()), so closing every fd of the VM leaves the gmem fully
 *    usable, still bound to that VM and to no other (api.rst 4.142: the file
 *    "is bound to a struct kvm"). private_mem_conversions_test.c does
 *    fallocate after closing the VM.
 */
#include <fcntl.h>
#include <linux/falloc.h>

#include "memslot.h"

#define GMEM_PAGES 16
#define PAGE 4096ULL	/* x86 */

MS_FIXTURE(memslot_close, GMEM_PAGES, PM_GMEM_FLAG_VARIANTS);

static PM_GUEST void guest_read_twice(uint64_t gpa, uint64_t a1, uint64_t a2)
{
	(void)a1, (void)a2;
	GUEST_SYNC_VALS(1, pm_guest_read64((void *)gpa), pm_guest_read64((void *)(gpa + 8)), 0);
	pm_guest_write64((void *)(gpa + 16), 0x6775657374ULL);
	GUEST_SYNC_VALS(2, pm_guest_read64((void *)gpa), 0, 0);
}

/* Map the gmem, bind it with userspace_addr = that mapping (as a VMM would), map 4K. */
static uint64_t *map_and_bind(struct __test_metadata *_metadata,
			      FIXTURE_DATA(memslot_close) *self)
{
	uint64_t *host = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->gmem, 0);

	if (host == MAP_FAILED)
		TH_LOG("mmap of the guest_memfd: %s", strerror(errno));
	if (host == MAP_FAILED ||
	    pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA, self->size, host,
			   self->gmem, 0) ||
	    pm_vm_map(self->vm, MS_GPA, self->size, PM_PAGE_4K))
		return NULL;
	return host;
}

/*
 * Close the only fd while a host mapping holds the file: the binding stays,
 * the guest reads what the host wrote before and after the close, and the
 * host sees the guest's write.
 */
TEST_F(memslot_close, mapping_keeps_binding_after_close)
{
	struct pm_vcpu *vcpu;
	struct pm_exit e;
	uint64_t *host;

	PM_REQUIRE_FLAGS(self->flags, PM_MMAP_SHARED);
	host = map_and_bind(_metadata, self);
	ASSERT_NE(NULL, host);
	host[0] = 0xbef0e;
	ASSERT_EQ(0, close(self->gmem));
	self->gmem = -1;
	host[1] = 0xaf7e2;
	vcpu = pm_vcpu_add(self->vm, guest_read_twice, MS_GPA, 0, 0);
	ASSERT_NE(NULL, vcpu);
	pm_vcpu_run(vcpu, &e);
	if (e.result != PM_RUN_SYNC)
		TH_LOG("guest on a slot whose gmem fd was closed: %s", e.msg);
	ASSERT_EQ(PM_RUN_SYNC, e.result);
	ASSERT_EQ(0xbef0e, e.rep.vals[1]);
	ASSERT_EQ(0xaf7e2, e.rep.vals[2]);
	ASSERT_GUEST_SYNC(vcpu, 2);
	ASSERT_EQ(0x6775657374ULL, host[2]);
	munmap(host, self->size);
}

/*
 * Close the only reference: the slot can still be deleted (the stale fd
 * number in the request does not matter, deletion looks at the slot id only),
 * the number now names nothing (EBADF), and a new guest_memfd binds the same
 * slot id, GPA and offset.
 */
TEST_F(memslot_close, closed_gmem_slot_deletes_and_rebinds)
{
	int stale = self->gmem;

	ASSERT_EQ(0, ms_bind(self, MS_SLOT, MS_GPA, self->size, 0));
	ASSERT_EQ(0, close(self->gmem));
	self->gmem = -1;
	ASSERT_ERRNO(EBADF, pm_set_region2(self->vm, MS_SLOT + 1, KVM_MEM_GUEST_MEMFD,
					   MS_GPA + (1ULL << 30), self->size, self->hva, stale, 0));
	ASSERT_EQ(0, pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA, 0, self->hva,
				    stale, 0));
	self->gmem = pm_platform_private_mem(self->p, self->vm, self->size, self->flags);
	ASSERT_LE(0, self->gmem);
	ASSERT_EQ(0, ms_bind(self, MS_SLOT, MS_GPA, self->size, 0));
}

/*
 * Drop the last reference (close the fd, unmap the mapping) while the guest
 * has the memory mapped: the next guest access must not be served, and
 * upstream reports it as KVM_RUN -1/EFAULT with a KVM_EXIT_MEMORY_FAULT exit
 * for that page (flags 0: a shared access). Needs a gmem-only slot
 * (MMAP|INIT_SHARED), where every access goes through guest_memfd.
 */
TEST_F(memslot_close, released_gmem_guest_access_efault)
{
	const uint64_t gpa = MS_GPA + 3 * PAGE;
	struct pm_vcpu *vcpu;
	struct pm_exit e;
	struct kvm_run *run;
	uint64_t *host;
	bool upstream;

	PM_REQUIRE_FLAGS(self->flags, PM_MMAP_SHARED);
	host = map_and_bind(_metadata, self);
	ASSERT_NE(NULL, host);
	host[3 * PAGE / 8] = 0x5ec2e7;
	vcpu = pm_vcpu_add(self->vm, guest_read_twice, gpa, 0, 0);
	ASSERT_NE(NULL, vcpu);
	pm_vcpu_run(vcpu, &e);
	ASSERT_EQ(PM_RUN_SYNC, e.result);
	ASSERT_EQ(0x5ec2e7, e.rep.vals[1]);

	ASSERT_EQ(0, close(self->gmem));
	self->gmem = -1;
	ASSERT_EQ(0, munmap(host, self->size));
	pm_vcpu_run(vcpu, &e);
	/* Whatever else a backend does, the released memory must not be readable. */
	if (e.result == PM_RUN_SYNC)
		TH_LOG("guest still read 0x%llx from a released guest_memfd",
		       (unsigned long long)e.rep.vals[1]);
	ASSERT_NE(PM_RUN_SYNC, e.result);
	run = vcpu->run;
	upstream = e.result == PM_RUN_ERROR && e.err == EFAULT &&
		   e.exit_reason == KVM_EXIT_MEMORY_FAULT && run->memory_fault.gpa == gpa &&
		   run->memory_fault.size == PAGE && run->memory_fault.flags == 0;
	PM_VERDICT(upstream,
		   "access to a released guest_memfd: %s (errno %s, exit %s)", e.msg,
		   e.err ? strerrorname_np(e.err) : "0", pm_exit_reason_name(e.exit_reason));
	ASSERT_EQ(0, ms_delete(self, MS_SLOT));
}

/* ---- the VM's fds closed while its guest_memfd stays open ---------------------------- */

MS_FIXTURE(memslot_vmfree, GMEM_PAGES, PM_GMEM_FLAG_VARIANTS);

/* A second VM of the variant's platform with a bound gmem; every fd of the VM closed. */
static int orphan_gmem(struct __test_metadata *_metadata, FIXTURE_DATA(memslot_vmfree) *self,
		       uint64_t pattern)
{
	struct pm_vm *old = pm_platform_vm(self->p);
	uint64_t *host;
	int fd;

	if (!old)
		return -1;
	fd = pm_platform_private_mem(self->p, old, self->size, self->flags);
	if (fd >= 0 && pm_set_region2(old, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA, self->size,
				      self->hva, fd, 0)) {
		TH_LOG("binding in the first VM: %s", strerror(errno));
		close(fd);
		fd = -1;
	}
	if (fd >= 0 && (self->flags & PM_MMAP_SHARED) == PM_MMAP_SHARED) {
		host = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (host != MAP_FAILED) {
			for (uint64_t pg = 0; pg < GMEM_PAGES; pg++)
				host[pg * PAGE / 8] = pattern + pg;
			munmap(host, self->size);
		}
	}
	pm_vm_free(old);
	return fd;
}

/*
 * fallocate keeps working on the orphaned gmem: allocate the whole file, punch
 * page 0. With MMAP|INIT_SHARED, the data written before is still there after
 * and only the punched page reads zero.
 */
TEST_F(memslot_vmfree, gmem_outlives_vm_fallocate)
{
	int fd = orphan_gmem(_metadata, self, 0x766d000);
	uint64_t *host;

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, self->size));
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, self->page));
	if ((self->flags & PM_MMAP_SHARED) == PM_MMAP_SHARED) {
		host = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, host);
		ASSERT_EQ(0, host[0]);
		for (uint64_t pg = 1; pg < GMEM_PAGES; pg++)
			ASSERT_EQ(0x766d000 + pg, host[pg * PAGE / 8]);
		munmap(host, self->size);
	}
	close(fd);
}

/* The orphaned gmem still belongs to its closed VM: another VM cannot bind it. */
TEST_F(memslot_vmfree, dead_vm_gmem_bind_einval)
{
	int fd = orphan_gmem(_metadata, self, 0);

	ASSERT_LE(0, fd);
	ASSERT_ERRNO(EINVAL, pm_set_region2(self->vm, MS_SLOT, KVM_MEM_GUEST_MEMFD, MS_GPA,
					    self->size, self->hva, fd, 0));
	close(fd);
	ASSERT_EQ(0, ms_bind(self, MS_SLOT, MS_GPA, self->size, 0));
}

TEST_HARNESS_MAIN
