// SPDX-License-Identifier: GPL-2.0
/*
 * The generator: the next operation, drawn from the model's state so that most
 * operations name live objects and in-range pages, and some are invalid on purpose
 * (bad sizes, flags, offsets, fds, overlaps) so the error paths are exercised too.
 * Deterministic for a seed: the sequence depends on the seed and the model only.
 */
#include <fcntl.h>
#include <sys/mman.h>

#include "fuzz.h"

uint64_t fz_rand(struct fz_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);	/* splitmix64 */

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t fz_below(struct fz_rng *r, uint32_t n)
{
	return n ? fz_rand(r) % n : 0;
}

/* true with probability pct/100 */
static bool fz_pct(struct fz_rng *r, unsigned int pct)
{
	return fz_below(r, 100) < pct;
}

static uint64_t fz_token(struct fz_rng *r)
{
	return (fz_rand(r) | 1) & 0xffffffffffffULL;
}

/* Weights per operation; 0 where the mode or the capabilities leave it out. */
static unsigned int fz_weight(unsigned int kind, const struct fz_model *m, bool race, bool guest)
{
	static const unsigned int base[FZ_NR_OPS] = {
		[FZ_CREATE] = 6, [FZ_CLOSE] = 2, [FZ_FALLOCATE] = 10, [FZ_FTRUNCATE] = 1,
		[FZ_MMAP] = 6, [FZ_MUNMAP] = 3, [FZ_MPROTECT] = 3, [FZ_MADVISE] = 3, [FZ_MINCORE] = 5,
		[FZ_HOST_READ] = 10, [FZ_HOST_WRITE] = 10, [FZ_SLOT_ADD] = 6, [FZ_SLOT_DEL] = 2,
		[FZ_HVA_READ] = 4, [FZ_HVA_WRITE] = 4, [FZ_ATTR] = 6, [FZ_PREFAULT] = 4,
		[FZ_GUEST_READ] = 14, [FZ_GUEST_WRITE] = 12, [FZ_RACE_PUNCH] = 12,
	};

	switch (kind) {
	case FZ_ATTR:
		return m->caps->attrs ? base[kind] : 0;
	case FZ_PREFAULT:
		return guest && m->caps->prefault ? base[kind] : 0;
	case FZ_GUEST_READ:
	case FZ_GUEST_WRITE:
		return guest ? base[kind] : 0;
	case FZ_RACE_PUNCH:
		return guest && race ? base[kind] : 0;
	}
	return base[kind];
}

/*
 * A handle among n, mostly (pct in 100) one that ok() accepts: a random start, then the next
 * ones, each step taken with that probability; otherwise the handle reached.
 */
static unsigned int fz_pick(struct fz_rng *r, const struct fz_model *m, unsigned int n, unsigned int pct,
			    bool (*ok)(const struct fz_model *, unsigned int, bool), bool want)
{
	unsigned int i = fz_below(r, n);

	for (unsigned int k = 0; k < n && fz_pct(r, pct); k++, i = (i + 1) % n)
		if (ok(m, i, want))
			return i;
	return i;
}

static bool fz_file_is(const struct fz_model *m, unsigned int h, bool open)
{
	return (m->handle[h] >= 0) == open;
}

static bool fz_map_is(const struct fz_model *m, unsigned int i, bool used)
{
	return m->map[i].used == used;
}

static bool fz_slot_is(const struct fz_model *m, unsigned int i, bool used)
{
	return m->slot[i].used == used;
}

/* A file handle that names an object most of the time; a mapping or slot handle, used or free. */
#define fz_pick_file(r, m)		fz_pick(r, m, FZ_FILES, 85, fz_file_is, true)
#define fz_pick_map(r, m, used)		fz_pick(r, m, FZ_MAPS, 90, fz_map_is, used)
#define fz_pick_slot(r, m, used)	fz_pick(r, m, FZ_SLOTS, 90, fz_slot_is, used)

static uint32_t fz_file_pages(const struct fz_model *m, unsigned int h)
{
	return m->handle[h] >= 0 ? m->file[m->handle[h]].pages : 4;
}

/* A GPA in the window: mostly a page of a live slot. */
static uint64_t fz_pick_gpa(struct fz_rng *r, const struct fz_model *m, unsigned int pct_in_slot)
{
	if (fz_pct(r, pct_in_slot)) {
		const struct fz_mslot *sl = &m->slot[fz_pick_slot(r, m, true)];

		if (sl->used)
			return sl->gpa + fz_below(r, sl->npages) * FZ_PAGE;
	}
	return FZ_WIN_GPA + fz_below(r, FZ_WIN_PAGES) * FZ_PAGE;
}

static void fz_gen_create(struct fz_rng *r, const struct fz_model *m, struct fz_op *op)
{
	uint64_t valid = m->caps->gmem_flags;

	op->h = fz_below(r, FZ_FILES);
	for (unsigned int i = 0; i < FZ_FILES && m->handle[op->h] >= 0 && fz_pct(r, 90); i++)
		op->h = (op->h + 1) % FZ_FILES;	/* mostly an empty handle */
	op->x = (1 + fz_below(r, FZ_MAX_PAGES)) * FZ_PAGE;
	if (fz_pct(r, 4))
		op->x += 1 + fz_below(r, FZ_PAGE - 1);
	else if (fz_pct(r, 2))
		op->x = 0;
	op->y = fz_pct(r, 50) ? valid : fz_rand(r) & valid;
	if (fz_pct(r, 5))
		op->y |= 1ULL << fz_below(r, 64);
}

static void fz_gen_fallocate(struct fz_rng *r, const struct fz_model *m, struct fz_op *op)
{
	static const int odd_modes[] = { 0, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE };
	uint32_t pages;

	op->h = fz_pick_file(r, m);
	pages = fz_file_pages(m, op->h);
	op->a = fz_pct(r, 50) ? FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE : FALLOC_FL_KEEP_SIZE;
	if (fz_pct(r, 6))
		op->a = odd_modes[fz_below(r, 3)];
	op->x = fz_below(r, pages + 1) * FZ_PAGE;
	op->y = (1 + fz_below(r, pages)) * FZ_PAGE;
	if (fz_pct(r, 70) && op->x + op->y > pages * FZ_PAGE)	/* mostly within the file */
		op->y = op->x < pages * FZ_PAGE ? pages * FZ_PAGE - op->x : FZ_PAGE;
	if (fz_pct(r, 5))
		op->x += 1 + fz_below(r, FZ_PAGE - 1);
	else if (fz_pct(r, 5))
		op->y += 1 + fz_below(r, FZ_PAGE - 1);
	else if (fz_pct(r, 2))
		op->y = 0;
}

static void fz_gen_mmap(struct fz_rng *r, const struct fz_model *m, struct fz_op *op)
{
	static const uint64_t prots[] = { PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
					  PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE, PROT_READ | PROT_EXEC };
	uint32_t pages;

	op->h = fz_pick_file(r, m);
	op->m = fz_pick_map(r, m, false);
	pages = fz_file_pages(m, op->h);
	op->a = fz_below(r, fz_pct(r, 90) ? pages : pages + 2);
	op->b = 1 + fz_below(r, op->a < FZ_MAX_PAGES ? FZ_MAX_PAGES - op->a : 1);
	if (fz_pct(r, 80) && op->a + op->b > pages && op->a < pages)	/* mostly below EOF */
		op->b = pages - op->a;
	op->x = prots[fz_below(r, 7)];
	op->y = fz_pct(r, 5) ? MAP_PRIVATE : MAP_SHARED;
}

static void fz_gen_slot_add(struct fz_rng *r, const struct fz_model *m, struct fz_op *op)
{
	uint32_t pages, win;

	op->s = fz_pick_slot(r, m, false);
	op->h = fz_pick_file(r, m);
	op->b = fz_pct(r, 94) ? FZ_FD_FILE : fz_pct(r, 50) ? FZ_FD_CLOSED : FZ_FD_MEMFD;
	op->v = fz_pct(r, 88) ? FZ_SLOT_GMEM : fz_pct(r, 50) ? FZ_SLOT_PLAIN :
		fz_pct(r, 50) ? FZ_SLOT_GMEM_RO : FZ_SLOT_GMEM_DIRTY;
	pages = fz_file_pages(m, op->h);
	op->a = 1 + fz_below(r, pages < 8 ? pages : 8);
	op->y = fz_below(r, pages - op->a + (fz_pct(r, 90) ? 1 : 3)) * FZ_PAGE;
	win = FZ_WIN_PAGES - op->a;
	op->x = FZ_WIN_GPA + fz_below(r, win + 1) * FZ_PAGE;
	/* userspace_addr: the gmem's own mapping when it can be mapped (the 6.18 selftests' way). */
	op->z = op->b == FZ_FD_FILE && m->handle[op->h] >= 0 &&
		(m->file[m->handle[op->h]].flags & GUEST_MEMFD_FLAG_MMAP);
	if (fz_pct(r, 3)) {
		op->y += 1 + fz_below(r, FZ_PAGE - 1);
		op->z = 0;
	} else if (fz_pct(r, 2)) {
		op->y = (1ULL << 63) - FZ_PAGE;	/* u64 sum fine, loff_t sum negative */
		op->a = 2;
		op->z = 0;
	}
	/* A live slot: mostly re-set as it is (only the flags may differ). */
	if (m->slot[op->s].used && fz_pct(r, 70)) {
		op->x = m->slot[op->s].gpa;
		op->a = m->slot[op->s].npages;
	}
}

static void fz_gen_attr(struct fz_rng *r, struct fz_op *op)
{
	op->a = 1 + fz_below(r, 8);
	op->x = FZ_WIN_GPA + fz_below(r, FZ_WIN_PAGES - op->a + 1) * FZ_PAGE;
	op->y = fz_pct(r, 60) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
	if (fz_pct(r, 3))
		op->y |= 1ULL << fz_below(r, 64);
	else if (fz_pct(r, 2))
		op->b = 1;
	else if (fz_pct(r, 2))
		op->x = -FZ_PAGE;		/* address + size wraps past 2^64 */
	else if (fz_pct(r, 2))
		op->x += 8;
	else if (fz_pct(r, 2))
		op->a = 0;
}

/* A race on a page some slot serves from an open guest_memfd, readers on that page. */
static void fz_gen_race(struct fz_rng *r, const struct fz_model *m, struct fz_op *op)
{
	const struct fz_mslot *sl = NULL;
	unsigned int first = fz_below(r, FZ_SLOTS), page;

	for (unsigned int i = 0; i < FZ_SLOTS && !sl; i++) {
		const struct fz_mslot *c = &m->slot[(first + i) % FZ_SLOTS];

		if (c->used && !c->plain && c->file >= 0 && m->file[c->file].open &&
		    (c->gmem_only || m->caps->attrs))
			sl = c;
	}
	if (!sl)
		sl = &m->slot[first];
	page = fz_below(r, sl->npages ? sl->npages : 1);
	if (m->caps->attrs && !sl->gmem_only)	/* a private page, if the slot has one */
		for (unsigned int i = 0; i < sl->npages; i++) {
			uint64_t g = (sl->gpa - FZ_WIN_GPA) / FZ_PAGE + (page + i) % sl->npages;

			if (g < FZ_WIN_PAGES && m->priv[g]) {
				page = (page + i) % sl->npages;
				break;
			}
		}
	op->a = 1 + fz_below(r, (1u << FZ_VCPUS) - 1);
	op->x = sl->gpa + (uint64_t)page * FZ_PAGE;
	op->z = sl->off + page;
	for (unsigned int h = 0; h < FZ_FILES; h++)
		if (m->handle[h] >= 0 && m->handle[h] == sl->file)
			op->h = h;
	for (unsigned int i = 0; i < FZ_MAPS; i++) {
		const struct fz_mmap *mp = &m->map[i];

		if (mp->used && mp->file == sl->file && op->z >= mp->off && op->z < mp->off + mp->npages &&
		    (mp->prot & PROT_READ) && fz_pct(r, 60)) {
			op->m = i;
			op->y = op->z - mp->off;
			op->b = 1;
		}
	}
}

struct fz_op fz_gen(struct fz_rng *r, const struct fz_model *m, bool race, bool guest)
{
	static const uint64_t advice[] = { MADV_DONTNEED, MADV_WILLNEED, MADV_NORMAL, MADV_RANDOM,
					   MADV_SEQUENTIAL };
	static const uint64_t mprots[] = { PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE, PROT_READ | PROT_EXEC };
	struct fz_op op = { 0 };
	unsigned int total = 0, pick;

	for (unsigned int k = 0; k < FZ_NR_OPS; k++)
		total += fz_weight(k, m, race, guest);
	pick = fz_below(r, total);
	for (op.kind = 0; pick >= fz_weight(op.kind, m, race, guest); op.kind++)
		pick -= fz_weight(op.kind, m, race, guest);
	op.v = fz_below(r, FZ_VCPUS);
	switch (op.kind) {
	case FZ_CREATE:
		fz_gen_create(r, m, &op);
		break;
	case FZ_CLOSE:
		op.h = fz_pick_file(r, m);
		break;
	case FZ_FALLOCATE:
		fz_gen_fallocate(r, m, &op);
		break;
	case FZ_FTRUNCATE:
		op.h = fz_pick_file(r, m);
		op.x = fz_below(r, 2 * FZ_MAX_PAGES) * FZ_PAGE;
		break;
	case FZ_MMAP:
		fz_gen_mmap(r, m, &op);
		break;
	case FZ_MUNMAP:
	case FZ_MINCORE:
		op.m = fz_pick_map(r, m, true);
		break;
	case FZ_MPROTECT:
		op.m = fz_pick_map(r, m, true);
		op.x = mprots[fz_below(r, fz_pct(r, 95) ? 3 : 4)];
		break;
	case FZ_MADVISE:
		op.m = fz_pick_map(r, m, true);
		op.x = advice[fz_below(r, 5)];
		break;
	case FZ_HOST_READ:
	case FZ_HOST_WRITE:
		op.m = fz_pick_map(r, m, true);
		op.a = fz_below(r, m->map[op.m].npages ? m->map[op.m].npages : 1);
		op.x = fz_token(r);
		break;
	case FZ_SLOT_ADD:
		fz_gen_slot_add(r, m, &op);
		break;
	case FZ_SLOT_DEL:
		op.s = fz_pick_slot(r, m, true);
		break;
	case FZ_HVA_READ:
	case FZ_HVA_WRITE:
		op.s = fz_pick_slot(r, m, true);
		op.a = fz_below(r, m->slot[op.s].npages ? m->slot[op.s].npages : 1);
		op.x = fz_token(r);
		break;
	case FZ_ATTR:
		fz_gen_attr(r, &op);
		break;
	case FZ_PREFAULT:
		op.x = fz_pick_gpa(r, m, 85);
		op.a = fz_pct(r, 85) ? 1 : 2;
		if (fz_pct(r, 2))
			op.b = 1ULL << fz_below(r, 32);	/* flags: none is defined */
		else if (fz_pct(r, 2))
			op.y = fz_pct(r, 50) ? FZ_PAGE + 8 : 8;	/* unaligned size */
		else if (fz_pct(r, 2))
			op.x += 8;			/* unaligned gpa */
		else if (fz_pct(r, 2))
			op.y = -op.x;			/* ends at 2^64: wraps */
		break;
	case FZ_GUEST_READ:
	case FZ_GUEST_WRITE:
		op.x = fz_pick_gpa(r, m, 92);
		op.y = fz_token(r);
		break;
	case FZ_RACE_PUNCH:
		fz_gen_race(r, m, &op);
		break;
	}
	return op;
}
