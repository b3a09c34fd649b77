# Schema and sanity every benchmark result must meet (scripts/check.sh runs it on the
# --smoke results; each benchmark adds bench/checks/<name>.jq). Prints one line per
# problem, nothing when the result is sane. Not timing: values only need to exist and
# be valid.
def problem(cond; msg): if cond then msg else empty end;
def num: type == "number";

problem(.schema != "privmem-bench/1"; "schema is \(.schema), not privmem-bench/1"),
problem(.valid != true; "result is not valid"),
problem((.errors | length) > 0; "errors recorded: \(.errors | join("; "))"),
problem((.metrics | length) == 0; "no metric recorded"),
problem((.machine.caps.kernel.release | type) != "string"; "machine.caps lacks the kernel release"),
problem((.machine.tools.gcc | type) != "string"; "machine.tools lacks the compiler version"),
problem((.references | length) == 0; "no same-run physical reference recorded"),
(.references | to_entries[] |
	problem(.value.unavailable == null and ((.value.stats.median | num | not) or .value.stats.median <= 0);
		"reference \(.key) has no positive median")),
(.metrics[] |
	problem((.stats.n | num | not) or .stats.n < 1; "metric \(.metric) has no samples"),
	problem((.stats.median | num | not) or .stats.median <= 0; "metric \(.metric) has no positive median"),
	problem((.stats.min | num | not) or .stats.min > .stats.median or .stats.median > .stats.max;
		"metric \(.metric): min <= median <= max does not hold"),
	problem((.stats.cv | num | not) or .stats.cv < 0; "metric \(.metric) has no CV"),
	problem((.unit | type) != "string" or .unit == ""; "metric \(.metric) has no unit")),
# Counters: a value is a number, or "unavailable" with its reason next to it.
([.. | objects | select(has("unavailable_why"))] | .[] as $c |
	($c | to_entries[] | select(.value == "unavailable") | .key) as $k |
	problem($c.unavailable_why[$k] == null; "counter \($k) unavailable without a reason"))
