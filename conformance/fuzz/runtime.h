/* SPDX-License-Identifier: GPL-2.0 */
/*
 * privmem fuzz runtime: the real side of every fuzz operation, on the VM library
 * only. The fuzzer (conformance/fuzz/) executes operations through fz_exec() and
 * compares each observation with its model; a reproducer is this header, runtime.c
 * and a main() listing the operations with the observation the model expected, so
 * it needs nothing but lib/ (scripts/fuzz.sh builds and runs it).
 *
 * An operation names objects by handle (file h, mapping m, slot s, vCPU v), never by
 * fd or address: a shrunk sequence stays meaningful, and an operation whose handle is
 * empty is skipped on both sides (FZ_SKIPPED).
 */
#ifndef PRIVMEM_FUZZ_RUNTIME_H
#define PRIVMEM_FUZZ_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "vm.h"

#define FZ_FILES	4
#define FZ_MAPS		6
#define FZ_SLOTS	6
#define FZ_VCPUS	3
#define FZ_MAX_PAGES	16		/* per file and per mapping */
#define FZ_PAGE		4096ULL

/* The guest-physical window the fuzz slots, attributes and guest accesses live in. */
#define FZ_WIN_GPA	PM_TEST_GPA
#define FZ_WIN_PAGES	64
#define FZ_MBOX_GPA	(PM_TEST_GPA + 0x10000000ULL)	/* one mailbox page per vCPU id */
#define FZ_MBOX_SLOT	PM_SLOT_FIRST_FREE
#define FZ_SLOT_BASE	(PM_SLOT_FIRST_FREE + 1)
#define FZ_MAX_VCPU_IDS	32		/* vCPUs per episode (created up front), stuck ones replaced */

/*
 * Every operation: X(NAME, what it does). One list: the enum, the names in
 * reproducers and reports, the generator's weights (gen.c) and the model (model.c)
 * are all keyed by it.
 */
#define FZ_OP_LIST(X)								\
	X(CREATE,	"KVM_CREATE_GUEST_MEMFD size x flags y into file h")	\
	X(CLOSE,	"close file h's fd")					\
	X(FALLOCATE,	"fallocate(h, mode a, offset x, len y)")		\
	X(FTRUNCATE,	"ftruncate(h, x)")					\
	X(MMAP,		"mmap mapping m of file h: pages b at page a, prot x, flags y") \
	X(MUNMAP,	"munmap mapping m")					\
	X(MPROTECT,	"mprotect(mapping m, prot x)")				\
	X(MADVISE,	"madvise(mapping m, advice x)")				\
	X(MINCORE,	"mincore(mapping m): resident pages as a bitmask")	\
	X(HOST_READ,	"host reads page a of mapping m (hash)")		\
	X(HOST_WRITE,	"host writes page a of mapping m with token x")		\
	X(SLOT_ADD,	"KVM_SET_USER_MEMORY_REGION2 slot s, flags variant v: file h (or b), gpa x, pages a, offset y") \
	X(SLOT_DEL,	"delete slot s (memory_size 0)")			\
	X(HVA_READ,	"host reads page a of slot s's userspace_addr")		\
	X(HVA_WRITE,	"host writes page a of slot s's userspace_addr, token x") \
	X(ATTR,		"KVM_SET_MEMORY_ATTRIBUTES gpa x, pages a, attributes y, flags b") \
	X(PREFAULT,	"KVM_PRE_FAULT_MEMORY on vCPU v: gpa x, pages a (or y bytes), flags b")	\
	X(GUEST_READ,	"vCPU v reads the page at gpa x (hash)")		\
	X(GUEST_WRITE,	"vCPU v writes the page at gpa x with token y")		\
	X(RACE_PUNCH,	"vCPUs in mask a (and a host thread if b) read gpa x / mapping m page y while file h's page at offset page z is punched")

enum fz_kind {
#define FZ_ENUM(n, d) FZ_##n,
	FZ_OP_LIST(FZ_ENUM)
#undef FZ_ENUM
	FZ_NR_OPS
};

struct fz_op {
	uint8_t kind, h, m, s, v;
	uint32_t a, b;
	uint64_t x, y, z;
	uint64_t t;		/* RACE_PUNCH: the token the model says the page holds */
};

/* slot_add's b: which fd the request names instead of file h. */
enum { FZ_FD_FILE = 0, FZ_FD_CLOSED, FZ_FD_MEMFD };
/* slot_add's v: KVM_MEM_GUEST_MEMFD, |READONLY, |LOG_DIRTY_PAGES, or a plain slot (flags 0). */
enum { FZ_SLOT_GMEM = 0, FZ_SLOT_GMEM_RO, FZ_SLOT_GMEM_DIRTY, FZ_SLOT_PLAIN, FZ_SLOT_VARIANTS };

#define FZ_SKIPPED	(-1000)		/* the handle the op names is empty: nothing ran */

/*
 * What an operation returned. ret/err: the call (-1/errno); for guest accesses 0
 * when the guest completed, else -1 with exit_reason and v[] the exit's fields.
 * signo/code: the signal a host access took (0: none). v[]: per operation
 * (hash of a page, mincore bitmask, pre-fault range left, race counts).
 */
struct fz_obs {
	int32_t ret, err;
	uint32_t exit_reason;
	int32_t signo, code;
	uint64_t v[4];
};

struct fz_world {
	struct pm_vm *vm;
	unsigned long vm_type;
	int fd[FZ_FILES];
	struct { uint8_t *addr; uint64_t len; } map[FZ_MAPS];
	struct { bool used; uint8_t *hva; uint64_t size; bool hva_gmem; int fd; } slot[FZ_SLOTS];
	struct pm_vcpu *vcpu[FZ_VCPUS];
	struct pm_vcpu *pool[FZ_MAX_VCPU_IDS];	/* created up front, used in order */
	int vcpu_ids;			/* vCPUs created so far (a stuck one is replaced) */
	uint8_t *mbox;			/* host view of the mailbox slot */
	int memfd;			/* an ordinary memfd: not a guest_memfd */
	int closed_fd;			/* an fd number that is not open */
};

/* Page contents are a token: 0 is the zero page, else a pattern no other token makes. */
uint64_t fz_pattern(uint64_t token, uint64_t i);
uint64_t fz_hash_token(uint64_t token);

int fz_world_init(struct fz_world *w, unsigned long vm_type);
void fz_world_free(struct fz_world *w);
struct fz_obs fz_exec(struct fz_world *w, const struct fz_op *op);

/* Race counts in v[] (RACE_PUNCH): per reader, passes that read old data, zeros, a
 * torn old-then-zero page, and anything else or old after zero (never admissible). */
#define FZ_RACE_OLD(o)	((o)->v[0])
#define FZ_RACE_ZERO(o)	((o)->v[1])
#define FZ_RACE_TORN(o)	((o)->v[2])
#define FZ_RACE_BAD(o)	((o)->v[3])
/* The documented outcomes of a read racing a punch: old data or zeros, nothing else. */
bool fz_race_admissible(const struct fz_obs *o);

const char *fz_op_name(unsigned int kind);

#endif
