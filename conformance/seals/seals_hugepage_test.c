// SPDX-License-Identifier: GPL-2.0
/*
 * Seals on a memfd whose page cache holds a shmem transparent huge page.
 * Before adding F_SEAL_WRITE, memfd_add_seals waits (~150 ms at most) for GUP
 * pins to go away, telling a pin from the page cache's own references by
 * counting one reference per page of the folio (mm/memfd.c
 * memfd_folio_has_extra_refs: ref_count - mapcount != folio_nr_pages). A huge
 * folio nobody maps or pins is not pinned: the seal goes on.
 *
 * How the huge page is made, without touching any knob: a 2 MiB-aligned shared
 * mapping with MADV_HUGEPAGE is faulted in (a PMD-sized folio when
 * /sys/kernel/mm/transparent_hugepage/shmem_enabled is always, within_size,
 * advise or force); if it did not come out huge, MADV_COLLAPSE (6.1), which
 * ignores shmem_enabled except "deny" (mm/shmem.c shmem_allowable_huge_orders:
 * "Tmpfs huge pages allocation or forced collapse ignores sysfs configs").
 * Whether it is huge is read from /proc/self/smaps (ShmemPmdMapped); if it is
 * not, the test SKIPs with the knobs' values and what was tried.
 */
#include "pm_test.h"
#include "seals.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25	/* Linux 6.1 */
#endif

#define THP_SYSFS	"/sys/kernel/mm/transparent_hugepage"

/* A small sysfs/proc file into buf, NUL-terminated, trailing newline cut; false if unreadable. */
static bool slurp(const char *path, char *buf, size_t size)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	while ((size_t)got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	if (got && buf[got - 1] == '\n')
		buf[got - 1] = '\0';
	return got > 0;
}

/* The selected value of a "a [b] c" knob into val; "absent" if the file is missing. */
static void knob(const char *path, char *val, size_t len)
{
	char buf[256], *l, *r;

	if (!slurp(path, buf, sizeof(buf))) {
		snprintf(val, len, "absent");
		return;
	}
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (l && r)
		snprintf(val, len, "%.*s", (int)(r - l - 1), l + 1);
	else
		snprintf(val, len, "%.*s", (int)len - 1, buf);
}

/* A "Key:   N kB" field of the smaps entry of the VMA that starts at addr; -1 if absent. */
static long smaps_kb(const void *addr, const char *key)
{
	static char smaps[1 << 20];
	char start[32], *vma, *end, *f;
	size_t klen = strlen(key);

	if (!slurp("/proc/self/smaps", smaps, sizeof(smaps)))
		return -1;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	for (vma = smaps; vma; vma = strchr(vma, '\n'), vma = vma ? vma + 1 : NULL)
		if (!strncmp(vma, start, strlen(start)))
			break;
	/* The entry's fields end with its VmFlags line. */
	if (!vma || !(end = strstr(vma, "\nVmFlags:")))
		return -1;
	for (f = strchr(vma, '\n'); f && f < end; f = strchr(f + 1, '\n'))
		if (!strncmp(f + 1, key, klen) && f[1 + klen] == ':')
			return strtol(f + 2 + klen, NULL, 10);
	return -1;
}

FIXTURE(seals_hugepage) {
	int fd;
	size_t pmd;		/* PMD (huge page) size */
	char *resv;		/* reservation the aligned mapping is placed in */
	char enabled[32];	/* shmem_enabled */
	char enabled_pmd[32];	/* hugepages-<pmd>kB/shmem_enabled (6.11 mTHP), or "absent" */
};

FIXTURE_SETUP(seals_hugepage)
{
	char buf[64], path[128];

	self->fd = -1;
	self->resv = MAP_FAILED;
	knob(THP_SYSFS "/shmem_enabled", self->enabled, sizeof(self->enabled));
	if (!strcmp(self->enabled, "absent"))
		SKIP(return, THP_SYSFS "/shmem_enabled absent (CONFIG_TRANSPARENT_HUGEPAGE=n)");
	if (!strcmp(self->enabled, "deny"))
		SKIP(return, "shmem_enabled=deny: no shmem huge page, not even by MADV_COLLAPSE");
	self->pmd = slurp(THP_SYSFS "/hpage_pmd_size", buf, sizeof(buf)) ? strtoul(buf, NULL, 10) : 0;
	if (!self->pmd)
		SKIP(return, THP_SYSFS "/hpage_pmd_size unreadable: no PMD-sized THP");
	snprintf(path, sizeof(path), THP_SYSFS "/hugepages-%zukB/shmem_enabled", self->pmd >> 10);
	knob(path, self->enabled_pmd, sizeof(self->enabled_pmd));
	self->fd = seals_memfd("seals_hugepage", 2 * self->pmd);
	if (self->fd < 0 && errno == EACCES)
		SKIP(return, "vm.memfd_noexec=2 here: every memfd comes F_SEAL_EXEC-sealed");
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(seals_hugepage)
{
	if (self->resv != MAP_FAILED)
		munmap(self->resv, 2 * self->pmd);
	if (self->fd >= 0)
		close(self->fd);
}

static uint8_t pattern(size_t off, long page)
{
	return (uint8_t)(off / page * 3 + 1);
}

/*
 * F_SEAL_WRITE on a memfd holding a huge page, with no mapping and no pin left
 * -> 0 at once. f2b277c4d1c6 ("memfd: fix F_SEAL_WRITE after shmem huge page
 * allocated", v5.17) made the pin check count HPAGE_PMD_NR references for a THP
 * (folio_nr_pages() in 6.12's memfd_folio_has_extra_refs); before it every THP
 * looked pinned and the call failed -1/EBUSY after ~150 ms, seals unchanged.
 */
TEST_F(seals_hugepage, write_seal_on_huge_folio)
{
	long page = getpagesize(), kb;
	uint8_t *p, got[2];
	int advise, collapse = -1, collapse_err = 0;

	/* The mapping at a PMD boundary inside a PROT_NONE reservation, so a PMD can map it. */
	self->resv = mmap(NULL, 2 * self->pmd, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->resv);
	p = (uint8_t *)(((unsigned long)self->resv + self->pmd - 1) & ~(self->pmd - 1));
	ASSERT_EQ(p, mmap(p, self->pmd, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, self->fd, 0));
	advise = madvise(p, self->pmd, MADV_HUGEPAGE);
	for (size_t off = 0; off < self->pmd; off += page)
		p[off] = pattern(off, page);
	kb = smaps_kb(p, "ShmemPmdMapped");
	if (kb < (long)(self->pmd >> 10)) {
		collapse = madvise(p, self->pmd, MADV_COLLAPSE);
		collapse_err = collapse ? errno : 0;
		/* Re-fault whatever the collapse left unmapped (a PMD now, if it is huge). */
		for (size_t off = 0; off < self->pmd; off += page)
			ASSERT_EQ(pattern(off, page), p[off]);
		kb = smaps_kb(p, "ShmemPmdMapped");
	}
	if (kb < (long)(self->pmd >> 10))
		SKIP(return, "no shmem huge page: shmem_enabled=%s, hugepages-%zukB/shmem_enabled=%s, "
		     "MADV_HUGEPAGE -> %d, MADV_COLLAPSE -> %s, ShmemPmdMapped %ld kB",
		     self->enabled, self->pmd >> 10, self->enabled_pmd, advise,
		     collapse_err ? strerrorname_np(collapse_err) : "0", kb);
	TH_LOG("huge page from %s (shmem_enabled=%s, hugepages-%zukB/shmem_enabled=%s): "
	       "ShmemPmdMapped %ld kB", collapse ? "the fault" : "MADV_COLLAPSE", self->enabled,
	       self->pmd >> 10, self->enabled_pmd, kb);

	/* No mapping, no pin: only the page cache holds the folio. */
	ASSERT_EQ(0, munmap(self->resv, 2 * self->pmd));
	self->resv = MAP_FAILED;
	errno = 0;
	ASSERT_EQ(0, fcntl(self->fd, F_ADD_SEALS, F_SEAL_WRITE))
		TH_LOG("F_ADD_SEALS(F_SEAL_WRITE) with a huge page cached: %s", strerrorname_np(errno));
	ASSERT_EQ(F_SEAL_WRITE, seals_get(self->fd));
	ASSERT_ERRNO(EPERM, pwrite(self->fd, "x", 1, 0));
	/* The data of the huge page is intact, first and last base page. */
	ASSERT_EQ(1, pread(self->fd, &got[0], 1, 0));
	ASSERT_EQ(1, pread(self->fd, &got[1], 1, self->pmd - page));
	ASSERT_EQ(pattern(0, page), got[0]);
	ASSERT_EQ(pattern(self->pmd - page, page), got[1]);
}

TEST_HARNESS_MAIN
