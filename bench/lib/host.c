// SPDX-License-Identifier: GPL-2.0
/* Host helpers several benchmarks need: CPU pinning, /proc/meminfo, hugetlb pages. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "pmb_int.h"

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

int pmb_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % pmb_nr_cpus(), &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

long pmb_meminfo(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = atol(line + kl + 1);
	if (f)
		fclose(f);
	return v;
}

int pmb_hugetlb_reserve(struct pmb *b, long need, char *why, size_t len)
{
	long free_now = pmb_meminfo("HugePages_Free");
	char cur[32], val[32];

	if (pmb_meminfo("Hugepagesize") != 2048) {
		snprintf(why, len, "the default hugetlb page size is %ld kB, not 2048",
			 pmb_meminfo("Hugepagesize"));
		return -1;
	}
	if (free_now >= need)
		return 0;
	if (pmb_knob_get(NR_HUGEPAGES, cur, sizeof(cur))) {
		snprintf(why, len, NR_HUGEPAGES " unreadable: %s", strerror(errno));
		return -1;
	}
	snprintf(val, sizeof(val), "%ld", atol(cur) + need - (free_now > 0 ? free_now : 0));
	if (pmb_knob_set(b, NR_HUGEPAGES, val)) {
		snprintf(why, len, "reserving %ld 2M pages (" NR_HUGEPAGES "=%s) failed: %s", need, val,
			 strerror(errno));
		return -1;
	}
	free_now = pmb_meminfo("HugePages_Free");
	if (free_now < need) {
		snprintf(why, len, "could not reserve %ld 2M hugetlb pages (%ld free)", need, free_now);
		return -1;
	}
	return 0;
}

long long pmb_process_faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return (long long)ru.ru_minflt + ru.ru_majflt;
}

int pmb_reps(const struct pmb *b)
{
	return b->reps;
}

int pmb_warmup(const struct pmb *b)
{
	return b->warmup;
}
