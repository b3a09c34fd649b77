// SPDX-License-Identifier: GPL-2.0
/*
 * privmem VM library, host side, generic part: VMs, memslots, the binary image,
 * vCPUs and their run loop. What differs per architecture (page tables, vCPU
 * registers, the report exit) is in lib/<arch>/vm.c behind lib/arch.h. See vm.h
 * for the guest memory layout.
 */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"

void pm_guest_entry(void (*fn)(uint64_t, uint64_t, uint64_t), uint64_t, uint64_t, uint64_t);
/* Guest code (PM_GUEST, lib/guest.h): the linker defines the section's bounds. */
extern const char __start_pm_guest_text[], __stop_pm_guest_text[];

int pm_kvm_open(void)
{
	return open("/dev/kvm", O_RDWR | O_CLOEXEC);
}

int pm_check_cap(int fd, long cap)
{
	return ioctl(fd, KVM_CHECK_EXTENSION, cap);
}

int pm_gmem_create(struct pm_vm *vm, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd g = { .size = size, .flags = flags };

	return ioctl(vm->fd, KVM_CREATE_GUEST_MEMFD, &g);
}

int pm_set_region(struct pm_vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		  uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uint64_t)hva,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

int pm_set_region2(struct pm_vm *vm, uint32_t slot, uint32_t flags, uint64_t gpa,
		   uint64_t size, void *hva, int gmem_fd, uint64_t gmem_offset)
{
	struct kvm_userspace_memory_region2 r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uint64_t)hva,
		.guest_memfd_offset = gmem_offset, .guest_memfd = (uint32_t)gmem_fd,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION2, &r);
}

/* ---- the system slot and guest page tables ----------------------------------------- */

void *pm_sys_ptr(struct pm_vm *vm, uint64_t gpa)
{
	return vm->sys + (gpa - PM_SYS_GPA);
}

int pm_sys_page_alloc(struct pm_vm *vm, uint64_t *gpa)
{
	if (vm->pt_next + PM_PAGE_4K > PM_SYS_VCPU_BASE) {
		errno = ENOMEM;
		return -1;
	}
	*gpa = PM_SYS_GPA + vm->pt_next;
	vm->pt_next += PM_PAGE_4K;
	return 0;
}

int pm_vm_map(struct pm_vm *vm, uint64_t gpa, uint64_t size, uint64_t page_size)
{
	if ((page_size != PM_PAGE_4K && page_size != PM_PAGE_2M) ||
	    gpa % page_size || size % page_size || gpa + size < gpa ||
	    gpa + size > pm_arch_va_limit) {
		errno = EINVAL;
		return -1;
	}
	return pm_arch_map(vm, gpa, size, page_size);
}

/* ---- memslots -------------------------------------------------------------------- */

static void *anon_alloc(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int pm_vm_add_memory(struct pm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		     void *hva, int gmem_fd, uint64_t gmem_offset, uint64_t page_size)
{
	struct pm_slot *s;
	bool owns = false;
	int ret, saved;

	if (slot >= PM_MAX_SLOTS || vm->slots[slot].used) {
		errno = EINVAL;
		return -1;
	}
	if (!hva) {
		hva = anon_alloc(size);
		if (!hva)
			return -1;
		owns = true;
	}
	if (gmem_fd >= 0)
		ret = pm_set_region2(vm, slot, KVM_MEM_GUEST_MEMFD, gpa, size, hva, gmem_fd, gmem_offset);
	else
		ret = pm_set_region(vm, slot, 0, gpa, size, hva);
	if (!ret && page_size)
		ret = pm_vm_map(vm, gpa, size, page_size);
	if (ret) {
		saved = errno;
		if (owns)
			munmap(hva, size);
		errno = saved;
		return -1;
	}
	s = &vm->slots[slot];
	*s = (struct pm_slot){
		.used = true, .id = slot, .flags = gmem_fd >= 0 ? KVM_MEM_GUEST_MEMFD : 0,
		.gpa = gpa, .size = size, .hva = hva, .owns_hva = owns,
		.gmem_fd = gmem_fd, .gmem_offset = gmem_offset,
	};
	return 0;
}

int pm_vm_delete_slot(struct pm_vm *vm, uint32_t slot)
{
	struct pm_slot *s;
	int ret;

	if (slot >= PM_MAX_SLOTS || !vm->slots[slot].used) {
		errno = EINVAL;
		return -1;
	}
	s = &vm->slots[slot];
	ret = s->flags & KVM_MEM_GUEST_MEMFD ?
		pm_set_region2(vm, slot, s->flags, s->gpa, 0, s->hva, s->gmem_fd, s->gmem_offset) :
		pm_set_region(vm, slot, 0, s->gpa, 0, s->hva);
	if (ret)
		return -1;
	if (s->owns_hva)
		munmap(s->hva, s->size);
	s->used = false;
	return 0;
}

/*
 * Translate guest memory to the host view the library knows: the plain
 * (shared) backing of a slot. For gmem slots this is the shared hva, not the
 * gmem contents; tests that need those mmap the gmem themselves.
 */
void *pm_gpa_to_hva(struct pm_vm *vm, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < PM_MAX_SLOTS; i++) {
		struct pm_slot *s = &vm->slots[i];

		if (s->used && gpa >= s->gpa && gpa + len <= s->gpa + s->size && gpa + len >= gpa)
			return (uint8_t *)s->hva + (gpa - s->gpa);
	}
	return NULL;
}

/* ---- the binary image, copied into guest memory at its link address ---------- */

#define IMAGE_MAX_SEGS 16

struct image_span {
	uint64_t lo, hi;
	bool pie;
	/* The loaded segments: arm64 aligns them to 64 KiB, and the gaps are not mapped. */
	int nsegs;
	uint64_t seg_lo[IMAGE_MAX_SEGS], seg_hi[IMAGE_MAX_SEGS];
};

static int image_span_cb(struct dl_phdr_info *info, size_t sz, void *data)
{
	struct image_span *span = data;

	(void)sz;
	/* The first object is the executable itself. */
	span->pie = info->dlpi_addr != 0;
	span->lo = UINT64_MAX;
	span->hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (ph->p_vaddr < span->lo)
			span->lo = ph->p_vaddr;
		if (ph->p_vaddr + ph->p_memsz > span->hi)
			span->hi = ph->p_vaddr + ph->p_memsz;
		if (span->nsegs < IMAGE_MAX_SEGS) {
			span->seg_lo[span->nsegs] = ph->p_vaddr;
			span->seg_hi[span->nsegs++] = ph->p_vaddr + ph->p_memsz;
		}
	}
	return 1;
}

/*
 * Copy one page of this process's loaded image, whatever it holds. With make
 * SANITIZE=1 the image holds ASan's redzones around globals, and the checked
 * memcpy reported the copy as a global-buffer-overflow: the image is copied byte
 * for byte on purpose (the guest runs that copy), so this copy is not checked.
 * Volatile reads: the compiler does not turn the loop back into memcpy.
 */
static __attribute__((no_sanitize("address"))) void copy_image_page(uint8_t *dst, uint64_t src)
{
	const volatile uint64_t *s = (const volatile uint64_t *)src;
	uint64_t *d = (uint64_t *)dst;

	for (size_t i = 0; i < PM_PAGE_4K / sizeof(*d); i++)
		d[i] = s[i];
}

static int add_image_slot(struct pm_vm *vm, uint64_t map_page)
{
	struct image_span span = { 0 };
	uint64_t lo, hi, a;
	uint8_t *copy;

	dl_iterate_phdr(image_span_cb, &span);
	if (span.pie || span.hi <= span.lo || span.hi > PM_SYS_GPA) {
		/* Guest code runs at its link address: privmem binaries are linked -no-pie. */
		fprintf(stderr, "privmem: guest code needs a non-PIE binary below 1 GiB (link with -no-pie)\n");
		errno = ENOEXEC;
		return -1;
	}
	lo = span.lo & ~(PM_PAGE_2M - 1);
	hi = (span.hi + PM_PAGE_2M - 1) & ~(PM_PAGE_2M - 1);
	copy = anon_alloc(hi - lo);
	if (!copy)
		return -1;
	/* Copy page by page: only the loaded segments are mapped in this process. */
	for (int i = 0; i < span.nsegs; i++)
		for (a = span.seg_lo[i] & ~(PM_PAGE_4K - 1); a < span.seg_hi[i]; a += PM_PAGE_4K)
			copy_image_page(copy + (a - lo), a);
	if (pm_vm_add_memory(vm, PM_SLOT_IMAGE, lo, hi - lo, copy, -1, 0, map_page)) {
		int saved = errno;

		munmap(copy, hi - lo);
		errno = saved;
		return -1;
	}
	vm->slots[PM_SLOT_IMAGE].owns_hva = true;
	return 0;
}

/* ---- VM ---------------------------------------------------------------------------- */

struct pm_vm *pm_vm_create(unsigned long type)
{
	return pm_vm_create_mapped(type, PM_PAGE_2M);
}

struct pm_vm *pm_vm_create_mapped(unsigned long type, uint64_t map_page)
{
	struct pm_vm *vm;
	int saved;

	if (map_page != PM_PAGE_4K && map_page != PM_PAGE_2M) {
		errno = EINVAL;
		return NULL;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->fd = -1;
	vm->type = type;
	vm->timeout_ms = PM_RUN_TIMEOUT_MS_DEFAULT;
	vm->pt_next = PM_SYS_ARCH_SIZE;
	vm->kvm_fd = pm_kvm_open();
	if (vm->kvm_fd < 0)
		goto fail;
	do
		vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, type);
	while (vm->fd < 0 && errno == EINTR);
	if (vm->fd < 0)
		goto fail;
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		goto fail;
	if (pm_vm_add_memory(vm, PM_SLOT_SYS, PM_SYS_GPA, PM_SYS_SIZE, NULL, -1, 0, 0))
		goto fail;
	vm->sys = vm->slots[PM_SLOT_SYS].hva;
	if (pm_arch_vm_init(vm) || pm_vm_map(vm, PM_SYS_GPA, PM_SYS_SIZE, map_page) ||
	    add_image_slot(vm, map_page))
		goto fail;
	return vm;
fail:
	saved = errno;
	pm_vm_free(vm);
	errno = saved;
	return NULL;
}

void pm_vm_free(struct pm_vm *vm)
{
	if (!vm)
		return;
	for (int i = 0; i < vm->nr_vcpus; i++) {
		munmap(vm->vcpus[i]->run, vm->run_size);
		close(vm->vcpus[i]->fd);
		free(vm->vcpus[i]);
	}
	if (vm->fd >= 0)
		close(vm->fd);
	for (int i = 0; i < PM_MAX_SLOTS; i++)
		if (vm->slots[i].used && vm->slots[i].owns_hva)
			munmap(vm->slots[i].hva, vm->slots[i].size);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	free(vm);
}

/* ---- vCPUs --------------------------------------------------------------------------- */

struct pm_vcpu *pm_vcpu_add(struct pm_vm *vm, void (*fn)(uint64_t, uint64_t, uint64_t),
			    uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct pm_vcpu *vcpu;
	struct pm_report *rep;
	int saved;

	if (vm->nr_vcpus >= PM_MAX_VCPUS) {
		errno = ENOSPC;
		return NULL;
	}
	if ((uintptr_t)fn < (uintptr_t)__start_pm_guest_text ||
	    (uintptr_t)fn >= (uintptr_t)__stop_pm_guest_text) {
		/* Not PM_GUEST: it may be instrumented, use SSE or %fs (lib/guest.h). */
		fprintf(stderr, "privmem: guest function %p is not declared PM_GUEST (lib/guest.h)\n",
			(void *)(uintptr_t)fn);
		errno = EFAULT;
		return NULL;
	}
	vcpu = calloc(1, sizeof(*vcpu));
	if (!vcpu)
		return NULL;
	vcpu->vm = vm;
	vcpu->id = vm->nr_vcpus;
	vcpu->area_gpa = PM_SYS_GPA + PM_SYS_VCPU_BASE + (uint64_t)vcpu->id * PM_VCPU_AREA;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, vcpu->id);
	if (vcpu->fd < 0)
		goto fail;
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED)
		goto fail_fd;
	rep = pm_sys_ptr(vm, vcpu->area_gpa);
	memset(rep, 0, sizeof(*rep));
	rep->self = vcpu->area_gpa;
	if (pm_arch_vcpu_init(vcpu, (uint64_t)pm_guest_entry, (uint64_t)fn, a0, a1, a2))
		goto fail_run;
	vm->vcpus[vm->nr_vcpus++] = vcpu;
	return vcpu;
fail_run:
	saved = errno;
	munmap(vcpu->run, vm->run_size);
	errno = saved;
fail_fd:
	saved = errno;
	close(vcpu->fd);
	errno = saved;
fail:
	saved = errno;
	free(vcpu);
	errno = saved;
	return NULL;
}

bool pm_vcpu_is_report(const struct pm_vcpu *vcpu)
{
	return pm_arch_is_report(vcpu);
}

/*
 * Per-run timeout: a thread-directed timer signal sets immediate_exit, which
 * makes KVM_RUN return EINTR even if the signal lands just before the ioctl.
 */
static __thread struct kvm_run *timed_run;
static __thread volatile sig_atomic_t timed_out;

static void on_run_timeout(int sig)
{
	(void)sig;
	timed_out = 1;
	if (timed_run)
		timed_run->immediate_exit = 1;
}

static int arm_timer(timer_t *t, unsigned int ms)
{
	static int installed;
	struct sigevent sev = { 0 };
	struct itimerspec its = { 0 };

	if (!installed) {
		struct sigaction sa = { .sa_handler = on_run_timeout };

		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGRTMIN, &sa, NULL))
			return -1;
		installed = 1;
	}
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGRTMIN;
	sev._sigev_un._tid = syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, t))
		return -1;
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000L;
	return timer_settime(*t, 0, &its, NULL);
}

static enum pm_run_result on_report(struct pm_vcpu *vcpu, struct pm_exit *e)
{
	memcpy(&e->rep, pm_sys_ptr(vcpu->vm, vcpu->area_gpa), sizeof(e->rep));
	/* The guest wrote the strings; the host never trusts their termination. */
	e->rep.file[sizeof(e->rep.file) - 1] = '\0';
	e->rep.expr[sizeof(e->rep.expr) - 1] = '\0';
	switch (e->rep.kind) {
	case PM_REP_SYNC:
		snprintf(e->msg, sizeof(e->msg), "guest sync %llu", (unsigned long long)e->rep.vals[0]);
		return e->result = PM_RUN_SYNC;
	case PM_REP_DONE:
		snprintf(e->msg, sizeof(e->msg), "guest done");
		return e->result = PM_RUN_DONE;
	case PM_REP_ASSERT:
		snprintf(e->msg, sizeof(e->msg), "guest assertion failed at %.80s:%u: %.150s (0x%llx vs 0x%llx)",
			 e->rep.file, e->rep.line, e->rep.expr, (unsigned long long)e->rep.vals[0],
			 (unsigned long long)e->rep.vals[1]);
		return e->result = PM_RUN_ASSERT;
	case PM_REP_EXCEPTION:
		pm_arch_describe_exception(&e->rep, e->msg, sizeof(e->msg));
		return e->result = PM_RUN_EXCEPTION;
	}
	snprintf(e->msg, sizeof(e->msg), "guest wrote unknown report kind %u", e->rep.kind);
	return e->result = PM_RUN_EXIT;
}

enum pm_run_result pm_vcpu_run(struct pm_vcpu *vcpu, struct pm_exit *e)
{
	struct kvm_run *run = vcpu->run;
	timer_t timer;
	int ret, err;

	memset(e, 0, sizeof(*e));
	timed_run = run;
	timed_out = 0;
	run->immediate_exit = 0;
	if (arm_timer(&timer, vcpu->vm->timeout_ms)) {
		e->err = errno;
		snprintf(e->msg, sizeof(e->msg), "cannot arm the run timer: %s", strerror(errno));
		return e->result = PM_RUN_ERROR;
	}
	ret = ioctl(vcpu->fd, KVM_RUN, 0);
	err = errno;
	timer_delete(timer);
	timed_run = NULL;
	run->immediate_exit = 0;
	e->exit_reason = run->exit_reason;
	if (ret < 0 && err == EINTR && timed_out) {
		snprintf(e->msg, sizeof(e->msg), "vCPU %d: no report within %u ms", vcpu->id,
			 vcpu->vm->timeout_ms);
		return e->result = PM_RUN_TIMEOUT;
	}
	if (ret < 0) {
		e->err = err;
		snprintf(e->msg, sizeof(e->msg), "KVM_RUN failed: %s (exit reason %s)", strerror(err),
			 pm_exit_reason_name(run->exit_reason));
		return e->result = PM_RUN_ERROR;
	}
	if (pm_arch_is_report(vcpu))
		return on_report(vcpu, e);
	snprintf(e->msg, sizeof(e->msg), "unexpected exit %s", pm_exit_reason_name(run->exit_reason));
	return e->result = PM_RUN_EXIT;
}

const char *pm_exit_reason_name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN", [KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
		[KVM_EXIT_IO] = "KVM_EXIT_IO", [KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
		[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG", [KVM_EXIT_HLT] = "KVM_EXIT_HLT",
		[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO", [KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY", [KVM_EXIT_INTR] = "KVM_EXIT_INTR",
		[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
		[KVM_EXIT_MEMORY_FAULT] = "KVM_EXIT_MEMORY_FAULT",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "KVM_EXIT_<other>";
}
