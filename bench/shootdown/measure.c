// SPDX-License-Identifier: GPL-2.0
/*
 * shootdown measurements (shootdown.h): one operation's latency distribution
 * against its paired shootdown, and its counters in a traced batch of its own.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shootdown.h"

/* ---- counters ------------------------------------------------------------------ */

void tracing_init(struct pmb *b, struct tracing *tr)
{
	memset(tr, 0, sizeof(*tr));
	tr->nreasons = pmb_tlb_flush_reasons(b, tr->reasons, MAX_REASONS);
	for (int i = 0; i < tr->nreasons; i++) {
		char *k;

		if (!tr->reasons[i][0])
			continue;
		snprintf(tr->ev[tr->nev], sizeof(tr->ev[0]), "tlb:tlb_flush/reason == %d", i);
		snprintf(tr->key[tr->nev], sizeof(tr->key[0]), "tlb_flush.%s_per_op", tr->reasons[i]);
		for (k = tr->key[tr->nev]; *k; k++)
			if (*k == ' ')
				*k = '_';
		tr->nev++;
	}
	if (!tr->nreasons)
		pmb_note(b, "tlb:tlb_flush reasons unavailable (no tracefs or no tlb:tlb_flush format)");
	/* Which IPI tracepoints exist is checked by pmb_perf_begin (absent ones read "unavailable"). */
	snprintf(tr->ev[tr->nev], sizeof(tr->ev[0]), "ipi:ipi_send_cpu");
	snprintf(tr->key[tr->nev++], sizeof(tr->key[0]), "ipi_send_cpu_per_op");
	snprintf(tr->ev[tr->nev], sizeof(tr->ev[0]), "ipi:ipi_send_cpumask");
	snprintf(tr->key[tr->nev++], sizeof(tr->key[0]), "ipi_send_cpumask_per_op");
	/* KVM's own MMU zaps of the guest mapping: TDP MMU and shadow MMU flavours. */
	snprintf(tr->ev[tr->nev], sizeof(tr->ev[0]), "kvmmmu:kvm_tdp_mmu_spte_changed");
	snprintf(tr->key[tr->nev++], sizeof(tr->key[0]), "kvmmmu_tdp_spte_changed_per_op");
	snprintf(tr->ev[tr->nev], sizeof(tr->ev[0]), "kvmmmu:kvm_mmu_prepare_zap_page");
	snprintf(tr->key[tr->nev++], sizeof(tr->key[0]), "kvmmmu_prepare_zap_page_per_op");
	for (int i = 0; i < tr->nev; i++)
		tr->evp[i] = tr->ev[i];
}

struct kvm_counts {
	uint64_t flush, req;
	bool has_flush, has_req;
};

static void kvm_counts(struct rig *r, struct kvm_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->has_flush = r->ks && !pmb_kvm_stat(r->ks, "remote_tlb_flush", &c->flush);
	c->has_req = r->ks && !pmb_kvm_stat(r->ks, "remote_tlb_flush_requests", &c->req);
}

static double per_op(long long a, long long b, int n)
{
	return (double)(b - a) / n;
}


struct row_out {
	struct pmb_stats med, pooled;
	double tlb, cal, kflush, ipis;
	bool have_kflush, have_ipis, tlb_na;
};

/* What the vCPUs did during a batch: proof they ran, and how the batch went. */
struct activity {
	uint64_t passes, waits, t_ns;
	long mmio;
};

static void activity(struct rig *r, struct activity *a)
{
	a->passes = min_passes(r);
	a->waits = r->waits;
	a->mmio = 0;
	for (int v = 0; v < r->nvcpus; v++)
		a->mmio += atomic_load(&r->vt[v].mmio_exits);
	a->t_ns = pmb_now_ns();
}

/*
 * The operation against its paired shootdown (the anon madvise right after
 * it): per repetition, median(op) / median(paired). Attached to the metric;
 * for the core configuration also recorded as a metric of its own.
 */
static void attach_paired(struct pmb *b, json_t *m, const double *lat, const double *pair,
			  int reps, int k, bool core, json_t *params, double *ratio_med, double *pair_med)
{
	double *ratio = calloc(reps, sizeof(*ratio));
	struct pmb_stats sp, sr;
	json_t *o;

	if (!ratio)
		pmb_die(b, "out of memory");
	for (int i = 0; i < reps; i++) {
		struct pmb_stats a, p;

		pmb_stats_of(lat + (size_t)i * k, k, &a);
		pmb_stats_of(pair + (size_t)i * k, k, &p);
		ratio[i] = p.median > 0 ? a.median / p.median : 0;
	}
	pmb_stats_of(pair, reps * k, &sp);
	pmb_stats_of(ratio, reps, &sr);
	o = json_pack("{s:s, s:o, s:o}", "what", PAIRED_WHAT, "per_op", pmb_stats_json(&sp),
		      "ratio_by_rep", pmb_stats_json(&sr));
	json_object_set_new(m, "paired_shootdown", o);
	if (core) {
		struct pmb_spec spec = {
			.metric = "punch_over_paired", .unit = "ratio", .reps = reps, .cv_max = 0.03,
			.core = true,
			/* Its reference is the paired operation itself, measured in the same instant. */
			.ref = PMB_REF_NONE,
		};
		json_t *pm = pmb_record(b, &spec, params, ratio, reps, NULL);

		if (pm) {
			json_object_set_new(pm, "what", json_string(
				"core punch latency / the paired shootdown right after each punch (median per repetition): "
				"what punching guest memory costs beyond one remote TLB shootdown under the same conditions; "
				"the pairing cancels this machine's slow drift of the IPI round trip"));
			json_object_set_new(pm, "paired_with", json_string(PAIRED_WHAT));
		}
	} else {
		json_decref(params);
	}
	free(ratio);
	*ratio_med = sr.median;
	*pair_med = sp.median;
}

void measure_op(struct pmb *b, struct rig *r, const struct plan *pl, enum op op,
		struct tracing *tr, struct pmb_table *tab, const struct pmb_stats *ref_sd,
		const struct pmb_stats *ref_lf)
{
	/* The core figure: one remote vCPU, nothing else; see main(). */
	bool core = op == OP_PUNCH && r->nvcpus == 1 && !r->ntouch;
	bool page_op = op == OP_PUNCH || op == OP_MADVISE || op == OP_MUNMAP;
	int k = core ? pl->k_core : pl->k[op], n = pl->reps * k, kc = pl->kc[op];
	double *lat = calloc(n, sizeof(*lat)), *pair = page_op ? calloc(n, sizeof(*pair)) : NULL;
	bool remote_host = r->ntouch > 0 && r->ncpu > 1;
	bool remote = remote_host || r->nvcpus > 0;
	bool oversub = r->nvcpus + r->ntouch + 1 > r->ncpu;
	struct pmb_spec spec = {
		.metric = ops[op].name, .unit = "ns", .latency = true,
		.reps = pl->reps,
		/*
		 * The core figure must be within 3%; few and expensive samples
		 * (slot_delete) or every CPU busy: 10%.
		 */
		.cv_max = core ? 0.03 : op == OP_SLOT_DEL || oversub ? 0.10 : 0.05,
		.core = core,
		.ref = remote ? PMB_REF_SHOOTDOWN : PMB_REF_LOCAL_FLUSH,
		.ref_ratio = remote ?
			"operation latency / one remote TLB shootdown round trip (madvise of an anon page, mm live on another CPU)" :
			"operation latency / the same madvise with the mm on this CPU only (no remote CPU to flush)",
	};
	char nv[16], nt[16], kf[32], ip[32], pr[32], pn[32], tl[32], rs[32], rl[32];
	struct activity a0, a1;
	struct pmb_snap s0, s1;
	struct kvm_counts k0, k1;
	struct row_out o = { 0 };
	double paired_ratio = 0, paired_ns = 0;
	uint64_t seq = 0;
	json_t *m, *c, *praw = NULL;
	struct pmb_perf *perf = NULL;

	if (!lat || (page_op && !pair))
		pmb_die(b, "out of memory");
	snprintf(nv, sizeof(nv), "%d", r->nvcpus);
	snprintf(nt, sizeof(nt), "%d", r->ntouch);
	pmb_progress(b, "%s: %d vCPUs, %d host touchers: %d x %d ops", ops[op].name, r->nvcpus,
		     r->ntouch, pl->reps, k);

	/* Warm-up, then the timed batch (each page operation followed by its paired shootdown). */
	if (run_ops(r, op, &seq, pl->warmup * k, NULL, NULL))
		goto out;
	activity(r, &a0);
	if (run_ops(r, op, &seq, n, lat, pair))
		goto out;
	activity(r, &a1);
	m = pmb_record_latency(b, &spec, pmb_params("vcpus", nv, "host_touchers", nt,
						"oversubscribed", oversub ? "yes" : "no", NULL),
			   lat, pl->reps, k, &o.med, &o.pooled);
	if (!m)
		goto out;
	json_object_set_new(m, "what", json_string(ops[op].what));
	if (pair)
		attach_paired(b, m, lat, pair, pl->reps, k, core,
			      pmb_params("vcpus", nv, "host_touchers", nt, "oversubscribed", oversub ? "yes" : "no", NULL),
			      &paired_ratio, &paired_ns);
	c = json_object();
	if (r->nvcpus) {
		double s = (a1.t_ns - a0.t_ns) / 1e9;

		/* Proof the guests ran during the timed batch, and how it went for them. */
		json_object_set_new(c, "vcpu_min_passes", json_integer(a1.passes - a0.passes));
		json_object_set_new(c, "guest_page_accesses_per_s",
				    json_real((double)(a1.passes - a0.passes) * NP * r->nvcpus / s));
		json_object_set_new(c, "vcpu_mmio_exits_per_op", json_real((double)(a1.mmio - a0.mmio) / n));
		json_object_set_new(c, "ops_that_waited_for_the_guest", json_real((double)(a1.waits - a0.waits) / n));
	}

	/*
	 * Counts per operation in a batch of their own: the timed batch's paired
	 * shootdowns would add their IPIs, and perf's tracepoints must not be in
	 * the latencies. perf is started before and stopped after the snapshots
	 * (enabling events system-wide sends IPIs of its own).
	 */
	if (!r->ntouch || pl->trace_touchers)
		perf = pmb_perf_begin(b, tr->evp, tr->nev);
	kvm_counts(r, &k0);
	pmb_snap(&s0);
	if (run_ops(r, op, &seq, kc, NULL, NULL)) {
		json_decref(pmb_perf_end(perf));
		json_decref(c);
		goto out;
	}
	pmb_snap(&s1);
	kvm_counts(r, &k1);
	praw = pmb_perf_end(perf);
	json_object_set_new(c, "ops", json_integer(kc));
	json_object_set_new(c, "interval_s", json_real((s1.t_ns - s0.t_ns) / 1e9));
	o.tlb = per_op(pmb_snap_get(&s0, "irq_TLB"), pmb_snap_get(&s1, "irq_TLB"), kc);
	o.cal = per_op(pmb_snap_get(&s0, "irq_CAL"), pmb_snap_get(&s1, "irq_CAL"), kc);
	if (pmb_snap_get(&s1, "irq_TLB") >= 0)
		json_object_set_new(c, "tlb_ipis_per_op", json_real(o.tlb));
	if (pmb_snap_get(&s1, "irq_CAL") >= 0)
		json_object_set_new(c, "cal_ipis_per_op", json_real(o.cal));
	if (k1.has_flush) {
		o.kflush = per_op(k0.flush, k1.flush, kc);
		o.have_kflush = true;
		json_object_set_new(c, "kvm_remote_tlb_flush_per_op", json_real(o.kflush));
	}
	if (k1.has_req)
		json_object_set_new(c, "kvm_remote_tlb_flush_requests_per_op",
				    json_real(per_op(k0.req, k1.req, kc)));
	if (praw) {
		for (int i = 0; i < tr->nev; i++) {
			json_t *v = json_object_get(praw, tr->ev[i]);

			if (!json_is_integer(v)) {
				json_object_set_new(c, tr->key[i], json_string("unavailable"));
				continue;
			}
			json_object_set_new(c, tr->key[i], json_real((double)json_integer_value(v) / kc));
			if (!strncmp(tr->ev[i], "ipi:", 4)) {
				o.ipis += (double)json_integer_value(v) / kc;
				o.have_ipis = true;
			}
		}
		json_object_set_new(c, "traced_raw", praw);
		/* The guest had the page (or slot) mapped: KVM's MMU must have zapped something. */
		if (r->nvcpus > 0) {
			json_t *t = json_object_get(c, "kvmmmu_tdp_spte_changed_per_op");
			json_t *z = json_object_get(c, "kvmmmu_prepare_zap_page_per_op");

			if (!(json_is_real(t) && json_real_value(t) > 0) && !(json_is_real(z) && json_real_value(z) > 0)) {
				const char *why = "no kvmmmu zap event although the guest had the memory mapped: "
						  "this KVM backend does not emit the kvmmmu tracepoints";

				pmb_counter_require(b, c, "kvmmmu_tdp_spte_changed_per_op", why);
				pmb_counter_require(b, c, "kvmmmu_prepare_zap_page_per_op", why);
			}
		}
	}

	/*
	 * What must have moved: a host thread of this mm spinning on another CPU
	 * has the mm loaded there, so zapping a populated host PTE must send it a
	 * TLB IPI; the guest had the page mapped (every running vCPU accessed it
	 * since it was last taken away), so KVM must flush remote TLBs.
	 */
	if (remote_host && op != OP_SLOT_DEL)
		pmb_counter_require(b, c, "tlb_ipis_per_op",
				    "no TLB shootdown IPI counted although a host thread of this mm was spinning "
				    "on another CPU (descheduled by other load?)");
	if (r->nvcpus > 0 && json_object_get(c, "kvm_remote_tlb_flush_per_op"))
		pmb_counter_require(b, c, "kvm_remote_tlb_flush_per_op", op == OP_SLOT_DEL ?
				    "KVM's remote_tlb_flush stat did not move although the vCPUs were using the deleted "
				    "slot: this backend does not count (or does not need) that flush" :
				    "KVM's remote_tlb_flush stat did not move although every running vCPU had accessed "
				    "the page since it was last taken away: this backend does not count (or does "
				    "not need) that flush");
	/* The table shows what the JSON says: no number for an unavailable counter. */
	if (json_is_string(json_object_get(c, "kvm_remote_tlb_flush_per_op")))
		o.have_kflush = false;
	if (json_is_string(json_object_get(c, "tlb_ipis_per_op")))
		o.tlb_na = true;
	json_object_set_new(m, "counters", c);

	pmb_row(tab, "%s,%d,%d,%s,%.1f,%.1f,%.1f,%.1f,%.2f,%d,%s,%.4f,%s,%s,%s,%s,%s,%s",
		ops[op].name, r->ntouch, r->nvcpus, oversub ? "yes" : "no", o.med.median,
		o.pooled.p10, o.pooled.p90, o.pooled.p99, 100 * o.med.cv, o.pooled.n,
		pmb_num(tl, sizeof(tl), "%.4f", !o.tlb_na ? o.tlb : NAN), o.cal,
		pmb_num(kf, sizeof(kf), "%.4f", o.have_kflush ? o.kflush : NAN),
		pmb_num(ip, sizeof(ip), "%.4f", o.have_ipis ? o.ipis : NAN),
		pmb_num(pn, sizeof(pn), "%.4f", pair != NULL ? paired_ns : NAN),
		pmb_num(pr, sizeof(pr), "%.4f", pair != NULL ? paired_ratio : NAN),
		pmb_num(rs, sizeof(rs), "%.4f", ref_sd->n > 0 ? ref_sd->median : NAN),
		pmb_num(rl, sizeof(rl), "%.4f", ref_lf->n > 0 ? ref_lf->median : NAN));
out:
	free(lat);
	free(pair);
}

