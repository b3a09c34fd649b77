// SPDX-License-Identifier: GPL-2.0
/*
 * KVM binary statistics (api.rst 4.133 KVM_GET_STATS_FD) as a witness that
 * guest memory really got mapped. The x86 VM stats pages_4k/pages_2m/pages_1g
 * are instantaneous counts of leaf mappings in KVM's page tables, kept by both
 * MMUs (arch/x86/kvm/mmu/mmu.c __rmap_add / mmu_spte_clear_track_bits,
 * tdp_mmu.c handle_changed_spte -> kvm_update_page_stats). A 4K guest access
 * needs a leaf of some size covering it, and no leaf covers two 2M-aligned
 * regions unless it is 1G, which anonymous memory never gets (THP is PMD-sized):
 * touching one page in each of N distinct 2M regions adds at least N leaves.
 */
#include <sys/mman.h>

#include "memfault.h"

#define SLOT		PM_SLOT_FIRST_FREE
#define GPA		PM_TEST_GPA
#define NREGIONS	8ULL
#define SLOT_SIZE	(NREGIONS * PM_PAGE_2M)

struct stats {
	int fd;
	struct kvm_stats_header h;
	size_t dsz;		/* one descriptor plus its name */
	char *descs;
	char id[256];
};

static void stats_close(struct stats *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->descs);
	s->fd = -1;
	s->descs = NULL;
}

/* Header and descriptors, read once as api.rst describes (pread: the blocks may be anywhere). */
static int stats_open(int owner_fd, struct stats *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = ioctl(owner_fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0)
		return -1;
	if (pread(s->fd, &s->h, sizeof(s->h), 0) != sizeof(s->h))
		return -1;
	if (s->h.name_size == 0 || s->h.name_size > 4096 || s->h.num_desc > 65536) {
		errno = EINVAL;
		return -1;
	}
	s->dsz = sizeof(struct kvm_stats_desc) + s->h.name_size;
	s->descs = calloc(s->h.num_desc, s->dsz);
	if (!s->descs)
		return -1;
	if (pread(s->fd, s->descs, s->h.num_desc * s->dsz, s->h.desc_offset) !=
	    (ssize_t)(s->h.num_desc * s->dsz))
		return -1;
	if (pread(s->fd, s->id, s->h.name_size < sizeof(s->id) ? s->h.name_size : sizeof(s->id) - 1,
		  s->h.id_offset) < 0)
		return -1;
	return 0;
}

static struct kvm_stats_desc *stats_desc(const struct stats *s, uint32_t i)
{
	return (struct kvm_stats_desc *)(s->descs + i * s->dsz);
}

static const struct kvm_stats_desc *stats_find(const struct stats *s, const char *name)
{
	for (uint32_t i = 0; i < s->h.num_desc; i++)
		if (!strncmp(stats_desc(s, i)->name, name, s->h.name_size))
			return stats_desc(s, i);
	return NULL;
}

/* The first value of a stat; false if it could not be read. */
static bool stats_read(const struct stats *s, const struct kvm_stats_desc *d, uint64_t *v)
{
	return pread(s->fd, v, sizeof(*v), s->h.data_offset + d->offset) == sizeof(*v);
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/*
 * The layout rules of api.rst 4.133, as upstream kvm_binary_stats_test.c also
 * reads them. Returns NULL if valid, else what is wrong.
 */
static const char *stats_invalid(const struct stats *s, char *why, size_t len)
{
	const struct kvm_stats_header *h = &s->h;
	uint64_t data_size = 0, desc_size = (uint64_t)h->num_desc * s->dsz;
	uint64_t *data;
	ssize_t got;

	/* "The flags field is not used at the moment. It is always read as 0." */
	if (h->flags)
		return snprintf(why, len, "header flags 0x%x", h->flags), why;
	/* Every block "aligned to 64 bit offsets in the file". */
	if (h->id_offset % 8 || h->desc_offset % 8 || h->data_offset % 8)
		return snprintf(why, len, "block offsets id %u desc %u data %u not 8-aligned",
				h->id_offset, h->desc_offset, h->data_offset), why;
	/* The id string identifies the fd: NUL-terminated within name_size ("kvm-<pid>[/vcpu-N]"). */
	if (strnlen(s->id, h->name_size) >= h->name_size || strncmp(s->id, "kvm", 3))
		return snprintf(why, len, "id string '%.*s'", (int)h->name_size, s->id), why;
	for (uint32_t i = 0; i < h->num_desc; i++) {
		const struct kvm_stats_desc *d = stats_desc(s, i);
		uint32_t type = d->flags & KVM_STATS_TYPE_MASK, unit = d->flags & KVM_STATS_UNIT_MASK;
		uint32_t base = d->flags & KVM_STATS_BASE_MASK;
		bool hist = type == KVM_STATS_TYPE_LINEAR_HIST || type == KVM_STATS_TYPE_LOG_HIST;

		if (!d->name[0] || strnlen(d->name, h->name_size) >= h->name_size)
			return snprintf(why, len, "descriptor %u: name empty or not terminated", i), why;
		if (type > KVM_STATS_TYPE_MAX || unit > KVM_STATS_UNIT_MAX || base > KVM_STATS_BASE_MAX)
			return snprintf(why, len, "%s: flags 0x%x (type/unit/base out of range)",
					d->name, d->flags), why;
		/* Scale: counters, bytes, cycles >= 0; seconds <= 0; booleans exactly 0. */
		if (((unit == KVM_STATS_UNIT_NONE || unit == KVM_STATS_UNIT_BYTES ||
		      unit == KVM_STATS_UNIT_CYCLES) && d->exponent < 0) ||
		    (unit == KVM_STATS_UNIT_SECONDS && d->exponent > 0) ||
		    (unit == KVM_STATS_UNIT_BOOLEAN && d->exponent != 0))
			return snprintf(why, len, "%s: exponent %d for unit 0x%x", d->name,
					d->exponent, unit), why;
		/* "The corresponding size field for this type is always 1" (non-histograms). */
		if (d->size == 0 || (!hist && d->size != 1))
			return snprintf(why, len, "%s: size %u for type %u", d->name, d->size, type), why;
		/* bucket_size "is only used by linear histogram statistics data". */
		if ((type == KVM_STATS_TYPE_LINEAR_HIST) != (d->bucket_size != 0))
			return snprintf(why, len, "%s: bucket_size %u for type %u", d->name,
					d->bucket_size, type), why;
		if (d->offset % 8)
			return snprintf(why, len, "%s: data offset %u", d->name, d->offset), why;
		for (uint32_t j = 0; j < i; j++)
			if (!strncmp(stats_desc(s, j)->name, d->name, h->name_size))
				return snprintf(why, len, "%s: described twice", d->name), why;
		if (d->offset + d->size * 8ULL > data_size)
			data_size = d->offset + d->size * 8ULL;
	}
	/* Blocks "do not overlap", and none overlaps the header. */
	if (overlap(0, sizeof(*h), h->id_offset, h->name_size) ||
	    overlap(0, sizeof(*h), h->desc_offset, desc_size) ||
	    overlap(0, sizeof(*h), h->data_offset, data_size) ||
	    overlap(h->id_offset, h->name_size, h->desc_offset, desc_size) ||
	    overlap(h->id_offset, h->name_size, h->data_offset, data_size) ||
	    overlap(h->desc_offset, desc_size, h->data_offset, data_size))
		return snprintf(why, len, "blocks overlap: id %u+%u desc %u+%llu data %u+%llu",
				h->id_offset, h->name_size, h->desc_offset,
				(unsigned long long)desc_size, h->data_offset,
				(unsigned long long)data_size), why;
	data = malloc(data_size ? data_size : 1);
	if (!data)
		return snprintf(why, len, "out of memory"), why;
	got = pread(s->fd, data, data_size, h->data_offset);
	free(data);
	if (got != (ssize_t)data_size)
		return snprintf(why, len, "data block: read %zd of %llu bytes", got,
				(unsigned long long)data_size), why;
	return NULL;
}

/* A descriptor's flags/exponent/size as x86.c declares it (STATS_DESC_ICOUNTER / _COUNTER). */
static const char *stats_declared_as(const struct stats *s, const char *name, uint32_t flags,
				     char *why, size_t len)
{
	const struct kvm_stats_desc *d = stats_find(s, name);

	if (!d || (d->flags == flags && d->exponent == 0 && d->size == 1))
		return NULL;
	snprintf(why, len, "%s: flags 0x%x exponent %d size %u, declared flags 0x%x exponent 0 size 1",
		 name, d->flags, d->exponent, d->size, flags);
	return why;
}

FIXTURE(kvmstats) {
	const struct pm_platform *p;
	struct pm_vm *vm;
	struct stats vms;
	int fd;			/* the private variant's guest_memfd */
};

/* private: the regions are guest_memfd memory set PRIVATE, so faults and pre-faults map gmem. */
FIXTURE_VARIANT(kvmstats) { struct pm_need need; bool private; };
FIXTURE_VARIANT_ADD(kvmstats, default_vm) { .need = { "kvm", 0 } };
FIXTURE_VARIANT_ADD(kvmstats, swprot_vm) { .need = { "sw-protected", 0 } };
FIXTURE_VARIANT_ADD(kvmstats, swprot_vm_private) { .need = { "sw-protected", 0 }, .private = true };

FIXTURE_SETUP(kvmstats)
{
	self->vms.fd = -1;
	self->fd = -1;
	PM_SETUP_VM(&variant->need, self->p, self->vm);
	self->vm->timeout_ms = 5000;
	if (pm_check_cap(self->vm->fd, KVM_CAP_BINARY_STATS_FD) <= 0)
		SKIP(return, "KVM_CAP_BINARY_STATS_FD=0");
	ASSERT_EQ(0, stats_open(self->vm->fd, &self->vms)) TH_LOG("VM stats: %s", strerror(errno));
}

FIXTURE_TEARDOWN(kvmstats)
{
	stats_close(&self->vms);
	pm_vm_free(self->vm);
	if (self->fd >= 0)
		close(self->fd);
}

static PM_GUEST void guest_sync3(uint64_t a0, uint64_t a1, uint64_t a2)
{
	(void)a0, (void)a1, (void)a2;
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	GUEST_SYNC(3);
}

/*
 * VM and vCPU stats fds obey api.rst 4.133's layout: header flags 0, 8-aligned
 * non-overlapping blocks, an id string "kvm...", descriptors with a known
 * type/unit/base, a scale that fits the unit, size 1 for non-histograms,
 * bucket_size only for linear histograms, unique names, a readable data block.
 * Where x86 declares them: pages_4k/2m/1g instantaneous counts, exits a
 * cumulative count (arch/x86/kvm/x86.c kvm_vm_stats_desc / kvm_vcpu_stats_desc).
 */
TEST_F(kvmstats, format_valid)
{
	const uint32_t icounter = KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10;
	const uint32_t counter = KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10;
	struct pm_vcpu *v = pm_vcpu_add(self->vm, guest_sync3, 0, 0, 0);
	struct stats cs;
	const char *bad;
	char why[256];

	ASSERT_NE(NULL, v);
	bad = stats_invalid(&self->vms, why, sizeof(why));
	ASSERT_EQ(NULL, bad) TH_LOG("VM stats '%s': %s", self->vms.id, bad);
	for (int i = 0; !bad && i < 3; i++)
		bad = stats_declared_as(&self->vms, (const char *[]){ "pages_4k", "pages_2m", "pages_1g" }[i],
					icounter, why, sizeof(why));
	ASSERT_EQ(NULL, bad) TH_LOG("VM stats: %s", bad);

	ASSERT_EQ(0, stats_open(v->fd, &cs)) TH_LOG("vCPU stats: %s", strerror(errno));
	bad = stats_invalid(&cs, why, sizeof(why));
	if (!bad)
		bad = stats_declared_as(&cs, "exits", counter, why, sizeof(why));
	stats_close(&cs);
	ASSERT_EQ(NULL, bad) TH_LOG("vCPU stats: %s", bad);
}

/*
 * Stats are live: every KVM_RUN that comes back with a guest exit went through
 * at least one VM-exit, each counted in the vCPU's cumulative "exits"
 * (x86.c vcpu_enter_guest: ++vcpu->stat.exits), so each read is at least one
 * more than the one before the run.
 */
TEST_F(kvmstats, vcpu_exits_count_runs)
{
	struct pm_vcpu *v = pm_vcpu_add(self->vm, guest_sync3, 0, 0, 0);
	const struct kvm_stats_desc *d;
	uint64_t before, after;
	struct stats cs;

	ASSERT_NE(NULL, v);
	ASSERT_EQ(0, stats_open(v->fd, &cs));
	d = stats_find(&cs, "exits");
	if (!d) {
		stats_close(&cs);
		SKIP(return, "vCPU stat 'exits' not exposed");
	}
	ASSERT_TRUE(stats_read(&cs, d, &before));
	for (int stage = 1; stage <= 3; stage++) {
		ASSERT_GUEST_SYNC(v, stage);
		ASSERT_TRUE(stats_read(&cs, d, &after));
		if (after <= before)
			TH_LOG("exits %llu before the run, %llu after it", (unsigned long long)before,
			       (unsigned long long)after);
		ASSERT_GT(after, before);
		before = after;
	}
	stats_close(&cs);
}

/* Sum of the leaf-mapping counts, and whether every one of them read 0. */
static bool leaf_count(const struct stats *s, uint64_t *sum, bool *all_zero)
{
	static const char *const names[] = { "pages_4k", "pages_2m", "pages_1g" };

	*sum = 0;
	*all_zero = true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct kvm_stats_desc *d = stats_find(s, names[i]);
		uint64_t v;

		if (!d)
			continue;
		if (!stats_read(s, d, &v))
			return false;
		*sum += v;
		*all_zero &= v == 0;
	}
	return true;
}

/* One 4K guest page at the start of each 2M region of a fresh slot. */
static PM_GUEST void guest_touch_regions(uint64_t gpa, uint64_t n, uint64_t a2)
{
	(void)a2;
	GUEST_SYNC(1);		/* code, stack and report page are mapped by now */
	for (uint64_t i = 0; i < n; i++)
		pm_guest_write64((void *)(gpa + i * PM_PAGE_2M), i + 1);
	GUEST_SYNC(2);
}

/* The regions' slot: anonymous memory, or (private variant) guest_memfd set PRIVATE. */
static int add_region_slot(const struct pm_platform *p, struct pm_vm *vm, bool private, int *fd)
{
	if (private) {
		*fd = pm_platform_private_mem(p, vm, SLOT_SIZE, 0);
		if (*fd < 0 || pm_vm_add_memory(vm, SLOT, GPA, SLOT_SIZE, NULL, *fd, 0, 0) ||
		    pm_platform_convert(p, vm, GPA, SLOT_SIZE, true))
			return -1;
	} else if (pm_vm_add_memory(vm, SLOT, GPA, SLOT_SIZE, NULL, -1, 0, 0)) {
		return -1;
	}
	for (uint64_t i = 0; i < NREGIONS; i++)
		if (pm_vm_map(vm, GPA + i * PM_PAGE_2M, MF_PAGE, PM_PAGE_4K))
			return -1;
	return 0;
}

/*
 * After the guest touched one page in each of NREGIONS 2M regions, the VM holds
 * at least NREGIONS more leaf mappings (pages_4k + pages_2m + pages_1g).
 */
TEST_F(kvmstats, pages_after_guest_faults)
{
	uint64_t before, after;
	bool zero_before, zero_after;
	struct pm_vcpu *v;

	if (!stats_find(&self->vms, "pages_4k"))
		SKIP(return, "VM stat 'pages_4k' not exposed (not x86?)");
	ASSERT_EQ(0, add_region_slot(self->p, self->vm, variant->private, &self->fd))
		TH_LOG("region slot: %s", strerror(errno));
	v = pm_vcpu_add(self->vm, guest_touch_regions, GPA, NREGIONS, 0);
	ASSERT_NE(NULL, v);
	ASSERT_GUEST_SYNC(v, 1);
	ASSERT_TRUE(leaf_count(&self->vms, &before, &zero_before));
	ASSERT_GUEST_SYNC(v, 2);
	ASSERT_TRUE(leaf_count(&self->vms, &after, &zero_after));
	MF_VERDICT(true, after >= before && after - before >= NREGIONS,
		   zero_before && zero_after,
		   "leaf mappings %llu before the guest touched %llu 2M regions, %llu after; want +%llu or more",
		   (unsigned long long)before, (unsigned long long)NREGIONS,
		   (unsigned long long)after, (unsigned long long)NREGIONS);
}

/*
 * KVM_PRE_FAULT_MEMORY of one page in each of NREGIONS 2M regions maps them
 * without running the guest (api.rst 4.143): at least NREGIONS more leaves.
 */
TEST_F(kvmstats, pages_after_prefault)
{
	uint64_t before, after;
	bool zero_before, zero_after;
	struct mf_prefault r;
	struct pm_vcpu *v;
	int cap;

	if (!stats_find(&self->vms, "pages_4k"))
		SKIP(return, "VM stat 'pages_4k' not exposed (not x86?)");
	cap = pm_check_cap(self->vm->fd, KVM_CAP_PRE_FAULT_MEMORY);
	if (cap <= 0)
		SKIP(return, "KVM_CAP_PRE_FAULT_MEMORY=%d on %s", cap, self->p->name);
	ASSERT_EQ(0, add_region_slot(self->p, self->vm, variant->private, &self->fd))
		TH_LOG("region slot: %s", strerror(errno));
	v = pm_vcpu_add(self->vm, guest_touch_regions, GPA, NREGIONS, 0);
	ASSERT_NE(NULL, v);
	ASSERT_TRUE(leaf_count(&self->vms, &before, &zero_before));
	for (uint64_t i = 0; i < NREGIONS; i++) {
		mf_prefault(v->fd, GPA + i * PM_PAGE_2M, MF_PAGE, 0, 0, &r);
		ASSERT_EQ(0, r.ret) TH_LOG("pre-fault of region %llu: %s", (unsigned long long)i,
					   strerrorname_np(r.err));
		ASSERT_EQ(0, r.size);
	}
	ASSERT_TRUE(leaf_count(&self->vms, &after, &zero_after));
	MF_VERDICT(true, after >= before && after - before >= NREGIONS,
		   zero_before && zero_after,
		   "leaf mappings %llu before pre-faulting %llu 2M regions, %llu after; want +%llu or more",
		   (unsigned long long)before, (unsigned long long)NREGIONS,
		   (unsigned long long)after, (unsigned long long)NREGIONS);
}

TEST_HARNESS_MAIN
