# shellcheck shell=bash
# A stress-ng background load from a profile in workloads/stress-ng/<profile>.args, shared
# by scripts/bench.sh (under each benchmark) and scripts/run.sh (under the conformance run).
# Sourced, not run. The load runs in its own session so it is stopped as a whole.

bg_pid=0

# bg_profiles: the known profile names, space-separated.
bg_profiles() {
	(cd "$top/workloads/stress-ng" && ls -- *.args 2>/dev/null | sed 's/\.args$//' | tr '\n' ' ' | sed 's/ $//')
}

# bg_check PROFILE: "" when usable, else the one-line reason.
bg_check() {
	[ -r "$top/workloads/stress-ng/$1.args" ] || { echo "unknown background profile '$1' (known: $(bg_profiles))"; return; }
	command -v stress-ng >/dev/null || echo "stress-ng missing: run 'make deps'"
}

# bg_start PROFILE LOG: start the load; its output goes to LOG.
bg_start() {
	local args
	mapfile -t args < <(grep -v '^[[:space:]]*#' "$top/workloads/stress-ng/$1.args" | tr -s ' \t' '\n' | grep -v '^$')
	setsid stress-ng "${args[@]}" >"$2" 2>&1 &
	bg_pid=$!
}

# bg_stop: stop the load (and wait for it), if one runs.
bg_stop() {
	if [ "$bg_pid" -gt 0 ]; then
		kill -INT -- "-$bg_pid" 2>/dev/null
		wait "$bg_pid" 2>/dev/null
		bg_pid=0
	fi
}
