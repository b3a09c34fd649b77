// SPDX-License-Identifier: GPL-2.0
/*
 * Where a mapping's pages are: PFNs from /proc/self/pagemap, 2M folios from
 * /proc/kpageflags, 2M-mapped bytes from /proc/self/smaps (pmb_util.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kernel-page-flags.h>
#include <string.h>
#include <unistd.h>

#include "pmb_util.h"

#define PAGE		4096UL
#define PER_HPAGE	512UL
#define PM_PRESENT	(1ULL << 63)
#define PM_PFN		((1ULL << 55) - 1)

static int pagemap_fd = -1, kpageflags_fd = -1;

/* Opened once, kept for the process (a benchmark reads them after every step). */
static int open_once(int *fd, const char *path)
{
	if (*fd < 0)
		*fd = open(path, O_RDONLY | O_CLOEXEC);
	return *fd;
}

int pmb_pagemap_pfns(const void *addr, size_t pages, uint64_t *pfn)
{
	off_t off = (off_t)((uintptr_t)addr / PAGE) * 8;
	ssize_t len = (ssize_t)(pages * 8);

	if (open_once(&pagemap_fd, "/proc/self/pagemap") < 0 || pread(pagemap_fd, pfn, len, off) != len)
		return -1;
	for (size_t i = 0; i < pages; i++)
		pfn[i] = (pfn[i] & PM_PRESENT) ? pfn[i] & PM_PFN : 0;
	return 0;
}

bool pmb_backed_2m_readable(char *why, size_t len)
{
	const char *path = "/proc/self/pagemap";

	if (open_once(&pagemap_fd, path) >= 0 && open_once(&kpageflags_fd, path = "/proc/kpageflags") >= 0)
		return true;
	snprintf(why, len, "%s: %s", path, strerror(errno));
	return false;
}

double pmb_backed_2m(const void *p, size_t size)
{
	uint64_t pfn[PER_HPAGE], fl[PER_HPAGE];
	size_t n = size / (PER_HPAGE * PAGE), good = 0;

	if (open_once(&kpageflags_fd, "/proc/kpageflags") < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (pmb_pagemap_pfns((const char *)p + i * PER_HPAGE * PAGE, PER_HPAGE, pfn))
			return -1;
		if (!pfn[0] || pfn[0] % PER_HPAGE)
			continue;
		for (j = 1; j < PER_HPAGE; j++)
			if (pfn[j] != pfn[0] + j)
				break;
		if (j < PER_HPAGE)
			continue;
		/* Contiguous could still be 512 separate pages: the folio structure decides. */
		if (pread(kpageflags_fd, fl, sizeof(fl), (off_t)pfn[0] * 8) != sizeof(fl))
			return -1;
		if (!(fl[0] & (1ULL << KPF_COMPOUND_HEAD)))
			continue;
		for (j = 1; j < PER_HPAGE; j++)
			if (!(fl[j] & (1ULL << KPF_COMPOUND_TAIL)))
				break;
		good += j == PER_HPAGE;
	}
	return (double)good / n;
}

double pmb_mapped_2m(const void *p, size_t size)
{
	static const char *const fields[] = {
		"AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb",
	};
	uintptr_t lo = (uintptr_t)p, hi = lo + size;
	FILE *f = fopen("/proc/self/smaps", "re");
	unsigned long long kib = 0;
	char line[512];
	bool in = false;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		unsigned long long v;
		char key[40], perms[8];

		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3) {
			in = s >= lo && e <= hi;
			continue;
		}
		if (!in || sscanf(line, "%39[^:]: %llu kB", key, &v) != 2)
			continue;
		for (unsigned i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (!strcmp(key, fields[i]))
				kib += v;
	}
	fclose(f);
	return (double)kib * 1024 / size;
}
