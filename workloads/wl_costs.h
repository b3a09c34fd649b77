/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The four costs every workload in workloads/ reports, with the same keys, so
 * that a reader can put cvm_boot, bounce_io and balloon side by side:
 *
 *   direct map   direct_map_level2_splits_per_gib, direct_map_level3_splits_per_gib
 *                (/proc/vmstat, per GiB of the workload's memory)
 *   shootdowns   tlb_ipis_per_mib (/proc/interrupts TLB row), tlb_flush_events_per_mib
 *                (tlb:tlb_flush through perf), kvm_remote_tlb_flush_per_mib (KVM VM stat),
 *                per MiB the workload converted, moved or churned
 *   2M retention retention_2m_host_pct (the host mapping, pagemap + kpageflags) and
 *                retention_2m_kvm_pct (KVM pages_2m against pages_4k) after the workload
 *   bounce       bounce_bytes_per_mib (bytes copied through shared pages per MiB of
 *                payload) and bounce_copy_ns_per_mib (what that copy added)
 *
 * A cost that cannot move in a workload, or on this kernel, is "unavailable" with
 * its reason (pmb_counter_require), never 0. Header-only because the Makefile
 * builds each benchmark from one source file.
 *
 * PMB-CANDIDATE: the whole file (wl_costs_*, wl_kvm_2m_fraction, wl_platform,
 * wl_rng) belongs in bench/lib; memory comes from bench/lib's backings table
 * (pmb_mem_open) and 2M retention of a mapping is its pmb_backed_2m (pagemap.c).
 */
#ifndef PRIVMEM_WL_COSTS_H
#define PRIVMEM_WL_COSTS_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform.h"
#include "pmb.h"
#include "pmb_util.h"

#define WL_PAGE		4096UL
#define WL_HPAGE	(2UL << 20)
#define WL_PER_HPAGE	(WL_HPAGE / WL_PAGE)

/* ---- memory helpers ------------------------------------------------------------- */

/* Share of [p, p + size) backed by 2M folios (bench/lib/pagemap.c); -1 when unreadable. */
static inline double wl_backed_2m(const void *p, size_t size)
{
	return pmb_backed_2m(p, size);
}

/*
 * Share of the guest memory KVM maps with 2M leaves: pages_2m x 512 over all
 * 4K-equivalents mapped (pages_4k + 512 pages_2m + 262144 pages_1g counts 1G as
 * huge too). -1 without the stats, -2 when they count nothing mapped.
 */
static inline double wl_kvm_2m_fraction(struct pmb_kvm_stats *ks)
{
	uint64_t p4 = 0, p2 = 0, p1 = 0;

	if (!ks || pmb_kvm_stat(ks, "pages_4k", &p4) || pmb_kvm_stat(ks, "pages_2m", &p2))
		return -1;
	pmb_kvm_stat(ks, "pages_1g", &p1);
	if (p4 + p2 + p1 == 0)
		return -2;
	return (double)(p2 * 512 + p1 * 262144) / (double)(p4 + p2 * 512 + p1 * 262144);
}

/* ---- the interval the costs cover ------------------------------------------------ */

struct wl_costs {
	struct pmb *b;
	struct pmb_kvm_stats *ks;	/* the VM's stats, or NULL */
	struct pmb_snap s0, s1;
	struct pmb_perf *perf;
	json_t *traced;			/* perf's counts, NULL when perf cannot count */
	uint64_t kf0, kf1;
	bool has_kf;
};

/* What the workload knows about the interval, beyond what wl_costs reads itself. */
struct wl_cost_in {
	double mib;		/* memory the workload converted, moved or churned (MiB) */
	double host_2m;		/* 0..1 after the workload; < 0: unreadable (host_2m_why) */
	const char *host_2m_why;
	double bounce_bytes;	/* bytes copied through shared pages; < 0: none here (bounce_why) */
	double bounce_ns;	/* time those copies added; < 0 when bounce_bytes is */
	const char *bounce_why;
	const char *dm_why;	/* why the direct map cannot split here, when it does not */
	const char *tlb_why;	/* why no shootdown is counted, when none is */
};

static const char *const wl_tlb_events[] = { "tlb:tlb_flush" };

/* perf first (enabling system-wide tracepoints sends IPIs of its own), then the counters. */
static inline void wl_costs_begin(struct wl_costs *c, struct pmb *b, struct pmb_kvm_stats *ks)
{
	memset(c, 0, sizeof(*c));
	c->b = b;
	c->ks = ks;
	c->perf = pmb_perf_begin(b, wl_tlb_events, 1);
	c->has_kf = ks && !pmb_kvm_stat(ks, "remote_tlb_flush", &c->kf0);
	pmb_snap(&c->s0);
}

static inline void wl_costs_end(struct wl_costs *c)
{
	pmb_snap(&c->s1);
	if (c->has_kf)
		c->has_kf = !pmb_kvm_stat(c->ks, "remote_tlb_flush", &c->kf1);
	c->traced = pmb_perf_end(c->perf);
	c->perf = NULL;
}

/* counters[key] = v, or "unavailable" with why when v is NAN (absent) or 0 (cannot move here). */
static inline void wl_put(struct pmb *b, json_t *o, const char *key, double v, const char *absent,
			  const char *zero)
{
	json_object_set_new(o, key, json_real(isnan(v) ? 0 : v));
	pmb_counter_require(b, o, key, isnan(v) ? absent : zero);
}

static inline double wl_snap_delta(const struct wl_costs *c, const char *key)
{
	long long a = pmb_snap_get(&c->s0, key), z = pmb_snap_get(&c->s1, key);

	return a < 0 || z < 0 ? NAN : (double)(z - a);
}

/* The four costs as one JSON object (the same keys in every workload). */
static inline json_t *wl_costs_json(struct wl_costs *c, const struct wl_cost_in *in)
{
	struct pmb *b = c->b;
	json_t *o = json_object();
	double gib = in->mib / 1024, v, kvm2m = wl_kvm_2m_fraction(c->ks);
	json_t *tf = c->traced ? json_object_get(c->traced, "tlb:tlb_flush") : NULL;
	const char *dm_why = in->dm_why ? in->dm_why :
		"no direct-map split although the workload ran (its memory stays in the direct map)";
	const char *tlb_why = in->tlb_why ? in->tlb_why :
		"no TLB shootdown counted: no other CPU had this mm or the guest's mappings loaded";

	json_object_set_new(o, "workload_mib", json_real(in->mib));
	json_object_set_new(o, "interval_s", json_real((c->s1.t_ns - c->s0.t_ns) / 1e9));
	/* direct map */
	v = wl_snap_delta(c, "direct_map_level2_splits");
	wl_put(b, o, "direct_map_level2_splits_per_gib", v / gib,
	       "direct_map_level2_splits is not in /proc/vmstat on this kernel (x86 only)", dm_why);
	v = wl_snap_delta(c, "direct_map_level3_splits");
	wl_put(b, o, "direct_map_level3_splits_per_gib", v / gib,
	       "direct_map_level3_splits is not in /proc/vmstat on this kernel (x86 only)", dm_why);
	/* shootdowns */
	v = wl_snap_delta(c, "irq_TLB");
	wl_put(b, o, "tlb_ipis_per_mib", v / in->mib, "/proc/interrupts has no TLB row here", tlb_why);
	v = json_is_integer(tf) ? (double)json_integer_value(tf) : NAN;
	wl_put(b, o, "tlb_flush_events_per_mib", v / in->mib,
	       "tlb:tlb_flush not countable here (perf or the tracepoint missing: see the notes)", tlb_why);
	v = c->has_kf ? (double)(c->kf1 - c->kf0) : NAN;
	wl_put(b, o, "kvm_remote_tlb_flush_per_mib", v / in->mib,
	       c->ks ? "this KVM has no remote_tlb_flush VM stat" : "no VM in this workload",
	       in->tlb_why ? in->tlb_why : "KVM's remote_tlb_flush stat did not move although the guest's "
	       "memory changed under a running vCPU: this backend does not count (or need) that flush");
	/* 2M retention: a state, so 0 % is a figure; only an unreadable one is unavailable. */
	if (in->host_2m >= 0)
		json_object_set_new(o, "retention_2m_host_pct", json_real(100 * in->host_2m));
	else
		wl_put(b, o, "retention_2m_host_pct", NAN, in->host_2m_why ? in->host_2m_why :
		       "pagemap/kpageflags unreadable", NULL);
	if (kvm2m >= 0)
		json_object_set_new(o, "retention_2m_kvm_pct", json_real(100 * kvm2m));
	else
		wl_put(b, o, "retention_2m_kvm_pct", NAN, !c->ks ? "no VM in this workload" : kvm2m == -1 ?
		       "this KVM has no pages_4k/pages_2m VM stats (its MMU does not count leaf mappings)" :
		       "KVM's pages_4k/pages_2m read 0 although the guest ran: this backend does not count them",
		       NULL);
	/* bounce */
	wl_put(b, o, "bounce_bytes_per_mib", in->bounce_bytes < 0 ? NAN : in->bounce_bytes / in->mib,
	       in->bounce_why, "no byte went through shared pages");
	wl_put(b, o, "bounce_copy_ns_per_mib", in->bounce_ns < 0 ? NAN : in->bounce_ns / in->mib,
	       in->bounce_why, "the bounce copies added no measurable time");
	if (c->traced)
		json_object_set_new(o, "traced_raw", json_deep_copy(c->traced));
	json_decref(c->traced);
	c->traced = NULL;
	return o;
}

/* The costs next to a metric (its "counters") and in results.costs[label]. */
static inline void wl_costs_attach(struct pmb *b, json_t *metric, json_t *all, const char *label,
				   json_t *costs)
{
	if (metric)
		json_object_set(metric, "counters", costs);
	json_object_set_new(all, label, costs);
	(void)b;
}

/* ---- the VM ------------------------------------------------------------------ */

/*
 * The VM a workload on anonymous or mappable memory runs in: sw-default where
 * KVM offers guest_memfd on the default VM, else plain KVM (6.12's default VM has
 * no guest_memfd, yet runs anonymous memory). NULL with both reasons in why.
 */
static inline const struct pm_platform *wl_platform(char *why, size_t len)
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

/* ---- randomness ---------------------------------------------------------------- */

/* xorshift64*: reproducible per seed, enough to spread ranges uniformly. */
static inline uint64_t wl_rng(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

#endif
