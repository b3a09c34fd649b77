// SPDX-License-Identifier: GPL-2.0
/*
 * bounce_io: a guest's I/O through shared pages, against the same I/O without them.
 *
 * A confidential guest cannot let a device (or the VMM emulating it) read its
 * private memory, so its DMA layer bounces every buffer through a pool of shared
 * memory: swiotlb (kernel/dma/swiotlb.c; a 64 MiB pool by default,
 * IO_TLB_DEFAULT_SIZE in include/linux/swiotlb.h, made shared at boot by
 * swiotlb_update_mem_attributes()). For a write the guest copies private -> pool
 * and kicks the device; the VMM consumes the pool; for a read the VMM fills the
 * pool and the guest copies pool -> private. bench/bounce/ measures the pool's
 * slot allocator on the host; this workload runs the data path end to end with a
 * real guest, a real shared mapping and a real file:
 *
 *   private  the guest's buffers, 2M guest page tables: anonymous memory by default,
 *            a guest_memfd (MMAP | INIT_SHARED) with --set private=gmem. Anonymous by
 *            default because the copy is what is measured and a backend may make
 *            guest_memfd itself slow: this host's kvm_pvm emulates every guest access
 *            to guest_memfd pages instruction by instruction (README.md, the fuzzer's
 *            figures), which turns a 64 KiB bounce into ~30 ms;
 *   pool     pool_mib of shared memory, a memfd mapped MAP_SHARED by the VMM and
 *            given to the guest as a plain memslot (MADV_HUGEPAGE asked);
 *   device   the VMM side, virtio-like: a queue of qd requests of io bytes per kick
 *            (one exit), consumed with pwrite()/pread() against a file on tmpfs
 *            (a memfd), straight from or into the guest's memory.
 * bounce: the guest copies qd x io bytes private -> pool (write) or pool -> private
 * after the VMM's pread into the pool (read), 64-bit words in guest code; direct:
 * the guest posts the descriptors only and the VMM reads or writes the private
 * buffers in place (a guest whose memory the device may see). Both paths take
 * the same exits and system calls; the difference is the bounce.
 *
 * A sample interleaves `slices` slices of direct and bounced batches (the host's
 * memory bandwidth drifts over a second here; the interleaving keeps the pair
 * comparable). Figures per direction and I/O size: bounce_<dir> and direct_<dir>
 * GB/s of payload (against the same-run memcpy), cost_<dir> (bounced time /
 * direct time), and the four costs (bench/lib/pmb_costs.h): bounce bytes and the
 * time they add per MiB, shootdowns, 2M retention of the pool and the private
 * buffers, direct-map splits. Headline: bounce_write at the first I/O size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform.h"
#include "pmb_backing.h"
#include "pmb_vm.h"
#include "wl.h"

#define PRIV_GPA	PM_TEST_GPA
#define POOL_GPA	(PM_TEST_GPA + (16ULL << 30))
#define CTL_GPA		(PM_TEST_GPA + (32ULL << 30))
#define PRIV_SLOT	PM_SLOT_FIRST_FREE
#define POOL_SLOT	(PM_SLOT_FIRST_FREE + 1)
#define CTL_SLOT	(PM_SLOT_FIRST_FREE + 2)
#define MAX_QD		256
#define MAX_SIZES	8
#define MAX_SAMPLES	64

/* Control page: the request the guest serves, then one descriptor per queue entry. */
enum { CTL_CMD, CTL_NR, CTL_IO, CTL_PRIV_OFF, CTL_POOL_OFF, CTL_DESC };
enum { CMD_WRITE_BOUNCE = 1, CMD_READ_BOUNCE, CMD_DIRECT, CMD_STOP };

PM_GUEST_CODE_BEGIN

/* Word copy in guest code (no libc, no SSE): four words per step. */
static PM_GUEST void guest_copy(uint64_t dst, uint64_t src, uint64_t len)
{
	for (uint64_t o = 0; o < len; o += 32) {
		uint64_t a = pm_guest_read64(src + o), b = pm_guest_read64(src + o + 8);
		uint64_t c = pm_guest_read64(src + o + 16), d = pm_guest_read64(src + o + 24);

		pm_guest_write64(dst + o, a);
		pm_guest_write64(dst + o + 8, b);
		pm_guest_write64(dst + o + 16, c);
		pm_guest_write64(dst + o + 24, d);
	}
}

/* Serve the host's requests until CMD_STOP; each batch ends in one exit (the kick). */
static PM_GUEST void guest_io(uint64_t priv, uint64_t pool, uint64_t ctl)
{
	volatile uint64_t *c = (volatile uint64_t *)ctl;

	for (;;) {
		uint64_t cmd = pm_guest_read64(&c[CTL_CMD]), copied = 0;
		uint64_t nr = pm_guest_read64(&c[CTL_NR]), io = pm_guest_read64(&c[CTL_IO]);
		uint64_t p = priv + pm_guest_read64(&c[CTL_PRIV_OFF]);
		uint64_t q = pool + pm_guest_read64(&c[CTL_POOL_OFF]);

		if (cmd == CMD_STOP)
			break;
		for (uint64_t i = 0; i < nr; i++, p += io, q += io) {
			if (cmd == CMD_WRITE_BOUNCE)
				guest_copy(q, p, io);
			else if (cmd == CMD_READ_BOUNCE)
				guest_copy(p, q, io);
			copied += cmd == CMD_DIRECT ? 0 : io;
			pm_guest_write64(&c[CTL_DESC + i], cmd == CMD_DIRECT ? p : q);
		}
		GUEST_SYNC_VALS(cmd, copied, 0, 0);
	}
	GUEST_DONE();
}

PM_GUEST_CODE_END

struct rig {
	struct pmb *b;
	struct pm_vm *vm;
	struct pm_vcpu *vcpu;
	struct pmb_kvm_stats *ks;
	struct pmb_mem privm, poolm;	/* bench/lib backings: thp or gmem; shmem_thp */
	int file_fd;
	char *priv, *pool;
	uint64_t *ctl;
	size_t priv_size, pool_size;
	const char *priv_backing;
	/* the stream: where the next batch goes */
	size_t io, qd, poff, qoff;
	uint64_t copied;	/* bytes the guest copied through the pool */
	char why[512];
};

static int rig_start(struct rig *r, const struct pm_platform *p, bool gmem)
{
	r->file_fd = -1;
	r->vm = pm_platform_vm(p);
	if (!r->vm)
		return snprintf(r->why, sizeof(r->why), "creating a %s VM: %s", p->name, strerror(errno)), -1;
	r->vm->timeout_ms = 60000;
	if (pmb_mem_open(&r->privm, gmem ? PMB_GMEM : PMB_THP, r->vm, r->priv_size, r->why, sizeof(r->why)) ||
	    pmb_mem_open(&r->poolm, PMB_SHMEM_THP, NULL, r->pool_size, r->why, sizeof(r->why)))
		return -1;
	r->priv = r->privm.p;
	r->pool = r->poolm.p;
	r->priv_backing = pmb_backing(r->privm.kind)->what;
	r->file_fd = memfd_create("privmem-bounce_io-file", MFD_CLOEXEC);
	if (r->file_fd < 0 || ftruncate(r->file_fd, r->priv_size))
		return snprintf(r->why, sizeof(r->why), "the tmpfs file: %s", strerror(errno)), -1;
	memset(r->priv, 0x5a, r->priv_size);	/* private data to write out */
	memset(r->pool, 0, r->pool_size);
	if (pwrite(r->file_fd, r->priv, r->priv_size, 0) != (ssize_t)r->priv_size)
		return snprintf(r->why, sizeof(r->why), "filling the tmpfs file: %s", strerror(errno)), -1;
	if (pm_vm_add_memory(r->vm, PRIV_SLOT, PRIV_GPA, r->priv_size, r->priv, gmem ? r->privm.fd : -1, 0,
			     PM_PAGE_2M) ||
	    pm_vm_add_memory(r->vm, POOL_SLOT, POOL_GPA, r->pool_size, r->pool, -1, 0, PM_PAGE_2M) ||
	    pm_vm_add_memory(r->vm, CTL_SLOT, CTL_GPA, WL_HPAGE, NULL, -1, 0, PM_PAGE_4K))
		return snprintf(r->why, sizeof(r->why), "adding the memslots: %s", strerror(errno)), -1;
	r->ctl = pm_gpa_to_hva(r->vm, CTL_GPA, WL_HPAGE);
	r->ks = pmb_kvm_stats_open(r->vm->fd);
	r->vcpu = pm_vcpu_add(r->vm, guest_io, PRIV_GPA, POOL_GPA, CTL_GPA);
	if (!r->vcpu)
		return snprintf(r->why, sizeof(r->why), "adding the vCPU: %s", strerror(errno)), -1;
	pmb_pin_cpu(0);
	return 0;
}

static void rig_stop(struct rig *r)
{
	if (r->vcpu && r->ctl) {
		struct pm_exit e;

		r->ctl[CTL_CMD] = CMD_STOP;
		pm_vcpu_run(r->vcpu, &e);
	}
	if (r->ks)
		pmb_kvm_stats_close(r->ks);
	if (r->vm)
		pm_vm_free(r->vm);
	if (r->privm.p)
		pmb_mem_close(&r->privm);
	if (r->poolm.p)
		pmb_mem_close(&r->poolm);
	if (r->file_fd >= 0)
		close(r->file_fd);
}

/* The guest's part of one batch: one run to its kick. */
static int guest_batch(struct rig *r, uint64_t cmd)
{
	struct pm_exit e;

	r->ctl[CTL_CMD] = cmd;
	r->ctl[CTL_NR] = r->qd;
	r->ctl[CTL_IO] = r->io;
	r->ctl[CTL_PRIV_OFF] = r->poff;
	r->ctl[CTL_POOL_OFF] = r->qoff;
	if (pm_vcpu_run(r->vcpu, &e) != PM_RUN_SYNC || e.rep.vals[0] != cmd) {
		snprintf(r->why, sizeof(r->why), "the guest did not reach its kick: %.300s", e.msg);
		return -1;
	}
	r->copied += e.rep.vals[1];
	return 0;
}

/* The VMM's part: pwrite (write) or pread (read) of each request, from/into buf. */
static int device(struct rig *r, bool read, const char *buf_base, size_t buf_off)
{
	for (size_t i = 0; i < r->qd; i++) {
		char *buf = (char *)buf_base + buf_off + i * r->io;
		off_t off = (off_t)(r->poff + i * r->io);
		ssize_t n = read ? pread(r->file_fd, buf, r->io, off) : pwrite(r->file_fd, buf, r->io, off);

		if (n != (ssize_t)r->io) {
			snprintf(r->why, sizeof(r->why), "%s of %zu bytes: %s", read ? "pread" : "pwrite", r->io,
				 n < 0 ? strerror(errno) : "short");
			return -1;
		}
	}
	return 0;
}

/* One batch of qd requests on one path; advances the stream. */
static int batch(struct rig *r, bool read, bool bounce)
{
	size_t bytes = r->qd * r->io;
	int rc;

	if (!bounce)
		rc = read ? device(r, true, r->priv, r->poff) || guest_batch(r, CMD_DIRECT)
			  : guest_batch(r, CMD_DIRECT) || device(r, false, r->priv, r->poff);
	else if (read)
		rc = device(r, true, r->pool, r->qoff) || guest_batch(r, CMD_READ_BOUNCE);
	else
		rc = guest_batch(r, CMD_WRITE_BOUNCE) || device(r, false, r->pool, r->qoff);
	r->poff = r->poff + 2 * bytes > r->priv_size ? 0 : r->poff + bytes;
	r->qoff = r->qoff + 2 * bytes > r->pool_size ? 0 : r->qoff + bytes;
	return rc ? -1 : 0;
}

/* n batches; ns, or a negative value on failure. */
static double timed(struct rig *r, bool read, bool bounce, long n)
{
	uint64_t t0 = pmb_now_ns();

	for (long i = 0; i < n; i++)
		if (batch(r, read, bounce))
			return -1;
	return (double)(pmb_now_ns() - t0);
}

struct point {
	double bounce[MAX_SAMPLES], direct[MAX_SAMPLES], cost[MAX_SAMPLES];
	double extra_ns;	/* bounced minus direct time, summed over the measured samples */
	double mib;		/* bounced payload over the measured samples */
	struct pmb_stats sb, sd, sc;
};

/* Warm-up and measured samples of one direction x I/O size, then its metrics and costs. */
static int measure(struct pmb *b, struct rig *r, bool read, long slices, long per_slice, bool core,
		   json_t *all_costs, struct point *pt)
{
	const char *dir = read ? "read" : "write";
	int reps = pmb_reps(b), warm = pmb_warmup(b);
	double bytes = (double)slices * per_slice * r->qd * r->io;
	struct pmb_spec sp = { .unit = "GB/s", .cv_max = 0.10, .ref = PMB_REF_MEMCPY_1T,
			       .ref_ratio = "payload GB/s / memcpy GB/s (one thread)" };
	struct pmb_costs wc;
	char m[32], iob[24], label[48];
	json_t *jm, *costs;
	uint64_t copied0 = 0;

	snprintf(iob, sizeof(iob), "%zu", r->io);
	for (int s = -warm; s < reps; s++) {
		double tb = 0, td = 0;

		if (s == 0) {
			pmb_costs_begin(&wc, b, r->ks);
			copied0 = r->copied;
		}
		for (long i = 0; i < slices; i++) {
			double d = timed(r, read, false, per_slice), c = timed(r, read, true, per_slice);

			if (d < 0 || c < 0) {
				if (s >= 0) {
					pmb_costs_end(&wc);
					json_decref(wc.traced);
				}
				pmb_error(b, "%s %s: %s", dir, iob, r->why);
				return -1;
			}
			td += d;
			tb += c;
		}
		if (s < 0)
			continue;
		pt->bounce[s] = bytes / tb;
		pt->direct[s] = bytes / td;
		pt->cost[s] = tb / td;
		pt->extra_ns += tb - td;
		pt->mib += bytes / (1 << 20);
	}
	pmb_costs_end(&wc);
	snprintf(m, sizeof(m), "bounce_%s", dir);
	sp.metric = m;
	sp.core = core;
	jm = pmb_record(b, &sp, pmb_params("io", iob, NULL), pt->bounce, reps, &pt->sb);
	sp.core = false;
	snprintf(m, sizeof(m), "direct_%s", dir);
	pmb_record(b, &sp, pmb_params("io", iob, NULL), pt->direct, reps, &pt->sd);
	snprintf(m, sizeof(m), "cost_%s", dir);
	sp.unit = "x";
	sp.ref = PMB_REF_NONE;
	sp.ref_ratio = NULL;
	sp.better = PMB_LOWER;
	pmb_record(b, &sp, pmb_params("io", iob, NULL), pt->cost, reps, &pt->sc);
	costs = pmb_costs_json(&wc, &(struct pmb_cost_in){
		.mib = pt->mib,
		.host_2m = -1,	/* filled below, per memory */
		.host_2m_why = "pagemap/kpageflags unreadable (root needed)",
		.bounce_bytes = (double)(r->copied - copied0),
		.bounce_ns = pt->extra_ns > 0 ? pt->extra_ns : 0,
		.dm_why = "no direct-map split: the private buffers, the pool and the file stay in the "
			  "kernel direct map (nothing here is secret or unmapped)",
		.tlb_why = "no TLB shootdown: bounced I/O copies through memory that stays mapped "
			   "(nothing is unmapped, discarded or converted)",
	});
	{
		double pool = pmb_backed_2m(r->pool, r->pool_size), priv = pmb_backed_2m(r->priv, r->priv_size);

		if (pool >= 0 && priv >= 0) {
			json_object_set_new(costs, "retention_2m_host_pct", json_real(100 *
				(pool * r->pool_size + priv * r->priv_size) / (r->pool_size + r->priv_size)));
			json_object_del(json_object_get(costs, "unavailable_why"), "retention_2m_host_pct");
			json_object_set_new(costs, "retention_2m_host_pool_pct", json_real(100 * pool));
			json_object_set_new(costs, "retention_2m_host_private_pct", json_real(100 * priv));
		}
	}
	json_object_set_new(costs, "bounced_time_over_direct", json_real(pt->sc.median));
	snprintf(label, sizeof(label), "%s/%s", dir, iob);
	pmb_costs_attach(jm, all_costs, label, costs);
	return 0;
}

static int parse_sizes(const char *s, long *v, int max)
{
	int n = 0;

	while (*s && n < max) {
		char *end;
		long x = strtol(s, &end, 10);

		if (end == s || x <= 0)
			return -1;
		if (*end == 'k' || *end == 'K')
			x <<= 10, end++;
		else if (*end == 'm' || *end == 'M')
			x <<= 20, end++;
		if (x % 32 || (*end && *end != ','))
			return -1;
		v[n++] = x;
		s = *end ? end + 1 : end;
	}
	return *s ? -1 : n;
}

int main(int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "bounce_io",
		"guest I/O through a shared bounce pool (guest copies private<->shared, the VMM reads/writes "
		"the shared mapping to a tmpfs file) vs the same I/O in place; GB/s and the bounce cost");
	long priv_mib = pmb_param_long(b, "priv_mib", pmb_by_mode(b, 4, 32, 64));
	long pool_mib = pmb_param_long(b, "pool_mib", pmb_by_mode(b, 4, 64, 64));
	long qd = pmb_param_long(b, "qd", pmb_by_mode(b, 1, 4, 16));
	long slices = pmb_param_long(b, "slices", pmb_by_mode(b, 2, 4, 8));
	long sample_ms = pmb_param_long(b, "sample_ms", pmb_by_mode(b, 4, 60, 200));
	const char *priv_s = pmb_param_str(b, "private", "anon");
	const char *sizes_s = pmb_param_str(b, "sizes", pmb_mode(b) == PMB_SMOKE ? "64k" :
					    pmb_mode(b) == PMB_QUICK ? "64k,4k" : "64k,4k,16k,256k,1m");
	long sizes[MAX_SIZES];
	int nsizes = parse_sizes(sizes_s, sizes, MAX_SIZES);
	const struct pm_platform *p;
	struct point *pt;
	json_t *all_costs;
	char why[256];
	bool gmem;

	pmb_params_done(b);
	if (nsizes < 1 || priv_mib < 2 || priv_mib % 2 || priv_mib > 4096 || pool_mib < 2 || pool_mib % 2 ||
	    pool_mib > 4096 || qd < 1 || qd > MAX_QD || slices < 1 || slices > 64 || sample_ms < 1 ||
	    pmb_reps(b) > MAX_SAMPLES || (strcmp(priv_s, "anon") && strcmp(priv_s, "gmem")))
		pmb_die(b, "sizes wants a list such as 4k,64k,1m (multiples of 32 bytes), priv_mib and pool_mib "
			"even in 2..4096, qd 1..%d, slices 1..64, sample_ms >= 1, at most %d reps, private anon|gmem", MAX_QD, MAX_SAMPLES);
	for (int i = 0; i < nsizes; i++)
		if (2 * qd * sizes[i] > (pool_mib < priv_mib ? pool_mib : priv_mib) << 20)
			pmb_die(b, "a queue of qd=%ld x %ld bytes must fit twice in the pool and the private buffers",
				qd, sizes[i]);
	if (pmb_kvm_unusable()) {
		pmb_skip(b, "nothing can run: %s", pmb_kvm_unusable());
	}
	p = pmb_vm_platform(why, sizeof(why));
	if (!p) {
		pmb_skip(b, "nothing can run: %s", why);
	}
	gmem = !strcmp(priv_s, "gmem");
	if (gmem && !pm_need_met(&(struct pm_need){ "sw-default", GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED },
				 why, sizeof(why))) {
		pmb_note(b, "private=gmem: private buffers are anonymous memory instead: guest_memfd cannot be "
			 "mapped here (%s)", why);
		gmem = false;
	}
	pt = calloc(2 * nsizes, sizeof(*pt));
	if (!pt)
		pmb_die(b, "out of memory");
	/*
	 * A VMM backs shared guest RAM with huge pages where it can: the backings table lets the
	 * pool's memfd and the private buffers have THPs (shmem "advise", THP "madvise"; restored).
	 */
	if (pmb_backing_unusable(b, PMB_SHMEM_THP, (size_t)pool_mib << 20, why, sizeof(why)) ||
	    pmb_backing_unusable(b, gmem ? PMB_GMEM : PMB_THP, (size_t)priv_mib << 20, why, sizeof(why))) {
		pmb_skip(b, "nothing can run: %s", why);
	}
	pmb_ref(b, PMB_REF_MEMCPY_1T);
	all_costs = json_object();
	for (int d = 0; d < 2; d++) {
		for (int i = 0; i < nsizes; i++) {
			struct rig r = { .b = b, .priv_size = (size_t)priv_mib << 20, .pool_size = (size_t)pool_mib << 20,
					 .io = (size_t)sizes[i], .qd = (size_t)qd };
			double t;
			long per_slice;

			if (rig_start(&r, p, gmem)) {
				pmb_error(b, "%s", r.why);
				rig_stop(&r);
				break;
			}
			/* Calibrate: a sample's bounced part lasts about sample_ms. */
			t = timed(&r, d, true, 1);
			per_slice = t > 0 ? (long)(sample_ms * 1e6 / slices / t) : 1;
			per_slice = per_slice < 1 ? 1 : per_slice;
			pmb_progress(b, "%s, io %ld x qd %ld: %ld slices of %ld batches per path", d ? "read" : "write",
				     sizes[i], qd, slices, per_slice);
			if (t < 0)
				pmb_error(b, "calibrating: %s", r.why);
			else
				measure(b, &r, d, slices, per_slice, d == 0 && i == 0, all_costs, &pt[d * nsizes + i]);
			if (d == 0 && i == 0)
				pmb_config(b, "private_backing", json_string(r.priv_backing));
			rig_stop(&r);
		}
	}
	{
		struct pmb_table *t = pmb_table(b, "throughput", "io bytes,bounce write,direct write,bounce read,"
						"direct read,cost write,cost read");

		for (int i = 0; i < nsizes; i++)
			pmb_row(t, "%ld,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f", sizes[i], pt[i].sb.median, pt[i].sd.median,
				pt[nsizes + i].sb.median, pt[nsizes + i].sd.median, pt[i].sc.median,
				pt[nsizes + i].sc.median);
	}
	pmb_result(b, "costs", all_costs);
	pmb_config(b, "pool", json_pack("{s:i, s:s}", "mib", (int)pool_mib,
		"backing", "memfd MAP_SHARED, MADV_HUGEPAGE, a plain memslot (2M guest page tables)"));
	pmb_config(b, "queue", json_pack("{s:i, s:s}", "qd", (int)qd, "device",
		"pwrite/pread of each request against a memfd (tmpfs) file, one guest exit per batch"));
	pmb_note(b, "bounce = the guest's word copies through the shared pool (no SSE in guest code, like a "
		 "kernel copy without FPU); direct = the same requests and exits with the VMM reading/writing "
		 "the private buffers in place. cost = bounced time / direct time of the same bytes, "
		 "interleaved in slices; bounce_copy_ns_per_mib = (bounced - direct time) per bounced MiB. "
		 "Where a backend traps guest memory accesses (kvm_pvm emulates them: several µs per "
		 "guest store), the bounce cost is that backend's, not a copy's");
	free(pt);
	return pmb_finish(b);
}
