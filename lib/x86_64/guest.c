// SPDX-License-Identifier: GPL-2.0
/*
 * x86_64 guest runtime: the report page is found through %gs:0, the report exit
 * is one OUT to PM_REPORT_PORT, and 32 exception stubs report the vector, error
 * code, rip and cr2. Runs inside the VM only (lib/guest.h).
 */
#include "guest.h"

PM_GUEST struct pm_report *pm_guest_report_page(void)
{
	struct pm_report *r;

	asm volatile("mov %%gs:0, %0" : "=r"(r));
	return r;
}

PM_GUEST void pm_guest_report_exit(uint32_t kind)
{
	asm volatile("outb %b0, %w1" : : "a"((uint8_t)kind), "Nd"((uint16_t)PM_REPORT_PORT) : "memory");
}

PM_GUEST void pm_guest_halt(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

/* Frame built by the stubs below on top of what the CPU pushed. */
struct exc_frame {
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

PM_GUEST void pm_guest_exception(struct exc_frame *f)
{
	volatile struct pm_report *r = pm_guest_report_page();
	uint64_t cr2;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	r->kind = PM_REP_EXCEPTION;
	r->nvals = 4;
	r->vals[0] = f->vector;
	r->vals[1] = f->error;
	r->vals[2] = f->rip;
	r->vals[3] = cr2;
	pm_guest_report_exit(PM_REP_EXCEPTION);
	pm_guest_halt();
}

/*
 * 32 exception stubs, 16 bytes apart, so the host computes IDT entries as
 * pm_guest_exc_stubs + 16 * vector. Vectors that push no error code get a 0,
 * so pm_guest_exception sees one frame layout.
 */
#define EXC_NOERR(n) ".balign 16\n pushq $0\n pushq $" #n "\n jmp pm_guest_exc_common\n"
#define EXC_ERR(n)   ".balign 16\n pushq $" #n "\n jmp pm_guest_exc_common\n"
asm(".pushsection pm_guest_text, \"ax\", @progbits\n"
    ".balign 16\n"
    ".globl pm_guest_exc_stubs\n"
    "pm_guest_exc_stubs:\n"
    EXC_NOERR(0) EXC_NOERR(1) EXC_NOERR(2) EXC_NOERR(3) EXC_NOERR(4) EXC_NOERR(5)
    EXC_NOERR(6) EXC_NOERR(7) EXC_ERR(8) EXC_NOERR(9) EXC_ERR(10) EXC_ERR(11)
    EXC_ERR(12) EXC_ERR(13) EXC_ERR(14) EXC_NOERR(15) EXC_NOERR(16) EXC_ERR(17)
    EXC_NOERR(18) EXC_NOERR(19) EXC_NOERR(20) EXC_ERR(21) EXC_NOERR(22) EXC_NOERR(23)
    EXC_NOERR(24) EXC_NOERR(25) EXC_NOERR(26) EXC_NOERR(27) EXC_NOERR(28) EXC_ERR(29)
    EXC_ERR(30) EXC_NOERR(31)
    "pm_guest_exc_common:\n"
    " mov %rsp, %rdi\n"
    " and $-16, %rsp\n"
    " call pm_guest_exception\n"
    ".popsection\n");
