# bounce_io --smoke sanity (values, not timing): jq -r -f bench/checks/bounce_io.jq bounce_io.json
# Prints one line per problem, nothing when the result is sane.
def problem(cond; msg): if cond then "bounce_io: " + msg else empty end;
def num: type == "number";
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
[.metrics[] | select(.metric == "bounce_write" or .metric == "bounce_read")] as $bounced |
problem(([.metrics[] | select(.metric == "bounce_write")] | length) == 0; "no bounce_write metric"),
problem(([.metrics[] | select(.core)] | length) != 1; "not exactly one headline metric"),
# Every bounced point has its direct twin and cost ratio, and its costs.
($bounced[] | (.metric | sub("^bounce_"; "")) as $d | .params.io as $io |
	problem(.unit != "GB/s"; "\(.metric) io=\($io): unit \(.unit), not GB/s"),
	problem((.reference.name // "" | startswith("memcpy_")) | not; "\(.metric) io=\($io): no memcpy reference"),
	(("direct_" + $d), ("cost_" + $d)) as $m |
	problem([$r.metrics[] | select(.metric == $m and .params.io == $io)] | length != 1; "\($m) io=\($io) missing")),
($bounced[] | "\(.metric | sub("^bounce_"; ""))/\(.params.io)" as $l | (.counters | costs($l)),
	# A bounced byte went through the pool: the guest's own count, one byte per payload byte.
	problem((.counters.bounce_bytes_per_mib | num | not) or (.counters.bounce_bytes_per_mib | . < 1048576 * 0.99 or . > 1048576 * 1.01);
		"\($l): bounce_bytes_per_mib \(.counters.bounce_bytes_per_mib) is not one byte per payload byte")),
problem((.results.costs | type) != "object" or (.results.costs | length) != ($bounced | length);
	"results.costs does not hold one entry per direction x I/O size"),
problem(((.tables // []) | index("bounce_io-throughput.csv")) == null; "table bounce_io-throughput.csv missing")
