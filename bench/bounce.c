// SPDX-License-Identifier: GPL-2.0
/*
 * bounce: the bounce-buffer data path a confidential guest pays for I/O.
 *
 * A device cannot DMA into a CVM's private (encrypted) memory, so the guest's DMA
 * layer (swiotlb) bounces every I/O buffer through a pool of shared memory: map =
 * allocate contiguous 2 KiB slots and copy the private buffer into them, the
 * device works on the slots, unmap = copy back (device-to-memory) and free. This
 * benchmark runs that mechanism in user space (our own implementation, modelled
 * on the behaviour of the kernel's kernel/dma/swiotlb.c) and reads its cost
 * against the direct path and against the same-run memcpy floor.
 *
 * The model:
 *   pool   pool_mib MiB of shared memory (a memfd mapped MAP_SHARED, prefaulted),
 *          2 KiB slots in 128-slot (256 KiB) segments. Per slot we keep the number
 *          of free slots from it to the end of its segment (0: in use), so one look
 *          at a slot says whether n contiguous slots fit there and no run crosses a
 *          segment.
 *   areas  the pool is split into `areas` equal parts (a power of two), each with
 *          its own spinlock (the kernel's is spin_lock_irqsave), rotating search
 *          index and used count. A mapping starts in area (cpu & (areas - 1)) and
 *          falls through to the next areas when that one is full. areas=1 is the
 *          single-lock pool: every thread contends on it.
 *   map    an I/O larger than 256 KiB (swiotlb's maximum mapping, 2 KiB x 128) is
 *          split into 256 KiB mappings, each mapped, copied and unmapped in turn;
 *          mappings of 4 KiB or more start on a page-aligned slot. When every area
 *          is full the kernel fails the mapping; the model retries and counts it.
 *   write  (memory -> device) map: copy private -> slots (the CPU bounce); the
 *          device reads the slots (modelled as a copy slots -> device buffer);
 *          unmap: free. 2 copies per byte.
 *   read   (device -> memory) map: copy private -> slots (current swiotlb bounces
 *          at map time in every direction, so a device that writes only part of
 *          the buffer cannot expose stale pool contents; --set map_copy=0 drops
 *          it); the device writes the slots (copy device buffer -> slots); unmap:
 *          copy slots -> private, free. 3 copies per byte (2 with map_copy=0).
 *   direct the device copy only (device buffer <-> private buffer): 1 copy.
 *
 * One sample: on each of T threads (pinned to CPU i % ncpus, each with its own
 * private and device buffers of buf_mib MiB, so the data stream is beyond the
 * LLC like the memcpy reference's), `slices` alternations of a slice of direct
 * I/Os and a slice of bounced I/Os of the same size, all threads in step. A
 * slice part lasts from its first thread's start to its last thread's end. The
 * sample's value is the aggregate bounced payload throughput (GB/s); the direct
 * slices of the same sample give the paired cost ratio (bounce time / direct
 * time, the median over its slices), which the interleaving keeps free of the
 * host's slow memory-bandwidth drift. Bytes per sample are calibrated so that
 * its bounced I/O lasts sample_ms.
 *
 * Floor: a bounced byte is copied at least twice, so the floor throughput is
 * memcpy GB/s / 2 (memcpy_1thread for one thread, memcpy_allcpus for more);
 * floor_fraction = bounce GB/s / floor (1.0: as fast as two plain copies).
 *
 * fio variant: fio (Debian's 3.33) runs workloads/fio/bounce-{read,write}.fio
 * against a tmpfs file with its I/O buffer either in private anonymous memory
 * (mem=malloc) or in a memfd this benchmark created, sized and left open across
 * exec (mem=mmapshared:/proc/self/fd/N): the I/O path cost with the buffer in
 * shared memory. It is an I/O figure, not a swiotlb measurement: nothing is
 * bounced, and fio cannot use memfd_secret or guest_memfd buffers (reopening
 * them through /proc/self/fd fails with ENXIO).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pmb.h"

#define SLOT_SHIFT	11
#define SLOT_SIZE	(1UL << SLOT_SHIFT)		/* 2 KiB, swiotlb's IO_TLB_SIZE */
#define SEG_SLOTS	128U				/* slots per segment, IO_TLB_SEGSIZE */
#define MAX_MAPPING	(SLOT_SIZE * SEG_SLOTS)		/* 256 KiB: larger I/Os are split */
#define MAX_THREADS	256
#define MAX_LIST	32
#define MAX_CONFIGS	(2 * MAX_THREADS)

/* Keep the compiler from merging or dropping copies that only the "device" reads. */
#define COPY(dst, src, n) do { memcpy(dst, src, n); __asm__ volatile("" ::: "memory"); } while (0)

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() __asm__ volatile("" ::: "memory")
#endif

/* ---- the slot pool ------------------------------------------------------------ */

struct area {
	pthread_spinlock_t lock;
	unsigned int index;	/* next search start, relative to the area */
	unsigned int used, hiwater;
} __attribute__((aligned(64)));

struct pool {
	char *mem;
	unsigned int nslots, nareas, area_slots;
	unsigned char *free_run;	/* free slots from here to the segment end; 0 = in use */
	struct area *areas;
};

/* Reset the pool to all free, split into nareas areas (nareas a power of two). */
static int pool_reset(struct pool *p, unsigned int nareas)
{
	if (p->areas)
		for (unsigned int a = 0; a < p->nareas; a++)
			pthread_spin_destroy(&p->areas[a].lock);
	free(p->areas);
	p->areas = NULL;
	p->nareas = nareas;
	/* Areas are whole segments, so a slot run never spans two areas. */
	p->area_slots = (p->nslots / nareas) & ~(SEG_SLOTS - 1);
	if (p->area_slots < SEG_SLOTS)
		return -1;
	p->areas = aligned_alloc(64, sizeof(*p->areas) * nareas);
	if (!p->areas)
		return -1;
	memset(p->areas, 0, sizeof(*p->areas) * nareas);
	for (unsigned int a = 0; a < nareas; a++)
		pthread_spin_init(&p->areas[a].lock, PTHREAD_PROCESS_PRIVATE);
	for (unsigned int i = 0; i < p->nslots; i++)
		p->free_run[i] = SEG_SLOTS - (i & (SEG_SLOTS - 1));
	return 0;
}

/*
 * n contiguous slots in area a, or -1 when the area has none. step 2 keeps a
 * mapping of a page or more page-aligned (swiotlb aligns those to PAGE_SIZE).
 * Like swiotlb, every map and unmap rewrites the free counts of the free run
 * before it, back to the segment start: for small mappings that bookkeeping is
 * a large share of the cost, next to copies of a few hundred bytes.
 */
static long area_alloc(struct pool *p, unsigned int a, unsigned int n, unsigned int step)
{
	struct area *ar = &p->areas[a];
	unsigned int base = a * p->area_slots;
	unsigned int idx = 0, count = 0;
	long found = -1;

	pthread_spin_lock(&ar->lock);
	if (n <= p->area_slots - ar->used) {
		idx = ar->index & ~(step - 1);
		for (unsigned int checked = 0; checked < p->area_slots; checked += step) {
			if (p->free_run[base + idx] >= n) {
				found = base + idx;
				break;
			}
			idx += step;
			if (idx >= p->area_slots)
				idx = 0;
		}
	}
	if (found >= 0) {
		unsigned long seg = found & ~(unsigned long)(SEG_SLOTS - 1);

		memset(p->free_run + found, 0, n);
		/* The free run just before the allocation now ends at it. */
		for (unsigned long i = found; i-- > seg && p->free_run[i];)
			p->free_run[i] = ++count;
		/* Rotate, so the next search starts past this allocation. */
		ar->index = idx + n >= p->area_slots ? 0 : idx + n;
		ar->used += n;
		if (ar->used > ar->hiwater)
			ar->hiwater = ar->used;
	}
	pthread_spin_unlock(&ar->lock);
	return found;
}

static void pool_free(struct pool *p, unsigned long s, unsigned int n)
{
	struct area *ar = &p->areas[s / p->area_slots];
	unsigned long seg = s & ~(unsigned long)(SEG_SLOTS - 1), end = s + n;
	unsigned int count;

	pthread_spin_lock(&ar->lock);
	/* Merge with the free run that follows (within the segment) ... */
	count = end < seg + SEG_SLOTS ? p->free_run[end] : 0;
	for (unsigned long i = end; i-- > s;)
		p->free_run[i] = ++count;
	/* ... and extend the free run that precedes it. */
	for (unsigned long i = s; i-- > seg && p->free_run[i];)
		p->free_run[i] = ++count;
	ar->used -= n;
	pthread_spin_unlock(&ar->lock);
}

/* Map len bytes for a thread on cpu: its own area first, then the next ones. */
static unsigned long pool_map(struct pool *p, int cpu, size_t len, unsigned long *retries)
{
	unsigned int n = (len + SLOT_SIZE - 1) >> SLOT_SHIFT, step = len >= 4096 ? 2 : 1;
	unsigned int start = cpu & (p->nareas - 1);

	for (;;) {
		unsigned int a = start;

		do {
			long s = area_alloc(p, a, n, step);

			if (s >= 0)
				return s;
			a = (a + 1) & (p->nareas - 1);
		} while (a != start);
		/* Pool exhausted: the kernel fails this mapping; the model waits for a free. */
		(*retries)++;
		sched_yield();
	}
}

/* ---- the I/O model ------------------------------------------------------------- */

#define MAX_SLICES 64

/*
 * PMB-CANDIDATE: a spin barrier for pinned workers (pmb has none).
 * A spinning barrier: the workers are pinned one per CPU, so spinning costs
 * nothing else, and it releases them within a cache-line transfer (a futex
 * wake-up on a VM can take tens of microseconds, which would blur short slices).
 */
struct spin_barrier {
	atomic_uint arrived, generation;
	unsigned int n;
};

static void spin_barrier_wait(struct spin_barrier *sb)
{
	unsigned int gen = atomic_load(&sb->generation);

	if (atomic_fetch_add(&sb->arrived, 1) == sb->n - 1) {
		atomic_store(&sb->arrived, 0);
		atomic_fetch_add(&sb->generation, 1);
		return;
	}
	while (atomic_load(&sb->generation) == gen)
		cpu_relax();
}

struct run;

struct worker {
	struct run *r;
	int cpu;
	char *priv, *dev;	/* private buffer, "device" buffer */
	unsigned long retries;
	/* Per slice: direct start, end; bounced start, end. */
	uint64_t t[MAX_SLICES][4];
};

struct run {
	struct pool *pool;
	struct spin_barrier bar;
	int threads, slices;
	bool read, map_copy;
	size_t io, buf, bytes;	/* I/O size, per-thread buffer size, bytes per thread per path */
	struct worker w[MAX_THREADS];
	/* Per sample (warm-up included): bounce and direct GB/s, bounce/direct time. */
	double *bounce, *direct, *cost;
	int nhist, cap;
};

static void io_direct(const struct run *r, struct worker *w, size_t off)
{
	if (r->read)
		COPY(w->priv + off, w->dev + off, r->io);
	else
		COPY(w->dev + off, w->priv + off, r->io);
}

static void io_bounce(const struct run *r, struct worker *w, size_t off)
{
	struct pool *p = r->pool;

	for (size_t done = 0; done < r->io; done += MAX_MAPPING) {
		size_t len = r->io - done < MAX_MAPPING ? r->io - done : MAX_MAPPING;
		unsigned int n = (len + SLOT_SIZE - 1) >> SLOT_SHIFT;
		unsigned long s = pool_map(p, w->cpu, len, &w->retries);
		char *slot = p->mem + (s << SLOT_SHIFT);
		char *priv = w->priv + off + done, *dev = w->dev + off + done;

		if (!r->read) {
			COPY(slot, priv, len);		/* map: bounce into shared memory */
			COPY(dev, slot, len);		/* the device reads the slots */
		} else {
			if (r->map_copy)
				COPY(slot, priv, len);	/* map: pre-fill against partial writes */
			COPY(slot, dev, len);		/* the device writes the slots */
			COPY(priv, slot, len);		/* unmap: bounce back into private memory */
		}
		pool_free(p, s, n);
	}
}

/* The next I/O offset: sequential through the buffer, wrapping before the end. */
static size_t next_off(const struct run *r, size_t off)
{
	return off + 2 * r->io > r->buf ? 0 : off + r->io;
}

/*
 * The direct and bounced paths alternate in slices, every thread in step
 * (a barrier before each part), so both see the same memory-bandwidth weather:
 * on a shared host it drifts by several percent over a second, which would
 * otherwise land on one path only. The bounced stream starts half a buffer
 * away from the direct one, so it does not find the data the direct slice
 * just left in the cache.
 */
static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	size_t per_slice = r->bytes / r->io / r->slices;
	size_t doff = 0, boff = (r->buf / 2) - (r->buf / 2) % r->io;

	pmb_pin_cpu(w->cpu);
	for (int s = 0; s < r->slices; s++) {
		/* The last slice takes the remainder. */
		size_t ios = s < r->slices - 1 ? per_slice : r->bytes / r->io - per_slice * (r->slices - 1);

		spin_barrier_wait(&r->bar);
		w->t[s][0] = pmb_now_ns();
		for (size_t i = 0; i < ios; i++, doff = next_off(r, doff))
			io_direct(r, w, doff);
		w->t[s][1] = pmb_now_ns();
		spin_barrier_wait(&r->bar);
		w->t[s][2] = pmb_now_ns();
		for (size_t i = 0; i < ios; i++, boff = next_off(r, boff))
			io_bounce(r, w, boff);
		w->t[s][3] = pmb_now_ns();
	}
	return NULL;
}

/*
 * One sample: `slices` alternations of direct and bounced I/O on every thread,
 * r->bytes per thread on each path. A slice's part lasts from its first thread's
 * start to its last thread's end (the workers time themselves: with one pinned
 * worker per CPU, a coordinating thread may not get a CPU until a worker stops).
 * Returns the bounced GB/s; keeps the direct GB/s and the time ratio.
 */
static double sample(void *arg)
{
	struct run *r = arg;
	pthread_t t[MAX_THREADS];
	uint64_t direct_ns = 0, bounce_ns = 0;
	double total, ratio[MAX_SLICES];
	struct pmb_stats rs;

	if (r->nhist == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->bounce = realloc(r->bounce, r->cap * sizeof(double));
		r->direct = realloc(r->direct, r->cap * sizeof(double));
		r->cost = realloc(r->cost, r->cap * sizeof(double));
		if (!r->bounce || !r->direct || !r->cost)
			return -1;
	}
	r->bar.n = r->threads;
	atomic_store(&r->bar.arrived, 0);
	for (int i = 0; i < r->threads; i++) {
		if (pthread_create(&t[i], NULL, worker_main, &r->w[i])) {
			/* Threads already spinning at the barrier cannot be unwound: give up. */
			fprintf(stderr, "bounce: pthread_create failed\n");
			exit(2);
		}
	}
	for (int i = 0; i < r->threads; i++)
		pthread_join(t[i], NULL);
	for (int s = 0; s < r->slices; s++) {
		uint64_t t0 = UINT64_MAX, t1 = 0, t2 = UINT64_MAX, t3 = 0;

		for (int i = 0; i < r->threads; i++) {
			const uint64_t *wt = r->w[i].t[s];

			t0 = wt[0] < t0 ? wt[0] : t0;
			t1 = wt[1] > t1 ? wt[1] : t1;
			t2 = wt[2] < t2 ? wt[2] : t2;
			t3 = wt[3] > t3 ? wt[3] : t3;
		}
		direct_ns += t1 - t0;
		bounce_ns += t3 - t2;
		/* Both parts of a slice move the same bytes. */
		ratio[s] = (double)(t3 - t2) / (t1 - t0);
	}
	total = (double)r->bytes * r->threads;		/* bytes / ns == GB/s */
	r->direct[r->nhist] = total / direct_ns;
	r->bounce[r->nhist] = total / bounce_ns;
	/*
	 * The cost is the median of the slices' own ratios: a slice part hit by a
	 * preemption or a neighbour's burst does not move it (the throughputs above
	 * keep every nanosecond).
	 */
	pmb_stats_of(ratio, r->slices, &rs);
	r->cost[r->nhist] = rs.median;
	return r->bounce[r->nhist++];
}

/* Bytes per thread per path so that a sample's bounced I/O takes about target_ns. */
static void calibrate(struct run *r, double target_ns)
{
	size_t probe = 4UL << 20;
	size_t min = r->io * r->slices;
	double gbps;

	r->bytes = probe < min ? min : probe - probe % r->io;
	gbps = sample(r);
	r->nhist = 0;
	if (gbps <= 0)
		return;
	r->bytes = (size_t)(gbps * target_ns / r->threads);
	r->bytes -= r->bytes % r->io;
	if (r->bytes < min)
		r->bytes = min;
}

/* ---- parameters ------------------------------------------------------------------ */

static long parse_size(const char *s, char **end)
{
	long v = strtol(s, end, 10);

	if (**end == 'k' || **end == 'K')
		v <<= 10, (*end)++;
	else if (**end == 'm' || **end == 'M')
		v <<= 20, (*end)++;
	return v;
}

/* "512,4k,1m" -> sizes; the number parsed, or -1 on a malformed list. */
static int parse_sizes(const char *s, long *v, int max, long lo, long hi)
{
	int n = 0;

	while (*s && n < max) {
		char *end;

		v[n] = parse_size(s, &end);
		if (end == s || (*end && *end != ',') || v[n] < lo || v[n] > hi)
			return -1;
		n++;
		s = *end ? end + 1 : end;
	}
	return *s ? -1 : n;
}

static unsigned int pow2_ceil(unsigned int v)
{
	unsigned int p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

/* A buffer for the private side: memfd_secret (private), memfd, or anonymous. */
static char *map_private(const char *kind, size_t len, const char **used)
{
	int fd = -1;
	char *p;

	if (!strcmp(kind, "secret")) {
#ifdef SYS_memfd_secret
		fd = syscall(SYS_memfd_secret, 0);
#else
		errno = ENOSYS;
#endif
		*used = "memfd_secret";
	} else if (!strcmp(kind, "memfd")) {
		fd = memfd_create("privmem-bounce-private", MFD_CLOEXEC);
		*used = "memfd";
	} else {
		*used = "anonymous";
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	if (fd < 0 || ftruncate(fd, len)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* snprintf at *off, never past the end (a very wide table is cut, not overrun). */
static void appendf(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	*off = n < 0 ? len - 1 : *off + n < len - 1 ? *off + n : len - 1;
}

/* PMB-CANDIDATE: table cells with NaN for a point not measured (the plots skip it). */
static void appendnum(char *buf, size_t len, size_t *off, double v)
{
	if (isnan(v))
		appendf(buf, len, off, ",NaN");
	else
		appendf(buf, len, off, ",%.4f", v);
}

/* ---- fio --------------------------------------------------------------------------- */

/* Everything fio leaves behind, removable from a signal handler (async-signal-safe). */
static char fio_dir[64], fio_data[96], fio_json[96], fio_log[96], fio_bwlog[112];
static volatile pid_t fio_pid;

static void fio_cleanup(void)
{
	if (fio_pid > 0)
		kill(fio_pid, SIGTERM);
	if (!fio_dir[0])
		return;
	unlink(fio_data);
	unlink(fio_json);
	unlink(fio_bwlog);
	rmdir(fio_dir);
}

struct fio_result {
	double samples[4096];
	int n;
	double bw_bytes, iops, p50_us, p99_us, p999_us, usr_cpu, sys_cpu;
};

static bool find_fio(char *path, size_t len)
{
	const char *env = getenv("PATH");
	char dirs[4096], *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s", env ? env : "/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, len, "%.4000s/fio", d);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

/* Does d hold the job files? Then copy it to dir. */
static bool jobs_in(const char *d, char *dir, size_t len)
{
	char probe[4200];

	snprintf(probe, sizeof(probe), "%.4000s/bounce-read.fio", d);
	if (access(probe, R_OK))
		return false;
	snprintf(dir, len, "%.4000s", d);
	return true;
}

/* workloads/fio: --set fio_jobs, $PRIVMEM_WORKLOADS/fio, <binary>/../../workloads/fio, ./workloads/fio */
static bool find_jobs(const char *given, char *dir, size_t len)
{
	const char *env = getenv("PRIVMEM_WORKLOADS");
	char exe[4096], cand[4200], *slash;
	ssize_t n;

	if (given && *given)
		return jobs_in(given, dir, len);	/* an explicit directory is not second-guessed */
	if (env) {
		snprintf(cand, sizeof(cand), "%.4000s/fio", env);
		if (jobs_in(cand, dir, len))
			return true;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(cand, sizeof(cand), "%.4000s/../../workloads/fio", exe);
			if (jobs_in(cand, dir, len))
				return true;
		}
	}
	return jobs_in("workloads/fio", dir, len);
}

static double pct_us(json_t *clat, const char *key)
{
	return json_number_value(json_object_get(json_object_get(clat, "percentile"), key)) / 1e3;
}

/*
 * Run one fio job file; 0 and the result, or -1 with a reason. memfd < 0: fio's
 * buffer is malloc'ed; otherwise it is the memfd, reopened through /proc/self/fd.
 */
static int fio_run(const char *fio, const char *job, bool read, const char *bs, int memfd,
		   const char *const env[][2], struct fio_result *res, char *why, size_t wlen)
{
	char memopt[64], outopt[128];
	json_error_t jerr;
	json_t *doc, *j, *d, *clat;
	int status;
	FILE *f;
	pid_t pid;

	if (memfd >= 0)
		snprintf(memopt, sizeof(memopt), "--mem=mmapshared:/proc/self/fd/%d", memfd);
	else
		snprintf(memopt, sizeof(memopt), "--mem=malloc");
	snprintf(outopt, sizeof(outopt), "--output=%s", fio_json);
	unlink(fio_json);
	unlink(fio_bwlog);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(why, wlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		/* Single-threaded here: no worker thread outlives its sample. */
		for (int i = 0; env[i][0]; i++)
			setenv(env[i][0], env[i][1], 1);
		setenv("FIO_BS", bs, 1);
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execl(fio, "fio", "--output-format=json", outopt, memopt, job, (char *)NULL);
		_exit(127);
	}
	fio_pid = pid;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	fio_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(why, wlen, "fio exited with status %d",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	doc = json_load_file(fio_json, 0, &jerr);
	j = json_array_get(json_object_get(doc, "jobs"), 0);
	d = json_object_get(j, read ? "read" : "write");
	if (!d || json_integer_value(json_object_get(j, "error"))) {
		snprintf(why, wlen, "fio JSON: %.160s", doc ? "no job result or a job error" : jerr.text);
		json_decref(doc);
		return -1;
	}
	clat = json_object_get(d, "clat_ns");
	res->bw_bytes = json_number_value(json_object_get(d, "bw_bytes"));
	res->iops = json_number_value(json_object_get(d, "iops"));
	res->p50_us = pct_us(clat, "50.000000");
	res->p99_us = pct_us(clat, "99.000000");
	res->p999_us = pct_us(clat, "99.900000");
	res->usr_cpu = json_number_value(json_object_get(j, "usr_cpu"));
	res->sys_cpu = json_number_value(json_object_get(j, "sys_cpu"));
	json_decref(doc);

	/* Bandwidth log: one line per log_avg_msec window, "msec, KiB/s, ddir, bs, offset". */
	res->n = 0;
	f = fopen(fio_bwlog, "re");
	if (!f) {
		snprintf(why, wlen, "no bandwidth log %s", fio_bwlog);
		return -1;
	}
	while (res->n < (int)(sizeof(res->samples) / sizeof(res->samples[0]))) {
		long ms, kib, ddir;

		if (fscanf(f, "%ld, %ld, %ld%*[^\n]", &ms, &kib, &ddir) != 3)
			break;
		if (ddir == (read ? 0 : 1))
			res->samples[res->n++] = kib * 1024.0 / 1e9;
	}
	fclose(f);
	if (res->n < 2) {
		snprintf(why, wlen, "the bandwidth log has %d window(s): raise fio_runtime_ms", res->n);
		return -1;
	}
	return 0;
}

static void run_fio(struct pmb *b, const char *jobs_param, const char *bs_list, long runtime_ms,
		    long ramp_ms, long log_ms, long file_mib)
{
	static const char *const bufname[2] = { "malloc", "memfd" };
	static const char *const dirname[2] = { "read", "write" };
	/* fio's 100 ms windows are noisier than the model's samples; smoke: not judged. */
	double fio_cv_max = pmb_mode(b) == PMB_SMOKE ? 1.0 : 0.05;
	char fio[4096], jobs[4096], job[2][4200], why[256], rt[32], rp[32], lm[32], sz[32];
	double gbps[MAX_LIST][2][2];	/* [bs][buffer][dir], NaN if not run */
	long bs[MAX_LIST], max_bs = 0;
	struct fio_result *res;
	struct pmb_table *t;
	int nbs, memfd;

	if (!find_fio(fio, sizeof(fio))) {
		pmb_note(b, "skipped: fio variant: fio is not installed (Debian package fio)");
		return;
	}
	if (!find_jobs(jobs_param, jobs, sizeof(jobs))) {
		pmb_note(b, "skipped: fio variant: job files bounce-{read,write}.fio not found (--set fio_jobs=DIR)");
		return;
	}
	nbs = parse_sizes(bs_list, bs, MAX_LIST, 512, 64L << 20);
	if (nbs <= 0)
		pmb_die(b, "--set fio_bs wants a list of sizes such as 4k,64k,1m, got '%s'", bs_list);
	for (int i = 0; i < nbs; i++)
		max_bs = bs[i] > max_bs ? bs[i] : max_bs;
	for (int d = 0; d < 2; d++)
		snprintf(job[d], sizeof(job[d]), "%.4000s/bounce-%s.fio", jobs, dirname[d]);

	/* fio does not truncate an mmapshared file: the memfd is sized here, with slack. */
	memfd = memfd_create("privmem-bounce-fio", 0);	/* no CLOEXEC: fio reopens it */
	if (memfd < 0 || ftruncate(memfd, max_bs + (2L << 20)))
		pmb_die(b, "cannot create the fio buffer memfd: %s", strerror(errno));
	snprintf(fio_dir, sizeof(fio_dir), "/dev/shm/privmem-bounce-XXXXXX");
	if (!mkdtemp(fio_dir))
		pmb_die(b, "cannot create a directory in /dev/shm: %s", strerror(errno));
	snprintf(fio_data, sizeof(fio_data), "%s/data", fio_dir);
	snprintf(fio_json, sizeof(fio_json), "%s/fio.json", fio_dir);
	snprintf(fio_log, sizeof(fio_log), "%s/fio", fio_dir);
	snprintf(fio_bwlog, sizeof(fio_bwlog), "%s_bw.1.log", fio_log);
	pmb_on_cleanup(fio_cleanup);
	snprintf(rt, sizeof(rt), "%ldms", runtime_ms);
	snprintf(rp, sizeof(rp), "%ldms", ramp_ms);
	snprintf(lm, sizeof(lm), "%ld", log_ms);
	snprintf(sz, sizeof(sz), "%ldm", file_mib);
	const char *const env[][2] = {
		{ "FIO_FILE", fio_data }, { "FIO_SIZE", sz }, { "FIO_RUNTIME", rt },
		{ "FIO_RAMP", rp }, { "FIO_LOG", fio_log }, { "FIO_LOG_MSEC", lm }, { NULL, NULL },
	};

	res = calloc(1, sizeof(*res));
	if (!res)
		pmb_die(b, "out of memory");
	for (int i = 0; i < nbs; i++)
		for (int k = 0; k < 2; k++)
			for (int d = 0; d < 2; d++)
				gbps[i][k][d] = NAN;
	/* Writes first: the first one lays out the tmpfs file the reads then read. */
	for (int d = 1; d >= 0; d--) {
		for (int i = 0; i < nbs; i++) {
			for (int k = 0; k < 2; k++) {
				struct pmb_spec s = { .metric = "fio_bw", .unit = "GB/s", .cv_max = fio_cv_max,
					.ref = PMB_REF_MEMCPY_1T,
					.ref_ratio = "fio psync GB/s (one kernel copy per byte between the tmpfs "
						     "page cache and the buffer, plus a syscall per I/O) / memcpy GB/s" };
				struct pmb_stats st;
				char bsbuf[24];
				json_t *m;

				snprintf(bsbuf, sizeof(bsbuf), "%ld", bs[i]);
				pmb_progress(b, "fio %s bs=%s buffer=%s", dirname[d], bsbuf, bufname[k]);
				if (fio_run(fio, job[d], d == 0, bsbuf, k ? memfd : -1, env, res, why, sizeof(why))) {
					pmb_error(b, "fio %s bs=%s buffer=%s: %s", dirname[d], bsbuf, bufname[k], why);
					continue;
				}
				m = pmb_record(b, &s, pmb_params("dir", dirname[d], "bs", bsbuf,
						"buffer", bufname[k], "engine", "psync", NULL),
					       res->samples, res->n, &st);
				if (!m)
					continue;
				json_object_set_new(m, "fio", json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:i}",
					"bw_bytes", res->bw_bytes, "iops", res->iops,
					"clat_p50_us", res->p50_us, "clat_p99_us", res->p99_us,
					"clat_p99.9_us", res->p999_us, "usr_cpu_pct", res->usr_cpu,
					"sys_cpu_pct", res->sys_cpu, "bw_log_msec", (int)log_ms));
				gbps[i][k][d] = st.median;
			}
		}
	}
	t = pmb_table(b, "fio", "bs_bytes,read malloc buffer,read memfd buffer,"
		      "write malloc buffer,write memfd buffer");
	for (int i = 0; i < nbs; i++) {
		char row[256];
		size_t off = snprintf(row, sizeof(row), "%ld", bs[i]);

		for (int d = 0; d < 2; d++)
			for (int k = 0; k < 2; k++)
				appendnum(row, sizeof(row), &off, gbps[i][k][d]);
		pmb_row(t, "%s", row);
	}
	pmb_config(b, "fio", json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:I, s:s}", "binary", fio,
		"jobs", jobs, "file", "tmpfs (/dev/shm)", "runtime_ms", (int)runtime_ms,
		"ramp_ms", (int)ramp_ms, "log_ms", (int)log_ms, "file_mib", (int)file_mib,
		"memfd_bytes", (json_int_t)(max_bs + (2L << 20)), "bs", bs_list));
	pmb_note(b, "fio_bw: fio psync sequential I/O on a tmpfs file, buffer=malloc (private, "
		 "page-aligned by the job files' iomem_align) vs buffer=memfd (a memfd created here, "
		 "reopened by fio through /proc/self/fd: the shared-pool stand-in). Samples are fio's %ld ms bandwidth-log windows after ramp_time. "
		 "It is the I/O path cost with the buffer in shared memory, not a swiotlb measurement: "
		 "nothing is bounced. Bouncing inside fio's I/O would need an external ioengine, which "
		 "Debian's fio cannot load without its version-matched source tree; memfd_secret and "
		 "guest_memfd cannot be fio buffers (ENXIO through /proc/self/fd).", log_ms);
	free(res);
	close(memfd);
	fio_cleanup();
	fio_dir[0] = '\0';
}

/* ---- the sweep ---------------------------------------------------------------------- */

struct config {
	int threads;
	unsigned int areas;
};

struct point {
	double bounce, direct, floor_frac;	/* medians; NaN when not measured */
};

static const char *ref_label(enum pmb_ref r)
{
	return r == PMB_REF_MEMCPY_1T ? "memcpy_1thread/2" : "memcpy_allcpus/2";
}

/* Measure one (direction, size, threads, areas) point and record its metrics. */
static void measure_point(struct pmb *b, struct run *r, struct pool *pool, const struct config *c,
			  bool record_direct, bool core, long sample_ms, struct point *pt)
{
	const char *dname = r->read ? "read" : "write";
	const char *copies = !r->read ? "2" : r->map_copy ? "3" : "2";
	enum pmb_ref ref = c->threads == 1 ? PMB_REF_MEMCPY_1T : PMB_REF_MEMCPY_ALL;
	/* A smoke run validates the output, not timing: its few tiny samples are not judged. */
	double cv_max = pmb_mode(b) == PMB_SMOKE ? 1.0 : 0.03;
	double floor_gbps = pmb_ref(b, ref)->median / 2;
	char mb[32], md[32], mc[32], mf[32], sbuf[24], tbuf[16], abuf[16];
	/* core: the headline point (the first measured), bounced GB/s and its paired cost. */
	struct pmb_spec sb = { .metric = mb, .unit = "GB/s", .cv_max = cv_max, .ref = ref,
		.core = core,
		.ref_ratio = "bounced payload GB/s / memcpy GB/s; a bounced byte is copied `copies` "
			     "times (>= 2), so 0.5 is the two-copy floor (floor_fraction = 2 x this)" };
	struct pmb_spec sd = { .metric = md, .unit = "GB/s", .cv_max = cv_max, .ref = ref,
		.ref_ratio = "direct (one copy per byte) GB/s / memcpy GB/s: 1.0 = at the memcpy floor" };
	struct pmb_spec sc = { .metric = mc, .unit = "x", .cv_max = cv_max, .core = core };
	struct pmb_spec sf = { .metric = mf, .unit = "fraction", .cv_max = cv_max };
	unsigned long retries = 0, hiwater = 0;
	struct pmb_stats st, sts;
	double *ff;
	json_t *m;
	int n;

	snprintf(mb, sizeof(mb), "bounce_%s", dname);
	snprintf(md, sizeof(md), "direct_%s", dname);
	snprintf(mc, sizeof(mc), "cost_%s", dname);
	snprintf(mf, sizeof(mf), "floor_fraction_%s", dname);
	snprintf(sbuf, sizeof(sbuf), "%zu", r->io);
	snprintf(tbuf, sizeof(tbuf), "%d", c->threads);
	snprintf(abuf, sizeof(abuf), "%u", c->areas);
	pmb_progress(b, "%s size=%s threads=%s areas=%s", dname, sbuf, tbuf, abuf);
	pt->bounce = pt->direct = pt->floor_frac = NAN;	/* until measured */

	if (pool_reset(pool, c->areas))
		pmb_die(b, "cannot split the pool into %u areas", c->areas);
	r->threads = c->threads;
	calibrate(r, sample_ms * 1e6);
	pool_reset(pool, c->areas);
	for (int k = 0; k < r->threads; k++)
		r->w[k].retries = 0;
	r->nhist = 0;
	m = pmb_measure(b, &sb, pmb_params("size", sbuf, "threads", tbuf, "areas", abuf,
					   "copies", copies, NULL), sample, r, &st);
	if (!m)
		return;
	for (int k = 0; k < r->threads; k++)
		retries += r->w[k].retries;
	for (unsigned int a = 0; a < pool->nareas; a++)
		hiwater += pool->areas[a].hiwater;
	json_object_set_new(m, "model", json_pack("{s:I, s:i, s:I, s:I, s:I}",
		"bytes_per_thread_per_path", (json_int_t)r->bytes, "slices", r->slices,
		"sample_ms_target", (json_int_t)sample_ms,
		"map_retries_pool_full", (json_int_t)retries,
		"slots_used_hiwater_sum_of_areas", (json_int_t)hiwater));
	/* The last n history entries are the measured samples (warm-ups come first). */
	n = st.n;
	pt->bounce = st.median;
	pt->direct = NAN;
	if (record_direct && pmb_record(b, &sd, pmb_params("size", sbuf, "threads", tbuf, NULL),
					r->direct + r->nhist - n, n, &sts))
		pt->direct = sts.median;
	m = pmb_record(b, &sc, pmb_params("size", sbuf, "threads", tbuf, "areas", abuf, NULL),
		       r->cost + r->nhist - n, n, &sts);
	if (m)
		json_object_set_new(m, "what", json_string(
			"median over the sample's slices of bounce time / direct time (same bytes, interleaved)"));
	ff = malloc(n * sizeof(*ff));
	if (!ff)
		pmb_die(b, "out of memory");
	for (int k = 0; k < n; k++)
		ff[k] = r->bounce[r->nhist - n + k] / floor_gbps;
	pt->floor_frac = NAN;
	if (pmb_record(b, &sf, pmb_params("size", sbuf, "threads", tbuf, "areas", abuf,
					  "floor", ref_label(ref), "copies", copies, NULL), ff, n, &sts))
		pt->floor_frac = sts.median;
	free(ff);
}

/* "1T 2 areas" for a column header. */
static void series_name(char *buf, size_t len, const char *prefix, const struct config *c)
{
	snprintf(buf, len, "%s%dT %u area%s", prefix, c->threads, c->areas, c->areas > 1 ? "s" : "");
}

/*
 * Plot tables for one direction, one row per I/O size (ascending), one column per
 * series: <dir> (bounce GB/s per threads x areas), direct-<dir> (direct GB/s per
 * thread count) and floor-<dir> (fraction of the two-copy memcpy floor).
 */
static void write_tables(struct pmb *b, bool read, const long *sz, int nsz, const struct config *cfg,
			 int ncfg, struct point (*pt)[MAX_LIST])
{
	const char *dname = read ? "read" : "write";
	struct pmb_table *t[3];
	char hdr[3][8192], row[3][8192], name[64], suffix[32];
	size_t off[3];
	int order[MAX_LIST];

	for (int i = 0; i < nsz; i++)
		order[i] = i;
	for (int i = 1; i < nsz; i++)
		for (int j = i; j > 0 && sz[order[j]] < sz[order[j - 1]]; j--) {
			int tmp = order[j];

			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	for (int k = 0; k < 3; k++)
		off[k] = snprintf(hdr[k], sizeof(hdr[k]), "io_size_bytes");
	for (int c = 0; c < ncfg; c++) {
		series_name(name, sizeof(name), "bounce ", &cfg[c]);
		appendf(hdr[0], sizeof(hdr[0]), &off[0], ",%s", name);
		if (c == 0 || cfg[c - 1].threads != cfg[c].threads)
			appendf(hdr[1], sizeof(hdr[1]), &off[1], ",direct %dT",
					   cfg[c].threads);
		series_name(name, sizeof(name), read ? "read " : "write ", &cfg[c]);
		appendf(hdr[2], sizeof(hdr[2]), &off[2], ",%s", name);
	}
	t[0] = pmb_table(b, dname, hdr[0]);
	snprintf(suffix, sizeof(suffix), "direct-%s", dname);
	t[1] = pmb_table(b, suffix, hdr[1]);
	snprintf(suffix, sizeof(suffix), "floor-%s", dname);
	t[2] = pmb_table(b, suffix, hdr[2]);
	for (int i = 0; i < nsz; i++) {
		int s = order[i];

		for (int k = 0; k < 3; k++)
			off[k] = snprintf(row[k], sizeof(row[k]), "%ld", sz[s]);
		for (int c = 0; c < ncfg; c++) {
			appendnum(row[0], sizeof(row[0]), &off[0], pt[c][s].bounce);
			if (c == 0 || cfg[c - 1].threads != cfg[c].threads)
				appendnum(row[1], sizeof(row[1]), &off[1], pt[c][s].direct);
			appendnum(row[2], sizeof(row[2]), &off[2], pt[c][s].floor_frac);
		}
		for (int k = 0; k < 3; k++)
			pmb_row(t[k], "%s", row[k]);
	}
}

/*
 * The contention answer: per thread count and size, bounced GB/s with one area
 * (a single lock) over bounced GB/s with one area per thread.
 */
static void contention_result(json_t *out, bool read, const long *sz, int nsz,
			      const struct config *cfg, int ncfg, struct point (*pt)[MAX_LIST])
{
	json_t *list = json_array();

	for (int c = 0; c < ncfg; c++) {
		if (cfg[c].areas != 1 || cfg[c].threads < 2)
			continue;
		for (int o = 0; o < ncfg; o++) {
			if (cfg[o].threads != cfg[c].threads || cfg[o].areas != pow2_ceil(cfg[c].threads))
				continue;
			for (int i = 0; i < nsz; i++)
				if (pt[c][i].bounce > 0 && pt[o][i].bounce > 0)
					json_array_append_new(list, json_pack("{s:I, s:i, s:i, s:f}",
						"size", (json_int_t)sz[i], "threads", cfg[c].threads,
						"areas_per_thread", (int)cfg[o].areas,
						"single_lock_over_per_thread_areas", pt[c][i].bounce / pt[o][i].bounce));
		}
	}
	json_object_set_new(out, read ? "read" : "write", list);
}

/*
 * Thread counts x area settings. Threads: a list of counts, "max" (= ncpu), "all"
 * (1..ncpu) or "spread" (1, ncpu/4, ncpu/2, ncpu: bounded work on big machines).
 * Areas: "threads" (the count rounded up to a power of two) and/or powers of two.
 */
static int make_configs(struct pmb *b, const char *threads_s, const char *areas_s, int ncpu,
			struct config *cfg)
{
	char tmp[256], *save = NULL;
	int thr[MAX_THREADS], nthr = 0, ncfg = 0;

	if (!strcmp(threads_s, "all")) {
		for (int t = 1; t <= ncpu && nthr < MAX_THREADS; t++)
			thr[nthr++] = t;
	} else if (!strcmp(threads_s, "spread")) {
		const int want[4] = { 1, ncpu / 4, ncpu / 2, ncpu };

		for (int i = 0; i < 4; i++)
			if (want[i] >= 1 && want[i] <= MAX_THREADS && (nthr == 0 || thr[nthr - 1] < want[i]))
				thr[nthr++] = want[i];
	} else {
		snprintf(tmp, sizeof(tmp), "%s", threads_s);
		for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			int t = !strcmp(tok, "max") ? ncpu : atoi(tok);

			if (t < 1 || t > ncpu || t > MAX_THREADS)
				pmb_die(b, "--set threads wants 1..%d (threads are pinned one per online CPU), "
					"'max', 'all' or 'spread', got '%s'", ncpu, tok);
			if (nthr == 0 || thr[nthr - 1] != t)
				thr[nthr++] = t;
		}
	}
	for (int i = 0; i < nthr; i++) {
		snprintf(tmp, sizeof(tmp), "%s", areas_s);
		save = NULL;
		for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			unsigned int a = !strcmp(tok, "threads") ? pow2_ceil(thr[i]) : (unsigned int)atoi(tok);
			bool dup = false;

			if (a < 1 || a > 1024 || (a & (a - 1)))
				pmb_die(b, "--set areas wants 'threads' or powers of two up to 1024, got '%s'", tok);
			for (int c = 0; c < ncfg; c++)
				dup |= cfg[c].threads == thr[i] && cfg[c].areas == a;
			if (!dup && ncfg < MAX_CONFIGS)
				cfg[ncfg++] = (struct config){ thr[i], a };
		}
	}
	if (ncfg == 0)
		pmb_die(b, "--set threads/areas give no configuration");
	return ncfg;
}

int main(int argc, char **argv)
{
	struct pmb *b = pmb_init(argc, argv, "bounce",
		"swiotlb-style bounce-buffer I/O (2 KiB slots, 256 KiB segments, areas) vs direct, "
		"against the memcpy floor; fio through a shared-memory buffer");
	bool smoke = pmb_mode(b) == PMB_SMOKE, quick = pmb_mode(b) == PMB_QUICK;
	int ncpu = pmb_nr_cpus();
	long pool_mib = pmb_param_long(b, "pool_mib", 64);
	long buf_mib = pmb_param_long(b, "buf_mib", pmb_by_mode(b, 4, 64, 64));
	long sample_ms = pmb_param_long(b, "sample_ms", pmb_by_mode(b, 2, 40, 100));
	long slices = pmb_param_long(b, "slices", 16);
	/* 64k first: the first metric recorded is the run's headline. */
	const char *sizes_s = pmb_param_str(b, "sizes", smoke ? "64k,4k,1m" :
		quick ? "64k,512,4k,256k,1m" : "64k,512,1k,2k,4k,8k,16k,32k,128k,256k,512k,1m");
	const char *read_sizes_s = pmb_param_str(b, "read_sizes", smoke ? "64k" :
		quick ? "64k,512,1m" : "64k,512,4k,256k,1m");
	const char *threads_s = pmb_param_str(b, "threads", quick || smoke ? "1,max" : "spread");
	const char *areas_s = pmb_param_str(b, "areas", "threads,1");
	const char *priv_kind = pmb_param_str(b, "private", "memfd");
	long map_copy = pmb_param_long(b, "map_copy", 1);
	long fio_on = pmb_param_long(b, "fio", 1);
	const char *fio_bs = pmb_param_str(b, "fio_bs", smoke ? "64k" : quick ? "4k,256k" : "4k,64k,256k,1m");
	long fio_runtime = pmb_param_long(b, "fio_runtime_ms", pmb_by_mode(b, 600, 800, 3000));
	long fio_ramp = pmb_param_long(b, "fio_ramp_ms", pmb_by_mode(b, 100, 200, 1000));
	long fio_log = pmb_param_long(b, "fio_log_ms", pmb_by_mode(b, 100, 100, 250));
	long fio_file = pmb_param_long(b, "fio_file_mib", pmb_by_mode(b, 8, 64, 256));
	const char *fio_jobs = pmb_param_str(b, "fio_jobs", "");
	long sizes[2][MAX_LIST];
	int nsizes[2], ncfg, maxthr = 1;
	struct config cfg[MAX_CONFIGS];
	struct pool pool = { 0 };
	const char *priv_used = "";
	struct pmb_snap s0, s1;
	struct run *r;
	json_t *jm, *contention;

	pmb_params_done(b);
	if (pool_mib < 1 || pool_mib > 4096 || buf_mib < 1 || buf_mib > 4096 || sample_ms < 1 ||
	    slices < 1 || slices > MAX_SLICES ||
	    (map_copy != 0 && map_copy != 1) ||
	    (strcmp(priv_kind, "memfd") && strcmp(priv_kind, "secret") && strcmp(priv_kind, "anon")))
		pmb_die(b, "pool_mib and buf_mib want 1..4096 (MiB), sample_ms >= 1, slices 1..%d, map_copy 0 or 1, "
			"private memfd|secret|anon", MAX_SLICES);
	nsizes[0] = parse_sizes(sizes_s, sizes[0], MAX_LIST, 1, 64L << 20);
	nsizes[1] = parse_sizes(read_sizes_s, sizes[1], MAX_LIST, 1, 64L << 20);
	if (nsizes[0] < 0 || nsizes[1] < 0)
		pmb_die(b, "--set sizes/read_sizes want lists such as 512,4k,64k,1m (at most %d)", MAX_LIST);
	for (int d = 0; d < 2; d++)
		for (int i = 0; i < nsizes[d]; i++)
			if (2 * sizes[d][i] > buf_mib << 20)
				pmb_die(b, "I/O size %ld does not fit twice in buf_mib=%ld", sizes[d][i], buf_mib);
	ncfg = make_configs(b, threads_s, areas_s, ncpu, cfg);
	for (int c = 0; c < ncfg; c++)
		maxthr = cfg[c].threads > maxthr ? cfg[c].threads : maxthr;

	/* The shared pool: a memfd mapped shared, prefaulted (its faults are not the I/O's). */
	{
		int fd = memfd_create("privmem-bounce-pool", MFD_CLOEXEC);

		if (fd < 0 || ftruncate(fd, pool_mib << 20))
			pmb_die(b, "cannot create the %ld MiB pool memfd: %s", pool_mib, strerror(errno));
		pool.mem = mmap(NULL, pool_mib << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		close(fd);
		if (pool.mem == MAP_FAILED)
			pmb_die(b, "cannot map the pool: %s", strerror(errno));
		memset(pool.mem, 0, pool_mib << 20);
	}
	pool.nslots = (unsigned int)((pool_mib << 20) >> SLOT_SHIFT);
	pool.free_run = malloc(pool.nslots);
	if (!pool.free_run)
		pmb_die(b, "out of memory");
	for (int c = 0; c < ncfg; c++)
		if (cfg[c].areas > pool.nslots / SEG_SLOTS)
			pmb_die(b, "areas=%u needs a pool of at least %u MiB (one 256 KiB segment per area)",
				cfg[c].areas, (cfg[c].areas + 3) / 4);

	/* Private and device buffers for the largest thread count, prefaulted. */
	r = calloc(1, sizeof(*r));
	if (!r)
		pmb_die(b, "out of memory");
	r->pool = &pool;
	r->buf = buf_mib << 20;
	r->map_copy = map_copy;
	r->slices = (int)slices;
	pmb_snap(&s0);
	for (int i = 0; i < maxthr; i++) {
		struct worker *w = &r->w[i];

		w->r = r;
		w->cpu = i % ncpu;
		w->priv = map_private(priv_kind, r->buf, &priv_used);
		if (!w->priv && !strcmp(priv_kind, "secret") && i == 0) {
			pmb_note(b, "private=secret: memfd_secret unavailable (%s); using memfd", strerror(errno));
			priv_kind = "memfd";
			w->priv = map_private(priv_kind, r->buf, &priv_used);
		}
		w->dev = mmap(NULL, r->buf, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (!w->priv || w->dev == MAP_FAILED)
			pmb_die(b, "cannot map %ld MiB buffers for thread %d (private=%s): %s", buf_mib, i,
				priv_kind, strerror(errno));
		/* 4K pages like the memcpy reference's malloc buffers (THP would flatter the model). */
		madvise(w->dev, r->buf, MADV_NOHUGEPAGE);
		memset(w->priv, 0x5a, r->buf);
		memset(w->dev, 0xa5, r->buf);
	}
	pmb_snap(&s1);

	jm = json_pack("{s:i, s:i, s:i, s:i, s:I, s:s, s:s, s:s, s:b, s:[]}", "slot_bytes", (int)SLOT_SIZE,
		       "segment_slots", (int)SEG_SLOTS, "max_mapping_bytes", (int)MAX_MAPPING,
		       "pool_slots", (int)pool.nslots, "buf_bytes_per_thread", (json_int_t)r->buf,
		       "private_backing", priv_used, "pool_backing", "memfd, MAP_SHARED, 4K pages",
		       "device_backing", "anonymous, MADV_NOHUGEPAGE", "read_map_copy", map_copy != 0,
		       "configs");
	for (int c = 0; c < ncfg; c++)
		json_array_append_new(json_object_get(jm, "configs"),
				      json_pack("{s:i, s:i}", "threads", cfg[c].threads, "areas", cfg[c].areas));
	pmb_config(b, "model", jm);
	if (!strcmp(priv_used, "memfd_secret")) {
		pmb_config(b, "private_setup_counters", pmb_snap_delta(&s0, &s1));
		pmb_note(b, "private=secret: the private buffers are memfd_secret, removed from the kernel "
			 "direct map, which can split direct-map huge pages (see private_setup_counters)");
	} else {
		pmb_note(b, "private buffers are %s (the guest-side source/destination; a CVM's would also "
			 "be encrypted, which a host cannot model). --set private=secret uses memfd_secret, "
			 "which removes its pages from the direct map and so splits direct-map huge pages "
			 "(irreversible until reboot; left to the directmap benchmark by default)", priv_used);
	}

	/* References first: every ratio below is read against them. */
	pmb_ref(b, PMB_REF_MEMCPY_1T);
	if (maxthr > 1)
		pmb_ref(b, PMB_REF_MEMCPY_ALL);

	contention = json_object();
	for (int d = 0; d < 2; d++) {
		struct point (*pt)[MAX_LIST];

		if (nsizes[d] == 0)
			continue;
		pt = calloc(ncfg, sizeof(*pt));
		if (!pt)
			pmb_die(b, "out of memory");
		r->read = d == 1;
		for (int c = 0; c < ncfg; c++) {
			bool first_of_threads = c == 0 || cfg[c - 1].threads != cfg[c].threads;

			for (int i = 0; i < nsizes[d]; i++) {
				r->io = sizes[d][i];
				measure_point(b, r, &pool, &cfg[c], first_of_threads, d == 0 && c == 0 && i == 0,
					      sample_ms, &pt[c][i]);
			}
		}
		write_tables(b, d == 1, sizes[d], nsizes[d], cfg, ncfg, pt);
		contention_result(contention, d == 1, sizes[d], nsizes[d], cfg, ncfg, pt);
		free(pt);
	}
	pmb_result(b, "areas_contention", contention);

	pmb_note(b, "model: 2 KiB slots, 128-slot (256 KiB) segments, I/Os > 256 KiB split into 256 KiB "
		 "mappings, >= 4 KiB mappings page-aligned, one spinlock per area, area = cpu & (areas-1) "
		 "then the next; write = copy private->slots + device copy slots->device; read = copy "
		 "private->slots at map (map_copy=%ld) + device copy device->slots + copy slots->private "
		 "at unmap; direct = the device copy only. CPU copies only: no DMA engine, no IOMMU, no "
		 "memory encryption (a CVM's private-side copies also pay it)", map_copy);
	pmb_note(b, "floor_fraction = bounced GB/s / (memcpy GB/s / 2): memcpy_1thread for 1 thread, "
		 "memcpy_allcpus for more (an upper bound for 1 < threads < all CPUs). The model's second "
		 "copy reads slots the CPU has just written (cache-warm), so a fraction above 1 is possible. "
		 "cost = bounce time / direct time of the same bytes, interleaved in slices (median over "
		 "a sample's slices): 2 / cost is the fraction of a two-copy floor measured alongside "
		 "(same I/O size, same buffers), immune to the drift of the host's memory bandwidth "
		 "between the reference and the sweep");
	pmb_note(b, "not measured: swiotlb debugfs (io_tlb_used_hiwater) and the swiotlb:swiotlb_bounced "
		 "tracepoint count bounces only in a guest whose DMA goes through swiotlb (memory "
		 "encryption or swiotlb=force); on this host they do not move, so none is claimed");

	if (fio_on)
		run_fio(b, fio_jobs, fio_bs, fio_runtime, fio_ramp, fio_log, fio_file);
	else
		pmb_note(b, "skipped: fio variant: --set fio=0");

	for (int i = 0; i < maxthr; i++) {
		munmap(r->w[i].priv, r->buf);
		munmap(r->w[i].dev, r->buf);
	}
	munmap(pool.mem, pool_mib << 20);
	for (unsigned int a = 0; a < pool.nareas; a++)
		pthread_spin_destroy(&pool.areas[a].lock);
	free(pool.areas);
	free(pool.free_run);
	free(r->bounce);
	free(r->direct);
	free(r->cost);
	free(r);
	return pmb_finish(b);
}
