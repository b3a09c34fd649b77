/* SPDX-License-Identifier: GPL-2.0 */
/*
 * privmem VM library (host side): one VM, its memslots, guest_memfd, vCPUs
 * running C guest code on identity page tables (x86_64 long mode, arm64 EL1),
 * and the guest->host report channel. Generic code is lib/vm.c; what differs per
 * architecture is lib/<arch>/ (lib/arch.h).
 *
 * Guest physical layout (GPA == GVA everywhere):
 *   [image start, image end)  copy of this binary's loaded image (code, rodata, data)
 *   PM_SYS_GPA                page tables, the arch's tables, per-vCPU report page + stack
 *   >= PM_TEST_GPA            memory the test adds (gmem or anonymous slots)
 *
 * Conventions: functions return 0 (or an fd) on success and -1 with errno set
 * on failure, like the syscalls they wrap, so tests can assert exact errnos.
 */
#ifndef PRIVMEM_VM_H
#define PRIVMEM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compat.h"
#include "guest.h"

#define PM_PAGE_4K	0x1000ULL
#define PM_PAGE_2M	0x200000ULL

#define PM_SLOT_IMAGE	0
#define PM_SLOT_SYS	1
#define PM_SLOT_FIRST_FREE 2

#define PM_SYS_GPA	0x40000000ULL		/* 1 GiB */
#define PM_SYS_SIZE	(64ULL << 20)		/* page-table pool + vCPU areas, lazily backed */
#define PM_TEST_GPA	0x100000000ULL		/* 4 GiB: first GPA free for tests */

#define PM_MAX_SLOTS	64
#define PM_MAX_VCPUS	64

#define PM_RUN_TIMEOUT_MS_DEFAULT 10000

struct pm_slot {
	bool used;
	uint32_t id;
	uint32_t flags;
	uint64_t gpa, size;
	void *hva;
	bool owns_hva;		/* anonymous memory allocated by the library */
	int gmem_fd;		/* -1 for plain slots */
	uint64_t gmem_offset;
};

struct pm_vcpu;

struct pm_vm {
	int kvm_fd;
	int fd;
	unsigned long type;
	uint8_t *sys;		/* host view of the system slot */
	uint64_t pt_next;	/* next free page-table page (offset in sys) */
	struct pm_slot slots[PM_MAX_SLOTS];
	struct pm_vcpu *vcpus[PM_MAX_VCPUS];
	int nr_vcpus;
	int run_size;
	unsigned int timeout_ms;	/* per pm_vcpu_run() call */
};

struct pm_vcpu {
	struct pm_vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	uint64_t area_gpa;	/* report page; the stack sits above it */
};

/* Why pm_vcpu_run() returned. */
enum pm_run_result {
	PM_RUN_SYNC = 1,	/* GUEST_SYNC: exit.rep.vals[0] is the stage */
	PM_RUN_DONE,		/* guest finished */
	PM_RUN_ASSERT,		/* guest assertion failed (exit.msg has file:line) */
	PM_RUN_EXCEPTION,	/* guest took a CPU exception */
	PM_RUN_EXIT,		/* an exit the library does not handle (exit.exit_reason) */
	PM_RUN_ERROR,		/* KVM_RUN failed (exit.err; exit.exit_reason may be valid) */
	PM_RUN_TIMEOUT,		/* vm->timeout_ms elapsed without a report */
};

struct pm_exit {
	enum pm_run_result result;
	int err;
	uint32_t exit_reason;
	struct pm_report rep;
	char msg[320];
};

/* VM */
struct pm_vm *pm_vm_create(unsigned long type);
/*
 * The same, with the VM's own guest mappings (the image copy: code, globals; the
 * system area: page tables, report pages, stacks) in pages of map_page:
 * PM_PAGE_2M as pm_vm_create, or PM_PAGE_4K as the KVM selftest library maps
 * them (for comparisons with its tests). Their depth is felt where a backend
 * walks the guest's tables for every instruction (kvm_pvm). Else EINVAL.
 */
struct pm_vm *pm_vm_create_mapped(unsigned long type, uint64_t map_page);
void pm_vm_free(struct pm_vm *vm);
int pm_kvm_open(void);

/* Raw ioctls, for conformance rows that check exact errnos. */
int pm_gmem_create(struct pm_vm *vm, uint64_t size, uint64_t flags);
int pm_set_region(struct pm_vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		  uint64_t size, void *hva);
int pm_set_region2(struct pm_vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		   uint64_t size, void *hva, int gmem_fd, uint64_t gmem_offset);
int pm_check_cap(int fd, long cap);

/*
 * Add a memslot and map it into the guest at page_size (PM_PAGE_4K/2M).
 * gmem_fd < 0: a plain slot backed by hva (or fresh anonymous memory if hva is NULL).
 * gmem_fd >= 0: a guest_memfd slot (REGION2); hva is the shared-memory address
 * KVM requires for it (fresh anonymous memory if NULL).
 */
int pm_vm_add_memory(struct pm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		     void *hva, int gmem_fd, uint64_t gmem_offset, uint64_t page_size);
int pm_vm_delete_slot(struct pm_vm *vm, uint32_t slot);
int pm_vm_map(struct pm_vm *vm, uint64_t gpa, uint64_t size, uint64_t page_size);
void *pm_gpa_to_hva(struct pm_vm *vm, uint64_t gpa, uint64_t len);

/*
 * vCPU running fn(a0, a1, a2) (x86_64 long mode, arm64 EL1); returns NULL with errno set (EFAULT:
 * fn is not declared PM_GUEST, see lib/guest.h).
 */
struct pm_vcpu *pm_vcpu_add(struct pm_vm *vm, void (*fn)(uint64_t, uint64_t, uint64_t),
			    uint64_t a0, uint64_t a1, uint64_t a2);
enum pm_run_result pm_vcpu_run(struct pm_vcpu *vcpu, struct pm_exit *exit);
/* Whether the vCPU's last exit is its guest's report (for raw KVM_RUN loops). */
bool pm_vcpu_is_report(const struct pm_vcpu *vcpu);
const char *pm_exit_reason_name(uint32_t reason);

#endif
