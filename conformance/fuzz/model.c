// SPDX-License-Identifier: GPL-2.0
/*
 * The reference model: for each operation, what the documented ABI says the kernel
 * returns, from the state the earlier operations left. Each rule names its source
 * (api.rst, the kernel function, or the rows.tsv id that checks it by hand). The
 * model follows capabilities (struct fz_caps), never kernel versions; where upstream
 * changed a behaviour without one, it admits both and names the commit behind each.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "fuzz.h"

void fz_model_init(struct fz_model *m, const struct fz_caps *caps)
{
	memset(m, 0, sizeof(*m));
	m->caps = caps;
	for (int i = 0; i < FZ_FILES; i++)
		m->handle[i] = -1;
	for (int i = 0; i < FZ_SLOTS; i++)
		m->slot[i].file = -1;
}

static struct fz_expect fz_one(int ret, int err)
{
	struct fz_expect e = { .n = 1 };

	e.o[0].ret = ret;
	e.o[0].err = err;
	return e;
}

static struct fz_expect fz_skip(const char *why)
{
	struct fz_expect e = { .skip = true, .why = why };

	return e;
}

struct fz_mfile *fz_handle_file(struct fz_model *m, unsigned int h)
{
	return h < FZ_FILES && m->handle[h] >= 0 ? &m->file[m->handle[h]] : NULL;
}

static int fz_slot_at(const struct fz_model *m, uint64_t gpa)
{
	for (int s = 0; s < FZ_SLOTS; s++) {
		const struct fz_mslot *sl = &m->slot[s];

		if (sl->used && gpa >= sl->gpa && gpa < sl->gpa + sl->npages * FZ_PAGE)
			return s;
	}
	return -1;
}

/*
 * Where a guest access to gpa goes (mfault_gmem.guest_access_without_exit,
 * mfault_private.*, mfault_noslot.*, memslot_close.released_gmem_guest_access_efault,
 * api.rst 4.143/7.34):
 *  - no memslot, shared: emulated as MMIO (KVM_EXIT_MMIO); with kvm.mmio_caching the
 *    fault leaves an MMIO SPTE for the gfn;
 *  - no memslot, PRIVATE: a memory-fault exit (KVM_RUN -EFAULT, KVM_EXIT_MEMORY_FAULT,
 *    flags PRIVATE); but a still-valid MMIO SPTE is served as MMIO without a fault, and one a
 *    memslot update made stale faults as a shared access: flags 0 (44f42ef37deb, v6.10:
 *    is_private != kvm_mem_is_private is checked before the no-slot exit) - also once a slot
 *    covers the gfn (mmu.c kvm_mmu_page_fault: reserved-bit faults, "emulated MMIO is
 *    shared-only", never get PFERR_PRIVATE_ACCESS; sw-protected VMs keep stale MMIO SPTEs,
 *    only default VMs zap all on a slot deletion);
 *  - PRIVATE in a plain slot: the memory-fault exit, flags PRIVATE;
 *  - PRIVATE in a guest_memfd slot, or shared in a gmem-only one (created with MMAP; 6.18
 *    kvm_memslot_is_gmem_only): the guest_memfd page (the exit, when it was released);
 *  - shared otherwise: userspace_addr.
 */


bool fz_private(const struct fz_model *m, uint64_t gpa)
{
	return m->caps->attrs && gpa >= FZ_WIN_GPA && gpa < FZ_WIN_GPA + FZ_WIN_PAGES * FZ_PAGE &&
	       m->priv[(gpa - FZ_WIN_GPA) / FZ_PAGE];
}

/* guest: a guest access (which meets MMIO SPTEs); false: KVM_PRE_FAULT_MEMORY, which never does. */
enum fz_route fz_route(const struct fz_model *m, uint64_t gpa, int *s, uint32_t *page,
			      uint64_t *fflags, bool guest)
{
	bool in_win = gpa >= FZ_WIN_GPA && gpa < FZ_WIN_GPA + FZ_WIN_PAGES * FZ_PAGE;
	uint64_t g = in_win ? (gpa - FZ_WIN_GPA) / FZ_PAGE : 0;
	bool private = fz_private(m, gpa);
	const struct fz_mslot *sl;

	*fflags = private ? KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
	*s = fz_slot_at(m, gpa);
	if (guest && private && in_win && m->mmio_spte[g] == FZ_SPTE_STALE) {
		*fflags = 0;	/* a reserved-bit fault: shared, whether a slot came since or not */
		return FZ_TO_FAULT;
	}
	if (*s < 0)
		return !private || (guest && in_win && m->mmio_spte[g] == FZ_SPTE_VALID) ? FZ_TO_MMIO : FZ_TO_FAULT;
	sl = &m->slot[*s];
	*page = (gpa - sl->gpa) / FZ_PAGE;
	if (private && sl->plain)
		return FZ_TO_FAULT;
	if (private || sl->gmem_only) {
		*page += sl->off;
		return sl->file < 0 ? FZ_TO_FAULT : FZ_TO_FILE;
	}
	return FZ_TO_HVA;
}

/*
 * A host access through a mapping of file page `page` (gmem_mmap.sigbus_past_eof,
 * gmem_mmap.sigbus_on_private_memory, gmmap_prot.mprotect_tracks_protection).
 */
static struct fz_expect fz_host_access(const struct fz_mfile *f, uint64_t page, uint64_t prot,
				       bool write, uint64_t token)
{
	struct fz_expect e = fz_one(0, 0);

	if (!(prot & (write ? PROT_WRITE : PROT_READ))) {
		e.o[0].signo = SIGSEGV;
		e.o[0].code = SEGV_ACCERR;
	} else if (page >= f->pages || !(f->flags & GUEST_MEMFD_FLAG_INIT_SHARED)) {
		e.o[0].signo = SIGBUS;
		e.o[0].code = BUS_ADRERR;
	} else if (!write) {
		e.o[0].v[0] = fz_hash_token(f->tok[page]);
	}
	(void)token;
	return e;
}

static struct fz_expect fz_expect_create(struct fz_model *m, const struct fz_op *op)
{
	int free_obj = -1;

	if (m->handle[op->h] >= 0)
		return fz_skip("file handle in use");
	for (int f = 0; f < FZ_MODEL_FILES && free_obj < 0; f++)
		if (!m->file[f].live)
			free_obj = f;
	if (free_obj < 0)
		return fz_skip("every file object is alive");
	/* api.rst 4.142: size > 0 and page aligned; flags within KVM_CAP_GUEST_MEMFD_FLAGS. */
	if (!op->x || op->x % FZ_PAGE || (op->y & ~m->caps->gmem_flags))
		return fz_one(-1, EINVAL);
	return fz_one(0, 0);
}

/* kvm_gmem_fallocate() after vfs_fallocate() (falloc.* rows). */
static struct fz_expect fz_expect_fallocate(const struct fz_mfile *f, const struct fz_op *op)
{
	int mode = op->a;

	if ((int64_t)op->x < 0 || (int64_t)op->y <= 0)
		return fz_one(-1, EINVAL);
	if (!(mode & FALLOC_FL_KEEP_SIZE) || (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)))
		return fz_one(-1, EOPNOTSUPP);
	if (op->x % FZ_PAGE || op->y % FZ_PAGE)
		return fz_one(-1, EINVAL);
	if (!(mode & FALLOC_FL_PUNCH_HOLE) && op->x + op->y > f->pages * FZ_PAGE)
		return fz_one(-1, EINVAL);
	return fz_one(0, 0);
}

/*
 * mmap of a guest_memfd (do_mmap, kvm_gmem_mmap): PROT_EXEC on the noexec anon-inode
 * mount, then no mmap support, then MAP_PRIVATE.
 */
static struct fz_expect fz_expect_mmap(const struct fz_mfile *f, const struct fz_op *op)
{
	struct fz_expect e;

	if (op->x & PROT_EXEC) {
		/*
		 * 1ed95281c0c7 "anon_inode: raise SB_I_NODEV and SB_I_NOEXEC" (v6.15) made the
		 * anon-inode mount noexec: EPERM (gmmap_prot.exec_mapping_eperm). Before it, a
		 * guest_memfd without mmap support answered ENODEV; with MMAP it never existed.
		 */
		e = fz_one(-1, EPERM);
		e.src[0] = "1ed95281c0c7 anon_inode SB_I_NOEXEC (v6.15): EPERM";
		if (!(f->flags & GUEST_MEMFD_FLAG_MMAP)) {
			e.n = 2;
			e.o[1] = e.o[0];
			e.o[1].err = ENODEV;
			e.src[1] = "before 1ed95281c0c7: no guest_memfd mmap, ENODEV";
		}
		return e;
	}
	if (!(f->flags & GUEST_MEMFD_FLAG_MMAP))
		return fz_one(-1, ENODEV);	/* gmem_mmap.private_mapping_refused */
	if ((op->y & MAP_TYPE) != MAP_SHARED)
		return fz_one(-1, EINVAL);
	return fz_one(0, 0);
}

/*
 * A guest_memfd range another slot binds (memslot_overlap.gmem_range_overlap_einval): kvm_gmem_bind
 * failed it with EINVAL, then 06ba195f136a made it EEXIST; no capability tells them apart.
 */
static struct fz_expect fz_overlap_drift(void)
{
	struct fz_expect e = fz_one(-1, EINVAL);

	e.n = 2;
	e.o[1] = e.o[0];
	e.o[1].err = EEXIST;
	e.src[0] = "a7800aa80ea4 (v6.8): a bound guest_memfd range -> EINVAL";
	e.src[1] = "06ba195f136a (v7.2; 6.12.118): a bound guest_memfd range -> EEXIST";
	return e;
}

/* KVM_SET_USER_MEMORY_REGION2 on slot s (kvm_set_memory_region, kvm_gmem_bind). */
static struct fz_expect fz_expect_slot_add(struct fz_model *m, const struct fz_op *op)
{
	const struct fz_caps *c = m->caps;
	struct fz_mfile *f = fz_handle_file(m, op->h);
	const struct fz_mslot *live = &m->slot[op->s];
	unsigned int variant = op->v % FZ_SLOT_VARIANTS;
	uint64_t size = op->a * FZ_PAGE;
	struct fz_expect e;

	if (variant != FZ_SLOT_PLAIN && op->b == FZ_FD_FILE && !f)
		return fz_skip("file handle empty");
	if (live->used) {
		/*
		 * A re-set of a live slot (its own userspace_addr): guest_memfd slots are immutable
		 * and a plain one cannot gain guest_memfd (memslot_immutable.*), check_memory_region_flags
		 * refuses GUEST_MEMFD with READONLY or LOG_DIRTY_PAGES (memslot_flags.*), a size change
		 * is refused; an identical plain request changes nothing.
		 */
		if (variant != FZ_SLOT_PLAIN || !live->plain || op->a != live->npages)
			return fz_one(-1, EINVAL);
		return op->x == live->gpa ? fz_one(0, 0) : fz_skip("memslot move not modelled");
	}
	if (variant != FZ_SLOT_PLAIN && op->b == FZ_FD_FILE && op->z &&
	    !(f->flags & GUEST_MEMFD_FLAG_MMAP)) {
		e = fz_one(-1, ENODEV);		/* userspace_addr = the gmem's own mapping */
		e.o[0].v[0] = 1;
		return e;
	}
	if (variant == FZ_SLOT_GMEM_RO || variant == FZ_SLOT_GMEM_DIRTY)
		return fz_one(-1, EINVAL);
	if (c->gmem_via_hva && variant == FZ_SLOT_GMEM && op->b == FZ_FD_FILE &&
	    (f->flags & GUEST_MEMFD_FLAG_MMAP) &&
	    (!op->z || !(f->flags & GUEST_MEMFD_FLAG_INIT_SHARED)))
		return fz_skip(c->gmem_via_hva);
	if (c->bind_offset_known && variant == FZ_SLOT_GMEM && op->y >= (1ULL << 62))
		return fz_skip(c->bind_offset_known);
	if (variant == FZ_SLOT_GMEM && (op->y % FZ_PAGE || op->y + size < op->y))
		return fz_one(-1, EINVAL);
	for (int s = 0; s < FZ_SLOTS; s++) {
		const struct fz_mslot *o = &m->slot[s];

		if (o->used && op->x < o->gpa + o->npages * FZ_PAGE && o->gpa < op->x + size)
			return fz_one(-1, EEXIST);
	}
	if (variant == FZ_SLOT_PLAIN)
		return fz_one(0, 0);
	if (op->b == FZ_FD_CLOSED)
		return fz_one(-1, EBADF);
	if (op->b == FZ_FD_MEMFD)
		return fz_one(-1, EINVAL);
	/* kvm_gmem_bind: offset < 0 (loff_t) or offset + size past EOF (eba85fee7fc6: unsigned sum). */
	if (op->y >= (1ULL << 63) || op->y + size > f->pages * FZ_PAGE)
		return fz_one(-1, EINVAL);
	for (int s = 0; s < FZ_SLOTS; s++) {
		const struct fz_mslot *o = &m->slot[s];

		if (o->used && !o->plain && o->file == m->handle[op->h] &&
		    op->y / FZ_PAGE < o->off + o->npages && o->off < op->y / FZ_PAGE + op->a)
			return fz_overlap_drift();
	}
	if ((f->flags & c->slot_flags) != c->slot_flags)
		return fz_one(-1, EINVAL);	/* arm64: gmem slots must be gmem-only */
	return fz_one(0, 0);
}

/* KVM_PRE_FAULT_MEMORY page by page (kvm_vcpu_pre_fault_memory, prefault.* rows). */
static struct fz_expect fz_expect_prefault(struct fz_model *m, const struct fz_op *op)
{
	struct fz_expect e = fz_one(0, 0);
	uint64_t done = 0;
	int err = 0;
	uint64_t size = op->y ? op->y : op->a * FZ_PAGE;

	/* prefault.flags_einval, unaligned_einval, size_zero_einval, wrap_einval: range unchanged. */
	if (op->b || op->x % FZ_PAGE || size % FZ_PAGE || op->x + size <= op->x) {
		e = fz_one(-1, EINVAL);
		e.o[0].v[0] = size;
		e.o[0].v[1] = op->x;
		return e;
	}

	for (uint32_t i = 0; i < op->a && !err; i++) {
		uint64_t gpa = op->x + i * FZ_PAGE;
		uint64_t fflags;
		uint32_t page;
		int s;

		/* Pre-fault takes no MMIO-SPTE shortcut: a PRIVATE gfn without a slot is -EFAULT. */
		switch (fz_route(m, gpa, &s, &page, &fflags, false)) {
		case FZ_TO_MMIO:
			err = fz_private(m, gpa) ? EFAULT : ENOENT;
			break;
		case FZ_TO_FAULT:
			err = EFAULT;
			break;
		default:
			done += FZ_PAGE;
		}
	}
	e.o[0].v[0] = op->a * FZ_PAGE - done;
	e.o[0].v[1] = op->x + done;
	if (err && !done) {
		e.o[0].ret = -1;
		e.o[0].err = err;
	}
	return e;
}

/* A guest read or write of the page at gpa. */
static struct fz_expect fz_expect_guest(struct fz_model *m, const struct fz_op *op, bool write)
{
	struct fz_expect e = fz_one(0, 0);
	uint32_t page = 0;
	uint64_t fflags;
	int s;

	switch (fz_route(m, op->x, &s, &page, &fflags, true)) {
	case FZ_TO_MMIO:
		/* inval_delete.*: KVM_RUN 0, KVM_EXIT_MMIO at the first access (word 0). */
		e.o[0] = (struct fz_obs){ .ret = -1, .exit_reason = KVM_EXIT_MMIO, .code = PM_RUN_EXIT,
					  .v = { op->x, 8, write, write ? fz_pattern(op->y, 0) : 0 } };
		break;
	case FZ_TO_FAULT:
		/* api.rst 7.34 / 4.143: KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT {flags, gpa, size}. */
		e.o[0] = (struct fz_obs){ .ret = -1, .err = EFAULT, .exit_reason = KVM_EXIT_MEMORY_FAULT,
					  .code = PM_RUN_ERROR,
					  .v = { fflags, op->x, FZ_PAGE } };
		break;
	case FZ_TO_FILE:
		if (!write)
			e.o[0].v[0] = fz_hash_token(m->file[m->slot[s].file].tok[page]);
		break;
	case FZ_TO_HVA:
		if (!write)
			e.o[0].v[0] = fz_hash_token(m->slot[s].hva_tok[page]);
		break;
	}
	return e;
}

/* A read racing a punch: every reader targets the punched page (else the model skips it). */
static struct fz_expect fz_expect_race(struct fz_model *m, struct fz_op *op)
{
	struct fz_mfile *f = fz_handle_file(m, op->h);
	struct fz_expect e = { .n = 1, .race = true };

	if (!f || op->z >= f->pages)
		return fz_skip("no such page to punch");
	for (unsigned int v = 0; v < FZ_VCPUS; v++) {
		uint64_t fflags;
		uint32_t page;
		int s;

		if (!(op->a & (1u << v)))
			continue;
		if (!m->vcpu[v] && m->vcpu_ids >= FZ_MAX_VCPU_IDS)
			return fz_skip("no vCPU id left");
		if (fz_route(m, op->x, &s, &page, &fflags, true) != FZ_TO_FILE ||
		    m->slot[s].file != m->handle[op->h] || page != op->z)
			return fz_skip("a guest reader does not read the punched page");
	}
	if (op->b) {
		const struct fz_mmap *mp = &m->map[op->m];

		if (!mp->used || mp->file != m->handle[op->h] || op->y >= mp->npages ||
		    mp->off + op->y != op->z || !(mp->prot & PROT_READ) ||
		    !(f->flags & GUEST_MEMFD_FLAG_INIT_SHARED))
			return fz_skip("the host reader does not read the punched page");
	}
	if (!op->a && !op->b)
		return fz_skip("no reader");
	op->t = f->tok[op->z];
	return e;
}

struct fz_expect fz_model_expect(struct fz_model *m, struct fz_op *op)
{
	struct fz_mfile *f = fz_handle_file(m, op->h);
	const struct fz_mmap *mp = &m->map[op->m];
	const struct fz_mslot *sl = &m->slot[op->s];
	struct fz_expect e;

	switch (op->kind) {
	case FZ_CREATE:
		return fz_expect_create(m, op);
	case FZ_CLOSE:
		return f ? fz_one(0, 0) : fz_skip("file handle empty");
	case FZ_FALLOCATE:
		return f ? fz_expect_fallocate(f, op) : fz_skip("file handle empty");
	case FZ_FTRUNCATE:
		/* fileops.ftruncate_einval: guest_memfd cannot be resized. */
		return f ? fz_one(-1, EINVAL) : fz_skip("file handle empty");
	case FZ_MMAP:
		if (!f || mp->used)
			return fz_skip("file handle empty or mapping in use");
		if (!op->b || op->b > FZ_MAX_PAGES)
			return fz_skip("mapping size outside 1..FZ_MAX_PAGES pages");
		return fz_expect_mmap(f, op);
	case FZ_MUNMAP:
	case FZ_MADVISE:
		return mp->used ? fz_one(0, 0) : fz_skip("mapping handle empty");
	case FZ_MPROTECT:
		if (!mp->used)
			return fz_skip("mapping handle empty");
		/* gmmap_prot.mprotect_exec_eacces: VM_MAYEXEC is clear on the noexec mount. */
		return fz_one(op->x & PROT_EXEC ? -1 : 0, op->x & PROT_EXEC ? EACCES : 0);
	case FZ_MINCORE: {
		const struct fz_mfile *mf = &m->file[mp->file];

		if (!mp->used)
			return fz_skip("mapping handle empty");
		/*
		 * mincore() reports a page-cache folio that is uptodate (mm/mincore.c mincore_page).
		 * guest_memfd marks a folio uptodate when it zeroes it for its first use (host
		 * fault, guest fault, pre-fault); whether a fallocate()d, never used folio counts
		 * is an implementation detail (the 7.0 populate rework dropped the preparation
		 * tracking): such pages are admitted either way, and their answers recorded.
		 */
		e = fz_one(0, 0);
		for (uint32_t i = 0; i < mp->npages; i++) {
			uint8_t st = mp->off + i < mf->pages ? mf->alloc[mp->off + i] : FZ_NONE;

			if (st == FZ_TOUCHED)
				e.o[0].v[0] |= 1ULL << i;
			else if (st == FZ_ALLOCATED)
				e.v0_ignore |= 1ULL << i;
		}
		return e;
	}
	case FZ_HOST_READ:
	case FZ_HOST_WRITE:
		if (!mp->used || op->a >= mp->npages)
			return fz_skip("no such mapped page");
		return fz_host_access(&m->file[mp->file], mp->off + op->a, mp->prot,
				      op->kind == FZ_HOST_WRITE, op->x);
	case FZ_SLOT_ADD:
		return fz_expect_slot_add(m, op);
	case FZ_SLOT_DEL:
		/* memslot_immutable.delete_and_recreate_succeeds: deleting an unused slot -> EINVAL. */
		return sl->used ? fz_one(0, 0) : fz_one(-1, EINVAL);
	case FZ_HVA_READ:
	case FZ_HVA_WRITE:
		if (!sl->used || op->a >= sl->npages)
			return fz_skip("no such slot page");
		if (!sl->hva_gmem) {
			e = fz_one(0, 0);
			if (op->kind == FZ_HVA_READ)
				e.o[0].v[0] = fz_hash_token(sl->hva_tok[op->a]);
			return e;
		}
		return fz_host_access(&m->file[sl->file], sl->off + op->a, PROT_READ | PROT_WRITE,
				      op->kind == FZ_HVA_WRITE, op->x);
	case FZ_ATTR:
		if (!m->caps->attrs)
			return fz_skip("KVM_CAP_MEMORY_ATTRIBUTES lacks PRIVATE");
		/* kvm_vm_ioctl_set_mem_attributes: flags 0, known bits, non-empty aligned range. */
		if (op->b || (op->y & ~KVM_MEMORY_ATTRIBUTE_PRIVATE) || !op->a || op->x % FZ_PAGE ||
		    op->x + op->a * FZ_PAGE < op->x)
			return fz_one(-1, EINVAL);
		return fz_one(0, 0);
	case FZ_PREFAULT:
		if (!m->caps->prefault)
			return fz_skip("KVM_CAP_PRE_FAULT_MEMORY is 0");
		if (!m->vcpu[op->v] && m->vcpu_ids >= FZ_MAX_VCPU_IDS)
			return fz_skip("no vCPU id left");
		return fz_expect_prefault(m, op);
	case FZ_GUEST_READ:
	case FZ_GUEST_WRITE:
		if (!m->vcpu[op->v] && m->vcpu_ids >= FZ_MAX_VCPU_IDS)
			return fz_skip("no vCPU id left");
		return fz_expect_guest(m, op, op->kind == FZ_GUEST_WRITE);
	case FZ_RACE_PUNCH:
		return fz_expect_race(m, op);
	}
	return fz_skip("unknown operation");
}

int fz_match(const struct fz_expect *e, const struct fz_obs *o)
{
	if (e->race)
		return fz_race_admissible(o) ? 0 : -1;
	for (int i = 0; i < e->n; i++) {
		struct fz_obs a = e->o[i], b = *o;

		a.v[0] &= ~e->v0_ignore;
		b.v[0] &= ~e->v0_ignore;
		if (!memcmp(&a, &b, sizeof(a)))
			return i;
	}
	return -1;
}

