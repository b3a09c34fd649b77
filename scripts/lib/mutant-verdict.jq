# One mutant's verdict (scripts/mutants.sh): its lab run against the pristine kernel's.
# Inputs (--arg/--argjson/--slurpfile): n, expected, det, obs, area, kind, commit, fix, lrc, crash,
# build, labs, run, base, mut, bpeers, mpeers. A test counts only if it did not already fail
# on the pristine kernel.
def bad: .status == "FAIL" or .status == "XPASS";
($base[0].tests | map(select(bad) | .id)) as $basefail
| (if ($mut | length) > 0 then $mut[0].tests | map(select(bad and (.id as $i | $basefail | index($i) | not)))
   else null end) as $new
| (if $new == null then [] else $new | map(select(.kind == "assert")) end) as $asserts
| (if $new == null then [] else $new | map(select(.kind == "splat")) end) as $splats
| (if $new == null then [] else $new | map(select(.kind == "crash" or .kind == "timeout" or .kind == "missing")) end) as $crashes
| ($asserts | map(.row // .id) | unique) as $rows
| ($expected | split(" ") | map(select(. != "" and . != "none"))) as $exp
| (($bpeers[0] // []) | map({key: .name, value: .verdict}) | from_entries) as $bp
| (($mpeers[0] // []) | map(select(.verdict != "pass" and ($bp[.name] // "pass") == "pass")) | map(.name)) as $peerhits
| {
    name: $n, kind: $kind, area: $area, commit: $commit, fix: $fix, determinism: $det,
    observable: ($obs | startswith("yes")), observable_note: $obs,
    verdict: (if $new == null then "crashed"
              elif ($asserts | length) > 0 or ($splats | length) > 0 then "caught"
              elif ($crashes | length) > 0 then "crashed" else "missed" end),
    by: (if $new == null then null elif ($asserts | length) > 0 then "assert"
         elif ($splats | length) > 0 then "splat" else null end),
    rows: $rows,
    expected_rows: $exp,
    expected_hit: ($exp | map(select(. as $e | $rows | index($e))) ),
    splats: ($splats | map({binary: "\(.collection)/\(.binary)", line: (.reason | split("\n") | map(select(. != ""))[0] // "")})),
    crashes: ($crashes | map("\(.id)[\(.kind)]")),
    other_failures: (if $new == null then [] else $new | map(select(.kind != "assert" and .kind != "splat"
                     and .kind != "crash" and .kind != "timeout" and .kind != "missing")) | map("\(.id)[\(.kind)]") end),
    console: (if $new == null then ($crash | if . == "" then "lab exit \($lrc), no panic line" else . end) else null end),
    peers: (if ($mpeers | length) > 0 then {failed: $peerhits, caught: (($peerhits | length) > 0)} else null end),
    summary: (if $new == null then null else $mut[0].summary end),
    build_s: $build, lab_s: $labs, run: $run
  }
