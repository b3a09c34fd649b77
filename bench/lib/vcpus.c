// SPDX-License-Identifier: GPL-2.0
/* Running a VM's vCPUs in threads until the guest code is done. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "pmb_vm.h"

struct vcpu_thread {
	struct pm_vcpu *vcpu;
	int idx;
	bool pin;
	pmb_sync_fn on_sync;
	void *arg;
	int failed;
	char msg[400];
};

static void *vcpu_main(void *p)
{
	struct vcpu_thread *t = p;
	struct pm_exit e;

	if (t->pin)
		pmb_pin_cpu(t->idx);
	for (;;) {
		enum pm_run_result r = pm_vcpu_run(t->vcpu, &e);

		if (r == PM_RUN_DONE)
			return NULL;
		if (r == PM_RUN_SYNC) {
			if (t->on_sync && t->on_sync(t->idx, t->vcpu, &e, t->arg)) {
				snprintf(t->msg, sizeof(t->msg), "vCPU %d: stopped by its sync handler", t->idx);
				t->failed = 1;
				return NULL;
			}
			continue;
		}
		snprintf(t->msg, sizeof(t->msg), "vCPU %d: %s", t->idx, e.msg);
		t->failed = 1;
		return NULL;
	}
}

int pmb_run_vcpus(struct pm_vcpu **vcpus, int n, bool pin, pmb_sync_fn on_sync, void *arg,
		  char *err, size_t len)
{
	struct vcpu_thread *t = calloc(n, sizeof(*t));
	pthread_t *tid = calloc(n, sizeof(*tid));
	int rc = 0, started = 0;

	if (!t || !tid) {
		snprintf(err, len, "out of memory");
		free(t);
		free(tid);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		t[i] = (struct vcpu_thread){ .vcpu = vcpus[i], .idx = i, .pin = pin,
					      .on_sync = on_sync, .arg = arg };
		if (pthread_create(&tid[i], NULL, vcpu_main, &t[i])) {
			snprintf(err, len, "cannot start a vCPU thread");
			rc = -1;
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		if (t[i].failed && rc == 0) {
			snprintf(err, len, "%s", t[i].msg);
			rc = -1;
		}
	}
	free(t);
	free(tid);
	return rc;
}

const char *pmb_kvm_unusable(void)
{
	const struct pm_caps *c = pm_caps();
	static char why[200];

	if (c->kvm)
		return NULL;
	snprintf(why, sizeof(why), "KVM unavailable: %s", c->kvm_reason);
	return why;
}
