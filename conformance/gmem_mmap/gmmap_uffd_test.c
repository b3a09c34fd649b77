// SPDX-License-Identifier: GPL-2.0
/*
 * userfaultfd on a host mapping of guest_memfd.
 *
 * UFFDIO_REGISTER admits a VMA only if vma_can_userfault() says so
 * (include/linux/userfaultfd_k.h, 6.18): MINOR needs shmem or hugetlbfs;
 * MISSING and (synchronous) WP need anonymous, shmem or hugetlbfs memory. A
 * guest_memfd VMA is none of these, so each mode fails with EINVAL
 * (fs/userfaultfd.c userfaultfd_register). The one exception: with
 * UFFD_FEATURE_WP_ASYNC (6.7), WP alone is allowed on any memory type, and
 * writes then just clear the uffd-wp bit that pagemap reports (bit 57,
 * Documentation/admin-guide/mm/pagemap.rst) - dirty tracking for a VMM.
 *
 * Each row first registers the same mode on shared anonymous memory (shmem):
 * where that fails the kernel lacks the mode altogether, and the row SKIPs.
 *
 * Not yet upstream (as of the newest torvalds/linux guest_memfd.c read): a
 * series (M. Rapoport, N. Kalyazin; RFC 2026-01, "mm, kvm: allow uffd support
 * in guest_memfd") would admit MINOR and MISSING on guest_memfd through VMA
 * uffd operations, without a uapi feature bit. A kernel with it will fail the
 * MINOR/MISSING rows until it offers something to probe.
 */
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "gmmap.h"

GMMAP_FIXTURE(gmmap_uffd, 4, PM_MMAP_SHARED);

/* A userfaultfd after the UFFDIO_API handshake; -1 with the reason. */
static int uffd_open(uint64_t features, uint64_t *avail, char *why, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	/* Unprivileged with vm.unprivileged_userfaultfd=0: user-mode faults only. */
	if (fd < 0 && errno == EPERM)
		fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0) {
		snprintf(why, len, "userfaultfd(): %s", strerrorname_np(errno));
		return -1;
	}
	if (ioctl(fd, UFFDIO_API, &api)) {
		snprintf(why, len, "UFFDIO_API(features 0x%llx): %s",
			 (unsigned long long)features, strerrorname_np(errno));
		close(fd);
		return -1;
	}
	if (avail)
		*avail = api.features;
	return fd;
}

static int uffd_register(int uffd, void *p, size_t len, uint64_t mode, uint64_t *ioctls)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = len }, .mode = mode,
	};
	int r = ioctl(uffd, UFFDIO_REGISTER, &reg);

	if (ioctls)
		*ioctls = reg.ioctls;
	return r;
}

/*
 * The shmem control and the guest_memfd registration, on one userfaultfd. 0 or
 * the errno of the guest_memfd registration; SKIP reason set when the control
 * failed.
 */
static int register_both(FIXTURE_DATA(gmmap_uffd) *self, uint64_t features,
			 uint64_t mode, char *why, size_t len)
{
	uint8_t *shm = mmap(NULL, self->size, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int uffd = uffd_open(features, NULL, why, len), r;

	if (shm == MAP_FAILED || uffd < 0) {
		if (shm == MAP_FAILED)
			snprintf(why, len, "shared anonymous mmap: %s", strerrorname_np(errno));
		return -1;
	}
	if (uffd_register(uffd, shm, self->size, mode, NULL)) {
		snprintf(why, len, "UFFDIO_REGISTER mode 0x%llx fails on shmem too (%s): "
			 "kernel lacks the mode", (unsigned long long)mode, strerrorname_np(errno));
		close(uffd);
		return -1;
	}
	errno = 0;
	r = uffd_register(uffd, self->mem, self->size, mode, NULL) ? errno : 0;
	close(uffd);
	munmap(shm, self->size);
	return r;
}

TEST_F(gmmap_uffd, register_missing_einval)
{
	char why[200] = "";
	int r = register_both(self, 0, UFFDIO_REGISTER_MODE_MISSING, why, sizeof(why));

	if (why[0])
		SKIP(return, "%s", why);
	ASSERT_EQ(EINVAL, r);
}

TEST_F(gmmap_uffd, register_minor_einval)
{
	char why[200] = "";
	int r = register_both(self, 0, UFFDIO_REGISTER_MODE_MINOR, why, sizeof(why));

	if (why[0])
		SKIP(return, "%s", why);
	ASSERT_EQ(EINVAL, r);
}

/* Synchronous WP (no UFFD_FEATURE_WP_ASYNC requested). */
TEST_F(gmmap_uffd, register_wp_einval)
{
	char why[200] = "";
	int r = register_both(self, 0, UFFDIO_REGISTER_MODE_WP, why, sizeof(why));

	if (why[0])
		SKIP(return, "%s", why);
	ASSERT_EQ(EINVAL, r);
}

/* pagemap entry of `p`: bit 57 is "uffd-wp write-protected". */
static bool pagemap_uffd_wp(int pagemap, void *p, size_t page, bool *ok)
{
	uint64_t e = 0;

	*ok = pread(pagemap, &e, sizeof(e), (uintptr_t)p / page * sizeof(e)) == sizeof(e);
	return e >> 57 & 1;
}

TEST_F(gmmap_uffd, wp_async_tracks_writes)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)self->mem, .len = self->size },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	uint64_t avail = 0, ioctls = 0;
	uint8_t *other;
	char why[200];
	int uffd, pagemap;
	bool ok;

	uffd = uffd_open(0, &avail, why, sizeof(why));
	if (uffd < 0)
		SKIP(return, "%s", why);
	close(uffd);
	if (!(avail & UFFD_FEATURE_WP_ASYNC))
		SKIP(return, "UFFDIO_API features 0x%llx lack UFFD_FEATURE_WP_ASYNC",
		     (unsigned long long)avail);
	uffd = uffd_open(UFFD_FEATURE_WP_ASYNC, NULL, why, sizeof(why));
	ASSERT_LE(0, uffd);
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, pagemap);
	other = mmap(NULL, self->size, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, other);

	gmmap_fill(self->mem, 0, self->size, 1);
	ASSERT_EQ(0, uffd_register(uffd, self->mem, self->size, UFFDIO_REGISTER_MODE_WP, &ioctls));
	ASSERT_TRUE(ioctls & (1ULL << _UFFDIO_WRITEPROTECT));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));
	for (size_t off = 0; off < self->size; off += self->page) {
		ASSERT_TRUE(pagemap_uffd_wp(pagemap, self->mem + off, self->page, &ok));
		ASSERT_TRUE(ok);
	}
	/* Writes resolve without a handler (async) and reach the file... */
	ASSERT_EQ(0, pm_touch(self->mem + self->page, true));
	gmmap_fill(self->mem + 3 * self->page, 3 * self->page, self->page, 2);
	ASSERT_EQ(-1, gmmap_diff(other + 3 * self->page, 3 * self->page, self->page, 2));
	/* ...and leave exactly the written pages without the uffd-wp bit. */
	for (size_t pg = 0; pg < 4; pg++) {
		bool want = pg == 0 || pg == 2;

		ASSERT_EQ(want, pagemap_uffd_wp(pagemap, self->mem + pg * self->page, self->page, &ok));
		ASSERT_TRUE(ok);
	}
	munmap(other, self->size);
	close(pagemap);
	close(uffd);
}

TEST_HARNESS_MAIN
