// SPDX-License-Identifier: GPL-2.0
/*
 * directmap: fragmentation of the kernel's direct map by memory removed from it,
 * and what it costs kernel work afterwards (what and how: directmap.h). main()
 * runs the steps: parse, describe, kernel copy before, the phases, kernel copy
 * after, record.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "caps.h"
#include "directmap.h"

struct pmb *b;
struct pm_vm *vm;

static int parse_chunks(const char *s, size_t *out)
{
	int n = 0;
	char *end;

	while (*s && n < MAX_CHUNKS) {
		long v = strtol(s, &end, 10);

		if (end == s || v < 4 || v > 2048 || (v & (v - 1)))
			return -1;
		out[n++] = (size_t)v << 10;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return *s ? -1 : n;
}

static bool noise_overlap(const struct pmb_stats *x, const struct pmb_stats *y)
{
	return x->min <= y->max && y->min <= x->max;
}


struct dm_run {
	long budget_mib, kcopy_mib, seed;
	size_t chunks[MAX_CHUNKS], sample_bytes, kcopy_bytes;
	int nchunks;
	enum pmb_backing kinds[2];	/* what leaves the direct map here */
	int nkinds;
	const char *kvm_why;
	char vm_why[120], nodm_why[300];
	bool gmem_control;
	long long gmem_flags_cap;
	struct kbuf kb[4];		/* tmpfs, gmem: old (before), then new (after) */
	int nkb, nold;
};

/* parse: the common options and directmap's parameters; bad input exits 2. */
static void parse(struct dm_run *d, int argc, char **argv)
{
	const char *chunk_list;

	b = pmb_init(argc, argv, "directmap",
		     "direct-map fragmentation by memfd_secret (and guest_memfd without direct map): splits per GiB, DirectMap drift, cost to kernel copies");
	d->budget_mib = pmb_param_long(b, "budget_mib", pmb_by_mode(b, 4, 256, 256));
	split_cap = pmb_param_long(b, "split_cap", pmb_by_mode(b, 64, 512, 512));
	chunk_list = pmb_param_str(b, "chunks_kib", pmb_mode(b) == PMB_SMOKE ? "4,64" : "4,64,512,2048");
	sweep_reps = pmb_param_long(b, "sweep_reps", pmb_by_mode(b, 3, 7, 15));
	d->kcopy_mib = pmb_param_long(b, "kcopy_mib", pmb_by_mode(b, 8, 128, 256));
	kpasses = (int)pmb_param_long(b, "kcopy_passes", pmb_by_mode(b, 1, 3, 3));
	d->seed = pmb_param_long(b, "seed", 1);
	pmb_params_done(b);

	d->nchunks = parse_chunks(chunk_list, d->chunks);
	if (d->nchunks <= 0)
		pmb_die(b, "--set chunks_kib wants a comma list of powers of two in [4, 2048], got '%s'", chunk_list);
	if (d->budget_mib < 1 || d->budget_mib > BUDGET_MAX_MIB)
		pmb_die(b, "--set budget_mib wants 1..%d (direct-map splits last until reboot)", BUDGET_MAX_MIB);
	if (sweep_reps < 2 || sweep_reps > 1000 || d->kcopy_mib < 1 || d->kcopy_mib > 4096 || kpasses < 1 ||
	    split_cap < 1)
		pmb_die(b, "--set: sweep_reps >= 2, kcopy_mib 1..4096, kcopy_passes >= 1, split_cap >= 1");
}

/* What can run here: the kinds of memory that leave the direct map, and the VM for guest_memfd. */
static void probe(struct dm_run *d)
{
	char why[300];

	if (!pmb_backing_unusable(b, PMB_SECRETMEM, 0, why, sizeof(why)))
		d->kinds[d->nkinds++] = PMB_SECRETMEM;
	else
		pmb_note(b, "skipped: %s", why);
	d->kvm_why = pmb_kvm_unusable();
	if (!d->kvm_why) {
		vm = pm_vm_create(0);
		if (!vm) {
			snprintf(d->vm_why, sizeof(d->vm_why), "creating a VM: %s", strerror(errno));
			d->kvm_why = d->vm_why;
		}
	}
	if (vm) {
		d->gmem_flags_cap = pm_check_cap(vm->fd, KVM_CAP_GUEST_MEMFD_FLAGS);
		if (d->gmem_flags_cap < 0)
			d->gmem_flags_cap = 0;
		d->gmem_control = !pmb_backing_unusable(b, PMB_GMEM, 0, why, sizeof(why));
		if (!d->gmem_control)
			pmb_note(b, "skipped: guest_memfd control: %s", why);
	}
	if (d->kvm_why)
		snprintf(d->nodm_why, sizeof(d->nodm_why), "%s", d->kvm_why);
	if (d->kvm_why || pmb_backing_unusable(b, PMB_GMEM_NODM, 0, d->nodm_why, sizeof(d->nodm_why)))
		pmb_note(b, "skipped: guest_memfd without direct map: %s", d->nodm_why);
	else
		d->kinds[d->nkinds++] = PMB_GMEM_NODM;
}

/* The sample size (every sample of every off-direct-map phase fits the budget), and file limits. */
static void size_run(struct dm_run *d)
{
	int samples = (int)(1 + sweep_reps) * 2 * d->nchunks * d->nkinds;
	size_t maxchunk = 0, minchunk = d->chunks[0], need;
	struct rlimit rl;

	for (int i = 0; i < d->nchunks; i++) {
		maxchunk = d->chunks[i] > maxchunk ? d->chunks[i] : maxchunk;
		minchunk = d->chunks[i] < minchunk ? d->chunks[i] : minchunk;
	}
	d->sample_bytes = ((size_t)d->budget_mib * MIB / samples) / maxchunk * maxchunk;
	if (!d->sample_bytes)
		pmb_die(b, "budget_mib=%ld is too small for %d samples of at least the %zu KiB chunk: raise it or drop large chunks_kib",
			d->budget_mib, samples, maxchunk >> 10);
	budget_left = (long long)d->budget_mib * MIB;
	d->kcopy_bytes = (size_t)d->kcopy_mib * MIB;

	/* Enough descriptors for one sample of the smallest chunk. */
	need = d->sample_bytes / minchunk + 64;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < need)
			pmb_die(b, "RLIMIT_NOFILE hard limit %lu < %zu files per sample",
				(unsigned long)rl.rlim_max, d->sample_bytes / minchunk);
	}
}

/* describe: say what this does to the machine, before doing it; the starting state. */
static void describe(struct dm_run *d)
{
	/*
	 * Each page splits at most one 2 MiB region; a sample starts only while
	 * the run's splits are within split_cap, so the run splits at most
	 * split_cap + one sample's pages, and never more regions than RAM has.
	 */
	long long regions_max = (long long)d->budget_mib * MIB / PAGE;
	long long capped = split_cap + (long long)(d->sample_bytes / PAGE);
	long long ram_regions = pm_caps()->mem_kib / 2048;
	char names[64];

	snprintf(names, sizeof(names), "%s%s%s", pmb_backing_name(d->kinds[0]), d->nkinds > 1 ? " and " : "",
		 d->nkinds > 1 ? pmb_backing_name(d->kinds[1]) : "");
	if (regions_max > capped)
		regions_max = capped;
	if (regions_max > ram_regions)
		regions_max = ram_regions;
	pmb_note(b, "IRREVERSIBLE UNTIL REBOOT: removing a page of %s from the direct map splits the large mapping around it (1 GiB -> 2 MiB, 2 MiB -> 4K) unless it is split already, and freeing the page merges nothing back. This run allocates at most %ld MiB of it in total (budget_mib; %zu KiB per sample, %ld samples per phase) and starts no sample once its level-2 splits exceed split_cap=%ld, so it splits at most %lld 2 MiB regions (%lld MiB of direct map turned into 4K pages); in practice far fewer, as the same pages are reused. The default budget is the same in --quick and --full; more only with --set budget_mib=N (at most %d).",
		 names, d->budget_mib, d->sample_bytes >> 10, 1 + sweep_reps, split_cap, regions_max,
		 regions_max * 2, BUDGET_MAX_MIB);
	if (pmb_mode(b) != PMB_SMOKE)
		fprintf(stderr, "directmap: WARNING: direct-map splits are irreversible until reboot. This run allocates up to %ld MiB of %s and splits at most %lld 2 MiB direct-map regions (%lld MiB of direct map turned into 4K pages; split_cap=%ld).\n",
			d->budget_mib, names, regions_max, regions_max * 2, split_cap);

	kdst = aligned_alloc(PAGE, KCOPY_IO);
	if (!kdst)
		pmb_die(b, "out of memory");
	memset(kdst, 0x5a, KCOPY_IO);
	/* One CPU for everything measured here; the kernel TLB flushes still reach the others. */
	pmb_pin_cpu(pmb_nr_cpus() - 1);

	pmb_snap(&snap_start);
	for (int k = 0; k < NR_KEYS; k++)
		key_present[k] = pmb_snap_get(&snap_start, keys[k]) >= 0;
	pmb_config(b, "sample_bytes", json_integer((json_int_t)d->sample_bytes));
	pmb_config(b, "kvm_cap_guest_memfd_flags", json_integer(d->gmem_flags_cap));
	pmb_note(b, "starting state: DirectMap4k %.0f MiB, direct_map_level2_splits %lld and level3_splits %lld since boot: regions split earlier split no more, so an already fragmented machine shows fewer new splits (regions_2m_per_gib is what an unsplit direct map would take)",
		 pmb_snap_get(&snap_start, "DirectMap4k") / 1024.0,
		 pmb_snap_get(&snap_start, "direct_map_level2_splits"),
		 pmb_snap_get(&snap_start, "direct_map_level3_splits"));
	t_drift = pmb_table(b, "drift", "step,label,directmap4k_mib,directmap2m_mib,directmap1g_mib,level2_splits,level3_splits,level2_collapses,level3_collapses");
	t_splits = pmb_table(b, "splits", "mem,chunk,chunk_kib,free_order,mib_allocated,alloc_ns_per_page,free_ns_per_page,level2_splits,level3_splits,level2_splits_per_gib,regions_2m_per_gib,regions_2m_first_touched,collapses,directmap4k_kib_alloc,directmap4k_kib_free");
	drift_row("start");
	pmb_note(b, "regions_2m_per_gib: distinct 2 MiB physical regions the pages of one sample fall in (from /proc/self/pagemap), per GiB of sample (its size is the \"sample\" param): the level-2 splits that memory would cause on a direct map not split before. It is per sample, so bounded by the machine's region count, and larger samples pack more pages into each region");
}

/* 1. Kernel copy before the sweep, from a tmpfs and (with a VM) a guest_memfd buffer. */
static void kcopy_before(struct dm_run *d)
{
	if (!kbuf_make(&d->kb[d->nkb], "tmpfs", "old", d->kcopy_bytes))
		pmb_die(b, "tmpfs kernel-copy file of %ld MiB: %s", d->kcopy_mib, strerror(errno));
	d->nkb++;
	if (vm) {
		if (kbuf_make(&d->kb[d->nkb], "gmem", "old", d->kcopy_bytes)) {
			d->nkb++;
		} else {
			pmb_note(b, "skipped: kernel copy from guest_memfd: %s", strerror(errno));
			kbuf_free(&d->kb[d->nkb]);
		}
	} else {
		pmb_note(b, "skipped: guest_memfd control and kernel copy from guest_memfd: %s", d->kvm_why);
	}
	for (int i = 0; i < d->nkb; i++)
		kcopy_measure(&d->kb[i], "before", &d->kb[i].before);
	drift_row("kcopy before");
}

/* 2 + 3. The phases: the control first, so memory freed by the sweep is what the new buffers get. */
static void sweep(struct dm_run *d)
{
	struct phase *phases = calloc(MAX_PHASES, sizeof(*phases));
	int nphases = 0;

	if (!phases)
		pmb_die(b, "out of memory");
	if (d->gmem_control)
		for (int c = 0; c < d->nchunks; c++)
			phases[nphases++] = (struct phase){ .mem = PMB_GMEM, .chunk = d->chunks[c] };
	for (int k = 0; k < d->nkinds; k++)
		for (int c = 0; c < d->nchunks; c++)
			for (int r = 0; r < 2; r++)
				phases[nphases++] = (struct phase){ .mem = d->kinds[k], .chunk = d->chunks[c], .random = r };
	for (int i = 0; i < nphases; i++) {
		struct pmb_snap s;
		long long splits_now;

		phases[i].bytes = d->sample_bytes;
		phases[i].id = i + 1;
		phases[i].seed = 0x9e3779b97f4a7c15ULL ^ (uint64_t)d->seed ^ ((uint64_t)(i + 1) << 32);
		pmb_snap(&s);
		splits_now = splits_since_start(&s);
		if (pmb_backing(phases[i].mem)->off_direct_map && key_present[L2S] && splits_now > split_cap) {
			pmb_warn(b, "stopped before %s chunk %zu KiB: this run's level-2 splits (%lld) exceed split_cap=%ld",
				 pmb_backing_name(phases[i].mem), phases[i].chunk >> 10, splits_now, split_cap);
			break;
		}
		if (phases[i].bytes / phases[i].chunk < 4 && phases[i].random)
			pmb_note(b, "%s chunk %zu KiB: only %zu chunks per sample, so the random free order is nearly sequential",
				 pmb_backing_name(phases[i].mem), phases[i].chunk >> 10, phases[i].bytes / phases[i].chunk);
		run_phase(&phases[i]);
	}
	free(phases);
}

/* 4. Kernel copy after: the old buffers, then new ones that reuse what the sweep freed. */
static void kcopy_after(struct dm_run *d)
{
	d->nold = d->nkb;
	for (int i = 0; i < d->nold; i++) {
		if (kbuf_make(&d->kb[d->nkb], d->kb[i].source, "new", d->kcopy_bytes)) {
			d->nkb++;
		} else {
			pmb_error(b, "new %s kernel-copy buffer: %s", d->kb[i].source, strerror(errno));
			kbuf_free(&d->kb[d->nkb]);
		}
	}
	for (int i = 0; i < d->nkb; i++)
		kbuf_locate(&d->kb[i]);
	for (int i = 0; i < d->nkb; i++)
		kcopy_measure(&d->kb[i], "after", &d->kb[i].after);
	drift_row("kcopy after");
}

/* record: kernel copy after/before, and what the run left behind in the direct map. */
static void record(struct dm_run *d)
{
	struct kbuf *kb = d->kb;
	int nkb = d->nkb, old = d->nold;
	const char *kind0 = pmb_backing_name(d->kinds[0]);

	/* after / before: old buffer against itself, new buffer against the old one before. */
	{
		struct pmb_table *t = pmb_table(b, "kcopy", "i,source,path,buffer,before_gbs,before_min,before_max,after_gbs,after_min,after_max,after_over_before,pct_pages_in_split_regions,within_noise");
		json_t *res = json_array();

		for (int i = 0; i < nkb; i++) {
			const struct pmb_stats *bef = i < old ? &kb[i].before : &kb[i - old].before;
			double ratio = bef->median > 0 ? kb[i].after.median / bef->median : NAN;
			bool noise = noise_overlap(bef, &kb[i].after);
			char where[96], pct[32];

			pmb_row(t, "%d,%s,%s,%s,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.4f,%s,%s", i, kb[i].source,
				kb[i].path, kb[i].buffer, bef->median, bef->min, bef->max,
				kb[i].after.median, kb[i].after.min, kb[i].after.max, ratio,
				pmb_num(pct, sizeof(pct), "%.1f", kb[i].pct_split >= 0 ? kb[i].pct_split : NAN), noise ? "yes" : "no");
			if (kb[i].pct_split >= 0)
				snprintf(where, sizeof(where), "%.1f%% of its pages in 2 MiB regions this run split",
					 kb[i].pct_split);
			else
				snprintf(where, sizeof(where), "placement unknown (no PFNs)");
			pmb_note(b, "kernel copy %s %s, %s buffer: after/before %.3f (%.2f vs %.2f GB/s; CV %.1f%% / %.1f%%); %s%s",
				 kb[i].source, kb[i].path, kb[i].buffer, ratio, kb[i].after.median,
				 bef->median, 100 * bef->cv, 100 * kb[i].after.cv, where,
				 noise ? "; within noise (the before and after sample ranges overlap)" : "");
			json_array_append_new(res, json_pack("{s:s, s:s, s:s, s:f, s:o, s:b}", "source", kb[i].source,
						  "path", kb[i].path, "buffer", kb[i].buffer, "after_over_before", ratio,
						  "pct_pages_in_regions_split_by_this_run",
						  kb[i].pct_split >= 0 ? json_real(kb[i].pct_split) : json_null(),
						  "within_noise", noise));
		}
		pmb_result(b, "kcopy_after_over_before", res);
	}
	/*
	 * The same copy at the same time from unmovable pages (guest_memfd, mostly in
	 * regions the sweep split) and movable ones (tmpfs, outside them): the
	 * direct-map page size is the difference the sweep made between them.
	 */
	if (nkb == 4) {
		const struct kbuf *t = &kb[2], *g = &kb[3];

		pmb_note(b, "kernel copy after the sweep, new buffers: guest_memfd / tmpfs = %.3f (%.1f%% vs %.1f%% of their pages in regions this run split); before the sweep, old buffers: %.3f%s",
			 g->after.median / t->after.median, g->pct_split, t->pct_split,
			 kb[1].before.median / kb[0].before.median,
			 noise_overlap(&g->after, &t->after) ? "; after: within noise (sample ranges overlap)" : "");
	}

	/* What the run left behind. */
	{
		struct pmb_snap end;
		long long d[NR_KEYS] = { 0 };
		json_t *dm;

		pmb_snap(&end);
		delta(&snap_start, &end, d);
		dm = json_pack("{s:o, s:o, s:o, s:b}", "at_start", pmb_snap_json(&snap_start),
				"at_end", pmb_snap_json(&end), "over_run", pmb_snap_delta(&snap_start, &end),
				"collapsed_back", d[L2C] + d[L3C] > 0);
		pmb_note(b, "over the run: %lld level-2 and %lld level-3 splits, %lld + %lld collapses; DirectMap4k %+lld MiB, 2M %+lld MiB, 1G %+lld MiB (system-wide counters: other activity counts too)%s",
			 d[L2S], d[L3S], d[L2C], d[L3C], d[DM4K] / 1024, d[DM2M] / 1024, d[DM1G] / 1024,
			 d[L2C] + d[L3C] == 0 && d[DM4K] >= 0 ? "; nothing collapsed back after the frees" : "");
		if (reg2m.n) {
			long touched = 0;

			for (size_t i = 0; i < reg2m.n; i++)
				touched += reg2m.off_dm[i];
			pmb_note(b, "%s pages of this run touched %ld distinct 2 MiB regions (%ld MiB of direct map now 4K-mapped, split by this run or earlier)",
				 kind0, touched, touched * 2);
			json_object_set_new(dm, "regions_2m_touched_by_run", json_integer(touched));
		}
		if (!reg2m.n)
			pmb_note(b, "unavailable: physical placement (regions_2m_per_gib, pct_pages_in_regions_split_by_this_run): /proc/self/pagemap gave no PFNs (needs CAP_SYS_ADMIN)");
		pmb_result(b, "direct_map", dm);
	}
}

int main(int argc, char **argv)
{
	static struct dm_run d;

	parse(&d, argc, argv);
	probe(&d);
	if (!d.nkinds) {
		if (vm)
			pm_vm_free(vm);
		pmb_skip(b, "nothing removes memory from the direct map here: %s; guest_memfd: %s",
			 pm_caps()->secretmem_reason, d.nodm_why);
	}
	size_run(&d);
	describe(&d);
	kcopy_before(&d);
	sweep(&d);
	kcopy_after(&d);
	record(&d);
	for (int i = 0; i < d.nkb; i++)
		kbuf_free(&d.kb[i]);
	free(kdst);
	if (vm)
		pm_vm_free(vm);
	return pmb_finish(b);
}
