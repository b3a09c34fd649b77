// SPDX-License-Identifier: GPL-2.0
/*
 * NUMA memory policy on a host mapping of guest_memfd (mbind/get_mempolicy,
 * libnuma's numaif.h).
 *
 * What any kernel does: mbind() sets a policy on the VMA range and
 * get_mempolicy(MPOL_F_ADDR) reads it back (mm/mempolicy.c: through
 * vm_ops->set_policy/get_policy where the VMA has them, else vma->vm_policy);
 * an unknown mode is EINVAL. Rows for that run on one node.
 *
 * What depends on the kernel: whether guest_memfd keeps a *shared* policy on
 * its inode (kvm_gmem_vm_ops .set_policy/.get_policy over a struct
 * shared_policy, like shmem) and allocates its folios by it. Upstream 6.18
 * has neither (vm_ops = { .fault } only; folios come from filemap_grab_folio
 * under the task's policy). The NUMA mempolicy series (S. Garg, v12 by
 * S. Christopherson 2025-10, merged after 6.18) added both, and needed
 * per-inode state for them, which is why the same series moved guest_memfd
 * inodes from anon_inodefs to their own "guest_memfd" pseudo filesystem
 * (GUEST_MEMFD_MAGIC). There is no capability for the policy itself; the
 * filesystem is the observable part of that feature, so a guest_memfd whose
 * fstatfs() reports GUEST_MEMFD_MAGIC is taken to have shared policies and one
 * on anon_inodefs not to. Both are exact expectations.
 */
#include <numaif.h>
#include <sys/vfs.h>

#include "gmmap.h"

GMMAP_FIXTURE(gmmap_numa, 4, PM_MMAP_SHARED);

#define MASK_LONGS 16				/* room for 1024 nodes */
#define MAXNODE (MASK_LONGS * 64)

/* The mempolicy syscalls exist only with CONFIG_NUMA (ENOSYS otherwise). */
#define NEED_NUMA() do {							\
	int __mode;								\
										\
	if (get_mempolicy(&__mode, NULL, 0, NULL, 0))				\
		SKIP(return, "get_mempolicy: %s (CONFIG_NUMA=n?)",		\
		     strerrorname_np(errno));					\
} while (0)

/* Does this guest_memfd keep a shared (per-inode) memory policy? See the top comment. */
static int shared_policy(int fd, char *why, size_t len)
{
	struct statfs s;

	if (fstatfs(fd, &s))
		return -1;
	if (s.f_type == GUEST_MEMFD_MAGIC)
		return 1;
	snprintf(why, len, "guest_memfd on fs 0x%lx, not GUEST_MEMFD_MAGIC: no shared memory "
		 "policy (6.18 kvm_gmem_vm_ops has no .set_policy)", (unsigned long)s.f_type);
	return 0;
}

/* The placement rows need a second node and a guest_memfd with a shared policy. */
#define NEED_PLACEMENT(fd) do {						\
	int __nodes = pm_caps()->numa_nodes, __shared;				\
	char __why[200];							\
										\
	NEED_NUMA();								\
	if (__nodes < 2)							\
		SKIP(return, "needs >= 2 NUMA nodes, have %d", __nodes);	\
	__shared = shared_policy((fd), __why, sizeof(__why));			\
	ASSERT_LE(0, __shared);							\
	if (!__shared)								\
		SKIP(return, "%s", __why);					\
} while (0)

/* The policy get_mempolicy(MPOL_F_ADDR) reports at `p`: mode, first mask word. */
static int policy_at(void *p, unsigned long *mask0)
{
	unsigned long mask[MASK_LONGS] = { 0 };
	int mode = -1;

	if (get_mempolicy(&mode, mask, MAXNODE, p, MPOL_F_ADDR))
		return -1;
	for (int i = 1; i < MASK_LONGS; i++)
		if (mask[i])
			return -2;
	*mask0 = mask[0];
	return mode;
}

static long set_policy(void *p, size_t len, int mode, unsigned long mask0)
{
	unsigned long mask[MASK_LONGS] = { mask0 };

	return mbind(p, len, mode, mode == MPOL_DEFAULT ? NULL : mask,
		     mode == MPOL_DEFAULT ? 0 : MAXNODE, 0);
}

/* Node 0 exists on every NUMA kernel; as upstream test_mbind, on page ranges. */
TEST_F(gmmap_numa, mbind_round_trip)
{
	uint8_t *pg1 = self->mem + self->page, *pg2 = self->mem + 2 * self->page;
	unsigned long mask = ~0UL;

	NEED_NUMA();
	ASSERT_EQ(0, set_policy(self->mem, 2 * self->page, MPOL_INTERLEAVE, 1));
	ASSERT_EQ(0, set_policy(pg2, 2 * self->page, MPOL_BIND, 1));
	ASSERT_EQ(MPOL_INTERLEAVE, policy_at(self->mem, &mask));
	ASSERT_EQ(1, mask);
	ASSERT_EQ(MPOL_INTERLEAVE, policy_at(pg1, &mask));
	ASSERT_EQ(MPOL_BIND, policy_at(pg2, &mask));
	ASSERT_EQ(1, mask);
	ASSERT_EQ(0, set_policy(pg1, self->page, MPOL_PREFERRED, 1));
	ASSERT_EQ(MPOL_PREFERRED, policy_at(pg1, &mask));
	ASSERT_EQ(1, mask);
	/* Memory placed under the policies is the file's memory as before. */
	gmmap_fill(self->mem, 0, self->size, 1);
	ASSERT_EQ(0, set_policy(self->mem, self->size, MPOL_DEFAULT, 0));
	for (size_t off = 0; off < self->size; off += self->page) {
		ASSERT_EQ(MPOL_DEFAULT, policy_at(self->mem + off, &mask));
		ASSERT_EQ(0, mask);
	}
	ASSERT_EQ(-1, gmmap_diff(self->mem, 0, self->size, 1));
}

TEST_F(gmmap_numa, mbind_invalid_mode_einval)
{
	unsigned long mask = ~0UL;

	NEED_NUMA();
	ASSERT_ERRNO(EINVAL, set_policy(self->mem, self->page, 999, 1));
	/* MPOL_BIND to no node at all (mm/mempolicy.c mpol_new). */
	ASSERT_ERRNO(EINVAL, set_policy(self->mem, self->page, MPOL_BIND, 0));
	/* Nothing was applied. */
	ASSERT_EQ(MPOL_DEFAULT, policy_at(self->mem, &mask));
	ASSERT_EQ(0, mask);
}

/*
 * A policy set through one mapping: seen through a second mapping of the same
 * file (and after unmapping the first) exactly when guest_memfd keeps shared
 * policies; otherwise it belongs to the first VMA alone.
 */
TEST_F(gmmap_numa, policy_scope_follows_shared_policy)
{
	char why[200];
	int shared = shared_policy(self->fd, why, sizeof(why));
	int want = shared ? MPOL_BIND : MPOL_DEFAULT;
	unsigned long mask = ~0UL;
	uint8_t *other;

	NEED_NUMA();
	ASSERT_LE(0, shared);
	ASSERT_EQ(0, set_policy(self->mem, self->size, MPOL_BIND, 1));
	other = mmap(NULL, self->size, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, other);
	if (policy_at(other, &mask) != want)
		TH_LOG("shared policy %s (%s)", shared ? "expected" : "not expected",
		       shared ? "GUEST_MEMFD_MAGIC" : why);
	ASSERT_EQ(want, policy_at(other, &mask));
	ASSERT_EQ(shared ? 1UL : 0UL, mask);
	munmap(self->mem, self->size);
	self->mem = MAP_FAILED;
	ASSERT_EQ(want, policy_at(other + self->page, &mask));
	munmap(other, self->size);
}

/* Node of the page at `p` (move_pages with NULL nodes only queries). */
static int node_of(void *p)
{
	int status = -1;

	if (move_pages(0, 1, &p, NULL, &status, 0))
		return -100;
	return status;
}

/*
 * Allocation follows the shared policy set before the fault (upstream
 * test_numa_allocation): pages 0-1 bound to node 1, 2-3 to node 0; after a
 * full punch and rebinding the other way round, refaults swap nodes.
 */
TEST_F(gmmap_numa, bind_before_fault_places_pages)
{
	NEED_PLACEMENT(self->fd);
	for (int round = 0; round < 2; round++) {
		unsigned long first = round ? 1 : 2, second = round ? 2 : 1;

		ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				       self->size));
		ASSERT_EQ(0, set_policy(self->mem, 2 * self->page, MPOL_BIND, first));
		ASSERT_EQ(0, set_policy(self->mem + 2 * self->page, 2 * self->page, MPOL_BIND, second));
		gmmap_fill(self->mem, 0, self->size, 2 + round);
		for (int pg = 0; pg < 4; pg++)
			ASSERT_EQ(pg < 2 ? (int)first - 1 : (int)second - 1,
				  node_of(self->mem + pg * self->page));
	}
}

/*
 * Private memory (MMAP without INIT_SHARED, what VMs with private memory get):
 * mbind() through a host mapping is how a VMM places guest memory the host can
 * never fault. mbind needs no fault (mm/mempolicy.c vma_replace_policy ->
 * kvm_gmem_set_policy), and every guest_memfd allocation, guest fault or
 * fallocate alike, takes its folio under the shared policy at that index
 * (7.3 guest_memfd.c kvm_gmem_get_folio: mpol_shared_policy_lookup +
 * __filemap_get_folio_mpol). The host cannot look at the pages (no move_pages:
 * they are never mapped), so placement is read from the per-node counters:
 * guest_memfd folios sit on the unevictable LRU (mapping_set_inaccessible sets
 * AS_UNEVICTABLE), counted in /sys/devices/system/node/nodeN/meminfo
 * "Unevictable". 32 MiB allocated under BIND{n} must raise node n's count by at
 * least 7/8 of that and the other node's by less than 1/8 (per-CPU vmstat and
 * LRU batching lag by well under 1 MiB on 2 CPUs); then the other way round.
 */
#define PRIV_PAGES	8192			/* 32 MiB of 4 KiB pages */

GMMAP_FIXTURE(gmmap_numa_private, PRIV_PAGES, GUEST_MEMFD_FLAG_MMAP);

/* "Node <n> Unevictable: <kB> kB" of node n, or -1. */
static long node_unevictable_kib(int n)
{
	char path[64], line[128];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", n);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		int node;
		long v;

		if (sscanf(line, "Node %d Unevictable: %ld kB", &node, &v) == 2 && node == n) {
			kib = v;
			break;
		}
	}
	fclose(f);
	return kib;
}

TEST_F(gmmap_numa_private, policy_places_private_allocations)
{
	long size_kib = (long)(self->size >> 10), before[2], after[2];
	unsigned long mask = ~0UL;

	NEED_PLACEMENT(self->fd);
	ASSERT_EQ(SIGBUS, pm_touch(self->mem, false)) TH_LOG("MMAP without INIT_SHARED is not private");
	/* Node 1 first: the local node (likely 0) is where a lost policy would put them. */
	for (int node = 1; node >= 0; node--) {
		int other = !node;

		ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				       self->size));
		ASSERT_EQ(0, set_policy(self->mem, self->size, MPOL_BIND, 1UL << node));
		ASSERT_EQ(MPOL_BIND, policy_at(self->mem + self->size / 2, &mask));
		ASSERT_EQ(1UL << node, mask);
		for (int n = 0; n < 2; n++)
			ASSERT_LE(0, before[n] = node_unevictable_kib(n));
		ASSERT_EQ(0, fallocate(self->fd, FALLOC_FL_KEEP_SIZE, 0, self->size));
		for (int n = 0; n < 2; n++)
			ASSERT_LE(0, after[n] = node_unevictable_kib(n));
		if (after[node] - before[node] < size_kib * 7 / 8 ||
		    after[other] - before[other] >= size_kib / 8)
			TH_LOG("%ld kB allocated under BIND{%d}: Unevictable node %d +%ld kB, "
			       "node %d +%ld kB", size_kib, node, node, after[node] - before[node],
			       other, after[other] - before[other]);
		ASSERT_LE(size_kib * 7 / 8, after[node] - before[node]);
		ASSERT_GT(size_kib / 8, after[other] - before[other]);
		/* A policy does not share anything with the host. */
		ASSERT_EQ(SIGBUS, pm_touch(self->mem + self->size - self->page, true));
	}
}

TEST_HARNESS_MAIN
