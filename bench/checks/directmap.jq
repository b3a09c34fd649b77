# directmap --smoke sanity (values, not timing). Prints one line per problem.
def problem(cond; msg): if cond then msg else empty end;
def num: type == "number";
# A counter: a number, or "unavailable" with its reason in the same object.
def counter($o; $k; $what):
	if ($o[$k] | num) then empty
	elif $o[$k] == "unavailable" and ($o.unavailable_why[$k] | type) == "string" then empty
	else "\($what): counter \($k) is neither a number nor unavailable with a reason" end;
def phase_name: "\(.params.mem) chunk \(.params.chunk) \(.params.free_order)";

[.metrics[] | select(.metric == "alloc_touch")] as $alloc |
[.metrics[] | select(.metric == "free")] as $free |
[.metrics[] | select(.metric == "kcopy")] as $kcopy |
[$alloc[] | select(.params.mem != "gmem")] as $offdm |
[.notes[] | strings] as $notes |

# The irreversibility statement and the starting state are always recorded.
problem([$notes[] | select(startswith("IRREVERSIBLE UNTIL REBOOT"))] | length != 1;
	"no note states that the splits are irreversible until reboot"),
problem([$notes[] | select(startswith("starting state: DirectMap4k"))] | length != 1;
	"no note records the starting direct-map state"),
problem((.config.budget_mib | num | not) or .config.budget_mib < 1 or .config.budget_mib > 1024;
	"config.budget_mib \(.config.budget_mib) is outside 1..1024"),
problem((.results.direct_map.at_start | type) != "object" or (.results.direct_map.at_end | type) != "object"
	or (.results.direct_map.over_run | type) != "object" or (.results.direct_map.collapsed_back | type) != "boolean";
	"results.direct_map lacks at_start, at_end, over_run or collapsed_back"),
problem((.results.kcopy_after_over_before | length) != ([.metrics[] | select(.metric == "kcopy" and .params.when == "after")] | length);
	"results.kcopy_after_over_before does not have one entry per kernel copy after the sweep"),

# Memory removed from the direct map ran, phase by phase (seq and random per chunk).
problem(($offdm | length) == 0; "no memfd_secret (or no-direct-map guest_memfd) phase ran"),
problem(($offdm | length) != ([$offdm[] | select(.params.free_order == "seq")] | length) * 2;
	"off-direct-map phases: seq and random free orders are not paired"),
problem(($free | length) != ($alloc | length); "\($alloc | length) alloc_touch metrics but \($free | length) free metrics"),
# The budget holds: all off-direct-map memory of the sweep fits budget_mib.
problem(([$offdm[] | .counters.mib_allocated] | add // 0) > .config.budget_mib + 1e-6;
	"the sweep allocated \([$offdm[] | .counters.mib_allocated] | add) MiB, over budget_mib \(.config.budget_mib)"),

# The no-direct-map guest_memfd flag: it ran, or a note says why not.
problem(([$alloc[] | select(.params.mem == "gmem_nodirectmap")] | length) == 0 and
	([$notes[] | select(startswith("skipped: guest_memfd without direct map: "))] | length) == 0;
	"guest_memfd without direct map neither ran nor was reported skipped"),
# The control ran, or a note says why not.
problem(([$alloc[] | select(.params.mem == "gmem")] | length) == 0 and
	([$notes[] | select(startswith("skipped: guest_memfd control"))] | length) == 0;
	"the guest_memfd control neither ran nor was reported skipped"),

($alloc[] | . as $m | phase_name as $l |
	problem(.counters == null; "\($l): no counters"),
	(.counters // {} |
		counter(.; "direct_map_level2_splits"; $l),
		counter(.; "direct_map_level3_splits"; $l),
		counter(.; "direct_map_level2_collapses"; $l),
		counter(.; "DirectMap4k_kib_during_alloc"; $l),
		problem((.mib_allocated | num | not) or .mib_allocated <= 0; "\($l): mib_allocated not positive"),
		problem((.samples_incl_warmup | num | not) or .samples_incl_warmup != $m.stats.n + $m.warmup;
			"\($l): samples_incl_warmup \(.samples_incl_warmup) != reps + warm-up"),
		# Splits are counters that can only grow.
		problem((.direct_map_level2_splits | num) and .direct_map_level2_splits < 0; "\($l): negative splits"),
		# Placement: the pages fell in at least one region (or pagemap gave no PFNs, and a note says so).
		problem(has("regions_2m_touched") and ((.regions_2m_touched | num | not) or .regions_2m_touched < 1);
			"\($l): regions_2m_touched not positive"),
		problem((has("regions_2m_touched") | not) and
			([$notes[] | select(startswith("unavailable: physical placement"))] | length) == 0;
			"\($l): no regions_2m_touched and no note why"))),

# The control keeps its pages in the direct map: any split there would be someone else's.
($alloc[] | select(.params.mem == "gmem") | phase_name as $l |
	problem((.counters.DirectMap4k_kib_during_alloc | num) and .counters.DirectMap4k_kib_during_alloc < 0;
		"\($l): DirectMap4k shrank during the control")),

# Kernel copy: each source measured before and after, old and new buffers, placement known or explained.
problem(([$kcopy[] | select(.params.source == "tmpfs")] | length) != 3;
	"tmpfs kernel copy: want before/old, after/old, after/new"),
(([$kcopy[] | .params.source] | unique[]) as $s |
	problem(([$kcopy[] | select(.params.source == $s and .params.when == "before")] | length) != 1;
		"kcopy \($s): not exactly one before measurement")),
($kcopy[] | select(.params.when == "after") | "kcopy \(.params.source) \(.params.buffer)" as $l |
	counter(.counters // {}; "pct_pages_in_regions_split_by_this_run"; $l),
	problem((.counters.pct_pages_in_regions_split_by_this_run | num) and
		(.counters.pct_pages_in_regions_split_by_this_run < 0 or .counters.pct_pages_in_regions_split_by_this_run > 100);
		"\($l): placement share out of 0..100")),
($kcopy[] | problem((.reference.name // "") != "memcpy_1thread"; "kcopy \(.params.source): reference is not memcpy_1thread")),
problem((.tables // []) | map(select(test("directmap-(splits|drift|kcopy)\\.csv"))) | length != 3;
	"tables splits, drift and kcopy not all written")
