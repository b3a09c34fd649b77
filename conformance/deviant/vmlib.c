// SPDX-License-Identifier: GPL-2.0
/* Deviations of KVM_RUN the VM library's own contract (vmlib collection) must detect. */
#include <errno.h>

#include "shim.h"

static const struct shim_dev devs[] = {
	{ "io-exits-lost",       "KVM_RUN swallows the guest's port-I/O exits (guest reports never arrive)",
	  .rows = "vmlib.guest_assert_reports_file_line_and_values "
		  "vmlib.guest_exception_reports_vector_and_address "
		  "vmlib.guest_writes_reach_host_4k_and_2m vmlib.sync_carries_stage_and_values" },
	{ "run-ignores-timeout", "KVM_RUN restarts itself after a signal and never returns EINTR",
	  .rows = "vmlib.stuck_vcpu_times_out" },
	{ NULL, NULL }
};

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	struct kvm_run *run = shim_vcpu_run(a[0]);

	if (c != SC_IOCTL || a[1] != (long)KVM_RUN || !run)
		return false;
	if (shim_is("io-exits-lost")) {
		/* The guest continues after its OUT as if the host had handled it. */
		do
			*ret = shim_real(SC_IOCTL, a);
		while (*ret == 0 && run->exit_reason == KVM_EXIT_IO);
		return true;
	}
	if (shim_is("run-ignores-timeout")) {
		/* Swallow EINTR and the immediate_exit request: a stuck guest stays stuck. */
		for (;;) {
			*ret = shim_real(SC_IOCTL, a);
			if (*ret == 0 || errno != EINTR)
				return true;
			run->immediate_exit = 0;
		}
	}
	return false;
}

static const struct shim_module vmlib = { .area = "vmlib", .devs = devs, .before = before };
SHIM_MODULE(vmlib)
