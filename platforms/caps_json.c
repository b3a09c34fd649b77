// SPDX-License-Identifier: GPL-2.0
/*
 * The capability probe as JSON (schema privmem-caps/1): the "caps" object of
 * privmem-caps --json and of every benchmark result. Kept out of libprivmem.a's
 * conformance build (conformance/privmem.mk) so in-tree kselftest builds need no
 * jansson.
 */
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "caps_json.h"
#include "platform.h"

static json_t *caps_object(const long *cap)
{
	json_t *o = json_object();

	for (int i = 0; i < PM_NR_CAPS; i++)
		json_object_set_new(o, pm_cap_names[i], json_integer(cap[i]));
	return o;
}

static json_t *str_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *pm_caps_json(const struct pm_caps *c)
{
	json_t *root = json_object(), *kvm = json_object(), *types = json_array();
	json_t *plats = json_array();
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	json_object_set_new(root, "schema", json_string("privmem-caps/1"));
	json_object_set_new(root, "kernel", json_pack("{s:s, s:s, s:s, s:o}",
		"release", c->uts.release, "version", c->uts.version, "machine", c->uts.machine,
		"config", str_or_null(c->kconfig_source)));
	if (c->kconfig[0][0]) {
		json_t *k = json_object();

		for (int i = 0; i < PM_NR_KCONFIG; i++)
			json_object_set_new(k, pm_kconfig_names[i], json_string(c->kconfig[i]));
		json_object_set_new(root, "kconfig", k);
	} else {
		json_object_set_new(root, "kconfig", json_null());
	}
	json_object_set_new(root, "host", json_pack("{s:s, s:i, s:I, s:b}",
		"hostname", host, "cpus", c->nr_cpus, "mem_kib", (json_int_t)c->mem_kib, "root", c->root));

	json_object_set_new(kvm, "available", json_boolean(c->kvm));
	json_object_set_new(kvm, "reason", str_or_null(c->kvm_reason));
	if (c->kvm) {
		json_object_set_new(kvm, "api_version", json_integer(c->kvm_api_version));
		json_object_set_new(kvm, "module", json_string(c->kvm_module));
		json_object_set_new(kvm, "caps", caps_object(c->cap));
		for (int t = 0; t < PM_NR_VM_TYPES; t++) {
			const struct pm_vm_type_caps *v = &c->vm_types[t];
			json_t *o = json_pack("{s:i, s:s, s:b, s:b}", "type", t, "name", v->name,
					      "advertised", v->advertised, "created", v->created);

			if (v->created)
				json_object_set_new(o, "caps", caps_object(v->cap));
			else
				json_object_set_new(o, "create_error", json_string(strerror(v->create_errno)));
			json_array_append_new(types, o);
		}
	}
	json_object_set_new(kvm, "vm_types", types);
	if (!strcmp(c->uts.machine, "aarch64")) {
		const struct pm_vm_type_caps *v = &c->arm_protected;
		json_t *o = json_pack("{s:b}", "created", v->created);

		if (v->created)
			json_object_set_new(o, "caps", caps_object(v->cap));
		else if (c->kvm)
			json_object_set_new(o, "create_error", json_string(strerror(v->create_errno)));
		json_object_set_new(kvm, "arm_protected", o);
		json_object_set_new(kvm, "arm_mode", json_string(c->kvm_arm_mode[0] ? c->kvm_arm_mode : "default"));
	}
	json_object_set_new(root, "kvm", kvm);

	json_object_set_new(root, "memfd_secret", json_pack("{s:b, s:o}", "available", c->secretmem,
		"reason", str_or_null(c->secretmem_reason)));
	json_object_set_new(root, "thp", json_pack("{s:s, s:s}", "enabled", c->thp_enabled,
		"shmem_enabled", c->thp_shmem_enabled));
	json_object_set_new(root, "hugetlb", json_pack("{s:I, s:I, s:I}",
		"page_kib", (json_int_t)c->hugepage_kib, "total", (json_int_t)c->hugepages_total,
		"free", (json_int_t)c->hugepages_free));
	json_object_set_new(root, "numa", json_pack("{s:i}", "nodes", c->numa_nodes));
	json_object_set_new(root, "tracefs", json_pack("{s:b, s:o}", "mounted", c->tracefs[0] != 0,
		"path", str_or_null(c->tracefs)));
	json_object_set_new(root, "perf", json_pack("{s:b, s:o}", "available", c->perf,
		"version", str_or_null(c->perf_version)));

	for (int i = 0; pm_platforms[i]; i++) {
		char why[256];
		bool present = pm_platform_detect(pm_platforms[i], c, why, sizeof(why));

		json_array_append_new(plats, json_pack("{s:s, s:s, s:s, s:o}",
			"name", pm_platforms[i]->name, "summary", pm_platforms[i]->summary,
			"status", present ? "present" : "absent", "reason", str_or_null(present ? "" : why)));
	}
	json_object_set_new(root, "platforms", plats);
	return root;
}

