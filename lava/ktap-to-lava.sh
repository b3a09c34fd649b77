#!/bin/sh
# ktap-to-lava.sh [OUTPUT]: read run_kselftest.sh's output (OUTPUT, or stdin) and report every
# KTAP result to LAVA with lava-test-case: each binary as <collection>.<binary> and each of its
# own results as <collection>.<binary>.<test>; pass, fail or skip (a TIMEOUT fails). Names are
# reduced to [A-Za-z0-9_.-]; a repeated name gets _dup2, _dup3... (as LKFT's kselftest parser
# does). Installed in the tree as privmem/ktap-to-lava.sh (make install); POSIX sh and awk, so
# busybox runs it. Without lava-test-case on PATH it prints "name result" lines instead.
#
# The runner prints a binary's own KTAP first, every line prefixed "# " ("# ok 3 name",
# "# not ok 4 name", "# ok 5 name # SKIP why"), then the binary's verdict
# ("ok N selftests: privmem/<collection>: <binary>" [# SKIP | # exit=R | # TIMEOUT S seconds]),
# so a binary's results are held until its verdict names it. Deeper lines ("# # ...") are
# diagnostics.
awk '
function slug(s) { gsub(/[^A-Za-z0-9_.-]+/, "_", s); sub(/^_+/, "", s); sub(/_+$/, "", s); return s }
function verdict(line, ok) {
	if (line ~ /#[ \t]*TIMEOUT/) return "fail"
	if (!ok) return "fail"
	return line ~ /#[ \t]*[Ss][Kk][Ii][Pp]/ ? "skip" : "pass"
}
/^# (not )?ok [0-9]+ / {
	l = substr($0, 3); ok = (l !~ /^not /); sub(/^(not )?ok [0-9]+ /, "", l)
	name = l; sub(/[ \t]*#.*/, "", name)
	n++; sub_name[n] = slug(name); sub_res[n] = verdict(l, ok); next
}
/^(not )?ok [0-9]+ selftests: / {
	ok = ($0 !~ /^not /); l = $0; sub(/^(not )?ok [0-9]+ selftests: /, "", l)
	split(l, a, /[ \t]*#/); split(a[1], p, /: /)	# p[1] = privmem/<collection>, p[2] = <binary>
	coll = p[1]; sub(/^.*\//, "", coll); bin = slug(coll "." p[2])
	for (i = 1; i <= n; i++) {
		k = bin "." sub_name[i]
		if (++seen[k] > 1) k = k "_dup" seen[k]
		print k, sub_res[i]
	}
	print bin, verdict($0, ok); n = 0; next
}
' "${1:--}" | while read -r name result; do
	if command -v lava-test-case >/dev/null 2>&1; then
		lava-test-case "$name" --result "$result"
	else
		echo "$name $result"
	fi
done
