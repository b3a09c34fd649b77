# balloon --smoke sanity (values, not timing): jq -r -f bench/checks/balloon.jq balloon.json
# Prints one line per problem, nothing when the result is sane.
def problem(cond; msg): if cond then "balloon: " + msg else empty end;
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
[.metrics[] | select(.metric == "churn")] as $churn |
problem(($churn | length) == 0; "no churn metric"),
problem(([$churn[] | select(.core)] | length) != 1; "not exactly one headline churn metric"),
($churn[] | "\(.params.backing)/\(.params.unit)" as $l |
	problem(.unit != "us/MiB"; "\($l): churn unit is \(.unit), not us/MiB"),
	(.counters | costs($l))),
# discard + refault per configuration, and each config's costs in results.costs.
($churn[] | .params as $p | ("discard", "refault") as $m |
	problem([$r.metrics[] | select(.metric == $m and .params == $p)] | length != 1;
		"\($p.backing)/\($p.unit): metric \($m) missing")),
problem((.results.costs | type) != "object" or (.results.costs | length) != ($churn | length);
	"results.costs does not hold one entry per configuration"),
(.results.costs // {} | to_entries[] | .key as $l | .value | costs($l),
	# Balloon churn moves no data through shared pages: bounce must say so, never 0.
	problem(.bounce_bytes_per_mib != "unavailable"; "\($l): bounce_bytes_per_mib should be unavailable (no bounce in a balloon)"),
	problem((.retention_2m_host_pct | num) and (.retention_2m_host_pct > 100); "\($l): retention above 100%")),
# anon THP discarded in whole 2M units is re-faulted as THPs; 4K discards split them.
(.results.costs["anon_thp/2m"] // null | select(. != null) |
	problem((.retention_2m_host_pct | num) and .retention_2m_host_pct < 50;
		"anon_thp/2m: 2M discards left only \(.retention_2m_host_pct)% 2M-backed")),
# The retention-over-rounds table.
problem(((.tables // []) | index("balloon-retention.csv")) == null; "table balloon-retention.csv missing")
