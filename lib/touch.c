// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>

#include "touch.h"

static sigjmp_buf touch_env;
static volatile sig_atomic_t touch_sig;
static volatile int touch_code;
static void *volatile touch_addr;

static void touch_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	touch_sig = sig;
	touch_code = si ? si->si_code : 0;
	touch_addr = si ? si->si_addr : NULL;
	siglongjmp(touch_env, 1);
}

int pm_touch_info(volatile void *addr, bool write, int *code, void **fault_addr)
{
	struct sigaction sa = { .sa_sigaction = touch_handler, .sa_flags = SA_SIGINFO };
	struct sigaction old_bus, old_segv;
	volatile char *p = addr;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	touch_sig = 0;
	touch_code = 0;
	touch_addr = NULL;
	if (!sigsetjmp(touch_env, 1)) {
		if (write)
			*p = *p;
		else
			(void)*p;
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	if (code)
		*code = touch_code;
	if (fault_addr)
		*fault_addr = touch_addr;
	return touch_sig;
}

int pm_touch(volatile void *addr, bool write)
{
	return pm_touch_info(addr, write, NULL, NULL);
}
