# fault_in --smoke sanity (values, not timing). Prints one line per problem.
def problem(cond; msg): if cond then msg else empty end;
def num: type == "number";
def pos: num and . > 0;
# A counter: a number, or "unavailable" with its reason in the same object.
def counter($o; $k; $what):
	if ($o[$k] | num) then empty
	elif $o[$k] == "unavailable" and ($o.unavailable_why[$k] | type) == "string" then empty
	else "\($what): counter \($k) is neither a number nor unavailable with a reason" end;
# A counter that must have moved: > 0, or "unavailable" with its reason.
def moved($o; $k; $what):
	if ($o[$k] | num) and $o[$k] > 0 then empty
	elif $o[$k] == "unavailable" and ($o.unavailable_why[$k] | type) == "string" then empty
	else "\($what): counter \($k) did not move and is not marked unavailable with a reason" end;
def key: "\(.params.backing)/\(.params.guest_page)/\(.params.vcpus) vCPUs";

[.metrics[] | select(.metric == "rate")] as $rates |
[.metrics[] | select(.metric == "ns_per_page") | key] as $ns |
[.metrics[] | select(.metric == "retouch_ns_per_page") | key] as $re |
[.metrics[] | select(.metric == "harness_time_ratio")] as $ovh |
[.metrics[] | select(.metric == "guest_fault_over_host_fault")] as $ph |
[.metrics[] | select(.metric == "guest_fault_over_guest_write") | .params.backing] as $pw |
[.metrics[] | select(.metric == "upstream_rate")] as $up |
(.config.vcpus // []) as $vcpus |
(([.notes[] | select(startswith("skipped: harness overhead"))] | length) > 0) as $no_ovh |

problem(($vcpus | length) < 1 or $vcpus[0] != 1; "config.vcpus must start with 1"),
problem(($rates | length) == 0; "no rate metric"),
problem(.references.fault_anon_4k.stats.median | pos | not; "no fault_anon_4k reference"),
((["configs", "cost", "net", "summary", "paired"] + (if $no_ovh then [] else ["overhead"] end))[] as $t |
	problem((.tables // []) | index("fault_in-\($t).csv") | not; "table fault_in-\($t).csv missing")),

# Every selected backing ran, or a note says why not.
((.config.backings // "" | split(",")) as $sel | ["gmem", "anon", "shmem", "thp", "hugetlb"][] as $b |
	select($sel | index($b)) |
	if ([$rates[] | select(.params.backing == $b)] | length) > 0 then empty
	else problem([.notes[] | select(startswith("skipped: \($b)"))] | length == 0;
		"\($b) did not run and no note says why") end),

($rates[] | key as $k | .counters as $c |
	problem(.reference.name != "fault_anon_4k" or (.reference.ratio | pos | not);
		"\($k): rate has no fault_anon_4k reference ratio"),
	problem($ns | index($k) | not; "\($k): no ns_per_page metric"),
	problem($re | index($k) | not; "\($k): no retouch_ns_per_page metric"),
	problem($c == null; "\($k): no counters"),
	($c // {} |
		problem(.pages_touched | pos | not; "\($k): pages_touched not positive"),
		problem(.host_faults_per_page | num | not; "\($k): no host_faults_per_page"),
		# guest_memfd can be faulted without any host mm fault (KVM allocates it directly).
		(if $k | startswith("gmem/") then empty else moved(.; "host_faults"; $k) end),
		counter(.; "kvm_exits"; $k), counter(.; "kvm_pf_fixed"; $k), counter(.; "kvm_pf_taken"; $k),
		counter(.; "kvm_pages_4k"; $k), counter(.; "kvm_pages_2m"; $k),
		(if $k | startswith("thp/") then moved(.; "thp_fault_alloc"; $k) else empty end))),

# Paired samples (4K guest pages, the largest vCPU count of --quick): one per backing that ran,
# the guest_memfd one core, each with its host first-touch stats.
([$rates[] | .params.backing] | unique[]) as $b |
	problem([$ph[] | select(.params.backing == $b)] | length != 1; "\($b): no guest_fault_over_host_fault metric"),
	problem($pw | index($b) | not; "\($b): no guest_fault_over_guest_write metric"),
($ph[] | key as $k |
	problem(.stats.median | pos | not; "\($k): guest_fault_over_host_fault not positive"),
	problem(.paired_with.stats.median | pos | not; "\($k): guest_fault_over_host_fault without its host first-touch stats"),
	problem((.what | type) != "string"; "\($k): guest_fault_over_host_fault without what")),
problem(([$rates[] | select(.params.backing == "gmem")] | length) > 0 and
	([$ph[] | select(.core == true)] | length) != 1; "gmem ran but no guest_fault_over_host_fault is core"),

# Harness overhead against the raw KVM_RUN loop, for every vCPU count that ran.
problem(($ovh | length) == 0 and ($no_ovh | not); "no harness_time_ratio metric and no note says why"),
($ovh[] | key as $k |
	problem(.overhead | num | not; "\($k): harness_time_ratio without overhead"),
	problem(.reference.name != "raw_kvm_run_loop" or (.reference.ratio | pos | not);
		"\($k): harness_time_ratio without its raw-loop reference")),
problem(([.metrics[] | select(.metric == "raw_rate")] | length) != ($ovh | length);
	"raw_rate and harness_time_ratio counts differ"),

# Upstream demand_paging_test: measured with its ratio, or a note says why not.
if ($up | length) > 0 then
	($up[] | problem(.privmem_over_upstream | pos | not; "\(key): upstream_rate without privmem_over_upstream"))
else
	problem([.notes[] | select(startswith("skipped: upstream demand_paging_test"))] | length == 0;
		"upstream demand_paging_test did not run and no note says why")
end
