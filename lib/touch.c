// SPDX-License-Identifier: GPL-2.0
#include <setjmp.h>
#include <signal.h>

#include "touch.h"

static sigjmp_buf touch_env;
static volatile sig_atomic_t touch_sig;

static void touch_handler(int sig)
{
	touch_sig = sig;
	siglongjmp(touch_env, 1);
}

int pm_touch(volatile void *addr, bool write)
{
	struct sigaction sa = { .sa_handler = touch_handler }, old_bus, old_segv;
	volatile char *p = addr;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old_bus);
	sigaction(SIGSEGV, &sa, &old_segv);
	touch_sig = 0;
	if (!sigsetjmp(touch_env, 1)) {
		if (write)
			*p = *p;
		else
			(void)*p;
	}
	sigaction(SIGBUS, &old_bus, NULL);
	sigaction(SIGSEGV, &old_segv, NULL);
	return touch_sig;
}
