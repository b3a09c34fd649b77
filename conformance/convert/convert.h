/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the conversion collection: a VM whose guest_memfd slots are driven
 * through private<->shared conversions (platform op convert(), i.e.
 * KVM_SET_MEMORY_ATTRIBUTES on sw-protected VMs), a guest that executes the
 * host's read/write commands from a mailbox, and the check that every page
 * shows the view its attribute selects.
 *
 * The two views of a guest_memfd slot without GUEST_MEMFD_FLAG_MMAP (6.12):
 * shared gfns are faulted through the slot's userspace_addr (anonymous memory
 * the library allocates, c->reg[].host here), private gfns from the guest_memfd
 * (api.rst 4.140 "KVM selects shared vs. private, i.e consumes userspace_addr
 * vs. guest_memfd, based on the gfn's KVM_MEMORY_ATTRIBUTE_PRIVATE state";
 * arch/x86/kvm/mmu/mmu.c __kvm_faultin_pfn -> kvm_faultin_pfn_private). On a
 * sw-protected VM the attribute alone decides which one a guest access uses
 * (kvm_mmu_page_fault sets PFERR_PRIVATE_ACCESS from kvm_mem_is_private), so a
 * page's view is exactly its attribute, with no implicit conversion or exit.
 */
#ifndef PRIVMEM_CONVERT_H
#define PRIVMEM_CONVERT_H

#include <stdbool.h>
#include <stdint.h>

#include "pm_test.h"

#define CONV_PAGE	4096ULL
#define CONV_MAX_VCPUS	16
#define CONV_MAX_PAGES	1024		/* pages over all regions of one test */
#define CONV_MAX_REGS	4
#define CONV_LAST_WORD	(CONV_PAGE / 8 - 1)

/* A plain slot, so no conversion or punch ever touches the mailbox. */
#define CONV_CTL_SLOT	(PM_SLOT_FIRST_FREE + 8)
#define CONV_CTL_GPA	(PM_TEST_GPA + (8ULL << 30))
#define CONV_CTL_SIZE	(512ULL << 10)

enum conv_op { CONV_OP_WRITE = 1, CONV_OP_READ, CONV_OP_DONE };
#define CONV_STAGE_READY 1

/* One command per vCPU; the vCPU runs it when the host lets it leave its sync. */
struct conv_cmd {
	uint64_t op, gpa, npages, tag, idx;
	uint64_t pad[3];
};

struct conv_ctl {
	struct conv_cmd cmd[CONV_MAX_VCPUS];
	uint8_t pad[4096 - CONV_MAX_VCPUS * sizeof(struct conv_cmd)];
	/* READ results: first and last word of each page, by global page index. */
	uint64_t val[CONV_MAX_VCPUS][CONV_MAX_PAGES][2];
};
_Static_assert(sizeof(struct conv_ctl) <= CONV_CTL_SIZE, "control slot");

/*
 * The value a writer stores in word w of global page g under `tag`: never 0 (so
 * a zeroed page shows), different for every writer, round, page and word.
 */
#define CONV_PAT(tag, g, w) \
	(0x434e000000000000ULL | ((uint64_t)(tag) << 32) | ((uint64_t)(g) << 1) | (uint64_t)(w))

PM_GUEST_CODE_BEGIN

static PM_GUEST void conv_guest_main(uint64_t v, uint64_t a1, uint64_t a2)
{
	struct conv_ctl *ctl = (struct conv_ctl *)CONV_CTL_GPA;

	(void)a1, (void)a2;
	for (;;) {
		volatile struct conv_cmd *c = &ctl->cmd[v];
		uint64_t op, gpa, n, tag, idx;

		GUEST_SYNC(CONV_STAGE_READY);
		op = c->op, gpa = c->gpa, n = c->npages, tag = c->tag, idx = c->idx;
		if (op == CONV_OP_DONE)
			return;
		GUEST_ASSERT(idx + n <= CONV_MAX_PAGES);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t *w0 = (uint64_t *)(gpa + i * CONV_PAGE);

			if (op == CONV_OP_WRITE) {
				pm_guest_write64(w0, CONV_PAT(tag, idx + i, 0));
				pm_guest_write64(w0 + CONV_LAST_WORD, CONV_PAT(tag, idx + i, 1));
			} else {
				pm_guest_write64(&ctl->val[v][idx + i][0], pm_guest_read64(w0));
				pm_guest_write64(&ctl->val[v][idx + i][1],
						 pm_guest_read64(w0 + CONV_LAST_WORD));
			}
		}
	}
}

PM_GUEST_CODE_END

/* One guest_memfd slot: GPA, guest_memfd offset, and the shared view. */
struct conv_region {
	uint64_t gpa, gmem_off, npages;
	uint64_t idx;		/* global index of its first page */
	uint64_t *host;		/* the slot's userspace_addr */
};

struct conv {
	const struct pm_platform *p;
	struct pm_vm *vm;
	int fd;
	uint64_t gmem_flags;		/* KVM_CREATE_GUEST_MEMFD flags (0 unless a test sets them) */
	struct conv_ctl *ctl;
	int n;
	struct pm_vcpu *vcpu[CONV_MAX_VCPUS];
	int nreg;
	struct conv_region reg[CONV_MAX_REGS];
	uint64_t pages;
	bool priv[CONV_MAX_PAGES];	/* the attribute the host set, per global page */
	uint64_t round;
	uint64_t last_guest_tag;	/* what check_views left in every page's guest-written view */
	uint64_t last_host_tag;
};

/* Slot layout: the i-th slot binds [gmem_off, +size) at gpa. */
struct conv_slot {
	uint64_t gpa, gmem_off, size;
};

/*
 * Fixture variants: VM types whose conversions privmem can drive (the PRIVATE
 * attribute; the confidential ones report why they cannot run) and the guest's page
 * size over the slots (2M pages need 2M-aligned GPAs and sizes).
 */
#define CONV_VARIANT_FIELDS							\
	struct pm_need need;							\
	uint64_t guest_page;							\
	int vcpus		/* 0: 2 x online CPUs */

#define CONV_VARIANTS(fixture)							\
	FIXTURE_VARIANT_ADD(fixture, swprot_vm_4k) {				\
		.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_4K, .vcpus = 1 }; \
	FIXTURE_VARIANT_ADD(fixture, swprot_vm_2m) {				\
		.need = { "sw-protected", 0 }, .guest_page = PM_PAGE_2M, .vcpus = 1 }; \
	PM_CVM_VARIANTS(fixture, , 0, .guest_page = PM_PAGE_4K, .vcpus = 1)

static inline int conv_nr_vcpus(int want)
{
	long nproc = sysconf(_SC_NPROCESSORS_ONLN);
	int n = want ? want : 2 * (nproc > 0 ? (int)nproc : 1);

	return n > CONV_MAX_VCPUS ? CONV_MAX_VCPUS : n;
}

/* In FIXTURE_SETUP, before PM_SETUP_VM: the variant's VM type must offer the PRIVATE attribute. */
#define CONV_REQUIRE_PRIVATE_ATTR(need_ptr) do {					\
	const struct pm_platform *__p;							\
	long __attrs;									\
	PM_REQUIRE((need_ptr), __p);							\
	__attrs = pm_vm_cap(pm_caps(), __p->vm_type, PM_KVM_CAP_MEMORY_ATTRIBUTES);	\
	if (!(__attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE))					\
		SKIP(return, "KVM_CAP_MEMORY_ATTRIBUTES=0x%lx lacks PRIVATE on %s",	\
		     __attrs > 0 ? __attrs : 0, __p->name);				\
} while (0)

static inline uint64_t conv_word(const struct conv_region *r, uint64_t i, int w)
{
	return r->host[i * (CONV_PAGE / 8) + (w ? CONV_LAST_WORD : 0)];
}

static inline void conv_set_word(struct conv_region *r, uint64_t i, int w, uint64_t v)
{
	r->host[i * (CONV_PAGE / 8) + (w ? CONV_LAST_WORD : 0)] = v;
}

/* Run vCPU v through one command; it ends at its next ready sync. */
static inline void conv_cmd(struct __test_metadata *_metadata, struct conv *c, int v,
			    enum conv_op op, uint64_t gpa, uint64_t npages, uint64_t tag,
			    uint64_t idx)
{
	c->ctl->cmd[v] = (struct conv_cmd){ .op = op, .gpa = gpa, .npages = npages,
					    .tag = tag, .idx = idx };
	if (op == CONV_OP_DONE) {
		ASSERT_GUEST_DONE(c->vcpu[v]);
		return;
	}
	ASSERT_GUEST_SYNC(c->vcpu[v], CONV_STAGE_READY);
}

/*
 * Create the guest_memfd (gmem_size), bind the slots (userspace_addr: fresh
 * anonymous memory, the shared view), the mailbox slot, and n vCPUs parked at
 * their first ready sync. p and vm are set by PM_SETUP_VM.
 */
static inline void conv_setup(struct __test_metadata *_metadata, struct conv *c,
			      uint64_t gmem_size, const struct conv_slot *slots, int nslots,
			      uint64_t guest_page, int n)
{
	ASSERT_GE(CONV_MAX_REGS, nslots);
	ASSERT_GE(CONV_MAX_VCPUS, n);
	c->fd = pm_platform_private_mem(c->p, c->vm, gmem_size, c->gmem_flags);
	ASSERT_LE(0, c->fd);
	for (int i = 0; i < nslots; i++) {
		struct conv_region *r = &c->reg[i];

		ASSERT_EQ(0, pm_vm_add_memory(c->vm, PM_SLOT_FIRST_FREE + i, slots[i].gpa,
					      slots[i].size, NULL, c->fd, slots[i].gmem_off,
					      guest_page));
		*r = (struct conv_region){
			.gpa = slots[i].gpa, .gmem_off = slots[i].gmem_off,
			.npages = slots[i].size / CONV_PAGE, .idx = c->pages,
			.host = pm_gpa_to_hva(c->vm, slots[i].gpa, slots[i].size),
		};
		ASSERT_NE(NULL, r->host);
		c->pages += r->npages;
		c->nreg = i + 1;
	}
	ASSERT_GE(CONV_MAX_PAGES, c->pages);
	ASSERT_EQ(0, pm_vm_add_memory(c->vm, CONV_CTL_SLOT, CONV_CTL_GPA, CONV_CTL_SIZE,
				      NULL, -1, 0, PM_PAGE_4K));
	c->ctl = pm_gpa_to_hva(c->vm, CONV_CTL_GPA, CONV_CTL_SIZE);
	ASSERT_NE(NULL, c->ctl);
	for (int v = 0; v < n; v++) {
		c->vcpu[v] = pm_vcpu_add(c->vm, conv_guest_main, v, 0, 0);
		ASSERT_NE(NULL, c->vcpu[v]);
		c->n = v + 1;
		ASSERT_GUEST_SYNC(c->vcpu[v], CONV_STAGE_READY);
	}
}

static inline void conv_teardown(struct conv *c)
{
	pm_vm_free(c->vm);
	if (c->fd >= 0)
		close(c->fd);
}

/*
 * A fixture `name` with a struct conv (self->c) over a guest_memfd of gmem_size
 * bound by the `nslots` slots of the array `slots`; variants are added after it
 * (CONV_VARIANTS, or FIXTURE_VARIANT_ADD with CONV_VARIANT_FIELDS).
 */
#define CONV_FIXTURE(name, gmem_size, slots, nslots)				\
	FIXTURE(name) { struct conv c; };					\
	FIXTURE_VARIANT(name) { CONV_VARIANT_FIELDS; };				\
	FIXTURE_SETUP(name)							\
	{									\
		memset(&self->c, 0, sizeof(self->c));				\
		self->c.fd = -1;						\
		CONV_REQUIRE_PRIVATE_ATTR(&variant->need);			\
		PM_SETUP_VM(&variant->need, self->c.p, self->c.vm);		\
		conv_setup(_metadata, &self->c, (gmem_size), (slots), (nslots),	\
			   variant->guest_page, conv_nr_vcpus(variant->vcpus));	\
	}									\
	FIXTURE_TEARDOWN(name)							\
	{									\
		conv_teardown(&self->c);					\
	}

/* The region holding global page g. */
static inline const struct conv_region *conv_reg_of(const struct conv *c, uint64_t g)
{
	for (int i = 0; i < c->nreg; i++)
		if (g >= c->reg[i].idx && g < c->reg[i].idx + c->reg[i].npages)
			return &c->reg[i];
	return NULL;
}

static inline uint64_t conv_gpa_of(const struct conv *c, uint64_t g)
{
	const struct conv_region *r = conv_reg_of(c, g);

	return r ? r->gpa + (g - r->idx) * CONV_PAGE : 0;
}

/* Convert [gpa, gpa + size) and record the attribute of every page it covers. */
static inline void conv_convert(struct __test_metadata *_metadata, struct conv *c,
				uint64_t gpa, uint64_t size, bool to_private)
{
	int ret = pm_platform_convert(c->p, c->vm, gpa, size, to_private);

	if (ret)
		TH_LOG("convert [0x%llx, +0x%llx) to %s: %s", (unsigned long long)gpa,
		       (unsigned long long)size, to_private ? "private" : "shared", strerror(errno));
	ASSERT_EQ(0, ret);
	for (uint64_t g = 0; g < c->pages; g++) {
		uint64_t a = conv_gpa_of(c, g);

		if (a >= gpa && a < gpa + size)
			c->priv[g] = to_private;
	}
}

/* Convert global pages [first, first + count) (within one region). */
static inline void conv_convert_pages(struct __test_metadata *_metadata, struct conv *c,
				      uint64_t first, uint64_t count, bool to_private)
{
	conv_convert(_metadata, c, conv_gpa_of(c, first), count * CONV_PAGE, to_private);
}

/* Every vCPU (or vCPU v only, v >= 0) reads every page of every region into ctl->val. */
static inline void conv_guest_read_all(struct __test_metadata *_metadata, struct conv *c, int v)
{
	for (int u = v < 0 ? 0 : v; u < (v < 0 ? c->n : v + 1); u++)
		for (int i = 0; i < c->nreg; i++)
			conv_cmd(_metadata, c, u, CONV_OP_READ, c->reg[i].gpa, c->reg[i].npages,
				 0, c->reg[i].idx);
}

/*
 * The guest writes `tag` to every page of every region; with several vCPUs each
 * writes a contiguous share of each region, so pages differ in their writer.
 */
static inline void conv_guest_write_all(struct __test_metadata *_metadata, struct conv *c,
					uint64_t tag)
{
	for (int i = 0; i < c->nreg; i++) {
		const struct conv_region *r = &c->reg[i];
		uint64_t share = (r->npages + c->n - 1) / c->n;

		for (int v = 0; v < c->n; v++) {
			uint64_t first = v * share;

			if (first >= r->npages)
				break;
			conv_cmd(_metadata, c, v, CONV_OP_WRITE, r->gpa + first * CONV_PAGE,
				 first + share > r->npages ? r->npages - first : share, tag,
				 r->idx + first);
		}
	}
}

static inline void conv_host_write_all(struct conv *c, uint64_t tag)
{
	for (int i = 0; i < c->nreg; i++)
		for (uint64_t p = 0; p < c->reg[i].npages; p++)
			for (int w = 0; w < 2; w++)
				conv_set_word(&c->reg[i], p, w, CONV_PAT(tag, c->reg[i].idx + p, w));
}

/*
 * Compare what vCPU v read (ctl->val) or the host's shared view (v < 0) with
 * want_expr (of global page g_ and word w) for every page; log the first
 * mismatches with each page's attribute.
 */
#define CONV_EXPECT(c, v, want_expr, what) do {						\
	unsigned int __bad = 0;								\
	for (uint64_t g_ = 0; g_ < (c)->pages; g_++)					\
		for (int w = 0; w < 2; w++) {						\
			const struct conv_region *__r = conv_reg_of((c), g_);		\
			uint64_t __want = (want_expr);					\
			uint64_t __got = (v) < 0 ? conv_word(__r, g_ - __r->idx, w) :	\
						   (c)->ctl->val[(v) < 0 ? 0 : (v)][g_][w]; \
			if (__got == __want)						\
				continue;						\
			if (__bad++ < 8)						\
				TH_LOG("%s, %s: gpa 0x%llx (page %llu, %s) word %d: 0x%llx, want 0x%llx", \
				       (v) < 0 ? "host shared view" : "guest", (what),	\
				       (unsigned long long)conv_gpa_of((c), g_),		\
				       (unsigned long long)g_,				\
				       (c)->priv[g_] ? "private" : "shared", w,		\
				       (unsigned long long)__got, (unsigned long long)__want); \
		}									\
	if (__bad)									\
		TH_LOG("%s, %s: %u words differ", (v) < 0 ? "host shared view" : "guest", \
		       (what), __bad);							\
	ASSERT_EQ(0, __bad);								\
} while (0)

/*
 * Every page shows the view its attribute selects, both ways and on every vCPU:
 *  1. the host fills the shared view (tag A), the guest writes every page (tag G);
 *  2. the shared view holds G on shared pages and still A on private ones (the
 *     guest's private writes went to the guest_memfd);
 *  3. the host rewrites the shared view (tag B); every vCPU reads B on shared
 *     pages and its own G on private ones (host writes do not reach private pages).
 */
static inline void conv_check_views(struct __test_metadata *_metadata, struct conv *c)
{
	uint64_t a = 0x100 + 4 * ++c->round, g = a + 1, b = a + 2;

	conv_host_write_all(c, a);
	conv_guest_write_all(_metadata, c, g);
	CONV_EXPECT(c, -1, CONV_PAT(c->priv[g_] ? a : g, g_, w), "after guest writes");
	conv_host_write_all(c, b);
	conv_guest_read_all(_metadata, c, -1);
	for (int v = 0; v < c->n; v++)
		CONV_EXPECT(c, v, CONV_PAT(c->priv[g_] ? g : b, g_, w), "after host writes");
	c->last_guest_tag = g;
	c->last_host_tag = b;
}

#endif
