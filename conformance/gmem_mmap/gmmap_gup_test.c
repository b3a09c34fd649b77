// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel reaching host mappings of guest_memfd through get_user_pages:
 * /proc/<pid>/mem, process_vm_readv/writev, O_DIRECT and vmsplice.
 *
 * Shared memory (INIT_SHARED) is ordinary shared file memory to GUP: nothing
 * in mm/gup.c singles guest_memfd out (check_vma_flags refuses VM_IO/VM_PFNMAP,
 * secretmem and forced writes to non-writable shared mappings;
 * gup_fast_folio_allowed lets short-term pins of any file through), so every
 * path moves the real data.
 *
 * Private memory (MMAP without INIT_SHARED) cannot be faulted by the host
 * (kvm_gmem_fault_user_mapping returns VM_FAULT_SIGBUS), so every GUP path
 * fails: these are the routes by which guest-private memory must not leak.
 * The errno is the path's own translation of the failed fault: EIO from
 * /proc/pid/mem (fs/proc/base.c mem_rw), EFAULT from the others.
 */
#include <linux/magic.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "gmmap.h"

GMMAP_FIXTURE(gmmap_gup, 4, PM_MMAP_SHARED);

static int reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

TEST_F(gmmap_gup, proc_self_mem_read_write)
{
	size_t pg = self->page;
	uint8_t *buf = malloc(pg);
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

	ASSERT_NE(NULL, buf);
	ASSERT_LE(0, mem);
	gmmap_fill(self->mem, 0, self->size, 1);
	ASSERT_EQ((ssize_t)pg, pread(mem, buf, pg, (off_t)(uintptr_t)(self->mem + pg)));
	ASSERT_EQ(-1, gmmap_diff(buf, pg, pg, 1));

	gmmap_fill(buf, 2 * pg, pg, 2);
	ASSERT_EQ((ssize_t)pg, pwrite(mem, buf, pg, (off_t)(uintptr_t)(self->mem + 2 * pg)));
	ASSERT_EQ(-1, gmmap_diff(self->mem + 2 * pg, 2 * pg, pg, 2));

	/*
	 * FOLL_FORCE writes through a read-only mapping only when it is private
	 * (copy-on-write); a shared one refuses (mm/gup.c check_vma_flags), and
	 * mem_rw() turns "nothing copied" into EIO. Reading still works.
	 */
	ASSERT_EQ(0, mprotect(self->mem, pg, PROT_READ));
	ASSERT_ERRNO(EIO, pwrite(mem, buf, pg, (off_t)(uintptr_t)self->mem));
	ASSERT_EQ((ssize_t)pg, pread(mem, buf, pg, (off_t)(uintptr_t)self->mem));
	ASSERT_EQ(-1, gmmap_diff(buf, 0, pg, 1));
	close(mem);
	free(buf);
}

/*
 * A child maps the guest_memfd itself; the parent reads and writes that mapping
 * through /proc/<child>/mem and process_vm_readv/writev (as a debugger or a
 * VMM's migration helper would). The child checks what arrived.
 */
TEST_F(gmmap_gup, child_mem_and_process_vm)
{
	size_t pg = self->page;
	int addr_pipe[2], go[2], mem;
	uint8_t *buf = malloc(pg), *cm;
	char path[64], c = 0;
	struct iovec local, remote;
	pid_t pid;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, pipe(addr_pipe));
	ASSERT_EQ(0, pipe(go));
	gmmap_fill(self->mem, 0, self->size, 3);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		uint8_t *m = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED,
				  self->fd, 0);

		/* Only the parent writes `go`: if it dies, the read sees EOF. */
		close(go[1]);
		if (m == MAP_FAILED)
			_exit(1);
		if (write(addr_pipe[1], &m, sizeof(m)) != sizeof(m) || read(go[0], &c, 1) != 1)
			_exit(2);
		if (gmmap_diff(m, 0, pg, 4) != -1)
			_exit(3);
		if (gmmap_diff(m + pg, pg, pg, 5) != -1)
			_exit(4);
		_exit(0);
	}
	close(go[0]);
	close(addr_pipe[1]);
	ASSERT_EQ((ssize_t)sizeof(cm), read(addr_pipe[0], &cm, sizeof(cm)));
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, mem);

	ASSERT_EQ((ssize_t)pg, pread(mem, buf, pg, (off_t)(uintptr_t)(cm + 2 * pg)));
	ASSERT_EQ(-1, gmmap_diff(buf, 2 * pg, pg, 3));
	gmmap_fill(buf, 0, pg, 4);
	ASSERT_EQ((ssize_t)pg, pwrite(mem, buf, pg, (off_t)(uintptr_t)cm));

	local = (struct iovec){ buf, pg };
	remote = (struct iovec){ cm + 3 * pg, pg };
	ASSERT_EQ((ssize_t)pg, process_vm_readv(pid, &local, 1, &remote, 1, 0));
	ASSERT_EQ(-1, gmmap_diff(buf, 3 * pg, pg, 3));
	gmmap_fill(buf, pg, pg, 5);
	remote.iov_base = cm + pg;
	ASSERT_EQ((ssize_t)pg, process_vm_writev(pid, &local, 1, &remote, 1, 0));

	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(0, reap(pid));
	/* Same file: the parent's own mapping has the writes too. */
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, pg, 4));
	ASSERT_EQ(-1, gmmap_diff(self->mem + pg, pg, pg, 5));
	close(mem);
	free(buf);
}

/*
 * An unlinked file that does real direct I/O, or -1 with the reason. tmpfs
 * accepts O_DIRECT but copies like buffered I/O (no pinning), so it does not
 * count.
 */
static int odirect_file(char *why, size_t len)
{
	const char *dirs[] = { getenv("TMPDIR"), "/var/tmp", "/tmp", "." };
	size_t n = 0;

	why[0] = '\0';
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char path[256];
		struct statfs s;
		int fd;

		if (!dirs[i] || statfs(dirs[i], &s))
			continue;
		if (s.f_type == TMPFS_MAGIC || s.f_type == RAMFS_MAGIC) {
			n += snprintf(why + n, n < len ? len - n : 0, "%s is tmpfs; ", dirs[i]);
			continue;
		}
		fd = open(dirs[i], O_TMPFILE | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		snprintf(path, sizeof(path), "%s/privmem-gmmap-%d", dirs[i], getpid());
		fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
		if (fd >= 0) {
			unlink(path);
			return fd;
		}
		n += snprintf(why + n, n < len ? len - n : 0, "%s: O_DIRECT %s; ", dirs[i],
			      strerror(errno));
	}
	return -1;
}

/*
 * Direct I/O pins the user buffer (iov_iter_extract_pages -> FOLL_PIN) and
 * DMAs into or out of it: both directions work on shared guest_memfd pages.
 */
TEST_F(gmmap_gup, odirect_read_write)
{
	char why[256];
	int f = odirect_file(why, sizeof(why));

	if (f < 0)
		SKIP(return, "no directory for real O_DIRECT ($TMPDIR, /var/tmp, /tmp, .): %s", why);
	gmmap_fill(self->mem, 0, self->size, 6);
	ASSERT_EQ((ssize_t)self->size, pwrite(f, self->mem, self->size, 0));
	ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, self->size));
	ASSERT_EQ(-1, gmmap_nonzero(self->mem, self->size));
	ASSERT_EQ((ssize_t)self->size, pread(f, self->mem, self->size, 0));
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, self->size, 6));
	close(f);
}

/* vmsplice references the user pages in the pipe (fs/splice.c); reading drains them. */
TEST_F(gmmap_gup, vmsplice_round_trip)
{
	uint8_t *buf = malloc(self->size);
	struct iovec iov = { self->mem, self->size };
	int p[2];

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, pipe(p));
	gmmap_fill(self->mem, 0, self->size, 7);
	ASSERT_EQ((ssize_t)self->size, vmsplice(p[1], &iov, 1, 0));
	ASSERT_EQ((ssize_t)self->size, read(p[0], buf, self->size));
	ASSERT_EQ(-1, gmmap_diff(buf, 0, self->size, 7));
	close(p[0]);
	close(p[1]);
	free(buf);
}

/* ---- private memory: MMAP without INIT_SHARED -------------------------------- */

GMMAP_FIXTURE(gmmap_private, 4, GUEST_MEMFD_FLAG_MMAP);

TEST_F(gmmap_private, gup_refused)
{
	size_t pg = self->page;
	uint8_t *buf = calloc(1, pg);
	struct iovec local = { buf, pg }, remote = { self->mem, pg };
	int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC), p[2];

	ASSERT_NE(NULL, buf);
	ASSERT_LE(0, mem);
	ASSERT_EQ(0, pipe(p));
	ASSERT_ERRNO(EIO, pread(mem, buf, pg, (off_t)(uintptr_t)self->mem));
	ASSERT_ERRNO(EIO, pwrite(mem, buf, pg, (off_t)(uintptr_t)self->mem));
	ASSERT_ERRNO(EFAULT, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	ASSERT_ERRNO(EFAULT, process_vm_writev(getpid(), &local, 1, &remote, 1, 0));
	ASSERT_ERRNO(EFAULT, vmsplice(p[1], &remote, 1, 0));
	ASSERT_ERRNO(EFAULT, madvise(self->mem, self->size, MADV_POPULATE_READ));
	ASSERT_ERRNO(EFAULT, madvise(self->mem, self->size, MADV_POPULATE_WRITE));
	/* Nothing leaked into the buffer either. */
	ASSERT_EQ(-1, gmmap_nonzero(buf, pg));
	close(p[0]);
	close(p[1]);
	close(mem);
	free(buf);
}

TEST_F(gmmap_private, odirect_efault)
{
	size_t pg = self->page;
	uint8_t *buf = NULL;
	char why[256];
	int f = odirect_file(why, sizeof(why));

	if (f < 0)
		SKIP(return, "no directory for real O_DIRECT ($TMPDIR, /var/tmp, /tmp, .): %s", why);
	ASSERT_EQ(0, posix_memalign((void **)&buf, pg, pg));
	gmmap_fill(buf, 0, pg, 8);
	ASSERT_EQ((ssize_t)pg, pwrite(f, buf, pg, 0));
	/* Neither out of private memory nor into it. */
	ASSERT_ERRNO(EFAULT, pwrite(f, self->mem, pg, pg));
	ASSERT_ERRNO(EFAULT, pread(f, self->mem, pg, 0));
	close(f);
	free(buf);
}

TEST_HARNESS_MAIN
