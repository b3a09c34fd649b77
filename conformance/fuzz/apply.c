// SPDX-License-Identifier: GPL-2.0
/*
 * The model's state transitions: what an operation that answered as expected leaves
 * behind (fz_model_apply). The expectations themselves are model.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "fuzz.h"

/* A file's last reference went: kvm_gmem_release() unbinds its slots. */
static void fz_file_put(struct fz_model *m, int f)
{
	struct fz_mfile *file = &m->file[f];

	if (file->open || file->nmaps)
		return;
	file->live = false;
	for (int s = 0; s < FZ_SLOTS; s++)
		if (m->slot[s].used && m->slot[s].file == f)
			m->slot[s].file = -1;
}


/* A page the guest or host touched is allocated with its data; a write stores the token. */
static void fz_touch(struct fz_mfile *f, uint32_t page, bool write, uint64_t token)
{
	f->alloc[page] = FZ_TOUCHED;
	if (write)
		f->tok[page] = token;
}

static void fz_vcpu_use(struct fz_model *m, unsigned int v, bool survives)
{
	if (!m->vcpu[v])
		m->vcpu_ids++;
	m->vcpu[v] = survives;
}

/*
 * The gfn's SPTE after a fault: with kvm.mmio_caching a no-slot fault leaves an MMIO SPTE
 * (x86 mmu.c kvm_handle_noslot_fault); a served fault replaces whatever was there.
 */
static void fz_spte(struct fz_model *m, uint64_t gpa, bool mmio)
{
	if (gpa >= FZ_WIN_GPA && gpa < FZ_WIN_GPA + FZ_WIN_PAGES * FZ_PAGE)
		m->mmio_spte[(gpa - FZ_WIN_GPA) / FZ_PAGE] =
			mmio && m->caps->mmio_caching ? FZ_SPTE_VALID : FZ_SPTE_NONE;
}

/* Any memslot update bumps the memslot generation: cached MMIO SPTEs go stale. */
static void fz_memslots_changed(struct fz_model *m)
{
	for (int g = 0; g < FZ_WIN_PAGES; g++)
		if (m->mmio_spte[g] == FZ_SPTE_VALID)
			m->mmio_spte[g] = FZ_SPTE_STALE;
}

static void fz_apply_guest(struct fz_model *m, const struct fz_op *op, const struct fz_obs *o)
{
	bool write = op->kind == FZ_GUEST_WRITE;
	uint64_t fflags;
	uint32_t page = 0;
	int s;

	/* An MMIO exit is completed and the vCPU goes on; a memory-fault exit leaves it stuck. */
	fz_vcpu_use(m, op->v, o->ret == 0 || o->exit_reason == KVM_EXIT_MMIO);
	switch (fz_route(m, op->x, &s, &page, &fflags, true)) {
	case FZ_TO_MMIO:
		fz_spte(m, op->x, true);
		break;
	case FZ_TO_FILE:
		fz_spte(m, op->x, false);
		fz_touch(&m->file[m->slot[s].file], page, write, op->y);
		break;
	case FZ_TO_HVA:
		fz_spte(m, op->x, false);
		if (write)
			m->slot[s].hva_tok[page] = op->y;
		break;
	default:
		break;
	}
}

static void fz_apply_slot_add(struct fz_model *m, const struct fz_op *op)
{
	struct fz_mfile *f = fz_handle_file(m, op->h);
	struct fz_mslot *sl = &m->slot[op->s];

	if (sl->used)
		return;		/* an identical plain re-set: nothing changes */
	fz_memslots_changed(m);
	if (op->v % FZ_SLOT_VARIANTS == FZ_SLOT_PLAIN) {
		*sl = (struct fz_mslot){ .used = true, .plain = true, .file = -1, .gpa = op->x,
					 .npages = op->a };
		return;
	}
	*sl = (struct fz_mslot){
		.used = true, .file = m->handle[op->h], .gpa = op->x, .npages = op->a,
		.off = op->y / FZ_PAGE, .hva_gmem = op->z,
		.gmem_only = f->flags & GUEST_MEMFD_FLAG_MMAP,
	};
	if (op->z)
		f->nmaps++;
}

void fz_model_apply(struct fz_model *m, const struct fz_op *op, const struct fz_expect *e, int alt)
{
	const struct fz_obs *o = &e->o[alt < 0 ? 0 : alt];
	struct fz_mfile *f = fz_handle_file(m, op->h);
	struct fz_mmap *mp = &m->map[op->m];
	struct fz_mslot *sl = &m->slot[op->s];

	if (e->skip || (!e->race && o->ret == -1 && o->exit_reason == 0 && op->kind != FZ_GUEST_READ &&
			op->kind != FZ_GUEST_WRITE && op->kind != FZ_PREFAULT))
		return;			/* a failed call changes nothing */
	switch (op->kind) {
	case FZ_CREATE:
		for (int i = 0; i < FZ_MODEL_FILES; i++) {
			if (m->file[i].live)
				continue;
			m->file[i] = (struct fz_mfile){ .live = true, .open = true, .flags = op->y,
							.pages = op->x / FZ_PAGE };
			m->handle[op->h] = i;
			break;
		}
		break;
	case FZ_CLOSE:
		f->open = false;
		fz_file_put(m, m->handle[op->h]);
		m->handle[op->h] = -1;
		break;
	case FZ_FALLOCATE:
		for (uint64_t p = op->x / FZ_PAGE; p < (op->x + op->y) / FZ_PAGE && p < f->pages; p++) {
			if (op->a & FALLOC_FL_PUNCH_HOLE)
				f->tok[p] = 0, f->alloc[p] = FZ_NONE;
			else
				f->alloc[p] = f->alloc[p] ? f->alloc[p] : FZ_ALLOCATED;
		}
		break;
	case FZ_MMAP:
		*mp = (struct fz_mmap){ .used = true, .file = m->handle[op->h], .off = op->a,
					.npages = op->b, .prot = op->x };
		f->nmaps++;
		break;
	case FZ_MUNMAP:
		mp->used = false;
		m->file[mp->file].nmaps--;
		fz_file_put(m, mp->file);
		break;
	case FZ_MPROTECT:
		mp->prot = op->x;
		break;
	case FZ_HOST_READ:
	case FZ_HOST_WRITE:
		if (!o->signo)
			fz_touch(&m->file[mp->file], mp->off + op->a, op->kind == FZ_HOST_WRITE, op->x);
		break;
	case FZ_SLOT_ADD:
		fz_apply_slot_add(m, op);
		break;
	case FZ_SLOT_DEL: {
		int file = sl->file;

		sl->used = false;
		fz_memslots_changed(m);
		if (sl->hva_gmem && file >= 0) {
			m->file[file].nmaps--;
			fz_file_put(m, file);
		}
		break;
	}
	case FZ_HVA_READ:
	case FZ_HVA_WRITE:
		if (!sl->hva_gmem) {
			if (op->kind == FZ_HVA_WRITE)
				sl->hva_tok[op->a] = op->x;
		} else if (!o->signo) {
			fz_touch(&m->file[sl->file], sl->off + op->a, op->kind == FZ_HVA_WRITE, op->x);
		}
		break;
	case FZ_ATTR:
		for (uint32_t i = 0; i < op->a; i++) {
			uint64_t g = (op->x - FZ_WIN_GPA) / FZ_PAGE + i;

			if (op->x >= FZ_WIN_GPA && g < FZ_WIN_PAGES)
				m->priv[g] = op->y & KVM_MEMORY_ATTRIBUTE_PRIVATE;
		}
		break;
	case FZ_PREFAULT:
		fz_vcpu_use(m, op->v, true);
		if (o->ret && o->err == EINVAL)
			break;		/* refused before any page */
		/* Pages done are mapped; the page that failed as MMIO (shared, no slot) got its SPTE. */
		for (uint64_t g = op->x; g <= op->x + op->a * FZ_PAGE - o->v[0] && g < op->x + op->a * FZ_PAGE;
		     g += FZ_PAGE) {
			uint64_t fflags;
			uint32_t page;
			int s;
			enum fz_route r = fz_route(m, g, &s, &page, &fflags, false);

			if (r == FZ_TO_FILE)
				m->file[m->slot[s].file].alloc[page] = FZ_TOUCHED;
			if (r == FZ_TO_FILE || r == FZ_TO_HVA)
				fz_spte(m, g, false);
			else if (s < 0 && !fz_private(m, g))
				fz_spte(m, g, true);
		}
		break;
	case FZ_GUEST_READ:
	case FZ_GUEST_WRITE:
		fz_apply_guest(m, op, o);
		break;
	case FZ_RACE_PUNCH:
		/* The readers' last pass refaulted the page after the punch: allocated, zero. */
		for (unsigned int v = 0; v < FZ_VCPUS; v++)
			if (op->a & (1u << v))
				fz_vcpu_use(m, v, true);
		f->tok[op->z] = 0;
		f->alloc[op->z] = FZ_TOUCHED;
		break;
	default:
		break;
	}
}
