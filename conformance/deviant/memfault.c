// SPDX-License-Identifier: GPL-2.0
/*
 * Deviations the memfault collection must detect: memory-fault exits,
 * KVM_PRE_FAULT_MEMORY and the KVM binary stats.
 *
 * Two kinds need a stand-in for missing kernel behaviour, because a deviation
 * must be provable on the machine that runs `make check`:
 *  - memory-fault exits: a backend that never produces one (kvm_pvm) has no
 *    exit to corrupt. For the memslots where upstream KVM_RUN fails with
 *    -1/EFAULT + KVM_EXIT_MEMORY_FAULT (a gmem-only slot whose guest_memfd was
 *    closed; a slot whose userspace_addr is PROT_NONE or memfd_secret memory),
 *    the mfault-* field deviations answer KVM_RUN with upstream's exit for the
 *    slot's first page, then break the one thing they name.
 *  - pre-fault: on a backend without KVM_CAP_PRE_FAULT_MEMORY the rows SKIP, so
 *    every prefault-* deviation also advertises the capability; the ioctl then
 *    reaches the kernel with the deviation's bug applied.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

static const struct shim_dev devs[] = {
	{ "mfault-info-enable-accepted",   "KVM_ENABLE_CAP(KVM_CAP_MEMORY_FAULT_INFO) succeeds instead of EINVAL",
	  .rows = "mfault_info.enable_cap_einval" },
	{ "mfault-shared-gmem-private-exit", "a shared access to a guest_memfd slot without MMAP exits KVM_EXIT_MEMORY_FAULT as if private",
	  .rows = "mfault_gmem.guest_access_without_exit" },
	{ "mfault-gpa-off-by-page",        "memory_fault.gpa is one page past the faulting page",
	  .rows = "mfault_gmem.closed_gmem_fault_exit mfault_hva.secretmem_hva_efault "
		  "mfault_hva.unbacked_hva_efault" },
	{ "mfault-size-zero",              "memory_fault.size is 0",
	  .rows = "mfault_gmem.closed_gmem_fault_exit mfault_hva.secretmem_hva_efault "
		  "mfault_hva.unbacked_hva_efault" },
	{ "mfault-flags-private-on-shared", "memory_fault.flags has KVM_MEMORY_EXIT_FLAG_PRIVATE for a shared access",
	  .rows = "mfault_gmem.closed_gmem_fault_exit mfault_hva.secretmem_hva_efault "
		  "mfault_hva.unbacked_hva_efault" },
	{ "mfault-errno-eio",              "a memory-fault exit fails KVM_RUN with EIO instead of EFAULT",
	  .rows = "mfault_gmem.closed_gmem_fault_exit mfault_hva.secretmem_hva_efault "
		  "mfault_hva.unbacked_hva_efault" },
	{ "mfault-exit-reason-stale",      "KVM_RUN fails with EFAULT but leaves exit_reason stale on an annotated path",
	  .rows = "mfault_gmem.closed_gmem_fault_exit" },
	{ "mfault-run-returns-zero",       "KVM_RUN returns 0 with exit_reason KVM_EXIT_MEMORY_FAULT",
	  .rows = "mfault_gmem.closed_gmem_fault_exit mfault_hva.secretmem_hva_efault "
		  "mfault_hva.unbacked_hva_efault" },
	{ "prefault-cap-without-support",  "KVM_CAP_PRE_FAULT_MEMORY advertised, KVM_PRE_FAULT_MEMORY does not work",
	  .rows = "prefault.in_slot_maps_all" },
	{ "prefault-flags-ignored",        "KVM_PRE_FAULT_MEMORY ignores flags",
	  .rows = "prefault.flags_einval" },
	{ "prefault-size-zero-accepted",   "KVM_PRE_FAULT_MEMORY with size 0 returns 0",
	  .rows = "prefault.size_zero_einval" },
	{ "prefault-unaligned-rounded",    "KVM_PRE_FAULT_MEMORY rounds an unaligned gpa/size instead of EINVAL",
	  .rows = "prefault.unaligned_einval" },
	{ "prefault-wrap-accepted",        "KVM_PRE_FAULT_MEMORY does not check gpa+size for wrap (ENOENT instead of EINVAL)",
	  .rows = "prefault.wrap_einval" },
	{ "prefault-padding-eperm",        "KVM_PRE_FAULT_MEMORY fails non-zero padding with EPERM",
	  .rows = "prefault.padding_not_validated" },
	{ "prefault-progress-with-error",  "a failing KVM_PRE_FAULT_MEMORY call still consumes range.size",
	  .rows = "prefault.in_slot_maps_all prefault.outside_slot_enoent "
		  "prefault.straddle_slot_end_partial_enoent prefault.flags_einval "
		  "prefault.unaligned_einval prefault.wrap_einval prefault.padding_not_validated" },
	{ "kvmstats-desc-misaligned",      "the stats header's desc_offset is not 8-byte aligned",
	  .rows = "kvmstats.format_valid" },
	{ "kvmstats-bad-type",             "a stats descriptor has a type beyond KVM_STATS_TYPE_MAX",
	  .rows = "kvmstats.format_valid" },
	{ "kvmstats-pages-cumulative",     "pages_4k is described as a cumulative counter",
	  .rows = "kvmstats.format_valid" },
	{ "kvmstats-frozen",               "stats data reads return the values of the first read forever",
	  .rows = "kvmstats.vcpu_exits_count_runs" },
	{ "kvmstats-pages-decrease",       "pages_4k goes down while the guest maps memory",
	  .rows = "kvmstats.pages_after_guest_faults" },
	/* Lab only: they corrupt real private-fault exits of sw-protected VMs. */
	{ "mfault-gpa-2m-aligned",         "memory_fault.gpa is the 2M-aligned address, not the faulting 4K page", .lab = true,
	  .rows = "mfault_pos.first_page_read_exact mfault_pos.last_page_write_exact "
		  "mfault_pos.mid_page_read_exact mfault_pos.mid_page_write_exact "
		  "mfault_private.private_attr_plain_slot_exit" },
	{ "mfault-size-2m",                "memory_fault.size is 2M instead of PAGE_SIZE", .lab = true,
	  .rows = "mfault_pos.first_page_read_exact mfault_pos.last_page_write_exact "
		  "mfault_pos.mid_page_read_exact mfault_pos.mid_page_write_exact "
		  "mfault_private.private_attr_plain_slot_exit" },
	{ "mfault-private-flag-dropped",   "memory_fault.flags is 0 on a private access", .lab = true,
	  .rows = "mfault_pos.first_page_read_exact mfault_pos.last_page_write_exact "
		  "mfault_pos.mid_page_read_exact mfault_pos.mid_page_write_exact "
		  "mfault_private.private_attr_plain_slot_exit" },
	{ "mfault-errno-eintr",            "a memory-fault exit fails KVM_RUN with EINTR instead of EFAULT", .lab = true,
	  .rows = "mfault_pos.first_page_read_exact mfault_pos.last_page_write_exact "
		  "mfault_pos.mid_page_read_exact mfault_pos.mid_page_write_exact "
		  "mfault_private.private_attr_plain_slot_exit" },
	{ "mfault-signal-exit-stale",      "a signal ends KVM_RUN with EINTR but exit_reason keeps the previous KVM_EXIT_MEMORY_FAULT", .lab = true,
	  .rows = "mfault_valid.signal_eintr_exit_intr_then_gmem_slot" },
	{ "mfault-immediate-exit-ignored", "KVM_RUN ignores immediate_exit and re-enters the guest", .lab = true,
	  .rows = "mfault_valid.immediate_exit_eintr_then_same_fault" },
	{ "mfault-resolved-run-stale",     "the KVM_RUN after a memory-fault exit returns 0 without running, exit_reason still KVM_EXIT_MEMORY_FAULT", .lab = true,
	  .rows = "mfault_pos.first_page_read_exact mfault_pos.last_page_write_exact "
		  "mfault_pos.mid_page_read_exact mfault_pos.mid_page_write_exact" },
	{ "mfault-convert-exit-range",     "after a multi-page KVM_SET_MEMORY_ATTRIBUTES the next KVM_RUN exits KVM_EXIT_MEMORY_FAULT for the whole range (size = range)", .lab = true,
	  .rows = "mfault_race.convert_race_exits_exact mfault_pos.first_page_read_exact "
		  "mfault_pos.last_page_write_exact" },
	{ "mfault-noslot-private-emulated", "a shared fault on a PRIVATE gfn without a memslot is emulated as MMIO (KVM_RUN 0, KVM_EXIT_MMIO) instead of the mismatch exit", .lab = true,
	  .rows = "mfault_noslot.stale_mmio_spte_private_gfn_shared_exit" },
	{ "kvmstats-private-frozen",       "private (guest_memfd) mappings are not counted: stats data freezes once memory is set PRIVATE", .lab = true,
	  .rows = "kvmstats.pages_after_guest_faults kvmstats.pages_after_prefault" },
	{ NULL, NULL }
};

#define MAX_FD		4096
#define MAX_SLOTS	64
#define MAX_RANGES	32
#define PAGE		4096ULL

/* ---- bookkeeping (only while one of these deviations is active) ------------------- */

struct slot {
	bool used, gmem, gmem_closed;
	int vm, gmem_fd;
	uint32_t id;
	uint64_t gpa, size, hva, gmem_flags;
};

struct range {
	uint64_t lo, hi;
};

static struct slot slots[MAX_SLOTS];
static int vcpu_vm[MAX_FD];		/* vCPU fd -> its VM fd + 1 */
static bool secret_fd[MAX_FD];
static struct range noaccess[MAX_RANGES], secret[MAX_RANGES];

static bool fd_ok(long fd)
{
	return fd >= 0 && fd < MAX_FD;
}

static void range_add(struct range *r, uint64_t lo, uint64_t len)
{
	for (int i = 0; i < MAX_RANGES; i++)
		if (r[i].lo == r[i].hi) {
			r[i] = (struct range){ lo, lo + len };
			return;
		}
}

static void range_del(struct range *r, uint64_t lo)
{
	for (int i = 0; i < MAX_RANGES; i++)
		if (r[i].lo == lo)
			r[i].hi = r[i].lo;
}

static bool in_range(const struct range *r, uint64_t a)
{
	for (int i = 0; i < MAX_RANGES; i++)
		if (a >= r[i].lo && a < r[i].hi)
			return true;
	return false;
}

static void track_region(int vm, const struct kvm_userspace_memory_region2 *r, bool v2)
{
	struct slot *free_slot = NULL;
	bool gmem = v2 && (r->flags & KVM_MEM_GUEST_MEMFD);

	for (int i = 0; i < MAX_SLOTS; i++) {
		struct slot *s = &slots[i];

		if (s->used && s->vm == vm && s->id == r->slot) {
			s->used = false;	/* deleted or replaced */
			free_slot = s;
		} else if (!s->used && !free_slot) {
			free_slot = s;
		}
	}
	if (!r->memory_size || !free_slot)
		return;
	*free_slot = (struct slot){
		.used = true, .vm = vm, .id = r->slot, .gpa = r->guest_phys_addr,
		.size = r->memory_size, .hva = r->userspace_addr, .gmem = gmem,
		.gmem_fd = gmem ? (int)r->guest_memfd : -1,
		.gmem_flags = gmem && shim_gmem(r->guest_memfd) ? shim_gmem(r->guest_memfd)->flags : 0,
	};
}

/*
 * The slot of this VM whose first guest access upstream KVM cannot resolve
 * (see the collection's tests for each reason), or NULL.
 */
static const struct slot *faulting_slot(int vm)
{
	for (int i = 0; i < MAX_SLOTS; i++) {
		const struct slot *s = &slots[i];

		if (!s->used || s->vm != vm)
			continue;
		if (s->gmem && (s->gmem_flags & GUEST_MEMFD_FLAG_MMAP) && s->gmem_closed)
			return s;
		if (!s->gmem && (in_range(noaccess, s->hva) || in_range(secret, s->hva)))
			return s;
	}
	return NULL;
}

static const struct slot *shared_gmem_slot(int vm)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (slots[i].used && slots[i].vm == vm && slots[i].gmem && !slots[i].gmem_closed &&
		    !(slots[i].gmem_flags & GUEST_MEMFD_FLAG_MMAP))
			return &slots[i];
	return NULL;
}

static bool fail(long *ret, int err)
{
	errno = err;
	*ret = -1;
	return true;
}

static bool ok(long *ret, long v)
{
	*ret = v;
	return true;
}

/* ---- KVM_RUN: upstream's memory-fault exit, with the deviation's bug -------------- */

static bool fake_fault_exit(long vcpu_fd, long *ret)
{
	struct kvm_run *run = shim_vcpu_run(vcpu_fd);
	int vm = fd_ok(vcpu_fd) ? vcpu_vm[vcpu_fd] - 1 : -1;
	const struct slot *s;
	int err = EFAULT;

	if (!run || vm < 0)
		return false;
	if (shim_is("mfault-shared-gmem-private-exit") && (s = shared_gmem_slot(vm))) {
		run->exit_reason = KVM_EXIT_MEMORY_FAULT;
		run->memory_fault.flags = KVM_MEMORY_EXIT_FLAG_PRIVATE;
		run->memory_fault.gpa = s->gpa;
		run->memory_fault.size = PAGE;
		return fail(ret, EFAULT);
	}
	s = faulting_slot(vm);
	if (!s || !(shim_is("mfault-gpa-off-by-page") || shim_is("mfault-size-zero") ||
		    shim_is("mfault-flags-private-on-shared") || shim_is("mfault-errno-eio") ||
		    shim_is("mfault-exit-reason-stale") || shim_is("mfault-run-returns-zero")))
		return false;
	if (!shim_is("mfault-exit-reason-stale"))
		run->exit_reason = KVM_EXIT_MEMORY_FAULT;
	run->memory_fault.flags = shim_is("mfault-flags-private-on-shared") ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
	run->memory_fault.gpa = s->gpa + (shim_is("mfault-gpa-off-by-page") ? PAGE : 0);
	run->memory_fault.size = shim_is("mfault-size-zero") ? 0 : PAGE;
	if (shim_is("mfault-run-returns-zero"))
		return ok(ret, 0);
	if (shim_is("mfault-errno-eio"))
		err = EIO;
	return fail(ret, err);
}

/* ---- KVM_RUN on VMs with memory attributes: real exits, corrupted (lab) ------------ */

static bool fault_seen[MAX_FD];		/* the vCPU's last KVM_RUN was a memory-fault exit */
static uint32_t reason_before[MAX_FD];	/* exit_reason when its current KVM_RUN started */
static struct { bool pending; uint64_t gpa, size, attrs; } converted[MAX_FD];	/* per VM fd */

static bool lab_run_dev(void)
{
	return shim_is("mfault-gpa-2m-aligned") || shim_is("mfault-size-2m") ||
	       shim_is("mfault-private-flag-dropped") || shim_is("mfault-errno-eintr") ||
	       shim_is("mfault-signal-exit-stale") || shim_is("mfault-immediate-exit-ignored") ||
	       shim_is("mfault-resolved-run-stale") || shim_is("mfault-convert-exit-range") ||
	       shim_is("mfault-noslot-private-emulated");
}

/* Is `gpa` inside one of this VM's memslots? */
static bool in_slot(int vm, uint64_t gpa)
{
	for (int i = 0; i < MAX_SLOTS; i++)
		if (slots[i].used && slots[i].vm == vm && gpa >= slots[i].gpa &&
		    gpa - slots[i].gpa < slots[i].size)
			return true;
	return false;
}

static bool lab_run_before(long fd, long *ret)
{
	struct kvm_run *run = shim_vcpu_run(fd);
	int vm = fd_ok(fd) ? vcpu_vm[fd] - 1 : -1;

	if (!run || !fd_ok(fd))
		return false;
	reason_before[fd] = run->exit_reason;
	if (shim_is("mfault-immediate-exit-ignored"))
		run->immediate_exit = 0;
	if (shim_is("mfault-resolved-run-stale") && fault_seen[fd]) {
		fault_seen[fd] = false;
		return ok(ret, 0);
	}
	if (shim_is("mfault-convert-exit-range") && fd_ok(vm) && converted[vm].pending) {
		converted[vm].pending = false;
		run->exit_reason = KVM_EXIT_MEMORY_FAULT;
		run->memory_fault.flags = converted[vm].attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE ?
					  KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
		run->memory_fault.gpa = converted[vm].gpa;
		run->memory_fault.size = converted[vm].size;
		return fail(ret, EFAULT);
	}
	return false;
}

static void lab_run_after(long fd, long *ret)
{
	struct kvm_run *run = shim_vcpu_run(fd);
	int err = errno;

	if (!run || !fd_ok(fd))
		return;
	fault_seen[fd] = *ret == -1 && err == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT;
	/*
	 * What a kernel with the private/shared mismatch check below the !slot exit
	 * does (before 44f42ef37deb): the shared fault (flags 0) on a gfn without a
	 * memslot goes to kvm_handle_noslot_fault and is emulated as a read of the page.
	 */
	if (fault_seen[fd] && shim_is("mfault-noslot-private-emulated") &&
	    !run->memory_fault.flags && vcpu_vm[fd] && !in_slot(vcpu_vm[fd] - 1, run->memory_fault.gpa)) {
		uint64_t gpa = run->memory_fault.gpa;

		fault_seen[fd] = false;
		run->exit_reason = KVM_EXIT_MMIO;
		memset(&run->mmio, 0, sizeof(run->mmio));
		run->mmio.phys_addr = gpa;
		run->mmio.len = 8;
		*ret = 0;
		err = 0;
	}
	if (fault_seen[fd]) {
		if (shim_is("mfault-gpa-2m-aligned"))
			run->memory_fault.gpa &= ~(0x200000ULL - 1);
		if (shim_is("mfault-size-2m"))
			run->memory_fault.size = 0x200000ULL;
		if (shim_is("mfault-private-flag-dropped"))
			run->memory_fault.flags &= ~(uint64_t)KVM_MEMORY_EXIT_FLAG_PRIVATE;
		if (shim_is("mfault-errno-eintr"))
			err = EINTR;
	}
	if (shim_is("mfault-signal-exit-stale") && *ret == -1 && err == EINTR &&
	    reason_before[fd] == KVM_EXIT_MEMORY_FAULT)
		run->exit_reason = KVM_EXIT_MEMORY_FAULT;
	errno = err;
}

/* ---- KVM_PRE_FAULT_MEMORY --------------------------------------------------------- */

static bool prefault_dev(void)
{
	return shim_is("prefault-cap-without-support") || shim_is("prefault-flags-ignored") ||
	       shim_is("prefault-size-zero-accepted") || shim_is("prefault-unaligned-rounded") ||
	       shim_is("prefault-wrap-accepted") || shim_is("prefault-padding-eperm") ||
	       shim_is("prefault-progress-with-error");
}

static bool prefault(long a[SHIM_NARGS], long *ret)
{
	struct kvm_pre_fault_memory *user = (void *)a[2], copy = *user;
	long q[SHIM_NARGS] = { a[0], a[1], (long)&copy };
	int err;

	if (shim_is("prefault-size-zero-accepted") && !copy.size)
		return ok(ret, 0);
	if (shim_is("prefault-wrap-accepted") && copy.size && copy.gpa + copy.size <= copy.gpa)
		return fail(ret, ENOENT);
	if (shim_is("prefault-padding-eperm"))
		for (int i = 0; i < 5; i++)
			if (copy.padding[i])
				return fail(ret, EPERM);
	if (shim_is("prefault-flags-ignored"))
		copy.flags = 0;
	if (shim_is("prefault-unaligned-rounded") && (copy.gpa % PAGE || copy.size % PAGE)) {
		uint64_t end = (copy.gpa + copy.size + PAGE - 1) / PAGE * PAGE;

		copy.gpa = copy.gpa / PAGE * PAGE;
		copy.size = end - copy.gpa;
	}
	*ret = shim_real(SC_IOCTL, q);
	err = errno;
	user->gpa = copy.gpa;
	user->size = copy.size;
	if (*ret < 0 && user->size && shim_is("prefault-progress-with-error")) {
		user->gpa += PAGE;
		user->size -= PAGE;
	}
	errno = err;
	return true;
}

/* ---- stats fds -------------------------------------------------------------------- */

struct stats_meta {
	bool valid;
	struct kvm_stats_header h;
	uint64_t pages4k_desc;		/* file offset of pages_4k's descriptor, 0 if none */
	uint64_t pages4k_data;		/* file offset of its value */
	int reads;
};

static struct stats_meta *stats[MAX_FD];
static bool is_stats[MAX_FD];

/* The real header and descriptors, read behind the test's back. */
static struct stats_meta *meta(int fd)
{
	static struct stats_meta pool[64];
	static int used;
	struct stats_meta *m = stats[fd];
	size_t dsz;
	char buf[sizeof(struct kvm_stats_desc) + 256];

	if (m)
		return m->valid ? m : NULL;
	if (used == 64)
		return NULL;
	m = stats[fd] = &pool[used++];
	memset(m, 0, sizeof(*m));
	{
		long q[SHIM_NARGS] = { fd, (long)&m->h, sizeof(m->h), 0 };

		if (shim_real(SC_PREAD, q) != sizeof(m->h) || m->h.name_size > 256)
			return NULL;
	}
	dsz = sizeof(struct kvm_stats_desc) + m->h.name_size;
	for (uint32_t i = 0; i < m->h.num_desc; i++) {
		uint64_t at = m->h.desc_offset + i * dsz;
		long q[SHIM_NARGS] = { fd, (long)buf, (long)dsz, (long)at };
		struct kvm_stats_desc *d = (void *)buf;

		if (shim_real(SC_PREAD, q) != (long)dsz)
			return NULL;
		if (!strncmp(d->name, "pages_4k", m->h.name_size)) {
			m->pages4k_desc = at;
			m->pages4k_data = m->h.data_offset + d->offset;
		}
	}
	m->valid = true;
	return m;
}

static bool private_set;	/* some KVM_SET_MEMORY_ATTRIBUTES set PRIVATE */

/* Values of the first data read at each (offset, length), replayed forever. */
static void freeze(int fd, char *buf, uint64_t off, long n)
{
	static struct { int fd; uint64_t off; long n; char data[256]; } seen[64];
	static int nseen;

	if (n > 256)
		return;
	for (int i = 0; i < nseen; i++)
		if (seen[i].fd == fd && seen[i].off == off && seen[i].n == n) {
			memcpy(buf, seen[i].data, n);
			return;
		}
	if (nseen < 64) {
		seen[nseen].fd = fd, seen[nseen].off = off, seen[nseen].n = n;
		memcpy(seen[nseen++].data, buf, n);
	}
}

/* Does [off, off+n) contain [at, at+len)? */
static bool covers(uint64_t off, long n, uint64_t at, uint64_t len)
{
	return at >= off && at + len <= off + (uint64_t)n;
}

static void stats_pread(int fd, char *buf, uint64_t off, long n)
{
	struct stats_meta *m = meta(fd);

	if (!m || n <= 0)
		return;
	if (shim_is("kvmstats-desc-misaligned") && covers(off, n, 0, sizeof(m->h)))
		((struct kvm_stats_header *)buf)->desc_offset += 4;	/* off is 0 */
	if (shim_is("kvmstats-bad-type") &&
	    covers(off, n, m->h.desc_offset, sizeof(struct kvm_stats_desc)))
		((struct kvm_stats_desc *)(buf + (m->h.desc_offset - off)))->flags |= KVM_STATS_TYPE_MASK;
	if (shim_is("kvmstats-pages-cumulative") && m->pages4k_desc &&
	    covers(off, n, m->pages4k_desc, sizeof(struct kvm_stats_desc)))
		((struct kvm_stats_desc *)(buf + (m->pages4k_desc - off)))->flags &= ~KVM_STATS_TYPE_MASK;
	if (off >= m->h.data_offset) {
		if (shim_is("kvmstats-frozen") || (shim_is("kvmstats-private-frozen") && private_set))
			freeze(fd, buf, off, n);
		if (shim_is("kvmstats-pages-decrease") && m->pages4k_data &&
		    covers(off, n, m->pages4k_data, 8))
			*(uint64_t *)(buf + (m->pages4k_data - off)) -= ++m->reads;
	}
}

/* ---- hooks ------------------------------------------------------------------------ */

static bool before(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	if (c != SC_IOCTL)
		return false;
	if (a[1] == (long)KVM_CHECK_EXTENSION && a[2] == KVM_CAP_PRE_FAULT_MEMORY && prefault_dev())
		return ok(ret, 1);
	if (a[1] == (long)KVM_ENABLE_CAP &&
	    ((struct kvm_enable_cap *)a[2])->cap == KVM_CAP_MEMORY_FAULT_INFO &&
	    shim_is("mfault-info-enable-accepted"))
		return ok(ret, 0);
	if (a[1] == (long)KVM_RUN && lab_run_dev())
		return lab_run_before(a[0], ret);
	if (a[1] == (long)KVM_RUN)
		return fake_fault_exit(a[0], ret);
	if (a[1] == (long)KVM_PRE_FAULT_MEMORY && prefault_dev())
		return prefault(a, ret);
	return false;
}

static void after(enum shim_call c, long a[SHIM_NARGS], long *ret)
{
	switch (c) {
	case SC_IOCTL:
		if (a[1] == (long)KVM_RUN && lab_run_dev())
			lab_run_after(a[0], ret);
		if (*ret < 0)
			break;
		if (a[1] == (long)KVM_SET_MEMORY_ATTRIBUTES &&
		    (((const struct kvm_memory_attributes *)a[2])->attributes & KVM_MEMORY_ATTRIBUTE_PRIVATE))
			private_set = true;
		if (a[1] == (long)KVM_SET_MEMORY_ATTRIBUTES && fd_ok(a[0]) &&
		    shim_is("mfault-convert-exit-range")) {
			const struct kvm_memory_attributes *m = (void *)a[2];

			if (m->size > PAGE)
				converted[a[0]] = (typeof(converted[0])){ true, m->address, m->size,
									  m->attributes };
		}
		if (a[1] == (long)KVM_CREATE_VCPU && fd_ok(*ret))
			vcpu_vm[*ret] = a[0] + 1;
		else if (a[1] == (long)KVM_SET_USER_MEMORY_REGION2)
			track_region(a[0], (void *)a[2], true);
		else if (a[1] == (long)KVM_SET_USER_MEMORY_REGION) {
			const struct kvm_userspace_memory_region *r = (void *)a[2];
			struct kvm_userspace_memory_region2 r2 = {
				.slot = r->slot, .flags = r->flags, .guest_phys_addr = r->guest_phys_addr,
				.memory_size = r->memory_size, .userspace_addr = r->userspace_addr,
			};

			track_region(a[0], &r2, false);
		} else if (a[1] == (long)KVM_GET_STATS_FD && fd_ok(*ret)) {
			is_stats[*ret] = true;
			stats[*ret] = NULL;
		}
		break;
	case SC_CLOSE:
		if (*ret || !fd_ok(a[0]))
			break;
		for (int i = 0; i < MAX_SLOTS; i++)
			if (slots[i].used && slots[i].gmem && slots[i].gmem_fd == a[0]) {
				slots[i].gmem_closed = true;
				slots[i].gmem_fd = -1;
			}
		secret_fd[a[0]] = is_stats[a[0]] = false;
		stats[a[0]] = NULL;
		break;
	case SC_SYSCALL:
		if (a[0] == SYS_memfd_secret && fd_ok(*ret))
			secret_fd[*ret] = true;
		break;
	case SC_MMAP:
		if ((void *)*ret == MAP_FAILED)
			break;
		if (a[2] == PROT_NONE)
			range_add(noaccess, *ret, a[1]);
		else if (fd_ok(a[4]) && secret_fd[a[4]])
			range_add(secret, *ret, a[1]);
		break;
	case SC_MUNMAP:
		if (!*ret) {
			range_del(noaccess, a[0]);
			range_del(secret, a[0]);
		}
		break;
	case SC_PREAD:
		if (*ret > 0 && fd_ok(a[0]) && is_stats[a[0]])
			stats_pread(a[0], (char *)a[1], a[3], *ret);
		break;
	default:
		break;
	}
}

static const struct shim_module memfault = {
	.area = "memfault", .devs = devs, .before = before, .after = after,
};
SHIM_MODULE(memfault)
