/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A platform is one way of keeping guest memory private, described by an ops
 * table (one file each in platforms/). Tests select platforms by name, as data;
 * nothing outside platforms/ branches on which platform it runs.
 */
#ifndef PRIVMEM_PLATFORM_H
#define PRIVMEM_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caps.h"
#include "vm.h"

struct pm_platform {
	const char *name;		/* "sw-default" */
	const char *summary;
	unsigned long vm_type;
	const char *kconfig;		/* option that enables it, named in absence reasons */

	/* true when usable here; otherwise why[] says what is missing. */
	bool (*detect)(const struct pm_caps *c, char *why, size_t len);

	/* VM lifecycle. launch: measurement/finalize where the platform has it. */
	struct pm_vm *(*create_vm)(const struct pm_platform *p);
	int (*launch)(struct pm_vm *vm);

	/* Private memory: an fd (guest_memfd, memfd_secret) and how a slot binds it. */
	int (*create_private_mem)(struct pm_vm *vm, uint64_t size, uint64_t flags);
	int (*bind_memslot)(struct pm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			    int fd, uint64_t offset, uint64_t page_size);
	/* Shared<->private conversion of a GPA range; errno EOPNOTSUPP where none exists. */
	int (*convert)(struct pm_vm *vm, uint64_t gpa, uint64_t size, bool to_private);

	/* Expected-behaviour hooks. */
	uint64_t (*gmem_flags)(const struct pm_caps *c, unsigned long vm_type);	/* valid create flags */
	bool host_can_map_private;	/* host mmap of private memory faults it in */
};

extern const struct pm_platform pm_platform_sw_default;
extern const struct pm_platform pm_platform_sw_protected;
extern const struct pm_platform pm_platform_secretmem;
extern const struct pm_platform pm_platform_tdx;
extern const struct pm_platform pm_platform_snp;
extern const struct pm_platform pm_platform_cca;
extern const struct pm_platform pm_platform_kvm_plain;

/* NULL-terminated, in report order. */
extern const struct pm_platform *const pm_platforms[];

const struct pm_platform *pm_platform_find(const char *name);
/* detect(), plus the platform's kconfig option in the reason when it is off. */
bool pm_platform_detect(const struct pm_platform *p, const struct pm_caps *c, char *why, size_t len);
/* The same with the process-wide caps. */
bool pm_platform_present(const struct pm_platform *p, char *why, size_t len);
/* Value of a recorded kconfig option ("y", "m", "n"), NULL if unknown. */
const char *pm_kconfig(const struct pm_caps *c, const char *option);

/*
 * What a test variant needs: a platform, and guest_memfd flags its VM type must
 * advertise in KVM_CAP_GUEST_MEMFD_FLAGS. pm_need_met() returns the platform, or
 * NULL with the reason (the SKIP message) in why.
 */
struct pm_need {
	const char *platform;
	uint64_t gmem_flags;
};

const struct pm_platform *pm_need_met(const struct pm_need *need, char *why, size_t len);

/* A known backend deviation (platforms/known.c): the backend, the rows.tsv id, why. */
struct pm_known {
	const char *kvm_module;
	const char *row;
	const char *reason;
	/*
	 * NULL: every kernel with this module. Else an fnmatch() glob on the release, for a
	 * stable series that lacks an upstream fix (the reason names the fix): when the series
	 * gets the backport the row XPASSes and the entry must go.
	 */
	const char *release;
};

/* Reason if this backend has a known deviation on behaviour `row` (a rows.tsv id), else NULL. */
const char *pm_known_deviation(const struct pm_caps *c, const char *row);
/* Every entry, terminated by { NULL }. */
const struct pm_known *pm_known_list(void);

/* Building blocks shared by the ops tables (platforms/common.c). */
struct pm_vm *pm_plat_create_vm(const struct pm_platform *p);
struct pm_vm *pm_plat_no_vm(const struct pm_platform *p);
int pm_plat_gmem_create(struct pm_vm *vm, uint64_t size, uint64_t flags);
int pm_plat_bind_gmem(struct pm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		      int fd, uint64_t offset, uint64_t page_size);
int pm_plat_convert_attributes(struct pm_vm *vm, uint64_t gpa, uint64_t size, bool to_private);
int pm_plat_no_convert(struct pm_vm *vm, uint64_t gpa, uint64_t size, bool to_private);
/* For platforms whose private memory backs no memslot: -1/EOPNOTSUPP. */
int pm_plat_no_bind(struct pm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		    int fd, uint64_t offset, uint64_t page_size);
uint64_t pm_plat_gmem_flags_from_cap(const struct pm_caps *c, unsigned long vm_type);
/* No guest_memfd creation flag is valid. */
uint64_t pm_plat_no_gmem_flags(const struct pm_caps *c, unsigned long vm_type);
/* Common detection: KVM usable, VM type advertised and creatable ... */
bool pm_plat_detect_vm_type(const struct pm_caps *c, unsigned long type, char *why, size_t len);
/* ... and guest_memfd on it. */
bool pm_plat_detect_gmem_vm_type(const struct pm_caps *c, unsigned long type,
				 char *why, size_t len);
bool pm_plat_detect_unlaunched(const struct pm_caps *c, unsigned long type,
			       char *why, size_t len);

#endif
