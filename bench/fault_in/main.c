// SPDX-License-Identifier: GPL-2.0
/*
 * fault_in: guest first-touch throughput and per-page cost (what and how:
 * fault_in.h). main() runs the steps: parse, describe, sweep, record, compare.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "fault_in.h"

const enum pmb_backing fi_backings[FI_NR_BACKINGS] = {
	PMB_GMEM, PMB_ANON, PMB_SHMEM, PMB_THP, PMB_HUGETLB,
};

static const uint64_t gpages[] = { PM_PAGE_4K, PM_PAGE_2M };

/* ---- the sweep --------------------------------------------------------------------- */

struct result {
	bool ran;
	double rate, ns_page, retouch_ns, net_ns, faults_per_page;
};

/*
 * Record configuration r from its samples after the warm-up: rate (the core
 * figure), ns_per_page and retouch_ns_per_page, with the counters and its row.
 */
static void record_cfg(struct pmb *b, struct cfgrun *r, int warmup, struct pmb_table *tab,
		       struct result *res)
{
	struct pmb_spec rate_spec = { .metric = "rate", .unit = "pages/s", .cv_max = 0.03 };
	struct pmb_spec ns_spec = { .metric = "ns_per_page", .unit = "ns", .cv_max = 0.03,
		.ref = PMB_REF_FAULT_4K,
		.ref_ratio = "guest first touch per 4K page, per vCPU / host anon 4K first-touch fault" };
	struct pmb_spec re_spec = { .metric = "retouch_ns_per_page", .unit = "ns", .cv_max = 0.10,
		.ref = PMB_REF_FAULT_4K,
		.ref_ratio = "guest second write to an already-touched 4K page, per vCPU (the guest loop without the fault) / host anon 4K first-touch fault" };
	struct cfg *c = &r->c;
	int n = r->n - warmup;
	double *rate = r->rate + warmup, *re = r->retouch_ns + warmup;
	double *ns = calloc(n, sizeof(double)), *net = calloc(n, sizeof(double)), hfpp;
	struct pmb_stats st, ss;
	char vc[16], size[32];
	json_t *m, *rate_m, *ctr;

	snprintf(vc, sizeof(vc), "%d", c->vcpus);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)c->size);
	/* Headline: private memory (guest_memfd), 4K guest pages, one vCPU per CPU. */
	rate_spec.core = c->k == PMB_GMEM && c->gpage == PM_PAGE_4K && c->vcpus == pmb_nr_cpus();
	for (int i = 0; i < n; i++) {
		/* Per vCPU: the time a vCPU spends per page of its own part. */
		ns[i] = 1e9 * c->vcpus / rate[i];
		/* The same sample's passes, so the difference cancels what they share. */
		net[i] = ns[i] - re[i];
	}
#define CFG_PARAMS pmb_params("backing", pmb_backing_name(c->k), "guest_page", gpage_name(c->gpage), \
			      "vcpus", vc, "bytes", size, NULL)
	rate_m = m = pmb_record(b, &rate_spec, CFG_PARAMS, rate, n, &st);
	if (m) {
		json_object_set_new(m, "warmup", json_integer(warmup));
		pmb_ref_inverse(b, m, PMB_REF_FAULT_4K,
				   "guest first-touch pages/s (all vCPUs) / host anon 4K first-touch faults/s on one thread");
	}
	m = pmb_record(b, &ns_spec, CFG_PARAMS, ns, n, &ss);
	res->ns_page = ss.median;
	res->net_ns = pmb_median(net, n);
	if (m) {
		json_object_set_new(m, "warmup", json_integer(warmup));
		json_object_set_new(m, "setup_ms_median", json_real(pmb_median(r->setup_ms + warmup, n)));
		/* May be <= 0 (noise, or no fault at all): a field, not a metric pmb would refuse. */
		json_object_set_new(m, "net_fault_ns_per_page_median", json_real(res->net_ns));
	}
	m = pmb_record(b, &re_spec, CFG_PARAMS, re, n, &ss);
	if (m)
		json_object_set_new(m, "warmup", json_integer(warmup));
	res->retouch_ns = ss.median;
#undef CFG_PARAMS

	/* Counters over every sample of the configuration (warm-up included). */
	ctr = json_object();
	hfpp = (double)r->host_faults / (r->pages ? r->pages : 1);
	json_object_set_new(ctr, "samples", json_integer(r->n));
	json_object_set_new(ctr, "pages_touched", json_integer(r->pages));
	json_object_set_new(ctr, "host_faults", json_integer(r->host_faults));
	json_object_set_new(ctr, "host_faults_per_page", json_real(hfpp));
	json_object_set_new(ctr, "pgfault_system", json_integer(r->pgfault));
	if (c->k == PMB_THP) {
		json_object_set_new(ctr, "thp_fault_alloc", json_integer(r->thp_alloc));
		json_object_set_new(ctr, "thp_fault_fallback", json_integer(r->thp_fallback));
	}
	json_object_set_new(ctr, "kvm_pages_4k", json_integer(r->pages_4k));
	json_object_set_new(ctr, "kvm_pages_2m", json_integer(r->pages_2m));
	json_object_set_new(ctr, "kvm_exits", json_integer(r->exits));
	json_object_set_new(ctr, "kvm_exits_per_page", json_real((double)r->exits / (r->pages ? r->pages : 1)));
	json_object_set_new(ctr, "kvm_pf_fixed", json_integer(r->pf_fixed));
	json_object_set_new(ctr, "kvm_pf_taken", json_integer(r->pf_taken));
	/* guest_memfd may be populated by KVM directly, without any host mm fault. */
	if (c->k != PMB_GMEM)
		pmb_counter_require(b, ctr, "host_faults", "no host page fault counted in this process while the guest touched fresh memory");
	if (c->k == PMB_THP)
		pmb_counter_require(b, ctr, "thp_fault_alloc",
			     "no THP was allocated for the MADV_HUGEPAGE memory (fragmented memory or THP off)");
	{
		const char *why = r->kvm_stats ? "KVM binary stat reads 0 after the guest faulted memory in (this KVM backend does not maintain it)"
					       : "no KVM binary stats fd";

		/* The secondary MMU maps the slot at 4K or 2M: one of them must be non-zero. */
		if (!r->pages_4k && !r->pages_2m) {
			pmb_counter_require(b, ctr, "kvm_pages_4k", why);
			pmb_counter_require(b, ctr, "kvm_pages_2m", why);
		}
		pmb_counter_require(b, ctr, "kvm_pf_fixed", why);
		pmb_counter_require(b, ctr, "kvm_pf_taken", why);
		pmb_counter_require(b, ctr, "kvm_exits", why);
	}
	if (rate_m)
		json_object_set_new(rate_m, "counters", ctr);
	else
		json_decref(ctr);
	res->ran = true;
	res->rate = st.median;
	res->faults_per_page = hfpp;
	pmb_row(tab, "%s,%s,%d,%llu,%.6g,%.6g,%.6g,%.6g,%.4g,%.4g", pmb_backing_name(c->k), gpage_name(c->gpage),
		c->vcpus, (unsigned long long)(c->size / PM_PAGE_4K), st.median, res->ns_page,
		res->retouch_ns, res->net_ns, hfpp, pmb_median(r->setup_ms + warmup, n));
	free(ns);
	free(net);
}

/* The warm-up count and what a paired metric means, next to its statistics. */
static void annotate(json_t *m, int warmup, const char *what)
{
	json_object_set_new(m, "warmup", json_integer(warmup));
	json_object_set_new(m, "what", json_string(what));
}

/*
 * Record the paired samples of configuration r (FI_PAIRED): the guest first
 * touch over the host first touch (core for guest_memfd) and over the guest's
 * own write to the same, then mapped, pages; one row of the paired table.
 */
static void record_paired(struct pmb *b, struct cfgrun *r, int warmup, struct pmb_table *tab)
{
	struct pmb_spec hs = { .metric = "guest_fault_over_host_fault", .unit = "ratio", .cv_max = 0.03,
		/* Its reference is the paired host touch itself, measured in the same instant. */
		.ref = PMB_REF_NONE };
	struct pmb_spec ws = { .metric = "guest_fault_over_guest_write", .unit = "ratio", .cv_max = 0.03 };
	struct cfg *c = &r->c;
	int n = r->n - warmup;
	struct pmb_stats oh, ow, hn;
	char vc[16], size[32], ch[16];
	json_t *m;

	snprintf(vc, sizeof(vc), "%d", c->vcpus);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)c->size);
	snprintf(ch, sizeof(ch), "%d", PAIR_CHUNK);
	hs.core = c->k == PMB_GMEM && c->gpage == PM_PAGE_4K && c->vcpus == pmb_nr_cpus();
	ws.core = hs.core;
	pmb_stats_of(r->host_ns + warmup, n, &hn);
#define PAIRED_PARAMS pmb_params("backing", pmb_backing_name(c->k), "guest_page", gpage_name(c->gpage), \
				 "vcpus", vc, "bytes", size, "chunk_pages", ch, NULL)
	m = pmb_record(b, &hs, PAIRED_PARAMS, r->over_host + warmup, n, &oh);
	if (m) {
		annotate(m, warmup,
			"what a guest first touch costs relative to a host first touch on the same CPU at the same moment: "
			"each vCPU first-touches its part in chunks of chunk_pages 4K pages (one 8-byte write per page, "
			"a sync exit after each chunk); at each sync its thread, on the same CPU, first-touches as many "
			"pages of its own fresh anonymous MADV_NOHUGEPAGE memory; per chunk guest time / host time "
			"(ns per page / ns per page, the guest's including its sync exit), per sample the median over "
			"every chunk of every vCPU. The pairing within about a millisecond is meant to cancel this "
			"machine's drift of its absolute speed, which the rate metric carries; here the guest's speed "
			"drifts partly on its own (see guest_fault_over_guest_write)");
		json_object_set_new(m, "paired_with", json_pack("{s:s, s:s, s:o}", "what",
			"host anonymous 4K first touch by the vCPU's thread between the guest's chunks",
			"unit", "ns per page", "stats", pmb_stats_json(&hn)));
	}
	m = pmb_record(b, &ws, PAIRED_PARAMS, r->over_write + warmup, n, &ow);
	if (m) {
		annotate(m, warmup,
			"what a guest first touch costs relative to the guest's own write to an already-mapped page on the "
			"same vCPU at the same moment: the same paired samples, per chunk the guest's first touch / its "
			"second write to the same chunk right after the host's chunk (the guest loop and the sync exit "
			"without the fault), per sample the median over chunks; 1 would mean the first touch costs nothing "
			"beyond the guest loop. It cancels the drift of the guest's own speed, which the host touch does "
			"not share");
	}
#undef PAIRED_PARAMS
	pmb_row(tab, "%s,%d,%.4f,%.4f,%.6g", pmb_backing_name(c->k), c->vcpus, oh.median, ow.median, hn.median);
}

/* ---- the steps ---------------------------------------------------------------------- */

/* The run: its options (parse), what can run (describe), the samples and results. */
struct fi_run {
	struct pmb *b;
	uint64_t size, paired_size;
	const char *backings, *dpt;
	const char *loop;			/* guest_loop: touch or memstress */
	long image_kib;				/* image_page_kib: 2048 or 4 */
	long ovh_reps, up_reps;
	int reps, warmup;
	int vlist[3], nv;			/* vCPU counts */
	const char *skip[PMB_NR_BACKINGS];	/* why a backing does not run, NULL if it does */
	char why[PMB_NR_BACKINGS][256];
	struct cfgrun *runs;
	int nr;
	struct result res[PMB_NR_BACKINGS][2][3];	/* [backing][guest page][vCPU count] */
	double worst_ovh, up_ratio;
};

/* parse: the common options and fault_in's parameters; bad input exits 2. */
static void parse(struct fi_run *f, int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "fault_in",
				 "guest first-touch throughput and per-page cost by backing, guest page size and vCPUs");
	long size_mib = pmb_param_long(b, "size_mib", pmb_by_mode(b, 2, 16, 32));
	/* Paired samples: as large as the others by default (32 MiB in --quick was not steadier). */
	long paired_mib = pmb_param_long(b, "paired_size_mib", size_mib);

	f->b = b;
	f->backings = pmb_param_str(b, "backings", "gmem,anon,shmem,thp,hugetlb");
	f->dpt = pmb_param_str(b, "demand_paging", "");
	/* The guest's per-page loop: privmem's one write, or demand_paging_test's work. */
	f->loop = pmb_param_str(b, "guest_loop", "touch");
	/* Page size of the VM's own mappings: the library's 2M, or 4K as the selftests map. */
	f->image_kib = pmb_param_long(b, "image_page_kib", 2048);
	f->ovh_reps = pmb_param_long(b, "overhead_reps", pmb_by_mode(b, 3, 7, 11));
	f->up_reps = pmb_param_long(b, "upstream_reps", pmb_by_mode(b, 2, 5, 9));
	f->reps = pmb_reps(b);
	f->warmup = pmb_warmup(b);
	f->worst_ovh = NAN;
	f->up_ratio = -1;
	pmb_params_done(b);
	if (size_mib < 2 || size_mib % 2 || size_mib > 4096)
		pmb_die(b, "size_mib must be an even number of MiB in [2, 4096] (2M guest pages), got %ld", size_mib);
	if (paired_mib < 2 || paired_mib % 2 || paired_mib > 4096)
		pmb_die(b, "paired_size_mib must be an even number of MiB in [2, 4096], got %ld", paired_mib);
	if (strcmp(f->loop, "touch") && strcmp(f->loop, "memstress"))
		pmb_die(b, "guest_loop must be touch or memstress, got '%s'", f->loop);
	if (f->image_kib != 4 && f->image_kib != 2048)
		pmb_die(b, "image_page_kib must be 4 or 2048, got %ld", f->image_kib);
	f->size = (uint64_t)size_mib << 20;
	f->paired_size = (uint64_t)paired_mib << 20;
}

/* describe: the vCPU counts, the backings that can run here, the configuration and notes. */
static void describe(struct fi_run *f)
{
	struct pmb *b = f->b;
	int nproc = pmb_nr_cpus();
	json_t *vl = json_array(), *w = json_object();

	/* vCPUs: 1, nproc, 2 x nproc (--full); never more than the library's maximum. */
	f->vlist[f->nv++] = 1;
	if (nproc > 1)
		f->vlist[f->nv++] = nproc < MAX_VCPUS ? nproc : MAX_VCPUS;
	if (pmb_mode(b) == PMB_FULL && 2 * nproc <= MAX_VCPUS)
		f->vlist[f->nv++] = 2 * nproc;
	for (int i = 0; i < f->nv; i++)
		json_array_append_new(vl, json_integer(f->vlist[i]));
	pmb_config(b, "vcpus", vl);
	pmb_config(b, "bytes", json_integer(f->size));
	pmb_config(b, "paired_bytes", json_integer(f->paired_size));
	pmb_config(b, "kvm_module", json_string(pm_caps()->kvm_module));
	pmb_config(b, "guest_loop", json_string(f->loop));
	pmb_config(b, "image_page_kib", json_integer(f->image_kib));
	for (int i = 0; i < FI_NR_BACKINGS; i++) {
		enum pmb_backing k = fi_backings[i];
		bool selected = strstr(f->backings, pmb_backing_name(k));

		/* hugetlb: enough 2M pages for the larger of the two sample sizes. */
		f->skip[k] = !selected ? "not selected (--set backings)" :
			     pmb_backing_unusable(b, k, f->size > f->paired_size ? f->size : f->paired_size,
						  f->why[k], sizeof(f->why[k]));
		if (f->skip[k] && selected)
			pmb_note(b, "skipped: %s: %s", pmb_backing_name(k), f->skip[k]);
		json_object_set_new(w, pmb_backing_name(k), json_string(pmb_backing(k)->what));
	}
	pmb_config(b, "backing_is", w);
	pmb_note(b, "pages are 4K pages: the guest writes 8 bytes to every 4K page once; with 2M guest pages only the guest page tables change");
	if (!strcmp(f->loop, "memstress"))
		pmb_note(b, "guest_loop=memstress: rate, ns_per_page and retouch_ns_per_page come from demand_paging_test's per-page guest work (3 argument reads, a MINSTD step through a call, the write: 35 guest instructions per page instead of 6); the paired samples and the raw comparison keep the one-write loop");
	if (f->image_kib == 4)
		pmb_note(b, "image_page_kib=4: the VM's code, globals, stacks and page-table pool are mapped with 4K guest pages (4-level guest walks, as the KVM selftest library maps them) instead of 2M; the raw comparison keeps 2M");
	pmb_note(b, "timed: vCPU threads start to the slowest vCPU's end of its first pass; VM, vCPU and memslot creation are not timed (setup_ms_median, per sample)");
	pmb_note(b, "paired samples (4K guest pages, one vCPU per CPU, one configuration per backing, in the same rounds): the first touch in chunks of %d pages; after each chunk the vCPU's thread first-touches as many host anon 4K pages, then the guest rewrites the chunk; guest_fault_over_host_fault and guest_fault_over_guest_write are per-chunk ratios, median over the sample's chunks. They cancel this machine's drift of absolute speed, which rate carries", PAIR_CHUNK);
	pmb_note(b, "ns_per_page is per vCPU (time a vCPU spends per page of its own part: 1e9 * vcpus / rate); with more vCPUs than CPUs it includes time-sharing");
}

static struct cfgrun *add_run(struct fi_run *f, struct cfg c, double **a, double **b2, double **c3)
{
	struct cfgrun *r = &f->runs[f->nr++];

	r->c = c;
	*a = calloc(f->warmup + f->reps, sizeof(double));
	*b2 = calloc(f->warmup + f->reps, sizeof(double));
	*c3 = calloc(f->warmup + f->reps, sizeof(double));
	if (!*a || !*b2 || !*c3)
		pmb_die(f->b, "out of memory");
	return r;
}

/* A measured configuration: the sweep's, and the one upstream runs beside (compare). */
static struct cfg measured_cfg(const struct fi_run *f, enum pmb_backing k, uint64_t gpage, int vcpus)
{
	return (struct cfg){ .b = f->b, .k = k, .gpage = gpage, .vcpus = vcpus, .size = f->size,
			     .image_page = (uint64_t)f->image_kib << 10,
			     .guest = strcmp(f->loop, "memstress") ? FI_TWO_PASS : FI_TWO_PASS_MS };
}

/* sweep: every configuration's warm-up and measured samples, in rounds. */
static void sweep(struct fi_run *f)
{
	struct pmb *b = f->b;

	f->runs = calloc(2 * FI_NR_BACKINGS * 3 + FI_NR_BACKINGS, sizeof(*f->runs));
	if (!f->runs)
		pmb_die(b, "out of memory");
	for (int g = 0; g < 2; g++) {
		for (int j = 0; j < FI_NR_BACKINGS; j++) {
			enum pmb_backing k = fi_backings[j];

			if (f->skip[k])
				continue;
			for (int i = 0; i < f->nv; i++) {
				struct cfgrun *r = &f->runs[f->nr];

				add_run(f, measured_cfg(f, k, gpages[g], f->vlist[i]),
					&r->rate, &r->retouch_ns, &r->setup_ms);
			}
		}
	}
	/* Paired samples: 4K guest pages, one vCPU per CPU (the core configuration's shape). */
	for (int j = 0; j < FI_NR_BACKINGS; j++) {
		enum pmb_backing k = fi_backings[j];
		struct cfgrun *r = &f->runs[f->nr];

		if (!f->skip[k])
			add_run(f, (struct cfg){ .b = b, .k = k, .gpage = PM_PAGE_4K, .vcpus = f->vlist[f->nv > 1],
						 .size = f->paired_size, .guest = FI_PAIRED,
						 .image_page = (uint64_t)f->image_kib << 10 },
				&r->over_host, &r->over_write, &r->host_ns);
	}
	/*
	 * Round-robin over the configurations, in alternating order, rather than
	 * one configuration's repetitions back to back: when the machine's load
	 * drifts, every configuration samples the whole run instead of one
	 * stretch of it, so configurations stay comparable and runs repeatable.
	 */
	for (int round = 0; round < f->warmup + f->reps; round++) {
		pmb_progress(b, "round %d/%d (%s): %d configurations, %llu MiB each", round + 1,
			     f->warmup + f->reps, round < f->warmup ? "warm-up" : "measured", f->nr,
			     (unsigned long long)(f->size >> 20));
		for (int j = 0; j < f->nr; j++) {
			struct cfgrun *r = &f->runs[round % 2 ? f->nr - 1 - j : j];
			char why[200];

			if (r->failed)
				continue;
			/* Reserved at start; re-checked in case something released them since. */
			if (r->c.k == PMB_HUGETLB && pmb_hugetlb_reserve(b, r->c.size / PM_PAGE_2M, why, sizeof(why))) {
				pmb_error(b, "%s (during the run)", why);
				r->failed = true;
				continue;
			}
			if ((r->c.guest == FI_PAIRED ? sample_paired(r) : sample_two_pass(r)) < 0)
				r->failed = true;
		}
	}
}

/* Wide tables for the plot: one row per backing, one column per (guest page, vCPUs). */
static void record_wide(struct fi_run *f)
{
	struct pmb_table *cost, *net;
	char hdr[512];
	size_t off = 0;

	pmb_appendf(hdr, sizeof(hdr), &off, "backing");
	for (int g = 0; g < 2; g++)
		for (int i = 0; i < f->nv; i++)
			pmb_appendf(hdr, sizeof(hdr), &off, ",%s guest pages / %d vCPU%s", gpage_name(gpages[g]),
				    f->vlist[i], f->vlist[i] > 1 ? "s" : "");
	cost = pmb_table(f->b, "cost", hdr);
	net = pmb_table(f->b, "net", hdr);
	for (int j = 0; j < FI_NR_BACKINGS; j++) {
		enum pmb_backing k = fi_backings[j];
		char row[512], nrow[512];
		size_t ro = 0, no = 0;

		if (f->skip[k])
			continue;
		pmb_appendf(row, sizeof(row), &ro, "%s", pmb_backing_name(k));
		pmb_appendf(nrow, sizeof(nrow), &no, "%s", pmb_backing_name(k));
		for (int g = 0; g < 2; g++) {
			for (int i = 0; i < f->nv; i++) {
				const struct result *x = &f->res[k][g][i];

				pmb_cell(row, sizeof(row), &ro, "%.6g", x->ran ? x->ns_page : NAN);
				pmb_cell(nrow, sizeof(nrow), &no, "%.6g", x->ran ? x->net_ns : NAN);
			}
		}
		pmb_row(cost, "%s", row);
		pmb_row(net, "%s", nrow);
	}
}

/* record: every configuration's metrics and rows; false when nothing ran. */
static bool record(struct fi_run *f)
{
	struct pmb *b = f->b;
	struct pmb_table *tab = pmb_table(b, "configs",
		"backing,guest_page,vcpus,pages,rate_pps,ns_per_page,retouch_ns_per_page,net_fault_ns_per_page,host_faults_per_page,setup_ms");
	struct pmb_table *pair_tab = NULL;
	char line[400];
	size_t off = 0;
	bool any = false;

	for (int j = 0; j < f->nr; j++) {
		struct cfgrun *r = &f->runs[j];
		int g = r->c.gpage == PM_PAGE_2M, i = 0;

		while (f->vlist[i] != r->c.vcpus)
			i++;
		if (!r->failed && r->c.guest == FI_PAIRED) {
			if (!pair_tab)
				pair_tab = pmb_table(b, "paired",
						     "backing,vcpus,guest_fault_over_host_fault,guest_fault_over_guest_write,host_fault_ns_per_page");
			record_paired(b, r, f->warmup, pair_tab);
		} else if (!r->failed) {
			record_cfg(b, r, f->warmup, tab, &f->res[r->c.k][g][i]);
			any = true;
		}
		free(r->rate);
		free(r->retouch_ns);
		free(r->setup_ms);
		free(r->over_host);
		free(r->over_write);
		free(r->host_ns);
	}
	free(f->runs);
	/* Is a guest first touch one host fault? The process fault counter answers it. */
	pmb_appendf(line, sizeof(line), &off,
		    "measured: host page faults of this process per first-touched 4K page (4K guest pages, 1 vCPU):");
	for (int j = 0; j < FI_NR_BACKINGS; j++)
		if (f->res[fi_backings[j]][0][0].ran)
			pmb_appendf(line, sizeof(line), &off, " %s %.3f", pmb_backing_name(fi_backings[j]),
				    f->res[fi_backings[j]][0][0].faults_per_page);
	pmb_note(b, "%s", line);
	if (any)
		record_wide(f);
	return any;
}

/* compare: the harness overhead and the upstream selftest on the anon/4K work. */
static void compare(struct fi_run *f)
{
	struct pmb *b = f->b;
	struct pmb_table *ovh = NULL, *up = NULL;

	if (f->skip[PMB_ANON]) {
		pmb_note(b, "skipped: harness overhead: the anon configuration did not run");
	} else {
		pmb_note(b, "raw mode: VM, memslot, page tables and vCPUs come from the VM library (not timed); only the run differs: bare ioctl(KVM_RUN) until the report port exit, no run timer, no report parsing, same one-pass guest");
		ovh = pmb_table(b, "overhead", "vcpus,pages,library_rate_pps,raw_rate_pps,overhead_pct");
	}
	for (int i = 0; ovh && i < f->nv; i++) {
		double o;

		pmb_progress(b, "harness overhead: library runner vs raw KVM_RUN loop, %d vCPU%s", f->vlist[i],
			     f->vlist[i] > 1 ? "s" : "");
		if (measure_overhead(b, f->size, f->vlist[i], (int)f->ovh_reps, 1, ovh, &o) &&
		    (isnan(f->worst_ovh) || o > f->worst_ovh))
			f->worst_ovh = o;
	}

	if (!f->dpt[0]) {
		pmb_note(b, "skipped: upstream demand_paging_test: no --set demand_paging=PATH (build it with scripts/upstream-demand-paging.sh)");
		return;
	}
	if (access(f->dpt, X_OK)) {
		pmb_note(b, "skipped: upstream demand_paging_test: %s: %s", f->dpt, strerror(errno));
		return;
	}
	if (f->skip[PMB_ANON]) {
		pmb_note(b, "skipped: upstream demand_paging_test: the anon configuration did not run");
		return;
	}
	upstream_describe(b, f->dpt, !strcmp(f->loop, "memstress") && f->image_kib == 4);
	for (int i = 0; i < f->nv; i++) {
		double r = -1;

		struct cfg c = measured_cfg(f, PMB_ANON, PM_PAGE_4K, f->vlist[i]);

		if (!f->res[PMB_ANON][0][i].ran)
			continue;
		pmb_progress(b, "upstream demand_paging_test, %d vCPU%s", f->vlist[i], f->vlist[i] > 1 ? "s" : "");
		measure_upstream(b, f->dpt, &c, (int)f->up_reps, 1,
				 f->res[PMB_ANON][0][i].rate, &up, &r);
		if (i == 0)
			f->up_ratio = r;
	}
}

/* The one-row summary table the plot's title reads (NaN: not measured, left out). */
static void record_summary(struct fi_run *f)
{
	const struct pmb_stats *f4k = pmb_ref(f->b, PMB_REF_FAULT_4K);
	char o[32], u[32];

	pmb_row(pmb_table(f->b, "summary", "fault_anon_4k_ns,worst_overhead_pct,privmem_over_upstream_1vcpu,vcpu_counts"),
		"%.6g,%s,%s,%d", f4k->median, pmb_num(o, sizeof(o), "%.4f", 100 * f->worst_ovh),
		pmb_num(u, sizeof(u), "%.4f", f->up_ratio > 0 ? f->up_ratio : NAN), f->nv);
}

int main(int argc, char **argv)
{
	struct fi_run *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return 2;
	parse(f, argc, argv);
	if (pmb_kvm_unusable())
		pmb_skip(f->b, "nothing can run: %s", pmb_kvm_unusable());
	describe(f);
	sweep(f);
	if (!record(f)) {
		fprintf(stderr, "fault_in: nothing could run (no backing usable or every sample failed)\n");
		rc = pmb_finish(f->b) ? 1 : 4;
	} else {
		compare(f);
		record_summary(f);
		rc = pmb_finish(f->b);
	}
	free(f);
	return rc;
}
