/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every platform, once, in report order. Everything that enumerates platforms is
 * derived from this list: the pm_platform_<ident> declarations, pm_platforms[]
 * (platforms/common.c) and the conformance variant sets (conformance/pm_test.h),
 * so adding a platform here adds its variants everywhere its family runs.
 *
 *   X(ident, name, prefix, gmem, ...)
 *
 * ident   C identifier: the ops table is pm_platform_<ident> (platforms/<ident>.c)
 * name    what a test names it by (struct pm_need.platform); equal to the ops table's .name
 * prefix  stem of its variants' names, <prefix>_vm...: the VM type as tests name it
 *         (KTAP test names and results depend on them: never rename one)
 * gmem    its guest_memfd family, which decides the variant sets it joins:
 *         sw   software VM types whose guest_memfd the host can map (MMAP, INIT_SHARED)
 *         cvm  confidential VM types: private memory in guest_memfd, protected by the
 *              hardware, a launch flow to run a guest
 *         no   no guest_memfd private memory: in no guest_memfd variant set
 *              (pkvm: protected memory is not guest_memfd-backed in 7.2; a
 *              guest_memfd-backed protected VM fails KVM_RUN with EIO)
 *
 * Arguments after X are passed to every X after these columns. A variant set pastes
 * the family onto its own selector (PM_FOO_##gmem) and defines one per family, empty
 * for a family not in the set: a new family value must be decided in every set.
 */
#ifndef PRIVMEM_PLATFORM_LIST_H
#define PRIVMEM_PLATFORM_LIST_H

#define PM_PLATFORM_LIST(X, ...)						\
	X(sw_default,	"sw-default",	default,	sw,	__VA_ARGS__)	\
	X(sw_protected,	"sw-protected",	swprot,		sw,	__VA_ARGS__)	\
	X(secretmem,	"secretmem",	secretmem,	no,	__VA_ARGS__)	\
	X(tdx,		"tdx",		tdx,		cvm,	__VA_ARGS__)	\
	X(snp,		"snp",		snp,		cvm,	__VA_ARGS__)	\
	X(cca,		"cca",		cca,		cvm,	__VA_ARGS__)	\
	X(kvm_plain,	"kvm",		default,	no,	__VA_ARGS__)	\
	X(pkvm,		"pkvm",		pkvm,		no,	__VA_ARGS__)

#endif
