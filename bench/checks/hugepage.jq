# hugepage --smoke sanity (values, not timing). Prints one line per problem.
def problem(cond; msg): if cond then msg else empty end;
def num: type == "number";
# A counter: a number, or "unavailable" with its reason in the same object.
def counter($o; $k; $what):
	if ($o[$k] | num) then empty
	elif $o[$k] == "unavailable" and ($o.unavailable_why[$k] | type) == "string" then empty
	else "\($what): counter \($k) is neither a number nor unavailable with a reason" end;

.results.sizing as $sz |
(.config.churn_fractions | length) as $nsteps |
[.metrics[] | select(.metric == "churn_refault")] as $churn |
[$churn[] | .params.backing] as $ran |

problem(($sz | type) != "object" or ($sz | length) == 0; "results.sizing missing or empty"),
problem($nsteps < 3 or .config.churn_fractions[0] != 0; "config.churn_fractions must start at 0 and have >= 3 steps"),
problem(($ran | length) == 0; "no churn_refault metric"),

# Every backing that ran has its sizing answer; every one that did not says why.
(["anon_thp", "shmem_thp", "hugetlb", "guest_memfd"][] as $b |
	if ($ran | index($b)) then
		problem($sz[$b] == null; "\($b): no sizing entry"),
		($sz[$b] // {} | ["below_90pct_at", "below_50pct_at"][] as $k |
			problem((.[$k] | num | not) and .[$k] != "not reached";
				"\($b): sizing \($k) is neither a fraction nor \"not reached\""))
	else
		problem([.notes[] | select(startswith("\($b) skipped: "))] | length == 0;
			"\($b) did not run and no note says why")
	end),

($churn[] | .params.backing as $b |
	# The curve: one point per step, from churn 0, retention within 0..100 %.
	problem((.retention_curve | length) != $nsteps; "\($b): retention_curve has \(.retention_curve | length) points, want \($nsteps)"),
	problem(.retention_curve[0].churn_fraction != 0; "\($b): retention_curve does not start at churn 0"),
	(.retention_curve[] | .backed_2m_pct as $r |
		problem(($r | num) and ($r < 0 or $r > 100); "\($b): retention \($r)% out of range")),
	# THP/hugetlb memory must start 2M-backed, else the curve measures nothing.
	problem(($b != "guest_memfd") and ((.retention_curve[0].backed_2m_pct // 0) <= 0);
		"\($b): not 2M-backed at churn 0"),
	problem($b == "hugetlb" and (.retention_curve[-1].backed_2m_pct // 0) < 100;
		"hugetlb: 4K punches should only zero, yet retention fell below 100%"),
	# Populating must have allocated THPs (or the counter says why it cannot tell).
	(if $b == "anon_thp" then counter(.counters; "thp_fault_alloc"; $b)
	 elif $b == "shmem_thp" then counter(.counters; "thp_file_alloc"; $b) else empty end),
	# The guest phase: skipped with a reason, or KVM's leaf counts (or why they are unavailable).
	problem(.guest == null; "\($b): no guest phase record"),
	(.guest // {} | if has("skipped") then problem((.skipped | type) != "string"; "\($b): guest skip without reason")
	 else
		(if $b != "hugetlb" and has("remote_tlb_flush_over_churn") then
			counter(.; "remote_tlb_flush_over_churn"; "\($b) guest"),
			problem(.remote_tlb_flush_over_churn == 0;
				"\($b) guest: no TLB flush over the host churn, not marked unavailable")
		 else empty end),
		((.after_guest_touch, .after_host_churn_and_guest_retouch) as $p |
			problem($p == null; "\($b): guest pass missing"),
			counter($p // {}; "pages_4k"; "\($b) guest"), counter($p // {}; "pages_2m"; "\($b) guest"),
			problem(([$p.pages_4k, $p.pages_2m, $p.pages_1g // 0] | all(num)) and
				($p.pages_4k + $p.pages_2m + ($p.pages_1g // 0)) == 0;
				"\($b) guest: KVM leaf counts all 0 after the guest touched its memory, not marked unavailable"))
	 end)),

# The per-repetition crossings are fractions of the pages churned.
(.metrics[] | select(.metric == "below_90pct_at" or .metric == "below_50pct_at") |
	problem(.stats.median > 1; "\(.metric) \(.params.backing): median \(.stats.median) is not a fraction"))
