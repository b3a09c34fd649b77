// SPDX-License-Identifier: GPL-2.0
/*
 * Host counters read around an operation: /proc/vmstat, /proc/meminfo,
 * /proc/interrupts (TLB and CAL rows), and KVM binary stats.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "pmb_int.h"

static const char *const vmstat_keys[] = {
	"direct_map_level2_splits", "direct_map_level3_splits",
	"direct_map_level2_collapses", "direct_map_level3_collapses",
	"thp_fault_alloc", "thp_fault_fallback", "thp_file_alloc", "thp_file_fallback",
	"thp_file_mapped", "thp_split_page", "thp_split_pmd", "thp_collapse_alloc",
	"thp_deferred_split_page", "nr_tlb_remote_flush", "nr_tlb_remote_flush_received",
	"nr_tlb_local_flush_all", "nr_tlb_local_flush_one", "pgfault",
};

/* /proc/meminfo keys, recorded in KiB (HugePages_* are page counts). */
static const char *const meminfo_keys[] = {
	"DirectMap4k", "DirectMap2M", "DirectMap1G", "AnonHugePages", "ShmemHugePages",
	"ShmemPmdMapped", "FileHugePages", "HugePages_Total", "HugePages_Free", "MemFree",
};

static void put(struct pmb_snap *s, const char *key, long long v)
{
	for (int i = 0; i < s->n; i++) {
		if (!strcmp(s->key[i], key)) {
			s->val[i] = v;
			return;
		}
	}
}

static void read_keyed(struct pmb_snap *s, const char *path, const char *const *keys, int nkeys,
		       char sep)
{
	char line[256];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *e = strchr(line, sep);

		if (!e)
			continue;
		*e = '\0';
		for (int i = 0; i < nkeys; i++)
			if (!strcmp(line, keys[i]))
				put(s, keys[i], atoll(e + 1 + strspn(e + 1, " :")));
	}
	fclose(f);
}

/* Sum of a /proc/interrupts row over CPUs, e.g. "TLB:  123  456  TLB shootdowns". */
static void read_interrupts(struct pmb_snap *s)
{
	char line[4096];
	FILE *f = fopen("/proc/interrupts", "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + strspn(line, " ");
		const char *key = !strncmp(p, "TLB:", 4) ? "irq_TLB" :
				  !strncmp(p, "CAL:", 4) ? "irq_CAL" : NULL;
		long long sum = 0;

		if (!key)
			continue;
		p += 4;
		for (;;) {
			char *end;
			long long v = strtoll(p, &end, 10);

			if (end == p)
				break;
			sum += v;
			p = end;
		}
		put(s, key, sum);
	}
	fclose(f);
}

void pmb_snap(struct pmb_snap *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < sizeof(vmstat_keys) / sizeof(vmstat_keys[0]); i++)
		s->key[s->n++] = vmstat_keys[i];
	for (unsigned i = 0; i < sizeof(meminfo_keys) / sizeof(meminfo_keys[0]); i++)
		s->key[s->n++] = meminfo_keys[i];
	s->key[s->n++] = "irq_TLB";
	s->key[s->n++] = "irq_CAL";
	for (int i = 0; i < s->n; i++)
		s->val[i] = -1;
	read_keyed(s, "/proc/vmstat", vmstat_keys, sizeof(vmstat_keys) / sizeof(vmstat_keys[0]), ' ');
	read_keyed(s, "/proc/meminfo", meminfo_keys, sizeof(meminfo_keys) / sizeof(meminfo_keys[0]), ':');
	read_interrupts(s);
	s->t_ns = pmb_now_ns();
}

long long pmb_snap_get(const struct pmb_snap *s, const char *key)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->key[i], key))
			return s->val[i];
	return -1;
}

static const char *json_key(const char *key, char *buf, size_t len)
{
	/* meminfo sizes are KiB: say so in the key (HugePages_* are counts). */
	for (unsigned i = 0; i < sizeof(meminfo_keys) / sizeof(meminfo_keys[0]); i++)
		if (!strcmp(key, meminfo_keys[i]) && strncmp(key, "HugePages_", 10)) {
			snprintf(buf, len, "%s_kib", key);
			return buf;
		}
	return key;
}

json_t *pmb_snap_delta(const struct pmb_snap *a, const struct pmb_snap *b)
{
	json_t *o = json_object();
	char buf[64];

	for (int i = 0; i < a->n; i++)
		if (a->val[i] >= 0 && b->val[i] >= 0)
			json_object_set_new(o, json_key(a->key[i], buf, sizeof(buf)),
					    json_integer(b->val[i] - a->val[i]));
	json_object_set_new(o, "interval_s", json_real((b->t_ns - a->t_ns) / 1e9));
	return o;
}

json_t *pmb_snap_json(const struct pmb_snap *s)
{
	json_t *o = json_object();
	char buf[64];

	for (int i = 0; i < s->n; i++)
		if (s->val[i] >= 0)
			json_object_set_new(o, json_key(s->key[i], buf, sizeof(buf)), json_integer(s->val[i]));
	return o;
}

bool pmb_counter_require(struct pmb *b, json_t *counters, const char *key, const char *why)
{
	static char noted[32][64];
	json_t *v = json_object_get(counters, key), *u;
	int i;

	if (json_is_integer(v) && json_integer_value(v) != 0)
		return true;
	if (json_is_real(v) && json_real_value(v) != 0)
		return true;
	json_object_set_new(counters, key, json_string("unavailable"));
	u = json_object_get(counters, "unavailable_why");
	if (!u)
		json_object_set_new(counters, "unavailable_why", u = json_object());
	json_object_set_new(u, key, json_string(why));
	/* Many configurations lose the same counter: one note per key is enough. */
	for (i = 0; i < 32 && noted[i][0]; i++)
		if (!strcmp(noted[i], key))
			return false;
	if (i < 32)
		snprintf(noted[i], sizeof(noted[i]), "%s", key);
	pmb_note(b, "counter %s unavailable: %s", key, why);
	return false;
}

/* ---- KVM binary stats ---------------------------------------------------------------- */

struct pmb_kvm_stats {
	int fd;
	struct kvm_stats_header hdr;
	char *descs;	/* hdr.num_desc descriptors of desc_size bytes */
	size_t desc_size;
};

struct pmb_kvm_stats *pmb_kvm_stats_open(int vm_or_vcpu_fd)
{
	struct pmb_kvm_stats *s = calloc(1, sizeof(*s));
	size_t len;

	if (!s)
		return NULL;
	s->fd = ioctl(vm_or_vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0)
		goto fail;
	if (pread(s->fd, &s->hdr, sizeof(s->hdr), 0) != sizeof(s->hdr))
		goto fail;
	s->desc_size = sizeof(struct kvm_stats_desc) + s->hdr.name_size;
	len = s->desc_size * s->hdr.num_desc;
	s->descs = malloc(len);
	if (!s->descs || pread(s->fd, s->descs, len, s->hdr.desc_offset) != (ssize_t)len)
		goto fail;
	return s;
fail:
	pmb_kvm_stats_close(s);
	return NULL;
}

int pmb_kvm_stat(struct pmb_kvm_stats *s, const char *name, uint64_t *val)
{
	for (uint32_t i = 0; s && i < s->hdr.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(s->descs + i * s->desc_size);

		if (strcmp(d->name, name))
			continue;
		if (pread(s->fd, val, sizeof(*val), s->hdr.data_offset + d->offset) != sizeof(*val))
			return -1;
		return 0;
	}
	errno = ENOENT;
	return -1;
}

void pmb_kvm_stats_close(struct pmb_kvm_stats *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->descs);
	free(s);
}
