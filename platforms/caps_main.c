// SPDX-License-Identifier: GPL-2.0
/*
 * privmem-caps: print what this kernel advertises as a table, and write it as
 * JSON (the "caps" object every result file carries).
 *
 *   privmem-caps [--json FILE] [--quiet]
 *   privmem-caps --known     the known backend deviations (platforms/known.c):
 *                            "backend<TAB>row id<TAB>reason" lines
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps_json.h"
#include "platform.h"

static void print_table(const struct pm_caps *c)
{
	printf("kernel      %s %s (%s)\n", c->uts.release, c->uts.machine,
	       c->kconfig_source[0] ? c->kconfig_source : "config not readable");
	printf("host        %d cpus, %ld MiB, %s, %d NUMA node(s)\n", c->nr_cpus, c->mem_kib / 1024,
	       c->root ? "root" : "not root", c->numa_nodes);
	if (!c->kvm) {
		printf("kvm         unavailable: %s\n", c->kvm_reason);
	} else {
		printf("kvm         API %d, module %s\n\n", c->kvm_api_version, c->kvm_module);
		printf("%-28s %10s", "capability", "/dev/kvm");
		for (int t = 0; t < PM_NR_VM_TYPES; t++)
			if (c->vm_types[t].created)
				printf(" %10s", c->vm_types[t].name + strlen("KVM_X86_"));
		printf("\n");
		for (int i = 0; i < PM_NR_CAPS; i++) {
			printf("%-28s %#10lx", pm_cap_names[i], c->cap[i]);
			for (int t = 0; t < PM_NR_VM_TYPES; t++)
				if (c->vm_types[t].created)
					printf(" %#10lx", c->vm_types[t].cap[i]);
			printf("\n");
		}
		printf("\nVM types    ");
		for (int t = 0; t < PM_NR_VM_TYPES; t++)
			printf("%s%s=%s", t ? ", " : "", c->vm_types[t].name + strlen("KVM_X86_"),
			       c->vm_types[t].created ? "yes" :
			       c->vm_types[t].advertised ? strerror(c->vm_types[t].create_errno) : "no");
		printf("\n");
		if (!strcmp(c->uts.machine, "aarch64"))
			printf("arm64       kvm-arm.mode=%s, KVM_VM_TYPE_ARM_PROTECTED=%s\n",
			       c->kvm_arm_mode[0] ? c->kvm_arm_mode : "default",
			       c->arm_protected.created ? "yes" : strerror(c->arm_protected.create_errno));
	}
	printf("secretmem   %s\n", c->secretmem ? "available" : c->secretmem_reason);
	printf("THP         enabled: %s; shmem: %s\n", c->thp_enabled, c->thp_shmem_enabled);
	printf("hugetlb     %ld kB pages, %ld total, %ld free\n", c->hugepage_kib, c->hugepages_total,
	       c->hugepages_free);
	printf("tracefs     %s\n", c->tracefs[0] ? c->tracefs : "not mounted");
	if (c->kconfig[0][0]) {
		printf("kconfig    ");
		for (int i = 0; i < PM_NR_KCONFIG; i++)
			printf(" %s=%s", pm_kconfig_names[i] + strlen("CONFIG_"), c->kconfig[i]);
		printf("\n");
	}
	printf("perf        %s\n\n", c->perf ? c->perf_version : "not installed");
	for (int i = 0; pm_platforms[i]; i++) {
		char why[256];
		bool present = pm_platform_detect(pm_platforms[i], c, why, sizeof(why));

		printf("platform %-13s %s%s%s\n", pm_platforms[i]->name, present ? "present" : "absent: ",
		       present ? "" : why, "");
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: privmem-caps [--json FILE] [--quiet]\n       privmem-caps --known\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "known", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *json_path = NULL;
	bool quiet = false;
	int o;

	while ((o = getopt_long(argc, argv, "j:qkh", opts, NULL)) != -1) {
		switch (o) {
		case 'j': json_path = optarg; break;
		case 'q': quiet = true; break;
		case 'k':
			for (const struct pm_known *k = pm_known_list(); k->row; k++)
				printf("%s\t%s\t%s\n", k->kvm_module, k->row, k->reason);
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "privmem-caps: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	const struct pm_caps *c = pm_caps();

	if (!quiet)
		print_table(c);
	if (json_path) {
		json_t *root = pm_caps_json(c);
		char tmp[4096];

		snprintf(tmp, sizeof(tmp), "%s.tmp", json_path);
		if (json_dump_file(root, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) || rename(tmp, json_path)) {
			fprintf(stderr, "privmem-caps: cannot write %s: %s\n", json_path, strerror(errno));
			unlink(tmp);
			json_decref(root);
			return 1;
		}
		json_decref(root);
		if (!quiet)
			printf("wrote %s\n", json_path);
	}
	return 0;
}
