/* SPDX-License-Identifier: GPL-2.0 */
/* pmb helpers for benchmarks that run guests (on the VM library, lib/vm.h). */
#ifndef PRIVMEM_PMB_VM_H
#define PRIVMEM_PMB_VM_H

#include "pmb.h"
#include "vm.h"

/*
 * Called in the vCPU's thread for each GUEST_SYNC; the vCPU resumes when it
 * returns. Return non-zero to stop that vCPU (counted as an error).
 */
typedef int (*pmb_sync_fn)(int idx, struct pm_vcpu *vcpu, const struct pm_exit *e, void *arg);

/*
 * Run vcpus[0..n) each in its own thread (vCPU i pinned to CPU i % nr_cpus when
 * pin is true) until every one reports GUEST_DONE. 0 on success; -1 with the
 * first failure (assertion, exception, timeout, unexpected exit) in err.
 */
int pmb_run_vcpus(struct pm_vcpu **vcpus, int n, bool pin, pmb_sync_fn on_sync, void *arg,
		  char *err, size_t len);

/* One-line reason KVM cannot be used here, or NULL when it can (for skip notes). */
const char *pmb_kvm_unusable(void);

#endif
