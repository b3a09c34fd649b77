# shellcheck shell=bash
# Reading lava-run's log (its stdout; a LAVA server's output.yaml has "- " before each): one YAML
# flow mapping per line,
#   {"dt": "...", "lvl": "target", "msg": "<console line>"}           (a console line: LAVA wrote
#                                                                       each " as \", then YAML escaped it)
#   {"dt": "...", "lvl": "results", "msg": {"case": "NAME", "definition": "0_privmem-kselftest",
#                                           ..., "result": "pass"}}    (a test case)
# LAVA's own actions report as definition "lava". Sourced, not run.
#   lava_console MARKER <LOG    the console lines between @@PRIVMEM-MARKER-BEGIN and -END, unescaped;
#                               the "+ " lines are the shell tracing the test definition's steps
#   lava_cases <LOG             "name result" per test case of the test definitions, in order
#   lava_job_result RESULT.yaml the job's own verdict (pass, fail, or nothing)

lava_console() {
	awk -v begin="@@PRIVMEM-$1-BEGIN" -v end="@@PRIVMEM-$1-END" '
	function unescape(s,   out, c, i) {
		out = ""
		while ((i = index(s, "\\")) > 0) {
			c = substr(s, i + 1, 1)
			out = out substr(s, 1, i - 1) (c == "t" ? "\t" : c == "\"" || c == "\\" ? c : "\\" c)
			s = substr(s, i + 2)
		}
		return out s
	}
	/^(- )?\{"dt": "[^"]*", "lvl": "target", "msg": "/ {
		m = $0; sub(/^(- )?\{"dt": "[^"]*", "lvl": "target", "msg": "/, "", m); sub(/"\}$/, "", m)
		m = unescape(m); gsub(/\\"/, "\"", m)	# LAVA itself wrote each " of the console as \"
		if (index(m, begin) == 1) { on = 1; next }
		if (index(m, end) == 1) { on = 0; next }
		if (on && m !~ /^\+ /) print m
	}'
}

lava_cases() {
	sed -n 's/^\(- \)\{0,1\}{"dt": "[^"]*", "lvl": "results", "msg": {"case": "\([^"]*\)", "definition": "\([^"]*\)".*"result": "\([a-z]*\)".*/\3 \2 \4/p' |
		awk '$1 != "lava" { print $2, $3 }'
}

lava_job_result() {
	awk '/case: job/ { job = 1 } job && /result:/ { print $2; exit }' "$1" 2>/dev/null
}
