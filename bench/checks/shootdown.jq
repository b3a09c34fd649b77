# Smoke check of shootdown.json: prints one line per problem, nothing when sane.
# Schema and sanity only, never timing.

def num: type == "number";
def pos: num and . > 0;
# A counter is a number >= 0, or "unavailable" with its reason in unavailable_why.
def counter_ok($c; $k):
  ($c[$k] | num and . >= 0) or
  ($c[$k] == "unavailable" and ($c.unavailable_why[$k] | type == "string" and length > 0));
def mlabel: "\(.metric) \(.params | tojson)";

. as $r
| ($r.metrics // []) as $m
| ([$m[] | select(.metric == "wis_tlb_flush")]) as $wis
| ([$m[] | select(.metric | IN("punch", "madvise", "munmap", "slot_delete", "punch_2m"))]) as $ops
| ([$r.notes[]? | select(startswith("skipped: guest-memory operations"))] | length > 0) as $vm_skipped
| (
    # same-run references
    (["shootdown_1page", "local_flush_1page"][] as $n
      | $r.references[$n] as $ref
      | if $ref == null then "reference \($n) missing"
        elif ($ref.stats.median | pos) or ($ref.unavailable | type == "string") then empty
        else "reference \($n): median not > 0 and not marked unavailable" end),

    # will-it-scale tlb_flush2 reference metric set
    (if ($wis | length) == 0 then "no wis_tlb_flush metric" else empty end),
    ($wis[] | select((.stats.median | pos | not) or (.counters.ops_per_s | pos | not))
      | "\(mlabel): median or ops_per_s not > 0"),
    ($wis[] | select(.params.threads != "1") | select(counter_ok(.counters; "tlb_ipis_per_op") | not)
      | "\(mlabel): tlb_ipis_per_op neither a count nor unavailable with a reason"),

    # guest-memory operations
    (if $vm_skipped then empty
     else
       (["punch", "madvise", "munmap", "slot_delete"][] as $op
         | if ([$ops[] | select(.metric == $op)] | length) == 0 then "no \($op) metric" else empty end),
       (if ([$ops[] | select(.core == true and .metric == "punch")] | length) != 1
        then "expected exactly one core punch metric" else empty end),
       ($ops[]
         | mlabel as $l
         | .counters as $c
         | (if .stats.median | pos then empty else "\($l): median not > 0" end),
           (if .latency == true then empty else "\($l): not marked as a latency" end),
           (if (.per_op.n | pos) and (.per_op.p10 | pos) and .per_op.p90 >= .per_op.p10
                and .per_op.p99 >= .per_op.p90
            then empty else "\($l): per_op distribution missing or not ordered" end),
           (if .reference.name | type == "string" then empty else "\($l): no reference" end),
           (if $c == null then "\($l): no counters"
            else
              (if $c.ops | pos then empty else "\($l): counters.ops not > 0" end),
              (["tlb_ipis_per_op", "cal_ipis_per_op", "kvm_remote_tlb_flush_per_op"][]
                | select($c[.] != null) | select(counter_ok($c; .) | not)
                | "\($l): counter \(.) neither a count nor unavailable with a reason"),
              (if $c.tlb_ipis_per_op == null then "\($l): tlb_ipis_per_op missing" else empty end),
              # a host thread of the mm spins on another CPU: the IPIs must have moved
              (if .params.host_touchers != "0" and .metric != "slot_delete"
                  and ($c.tlb_ipis_per_op | (num and . > 0) or . == "unavailable" | not)
               then "\($l): no TLB IPIs although a host toucher runs on another CPU" else empty end),
              # slot_delete waits for every vCPU to re-access every page: the guest ran
              (if .metric == "slot_delete" and .params.vcpus != "0"
                  and ($c.vcpu_min_passes | pos | not)
               then "\($l): the vCPUs made no progress" else empty end),
              (if $c.traced_raw == null then empty
               else $c.traced_raw | to_entries[]
                 | select((.value | num and . >= 0) or .value == "unavailable" | not)
                 | "\($l): traced \(.key) is \(.value)" end)
            end)
       )
     end)
  )
