// SPDX-License-Identifier: GPL-2.0
/*
 * arm64 guest runtime: TPIDR_EL1 holds the report page's address, the report
 * exit is one store to PM_REPORT_MMIO, and the vector table reports the slot,
 * ESR_EL1, ELR_EL1 and FAR_EL1. Runs inside the VM only (lib/guest.h).
 */
#include "guest.h"

PM_GUEST struct pm_report *pm_guest_report_page(void)
{
	struct pm_report *r;

	asm volatile("mrs %0, tpidr_el1" : "=r"(r));
	return r;
}

PM_GUEST void pm_guest_report_exit(uint32_t kind)
{
	/* A plain 32-bit store: the syndrome is valid (ISV), so KVM decodes it as MMIO. */
	asm volatile("dsb sy\n\tstr %w0, [%1]" : : "r"(kind), "r"(PM_REPORT_MMIO) : "memory");
}

PM_GUEST void pm_guest_halt(void)
{
	for (;;)
		asm volatile("wfi");
}

PM_GUEST uint64_t pm_guest_smccc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 asm("x0") = fn;
	register uint64_t x1 asm("x1") = a1;
	register uint64_t x2 asm("x2") = a2;
	register uint64_t x3 asm("x3") = a3;

	asm volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	return x0;
}

/*
 * The host starts every vCPU here (lib/arm64/vm.c). On a protected VM the report
 * page is shared first: the guest owns every page it touches, and the host could
 * not read a report written to a page it does not own.
 */
PM_GUEST void pm_arm64_guest_start(void (*fn)(uint64_t, uint64_t, uint64_t), uint64_t a0,
				   uint64_t a1, uint64_t a2, uint64_t share,
				   void (*entry)(void (*)(uint64_t, uint64_t, uint64_t),
						 uint64_t, uint64_t, uint64_t))
{
	volatile struct pm_report *r = pm_guest_report_page();

	if (share) {
		r->kind = PM_REP_NONE;		/* fault the page in: share wants a page the guest owns */
		if (pm_guest_smccc(PM_SMCCC_MEM_SHARE, (uint64_t)r, 0, 0) != PM_SMCCC_SUCCESS)
			pm_guest_halt();	/* no channel: the host's run times out */
	}
	entry(fn, a0, a1, a2);
}

PM_GUEST void pm_guest_exception(uint64_t slot, uint64_t esr, uint64_t elr, uint64_t far)
{
	volatile struct pm_report *r = pm_guest_report_page();

	r->kind = PM_REP_EXCEPTION;
	r->nvals = 4;
	r->vals[0] = slot;
	r->vals[1] = esr;
	r->vals[2] = elr;
	r->vals[3] = far;
	pm_guest_report_exit(PM_REP_EXCEPTION);
	pm_guest_halt();
}

/*
 * VBAR_EL1: 16 slots of 0x80 bytes (current EL with SP0, with SPx, lower EL
 * AArch64, lower EL AArch32; each sync, IRQ, FIQ, SError). Each passes its slot.
 */
#define VEC(n) ".balign 0x80\n mov x0, #" #n "\n b pm_guest_exc_common\n"
asm(".pushsection pm_guest_text, \"ax\", %progbits\n"
    ".balign 0x800\n"
    ".globl pm_guest_vectors\n"
    "pm_guest_vectors:\n"
    VEC(0) VEC(1) VEC(2) VEC(3) VEC(4) VEC(5) VEC(6) VEC(7)
    VEC(8) VEC(9) VEC(10) VEC(11) VEC(12) VEC(13) VEC(14) VEC(15)
    "pm_guest_exc_common:\n"
    " mrs x1, esr_el1\n"
    " mrs x2, elr_el1\n"
    " mrs x3, far_el1\n"
    " b pm_guest_exception\n"
    ".popsection\n");
