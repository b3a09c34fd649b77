/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The four costs every workload (workloads/) reports, with the same keys, so that a
 * reader can put cvm_boot, bounce_io and balloon side by side (costs.c):
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
 * its reason (pmb_counter_require), never 0.
 */
#ifndef PRIVMEM_PMB_COSTS_H
#define PRIVMEM_PMB_COSTS_H

#include <stdbool.h>
#include <stdint.h>

#include "platform.h"
#include "pmb.h"

/* The interval the costs cover: pmb_costs_begin() .. pmb_costs_end(). */
struct pmb_costs {
	struct pmb *b;
	struct pmb_kvm_stats *ks;	/* the VM's stats, or NULL */
	struct pmb_snap s0, s1;
	struct pmb_perf *perf;
	json_t *traced;			/* perf's counts, NULL when perf cannot count */
	uint64_t kf0, kf1;
	bool has_kf;
};

/* What the workload knows about the interval, beyond what pmb_costs reads itself. */
struct pmb_cost_in {
	double mib;		/* memory the workload converted, moved or churned (MiB) */
	double host_2m;		/* 0..1 after the workload; < 0: unreadable (host_2m_why) */
	const char *host_2m_why;
	double bounce_bytes;	/* bytes copied through shared pages; < 0: none here (bounce_why) */
	double bounce_ns;	/* time those copies added; < 0 when bounce_bytes is */
	const char *bounce_why;
	const char *dm_why;	/* why the direct map cannot split here, when it does not */
	const char *tlb_why;	/* why no shootdown is counted, when none is */
};

/* perf first (enabling system-wide tracepoints sends IPIs of its own), then the counters. */
void pmb_costs_begin(struct pmb_costs *c, struct pmb *b, struct pmb_kvm_stats *ks);
void pmb_costs_end(struct pmb_costs *c);
/* The four costs as one JSON object (the same keys in every workload). */
json_t *pmb_costs_json(struct pmb_costs *c, const struct pmb_cost_in *in);
/* The costs next to a metric (its "counters") and in results.costs[label] (costs stolen). */
void pmb_costs_attach(json_t *metric, json_t *all, const char *label, json_t *costs);
/*
 * Share of the guest memory KVM maps with 2M leaves: pages_2m x 512 over all
 * 4K-equivalents mapped (pages_4k + 512 pages_2m + 262144 pages_1g counts 1G as
 * huge too). -1 without the stats, -2 when they count nothing mapped.
 */
double pmb_kvm_2m_fraction(struct pmb_kvm_stats *ks);
/*
 * The VM a workload on anonymous or mappable memory runs in: sw-default where
 * KVM offers guest_memfd on the default VM, else plain KVM (6.12's default VM has
 * no guest_memfd, yet runs anonymous memory). NULL with both reasons in why.
 */
const struct pm_platform *pmb_vm_platform(char *why, size_t len);
/* xorshift64*: reproducible per seed, enough to spread ranges uniformly. */
uint64_t pmb_rng(uint64_t *s);

#endif
