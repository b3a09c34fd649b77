// SPDX-License-Identifier: GPL-2.0
/*
 * hugepage guest phase (hugepage.h): each backing mapped into a VM with 2M guest
 * page tables; KVM's leaf-mapping counts after the guest wrote every page, before
 * and after host churn.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "hugepage.h"

PM_GUEST_CODE_BEGIN

/* Write one word in every 4K page of [gpa, gpa + size), once per pass, reporting each pass. */
static PM_GUEST void guest_touch(uint64_t gpa, uint64_t size, uint64_t passes)
{
	for (uint64_t pass = 1; pass <= passes; pass++) {
		for (uint64_t off = 0; off < size; off += PAGE)
			pm_guest_write64((void *)(gpa + off), pass << 40 | off);
		GUEST_SYNC(pass);
	}
}

PM_GUEST_CODE_END

struct guest_run {
	struct ctx *c;
	struct pmb_mem *r;
	struct pmb_kvm_stats *st;
	uint32_t *perm;		/* churn order over the guest region */
	size_t npages;
	uint64_t t0;
	json_t *pass[2];
	double host_backed[3], host_mapped[3];	/* after guest touch, after churn, at the end */
	char why[200];
};

static json_t *kvm_stats_json(struct pmb_kvm_stats *st)
{
	static const char *const names[] = { "pages_4k", "pages_2m", "pages_1g", "remote_tlb_flush" };
	json_t *o = json_object();

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t v;

		if (!pmb_kvm_stat(st, names[i], &v))
			json_object_set_new(o, names[i], json_integer((json_int_t)v));
	}
	return o;
}

/* In the vCPU thread, after each guest pass: KVM's view, then (after pass 1) host churn. */
static int guest_on_sync(int idx, struct pm_vcpu *vcpu, const struct pm_exit *e, void *arg)
{
	struct guest_run *g = arg;
	uint64_t stage = e->rep.vals[0], now = pmb_now_ns();
	size_t k = (size_t)llround(GUEST_CHURN * g->npages);

	(void)idx;
	(void)vcpu;
	if (stage < 1 || stage > 2)
		return 1;
	g->pass[stage - 1] = kvm_stats_json(g->st);
	json_object_set_new(g->pass[stage - 1], "guest_touch_ms", json_real((now - g->t0) / 1e6));
	if (stage == 1) {
		retention(g->c, g->r, &g->host_backed[0], &g->host_mapped[0]);
		for (size_t j = 0; j < k; j++) {
			if (punch(g->r, g->perm[j])) {
				snprintf(g->why, sizeof(g->why), "punch during the guest phase: %s",
					 strerror(errno));
				return 1;
			}
		}
		for (size_t j = 0; j < k; j++)
			touch(g->r, g->perm[j]);
		retention(g->c, g->r, &g->host_backed[1], &g->host_mapped[1]);
	}
	g->t0 = pmb_now_ns();
	return 0;
}

json_t *pct_or_null(double v)
{
	return v >= 0 ? json_real(100 * v) : json_null();
}

/*
 * Map guest_mib MiB of the backing into a VM (2M guest page tables), let the
 * guest write every 4K page, read KVM's leaf-mapping counts; churn GUEST_CHURN
 * of it on the host, let the guest write it all again, read them again.
 */
json_t *guest_phase(struct ctx *c, enum pmb_backing kind, size_t size)
{
	struct pmb *b = c->b;
	struct guest_run g = { .c = c, .npages = size / PAGE };
	json_t *o = json_object();
	struct pm_vcpu *vcpu;
	struct pm_vm *vm = NULL;
	struct pmb_mem r = { .fd = -1 };
	char err[400];

	json_object_set_new(o, "guest_mib", json_integer(size >> 20));
	json_object_set_new(o, "guest_page", json_string("2M"));
	json_object_set_new(o, "host_churn_between_passes", json_real(GUEST_CHURN));
	/* A guest_memfd belongs to the VM that created it: the guest's VM makes it here. */
	vm = pm_vm_create(0);
	if (!vm) {
		snprintf(err, sizeof(err), "KVM_CREATE_VM failed: %s", strerror(errno));
		goto skip;
	}
	vm->timeout_ms = 120000;
	if (region_open(c, vm, kind, size, &r, err, sizeof(err)))
		goto skip;
	populate(&r);
	g.r = &r;
	g.perm = permutation(g.npages, c->seed);
	if (!g.perm) {
		snprintf(err, sizeof(err), "out of memory");
		goto skip;
	}
	if (pm_vm_add_memory(vm, GUEST_SLOT, PM_TEST_GPA, size, r.p, kind == PMB_GMEM ? r.fd : -1, 0,
			     PM_PAGE_2M)) {
		snprintf(err, sizeof(err), "adding the %s memslot failed: %s", hp_name(kind),
			 strerror(errno));
		goto skip;
	}
	vcpu = pm_vcpu_add(vm, guest_touch, PM_TEST_GPA, size, 2);
	g.st = pmb_kvm_stats_open(vm->fd);
	if (!vcpu || !g.st) {
		snprintf(err, sizeof(err), "%s failed: %s", vcpu ? "KVM_GET_STATS_FD" : "adding a vCPU",
			 strerror(errno));
		goto skip;
	}
	g.t0 = pmb_now_ns();
	if (pmb_run_vcpus(&vcpu, 1, true, guest_on_sync, &g, err, sizeof(err))) {
		if (g.why[0])
			snprintf(err, sizeof(err), "%s", g.why);
		goto skip;
	}
	retention(c, &r, &g.host_backed[2], &g.host_mapped[2]);
	for (int i = 0; i < 2; i++) {
		json_t *p = g.pass[i];
		json_int_t n4 = json_integer_value(json_object_get(p, "pages_4k"));
		json_int_t n2 = json_integer_value(json_object_get(p, "pages_2m"));
		json_int_t n1 = json_integer_value(json_object_get(p, "pages_1g"));
		char why[300];

		/*
		 * The guest just wrote every page: KVM maps all of them at some level.
		 * If no level counts anything, the counts are not kept, not zero.
		 */
		if (n4 + n2 + n1 == 0) {
			snprintf(why, sizeof(why), "%s keeps no leaf-mapping counts: pages_4k/2m/1g all 0 "
				 "after the guest wrote %zu pages of the %s slot", pm_caps()->kvm_module,
				 g.npages, hp_name(kind));
			pmb_counter_require(b, p, "pages_4k", why);
			pmb_counter_require(b, p, "pages_2m", why);
		}
	}
	{
		json_t *f0 = json_object_get(g.pass[0], "remote_tlb_flush");
		json_t *f1 = json_object_get(g.pass[1], "remote_tlb_flush");
		char why[300];

		/*
		 * Punching pages the guest has mapped must zap KVM's mappings and flush
		 * the guest TLBs, except on hugetlb, where a 4K punch only zeroes.
		 */
		if (json_is_integer(f0) && json_is_integer(f1)) {
			json_object_set_new(o, "remote_tlb_flush_over_churn",
					    json_integer(json_integer_value(f1) - json_integer_value(f0)));
			snprintf(why, sizeof(why), "%s counted no remote TLB flush although the host "
				 "punched %lld pages the guest had mapped (%s)", pm_caps()->kvm_module,
				 llround(GUEST_CHURN * g.npages), hp_name(kind));
			if (kind != PMB_HUGETLBFS)
				pmb_counter_require(b, o, "remote_tlb_flush_over_churn", why);
		}
	}
	json_object_set_new(o, "after_guest_touch", g.pass[0]);
	json_object_set_new(o, "after_host_churn_and_guest_retouch", g.pass[1]);
	/* The host backing under the guest: a guest write must not change it. */
	json_object_set_new(o, "host_backed_2m_pct_after_guest_touch", pct_or_null(g.host_backed[0]));
	json_object_set_new(o, "host_backed_2m_pct_after_host_churn", pct_or_null(g.host_backed[1]));
	json_object_set_new(o, "host_backed_2m_pct_after_guest_retouch", pct_or_null(g.host_backed[2]));
	g.pass[0] = g.pass[1] = NULL;
	goto out;
skip:
	json_object_set_new(o, "skipped", json_string(err));
	pmb_note(b, "%s guest phase skipped: %s", hp_name(kind), err);
out:
	json_decref(g.pass[0]);
	json_decref(g.pass[1]);
	pmb_kvm_stats_close(g.st);
	pm_vm_free(vm);	/* before the backing goes: the slot points into it */
	pmb_mem_close(&r);
	free(g.perm);
	return o;
}

