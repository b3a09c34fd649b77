# shellcheck shell=bash
# The conformance areas whose behaviours the model-based fuzzer's operations reach (an ERE on the
# deviant shim's area column): the deviations scripts/fuzz-kills.sh and scripts/lab.sh
# --fuzz-deviations run it against. Sourced.
# shellcheck disable=SC2034 # used by the scripts that source it
fuzz_areas='^(guest_memfd|gmem_mmap|memslot|invalidate|memfault|attributes|convert)$'
