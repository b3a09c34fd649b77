// SPDX-License-Identifier: GPL-2.0
/* The four costs of a workload (pmb_costs.h). */
#include <math.h>
#include <string.h>

#include "pmb_costs.h"

static const char *const tlb_events[] = { "tlb:tlb_flush" };

double pmb_kvm_2m_fraction(struct pmb_kvm_stats *ks)
{
	uint64_t p4 = 0, p2 = 0, p1 = 0;

	if (!ks || pmb_kvm_stat(ks, "pages_4k", &p4) || pmb_kvm_stat(ks, "pages_2m", &p2))
		return -1;
	pmb_kvm_stat(ks, "pages_1g", &p1);
	if (p4 + p2 + p1 == 0)
		return -2;
	return (double)(p2 * 512 + p1 * 262144) / (double)(p4 + p2 * 512 + p1 * 262144);
}

void pmb_costs_begin(struct pmb_costs *c, struct pmb *b, struct pmb_kvm_stats *ks)
{
	memset(c, 0, sizeof(*c));
	c->b = b;
	c->ks = ks;
	c->perf = pmb_perf_begin(b, tlb_events, 1);
	c->has_kf = ks && !pmb_kvm_stat(ks, "remote_tlb_flush", &c->kf0);
	pmb_snap(&c->s0);
}

void pmb_costs_end(struct pmb_costs *c)
{
	pmb_snap(&c->s1);
	if (c->has_kf)
		c->has_kf = !pmb_kvm_stat(c->ks, "remote_tlb_flush", &c->kf1);
	c->traced = pmb_perf_end(c->perf);
	c->perf = NULL;
}

/* counters[key] = v, or "unavailable" with why when v is NAN (absent) or 0 (cannot move here). */
static void put(struct pmb *b, json_t *o, const char *key, double v, const char *absent,
		const char *zero)
{
	json_object_set_new(o, key, json_real(isnan(v) ? 0 : v));
	pmb_counter_require(b, o, key, isnan(v) ? absent : zero);
}

static double snap_delta(const struct pmb_costs *c, const char *key)
{
	long long a = pmb_snap_get(&c->s0, key), z = pmb_snap_get(&c->s1, key);

	return a < 0 || z < 0 ? NAN : (double)(z - a);
}

json_t *pmb_costs_json(struct pmb_costs *c, const struct pmb_cost_in *in)
{
	struct pmb *b = c->b;
	json_t *o = json_object();
	double gib = in->mib / 1024, v, kvm2m = pmb_kvm_2m_fraction(c->ks);
	json_t *tf = c->traced ? json_object_get(c->traced, "tlb:tlb_flush") : NULL;
	const char *dm_why = in->dm_why ? in->dm_why :
		"no direct-map split although the workload ran (its memory stays in the direct map)";
	const char *tlb_why = in->tlb_why ? in->tlb_why :
		"no TLB shootdown counted: no other CPU had this mm or the guest's mappings loaded";

	json_object_set_new(o, "workload_mib", json_real(in->mib));
	json_object_set_new(o, "interval_s", json_real((c->s1.t_ns - c->s0.t_ns) / 1e9));
	/* direct map */
	v = snap_delta(c, "direct_map_level2_splits");
	put(b, o, "direct_map_level2_splits_per_gib", v / gib,
	       "direct_map_level2_splits is not in /proc/vmstat on this kernel (x86 only)", dm_why);
	v = snap_delta(c, "direct_map_level3_splits");
	put(b, o, "direct_map_level3_splits_per_gib", v / gib,
	       "direct_map_level3_splits is not in /proc/vmstat on this kernel (x86 only)", dm_why);
	/* shootdowns */
	v = snap_delta(c, "irq_TLB");
	put(b, o, "tlb_ipis_per_mib", v / in->mib, "/proc/interrupts has no TLB row here", tlb_why);
	v = json_is_integer(tf) ? (double)json_integer_value(tf) : NAN;
	put(b, o, "tlb_flush_events_per_mib", v / in->mib,
	       "tlb:tlb_flush not countable here (perf or the tracepoint missing: see the notes)", tlb_why);
	v = c->has_kf ? (double)(c->kf1 - c->kf0) : NAN;
	put(b, o, "kvm_remote_tlb_flush_per_mib", v / in->mib,
	       c->ks ? "this KVM has no remote_tlb_flush VM stat" : "no VM in this workload",
	       in->tlb_why ? in->tlb_why : "KVM's remote_tlb_flush stat did not move although the guest's "
	       "memory changed under a running vCPU: this backend does not count (or need) that flush");
	/* 2M retention: a state, so 0 % is a figure; only an unreadable one is unavailable. */
	if (in->host_2m >= 0)
		json_object_set_new(o, "retention_2m_host_pct", json_real(100 * in->host_2m));
	else
		put(b, o, "retention_2m_host_pct", NAN, in->host_2m_why ? in->host_2m_why :
		       "pagemap/kpageflags unreadable", NULL);
	if (kvm2m >= 0)
		json_object_set_new(o, "retention_2m_kvm_pct", json_real(100 * kvm2m));
	else
		put(b, o, "retention_2m_kvm_pct", NAN, !c->ks ? "no VM in this workload" : kvm2m == -1 ?
		       "this KVM has no pages_4k/pages_2m VM stats (its MMU does not count leaf mappings)" :
		       "KVM's pages_4k/pages_2m read 0 although the guest ran: this backend does not count them",
		       NULL);
	/* bounce */
	put(b, o, "bounce_bytes_per_mib", in->bounce_bytes < 0 ? NAN : in->bounce_bytes / in->mib,
	       in->bounce_why, "no byte went through shared pages");
	put(b, o, "bounce_copy_ns_per_mib", in->bounce_ns < 0 ? NAN : in->bounce_ns / in->mib,
	       in->bounce_why, "the bounce copies added no measurable time");
	if (c->traced)
		json_object_set_new(o, "traced_raw", json_deep_copy(c->traced));
	json_decref(c->traced);
	c->traced = NULL;
	return o;
}

void pmb_costs_attach(json_t *metric, json_t *all, const char *label, json_t *costs)
{
	if (metric)
		json_object_set(metric, "counters", costs);
	json_object_set_new(all, label, costs);
}

const struct pm_platform *pmb_vm_platform(char *why, size_t len)
{
	const struct pm_platform *p = pm_need_met(&(struct pm_need){ "sw-default", 0 }, why, len);
	char w2[200];

	if (p)
		return p;
	p = pm_need_met(&(struct pm_need){ "kvm", 0 }, w2, sizeof(w2));
	if (!p)
		snprintf(why + strlen(why), len - strlen(why), "; %s", w2);
	return p;
}

uint64_t pmb_rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}
