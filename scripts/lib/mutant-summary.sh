#!/bin/bash
# summary.md of a mutants run (scripts/mutants.sh): MUTANTS_JSON BASE_RUN_DIR.
# One row per mutant (verdict, the rows that caught it, the peers that did), then the figures
# the corpus is judged by: real deterministic bugs caught by privmem rows, by the peers, and
# the turnaround per mutant.
set -u
j=$1 base=$2
jq -r --arg base "$base" '
  def cell: if . == null or . == "" then "-" else . end;
  def pct(a; b): if b == 0 then "-" else "\((100 * a / b) | floor)%" end;
  .mutants as $m
  | ($m | map(select(.kind == "real" and .determinism == "deterministic" and .observable))) as $det
  | "# privmem mutants (\(.lane) lane)\n",
    "Pristine kernel: `\(.base_kernel)`: \(.base.pass) PASS, \(.base.fail) FAIL, \(.base.skip) SKIP, \(.base.xfail // 0) XFAIL. Whole run \(.seconds) s.\n",
    "| mutant | kind | area | determinism | verdict | privmem rows that FAILed | expected rows hit | peers that FAILed | build s | lab s |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ($m[] | "| \(.name) | \(.kind // "-") | \(.area // "-") | \(.determinism // "-") | **\(.verdict)**\(if .by then " (" + .by + ")" else "" end) | "
      + "\(if (.rows // []) | length > 0 then .rows | join(" ") elif (.splats // []) | length > 0 then "splat: " + (.splats[0].binary) + ": " + (.splats[0].line | .[0:100])
           elif .console then "console: " + .console else (.crashes // []) | join(" ") | cell end) | "
      + "\((.expected_hit // []) | length)/\((.expected_rows // []) | length) | "
      + "\(if .peers == null then "n/a" else (.peers.failed | join(" ") | cell) end) | \(.build_s // "-") | \(.lab_s // "-") |"),
    "",
    "- Real deterministic bugs that userspace can observe in this lab, caught by privmem: \($det | map(select(.verdict == "caught")) | length)/\($det | length) (\(pct($det | map(select(.verdict == "caught")) | length; $det | length)))",
    "- The same, caught by the upstream selftests of the same tree (peers): \($det | map(select(.peers.caught == true)) | length)/\($det | length)",
    "- Not observable here (the header says why; conformance/mutants/README.md): \($m | map(select(.observable | not) | .name) | join(", ") | if . == "" then "none" else . end)",
    "- Racy: \($m | map(select(.determinism == "racy")) | map("\(.name) \(.verdict)") | join(", ") | if . == "" then "none" else . end)",
    "- All mutants: \($m | map(select(.verdict == "caught")) | length) caught, \($m | map(select(.verdict == "crashed")) | length) crashed, \($m | map(select(.verdict == "missed")) | length) missed, \($m | map(select(.verdict == "unbuilt")) | length) unbuilt",
    "- Turnaround per mutant (build + boot + suite + peers): median \($m | map(select(.build_s)) | map(.build_s + .lab_s) | sort | if length == 0 then "-" else .[length / 2 | floor] end) s, max \($m | map(select(.build_s)) | map(.build_s + .lab_s) | max // "-") s"
' "$j"
