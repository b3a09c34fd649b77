/* SPDX-License-Identifier: GPL-2.0 */
/*
 * privmem's model-based fuzzer: random operation sequences (gen.c) run through the
 * runtime (runtime.c, the kernel's answers) and a reference model (model.c, the
 * documented answers); the first difference is shrunk and written as a reproducer
 * (main.c, repro.c).
 */
#ifndef PRIVMEM_FUZZ_H
#define PRIVMEM_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime.h"

#define FZ_MODEL_FILES	8		/* file objects: open, or kept alive by a mapping */
enum { FZ_NONE, FZ_ALLOCATED, FZ_TOUCHED };
enum { FZ_SPTE_NONE, FZ_SPTE_VALID, FZ_SPTE_STALE };

struct fz_mfile {
	bool live, open;
	uint64_t flags;
	uint32_t pages;
	int nmaps;			/* mappings, slot userspace_addr mappings included */
	uint64_t tok[FZ_MAX_PAGES];
	/* FZ_NONE, FZ_ALLOCATED (fallocate only), FZ_TOUCHED (zeroed and used: uptodate) */
	uint8_t alloc[FZ_MAX_PAGES];
};

struct fz_mmap {
	bool used;
	int file;
	uint32_t off, npages;
	uint64_t prot;
};

struct fz_mslot {
	bool used, plain;		/* plain: no guest_memfd (flags 0) */
	int file;			/* -1: released, or plain */
	uint64_t gpa;
	uint32_t npages, off;
	bool hva_gmem, gmem_only;
	uint64_t hva_tok[FZ_MAX_PAGES];	/* anonymous userspace_addr contents */
};

/* What the model knows of the kernel: capabilities, and the known deviations it avoids. */
struct fz_caps {
	unsigned long vm_type;
	uint64_t gmem_flags;		/* KVM_CAP_GUEST_MEMFD_FLAGS of vm_type */
	bool attrs;			/* KVM_CAP_MEMORY_ATTRIBUTES has PRIVATE */
	bool prefault;			/* KVM_CAP_PRE_FAULT_MEMORY */
	uint64_t slot_flags;		/* gmem flags a memslot binding needs (arm64: MMAP) */
	/* platforms/known.c: this backend serves gmem-only slots from userspace_addr */
	const char *gmem_via_hva;
	/* platforms/known.c: this kernel binds guest_memfd offsets past 2^63 */
	const char *bind_offset_known;
	bool mmio_caching;		/* x86 kvm.mmio_caching: no-slot faults leave MMIO SPTEs */
};

struct fz_model {
	const struct fz_caps *caps;
	struct fz_mfile file[FZ_MODEL_FILES];
	int handle[FZ_FILES];		/* file object, or -1 */
	struct fz_mmap map[FZ_MAPS];
	struct fz_mslot slot[FZ_SLOTS];
	bool priv[FZ_WIN_PAGES];
	uint8_t mmio_spte[FZ_WIN_PAGES];	/* FZ_SPTE_NONE, _VALID, _STALE */
	bool vcpu[FZ_VCPUS];
	int vcpu_ids;
};

/*
 * The admissible observations of one operation: usually one; two where upstream
 * changed the behaviour without a capability (src[] names the commit behind each);
 * race: fz_race_admissible(). skip: the model does not run it (why says so).
 */
struct fz_expect {
	int n;
	struct fz_obs o[2];
	const char *src[2];
	uint64_t v0_ignore;		/* bits of v[0] either way (mincore of FZ_ALLOCATED pages) */
	bool race, skip;
	const char *why;
};

void fz_model_init(struct fz_model *m, const struct fz_caps *caps);
struct fz_expect fz_model_expect(struct fz_model *m, struct fz_op *op);
/* Shared by model.c (expectations) and apply.c (transitions): where a guest access goes. */
enum fz_route { FZ_TO_MMIO, FZ_TO_FAULT, FZ_TO_FILE, FZ_TO_HVA };
struct fz_mfile *fz_handle_file(struct fz_model *m, unsigned int h);
bool fz_private(const struct fz_model *m, uint64_t gpa);
/* guest: a guest access (which meets MMIO SPTEs); false: KVM_PRE_FAULT_MEMORY. */
enum fz_route fz_route(const struct fz_model *m, uint64_t gpa, int *s, uint32_t *page,
		       uint64_t *fflags, bool guest);

/* Which alternative matched (-1: none, a divergence). */
int fz_match(const struct fz_expect *e, const struct fz_obs *o);
void fz_model_apply(struct fz_model *m, const struct fz_op *op, const struct fz_expect *e, int alt);

/* Generation (gen.c): the next operation for this model state. */
struct fz_rng { uint64_t s; };
uint64_t fz_rand(struct fz_rng *r);
struct fz_op fz_gen(struct fz_rng *r, const struct fz_model *m, bool race, bool guest);

/* One line describing an observation (reports, reproducers). */
void fz_obs_str(const struct fz_obs *o, char *buf, size_t len);
void fz_op_str(const struct fz_op *op, char *buf, size_t len);

/* repro.c: a standalone C reproducer of ops[0..n) (the last one diverges). */
int fz_write_repro(FILE *f, const struct fz_op *ops, const struct fz_expect *exp, int n,
		   const struct fz_caps *caps, const char *title);

#endif
