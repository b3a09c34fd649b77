# shellcheck shell=bash disable=SC2154 # $top, $cache, $build, $results: set by the caller
# The steps of scripts/lab-matrix.sh: build a kernel's peers, run one lab, tabulate the runs,
# diff neighbours, count. Sourced, not run. Needs: $top, $cache, $build, $results.

# matrix_peers SERIES: the upstream selftests of linux-source-SERIES, built (cached) into
# $cache/peers-<package version>; prints that directory.
matrix_peers() {
	local ver dir
	ver=$("$top/scripts/lab-source.sh" "$1" | sed -n 2p) && [ -n "$ver" ] || { echo "no linux-source-$1" >&2; return 1; }
	dir=$cache/peers-$ver
	"$top/scripts/upstream-selftests.sh" --series "$1" "$dir" >&2 || return 1
	echo "$dir"
}

# matrix_lab ENTRY WORK: one MATRIX entry's lab run (retried once when it gives no results),
# moved into $results; its path goes to WORK/<name>.run, lab.sh's output to WORK/<name>.log
# (and into the run as lab.log). An arm64 entry takes its binaries from $build/arm64 and
# this build's privmem-report.
matrix_lab() {
	local name args devs attempt rc run dir
	local -a a e=()
	IFS='|' read -r name args _ devs <<<"$1"
	dir=$2/$name.results
	read -ra a <<<"$args"
	[ ! -s "$2/$name.peers" ] || a+=(--peers "$(cat "$2/$name.peers")")
	[ "$devs" = no ] || a+=(--deviations "$devs")
	# The fuzzer's fixed budget on every platform of the lab (PRIVMEM_MATRIX_FUZZ="" leaves it out).
	[ -z "${PRIVMEM_MATRIX_FUZZ-x}" ] || a+=(--fuzz "${PRIVMEM_MATRIX_FUZZ:---ops 5000 --seed 1 --race}")
	[[ " $args " != *" --arch arm64 "* ]] || e=(PRIVMEM_BUILD="$build/arm64" PRIVMEM_REPORT="$build/privmem-report")
	for attempt in 1 2; do
		rm -rf "$dir"
		env "${e[@]}" "$top/scripts/lab.sh" --quiet --results "$dir" "${a[@]}" >"$2/$name.log" 2>&1
		rc=$?
		run=$(find "$dir" -mindepth 1 -maxdepth 1 -type d -name '*-lab-*' 2>/dev/null | sort | tail -n 1)
		[ $rc -le 1 ] && [ -n "$run" ] && break
		echo "lab run '$name' produced no results (exit $rc: $(tail -n 1 "$2/$name.log")), attempt $attempt of 2" >&2
		run=""
	done
	[ -n "$run" ] || return 1
	cp "$2/$name.log" "$run/lab.log" && mv "$run" "$results/" && echo "$results/$(basename "$run")" >"$2/$name.run"
}

# One cell: pass/fail/skip/xfail of a run's tests, all of them or one collection's ("-": the
# run has no such collection, e.g. an architecture's own).
matrix_cell() {
	jq -r --arg c "${2:-}" '[.tests[] | select($c == "" or .collection == $c) | .status] as $s |
		def n(x): $s | map(select(. == x)) | length;
		if ($s | length) == 0 and $c != "" then "-"
		else "\(n("PASS"))/\(n("FAIL") + n("XPASS"))/\(n("SKIP"))/\(n("XFAIL"))" end' "$1/results.json"
}

# A run's architecture and KVM mode (lab.json; runs from before arm64: x86_64, normal).
matrix_arch() { jq -r '.arch // "x86_64"' "$1/lab.json" 2>/dev/null || echo x86_64; }
matrix_mode() { jq -r '.mode // "normal"' "$1/lab.json" 2>/dev/null || echo normal; }
# matrix_label RUN: the column head, "<release> (<arch>[, <mode>])"; matrix_tag RUN: the same
# for file names, "<release>[-<arch> unless the release names it][-<mode>]".
matrix_label() {
	local arch mode
	arch=$(matrix_arch "$1") mode=$(matrix_mode "$1")
	echo "$(jq -r '.kernel.release' "$1/caps.json") ($arch$([ "$mode" = normal ] || echo ", $mode"))"
}
matrix_tag() {
	local rel arch mode
	rel=$(jq -r '.kernel.release' "$1/caps.json") arch=$(matrix_arch "$1") mode=$(matrix_mode "$1")
	[ "$arch" = x86_64 ] || [[ $rel == *"$arch"* ]] || rel=$rel-$arch
	[ "$mode" = normal ] || rel=$rel-$mode
	echo "$rel"
}

# matrix_table RUN...: markdown, area x kernel, then peers, deviations, splat proof, drift.
matrix_table() {
	local run area rel peer
	printf '| area (pass/fail/skip/xfail) |'
	for run in "$@"; do printf ' %s |' "$(matrix_label "$run")"; done
	printf '\n|---|'; for run in "$@"; do printf -- '---|'; done; echo
	for area in $(cat "${@/%//results.json}" | jq -r '.tests[].collection' | sort -u); do
		printf '| %s |' "$area"
		for run in "$@"; do printf ' %s |' "$(matrix_cell "$run" "$area")"; done
		echo
	done
	printf '| **total** |'; for run in "$@"; do printf ' **%s** |' "$(matrix_cell "$run")"; done; echo
	printf '| peers passed (upstream selftests of the same tree) |'
	for run in "$@"; do
		printf ' %s |' "$( [ -r "$run/peers.json" ] && jq -r '"\(map(select(.verdict == "pass")) | length)/\(length)"' "$run/peers.json" || echo -)"
	done
	printf '\n| lab deviations detected |'
	for run in "$@"; do
		printf ' %s |' "$(jq -r 'if .deviations.run > 0 then "\(.deviations.detected)/\(.deviations.run)" else "-" end' "$run/lab.json" 2>/dev/null || echo -)"
	done
	printf '\n| injected splat fails vmlib_test |'
	for run in "$@"; do printf ' %s |' "$(jq -r '.splat_proof // "-" | split(" ")[0]' "$run/lab.json" 2>/dev/null || echo -)"; done
	printf '\n| fuzz (model-based, fixed budget) |'
	for run in "$@"; do
		printf ' %s |' "$(jq -r '[.fuzz[]? | "\(.platform) \(.verdict)" + (if .summary and .verdict != "skip" then " \(.summary.executed) ops" else "" end)] |
			if length == 0 then "-" else join("<br>") end' "$run/lab.json" 2>/dev/null || echo -)"
	done
	printf '\n| drift (upstream change without a capability) |'
	for run in "$@"; do
		printf ' %s |' "$(jq -r '[.drift[]? | "\(.what): \(.seen) (\(.commit))"] | if length == 0 then "-" else join("<br>") end' "$run/results.json")"
	done
	echo
	# The peers, one line each.
	echo
	printf '| peer |'; for run in "$@"; do printf ' %s |' "$(matrix_label "$run")"; done
	printf '\n|---|'; for run in "$@"; do printf -- '---|'; done; echo
	for peer in $(cat "${@/%//peers.json}" 2>/dev/null | jq -r '.[].name' | sort -u); do
		printf '| %s |' "$peer"
		for run in "$@"; do
			printf ' %s |' "$(jq -r --arg p "$peer" 'map(select(.name == $p))[0] // empty |
				"\(.verdict) \(.seconds // "?")s\(if (.splats // 0) > 0 then ", \(.splats) splat lines" else "" end)"' \
				"$run/peers.json" 2>/dev/null | grep . || echo -)"
		done
		echo
	done
	# Deviations not detected, by kernel.
	for run in "$@"; do
		[ -s "$run/deviations.txt" ] || continue
		rel=$(matrix_label "$run")
		awk -v k="$rel" '$3 != "detected" { print "  " k ": " toupper($3) " " $1 " (" $2 "): " $7 }' "$run/deviations.txt"
	done
}

# matrix_diffs OUTDIR RUN...: privmem-report --diff between neighbours of the same
# architecture (arm64 normal -> protected is one), each into OUTDIR/diff-<old>-<new>.txt (the
# runs' matrix_tag), one summary line each on stdout.
matrix_diffs() {
	local out=$1 run a b f arch
	local -A prev=()
	shift
	echo
	echo "Between neighbours (privmem-report --diff):"
	for run in "$@"; do
		arch=$(matrix_arch "$run")
		if [ -n "${prev[$arch]:-}" ]; then
			a=$(matrix_tag "${prev[$arch]}") b=$(matrix_tag "$run")
			f=$out/diff-$a-$b.txt
			"$build/privmem-report" --diff "${prev[$arch]}" "$run" >"$f" 2>&1
			printf -- '- %s -> %s: %s\n' "$a" "$b" "$(grep -E '^(new failures|fixed|newly skipped|no longer skipped|drift changed)' "$f" |
				sed -E 's/: none$/ 0/; s/ \(([0-9]+)\):?$/ \1/; s/:$//' | paste -sd, | sed 's/,/, /g')"
		fi
		prev[$arch]=$run
	done
}

# matrix_json RUN...: the same, for machines.
matrix_json() {
	local run
	for run in "$@"; do
		jq -n --arg run "$run" --slurpfile r "$run/results.json" --slurpfile c "$run/caps.json" \
			--slurpfile l "$run/lab.json" --slurpfile p "$( [ -r "$run/peers.json" ] && echo "$run/peers.json" || echo /dev/null)" '
			{run: $run, release: $c[0].kernel.release, arch: ($l[0].arch // "x86_64"), mode: ($l[0].mode // "normal"),
			 summary: $r[0].summary,
			 areas: ($r[0].tests | group_by(.collection) | map({key: .[0].collection,
				value: (group_by(.status) | map({key: .[0].status, value: length}) | from_entries)}) | from_entries),
			 drift: ($r[0].drift // []), peers: ($p[0] // null),
			 deviations: $l[0].deviations, splat_proof: $l[0].splat_proof, fuzz: ($l[0].fuzz // null), boot_s: $l[0].boot_s, suite_s: $l[0].suite_s}'
	done | jq -s '{schema: "privmem-lab-matrix/1", kernels: .}'
}

# matrix_counts RUN...: "passed failed skipped" as the end line counts them.
matrix_counts() {
	local run p=0 f=0 s=0 a b c d e dd dt sp
	for run in "$@"; do
		read -r a b c d e < <(jq -r '.summary | "\(.pass) \(.fail) \(.skip) \(.xfail // 0) \(.xpass // 0)"' "$run/results.json")
		p=$((p + a + d)) f=$((f + b + e)) s=$((s + c))
		if [ -s "$run/deviations.txt" ]; then
			dd=$(awk '$3 == "detected"' "$run/deviations.txt" | wc -l) dt=$(wc -l <"$run/deviations.txt")
			p=$((p + dd)) f=$((f + dt - dd))
		fi
		# The fuzzer: one per platform, pass (passed), skip (skipped), a divergence or failure (failed).
		read -r a b c < <(jq -r '[.fuzz[]?.verdict] | "\(map(select(. == "pass")) | length) \(map(select(. != "pass" and . != "skip")) | length) \(map(select(. == "skip")) | length)"' "$run/lab.json" 2>/dev/null || echo 0 0 0)
		p=$((p + ${a:-0})) f=$((f + ${b:-0})) s=$((s + ${c:-0}))
		sp=$(jq -r '.splat_proof // ""' "$run/lab.json" 2>/dev/null)
		[ -z "$sp" ] || { [ "${sp%% *}" = ok ] && p=$((p + 1)) || f=$((f + 1)); }
	done
	echo "$p $f $s"
}
