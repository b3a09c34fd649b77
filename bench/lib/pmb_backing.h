/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The memory backings the benchmarks measure, in one table (bench/lib/backings.c):
 * what each one is, how it is created and mapped, and why it cannot be used here
 * (a capability value in the reason). A benchmark picks the backings it sweeps by
 * enum and records the table's name in its params ("backing"/"mem").
 *
 *   struct pmb_mem m;
 *   if (pmb_backing_unusable(b, PMB_THP, size, why, sizeof(why))) ... skip, say why
 *   if (pmb_mem_open(&m, PMB_THP, NULL, size, why, sizeof(why))) ... error
 *   ... m.p is size bytes, 2M-aligned, not populated ...
 *   pmb_mem_close(&m);
 */
#ifndef PRIVMEM_PMB_BACKING_H
#define PRIVMEM_PMB_BACKING_H

#include "pmb.h"
#include "vm.h"

enum pmb_backing {
	PMB_GMEM,		/* guest_memfd (MMAP|INIT_SHARED), its own mapping */
	PMB_GMEM_NODM,		/* the same with a no-direct-map flag, when the uapi has one */
	PMB_ANON,		/* anonymous private, no THP */
	PMB_SHMEM,		/* memfd (shmem/tmpfs) shared */
	PMB_THP,		/* anonymous private, MADV_HUGEPAGE */
	PMB_SHMEM_THP,		/* memfd shared, MADV_HUGEPAGE */
	PMB_HUGETLB,		/* anonymous private MAP_HUGETLB, 2M pages */
	PMB_HUGETLBFS,		/* memfd MFD_HUGETLB (hugetlbfs file), 2M pages */
	PMB_SECRETMEM,		/* memfd_secret: pages leave the kernel direct map */
	PMB_NR_BACKINGS
};

struct pmb_backing_info {
	/* The params value in results ("backing=thp", "mem=secretmem"). */
	const char *name;
	/*
	 * The value hugepage has always recorded for it ("anon_thp", "guest_memfd",
	 * "hugetlb" for the hugetlbfs file): kept so results compare across versions.
	 */
	const char *retention_name;
	const char *what;
	bool file;		/* fd-backed: punched with fallocate(PUNCH_HOLE) */
	bool huge;		/* 2M pages (hugetlb) or 2M folios asked for (THP) */
	bool off_direct_map;	/* its pages leave the kernel direct map */
	bool needs_vm;		/* created from a VM (guest_memfd) */
	uint64_t gmem_flags;	/* guest_memfd creation flags */
};

const struct pmb_backing_info *pmb_backing(enum pmb_backing k);
static inline const char *pmb_backing_name(enum pmb_backing k) { return pmb_backing(k)->name; }

/*
 * Why backing k cannot be used here for size bytes, or NULL. May change system
 * state through pmb_knob_set (restored at exit): THP "never" becomes "madvise"
 * (shmem: "advise"), and hugetlb pages are reserved (pmb_hugetlb_reserve). The
 * reason names the capability and its value; it does not start with the name.
 */
const char *pmb_backing_unusable(struct pmb *b, enum pmb_backing k, size_t size, char *why, size_t len);

/* A file of size bytes for a file backing (guest_memfd from vm); fd or -1 with errno. */
int pmb_backing_fd(enum pmb_backing k, struct pm_vm *vm, size_t size);

struct pmb_mem {
	enum pmb_backing kind;
	char *p;		/* size bytes, 2M-aligned when size is a multiple of 2M */
	size_t size;
	int fd;			/* the file, -1 for anonymous memory */
};

/*
 * Create and map size bytes of backing k (not populated); vm for guest_memfd.
 * 0, or -1 with errno and the failed step in why.
 */
int pmb_mem_open(struct pmb_mem *m, enum pmb_backing k, struct pm_vm *vm, size_t size,
		 char *why, size_t len);
void pmb_mem_close(struct pmb_mem *m);
/* Take len bytes at off away: MADV_DONTNEED on anonymous memory, PUNCH_HOLE on files. */
int pmb_mem_punch(struct pmb_mem *m, size_t off, size_t len);

#endif
