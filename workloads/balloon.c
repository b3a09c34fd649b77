// SPDX-License-Identifier: GPL-2.0
/*
 * balloon: balloon-like churn of guest memory, what the host pays per MiB.
 *
 * A guest gives memory back and takes it again, over and over: a balloon
 * driver inflating and deflating, or free page reporting. The VMM discards what
 * it was given: QEMU's ram_block_discard_range() punches the range out of a
 * file-backed RAM block (fallocate(PUNCH_HOLE | KEEP_SIZE), which is also how
 * a guest_memfd is discarded) and madvise(MADV_DONTNEED)s anonymous RAM. The
 * two units are the kernel's:
 *   4k   virtio-balloon hands the host 4 KiB page frame numbers
 *        (drivers/virtio/virtio_balloon.c, VIRTIO_BALLOON_PFN_SHIFT 12);
 *   2m   free page reporting reports free blocks of page_reporting_order,
 *        pageblock_order by default: 2 MiB on x86 (mm/page_reporting.c).
 *
 * The rig: one VM (sw-default), one vCPU, a region of size_mib MiB mapped by the
 * guest with 2M page tables, backed by a guest_memfd (MMAP | INIT_SHARED, its own
 * mapping as userspace_addr) or by anonymous THP memory (where guest_memfd cannot
 * be mapped, and as the reference a VMM had before guest_memfd). The guest
 * writes every page once (boot). Each round the host picks churn_pct of the
 * region at random in the round's unit (a new set every round, fixed seed),
 * writes the list into a control page the guest reads, and, while the vCPU waits
 * in its exit like a virtio-balloon driver waits for the host's ack, discards the
 * ranges; then the guest writes every page of every range again (re-fault).
 *
 * Figures per backing x unit (a sample is one round):
 *   churn    µs per churned MiB, discard + re-fault (headline: guest_memfd, 4k)
 *   discard  µs per MiB of the discards alone (the VMM's syscalls)
 *   refault  µs per MiB of the guest's re-faults (resume to the next exit)
 * and the four costs (bench/lib/pmb_costs.h) over the measured rounds, and 2M
 * retention after every round: the host mapping's (pagemap + kpageflags) and
 * KVM's (pages_2m against pages_4k), in the balloon-retention table.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform.h"
#include "pmb_backing.h"
#include "pmb_vm.h"
#include "wl.h"

#define REGION_GPA	PM_TEST_GPA
#define REGION_SLOT	PM_SLOT_FIRST_FREE
#define CTL_SLOT	(PM_SLOT_FIRST_FREE + 1)
#define CTL_GPA		(PM_TEST_GPA + (64ULL << 30))
#define MAX_ROUNDS	64

/* Control page words; the range list follows. */
enum { CTL_STOP, CTL_N, CTL_PAGES, CTL_LIST };

/* From bench/lib's backings table; named as bench/hugepage names them (retention_name). */
enum backing { B_GMEM, B_ANON, NR_BACKINGS };
static const enum pmb_backing backing_of[NR_BACKINGS] = { PMB_GMEM, PMB_THP };
#define backing_name(k)	(pmb_backing(backing_of[k])->retention_name)

PM_GUEST_CODE_BEGIN

/* Write every page once, then per round every page of every range the host lists. */
static PM_GUEST void guest_balloon(uint64_t gpa, uint64_t size, uint64_t ctl)
{
	volatile uint64_t *c = (volatile uint64_t *)ctl;

	for (uint64_t off = 0; off < size; off += WL_PAGE)
		pm_guest_write64((void *)(gpa + off), off | 1);
	GUEST_SYNC(0);
	for (uint64_t round = 1; !pm_guest_read64(&c[CTL_STOP]); round++) {
		uint64_t n = pm_guest_read64(&c[CTL_N]), pages = pm_guest_read64(&c[CTL_PAGES]);

		for (uint64_t i = 0; i < n; i++) {
			uint64_t first = pm_guest_read64(&c[CTL_LIST + i]);

			for (uint64_t p = 0; p < pages; p++)
				pm_guest_write64((void *)(gpa + (first + p) * WL_PAGE), round << 32 | p);
		}
		GUEST_SYNC(round);
	}
	GUEST_DONE();
}

/*
 * The guest's other vCPU: it keeps running (and writing its own word) while the
 * balloon vCPU waits for the host, so a discard has a remote CPU in guest mode to
 * flush, as in any guest with more than one vCPU.
 */
static PM_GUEST void guest_busy(uint64_t ctl, uint64_t word, uint64_t unused)
{
	volatile uint64_t *c = (volatile uint64_t *)ctl;

	(void)unused;
	for (uint64_t i = 1; !pm_guest_read64(&c[CTL_STOP]); i++) {
		pm_guest_write64(&c[word], i);
		if (!(i & 0xfffff))
			GUEST_SYNC(1);	/* an exit now and then: the run timeout is per KVM_RUN */
	}
	GUEST_DONE();
}

PM_GUEST_CODE_END

struct rig {
	struct pmb *b;
	enum backing kind;
	size_t size, unit_pages, nunits, n;	/* n ranges of unit_pages per round */
	struct pm_vm *vm;
	struct pm_vcpu *vcpu, *busy;
	int nbusy;		/* 0 or 1 busy vCPU */
	pthread_t busy_thread;
	bool busy_started;
	struct pmb_kvm_stats *ks;
	struct pmb_mem mem;	/* the region */
	uint64_t *ctl;
	uint64_t *pick;		/* nunits indexes, partially shuffled per round */
	uint64_t seed;
	char why[512];
};

/* The busy vCPU's thread, pinned to CPU 1: resumed after every exit until it is done. */
static void *busy_main(void *arg)
{
	struct rig *r = arg;
	struct pm_exit e;

	pmb_pin_cpu(1);
	while (pm_vcpu_run(r->busy, &e) == PM_RUN_SYNC)
		;
	return NULL;
}

static void rig_stop(struct rig *r)
{
	if (r->vcpu && r->ctl) {	/* let the guests finish: nothing left to do */
		struct pm_exit e;

		r->ctl[CTL_STOP] = 1;
		r->ctl[CTL_N] = 0;
		pm_vcpu_run(r->vcpu, &e);
	}
	if (r->busy_started)
		pthread_join(r->busy_thread, NULL);
	r->busy_started = false;
	if (r->ks)
		pmb_kvm_stats_close(r->ks);
	if (r->vm)
		pm_vm_free(r->vm);
	if (r->mem.p)
		pmb_mem_close(&r->mem);
	free(r->pick);
	r->ks = NULL;
	r->vm = NULL;
	r->mem.p = NULL;
	r->pick = NULL;
}

/* The VM, its region and control slot, the vCPU run to its first exit (region written). */
static int rig_start(struct rig *r, const struct pm_platform *p)
{
	size_t ctl_size = ((CTL_LIST + r->n) * 8 + WL_PAGE + WL_HPAGE - 1) & ~(WL_HPAGE - 1);
	struct pm_exit e;

	r->vm = pm_platform_vm(p);
	if (!r->vm) {
		snprintf(r->why, sizeof(r->why), "creating a %s VM: %s", p->name, strerror(errno));
		return -1;
	}
	r->vm->timeout_ms = 60000;
	if (pmb_mem_open(&r->mem, backing_of[r->kind], r->vm, r->size, r->why, sizeof(r->why)))
		return -1;
	if (pm_vm_add_memory(r->vm, REGION_SLOT, REGION_GPA, r->size, r->mem.p,
			     r->mem.fd, 0, PM_PAGE_2M) ||
	    pm_vm_add_memory(r->vm, CTL_SLOT, CTL_GPA, ctl_size, NULL, -1, 0, PM_PAGE_4K)) {
		snprintf(r->why, sizeof(r->why), "adding the memslots: %s", strerror(errno));
		return -1;
	}
	r->ctl = pm_gpa_to_hva(r->vm, CTL_GPA, ctl_size);
	r->ks = pmb_kvm_stats_open(r->vm->fd);
	r->vcpu = pm_vcpu_add(r->vm, guest_balloon, REGION_GPA, r->size, CTL_GPA);
	if (r->nbusy)	/* its word on the control slot's last page, away from the list */
		r->busy = pm_vcpu_add(r->vm, guest_busy, CTL_GPA, ctl_size / 8 - 512, 0);
	r->pick = malloc(r->nunits * sizeof(*r->pick));
	if (!r->vcpu || (r->nbusy && !r->busy) || !r->pick) {
		snprintf(r->why, sizeof(r->why), "adding the vCPUs: %s", strerror(errno));
		return -1;
	}
	pmb_pin_cpu(0);
	if (r->nbusy) {
		if (pthread_create(&r->busy_thread, NULL, busy_main, r)) {
			snprintf(r->why, sizeof(r->why), "cannot start the busy vCPU's thread");
			return -1;
		}
		r->busy_started = true;
	}
	for (size_t i = 0; i < r->nunits; i++)
		r->pick[i] = i;
	if (pm_vcpu_run(r->vcpu, &e) != PM_RUN_SYNC || e.rep.vals[0] != 0) {
		snprintf(r->why, sizeof(r->why), "the guest's first pass over the region did not reach its exit: %s",
			 e.msg);
		return -1;
	}
	return 0;
}

/* A fresh random set of n distinct units (partial Fisher-Yates), written for the guest. */
static void pick_ranges(struct rig *r)
{
	for (size_t i = 0; i < r->n; i++) {
		size_t j = i + pmb_rng(&r->seed) % (r->nunits - i);
		uint64_t t = r->pick[i];

		r->pick[i] = r->pick[j];
		r->pick[j] = t;
		r->ctl[CTL_LIST + i] = r->pick[i] * r->unit_pages;
	}
	r->ctl[CTL_N] = r->n;
	r->ctl[CTL_PAGES] = r->unit_pages;
}

/* MADV_DONTNEED of anonymous memory, PUNCH_HOLE of the guest_memfd (pmb_mem_punch). */
static int discard(struct rig *r, size_t first_page)
{
	return pmb_mem_punch(&r->mem, first_page * WL_PAGE, r->unit_pages * WL_PAGE);
}

/* One round: discard the listed ranges, let the guest re-fault them. ns of each part. */
static int round_once(struct rig *r, uint64_t round, double *discard_ns, double *refault_ns)
{
	struct pm_exit e;
	uint64_t t0, t1, t2;

	pick_ranges(r);
	t0 = pmb_now_ns();
	for (size_t i = 0; i < r->n; i++) {
		if (discard(r, r->ctl[CTL_LIST + i])) {
			snprintf(r->why, sizeof(r->why), "discarding a %s range: %s",
				 r->kind == B_ANON ? "MADV_DONTNEED" : "PUNCH_HOLE", strerror(errno));
			return -1;
		}
	}
	t1 = pmb_now_ns();
	if (pm_vcpu_run(r->vcpu, &e) != PM_RUN_SYNC || e.rep.vals[0] != round) {
		snprintf(r->why, sizeof(r->why), "round %llu: the guest's re-fault did not reach its exit: %s",
			 (unsigned long long)round, e.msg);
		return -1;
	}
	t2 = pmb_now_ns();
	*discard_ns = (double)(t1 - t0);
	*refault_ns = (double)(t2 - t1);
	return 0;
}

struct series {
	double host[MAX_ROUNDS + 1], kvm[MAX_ROUNDS + 1];	/* % after each round, < 0 unknown */
	struct pmb_stats discard, refault;			/* µs per churned MiB */
};

/* One backing x unit: warm-up and measured rounds, the metrics and the four costs. */
static int run_config(struct pmb *b, const struct pm_platform *p, struct rig *r, int warmup, int reps,
		      bool core, json_t *all_costs, struct series *ser)
{
	double *dis = calloc(reps, sizeof(double)), *ref = calloc(reps, sizeof(double));
	double *churn = calloc(reps, sizeof(double)), mib = (double)r->n * r->unit_pages * WL_PAGE / (1 << 20);
	const char *unit = r->unit_pages == 1 ? "4k" : "2m";
	struct pmb_spec sp = { .unit = "us/MiB", .cv_max = 0.10, .ref = PMB_REF_FAULT_4K,
			       .ref_ratio = "µs per churned MiB / ns per anonymous 4K first-touch fault (0.256: one such fault per churned 4K page)" };
	struct pmb_costs wc;
	json_t *m, *costs;
	char label[64];
	int rc = -1;

	if (!dis || !ref || !churn || rig_start(r, p))
		goto out;
	pmb_progress(b, "%s, %s units: %zu x %zu pages per round, %d + %d rounds", backing_name(r->kind),
		     unit, r->n, r->unit_pages, warmup, reps);
	ser->host[0] = 100 * pmb_backed_2m(r->mem.p, r->size);
	ser->kvm[0] = 100 * pmb_kvm_2m_fraction(r->ks);
	for (int i = 0; i < warmup; i++) {
		double d, f;

		if (round_once(r, i + 1, &d, &f))
			goto out;
	}
	pmb_costs_begin(&wc, b, r->ks);
	for (int i = 0; i < reps; i++) {
		if (round_once(r, warmup + i + 1, &dis[i], &ref[i])) {
			pmb_costs_end(&wc);
			json_decref(wc.traced);
			goto out;
		}
		ser->host[i + 1] = 100 * pmb_backed_2m(r->mem.p, r->size);
		ser->kvm[i + 1] = 100 * pmb_kvm_2m_fraction(r->ks);
		churn[i] = (dis[i] + ref[i]) / 1e3 / mib;
		dis[i] = dis[i] / 1e3 / mib;
		ref[i] = ref[i] / 1e3 / mib;
	}
	pmb_costs_end(&wc);
	sp.metric = "churn";
	sp.core = core;
	m = pmb_record(b, &sp, pmb_params("backing", backing_name(r->kind), "unit", unit, NULL), churn, reps, NULL);
	sp.core = false;
	sp.metric = "discard";
	pmb_record(b, &sp, pmb_params("backing", backing_name(r->kind), "unit", unit, NULL), dis, reps,
		   &ser->discard);
	sp.metric = "refault";
	pmb_record(b, &sp, pmb_params("backing", backing_name(r->kind), "unit", unit, NULL), ref, reps,
		   &ser->refault);
	costs = pmb_costs_json(&wc, &(struct pmb_cost_in){
		.mib = mib * reps,
		.host_2m = ser->host[reps] / 100,
		.host_2m_why = "pagemap/kpageflags unreadable (root needed)",
		.bounce_bytes = -1, .bounce_ns = -1,
		.bounce_why = "not applicable: balloon churn moves no data through shared pages",
		.dm_why = "no direct-map split: discarded and re-faulted guest memory stays in the kernel "
			  "direct map (guest_memfd without a no-direct-map flag, anonymous memory)",
		.tlb_why = r->nbusy ? NULL : "no TLB shootdown counted: the discards ran on the vCPU's own "
			   "thread while it waited in its exit and no other vCPU ran (busy_vcpus=0 or one CPU)",
	});
	json_object_set_new(costs, "mib_churned_per_round", json_real(mib));
	snprintf(label, sizeof(label), "%s/%s", backing_name(r->kind), unit);
	pmb_costs_attach(m, all_costs, label, costs);
	rc = 0;
out:
	if (rc)
		pmb_error(b, "%s, %s units: %s", backing_name(r->kind), unit, r->why);
	rig_stop(r);
	free(dis);
	free(ref);
	free(churn);
	return rc;
}

/* ",12.34", or ",NaN" (gnuplot's missing value) when unknown. */
static int pct_cell(char *buf, size_t len, double v)
{
	return v >= 0 ? snprintf(buf, len, ",%.2f", v) : snprintf(buf, len, ",NaN");
}

static void write_tables(struct pmb *b, struct series ser[NR_BACKINGS][2], bool ran[NR_BACKINGS][2], int reps)
{
	struct pmb_table *t = pmb_table(b, "retention",
		"round,guest_memfd/4k host,guest_memfd/4k kvm,guest_memfd/2m host,guest_memfd/2m kvm,"
		"anon_thp/4k host,anon_thp/4k kvm,anon_thp/2m host,anon_thp/2m kvm");

	for (int i = 0; i <= reps; i++) {
		char row[512];
		size_t off = snprintf(row, sizeof(row), "%d", i);

		for (int k = 0; k < NR_BACKINGS; k++)
			for (int u = 0; u < 2; u++) {
				double h = ran[k][u] ? ser[k][u].host[i] : -1, v = ran[k][u] ? ser[k][u].kvm[i] : -1;

				off += pct_cell(row + off, sizeof(row) - off, h);
				off += pct_cell(row + off, sizeof(row) - off, v);
			}
		pmb_row(t, "%s", row);
	}
	t = pmb_table(b, "cost", "config,discard us/MiB,refault us/MiB");
	for (int k = 0; k < NR_BACKINGS; k++)
		for (int u = 0; u < 2; u++)
			if (ran[k][u])
				pmb_row(t, "%s/%s,%.1f,%.1f", backing_name(k), u ? "2m" : "4k",
					ser[k][u].discard.median, ser[k][u].refault.median);
}

int main(int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "balloon",
		"balloon-like churn: the VMM discards (PUNCH_HOLE / MADV_DONTNEED) 4K or 2M ranges the guest "
		"gave back, the guest re-faults them; cost per churned MiB, shootdowns, 2M retention over rounds");
	long size_mib = pmb_param_long(b, "size_mib", pmb_by_mode(b, 8, 64, 256));
	long churn_pct = pmb_param_long(b, "churn_pct", 25);
	long seed = pmb_param_long(b, "seed", 1);
	long busy = pmb_param_long(b, "busy_vcpus", pmb_nr_cpus() > 1);
	const char *backings = pmb_param_str(b, "backings", "guest_memfd,anon_thp");
	int reps = pmb_reps(b), warmup = pmb_warmup(b);
	struct series (*ser)[2] = calloc(NR_BACKINGS, sizeof(*ser));
	bool ran[NR_BACKINGS][2] = { { false } };
	const struct pm_platform *p;
	json_t *all_costs;
	char why[256];
	int nran = 0;

	pmb_params_done(b);
	if (size_mib < 4 || size_mib % 2 || size_mib > 4096 || churn_pct < 1 || churn_pct > 100 ||
	    busy < 0 || busy > 1)
		pmb_die(b, "size_mib wants an even number in 4..4096, churn_pct 1..100, busy_vcpus 0 or 1");
	if (reps > MAX_ROUNDS - warmup)
		pmb_die(b, "at most %d rounds (warm-up + repetitions)", MAX_ROUNDS);
	if (!ser)
		pmb_die(b, "out of memory");
	if (pmb_kvm_unusable()) {
		pmb_skip(b, "nothing can run: %s", pmb_kvm_unusable());
	}
	p = pmb_vm_platform(why, sizeof(why));
	if (!p) {
		pmb_skip(b, "nothing can run: %s", why);
	}
	pmb_config(b, "platform", json_string(p->name));
	pmb_config(b, "region_mib", json_integer(size_mib));
	pmb_config(b, "churn_pct", json_integer(churn_pct));
	pmb_config(b, "rounds", json_pack("{s:i, s:i}", "warmup", warmup, "measured", reps));
	pmb_config(b, "guest_page_tables", json_string("2M"));
	pmb_config(b, "vcpus", json_pack("{s:s, s:i}", "balloon", "1, on this thread, pinned to CPU 0",
					 "busy", (int)busy));
	pmb_config(b, "discard", json_pack("{s:s, s:s}", "guest_memfd",
		"fallocate(PUNCH_HOLE|KEEP_SIZE) on the guest_memfd", "anon_thp", "madvise(MADV_DONTNEED)"));
	pmb_ref(b, PMB_REF_FAULT_4K);
	all_costs = json_object();

	for (int k = 0; k < NR_BACKINGS; k++) {
		if (!strstr(backings, backing_name(k)))
			continue;
		if (pmb_backing_unusable(b, backing_of[k], (size_t)size_mib << 20, why, sizeof(why))) {
			pmb_note(b, "%s skipped: %s", backing_name(k), why);
			continue;
		}
		for (int u = 0; u < 2; u++) {
			struct rig r = { .b = b, .kind = k, .size = (size_t)size_mib << 20,
					 .unit_pages = u ? WL_PER_HPAGE : 1, .nbusy = (int)busy, .seed = (uint64_t)seed * 2 + u + 1 };

			r.nunits = r.size / WL_PAGE / r.unit_pages;
			r.n = r.nunits * churn_pct / 100;
			if (r.n < 1)
				r.n = 1;
			if (run_config(b, p, &r, warmup, reps, nran == 0, all_costs, &ser[k][u]) == 0) {
				ran[k][u] = true;
				nran++;
			}
		}
	}
	pmb_result(b, "costs", all_costs);
	write_tables(b, ser, ran, reps);
	pmb_note(b, "guest_memfd keeps no huge folios on this kernel unless it says otherwise: its host "
		 "2M retention reads 0%% from the start (a figure, not a missing counter); anon_thp shows "
		 "what 4K discards do to THPs (split, re-faulted as 4K) against 2M discards (whole THPs freed "
		 "and re-allocated)");
	free(ser);
	return pmb_finish(b);
}
