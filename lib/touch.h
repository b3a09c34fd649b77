/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PRIVMEM_TOUCH_H
#define PRIVMEM_TOUCH_H

#include <stdbool.h>

/*
 * Touch one byte; return 0 or the signal it raised (SIGBUS, SIGSEGV), so a
 * test can state exactly which pages must fault.
 */
int pm_touch(volatile void *addr, bool write);

/*
 * The same, and what the signal said: its si_code and si_addr (0 and NULL when
 * the access did not fault), for rows that state how a fault is reported.
 */
int pm_touch_info(volatile void *addr, bool write, int *code, void **fault_addr);

#endif
