// SPDX-License-Identifier: GPL-2.0
/*
 * hugepage: how much 2M backing survives churn (what and how: hugepage.h).
 * main() runs the steps: parse, describe, sweep, record.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caps.h"
#include "hugepage.h"

#define THP_DIR		"/sys/kernel/mm/transparent_hugepage"

const enum pmb_backing hp_backings[HP_NR_BACKINGS] = { PMB_THP, PMB_SHMEM_THP, PMB_HUGETLBFS, PMB_GMEM };

/* ---- what the machine does to 2M pages on its own --------------------------------------- */

#define PAGE_REPORTING	"/sys/module/page_reporting/parameters"

/*
 * Free page reporting (virtio-balloon) hands freed blocks of at least
 * page_reporting_order back to the hypervisor: allocating them again pays a
 * hypervisor fault, which shows in populate and re-fault times. -1: not here.
 */
static long long page_reporting(const char *param)
{
	char path[160], v[64];

	snprintf(path, sizeof(path), PAGE_REPORTING "/%s", param);
	return pmb_knob_get(path, v, sizeof(v)) ? -1 : atoll(v);
}

static long long khugepaged_value(const char *key)
{
	char path[160], v[64];

	snprintf(path, sizeof(path), THP_DIR "/khugepaged/%s", key);
	return pmb_knob_get(path, v, sizeof(v)) ? -1 : atoll(v);
}

/* khugepaged can collapse churned regions back: record how eagerly. */
static json_t *khugepaged_settings(void)
{
	static const char *const keys[] = { "pages_to_scan", "scan_sleep_millisecs",
		"alloc_sleep_millisecs", "max_ptes_none", "defrag" };
	json_t *o = json_object();
	char v[128];

	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (khugepaged_value(keys[i]) >= 0)
			json_object_set_new(o, keys[i], json_integer(khugepaged_value(keys[i])));
	if (!pmb_knob_get(THP_DIR "/defrag", v, sizeof(v)))
		json_object_set_new(o, "thp_defrag", json_string(v));
	return o;
}


/* ---- one backing --------------------------------------------------------------------- */

struct result {
	bool have;
	struct curve med;	/* medians over the repetitions */
	double sz[2];		/* crossings of 90% and 50% on the median curve */
};

static const char *sizing_text(double x, double at_end, char *buf, size_t len)
{
	if (isnan(x))
		snprintf(buf, len, "never (%.1f%% left after 100%% churn)", 100 * at_end);
	else if (x == 0)
		snprintf(buf, len, "from the start (not 2M-backed at churn 0)");
	else
		snprintf(buf, len, "from churn %.3g%% (%.2f punches per 2M)", 100 * x, x * PER_HPAGE);
	return buf;
}

/* The sizing answer: per repetition (stats) and on the median curve. */
static json_t *sizing(struct ctx *c, enum pmb_backing k, struct result *res, int first, int n)
{
	json_t *o = json_object();

	for (int t = 0; t < 2; t++) {
		static const char *const key[] = { "below_90pct_at", "below_50pct_at" };
		static const char *const per2m[] = { "punches_per_2m_at_90pct", "punches_per_2m_at_50pct" };
		struct pmb_spec xs = { .metric = key[t], .unit = "fraction of 4K pages churned", .cv_max = 0.03 };
		double thr = t ? 0.5 : 0.9, v[n];
		int reached = 0;

		res->sz[t] = crossing(c, res->med.backed, thr);
		for (int i = 0; i < n; i++) {
			const struct curve *cv = &c->curves[first + i];
			double x = crossing(c, c->backed_known ? cv->backed : cv->mapped, thr);

			if (!isnan(x) && x > 0)
				v[reached++] = x;
		}
		/* Only where every repetition crossed after some churn: a metric is never 0. */
		if (reached == n) {
			double mx = crossing(c, c->model, thr);
			struct pmb_stats st;
			json_t *m = pmb_record(c->b, &xs, pmb_params("backing", hp_name(k), NULL), v, n, &st);

			/*
			 * No physical reference fits a fraction: its same-run reference is
			 * the model's crossing on the same churn order (pmb's layout).
			 */
			if (m && mx > 0)
				pmb_ref_local(m, "model_any_punch_splits", xs.unit, mx, st.median / mx,
					"measured crossing / crossing if every 4K punch cost its 2M region "
					"(1: each punch splits exactly its region; > 1: 2M pages survive punches)");
		}
		json_object_set_new(o, key[t], isnan(res->sz[t]) ? json_string("not reached") :
				    json_real(res->sz[t]));
		if (!isnan(res->sz[t]))
			json_object_set_new(o, per2m[t], json_real(res->sz[t] * PER_HPAGE));
	}
	json_object_set_new(o, "retention_at_churn0_pct", json_real(100 * res->med.backed[0]));
	if (res->med.backed[0] < 0.9)
		json_object_set_new(o, "why", json_string("below at churn 0: not 2M-backed to begin with"));
	return o;
}

/* What the counters say about the backing (global vmstat deltas: other processes move them too). */
static void backing_notes(struct ctx *c, enum pmb_backing k, const struct result *res, json_t *cnt)
{
	struct pmb *b = c->b;
	double end = res->med.backed[c->nsteps - 1];

	if (k == PMB_THP) {
		pmb_counter_require(b, cnt, "thp_fault_alloc", "populating anonymous THP memory allocated no 2M page");
		pmb_note(b, "anon_thp: thp_deferred_split_page +%lld, thp_split_page +%lld during the curves: a "
			 "4K MADV_DONTNEED splits the PMD, but the rest of the 2M folio stays allocated and "
			 "PTE-mapped (not counted as 2M-backed here) until the deferred-split shrinker runs",
			 (long long)json_integer_value(json_object_get(cnt, "thp_deferred_split_page")),
			 (long long)json_integer_value(json_object_get(cnt, "thp_split_page")));
	} else if (k == PMB_SHMEM_THP) {
		pmb_counter_require(b, cnt, "thp_file_alloc", "populating shmem THP memory allocated no 2M page");
		pmb_note(b, "shmem_thp: thp_split_page +%lld during the curves: a 4K PUNCH_HOLE splits the 2M "
			 "page-cache folio at once; the re-fault then gets a 4K folio",
			 (long long)json_integer_value(json_object_get(cnt, "thp_split_page")));
	} else if (k == PMB_HUGETLBFS) {
		pmb_note(b, "hugetlb: a 4K PUNCH_HOLE inside a 2M hugetlbfs page only zeroes those 4K (only "
			 "holes covering whole huge pages free them), so retention stays 100%% by "
			 "construction; measured %.1f%% after 100%% churn", 100 * end);
	} else if (k == PMB_GMEM) {
		pmb_note(b, "guest_memfd: %.1f%% 2M-backed at churn 0 (4K folios only); MADV_HUGEPAGE on its "
			 "mapping: %s", 100 * res->med.backed[0], c->gmem_madvise);
	}
	if (k != PMB_GMEM && res->med.backed[0] < 0.99)
		pmb_warn(b, "%s: only %.1f%% 2M-backed right after populating (THP allocation fell back to "
			 "4K: fragmented or short memory?)", hp_name(k), 100 * res->med.backed[0]);
}

static void run_backing(struct ctx *c, enum pmb_backing k, struct result *res, json_t *all_sizing)
{
	struct pmb_spec spec = {
		.metric = "churn_refault", .unit = "ns", .cv_max = 0.05,
		.ref = PMB_REF_FAULT_4K,
		.ref_ratio = "punch + write re-fault of one 4K page (averaged over a whole churn curve, "
			     "splits included) / first-touch anonymous 4K fault",
	};
	struct pmb *b = c->b;
	struct pmb_snap s0, s1;
	struct pmb_stats st;
	const char *kvm_why = pmb_kvm_unusable();
	json_t *m, *curve, *cnt;
	int first;

	pmb_progress(b, "%s: %zu MiB, %zu steps", hp_name(k), c->size >> 20, c->nsteps);
	c->kind = k;
	c->ncurves = 0;
	c->failed = false;
	pmb_snap(&s0);
	m = pmb_measure(b, &spec, pmb_params("backing", hp_name(k), NULL), curve_sample, c, &st);
	pmb_snap(&s1);
	if (!m) {
		if (c->failed)
			pmb_error(b, "%s: %s", hp_name(k), c->why);
		return;
	}
	res->have = true;
	/* The repetitions are the last st.n curves (the warm-up ones came first). */
	first = c->ncurves - st.n;
	curve = json_array();
	for (size_t s = 0; s < c->nsteps; s++) {
		double vb[st.n], vm[st.n], vn[st.n];

		for (int i = 0; i < st.n; i++) {
			vb[i] = c->curves[first + i].backed[s];
			vm[i] = c->curves[first + i].mapped[s];
			vn[i] = c->curves[first + i].step_ns[s];
		}
		res->med.mapped[s] = pmb_median(vm, st.n);
		res->med.backed[s] = c->backed_known ? pmb_median(vb, st.n) : res->med.mapped[s];
		res->med.step_ns[s] = s ? pmb_median(vn, st.n) : NAN;
		json_array_append_new(curve, json_pack("{s:f, s:I, s:o, s:o, s:f, s:o}",
			"churn_fraction", (double)c->k[s] / c->npages, "pages_churned", (json_int_t)c->k[s],
			"backed_2m_pct", pct_or_null(c->backed_known ? res->med.backed[s] : -1),
			"mapped_2m_pct", pct_or_null(res->med.mapped[s]),
			"model_any_punch_splits_pct", 100 * c->model[s],
			"step_ns_per_page", s ? json_real(res->med.step_ns[s]) : json_null()));
	}
	json_object_set_new(m, "retention_curve", curve);
	cnt = pmb_snap_delta(&s0, &s1);
	json_object_set_new(m, "counters", cnt);
	json_object_set_new(all_sizing, hp_name(k), sizing(c, k, res, first, st.n));
	backing_notes(c, k, res, cnt);

	/* The same memory seen by a guest: KVM's leaf-mapping counts. */
	if (kvm_why) {
		json_object_set_new(m, "guest", json_pack("{s:s}", "skipped", kvm_why));
	} else {
		pmb_progress(b, "%s: guest phase, %zu MiB", hp_name(k), c->guest_size >> 20);
		json_object_set_new(m, "guest", guest_phase(c, k, c->guest_size));
	}
}

/* Plot tables: one column per backing (NaN where it did not run). */
static void write_tables(struct ctx *c, const struct result *res)
{
	struct pmb_table *tr = pmb_table(c->b, "retention",
		"churn_fraction,anon_thp,shmem_thp,hugetlb,guest_memfd,model_any_punch_splits");
	struct pmb_table *tc = pmb_table(c->b, "cost", "churn_fraction,anon_thp,shmem_thp,hugetlb,guest_memfd");

	for (size_t s = 0; s < c->nsteps; s++) {
		char r[256], t[256];
		size_t nr = 0, nt = 0;

		pmb_appendf(r, sizeof(r), &nr, "%.8g", (double)c->k[s] / c->npages);
		pmb_appendf(t, sizeof(t), &nt, "%.8g", (double)c->k[s] / c->npages);
		for (int i = 0; i < HP_NR_BACKINGS; i++) {
			const struct result *x = &res[hp_backings[i]];

			pmb_cell(r, sizeof(r), &nr, "%.3f", x->have ? 100 * x->med.backed[s] : NAN);
			pmb_cell(t, sizeof(t), &nt, "%.1f", x->have ? x->med.step_ns[s] : NAN);
		}
		pmb_row(tr, "%s,%.3f", r, 100 * c->model[s]);
		if (s)	/* churn 0 costs nothing */
			pmb_row(tc, "%s", t);
	}
}


/* ---- the steps ---------------------------------------------------------------------------- */

struct hp_run {
	struct ctx c;
	const char *only;
	long long collapsed0, scans0, reported0;
	bool avail[PMB_NR_BACKINGS];
	char why[PMB_NR_BACKINGS][300];
	struct result res[PMB_NR_BACKINGS];
	json_t *all_sizing;
};

/* parse: the common options and hugepage's parameters; bad input exits 2. */
static void parse(struct hp_run *h, int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "hugepage",
				 "2M retention of THP/hugetlb/guest_memfd memory under 4K punch + re-fault churn");
	long mib = pmb_param_long(b, "mib", pmb_by_mode(b, 8, 128, 512));
	long guest_mib = pmb_param_long(b, "guest_mib", pmb_by_mode(b, 4, 32, 128));
	struct ctx *c = &h->c;

	h->only = pmb_param_str(b, "backings", "anon_thp,shmem_thp,hugetlb,guest_memfd");
	c->b = b;
	c->seed = (uint64_t)pmb_param_long(b, "seed", 1);
	pmb_params_done(b);
	if (mib < 2 || mib % 2 || guest_mib < 2 || guest_mib % 2)
		pmb_die(b, "mib and guest_mib must be even (whole 2M regions) and >= 2");
	c->size = (size_t)mib << 20;
	c->guest_size = (size_t)guest_mib << 20;
	c->npages = c->size / PAGE;
	c->nregions = c->size / HPAGE;
	if (plan_steps(c, c->seed))
		pmb_die(b, "out of memory");
}

/* guest_memfd: the table's check passed; say what its flags mean here, and make its VM. */
static bool gmem_prepare(struct ctx *c, char *why, size_t len)
{
	const uint64_t need = pmb_backing(PMB_GMEM)->gmem_flags;
	long fl = pm_vm_cap(pm_caps(), 0, PM_KVM_CAP_GUEST_MEMFD_FLAGS);

	/* Capability-driven: a flag beyond the two known ones may be a huge-folio one. */
	if ((uint64_t)fl & ~need)
		pmb_note(c->b, "guest_memfd: KVM_CAP_GUEST_MEMFD_FLAGS=0x%lx has flags this benchmark "
			 "does not know (a huge-folio flag?); measured with MMAP|INIT_SHARED only", fl);
	else
		pmb_note(c->b, "guest_memfd: KVM_CAP_GUEST_MEMFD_FLAGS=0x%lx (MMAP|INIT_SHARED) has no "
			 "huge-folio flag: guest_memfd allocates 4K folios, so its 2M retention is 0 from "
			 "the start; measured anyway", fl);
	c->vm = pm_vm_create(0);
	if (!c->vm) {
		snprintf(why, len, "KVM_CREATE_VM failed: %s", strerror(errno));
		return false;
	}
	return true;
}

/* describe: the configuration, what the machine does on its own, which backings run here. */
static void describe(struct hp_run *h)
{
	struct ctx *c = &h->c;
	struct pmb *b = c->b;
	long memattr = pm_caps()->cap[PM_KVM_CAP_MEMORY_ATTRIBUTES];
	json_t *steps = json_array();
	char why[200];

	h->collapsed0 = khugepaged_value("pages_collapsed");
	h->scans0 = khugepaged_value("full_scans");
	h->reported0 = page_reporting("reported_kib");
	for (size_t s = 0; s < c->nsteps; s++)
		json_array_append_new(steps, json_real((double)c->k[s] / c->npages));
	pmb_config(b, "bytes", json_integer((json_int_t)c->size));
	pmb_config(b, "regions_2m", json_integer((json_int_t)c->nregions));
	pmb_config(b, "churn_fractions", steps);
	pmb_config(b, "churn_definition", json_string(
		"cumulative share of the memory's 4K pages punched once (MADV_DONTNEED for anonymous "
		"memory, fallocate PUNCH_HOLE|KEEP_SIZE for files) and re-faulted by a write, in one "
		"fixed random order (seed); 1/512 = one 4K page per 2M region on average"));
	pmb_config(b, "retention_definition", json_string(
		"share of the 2M-aligned regions backed by one order-9 folio (pagemap PFNs contiguous "
		"from a 2M-aligned compound head, 511 tails in kpageflags), read right after each step"));
	pmb_config(b, "khugepaged", khugepaged_settings());

	/* One CPU: the punches stay local flushes, the timing free of migrations. */
	pmb_pin_cpu(0);

	c->backed_known = pmb_backed_2m_readable(why, sizeof(why));
	if (!c->backed_known)
		pmb_note(b, "2M backing unreadable (%s, needs root): retention falls back to the smaps "
			 "2M-mapped share", why);
	for (int i = 0; i < HP_NR_BACKINGS; i++) {
		enum pmb_backing k = hp_backings[i];
		/* hugetlb: the curves and the guest phase use the pool one after the other. */
		size_t size = k == PMB_HUGETLBFS && c->guest_size > c->size ? c->guest_size : c->size;

		h->avail[k] = !pmb_backing_unusable(b, k, size, h->why[k], sizeof(h->why[k]));
	}
	if (h->avail[PMB_GMEM])
		h->avail[PMB_GMEM] = gmem_prepare(c, h->why[PMB_GMEM], sizeof(h->why[PMB_GMEM]));
	for (int i = 0; i < HP_NR_BACKINGS; i++) {
		enum pmb_backing k = hp_backings[i];

		if (!strstr(h->only, hp_name(k))) {
			h->avail[k] = false;
			snprintf(h->why[k], sizeof(h->why[k]), "not selected (--set backings=%s)", h->only);
		}
	}
	if (memattr > 0)
		pmb_note(b, "conversions not measured: KVM_CAP_MEMORY_ATTRIBUTES=0x%lx, but this benchmark "
			 "churns by hole punch only", memattr);
	else
		pmb_note(b, "conversions skipped: KVM_CAP_MEMORY_ATTRIBUTES=%ld (no private<->shared "
			 "conversions on this platform)", memattr);
}

/* sweep: each backing's curves (and their metrics) and its guest phase; how many ran. */
static int sweep(struct hp_run *h)
{
	int nrun = 0;

	h->all_sizing = json_object();
	for (int i = 0; i < HP_NR_BACKINGS; i++) {
		enum pmb_backing k = hp_backings[i];

		if (!h->avail[k]) {
			pmb_note(h->c.b, "%s skipped: %s", hp_name(k), h->why[k]);
			continue;
		}
		run_backing(&h->c, k, &h->res[k], h->all_sizing);
		nrun += h->res[k].have;
	}
	return nrun;
}

/* record: the plot tables, the sizing answer, what the machine did meanwhile. */
static void record(struct hp_run *h)
{
	struct ctx *c = &h->c;
	struct pmb *b = c->b;

	write_tables(c, h->res);
	pmb_result(b, "sizing", h->all_sizing);
	for (int i = 0; i < HP_NR_BACKINGS; i++) {
		enum pmb_backing k = hp_backings[i];
		const struct result *r = &h->res[k];
		double end = r->med.backed[c->nsteps - 1];
		char a[2][96];

		if (r->have)
			pmb_note(b, "sizing %s: 2M retention below 90%% %s; below 50%% %s", hp_name(k),
				 sizing_text(r->sz[0], end, a[0], sizeof(a[0])),
				 sizing_text(r->sz[1], end, a[1], sizeof(a[1])));
	}
	if (h->collapsed0 >= 0)
		pmb_note(b, "khugepaged during the run: %lld pages collapsed, %lld full scans (scan every "
			 "%lld ms, %lld pages per scan, max_ptes_none %lld: given time it can re-collapse "
			 "churned MADV_HUGEPAGE regions; retention is read right after each step)",
			 khugepaged_value("pages_collapsed") - h->collapsed0,
			 khugepaged_value("full_scans") - h->scans0, khugepaged_value("scan_sleep_millisecs"),
			 khugepaged_value("pages_to_scan"), khugepaged_value("max_ptes_none"));
	if (page_reporting("page_reporting_order") >= 0) {
		char moved[48] = "unknown";

		if (h->reported0 >= 0)
			snprintf(moved, sizeof(moved), "%lld MiB", (page_reporting("reported_kib") - h->reported0) >> 10);
		pmb_note(b, "free page reporting (page_reporting_order=%lld): freed blocks that large can go "
			 "back to the hypervisor and cost hypervisor faults when allocated again, noise in "
			 "populate and re-fault times; reported during the run: %s",
			 page_reporting("page_reporting_order"), moved);
	}
	pmb_note(b, "retention repetitions reuse one churn order (seed %llu): their spread is the "
		 "kernel's, not the placement's; --set seed=N samples another placement",
		 (unsigned long long)c->seed);
}

int main(int argc, char **argv)
{
	struct hp_run *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return 2;
	parse(h, argc, argv);
	describe(h);
	if (!sweep(h)) {
		fprintf(stderr, "hugepage: no backing could run (%s; %s; %s; %s)\n", h->why[hp_backings[0]],
			h->why[hp_backings[1]], h->why[hp_backings[2]], h->why[hp_backings[3]]);
		exit(4);
	}
	record(h);
	pm_vm_free(h->c.vm);
	free(h->c.perm);
	free(h->c.curves);
	rc = pmb_finish(h->c.b);
	free(h);
	return rc;
}
