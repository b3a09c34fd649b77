# cvm_boot --smoke sanity (values, not timing): jq -r -f bench/checks/cvm_boot.jq cvm_boot.json
# Prints one line per problem, nothing when the result is sane. (On a host without memory
# attributes the workload SKIPs and is not checked.)
def problem(cond; msg): if cond then "cvm_boot: " + msg else empty end;
def num: type == "number";
def metric($m): [.metrics[] | select(.metric == $m)];
# The four costs (bench/lib/pmb_costs.h): every key a number or "unavailable" with its reason.
def costs($lbl):
	. as $c |
	problem(($c | type) != "object"; "\($lbl): no costs object"),
	(($c // {}) | ["direct_map_level2_splits_per_gib", "direct_map_level3_splits_per_gib",
	  "tlb_ipis_per_mib", "tlb_flush_events_per_mib", "kvm_remote_tlb_flush_per_mib",
	  "retention_2m_host_pct", "retention_2m_kvm_pct", "bounce_bytes_per_mib",
	  "bounce_copy_ns_per_mib"][] as $k |
	  problem((.[$k] | num | not) and (.[$k] != "unavailable" or (.unavailable_why[$k] | type) != "string");
		  "\($lbl): cost \($k) is neither a number nor unavailable with a reason"),
	  problem((.[$k] | num) and .[$k] < 0; "\($lbl): cost \($k) is negative")),
	problem((($c // {}).workload_mib // 0) <= 0; "\($lbl): no workload MiB to normalise by");

. as $r |
(["boot", "accept", "convert_swiotlb", "convert_percpu", "convert_dma"][] as $m |
	problem(($r | metric($m) | length) != 1; "metric \($m) missing")),
problem((metric("boot")[0].core // false) != true; "boot is not the headline"),
(metric("boot")[0].counters // null | costs("boot")),
problem((.results.costs.boot // null) == null; "results.costs.boot missing"),
# The boot converts, it does not bounce I/O: bounce must be unavailable, never 0.
problem(.results.costs.boot.bounce_bytes_per_mib != "unavailable"; "bounce_bytes_per_mib should be unavailable in a boot"),
# The script is the kernel's: 2M accept units, a pool of at least one unit, 4K per-CPU pages.
problem(.config.boot.accept_unit != "2M"; "accept unit is not 2M"),
problem((.config.boot.swiotlb_mib // 0) < 2 or (.config.boot.swiotlb_mib % 2) != 0; "swiotlb pool is not whole 2M units"),
problem((.config.boot.mem_mib // 0) < (.config.boot.early_mib // 0); "early memory larger than the guest"),
# Conversions: the per-CPU ones are 4K, the pool's is swiotlb_mib, and the table holds them all.
problem((.config.platform // "") != "sw-protected" and (.config.dry_run != true);
	"ran on \(.config.platform) without saying dry_run"),
(["cvm_boot-phases.csv", "cvm_boot-convert.csv"][] as $t |
	problem((($r.tables // []) | index($t)) == null; "table \($t) missing"))
