// SPDX-License-Identifier: GPL-2.0
/*
 * The memory backings the benchmarks measure: one table, one way to create and
 * map each, one capability check each (pmb_backing.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "caps.h"
#include "platform.h"
#include "pmb_backing.h"
#include "pmb_vm.h"

#define HPAGE		(2UL << 20)
#define THP_DIR		"/sys/kernel/mm/transparent_hugepage"
#define GMEM_SHARED	(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)

/* <linux/memfd.h> clashes with glibc's <sys/mman.h>: the 2M hugetlb size encoding (log2 << 26). */
#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB	(21U << 26)
#endif

static const struct pmb_backing_info table[PMB_NR_BACKINGS] = {
	[PMB_GMEM] = { "gmem", "guest_memfd",
		"guest_memfd (MMAP|INIT_SHARED), its own mapping as userspace_addr",
		.file = true, .needs_vm = true, .gmem_flags = GMEM_SHARED },
#ifdef GUEST_MEMFD_FLAG_NO_DIRECT_MAP
	[PMB_GMEM_NODM] = { "gmem_nodirectmap", "gmem_nodirectmap",
		"guest_memfd (MMAP|INIT_SHARED|NO_DIRECT_MAP): its pages leave the direct map",
		.file = true, .needs_vm = true, .off_direct_map = true,
		.gmem_flags = GMEM_SHARED | GUEST_MEMFD_FLAG_NO_DIRECT_MAP },
#else
	[PMB_GMEM_NODM] = { "gmem_nodirectmap", "gmem_nodirectmap",
		"guest_memfd without direct map (no NO_DIRECT_MAP flag in the uapi headers)",
		.file = true, .needs_vm = true, .off_direct_map = true },
#endif
	[PMB_ANON] = { "anon", "anon", "anonymous MAP_PRIVATE, MADV_NOHUGEPAGE" },
	[PMB_SHMEM] = { "shmem", "shmem", "memfd (shmem) MAP_SHARED", .file = true },
	[PMB_THP] = { "thp", "anon_thp", "anonymous MAP_PRIVATE, 2M-aligned, MADV_HUGEPAGE", .huge = true },
	[PMB_SHMEM_THP] = { "shmem_thp", "shmem_thp", "memfd (shmem) MAP_SHARED, 2M-aligned, MADV_HUGEPAGE",
		.file = true, .huge = true },
	[PMB_HUGETLB] = { "hugetlb", "hugetlb_anon", "anonymous MAP_PRIVATE|MAP_HUGETLB, 2M pages",
		.huge = true },
	[PMB_HUGETLBFS] = { "hugetlbfs", "hugetlb", "memfd MFD_HUGETLB|MFD_HUGE_2MB (hugetlbfs file), 2M pages",
		.file = true, .huge = true },
	[PMB_SECRETMEM] = { "secretmem", "secretmem",
		"memfd_secret: host-only memory removed from the kernel direct map",
		.file = true, .off_direct_map = true },
};

const struct pmb_backing_info *pmb_backing(enum pmb_backing k)
{
	return &table[k];
}

/* ---- can it be used here ------------------------------------------------------- */

/* The THP policy file must be one of ok[], else it is set to want (restored at exit). */
static const char *thp_policy(struct pmb *b, const char *file, const char *const *ok, const char *want,
			      char *why, size_t len)
{
	char path[128], cur[128];

	snprintf(path, sizeof(path), THP_DIR "/%s", file);
	if (pmb_knob_get(path, cur, sizeof(cur))) {
		snprintf(why, len, "%s unreadable: %s (no THP in this kernel?)", path, strerror(errno));
		return why;
	}
	for (int i = 0; ok[i]; i++)
		if (!strcmp(cur, ok[i]))
			return NULL;
	if (pmb_knob_set(b, path, want)) {
		snprintf(why, len, "%s is '%s' and setting '%s' failed: %s", path, cur, want, strerror(errno));
		return why;
	}
	return NULL;
}

static const char *gmem_unusable(const struct pmb_backing_info *in, char *why, size_t len)
{
	const struct pm_caps *caps = pm_caps();
	const char *kvm_why = pmb_kvm_unusable();
	long gm = pm_vm_cap(caps, 0, PM_KVM_CAP_GUEST_MEMFD);
	long fl = pm_vm_cap(caps, 0, PM_KVM_CAP_GUEST_MEMFD_FLAGS);

	if (kvm_why) {
		snprintf(why, len, "%s", kvm_why);
		return why;
	}
	if (gm <= 0) {
		snprintf(why, len, "KVM_CAP_GUEST_MEMFD=%ld on the default VM type", gm);
		return why;
	}
	if (!in->gmem_flags) {
		snprintf(why, len, "KVM_CAP_GUEST_MEMFD_FLAGS=%#lx lacks NO_DIRECT_MAP "
			 "(GUEST_MEMFD_FLAG_NO_DIRECT_MAP is not defined by the uapi headers this was "
			 "built against; its bit is not guessed)", fl < 0 ? 0 : fl);
		return why;
	}
	/* Without MMAP|INIT_SHARED the host cannot map it, and a default VM cannot fault it as shared memory. */
	if (fl < 0 || ((uint64_t)fl & in->gmem_flags) != in->gmem_flags) {
		snprintf(why, len, "KVM_CAP_GUEST_MEMFD_FLAGS=%#lx lacks %s", fl < 0 ? 0 : fl,
			 in->off_direct_map ? "NO_DIRECT_MAP|MMAP|INIT_SHARED" : "MMAP|INIT_SHARED");
		return why;
	}
	return NULL;
}

const char *pmb_backing_unusable(struct pmb *b, enum pmb_backing k, size_t size, char *why, size_t len)
{
	static const char *const anon_ok[] = { "always", "madvise", NULL };
	static const char *const shmem_ok[] = { "always", "within_size", "advise", "force", NULL };
	char v[128];

	switch (k) {
	case PMB_GMEM:
	case PMB_GMEM_NODM:
		return gmem_unusable(&table[k], why, len);
	case PMB_THP:
		if (thp_policy(b, "enabled", anon_ok, "madvise", why, len))
			return why;
		if (!pmb_knob_get(THP_DIR "/hugepages-2048kB/enabled", v, sizeof(v)) && !strcmp(v, "never")) {
			snprintf(why, len, "2M anonymous THP is off (hugepages-2048kB/enabled=never)");
			return why;
		}
		return NULL;
	case PMB_SHMEM_THP:
		return thp_policy(b, "shmem_enabled", shmem_ok, "advise", why, len);
	case PMB_HUGETLB:
	case PMB_HUGETLBFS:
		return pmb_hugetlb_reserve(b, (long)((size + HPAGE - 1) / HPAGE), why, len) ? why : NULL;
	case PMB_SECRETMEM:
		if (pm_caps()->secretmem)
			return NULL;
		snprintf(why, len, "%s", pm_caps()->secretmem_reason);
		return why;
	default:
		return NULL;
	}
}

/* ---- create and map ------------------------------------------------------------ */

int pmb_backing_fd(enum pmb_backing k, struct pm_vm *vm, size_t size)
{
	char name[48];
	int fd;

	switch (k) {
	case PMB_GMEM:
	case PMB_GMEM_NODM:
		if (!table[k].gmem_flags) {
			errno = EOPNOTSUPP;
			return -1;
		}
		return pm_gmem_create(vm, size, table[k].gmem_flags);
	case PMB_SECRETMEM:
		/* The secretmem platform's own constructor: memfd_secret(O_CLOEXEC), sized. */
		return pm_platform_private_mem(&pm_platform_secretmem, vm, size, O_CLOEXEC);
	case PMB_SHMEM:
	case PMB_SHMEM_THP:
	case PMB_HUGETLBFS:
		snprintf(name, sizeof(name), "privmem-%s", table[k].name);
		fd = memfd_create(name, MFD_CLOEXEC | (k == PMB_HUGETLBFS ? MFD_HUGETLB | MFD_HUGE_2MB : 0));
		if (fd >= 0 && ftruncate(fd, size)) {
			int e = errno;

			close(fd);
			errno = e;
			return -1;
		}
		return fd;
	default:
		errno = EINVAL;
		return -1;
	}
}

/*
 * Map at a 2M-aligned address when size is whole 2M (so 2M folios can be mapped
 * with PMDs; the kernel aligns such mappings itself where it can): reserve 2M
 * more, map over the aligned part, trim the rest.
 */
static char *map_at(size_t size, int flags, int fd)
{
	size_t span = size % HPAGE ? size : size + HPAGE;
	char *r, *a, *p;

	if (size % HPAGE) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	r = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)r + HPAGE - 1) & ~(HPAGE - 1));
	p = mmap(a, size, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(r, span);
		errno = e;
		return NULL;
	}
	if (a > r)
		munmap(r, a - r);
	if (r + span > a + size)
		munmap(a + size, r + span - (a + size));
	return p;
}

int pmb_mem_open(struct pmb_mem *m, enum pmb_backing k, struct pm_vm *vm, size_t size,
		 char *why, size_t len)
{
	const struct pmb_backing_info *in = &table[k];
	int flags = MAP_SHARED, advice = -1;

	*m = (struct pmb_mem){ .kind = k, .size = size, .fd = -1 };
	switch (k) {
	case PMB_ANON:
		flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
		advice = MADV_NOHUGEPAGE;
		break;
	case PMB_THP:
		flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
		advice = MADV_HUGEPAGE;
		break;
	case PMB_HUGETLB:
		/* Not MAP_NORESERVE: the pages are reserved at mmap, not found missing at a fault. */
		flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
		break;
	case PMB_SHMEM_THP:
		advice = MADV_HUGEPAGE;
		break;
	default:
		break;
	}
	if (in->file) {
		m->fd = pmb_backing_fd(k, vm, size);
		if (m->fd < 0) {
			snprintf(why, len, "creating the %s file: %s", in->name, strerror(errno));
			return -1;
		}
	}
	m->p = map_at(size, flags, m->fd);
	if (!m->p) {
		snprintf(why, len, "mmap of %zu bytes of %s: %s", size, in->name, strerror(errno));
		goto fail;
	}
	/* THP where the policy is "madvise"/"advise"; no THP where it is "always". */
	if (advice >= 0 && madvise(m->p, size, advice)) {
		snprintf(why, len, "madvise(%s) on %s: %s", advice == MADV_HUGEPAGE ? "MADV_HUGEPAGE" :
			 "MADV_NOHUGEPAGE", in->name, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	{
		int e = errno;

		pmb_mem_close(m);
		errno = e;
	}
	return -1;
}

void pmb_mem_close(struct pmb_mem *m)
{
	if (m->p)
		munmap(m->p, m->size);
	if (m->fd >= 0)
		close(m->fd);
	m->p = NULL;
	m->fd = -1;
}

int pmb_mem_punch(struct pmb_mem *m, size_t off, size_t len)
{
	if (!table[m->kind].file)
		return madvise(m->p + off, len, MADV_DONTNEED);
	return fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
}
