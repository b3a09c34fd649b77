#!/bin/bash
# Check the guest code of linked binaries: guest-check.sh BINARY...
#
# Guest code runs inside the VM from a copy of the binary's image, without libc,
# the sanitizer runtimes, their shadow memory, %fs or usable SSE state. Every
# function that runs there is declared PM_GUEST (lib/guest.h), which puts it in the
# pm_guest_text section without instrumentation. This script disassembles that
# section and fails when its code
#   - calls or jumps outside pm_guest_text: a helper the guest calls is not
#     PM_GUEST (instrumented in make SANITIZE=1), or a libc call;
#   - calls through a pointer anywhere but pm_guest_entry (the target cannot be
#     checked here; pm_vcpu_add() checks entry points at run time);
#   - names a sanitizer or profiling runtime symbol, or reads the ASan shadow
#     (offset 0x7fff8000 on x86_64): instrumented code;
#   - uses %fs (stack protector, TLS) or an SSE/AVX register; on arm64, reads
#     TPIDR_EL0 (TLS, stack protector) or uses an FP/SIMD register.
# The architecture is the binary's (readelf); arm64 binaries are disassembled with
# aarch64-linux-gnu-objdump.
# A binary without pm_guest_text runs no guest code and passes. Exit 0 when every
# binary passes, 1 otherwise (one line per problem on stderr), 2 on bad input.
set -u
[ $# -gt 0 ] || { echo "usage: guest-check.sh BINARY..." >&2; exit 2; }
command -v objdump >/dev/null && command -v readelf >/dev/null ||
	{ echo "guest-check: objdump/readelf missing (binutils)" >&2; exit 2; }

status=0
for bin in "$@"; do
	[ -r "$bin" ] || { echo "guest-check: $bin: not readable" >&2; exit 2; }
	# [Nr] Name Type Address Off Size ...: the section's address range.
	read -r lo size < <(readelf -SW "$bin" | sed 's/^ *\[ *[0-9]*\] //' |
		awk '$1 == "pm_guest_text" { print $3, $5 }')
	[ -n "${lo:-}" ] || continue
	case $(readelf -h "$bin" | sed -n 's/^ *Machine: *//p') in
	AArch64) arch=arm64 objdump=aarch64-linux-gnu-objdump ;;
	*) arch=x86_64 objdump=objdump ;;
	esac
	command -v $objdump >/dev/null || { echo "guest-check: $objdump missing (binutils for $arch)" >&2; exit 2; }
	$objdump -d --no-show-raw-insn -j pm_guest_text "$bin" | awk -v bin="$bin" -v arch=$arch \
		-v lo=$((16#$lo)) -v hi=$((16#$lo + 16#$size)) '
	function hex(s,    i, c, v) {
		v = 0
		for (i = 1; i <= length(s); i++) {
			c = index("0123456789abcdef", tolower(substr(s, i, 1)))
			if (!c) return -1
			v = v * 16 + c - 1
		}
		return v
	}
	function bad(why) {	# the first instruction per function and problem
		if (!((fn, why) in seen))
			printf "guest-check: %s: %s: %s: %s\n", bin, fn, insn, why > "/dev/stderr"
		seen[fn, why] = 1
		n++
	}
	/^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn); next }
	/^ *[0-9a-f]+:\t/ {
		insn = $0
		sub(/^ *[0-9a-f]+:\t/, "", insn)
		gsub(/[ \t]+/, " ", insn)
		split(insn, w, " ")
		op = w[1]
		if (op == "notrack" || op == "bnd" || op == "rep" || op == "lock") op = w[2]
		if (insn ~ /<(__asan|__ubsan|__lsan|__tsan|__msan|__sanitizer|__cyg_profile|__stack_chk|__gcov)/)
			bad("sanitizer or profiling runtime (instrumented guest code: declare it PM_GUEST, lib/guest.h)")
		else if (insn ~ /0x7fff8000/)
			bad("reads the ASan shadow (instrumented guest code: declare it PM_GUEST, lib/guest.h)")
		else if (arch == "arm64") {
			operands = substr(insn, length(w[1]) + 2)
			if (insn ~ /tpidr_el0/)
				bad("reads TPIDR_EL0, which the guest does not set up (stack protector or TLS)")
			else if (operands ~ /(^|[ ,\[{])[vqdsbh][0-9]+([.,} \]]|$)/)
				bad("uses an FP/SIMD register (declare it PM_GUEST, lib/guest.h)")
			else if (op == "blr") {
				if (fn != "pm_guest_entry" && fn != "pm_arm64_guest_start")
					bad("indirect call (only pm_guest_entry may call through a pointer)")
			} else if (op ~ /^(b|bl|b\.[a-z]+|cbn?z|tbn?z)$/ && match(insn, / [0-9a-f]+ </)) {
				t = hex(substr(insn, RSTART + 1, RLENGTH - 3))
				if (t < lo || t >= hi)
					bad("leaves pm_guest_text (a function guest code calls is not PM_GUEST, lib/guest.h)")
			}
		} else if (insn ~ /%fs:/)
			bad("uses %fs, which the guest does not set up (stack protector or TLS)")
		else if (insn ~ /%[xyz]mm[0-9]/)
			bad("uses an SSE/AVX register (declare it PM_GUEST, lib/guest.h)")
		else if (op ~ /^(call|jmp|j[a-z]+|loop[a-z]*)$/) {
			if (insn ~ / \*/) {
				if (op == "call" && fn != "pm_guest_entry")
					bad("indirect call (only pm_guest_entry may call through a pointer)")
			} else if (match(insn, / [0-9a-f]+ </)) {
				t = hex(substr(insn, RSTART + 1, RLENGTH - 3))
				if (t < lo || t >= hi)
					bad("leaves pm_guest_text (a function guest code calls is not PM_GUEST, lib/guest.h)")
			}
		}
	}
	END { exit n > 0 }' || status=1
done
exit $status
