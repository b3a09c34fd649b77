/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the memfault collection's tests share: the shape of a KVM memory-fault
 * exit, a narrowed known-deviation verdict, and a KVM_PRE_FAULT_MEMORY loop
 * that checks the call's progress-or-error contract on every call.
 */
#ifndef PRIVMEM_MEMFAULT_H
#define PRIVMEM_MEMFAULT_H

#include <stdio.h>
#include <sys/ioctl.h>

#include "pm_test.h"

#define MF_PAGE		4096ULL

/*
 * PM_VERDICT, narrowed: a backend's listed deviation excuses only the exact
 * behaviour it was observed to have (`known`). A result that is neither the
 * upstream one nor that known behaviour FAILs, listed or not. `listed` false: no
 * listed deviation can apply to this case (e.g. another variant), plain assert.
 */
#define MF_VERDICT(listed, ok, known, fmt, ...) do {				\
	bool __mf_listed = (listed);						\
	bool __mf_ok = (ok), __mf_known = __mf_listed && (known);		\
	if (!__mf_ok && !__mf_known) {						\
		TH_LOG("neither upstream behaviour nor a known deviation%s: " fmt, \
		       __mf_listed ? "" : " (none can apply here)", ##__VA_ARGS__); \
		ASSERT_TRUE(__mf_ok);						\
	}									\
	if (__mf_listed)							\
		PM_VERDICT(__mf_ok, fmt, ##__VA_ARGS__);			\
} while (0)

/* Everything KVM_RUN said about one exit, for logs. */
static inline const char *mf_describe(const struct pm_vcpu *v, const struct pm_exit *e,
				      char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s; errno %s, exit_reason %u (%s)", e->msg,
			 e->err ? strerrorname_np(e->err) : "0", e->exit_reason,
			 pm_exit_reason_name(e->exit_reason));

	if (e->exit_reason == KVM_EXIT_MEMORY_FAULT && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, ", memory_fault {flags 0x%llx, gpa 0x%llx, size 0x%llx}",
			 (unsigned long long)v->run->memory_fault.flags,
			 (unsigned long long)v->run->memory_fault.gpa,
			 (unsigned long long)v->run->memory_fault.size);
	return buf;
}

/*
 * Is `e` upstream's exit for a guest access to the 4K page at `gpa` that KVM
 * cannot resolve? KVM_RUN fails with -1/EFAULT (api.rst 5 KVM_EXIT_MEMORY_FAULT:
 * "accompanies a return code of -1", errno EFAULT or EHWPOISON). The
 * memory_fault fields are valid iff exit_reason is KVM_EXIT_MEMORY_FAULT (api.rst
 * 7.34); KVM fills them as kvm_prepare_memory_fault_exit() does: the faulting
 * page (gfn << PAGE_SHIFT), PAGE_SIZE, and KVM_MEMORY_EXIT_FLAG_PRIVATE iff the
 * access was private. `annotated`: the path always fills them (the gmem and
 * private-mismatch paths of arch/x86/kvm/mmu/mmu.c), so exit_reason must say so.
 */
static inline bool mf_is_fault_exit(const struct pm_vcpu *v, const struct pm_exit *e,
				    uint64_t gpa, uint64_t flags, bool annotated)
{
	const struct kvm_run *run = v->run;

	if (e->result != PM_RUN_ERROR || e->err != EFAULT)
		return false;
	if (e->exit_reason != KVM_EXIT_MEMORY_FAULT)
		return !annotated;
	return run->memory_fault.flags == flags && run->memory_fault.gpa == gpa &&
	       run->memory_fault.size == MF_PAGE;
}

/* KVM_CAP_MEMORY_FAULT_INFO on this VM: KVM annotates its memory-fault exits. */
static inline bool mf_fault_info(const struct pm_vm *vm)
{
	return pm_check_cap(vm->fd, KVM_CAP_MEMORY_FAULT_INFO) > 0;
}

/* The outcome of mf_prefault(). */
struct mf_prefault {
	int ret, err;		/* of the last call */
	uint64_t gpa, size;	/* range left */
	int calls;
	bool mixed;		/* some call both progressed and failed, or did neither */
};

/*
 * KVM_PRE_FAULT_MEMORY until done, as upstream pre_fault_memory_test.c does:
 * repeat while a call makes progress and range is left, or fails with EINTR
 * (signal pending) or EAGAIN (memslot update in flight). Each call must either
 * shrink range.size and return 0, or fail with the range unchanged (api.rst 4.143:
 * "returns 0 if at least one page was processed"; kvm_main.c
 * kvm_vcpu_pre_fault_memory). Bounded: a kernel that loops forever is a failure.
 */
static inline void mf_prefault(int vcpu_fd, uint64_t gpa, uint64_t size, uint64_t flags,
			       uint64_t pad0, struct mf_prefault *r)
{
	struct kvm_pre_fault_memory range = {
		.gpa = gpa, .size = size, .flags = flags, .padding = { pad0 },
	};

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 1000; i++) {
		uint64_t prev = range.size;
		int ret = ioctl(vcpu_fd, KVM_PRE_FAULT_MEMORY, &range);

		r->err = ret < 0 ? errno : 0;
		r->ret = ret;
		r->calls++;
		if ((range.size < prev) == (ret < 0))
			r->mixed = true;
		if (ret == 0 ? range.size == 0 || range.size >= prev :
			       r->err != EINTR && r->err != EAGAIN)
			break;
	}
	r->gpa = range.gpa;
	r->size = range.size;
}

/* Convert with the platform's own operation (self->p, self->vm); SKIP where it has none. */
#define CONVERT(self, gpa, size, to_private) do {				\
	int __r = pm_platform_convert((self)->p, (self)->vm, (gpa), (size), (to_private)); \
	if (__r && errno == EOPNOTSUPP)						\
		SKIP(return, "%s has no shared<->private conversion", (self)->p->name); \
	ASSERT_EQ(0, __r);							\
} while (0)

#endif
