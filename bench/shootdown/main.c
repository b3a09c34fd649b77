// SPDX-License-Identifier: GPL-2.0
/*
 * shootdown: what it costs to take guest memory away while the guest (and host
 * threads) are using it (what and how: shootdown.h). main() runs the steps:
 * parse, describe, then the sweeps; each operation is recorded as it is
 * measured (measure.c).
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "shootdown.h"

struct sd_run {
	struct pmb *b;
	int ncpu;
	long max_vcpus, only_vcpus, only_touchers;
	struct plan pl;
	int vcounts[4], nvc;
	const struct pmb_stats *ref_sd, *ref_lf;
};

/* parse: the common options and shootdown's parameters; bad input exits 2. */
static void parse(struct sd_run *s, int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "shootdown",
				 "TLB shootdown cost of punch-hole, munmap/madvise(DONTNEED) and memslot delete on guest memory with 0..2xnproc running vCPUs");
	struct plan *pl = &s->pl;

	s->b = b;
	s->ncpu = pmb_nr_cpus();
	s->max_vcpus = pmb_param_long(b, "max_vcpus", 2 * s->ncpu);
	s->only_vcpus = pmb_param_long(b, "only_vcpus", -1);	/* one configuration, for a closer look */
	s->only_touchers = pmb_param_long(b, "only_host_touchers", -1);
	pl->k[OP_PUNCH] = pl->k[OP_MADVISE] = pl->k[OP_MUNMAP] = pmb_param_long(b, "ops_per_rep", pmb_by_mode(b, 20, 400, 1000));
	pl->k_core = pmb_param_long(b, "core_ops_per_rep", pmb_by_mode(b, 20, 2000, 4000));
	pl->k[OP_SLOT_DEL] = pmb_param_long(b, "slot_ops_per_rep", pmb_by_mode(b, 3, 8, 40));
	pl->k[OP_PUNCH_2M] = pmb_param_long(b, "punch_2m_ops_per_rep", pmb_by_mode(b, 2, 10, 40));
	for (int op = 0; op < NR_OPS; op++)
		pl->kc[op] = pl->k[op];
	pl->kc[OP_PUNCH] = pl->kc[OP_MADVISE] = pl->kc[OP_MUNMAP] = pmb_by_mode(b, 20, 300, 1000);
	pl->trace_touchers = pmb_mode(b) != PMB_QUICK;
	pmb_params_done(b);
	pl->reps = pmb_by_mode(b, 3, 7, 15);
	pl->warmup = 1;
	for (int op = 0; op < NR_OPS; op++)
		pl->run[op] = true;
	pl->run[OP_PUNCH_2M] = pmb_mode(b) == PMB_FULL;
}

/* describe: the vCPU counts, the plan and the pinning, in the configuration and notes. */
static void describe(struct sd_run *s)
{
	struct pmb *b = s->b;
	const struct plan *pl = &s->pl;
	int ncpu = s->ncpu, want[4] = { 0, 1, ncpu, 2 * ncpu };
	json_t *jv = json_array();

	if (!pl->trace_touchers)
		pmb_note(b, "tracepoints (tlb:tlb_flush reasons, ipi:*) counted in the configurations "
			  "without host touchers only (--quick: each perf session costs ~0.2 s)");
	if (!pl->run[OP_PUNCH_2M])
		pmb_note(b, "punch_2m runs in --full only (each sample re-populates 512 pages)");
	if (s->max_vcpus > MAX_VCPUS) {
		pmb_note(b, "vCPU counts capped at %d (PM_MAX_VCPUS)", MAX_VCPUS);
		s->max_vcpus = MAX_VCPUS;
	}
	for (int i = 0; i < 4; i++) {
		bool dup = false;

		for (int j = 0; j < s->nvc; j++)
			dup |= s->vcounts[j] == want[i];
		if (!dup && want[i] <= s->max_vcpus && (pmb_mode(b) != PMB_SMOKE || want[i] <= 1) &&
		    (s->only_vcpus < 0 || want[i] == s->only_vcpus))
			s->vcounts[s->nvc++] = want[i];
	}
	for (int i = 0; i < s->nvc; i++)
		json_array_append_new(jv, json_integer(s->vcounts[i]));
	pmb_config(b, "vcpu_counts", jv);
	pmb_config(b, "host_touchers", json_integer(ncpu - 1));
	pmb_config(b, "main_thread_cpu", json_integer(ncpu - 1));
	pmb_config(b, "pinning", json_string("vCPU i on CPU i % nproc, host toucher t on CPU t, the timing thread on CPU nproc-1"));
	pmb_config(b, "oversubscribed_means", json_string("busy threads (vCPUs + host touchers + the timing thread) "
		"outnumber the CPUs"));
	pmb_config(b, "gmem_bytes", json_integer(GMEM_SIZE));
	pmb_config(b, "op_pages", json_integer(NP));
	pmb_config(b, "reps", json_integer(pl->reps));
	pmb_config(b, "ops_per_rep", json_integer(pl->k[OP_PUNCH]));
	pmb_config(b, "slot_ops_per_rep", json_integer(pl->k[OP_SLOT_DEL]));
	pmb_config(b, "core_ops_per_rep", json_integer(pl->k_core));
	pmb_config(b, "core_figure", json_string("punch with vcpus=1, host_touchers=0: median ns of a "
		"one-page PUNCH_HOLE while one vCPU on another CPU uses the memory"));
	pmb_config(b, "core_figure_paired", json_string("punch_over_paired: the same punch latency "
		"over its paired anon shootdown, median per repetition (cancels the drift of this "
		"machine's IPI round trip)"));
	if (s->nvc > 0 && s->vcounts[s->nvc - 1] > ncpu)
		pmb_note(b, "at %d vCPUs (2 x nproc) the vCPU threads outnumber the %d CPUs: they "
			  "time-share with each other and with the timing thread", 2 * ncpu, ncpu);
}

/* sweep, host only: the references first, with nothing else of ours running, then will-it-scale. */
static void sweep_host(struct sd_run *s)
{
	s->ref_sd = pmb_ref(s->b, PMB_REF_SHOOTDOWN);
	s->ref_lf = pmb_ref(s->b, PMB_REF_LOCAL_FLUSH);
	measure_wis(s->b, s->ncpu);
}

/* sweep, guest memory: every (host touchers, vCPUs) configuration, every operation. */
static void sweep_guest(struct sd_run *s, const struct pm_platform *p, const cpu_set_t *old)
{
	struct pmb *b = s->b;
	int ntouch_modes[2] = { 0, s->ncpu - 1 };
	struct pmb_table *tab;
	struct tracing tr;

	pmb_config(b, "platform", json_string(p->name));
	tracing_init(b, &tr);
	tab = pmb_table(b, "latency",
			"op,host_touchers,vcpus,oversubscribed,median_ns,p10_ns,p90_ns,p99_ns,cv_pct,n_ops,"
			"tlb_ipis_per_op,cal_ipis_per_op,kvm_remote_flush_per_op,ipi_sends_per_op,"
			"paired_ns,ratio_to_paired,ref_shootdown_ns,ref_local_ns");
	for (int ti = 0; ti < 2; ti++) {
		int ntouch = ntouch_modes[ti];

		if (s->only_touchers >= 0 && (s->only_touchers > 0) != (ti > 0))
			continue;
		if (ti == 1 && ntouch == 0) {
			pmb_note(b, "skipped: host touching threads need a second CPU");
			break;
		}
		for (int vi = 0; vi < s->nvc; vi++) {
			struct rig r;

			if (rig_start(&r, b, p, s->vcounts[vi], ntouch, s->ncpu) == 0)
				for (int op = 0; op < NR_OPS; op++)
					if (s->pl.run[op])
						measure_op(b, &r, &s->pl, op, &tr, tab, s->ref_sd, s->ref_lf);
			rig_stop(&r);
			sched_setaffinity(0, sizeof(*old), old);
		}
	}
}

int main(int argc, char **argv)
{
	static struct sd_run s;
	const struct pm_platform *p = NULL;
	const char *kvm_why;
	char why[256];
	cpu_set_t old;

	parse(&s, argc, argv);
	describe(&s);
	sched_getaffinity(0, sizeof(old), &old);
	sweep_host(&s);
	kvm_why = pmb_kvm_unusable();
	if (kvm_why)
		snprintf(why, sizeof(why), "%s", kvm_why);
	else
		p = pm_need_met(&(struct pm_need){ "sw-default", GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED },
				why, sizeof(why));
	if (!p) {
		pmb_note(s.b, "skipped: guest-memory operations: %s", why);
		return pmb_finish(s.b);
	}
	sweep_guest(&s, p, &old);
	return pmb_finish(s.b);
}
