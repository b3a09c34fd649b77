// SPDX-License-Identifier: GPL-2.0
/*
 * cvm_boot: the memory a confidential guest kernel accepts and converts while it
 * boots, in the kernel's order and sizes, and what each step costs the host.
 *
 * The pattern (Linux x86 guest, TDX/SEV-SNP; sources are 6.12's):
 *  1. early acceptance: memory the firmware left unaccepted is tracked in the EFI
 *     unaccepted-memory bitmap, one bit per unit_size = 2 MiB (PMD_SIZE:
 *     drivers/firmware/efi/libstub/unaccepted_memory.c), and accept_memory()
 *     (drivers/firmware/efi/unaccepted_memory.c) accepts whole units as memblock
 *     allocates early memory: the kernel, page tables, per-CPU areas, the swiotlb
 *     pool. Here: early_mib, ascending, 2M unit by 2M unit.
 *  2. the swiotlb pool made shared in one range: swiotlb_update_mem_attributes()
 *     calls set_memory_decrypted() on the whole default pool
 *     (kernel/dma/swiotlb.c; IO_TLB_DEFAULT_SIZE 64 MiB, include/linux/swiotlb.h;
 *     swiotlb= sizes it). Here: swiotlb_mib at the top of the early memory.
 *  3. per-CPU shared pages, 4 KiB each, one conversion per page: the GHCB of every
 *     CPU (arch/x86/coco/sev/core.c init_ghcb -> early_set_memory_decrypted), the
 *     kvmclock page(s) (arch/x86/kernel/kvmclock.c set_memory_decrypted) and the
 *     per-CPU steal-time/APF/PV-EOI data (arch/x86/kernel/kvm.c
 *     __set_percpu_decrypted). Here: cpus x percpu_pages pages.
 *  4. lazy acceptance: the page allocator accepts the rest on demand as zones run
 *     low (mm/page_alloc.c, cond_accept_memory/__accept_page: MAX_PAGE_ORDER
 *     blocks, i.e. two 2M units at a time on x86). Here: the remaining memory in
 *     2M units, ascending; the first dma_mib of it before step 5.
 *  5. small DMA-coherent shared buffers: dma_direct_alloc() with
 *     force_dma_unencrypted() calls set_memory_decrypted() per allocation
 *     (kernel/dma/direct.c; virtio rings and the like). Here: dma_bufs buffers of
 *     4, 8, 16 and 64 KiB in turn, from memory accepted in step 4.
 * "Accept" on a sw-protected VM is the guest's first write to each 4K page of the
 * unit while it is private (KVM faults a guest_memfd page in: the host-side cost
 * of acceptance; TDX/SNP add the module's or firmware's work, which no host here
 * runs). "Convert to shared" is what a VMM does on the guest's request
 * (KVM_HC_MAP_GPA_RANGE / the GHCB page-state change): KVM_SET_MEMORY_ATTRIBUTES
 * to shared, then the private copy is discarded (fallocate(PUNCH_HOLE) of the
 * guest_memfd range, as QEMU's ram_block_discard_guest_memfd_range), and the
 * guest writes each page of the range once (first use, now from the VMM's
 * shared memory).
 *
 * It needs KVM_SET_MEMORY_ATTRIBUTES (PRIVATE) on a guest_memfd VM: the
 * sw-protected platform (KVM_X86_SW_PROTECTED_VM), which the lab kernels (6.12,
 * 7.3) have; on a host without it the workload SKIPs (exit 4) with the capability
 * values. pKVM (arm64) converts by the guest's MEM_SHARE hypercall, not
 * attributes: a pKVM variant waits for privmem's arm64 benchmarks.
 *
 * A sample is one boot on a fresh VM. Figures: boot (ms, headline), accept
 * (µs per MiB accepted), convert_swiotlb (ms for the pool: attributes + discard),
 * convert_percpu and convert_dma (µs per conversion, latency distributions), and
 * the four costs (bench/lib/pmb_costs.h) over the last measured boot.
 * --set dry_run=1 runs the same script on a VM without memory attributes (a
 * sw-default guest_memfd, conversions are discards only), to exercise the
 * workload where sw-protected is absent; its results say dry_run and are no
 * confidential boot.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform.h"
#include "pmb_backing.h"
#include "pmb_util.h"
#include "pmb_vm.h"
#include "wl.h"

#define MEM_GPA		PM_TEST_GPA
#define MEM_SLOT	PM_SLOT_FIRST_FREE
#define CTL_SLOT	(PM_SLOT_FIRST_FREE + 1)
#define CTL_GPA		(PM_TEST_GPA + (64ULL << 30))
#define CTL_SIZE	(1UL << 20)
#define MAX_OPS		((CTL_SIZE / 8 - 1) / 3)
#define MAX_REPS	64
#define MAX_CONV	4096

/* The script: ops of three words (kind, gpa, size), the guest's boot in order. */
enum { OP_END, OP_ACCEPT, OP_CONVERT, OP_PHASE };
/* Phase markers: the host timestamps each. */
enum { PH_START, PH_EARLY, PH_SWIOTLB, PH_PERCPU, PH_LAZY_DMA, PH_DMA, PH_LAZY, NR_PH };
/* Exit stages. */
enum { ST_PHASE = 1, ST_CONVERT };

static const int dma_sizes_kib[] = { 4, 8, 16, 64 };

PM_GUEST_CODE_BEGIN

static PM_GUEST void guest_touch(uint64_t gpa, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += WL_PAGE)
		pm_guest_write64(gpa + off, gpa + off);
}

/* Run the host's script: accept 2M units, request conversions, mark phases. */
static PM_GUEST void guest_boot(uint64_t script, uint64_t unused1, uint64_t unused2)
{
	volatile uint64_t *s = (volatile uint64_t *)script;

	(void)unused1;
	(void)unused2;
	for (;; s += 3) {
		uint64_t op = pm_guest_read64(&s[0]), gpa = pm_guest_read64(&s[1]);
		uint64_t size = pm_guest_read64(&s[2]);

		if (op == OP_END)
			break;
		if (op == OP_PHASE) {
			GUEST_SYNC_VALS(ST_PHASE, gpa, 0, 0);
		} else if (op == OP_ACCEPT) {
			for (uint64_t u = 0; u < size; u += WL_HPAGE)	/* one 2M unit at a time */
				guest_touch(gpa + u, WL_HPAGE);
		} else {
			GUEST_SYNC_VALS(ST_CONVERT, gpa, size, 0);
			guest_touch(gpa, size);
		}
	}
	GUEST_DONE();
}

PM_GUEST_CODE_END

struct plan {
	size_t mem, early, swiotlb, dma_lazy;
	int cpus, percpu_pages, dma_bufs;
	uint64_t *script;	/* host copy, written into each VM's control slot */
	int nops;
	double accept_mib;
};

static void op(struct plan *pl, uint64_t kind, uint64_t off, uint64_t size)
{
	uint64_t *o = &pl->script[3 * pl->nops++];

	o[0] = kind;
	o[1] = MEM_GPA + off;
	o[2] = size;
}

static void phase(struct plan *pl, uint64_t id)
{
	uint64_t *o = &pl->script[3 * pl->nops++];

	o[0] = OP_PHASE;
	o[1] = id;
	o[2] = 0;
}

/* The boot in the kernel's order (see the header); offsets from the start of guest memory. */
static int build_plan(struct plan *pl)
{
	size_t pool = pl->early - pl->swiotlb, dma_off = pl->early, lazy_end = pl->early + pl->dma_lazy;

	pl->script = calloc(CTL_SIZE / 8, 8);
	if (!pl->script)
		return -1;
	phase(pl, PH_START);
	op(pl, OP_ACCEPT, 0, pl->early);
	phase(pl, PH_EARLY);
	op(pl, OP_CONVERT, pool, pl->swiotlb);
	phase(pl, PH_SWIOTLB);
	/* Per-CPU areas sit in early memory, 64 KiB apart per CPU, below the pool. */
	for (int c = 0; c < pl->cpus; c++)
		for (int k = 0; k < pl->percpu_pages; k++)
			op(pl, OP_CONVERT, WL_HPAGE + (size_t)c * (64 << 10) + (size_t)k * WL_PAGE, WL_PAGE);
	phase(pl, PH_PERCPU);
	op(pl, OP_ACCEPT, pl->early, pl->dma_lazy);
	phase(pl, PH_LAZY_DMA);
	for (int i = 0; i < pl->dma_bufs; i++) {
		size_t sz = (size_t)dma_sizes_kib[i % 4] << 10;

		if (dma_off + sz > lazy_end)
			return errno = ENOSPC, -1;
		op(pl, OP_CONVERT, dma_off, sz);
		dma_off += sz;
	}
	phase(pl, PH_DMA);
	op(pl, OP_ACCEPT, lazy_end, pl->mem - lazy_end);
	phase(pl, PH_LAZY);
	op(pl, OP_END, 0, 0);
	pl->accept_mib = (double)pl->mem / (1 << 20);
	return pl->nops > (int)MAX_OPS ? (errno = E2BIG, -1) : 0;
}

struct boot {
	struct pmb *b;
	const struct pm_platform *p;
	bool attrs;		/* false: dry run, conversions are discards only */
	struct pm_vm *vm;
	struct pm_vcpu *vcpu;
	struct pmb_kvm_stats *ks;
	int fd;			/* the private guest_memfd */
	struct pmb_mem sh;	/* the slot's userspace_addr: shared memory (bench/lib backings) */
	char *shared;
	size_t size;
	uint64_t ph_ns[NR_PH];
	double conv_ns[MAX_CONV];
	uint64_t conv_size[MAX_CONV];
	int nconv;
	char why[512];
};

static void boot_stop(struct boot *v)
{
	if (v->ks)
		pmb_kvm_stats_close(v->ks);
	if (v->vm)
		pm_vm_free(v->vm);
	if (v->attrs && v->fd >= 0)
		close(v->fd);		/* dry run: the fd is the backing's, closed with it */
	if (v->sh.p)
		pmb_mem_close(&v->sh);
	v->sh.p = NULL;
	v->ks = NULL;
	v->vm = NULL;
	v->shared = NULL;
	v->fd = -1;
}

/* A VM whose memory is private from the start (or, dry run, a mappable guest_memfd). */
static int boot_setup(struct boot *v, const struct plan *pl)
{
	v->fd = -1;
	v->vm = pm_platform_vm(v->p);
	if (!v->vm)
		return snprintf(v->why, sizeof(v->why), "creating a %s VM: %s", v->p->name, strerror(errno)), -1;
	v->vm->timeout_ms = 120000;
	/* Shared side: anonymous THP, as a VMM backs shared RAM (dry run: the mappable guest_memfd). */
	if (pmb_mem_open(&v->sh, v->attrs ? PMB_THP : PMB_GMEM, v->vm, v->size, v->why, sizeof(v->why)))
		return -1;
	v->shared = v->sh.p;
	v->fd = v->attrs ? pm_platform_private_mem(v->p, v->vm, v->size, 0) : v->sh.fd;
	if (v->fd < 0)
		return snprintf(v->why, sizeof(v->why), "KVM_CREATE_GUEST_MEMFD: %s", strerror(errno)), -1;
	if (pm_vm_add_memory(v->vm, MEM_SLOT, MEM_GPA, v->size, v->shared, v->fd, 0, PM_PAGE_2M) ||
	    pm_vm_add_memory(v->vm, CTL_SLOT, CTL_GPA, CTL_SIZE, NULL, -1, 0, PM_PAGE_4K))
		return snprintf(v->why, sizeof(v->why), "adding the memslots: %s", strerror(errno)), -1;
	if (v->attrs && pm_platform_convert(v->p, v->vm, MEM_GPA, v->size, true))
		return snprintf(v->why, sizeof(v->why), "KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) of all guest memory: %s",
				strerror(errno)), -1;
	memcpy(pm_gpa_to_hva(v->vm, CTL_GPA, CTL_SIZE), pl->script, CTL_SIZE);
	v->ks = pmb_kvm_stats_open(v->vm->fd);
	v->vcpu = pm_vcpu_add(v->vm, guest_boot, CTL_GPA, 0, 0);
	if (!v->vcpu)
		return snprintf(v->why, sizeof(v->why), "adding the vCPU: %s", strerror(errno)), -1;
	return 0;
}

/* The VMM's side of a conversion to shared: attributes, then discard the private copy. */
static int convert_to_shared(struct boot *v, uint64_t gpa, uint64_t size)
{
	if (v->attrs && pm_platform_convert(v->p, v->vm, gpa, size, false))
		return snprintf(v->why, sizeof(v->why), "KVM_SET_MEMORY_ATTRIBUTES(shared) of %llu bytes: %s",
				(unsigned long long)size, strerror(errno)), -1;
	if (fallocate(v->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, gpa - MEM_GPA, size))
		return snprintf(v->why, sizeof(v->why), "discarding the private copy: %s", strerror(errno)), -1;
	return 0;
}

/* Run the guest's boot to its end, serving its exits. */
static int boot_run(struct boot *v)
{
	struct pm_exit e;

	v->nconv = 0;
	for (;;) {
		enum pm_run_result r = pm_vcpu_run(v->vcpu, &e);
		uint64_t now = pmb_now_ns();

		if (r == PM_RUN_DONE)
			return 0;
		if (r != PM_RUN_SYNC)
			return snprintf(v->why, sizeof(v->why), "guest boot: %.400s", e.msg), -1;
		if (e.rep.vals[0] == ST_PHASE && e.rep.vals[1] < NR_PH) {
			v->ph_ns[e.rep.vals[1]] = now;
		} else if (e.rep.vals[0] == ST_CONVERT && v->nconv < MAX_CONV) {
			if (convert_to_shared(v, e.rep.vals[1], e.rep.vals[2]))
				return -1;
			v->conv_size[v->nconv] = e.rep.vals[2];
			v->conv_ns[v->nconv++] = (double)(pmb_now_ns() - now);
		} else {
			return snprintf(v->why, sizeof(v->why), "unexpected guest exit stage %llu",
					(unsigned long long)e.rep.vals[0]), -1;
		}
	}
}

struct samples {
	double boot_ms[MAX_REPS], accept[MAX_REPS], swiotlb_ms[MAX_REPS];
	double *percpu, *dma;	/* pooled conversions of every measured boot, µs */
	int npercpu, ndma;
	/* the last boot, for the plot */
	double last_conv_ns[MAX_CONV];
	uint64_t last_conv_size[MAX_CONV], last_ph_ns[NR_PH];
	int last_nconv;
};

/* The last boot: time per phase, and each conversion's size and latency. */
static void write_tables(struct pmb *b, struct samples *s)
{
	static const char *const name[NR_PH] = { "start", "early accept", "swiotlb convert",
		"per-CPU converts", "lazy accept (DMA)", "DMA converts", "lazy accept (rest)" };
	struct pmb_table *t = pmb_table(b, "phases", "phase,ms");

	for (int i = 1; i < NR_PH; i++)
		pmb_row(t, "%s,%.3f", name[i], (double)(s->last_ph_ns[i] - s->last_ph_ns[i - 1]) / 1e6);
	t = pmb_table(b, "convert", "conversion,bytes,us");
	for (int i = 0; i < s->last_nconv; i++)
		pmb_row(t, "%d,%llu,%.2f", i, (unsigned long long)s->last_conv_size[i], s->last_conv_ns[i] / 1e3);
}

static void collect(struct boot *v, const struct plan *pl, struct samples *s, int rep)
{
	double early = (double)(v->ph_ns[PH_EARLY] - v->ph_ns[PH_START]);
	double lazy = (double)(v->ph_ns[PH_LAZY_DMA] - v->ph_ns[PH_PERCPU]) +
		      (double)(v->ph_ns[PH_LAZY] - v->ph_ns[PH_DMA]);

	s->boot_ms[rep] = (double)(v->ph_ns[PH_LAZY] - v->ph_ns[PH_START]) / 1e6;
	s->accept[rep] = (early + lazy) / 1e3 / pl->accept_mib;
	s->swiotlb_ms[rep] = v->conv_ns[0] / 1e6;
	s->last_nconv = v->nconv;
	memcpy(s->last_conv_ns, v->conv_ns, v->nconv * sizeof(double));
	memcpy(s->last_conv_size, v->conv_size, v->nconv * sizeof(uint64_t));
	memcpy(s->last_ph_ns, v->ph_ns, sizeof(v->ph_ns));
	for (int i = 1; i < v->nconv; i++) {
		if (i <= pl->cpus * pl->percpu_pages)
			s->percpu[s->npercpu++] = v->conv_ns[i] / 1e3;
		else
			s->dma[s->ndma++] = v->conv_ns[i] / 1e3;
	}
}

static json_t *costs_of(struct boot *v, struct pmb_costs *wc, const struct plan *pl)
{
	double host = pmb_backed_2m(v->shared + (pl->early - pl->swiotlb), pl->swiotlb);

	return pmb_costs_json(wc, &(struct pmb_cost_in){
		.mib = (double)pl->mem / (1 << 20),
		.host_2m = host,
		.host_2m_why = "pagemap/kpageflags of the shared swiotlb range unreadable (root needed)",
		.bounce_bytes = -1, .bounce_ns = -1,
		.bounce_why = "not applicable: the boot converts the bounce pool but moves no I/O through "
			      "it (bounce_io measures that)",
		.dm_why = "no direct-map split: sw-protected guest_memfd pages stay in the kernel direct map "
			  "(no hardware-enforced removal, no no-direct-map flag)",
		.tlb_why = "no shootdown counted: the boot CPU (the only vCPU, as before SMP bring-up) waits in "
			   "its exit while the VMM converts, so no CPU is in guest mode to flush and no other CPU "
			   "has the VMM's mm loaded",
	});
}

int main(int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "cvm_boot",
		"a confidential guest kernel's boot-time acceptance (2M units) and conversions to shared "
		"(swiotlb pool in one range, per-CPU 4K pages, small DMA buffers) on a sw-protected VM");
	struct plan pl = {
		.mem = (size_t)pmb_param_long(b, "mem_mib", pmb_by_mode(b, 16, 96, 256)) << 20,
		.swiotlb = (size_t)pmb_param_long(b, "swiotlb_mib", pmb_by_mode(b, 4, 32, 64)) << 20,
		.cpus = (int)pmb_param_long(b, "cpus", 4),
		.percpu_pages = (int)pmb_param_long(b, "percpu_pages", 3),
		.dma_bufs = (int)pmb_param_long(b, "dma_bufs", 32),
	};
	long early_extra = pmb_param_long(b, "early_extra_mib", 8);
	long dry_run = pmb_param_long(b, "dry_run", 0);
	int reps = pmb_reps(b), warm = pmb_warmup(b), nconv;
	const struct pm_caps *caps;
	static struct samples s;
	struct boot v = { .b = b, .fd = -1 };
	struct pmb_costs wc;
	json_t *core, *costs;
	char why[256];

	pmb_params_done(b);
	pl.early = pl.swiotlb + ((size_t)early_extra << 20);
	pl.dma_lazy = 2 * WL_HPAGE;
	if (pl.swiotlb < WL_HPAGE || pl.swiotlb % WL_HPAGE || early_extra < 4 || early_extra % 2 ||
	    pl.mem < pl.early + pl.dma_lazy || pl.mem % WL_HPAGE || pl.mem > (4096UL << 20) ||
	    pl.cpus < 1 || pl.cpus > 256 || pl.percpu_pages < 1 || pl.percpu_pages > 16 || pl.dma_bufs < 1 ||
	    (dry_run != 0 && dry_run != 1) || reps > MAX_REPS)
		pmb_die(b, "swiotlb_mib and early_extra_mib (>= 4) want even MiB, mem_mib a multiple of 2 MiB "
			"holding swiotlb + early_extra + 4 MiB (at most 4096), cpus 1..256, percpu_pages 1..16, "
			"dma_bufs >= 1, dry_run 0 or 1");
	nconv = 1 + pl.cpus * pl.percpu_pages + pl.dma_bufs;
	if (nconv > MAX_CONV || build_plan(&pl))
		pmb_die(b, "the boot script does not fit (%d conversions; DMA buffers need <= 4 MiB): %s",
			nconv, strerror(errno));
	if (pmb_kvm_unusable()) {
		pmb_skip(b, "nothing can run: %s", pmb_kvm_unusable());
	}
	caps = pm_caps();
	v.attrs = !dry_run;
	v.p = pm_need_met(&(struct pm_need){ dry_run ? "sw-default" : "sw-protected",
					     dry_run ? GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED : 0 },
			  why, sizeof(why));
	if (!v.p) {
		pmb_skip(b, "needs KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) on a guest_memfd VM "
			"(KVM_CAP_MEMORY_ATTRIBUTES=0x%lx on the default VM): %s",
			pm_vm_cap(caps, 0, PM_KVM_CAP_MEMORY_ATTRIBUTES) > 0 ?
			pm_vm_cap(caps, 0, PM_KVM_CAP_MEMORY_ATTRIBUTES) : 0, why);
	}
	v.size = pl.mem;
	s.percpu = calloc((size_t)reps * pl.cpus * pl.percpu_pages, sizeof(double));
	s.dma = calloc((size_t)reps * pl.dma_bufs, sizeof(double));
	if (!s.percpu || !s.dma)
		pmb_die(b, "out of memory");
	pmb_config(b, "platform", json_string(v.p->name));
	pmb_config(b, "dry_run", json_boolean(dry_run));
	pmb_config(b, "boot", json_pack("{s:I, s:I, s:I, s:i, s:i, s:i, s:[i,i,i,i], s:s, s:i}",
		"mem_mib", (json_int_t)(pl.mem >> 20), "early_mib", (json_int_t)(pl.early >> 20),
		"swiotlb_mib", (json_int_t)(pl.swiotlb >> 20), "cpus", pl.cpus, "percpu_pages", pl.percpu_pages,
		"dma_bufs", pl.dma_bufs, "dma_buf_kib", 4, 8, 16, 64, "accept_unit", "2M",
		"script_ops", pl.nops));
	pmb_ref(b, PMB_REF_FAULT_4K);
	if (dry_run)
		pmb_note(b, "dry_run: no memory attributes: a sw-default VM whose guest_memfd is the shared "
			 "memory, conversions are discards only; not a confidential boot");

	for (int r = -warm; r < reps; r++) {
		bool last = r == reps - 1;

		pmb_progress(b, "boot %d of %d (%zu MiB, swiotlb %zu MiB)", r + warm + 1, reps + warm,
			     pl.mem >> 20, pl.swiotlb >> 20);
		if (boot_setup(&v, &pl)) {
			pmb_error(b, "%s", v.why);
			boot_stop(&v);
			break;
		}
		if (last)
			pmb_costs_begin(&wc, b, v.ks);
		if (boot_run(&v)) {
			if (last) {
				pmb_costs_end(&wc);
				json_decref(wc.traced);
			}
			pmb_error(b, "%s", v.why);
			boot_stop(&v);
			break;
		}
		if (r >= 0)
			collect(&v, &pl, &s, r);
		if (last) {
			pmb_costs_end(&wc);
			costs = costs_of(&v, &wc, &pl);
			core = pmb_record(b, &(struct pmb_spec){ .metric = "boot", .unit = "ms", .cv_max = 0.10,
				.core = true },
				NULL, s.boot_ms, reps, NULL);
			if (core) {
				json_t *all = json_object();

				pmb_costs_attach(core, all, "boot", costs);
				pmb_result(b, "costs", all);
			} else {
				json_decref(costs);
			}
		}
		boot_stop(&v);
	}
	if (s.npercpu && s.ndma) {
		write_tables(b, &s);
		pmb_record(b, &(struct pmb_spec){ .metric = "accept", .unit = "us/MiB", .cv_max = 0.10,
			.ref = PMB_REF_FAULT_4K,
			.ref_ratio = "µs per MiB accepted / ns per anonymous 4K fault (0.256: one fault per page)" },
			pmb_params("unit", "2M", NULL), s.accept, reps, NULL);
		pmb_record(b, &(struct pmb_spec){ .metric = "convert_swiotlb", .unit = "ms", .cv_max = 0.10 },
			NULL, s.swiotlb_ms, reps, NULL);
		pmb_record_latency(b, &(struct pmb_spec){ .metric = "convert_percpu", .unit = "us", .cv_max = 0.10,
			.latency = true }, pmb_params("size", "4096", NULL), s.percpu, reps,
			pl.cpus * pl.percpu_pages, NULL, NULL);
		pmb_record_latency(b, &(struct pmb_spec){ .metric = "convert_dma", .unit = "us", .cv_max = 0.10,
			.latency = true }, pmb_params("sizes", "4k,8k,16k,64k", NULL), s.dma, reps, pl.dma_bufs,
			NULL, NULL);
	}
	free(s.percpu);
	free(s.dma);
	free(pl.script);
	return pmb_finish(b);
}
