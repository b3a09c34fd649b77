// SPDX-License-Identifier: GPL-2.0
/* A spin barrier for workers pinned one per CPU (pmb_util.h). */
#include "pmb_util.h"

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() __asm__ volatile("" ::: "memory")
#endif

void pmb_spin_barrier_init(struct pmb_spin_barrier *sb, unsigned int n)
{
	sb->n = n;
	atomic_store(&sb->arrived, 0);
}

void pmb_spin_barrier_wait(struct pmb_spin_barrier *sb)
{
	unsigned int gen = atomic_load(&sb->generation);

	if (atomic_fetch_add(&sb->arrived, 1) == sb->n - 1) {
		atomic_store(&sb->arrived, 0);
		atomic_fetch_add(&sb->generation, 1);
		return;
	}
	while (atomic_load(&sb->generation) == gen)
		cpu_relax();
}
