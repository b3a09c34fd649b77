/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PRIVMEM_TOUCH_H
#define PRIVMEM_TOUCH_H

#include <stdbool.h>

/*
 * Touch one byte; return 0 or the signal it raised (SIGBUS, SIGSEGV), so a
 * test can state exactly which pages must fault.
 */
int pm_touch(volatile void *addr, bool write);

#endif
