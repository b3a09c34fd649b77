// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "compat.h"

const char *const pm_cap_names[PM_NR_CAPS] = {
#define PM_CAP_NAME(name) [PM_##name] = #name,
	PM_CAP_LIST(PM_CAP_NAME)
#undef PM_CAP_NAME
};

static const long cap_numbers[PM_NR_CAPS] = {
#define PM_CAP_NUM(name) [PM_##name] = name,
	PM_CAP_LIST(PM_CAP_NUM)
#undef PM_CAP_NUM
};

static const char *const vm_type_names[PM_NR_VM_TYPES] = {
	"KVM_X86_DEFAULT_VM", "KVM_X86_SW_PROTECTED_VM", "KVM_X86_SEV_VM",
	"KVM_X86_SEV_ES_VM", "KVM_X86_SNP_VM", "KVM_X86_TDX_VM",
};

const char *const pm_kconfig_names[PM_NR_KCONFIG] = {
	"CONFIG_KVM", "CONFIG_KVM_INTEL", "CONFIG_KVM_AMD", "CONFIG_KVM_AMD_SEV",
	"CONFIG_INTEL_TDX_HOST", "CONFIG_KVM_SW_PROTECTED_VM", "CONFIG_KVM_PRIVATE_MEM",
	"CONFIG_KVM_GUEST_MEMFD", "CONFIG_SECRETMEM", "CONFIG_TRANSPARENT_HUGEPAGE",
	"CONFIG_HUGETLBFS", "CONFIG_NUMA", "CONFIG_USERFAULTFD", "CONFIG_FTRACE",
};

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static long meminfo(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");
	size_t klen = strlen(key);

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void probe_caps(int fd, long *out)
{
	for (int i = 0; i < PM_NR_CAPS; i++) {
		int r = ioctl(fd, KVM_CHECK_EXTENSION, cap_numbers[i]);

		out[i] = r < 0 ? -errno : r;
	}
}

static void probe_kvm_module(struct pm_caps *c)
{
	static const char *const mods[] = { "kvm_intel", "kvm_amd", "kvm_pvm", "kvm_arm", NULL };
	char path[96];
	struct stat st;

	snprintf(c->kvm_module, sizeof(c->kvm_module), "%s", "unknown");
	for (int i = 0; mods[i]; i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (!stat(path, &st)) {
			snprintf(c->kvm_module, sizeof(c->kvm_module), "%s", mods[i]);
			return;
		}
	}
}

/* Create a VM of v->type: whether it can be, and its per-VM capabilities. */
static void probe_vm_type(int kvm, struct pm_vm_type_caps *v)
{
	int vm;

	do
		vm = ioctl(kvm, KVM_CREATE_VM, v->type);
	while (vm < 0 && errno == EINTR);
	if (vm < 0) {
		v->create_errno = errno;
		return;
	}
	v->created = true;
	probe_caps(vm, v->cap);
	close(vm);
}

static void probe_kvm(struct pm_caps *c)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0) {
		snprintf(c->kvm_reason, sizeof(c->kvm_reason), "/dev/kvm: %s%s", strerror(errno),
			 errno == EACCES ? " (run as root or join the kvm group)" : "");
		return;
	}
	c->kvm = true;
	c->kvm_api_version = ioctl(kvm, KVM_GET_API_VERSION, 0);
	probe_kvm_module(c);
	probe_caps(kvm, c->cap);
	for (unsigned long t = 0; t < PM_NR_VM_TYPES; t++) {
		struct pm_vm_type_caps *v = &c->vm_types[t];

		v->type = t;
		v->name = vm_type_names[t];
		v->advertised = t == 0 || (c->cap[PM_KVM_CAP_VM_TYPES] > 0 &&
					   (c->cap[PM_KVM_CAP_VM_TYPES] & (1L << t)));
		/* The numbers are x86's: elsewhere the type word means something else (arm64: IPA bits). */
		if (t == 0 || !strcmp(c->uts.machine, "x86_64"))
			probe_vm_type(kvm, v);
	}
	if (!strcmp(c->uts.machine, "aarch64")) {
		c->arm_protected = (struct pm_vm_type_caps){
			.type = KVM_VM_TYPE_ARM_PROTECTED, .name = "KVM_VM_TYPE_ARM_PROTECTED",
			.advertised = true,	/* no capability advertises it: creating one tells */
		};
		probe_vm_type(kvm, &c->arm_protected);
	}
	close(kvm);
}

/* kvm-arm.mode=<mode> on the kernel command line, "" when absent (the default mode). */
static void probe_kvm_arm_mode(struct pm_caps *c)
{
	char line[1024] = "";
	const char *m;

	read_line("/proc/cmdline", line, sizeof(line));
	m = strstr(line, "kvm-arm.mode=");
	if (m)
		sscanf(m + strlen("kvm-arm.mode="), "%15[^ ]", c->kvm_arm_mode);
}

static void probe_secretmem(struct pm_caps *c)
{
#ifdef SYS_memfd_secret
	int fd = syscall(SYS_memfd_secret, 0);

	if (fd >= 0) {
		c->secretmem = true;
		close(fd);
		return;
	}
	snprintf(c->secretmem_reason, sizeof(c->secretmem_reason), "memfd_secret: %s%s",
		 strerror(errno), errno == ENOSYS ? " (CONFIG_SECRETMEM=n or secretmem.enable=0)" : "");
#else
	snprintf(c->secretmem_reason, sizeof(c->secretmem_reason), "memfd_secret: no syscall number for this architecture");
#endif
}

static void probe_system(struct pm_caps *c)
{
	char buf[256];
	DIR *d;
	struct dirent *de;
	FILE *f;

	uname(&c->uts);
	c->root = geteuid() == 0;
	c->nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	c->mem_kib = meminfo("MemTotal");
	read_line("/sys/kernel/mm/transparent_hugepage/enabled", c->thp_enabled, sizeof(c->thp_enabled));
	read_line("/sys/kernel/mm/transparent_hugepage/shmem_enabled", c->thp_shmem_enabled,
		  sizeof(c->thp_shmem_enabled));
	c->hugepage_kib = meminfo("Hugepagesize");
	c->hugepages_total = meminfo("HugePages_Total");
	c->hugepages_free = meminfo("HugePages_Free");
	d = opendir("/sys/devices/system/node");
	while (d && (de = readdir(d)))
		if (!strncmp(de->d_name, "node", 4) && de->d_name[4] >= '0' && de->d_name[4] <= '9')
			c->numa_nodes++;
	if (d)
		closedir(d);
	f = fopen("/proc/mounts", "r");
	while (f && fgets(buf, sizeof(buf), f)) {
		char dev[64], mnt[64], type[32];

		if (sscanf(buf, "%63s %63s %31s", dev, mnt, type) == 3 && !strcmp(type, "tracefs")) {
			snprintf(c->tracefs, sizeof(c->tracefs), "%s", mnt);
			break;
		}
	}
	if (f)
		fclose(f);
	f = popen("perf --version 2>/dev/null", "r");
	if (f) {
		if (fgets(c->perf_version, sizeof(c->perf_version), f)) {
			c->perf_version[strcspn(c->perf_version, "\n")] = '\0';
			c->perf = true;
		}
		pclose(f);
	}
	if (!access("/proc/config.gz", R_OK))
		snprintf(c->kconfig_source, sizeof(c->kconfig_source), "/proc/config.gz");
	else {
		snprintf(buf, sizeof(buf), "/boot/config-%s", c->uts.release);
		if (!access(buf, R_OK))
			snprintf(c->kconfig_source, sizeof(c->kconfig_source), "%.63s", buf);
	}
}

/* Options absent from a readable config are "n" (Kconfig writes "is not set" or omits them). */
static void probe_kconfig(struct pm_caps *c)
{
	size_t n = strlen(c->kconfig_source);
	bool gz = n > 3 && !strcmp(c->kconfig_source + n - 3, ".gz");
	char cmd[128], line[256];
	FILE *f;

	if (!n)
		return;
	/* A plain /boot/config is read as it is: busybox gzip (the lab) has no -f pass-through. */
	snprintf(cmd, sizeof(cmd), "gzip -dc %s 2>/dev/null", c->kconfig_source);
	f = gz ? popen(cmd, "r") : fopen(c->kconfig_source, "r");
	if (!f)
		return;
	for (int i = 0; i < PM_NR_KCONFIG; i++)
		snprintf(c->kconfig[i], sizeof(c->kconfig[i]), "n");
	while (fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '=');

		if (!eq || strncmp(line, "CONFIG_", 7))
			continue;
		*eq = '\0';
		eq[1 + strcspn(eq + 1, "\n")] = '\0';
		for (int i = 0; i < PM_NR_KCONFIG; i++)
			if (!strcmp(line, pm_kconfig_names[i]))
				snprintf(c->kconfig[i], sizeof(c->kconfig[i]), "%.15s", eq + 1);
	}
	if (gz)
		pclose(f);
	else
		fclose(f);
}

void pm_caps_probe(struct pm_caps *c)
{
	memset(c, 0, sizeof(*c));
	probe_system(c);
	probe_kconfig(c);
	probe_kvm(c);
	if (!strcmp(c->uts.machine, "aarch64"))
		probe_kvm_arm_mode(c);
	probe_secretmem(c);
}

const struct pm_caps *pm_caps(void)
{
	static struct pm_caps caps;
	static bool probed;

	if (!probed) {
		pm_caps_probe(&caps);
		probed = true;
	}
	return &caps;
}

bool pm_vm_type_supported(const struct pm_caps *c, unsigned long type)
{
	return c->kvm && type < PM_NR_VM_TYPES && c->vm_types[type].advertised &&
	       c->vm_types[type].created;
}

long pm_vm_cap(const struct pm_caps *c, unsigned long type, enum pm_cap_id id)
{
	if (!pm_vm_type_supported(c, type))
		return 0;
	return c->vm_types[type].cap[id] < 0 ? 0 : c->vm_types[type].cap[id];
}
