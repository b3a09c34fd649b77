// SPDX-License-Identifier: GPL-2.0
/*
 * Known deviations of KVM backends from upstream behaviour, as data, keyed by the
 * rows.tsv id of the behaviour (one name per behaviour, as everywhere else). A row
 * listed here reports XFAIL with the reason when the deviation is observed, and
 * XPASS (counted as a failure) once the backend behaves, so the list cannot go
 * stale silently; make check verifies every id is a row of conformance/rows.tsv.
 * Each entry says how it was observed.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

/* kvm_pvm faults MMAP guest_memfd (gmem-only) slots through userspace_addr. */
#define PVM_GMEM_VIA_HVA							\
	"kvm_pvm serves MMAP guest_memfd (gmem-only) slots from userspace_addr: the guest "	\
	"reads the userspace_addr data, not fresh guest_memfd pages, and a closed guest_memfd "	\
	"gives no fault (upstream 6.18 mmu.c __kvm_mmu_faultin_pfn -> kvm_mmu_faultin_pfn_gmem; " \
	"kvm_gmem_get_pfn -EFAULT -> KVM_EXIT_MEMORY_FAULT; observed 2026-11 on 6.18.44)"
#define PVM_PAGES_FROZEN							\
	"kvm_pvm exposes pages_4k/pages_2m/pages_1g but they stay 0 while the guest maps "	\
	"memory (upstream mmu.c __rmap_add / tdp_mmu.c kvm_update_page_stats count every leaf "	\
	"mapping; observed 2026-11 on 6.18.44, pf_taken/pf_fixed also stay 0)"

/*
 * 7.2.y and 7.3 pre-fault with a root that a concurrent slot deletion obsoleted and never
 * reload it (fixed upstream by 355323a4dc94, queued for 7.4, not in 7.3-rc7).
 */
#define PREFAULT_OBSOLETE_ROOT							\
	"this kernel lacks 355323a4dc94 \"KVM: x86/mmu: Reload MMU on *every* page pre-fault "	\
	"attempt/iteration\" (kvm-x86 mmu, linux-next 2026-09-15, for 7.4): "		\
	"kvm_arch_vcpu_pre_fault_memory() reloads the root once, the slot deletion's fast "	\
	"zap-all (KVM_X86_QUIRK_SLOT_ZAP_ALL, default VMs) then obsoletes it, and "		\
	"kvm_tdp_page_prefault() retries RET_PF_RETRY forever (slot gone: "			\
	"kvm_handle_noslot_fault -> RET_PF_CONTINUE, is_page_fault_stale() -> true) while "	\
	"holding kvm->srcu, so the deletion's synchronize_srcu() never returns; observed "	\
	"2026-12 on 7.2.13+deb14-amd64 and 7.3.0-rc7 (lab, kvm_amd: the pre-fault thread "	\
	"spins 100% in the kernel for 90 s, the sw-protected VM and a default VM with the "	\
	"quirk disabled pass)"

static const struct pm_known known[] = {
	{ "kvm_pvm", "mfault_gmem.guest_access_without_exit", PVM_GMEM_VIA_HVA, NULL },
	{ "kvm_pvm", "mfault_gmem.closed_gmem_fault_exit", PVM_GMEM_VIA_HVA, NULL },
	{ "kvm_pvm", "mfault_hva.unbacked_hva_efault",
	  "kvm_pvm exits KVM_EXIT_MMIO at the GPA when a memslot's userspace_addr has no usable "
	  "VMA (upstream kvm_main.c hva_to_pfn -> KVM_PFN_ERR_FAULT, mmu.c kvm_handle_error_pfn "
	  "-> KVM_RUN -1/EFAULT; observed 2026-11 on 6.18.44 with PROT_NONE, unmapped and "
	  "SIGBUS-ing userspace_addr)", NULL },
	{ "kvm_pvm", "mfault_hva.secretmem_hva_efault",
	  "kvm_pvm maps memfd_secret memory into the guest (the guest reads the host's secret); "
	  "upstream GUP refuses secretmem (mm/gup.c check_vma_flags), hva_to_pfn -> "
	  "KVM_PFN_ERR_FAULT, KVM_RUN -1/EFAULT; observed 2026-11 on 6.18.44", NULL },
	{ "kvm_pvm", "kvmstats.pages_after_guest_faults", PVM_PAGES_FROZEN, NULL },
	{ "kvm_pvm", "kvmstats.pages_after_prefault", PVM_PAGES_FROZEN, NULL },
	{ "kvm_pvm", "memslot_close.released_gmem_guest_access_efault",
	  "kvm_pvm serves gmem-only slots through userspace_addr, so a released guest_memfd goes "
	  "unnoticed and the unmapped userspace_addr exits KVM_EXIT_MMIO (upstream 6.18: "
	  "kvm_gmem_get_pfn() -EFAULT -> KVM_RUN -EFAULT + KVM_EXIT_MEMORY_FAULT; observed "
	  "2026-11 on 6.18.44)", NULL },
	{ "kvm_pvm", "cap_fault_info.advertised_exit_exact",
	  "kvm_pvm advertises KVM_CAP_MEMORY_FAULT_INFO=1 (and GUEST_MEMFD_FLAG_MMAP) but never "
	  "reports a memory fault: a gmem-only slot whose guest_memfd was closed is served from "
	  "userspace_addr (the guest reads that data, KVM_RUN returns 0) where upstream 6.18 "
	  "kvm_mmu_faultin_pfn_gmem -> kvm_gmem_get_pfn -EFAULT -> kvm_mmu_prepare_memory_fault_exit "
	  "gives KVM_RUN -1/EFAULT, KVM_EXIT_MEMORY_FAULT {0, gpa, 4096} (api.rst 7.34); "
	  "observed 2026-12 on 6.18.44", NULL },
	{ "kvm_pvm", "guest.gmem_only_slot_serves_guest_memfd",
	  "kvm_pvm faults MMAP guest_memfd memslots through userspace_addr, not guest_memfd "
	  "(upstream 6.18 serves them from guest_memfd; NULL userspace_addr gives KVM_EXIT_MMIO "
	  "here; observed 2026-11 on 6.18.44)", NULL },
	{ "kvm_pvm", "memslot_bind.offset_signed_overflow_einval",
	  "this host's guest_memfd binds guest_memfd_offset 2^63-PAGE + 2 pages on a 4-page file "
	  "(KVM_SET_USER_MEMORY_REGION2 -> 0): it lacks eba85fee7fc6 \"KVM: guest_memfd: Treat "
	  "memslot binding offset+size as unsigned values\" (v7.2; 6.12.114; CVE-2026-64283), whose "
	  "kvm_gmem_bind() summed them as loff_t; observed 2026-12 on 6.18.44", NULL },
	{ "kvm_amd", "memslot_race.prefault_vs_slot_delete",
	  "6.12.y lacks 3ccbf6f47098 \"KVM: x86/mmu: Return -EAGAIN if userspace deletes/moves "
	  "memslot during prefault\" (v6.18, never backported): kvm_tdp_map_page() retries RET_PF_RETRY on the KVM_MEMSLOT_INVALID slot "
	  "while holding kvm->srcu, so the deleting thread's synchronize_srcu() and the pre-fault "
	  "wait on each other until a signal; observed 2026-12 on 6.12.118 (lab, kvm_amd)",
	  "6.12.*" },
	{ "kvm_amd", "memslot_race.prefault_vs_slot_delete", PREFAULT_OBSOLETE_ROOT, "7.2.*" },
	{ "kvm_amd", "memslot_race.prefault_vs_slot_delete", PREFAULT_OBSOLETE_ROOT, "7.3.*" },
	{ NULL, NULL, NULL, NULL }
};

const struct pm_known *pm_known_list(void)
{
	return known;
}

const char *pm_known_deviation(const struct pm_caps *c, const char *row)
{
	const char *strict = getenv("PRIVMEM_STRICT");

	/* Strict mode (vendors, and make check's proof that these rows can fail). */
	if (strict && *strict && strcmp(strict, "0"))
		return NULL;
	for (const struct pm_known *k = known; k->row; k++)
		if (!strcmp(k->kvm_module, c->kvm_module) && !strcmp(k->row, row) &&
		    (!k->release || !fnmatch(k->release, c->uts.release, 0)))
			return k->reason;
	return NULL;
}
