// SPDX-License-Identifier: GPL-2.0
/*
 * privmem fuzz runtime (runtime.h): each operation as the kernel sees it, with what
 * it returned. Nothing here knows what to expect; that is the model's (model.c).
 * Reproducers carry this file verbatim (FZ_STANDALONE), so it uses lib/ only.
 */
#ifndef FZ_STANDALONE
#include "runtime.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define FZ_CLOSED_FD	1023		/* never allocated: fds are lowest-free */

static const char *const fz_names[] = {
#define FZ_NAME(n, d) #n,
	FZ_OP_LIST(FZ_NAME)
#undef FZ_NAME
};

const char *fz_op_name(unsigned int kind)
{
	return kind < FZ_NR_OPS ? fz_names[kind] : "?";
}

/*
 * Page contents. Macros: guest code (PM_GUEST) cannot call host functions, and GCC
 * does not inline across the guest code's target options. The top bit makes every
 * word of a non-zero token non-zero, so a zero word always means "zero page".
 */
#define FZ_PAT(t, i)	((t) ? (((t) * 0x9e3779b97f4a7c15ULL) ^ ((i) * 0xc2b2ae3d27d4eb4fULL)) | (1ULL << 63) : 0)
#define FZ_HASH_STEP(h, w) (((h) ^ (w)) * 0x100000001b3ULL)
#define FZ_HASH_INIT	0xcbf29ce484222325ULL
#define FZ_WORDS	(FZ_PAGE / 8)

uint64_t fz_pattern(uint64_t token, uint64_t i)
{
	return FZ_PAT(token, i);
}

uint64_t fz_hash_token(uint64_t token)
{
	uint64_t h = FZ_HASH_INIT;

	for (uint64_t i = 0; i < FZ_WORDS; i++)
		h = FZ_HASH_STEP(h, FZ_PAT(token, i));
	return h;
}

/* ---- the guest: one server loop per vCPU, driven through its mailbox page ---- */

/*
 * The first access to a page, the one that meets a missing memslot: on arm64 a plain LDR/STR
 * (no writeback), whose data abort carries a valid syndrome (ISV), so KVM can report it as
 * KVM_EXIT_MMIO instead of failing KVM_RUN with ENOSYS (arch/arm64/kvm/mmio.c io_mem_abort);
 * GCC would otherwise pick post-indexed loads for the loop.
 */
#if defined(__aarch64__)
#define FZ_LOAD0(p)	({ uint64_t __v; __asm__ volatile("ldr %0, [%1]" : "=r"(__v) : "r"(p) : "memory"); __v; })
#define FZ_STORE0(p, v)	__asm__ volatile("str %1, [%0]" :: "r"(p), "r"((uint64_t)(v)) : "memory")
#else
#define FZ_LOAD0(p)	pm_guest_read64(p)
#define FZ_STORE0(p, v)	pm_guest_write64(p, v)
#endif

enum { FZ_CMD_NONE, FZ_CMD_READ, FZ_CMD_WRITE, FZ_CMD_RACE };
#define FZ_STAGE 0xf2

struct fz_mbox {
	uint64_t cmd, gpa, token;
	uint64_t started, stop;		/* RACE: the guest began reading; the punch is done */
	uint64_t abort;			/* the first access exited to the host (MMIO): stop there */
};

/* A race pass's class (runtime.h: old, zero, old-prefix then zeros, anything else). */
enum { FZ_PASS_OLD, FZ_PASS_ZERO, FZ_PASS_TORN, FZ_PASS_BAD };

static PM_GUEST uint64_t fz_guest_pass(const volatile uint64_t *p, uint64_t t)
{
	uint64_t nold = 0, nzero = 0, bad = 0;

	for (uint64_t i = 0; i < FZ_WORDS; i++) {
		uint64_t v = pm_guest_read64(&p[i]);

		if (v == 0)
			nzero++;
		else if (v == FZ_PAT(t, i) && !nzero)
			nold++;
		else
			bad = 1;
	}
	if (bad)
		return FZ_PASS_BAD;
	return !nzero ? FZ_PASS_OLD : !nold ? FZ_PASS_ZERO : FZ_PASS_TORN;
}

/* Read passes until the host says the punch is done, then one more (which must read zeros). */
static PM_GUEST void fz_guest_race(volatile struct fz_mbox *mb, uint64_t *r)
{
	uint64_t seen_zero = 0, stop, cls = 0;

	r[0] = r[1] = r[2] = 0;
	pm_guest_write64(&mb->started, 1);
	do {
		stop = pm_guest_read64(&mb->stop);
		pm_guest_mb();
		cls = fz_guest_pass((const volatile uint64_t *)mb->gpa, mb->token);
		if (seen_zero && cls != FZ_PASS_ZERO)
			cls = FZ_PASS_BAD;	/* old data after zeros */
		if (cls == FZ_PASS_ZERO || cls == FZ_PASS_TORN)
			seen_zero = 1;
		if (cls == FZ_PASS_OLD)
			r[0]++;
		else if (cls == FZ_PASS_ZERO)
			r[0] += 1ULL << 32;
		else if (cls == FZ_PASS_TORN)
			r[1]++;
		else
			r[2]++;
	} while (!stop);
	if (cls != FZ_PASS_ZERO)
		r[2]++;			/* the pass begun after the punch returned was not zero */
}

static PM_GUEST void fz_guest(uint64_t mbox, uint64_t unused1, uint64_t unused2)
{
	volatile struct fz_mbox *mb = (volatile struct fz_mbox *)mbox;
	uint64_t r[3] = { 0, 0, 0 };

	(void)unused1;
	(void)unused2;
	for (;;) {
		GUEST_SYNC_VALS(FZ_STAGE, r[0], r[1], r[2]);
		volatile uint64_t *p = (volatile uint64_t *)mb->gpa;
		uint64_t t = mb->token, h = FZ_HASH_INIT;

		r[0] = r[1] = r[2] = 0;
		if (mb->cmd == FZ_CMD_READ) {
			h = FZ_HASH_STEP(h, FZ_LOAD0(&p[0]));
			for (uint64_t i = 1; i < FZ_WORDS && !mb->abort; i++)
				h = FZ_HASH_STEP(h, pm_guest_read64(&p[i]));
			r[0] = h;
		} else if (mb->cmd == FZ_CMD_WRITE) {
			FZ_STORE0(&p[0], FZ_PAT(t, 0));
			for (uint64_t i = 1; i < FZ_WORDS && !mb->abort; i++)
				pm_guest_write64(&p[i], FZ_PAT(t, i));
		} else if (mb->cmd == FZ_CMD_RACE) {
			fz_guest_race(mb, r);
		}
	}
}

/* ---- host accesses that may fault ---- */

static __thread sigjmp_buf *fz_jb;
static __thread volatile int fz_signo, fz_code;

static void fz_on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!fz_jb) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	fz_signo = sig;
	fz_code = si->si_code;
	siglongjmp(*fz_jb, 1);
}

static void fz_catch_faults(void)
{
	struct sigaction sa = { .sa_sigaction = fz_on_fault, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Read (hash into v[0]) or write (token) one page; a fault is recorded as signo/code. */
static void fz_host_page(uint8_t *page, bool write, uint64_t token, struct fz_obs *o)
{
	volatile uint64_t *p = (volatile uint64_t *)page;
	sigjmp_buf jb;
	uint64_t h = FZ_HASH_INIT;

	fz_signo = fz_code = 0;
	fz_jb = &jb;
	if (!sigsetjmp(jb, 1)) {
		for (uint64_t i = 0; i < FZ_WORDS; i++) {
			if (write)
				p[i] = FZ_PAT(token, i);
			else
				h = FZ_HASH_STEP(h, p[i]);
		}
		o->v[0] = write ? 0 : h;
	}
	fz_jb = NULL;
	o->signo = fz_signo;
	o->code = fz_code;
}

/* ---- the world ---- */

int fz_world_init(struct fz_world *w, unsigned long vm_type)
{
	memset(w, 0, sizeof(*w));
	for (int i = 0; i < FZ_FILES; i++)
		w->fd[i] = -1;
	w->vm_type = vm_type;
	w->memfd = -1;
	w->closed_fd = FZ_CLOSED_FD;
	if (fcntl(FZ_CLOSED_FD, F_GETFD) >= 0) {
		errno = EBUSY;
		return -1;
	}
	fz_catch_faults();
	w->vm = pm_vm_create(vm_type);
	if (!w->vm)
		return -1;
	if (pm_vm_add_memory(w->vm, FZ_MBOX_SLOT, FZ_MBOX_GPA, FZ_MAX_VCPU_IDS * FZ_PAGE, NULL, -1, 0,
			     PM_PAGE_4K) ||
	    pm_vm_map(w->vm, FZ_WIN_GPA, FZ_WIN_PAGES * FZ_PAGE, PM_PAGE_4K))
		return -1;
	w->mbox = w->vm->slots[FZ_MBOX_SLOT].hva;
	w->memfd = memfd_create("privmem-fuzz", 0);
	if (w->memfd < 0 || ftruncate(w->memfd, FZ_WIN_PAGES * FZ_PAGE))
		return -1;
	return 0;
}

void fz_world_free(struct fz_world *w)
{
	for (int i = 0; i < FZ_MAPS; i++)
		if (w->map[i].addr)
			munmap(w->map[i].addr, w->map[i].len);
	for (int i = 0; i < FZ_SLOTS; i++)
		if (w->slot[i].used)
			munmap(w->slot[i].hva, w->slot[i].size);
	for (int i = 0; i < FZ_FILES; i++)
		if (w->fd[i] >= 0)
			close(w->fd[i]);
	if (w->memfd >= 0)
		close(w->memfd);
	if (w->vm)
		pm_vm_free(w->vm);
	memset(w, 0, sizeof(*w));
}

static volatile struct fz_mbox *fz_mbox_of(struct fz_world *w, struct pm_vcpu *vcpu)
{
	return (volatile struct fz_mbox *)(w->mbox + (uint64_t)vcpu->id * FZ_PAGE);
}

/* vCPU handle v, created (and run to its first report) if empty; NULL when none is left. */
static struct pm_vcpu *fz_vcpu(struct fz_world *w, unsigned int v)
{
	struct pm_exit e;
	struct pm_vcpu *vcpu;

	if (w->vcpu[v])
		return w->vcpu[v];
	if (w->vcpu_ids >= FZ_MAX_VCPU_IDS)
		return NULL;
	/*
	 * Every vCPU the episode may use, created before the first runs: a pKVM host fixes a VM's
	 * vCPUs at its first KVM_RUN (a later one fails KVM_RUN with EINVAL); a vCPU stopped inside
	 * an access is replaced by the next of these.
	 */
	for (int i = 0; !w->vcpu_ids && i < FZ_MAX_VCPU_IDS; i++)
		if (!(w->pool[i] = pm_vcpu_add(w->vm, fz_guest, FZ_MBOX_GPA + (uint64_t)i * FZ_PAGE, 0, 0)))
			return NULL;
	vcpu = w->pool[w->vcpu_ids++];
	if (!vcpu)
		return NULL;
	if (pm_vcpu_run(vcpu, &e) != PM_RUN_SYNC || e.rep.vals[0] != FZ_STAGE)
		return NULL;
	return w->vcpu[v] = vcpu;
}

/*
 * Give vCPU v a command and run it to its next report. Any other outcome is recorded
 * with its fields: an MMIO exit is then completed and the guest stops at that word, so
 * the vCPU goes on; after anything else (a memory-fault exit, a fault) the vCPU, stopped
 * inside the access, is retired: the next command on v gets a new one from the pool.
 */
static void fz_guest_cmd(struct fz_world *w, unsigned int v, uint64_t cmd, uint64_t gpa,
			 uint64_t token, struct fz_obs *o)
{
	struct pm_vcpu *vcpu = fz_vcpu(w, v);
	volatile struct fz_mbox *mb;
	struct kvm_run *run;
	struct pm_exit e;

	if (!vcpu) {
		o->ret = FZ_SKIPPED;
		return;
	}
	mb = fz_mbox_of(w, vcpu);
	mb->cmd = cmd;
	mb->gpa = gpa;
	mb->token = token;
	mb->abort = 0;
	o->code = pm_vcpu_run(vcpu, &e);
	if (o->code == PM_RUN_SYNC && e.rep.vals[0] == FZ_STAGE) {
		o->v[0] = e.rep.vals[1];
		o->v[1] = e.rep.vals[2];
		o->v[2] = e.rep.vals[3];
		o->code = 0;
		return;
	}
	run = vcpu->run;
	o->ret = -1;
	o->err = e.err;
	o->exit_reason = e.exit_reason;
	if (o->code == PM_RUN_EXIT && e.exit_reason == KVM_EXIT_MMIO) {
		o->v[0] = run->mmio.phys_addr;
		o->v[1] = run->mmio.len;
		o->v[2] = run->mmio.is_write;
		if (run->mmio.is_write)
			memcpy(&o->v[3], run->mmio.data, sizeof(o->v[3]));
		/* Complete the access (a read gets 0) and let the guest stop at its first word. */
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		mb->abort = 1;
		if (pm_vcpu_run(vcpu, &e) == PM_RUN_SYNC && e.rep.vals[0] == FZ_STAGE)
			return;
		o->err = -1;		/* the vCPU did not finish the access */
	} else if (e.exit_reason == KVM_EXIT_MEMORY_FAULT) {
		o->v[0] = run->memory_fault.flags;
		o->v[1] = run->memory_fault.gpa;
		o->v[2] = run->memory_fault.size;
	}
	w->vcpu[v] = NULL;
}

/* ---- RACE_PUNCH: readers on vCPU threads and a host thread, the punch on this one ---- */

struct fz_reader {
	struct fz_world *w;
	unsigned int v;
	uint64_t gpa, token;
	uint8_t *page;			/* host reader: the mapped page */
	volatile uint64_t started, stop;
	struct fz_obs o;
};

static void *fz_guest_reader(void *arg)
{
	struct fz_reader *r = arg;

	fz_guest_cmd(r->w, r->v, FZ_CMD_RACE, r->gpa, r->token, &r->o);
	r->started = 1;			/* also when the vCPU never began */
	return NULL;
}

static uint64_t fz_host_pass(const volatile uint64_t *p, uint64_t t)
{
	uint64_t nold = 0, nzero = 0;

	for (uint64_t i = 0; i < FZ_WORDS; i++) {
		uint64_t v = p[i];

		if (v == 0)
			nzero++;
		else if (v == FZ_PAT(t, i) && !nzero)
			nold++;
		else
			return FZ_PASS_BAD;
	}
	return !nzero ? FZ_PASS_OLD : !nold ? FZ_PASS_ZERO : FZ_PASS_TORN;
}

/* The reader's passes (a function of its own: sigsetjmp in the caller may not clobber its state). */
static __attribute__((noinline)) void fz_host_passes(struct fz_reader *r)
{
	uint64_t cls = FZ_PASS_OLD, seen_zero = 0, stop;

	r->started = 1;
	do {
		stop = r->stop;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		cls = fz_host_pass((const volatile uint64_t *)r->page, r->token);
		if (seen_zero && cls != FZ_PASS_ZERO)
			cls = FZ_PASS_BAD;
		seen_zero |= cls == FZ_PASS_ZERO || cls == FZ_PASS_TORN;
		if (cls == FZ_PASS_OLD)
			r->o.v[0]++;
		else if (cls == FZ_PASS_ZERO)
			r->o.v[0] += 1ULL << 32;
		else
			r->o.v[cls == FZ_PASS_TORN ? 1 : 2]++;
	} while (!stop);
	if (cls != FZ_PASS_ZERO)
		r->o.v[2]++;
}

static void *fz_host_reader(void *arg)
{
	struct fz_reader *r = arg;
	sigjmp_buf jb;

	fz_signo = 0;
	fz_jb = &jb;
	if (!sigsetjmp(jb, 1)) {
		fz_host_passes(r);
	} else {
		r->o.signo = fz_signo;
		r->o.code = fz_code;
		r->o.v[2]++;
		r->started = 1;
	}
	fz_jb = NULL;
	return NULL;
}

static void fz_race_punch(struct fz_world *w, const struct fz_op *op, struct fz_obs *o)
{
	struct fz_reader rd[FZ_VCPUS + 1];
	pthread_t th[FZ_VCPUS + 1];
	int n = 0;

	memset(rd, 0, sizeof(rd));
	for (unsigned int v = 0; v < FZ_VCPUS; v++) {
		if (!(op->a & (1u << v)))
			continue;
		rd[n] = (struct fz_reader){ .w = w, .v = v, .gpa = op->x, .token = op->t };
		if (!fz_vcpu(w, v)) {
			o->ret = FZ_SKIPPED;
			return;
		}
		/* Reset here, before any reader runs: a stale "started" would let the punch go first. */
		fz_mbox_of(w, w->vcpu[v])->started = 0;
		fz_mbox_of(w, w->vcpu[v])->stop = 0;
		n++;
	}
	if (op->b && w->map[op->m].addr)
		rd[n++] = (struct fz_reader){ .page = w->map[op->m].addr + op->y * FZ_PAGE, .token = op->t };
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, rd[i].page ? fz_host_reader : fz_guest_reader, &rd[i]);
	/* Punch once every reader is reading (a guest reader marks its mailbox). */
	for (int i = 0; i < n; i++)
		while (!rd[i].started &&
		       !(rd[i].page == NULL && w->vcpu[rd[i].v] &&
			 fz_mbox_of(w, w->vcpu[rd[i].v])->started))
			sched_yield();
	o->ret = fallocate(w->fd[op->h], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			   op->z * FZ_PAGE, FZ_PAGE);
	o->err = o->ret ? errno : 0;
	for (int i = 0; i < n; i++) {
		rd[i].stop = 1;
		if (!rd[i].page && w->vcpu[rd[i].v])
			fz_mbox_of(w, w->vcpu[rd[i].v])->stop = 1;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (rd[i].o.ret || rd[i].o.code || rd[i].o.signo) {
			o->exit_reason = rd[i].o.exit_reason;
			o->signo = rd[i].o.signo;
			o->code = rd[i].o.code;
			o->v[3]++;
		}
		o->v[0] += (uint32_t)rd[i].o.v[0];
		o->v[1] += rd[i].o.v[0] >> 32;
		o->v[2] += rd[i].o.v[1];
		o->v[3] += rd[i].o.v[2];
	}
}

bool fz_race_admissible(const struct fz_obs *o)
{
	return o->ret == 0 && FZ_RACE_BAD(o) == 0 && FZ_RACE_ZERO(o) > 0;
}

/* ---- the operations ---- */

static bool fz_map_page(struct fz_world *w, unsigned int m, uint64_t page, uint8_t **p)
{
	if (!w->map[m].addr || page >= w->map[m].len / FZ_PAGE)
		return false;
	*p = w->map[m].addr + page * FZ_PAGE;
	return true;
}

/* SLOT_ADD's v: the request's flags. */
static const uint32_t fz_slot_flags[FZ_SLOT_VARIANTS] = {
	KVM_MEM_GUEST_MEMFD, KVM_MEM_GUEST_MEMFD | KVM_MEM_READONLY,
	KVM_MEM_GUEST_MEMFD | KVM_MEM_LOG_DIRTY_PAGES, 0,
};

static void fz_slot_add(struct fz_world *w, const struct fz_op *op, struct fz_obs *o)
{
	uint64_t size = op->a * FZ_PAGE;
	uint32_t flags = fz_slot_flags[op->v % FZ_SLOT_VARIANTS];
	int fd = op->b == FZ_FD_CLOSED ? w->closed_fd : op->b == FZ_FD_MEMFD ? w->memfd : w->fd[op->h];
	bool gmem = flags & KVM_MEM_GUEST_MEMFD, hva_gmem = gmem && op->b == FZ_FD_FILE && op->z;
	bool reset = w->slot[op->s].used;
	uint8_t *hva;

	if (gmem && fd < 0) {
		o->ret = FZ_SKIPPED;
		return;
	}
	/*
	 * userspace_addr: a live slot's own (a re-set can only keep it); else the gmem's own
	 * mapping of the bound range (z), else anonymous memory.
	 */
	if (reset) {
		hva = w->slot[op->s].hva;
	} else {
		hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
			   hva_gmem ? MAP_SHARED : MAP_SHARED | MAP_ANONYMOUS, hva_gmem ? fd : -1,
			   hva_gmem ? op->y : 0);
		if (hva == MAP_FAILED) {
			o->ret = -1;
			o->err = errno;
			o->v[0] = 1;	/* the userspace_addr mapping, not the ioctl, failed */
			return;
		}
	}
	o->ret = pm_set_region2(w->vm, FZ_SLOT_BASE + op->s, flags, op->x, size, hva,
				gmem ? fd : 0, gmem ? op->y : 0);
	o->err = o->ret ? errno : 0;
	if (reset)
		return;
	if (o->ret) {
		munmap(hva, size);
		return;
	}
	w->slot[op->s].used = true;
	w->slot[op->s].hva = hva;
	w->slot[op->s].size = size;
	w->slot[op->s].hva_gmem = hva_gmem;
	w->slot[op->s].fd = gmem ? fd : 0;
}

static void fz_slot_del(struct fz_world *w, const struct fz_op *op, struct fz_obs *o)
{
	o->ret = pm_set_region2(w->vm, FZ_SLOT_BASE + op->s, KVM_MEM_GUEST_MEMFD, FZ_WIN_GPA, 0, NULL,
				w->slot[op->s].used ? w->slot[op->s].fd : 0, 0);
	o->err = o->ret ? errno : 0;
	if (!o->ret && w->slot[op->s].used) {
		munmap(w->slot[op->s].hva, w->slot[op->s].size);
		w->slot[op->s].used = false;
	}
}

static void fz_prefault(struct fz_world *w, const struct fz_op *op, struct fz_obs *o)
{
	struct kvm_pre_fault_memory r = { .gpa = op->x, .size = op->y ? op->y : op->a * FZ_PAGE, .flags = op->b };
	struct pm_vcpu *vcpu = fz_vcpu(w, op->v);

	if (!vcpu) {
		o->ret = FZ_SKIPPED;
		return;
	}
	o->ret = ioctl(vcpu->fd, KVM_PRE_FAULT_MEMORY, &r);
	o->err = o->ret ? errno : 0;
	o->v[0] = r.size;
	o->v[1] = r.gpa;
}

struct fz_obs fz_exec(struct fz_world *w, const struct fz_op *op)
{
	struct fz_obs o = { 0 };
	int fd = op->h < FZ_FILES ? w->fd[op->h] : -1;
	uint8_t *p;

#define FZ_NEED(cond) do { if (!(cond)) { o.ret = FZ_SKIPPED; return o; } } while (0)
#define FZ_CALL(expr) do { o.ret = (expr); o.err = o.ret < 0 ? errno : 0; if (o.ret > 0) o.ret = 0; } while (0)
	switch (op->kind) {
	case FZ_CREATE:
		FZ_NEED(fd < 0);
		FZ_CALL(w->fd[op->h] = pm_gmem_create(w->vm, op->x, op->y));
		if (w->fd[op->h] < 0)
			w->fd[op->h] = -1;
		break;
	case FZ_CLOSE:
		FZ_NEED(fd >= 0);
		FZ_CALL(close(fd));
		w->fd[op->h] = -1;
		break;
	case FZ_FALLOCATE:
		FZ_NEED(fd >= 0);
		FZ_CALL(fallocate(fd, op->a, op->x, op->y));
		break;
	case FZ_FTRUNCATE:
		FZ_NEED(fd >= 0);
		FZ_CALL(ftruncate(fd, op->x));
		break;
	case FZ_MMAP: {
		void *a;

		FZ_NEED(fd >= 0 && !w->map[op->m].addr && op->b && op->b <= FZ_MAX_PAGES);
		a = mmap(NULL, op->b * FZ_PAGE, op->x, op->y, fd, op->a * FZ_PAGE);
		o.ret = a == MAP_FAILED ? -1 : 0;
		o.err = a == MAP_FAILED ? errno : 0;
		if (a != MAP_FAILED) {
			w->map[op->m].addr = a;
			w->map[op->m].len = op->b * FZ_PAGE;
		}
		break;
	}
	case FZ_MUNMAP:
		FZ_NEED(w->map[op->m].addr);
		FZ_CALL(munmap(w->map[op->m].addr, w->map[op->m].len));
		w->map[op->m].addr = NULL;
		break;
	case FZ_MPROTECT:
		FZ_NEED(w->map[op->m].addr);
		FZ_CALL(mprotect(w->map[op->m].addr, w->map[op->m].len, op->x));
		break;
	case FZ_MADVISE:
		FZ_NEED(w->map[op->m].addr);
		FZ_CALL(madvise(w->map[op->m].addr, w->map[op->m].len, op->x));
		break;
	case FZ_MINCORE: {
		unsigned char vec[FZ_MAX_PAGES];

		FZ_NEED(w->map[op->m].addr);
		FZ_CALL(mincore(w->map[op->m].addr, w->map[op->m].len, vec));
		for (uint64_t i = 0; !o.ret && i < w->map[op->m].len / FZ_PAGE; i++)
			o.v[0] |= (uint64_t)(vec[i] & 1) << i;
		break;
	}
	case FZ_HOST_READ:
	case FZ_HOST_WRITE:
		FZ_NEED(fz_map_page(w, op->m, op->a, &p));
		fz_host_page(p, op->kind == FZ_HOST_WRITE, op->x, &o);
		break;
	case FZ_SLOT_ADD:
		fz_slot_add(w, op, &o);
		break;
	case FZ_SLOT_DEL:
		fz_slot_del(w, op, &o);
		break;
	case FZ_HVA_READ:
	case FZ_HVA_WRITE:
		FZ_NEED(w->slot[op->s].used && op->a < w->slot[op->s].size / FZ_PAGE);
		fz_host_page(w->slot[op->s].hva + op->a * FZ_PAGE, op->kind == FZ_HVA_WRITE, op->x, &o);
		break;
	case FZ_ATTR: {
		struct kvm_memory_attributes ma = {
			.address = op->x, .size = op->a * FZ_PAGE, .attributes = op->y, .flags = op->b,
		};

		FZ_CALL(ioctl(w->vm->fd, KVM_SET_MEMORY_ATTRIBUTES, &ma));
		break;
	}
	case FZ_PREFAULT:
		fz_prefault(w, op, &o);
		break;
	case FZ_GUEST_READ:
		fz_guest_cmd(w, op->v, FZ_CMD_READ, op->x, 0, &o);
		break;
	case FZ_GUEST_WRITE:
		fz_guest_cmd(w, op->v, FZ_CMD_WRITE, op->x, op->y, &o);
		break;
	case FZ_RACE_PUNCH:
		FZ_NEED(fd >= 0);
		fz_race_punch(w, op, &o);
		break;
	default:
		o.ret = FZ_SKIPPED;
	}
#undef FZ_NEED
#undef FZ_CALL
	return o;
}
