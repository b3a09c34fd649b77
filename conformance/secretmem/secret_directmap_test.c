// SPDX-License-Identifier: GPL-2.0
/*
 * The direct-map cost of secretmem, observed. secretmem_fault takes each new
 * page out of the kernel's direct map (set_direct_map_invalid_noflush), which
 * on x86 splits the 1G/2M direct-map page around it into 4K pages
 * (arch/x86/mm/pat/set_memory.c __split_large_page). The kernel reports the page
 * sizes of the direct map in /proc/meminfo (DirectMap4k/2M/1G) and counts the
 * splits in /proc/vmstat (direct_map_level2_splits: 2M->4K, level3: 1G->2M;
 * the *_collapses counters of newer kernels count the reverse).
 *
 * Whether faulting N pages splits anything depends on where the allocator puts
 * them and on what earlier secretmem use already split (a split stays until
 * reboot: freeing restores the PTE, never the large page; newer kernels
 * collapse only around set_memory_rox, i.e. kernel code). So "must increase"
 * would be flaky and is only reported. What holds on every correct kernel is
 * the bookkeeping, both sides updated together in split_page_count() and
 * collapse_page_count():
 *   - the event counters never go down;
 *   - a 2M split moves 2048 kB from DirectMap2M to DirectMap4k, a 1G split
 *     1048576 kB from DirectMap1G to DirectMap2M (collapses the reverse), so
 *     dDirectMap4k = 2048 kB x (d level2 splits - d level2 collapses),
 *     dDirectMap1G = -1048576 kB x (d level3 splits - d level3 collapses),
 *     and the total direct map is unchanged;
 *   - while the N secret pages exist, at least N pages are mapped 4K.
 * This fragments the direct map for good, so the row faults only PAGES pages.
 */
#include "secretmem.h"

SECRET_FIXTURE(secret_directmap, 0)

#define PAGES 64

struct dm_snap {
	long long split2, split3, coll2, coll3;		/* vmstat events */
	long long k4, m2, g1;				/* meminfo, kB */
};

static bool read_events(long long ev[4])
{
	static char vmstat[16384];

	if (secret_slurp("/proc/vmstat", vmstat, sizeof(vmstat)) <= 0)
		return false;
	ev[0] = secret_field(vmstat, "direct_map_level2_splits");
	ev[1] = secret_field(vmstat, "direct_map_level3_splits");
	ev[2] = secret_field(vmstat, "direct_map_level2_collapses");	/* absent before collapses existed */
	ev[3] = secret_field(vmstat, "direct_map_level3_collapses");
	return ev[0] >= 0 && ev[1] >= 0;
}

/*
 * meminfo and vmstat cannot be read atomically together: take meminfo between
 * two identical readings of the events, so no split happened in between.
 * 0: ok, 1: counters absent, 2: the direct map kept changing under us.
 */
static int snapshot(struct dm_snap *s)
{
	static char meminfo[8192];
	long long a[4], b[4];

	for (int tries = 0; tries < 8; tries++) {
		if (!read_events(a) || secret_slurp("/proc/meminfo", meminfo, sizeof(meminfo)) <= 0 ||
		    !read_events(b))
			return 1;
		s->k4 = secret_field(meminfo, "DirectMap4k");
		s->m2 = secret_field(meminfo, "DirectMap2M");
		s->g1 = secret_field(meminfo, "DirectMap1G");	/* only with gbpages */
		if (s->k4 < 0 || s->m2 < 0)
			return 1;
		if (memcmp(a, b, sizeof(a)))
			continue;
		s->split2 = a[0], s->split3 = a[1];
		s->coll2 = a[2] < 0 ? 0 : a[2], s->coll3 = a[3] < 0 ? 0 : a[3];
		s->g1 = s->g1 < 0 ? 0 : s->g1;
		return 0;
	}
	return 2;
}

TEST_F(secret_directmap, split_accounting_consistent)
{
	size_t len = PAGES * self->page;
	struct dm_snap b, a;
	uint8_t *p;
	int r;

	r = snapshot(&b);
	if (r == 1)
		SKIP(return, "no DirectMap4k/2M in /proc/meminfo or direct_map_level*_splits in "
		     "/proc/vmstat (not x86, or CONFIG_PROC_FS/VM_EVENT_COUNTERS off)");
	if (r == 2)
		SKIP(return, "direct-map counters changed during every snapshot: "
		     "concurrent page-attribute changes");
	ASSERT_EQ(0, ftruncate(self->fd, len));
	p = secret_map(self->fd, len, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (size_t off = 0; off < len; off += self->page)
		p[off] = 1;
	r = snapshot(&a);
	ASSERT_EQ(0, r) TH_LOG("counters vanished or never settled (%d)", r);

	TH_LOG("direct-map: level2_splits +%lld, level3_splits +%lld, collapses +%lld/+%lld, "
	       "DirectMap4k %+lld kB, DirectMap2M %+lld kB, DirectMap1G %+lld kB after %d secret pages "
	       "(now 4k=%lld kB 2M=%lld kB 1G=%lld kB)",
	       a.split2 - b.split2, a.split3 - b.split3, a.coll2 - b.coll2, a.coll3 - b.coll3,
	       a.k4 - b.k4, a.m2 - b.m2, a.g1 - b.g1, PAGES, a.k4, a.m2, a.g1);

	ASSERT_LE(b.split2, a.split2);
	ASSERT_LE(b.split3, a.split3);
	ASSERT_LE(b.coll2, a.coll2);
	ASSERT_LE(b.coll3, a.coll3);
	ASSERT_EQ(b.k4 + b.m2 + b.g1, a.k4 + a.m2 + a.g1);
	ASSERT_EQ(2048 * ((a.split2 - b.split2) - (a.coll2 - b.coll2)), a.k4 - b.k4);
	ASSERT_EQ(-1048576 * ((a.split3 - b.split3) - (a.coll3 - b.coll3)), a.g1 - b.g1);
	ASSERT_LE(PAGES * (self->page / 1024), a.k4);
	munmap(p, len);
}

TEST_HARNESS_MAIN
