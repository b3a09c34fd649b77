# Smoke check of a bounce result: jq -r -f bench/checks/bounce.jq bounce.json
# Prints one line per problem, nothing when the result is sane (schema and sanity, not timing).
def metrics($name): [.metrics[] | select(.metric == $name)];
def problem($msg): "bounce: " + $msg;
def fio_skipped: any(.notes[]; startswith("skipped: fio variant"));

. as $r
| [
    # The model's geometry is swiotlb's.
    (if .config.model.slot_bytes != 2048 or .config.model.segment_slots != 128
        or .config.model.max_mapping_bytes != 262144
     then problem("model geometry is not 2 KiB slots x 128-slot segments (256 KiB mappings)") else empty end),
    (if (.config.model.configs | length) == 0 then problem("no threads x areas configuration recorded") else empty end),

    # Every direction that was asked for has its four metrics, with sane values.
    (["write", "read"][] as $d
     | select(($d == "write" and ($r.config.sizes | length) > 0) or ($d == "read" and ($r.config.read_sizes | length) > 0))
     | ("bounce_" + $d, "direct_" + $d, "cost_" + $d, "floor_fraction_" + $d) as $m
     | ($r | metrics($m)) as $ms
     | if ($ms | length) == 0 then problem("metric \($m) missing")
       else
         ($ms[] | select((.stats.median > 0) | not) | problem("\($m) \(.params | tostring): median not > 0")),
         ($ms[] | select(.stats.n < 1) | problem("\($m) \(.params | tostring): no samples"))
       end),

    # Throughputs are read against the same-run memcpy reference, with a ratio.
    ((metrics("bounce_write") + metrics("bounce_read") + metrics("direct_write") + metrics("direct_read"))[]
     | select(((.reference.name // "") | startswith("memcpy_") | not) or (((.reference.ratio // 0) > 0) | not))
     | problem("\(.metric) \(.params | tostring): no memcpy reference or ratio")),

    # Each bounced point carries its model counters; copies per byte is 2 or 3.
    ((metrics("bounce_write") + metrics("bounce_read"))[]
     | select((.model.map_retries_pool_full | type) != "number" or (.model.slots_used_hiwater_sum_of_areas // 0) <= 0
              or (.model.bytes_per_thread_per_path // 0) <= 0)
     | problem("\(.metric) \(.params | tostring): model counters missing or zero (slots must have been used)")),
    ((metrics("bounce_write") + metrics("bounce_read"))[]
     | select(.params.copies != "2" and .params.copies != "3")
     | problem("\(.metric): copies \(.params.copies) is not 2 or 3")),
    (metrics("floor_fraction_write")[] | select((.params.floor // "") | startswith("memcpy_") | not)
     | problem("floor_fraction_write \(.params | tostring): floor reference not named")),

    # Plot tables.
    (("bounce-write.csv", "bounce-direct-write.csv", "bounce-floor-write.csv") as $t
     | select((($r.tables // []) | index($t)) == null) | problem("table \($t) missing")),

    # fio: results with fio's own figures, or a skip note saying why.
    (if fio_skipped then empty
     elif (metrics("fio_bw") | length) == 0 then problem("no fio_bw metric and no 'skipped: fio variant' note")
     else
       (metrics("fio_bw")[] | select((.fio.bw_bytes // 0) <= 0 or (.fio.iops // 0) <= 0 or (.stats.median > 0 | not))
        | problem("fio_bw \(.params | tostring): bw_bytes/iops/median not > 0")),
       ([metrics("fio_bw")[] | .params.buffer] | unique | select(. != ["malloc", "memfd"])
        | problem("fio_bw does not compare the malloc and memfd buffers")),
       (select((($r.tables // []) | index("bounce-fio.csv")) == null) | problem("table bounce-fio.csv missing"))
     end),

    # Host swiotlb counters do not move here: the result must say so and claim none.
    (if any(.notes[]; startswith("not measured: swiotlb")) | not then problem("note on swiotlb counters missing") else empty end),
    ((.counters // {}) | keys[] | select(test("swiotlb")) | problem("claims a swiotlb counter (\(.)) on a host"))
  ]
| .[]
