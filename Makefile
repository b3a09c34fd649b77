# privmem top-level Makefile.
#
#   make deps     install the Debian packages the suite uses (root; idempotent)
#   make          build everything (needs the kselftest framework + uapi, see below)
#   make caps     print the capability probe of this machine, write build/caps.json
#   make run      run the conformance suite, write results/<stamp>-<host>-<kernel>/
#   make check    run + deviant-shim kill rate + benchmark smoke runs (what CI runs)
#   make check SANITIZE=1   the same userspace built with ASan+UBSan into build/sanitize/:
#                 conformance run, report self-test, benchmark smoke runs, 0 reports
#   make bench    run the benchmarks (QUICK=1: <= 3 min; BACKGROUND=<profile>), write
#                 results/<stamp>-<host>-<kernel>-bench/
#   make fuzz [SEED=] [OPS=] [PLATFORM=] [RACE=1]  the model-based fuzzer (conformance/fuzz/):
#                 random guest_memfd/memslot/attribute/guest-access sequences checked against a
#                 model; a divergence is shrunk and written as a C reproducer; results/<stamp>-...-fuzz/
#   make lab [KASAN=1]  the suite on a lab kernel under QEMU TCG (KASAN=1: the KASAN,
#                 lockdep and DEBUG_VM lab kernel); ARCH=arm64 [MODE=protected]: cross-built,
#                 on Debian's stock arm64 7.2 under qemu-system-aarch64 (pKVM in protected mode)
#   make mutants [MUTANTS=glob] [KASAN=1]  the real-bug corpus (conformance/mutants/): each
#                 mutant kernel built, booted, run with privmem and the upstream selftests,
#                 judged caught / crashed / missed; writes results/<stamp>-mutants/
#   make install [INSTALL_PATH=dir] / make dist   the kselftest install tree / its tarball
#                 (build/privmem-kselftest-<arch>.tar.gz; ARCH=arm64 too) for a fleet
#   make lava [ARCH=arm64] [KERNEL=]  the tarball as a LAVA job on the QEMU lab device, run by
#                 Debian's lava-dispatcher (make deps-lava); results/<stamp>-lava-<release>/
#
# The kselftest framework (kselftest_harness.h, kselftest.h, lib.mk) and the uapi
# headers come from a kernel tree: KDIR=<tree> when given (its `make headers` output
# is used, so the suite builds against the uapi of the kernel under test), otherwise
# the parts of Debian's linux-source-6.12 that are needed, extracted into build/.

KDIR ?=
# SANITIZE=1: every userspace part built with AddressSanitizer + UndefinedBehaviorSanitizer
# into build/sanitize/ (the normal build stays in build/); `make check SANITIZE=1` runs
# scripts/sanitize.sh. Guest code is never instrumented (PM_GUEST, lib/guest.h).

# Build with every CPU unless told otherwise (make -jN, -j1): the conformance collections are
# independent sub-makes, which take the job count from here (make 4.3 keeps the top level serial).
ifeq ($(filter -j% j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc)
endif
SANITIZE ?=
BUILD_ROOT := $(CURDIR)/build
ifeq ($(SANITIZE),)
BUILD := $(BUILD_ROOT)
SAN_FLAGS :=
else ifeq ($(SANITIZE),1)
BUILD := $(BUILD_ROOT)/sanitize
# float-cast-overflow is undefined behaviour that -fsanitize=undefined leaves out in GCC.
SAN_FLAGS := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all \
	-fno-omit-frame-pointer -g
else
$(error SANITIZE must be 1 or empty, got '$(SANITIZE)')
endif
# ARCH=arm64: the suite cross-built for arm64 with gcc-aarch64-linux-gnu into build/arm64/ (the
# collections, privmem-caps, privmem-kmsg, the shim), which the arm64 lab runs (make lab ARCH=arm64).
# Default: this machine's architecture. The generic VM library is lib/, its per-arch part lib/<arch>/.
HOST_ARCH := $(patsubst aarch64,arm64,$(shell uname -m))
ARCH ?= $(HOST_ARCH)
PM_ARCH := $(patsubst x86,x86_64,$(ARCH))
ifeq ($(filter x86_64 arm64,$(PM_ARCH)),)
$(error ARCH must be x86_64 or arm64, got '$(ARCH)')
endif
CROSS :=
ifneq ($(PM_ARCH),$(HOST_ARCH))
ifneq ($(PM_ARCH)-$(HOST_ARCH),arm64-x86_64)
$(error cross-building for $(PM_ARCH) on $(HOST_ARCH) is not supported (ARCH=arm64 on x86_64 is))
endif
ifneq ($(SANITIZE)$(KDIR),)
$(error ARCH=arm64 builds take neither SANITIZE nor KDIR (the uapi is linux-source-6.12's arm64 one))
endif
CROSS := 1
CROSS_COMPILE ?= aarch64-linux-gnu-
BUILD := $(BUILD_ROOT)/$(PM_ARCH)
endif
LINUX_SOURCE_TARBALL ?= /usr/src/linux-source-6.12.tar.xz

ifeq ($(KDIR),)
KSRC := $(BUILD_ROOT)/linux-source-6.12
KSRC_STAMP := $(KSRC)/.privmem-ready
else
KSRC := $(abspath $(KDIR))
KSRC_STAMP := $(BUILD_ROOT)/.kdir-headers-ready
endif
KSFT_DIR := $(KSRC)/tools/testing/selftests
ifeq ($(KDIR),)
KHDR_INCLUDES := -isystem $(KSRC)/usr/include
else
# KDIR's uapi, exported into build/ (see the KDIR headers rule below).
KHDR_DIR := $(BUILD_ROOT)/kdir-headers
KHDR_INCLUDES := -isystem $(KHDR_DIR)/usr/include
endif

# Debian packages: build, kselftest framework source, JSON, NUMA, and the tools the
# benchmarks drive. rsync is needed by lib.mk's install and by `make headers`.
DEB_PACKAGES := gcc make libc6-dev xz-utils rsync perl bc linux-source-6.12 \
	libjansson-dev libgsl-dev libnuma-dev fio stress-ng linux-perf gnuplot-nox jq \
	fonts-dejavu-core bsdextrautils \
	qemu-system-x86 busybox-static flex bison libelf-dev libssl-dev cpio patch util-linux \
	libcap-dev uuid-dev qemu-system-arm gcc-aarch64-linux-gnu file

CC := $(CROSS_COMPILE)gcc
WARN := -Wall -Wextra -Werror
CFLAGS_COMMON := -std=gnu11 -O2 $(WARN) -D_GNU_SOURCE= -fno-pie $(SAN_FLAGS)
# Guest code runs from an identity-mapped copy of the binary image, which needs a
# fixed link address: every binary that runs guest code is linked -no-pie.
LDFLAGS_COMMON := -no-pie $(SAN_FLAGS)

# Every directory under conformance/ with a Makefile is a kselftest collection.
COLLECTIONS := $(sort $(patsubst conformance/%/Makefile,%,$(wildcard conformance/*/Makefile)))
CONF_OUT := $(BUILD)/conformance
TOOLS := $(BUILD)/privmem-caps $(BUILD)/privmem-kmsg $(BUILD)/privmem-fuzz
# privmem-report turns results into reports on the machine that keeps them: not cross-built.
ifeq ($(CROSS),)
TOOLS += $(BUILD)/privmem-report
endif
SHIM := $(BUILD)/deviant.so

PLATFORM_SRCS := $(wildcard platforms/*.c)
LIB_SRCS := $(wildcard lib/*.c lib/$(PM_ARCH)/*.c)
LIB_HDRS := $(wildcard lib/*.h platforms/*.h)
# The guest runtime runs inside the VM only: never instrumented (lib/guest.h, PM_GUEST).
GUEST_SRCS := lib/guest.c lib/$(PM_ARCH)/guest.c

.PHONY: all deps headers conformance tools benchmarks upstream caps run check bench fuzz lab lab-matrix mutants mutants-ci clean distclean help no-sanitize install dist deps-lava lava

# The deviant shim interposes libc through LD_PRELOAD, which ASan forbids (its runtime must
# come first and interposes the same functions): not built with SANITIZE=1.
# ARCH=arm64 builds what the arm64 lab runs: no benchmarks yet.
all: conformance tools $(if $(CROSS),,benchmarks) $(if $(SANITIZE),,$(SHIM))

help:
	@sed -n '3,22p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@KERNEL_SRC_NEEDED=$(if $(KDIR),0,1) scripts/deps.sh $(DEB_PACKAGES)

# ---- kselftest framework + uapi headers --------------------------------------------
headers: $(HDR_STAMP)

ifeq ($(KDIR),)
# Only what `make headers`, the harness and the upstream KVM selftest the fault_in
# benchmark runs need (~100 MB instead of 1.7 GB; one pass over the tarball).
KSRC_PARTS := Makefile Kbuild Kconfig scripts include arch/x86 arch/arm64/Makefile arch/arm64/include usr tools/include \
	tools/arch/x86/include tools/testing/selftests/kselftest.h \
	tools/testing/selftests/kselftest_harness.h tools/testing/selftests/lib.mk \
	tools/testing/selftests/kselftest tools/testing/selftests/run_kselftest.sh \
	tools/build tools/lib tools/scripts tools/testing/selftests/kvm tools/testing/selftests/rseq
$(KSRC_STAMP):
	@test -r $(LINUX_SOURCE_TARBALL) || { echo "privmem: $(LINUX_SOURCE_TARBALL) missing: run 'make deps' (as root) or pass KDIR=<kernel tree>" >&2; exit 1; }
	@echo "  EXTRACT  linux-source-6.12 (kselftest framework + uapi)"
	@rm -rf $(KSRC) $(KSRC).tmp && mkdir -p $(KSRC).tmp
	@tar -xJf $(LINUX_SOURCE_TARBALL) -C $(KSRC).tmp $(addprefix linux-source-6.12/,$(KSRC_PARTS))
	@mv $(KSRC).tmp/linux-source-6.12 $(KSRC) && rmdir $(KSRC).tmp
	@echo "  HEADERS  $(KSRC)/usr/include"
	@$(MAKE) -s -C $(KSRC) ARCH=x86 headers >$(BUILD_ROOT)/headers.log 2>&1 || { echo "privmem: make headers failed, see $(BUILD_ROOT)/headers.log" >&2; exit 1; }
	@touch $@
else
# A clean tree (no in-tree build) exports its headers out of tree (O=), so it stays clean for
# the lab's out-of-tree kernel build (scripts/lab-kernel.sh --kdir); a tree with an in-tree
# build exports them in tree, as `make headers` there would, and they are copied.
$(KSRC_STAMP):
	@test -r $(KSFT_DIR)/kselftest_harness.h || { echo "privmem: KDIR=$(KDIR) has no tools/testing/selftests/kselftest_harness.h" >&2; exit 1; }
	@mkdir -p $(BUILD_ROOT) && rm -rf $(KHDR_DIR)
	@echo "  HEADERS  $(KHDR_DIR)/usr/include (from $(KSRC))"
	@if [ -e $(KSRC)/.config ] || [ -d $(KSRC)/include/config ] || [ -d $(KSRC)/arch/x86/include/generated ]; then \
		$(MAKE) -s -C $(KSRC) headers && mkdir -p $(KHDR_DIR)/usr && cp -r $(KSRC)/usr/include $(KHDR_DIR)/usr/; \
	else \
		$(MAKE) -s -C $(KSRC) O=$(KHDR_DIR) headers; \
	fi >$(BUILD_ROOT)/headers.log 2>&1 || { echo "privmem: make headers in KDIR failed, see $(BUILD_ROOT)/headers.log" >&2; exit 1; }
	@touch $@
endif

# ARCH=arm64: that architecture's uapi, exported out of tree from the same source.
# and the arm64 libraries privmem links (jansson, numa), static (scripts/arm64-sysroot.sh).
ifneq ($(CROSS),)
KHDR_INCLUDES := -isystem $(BUILD)/headers/usr/include
SYSROOT := $(BUILD)/sysroot
SYSROOT_STAMP := $(SYSROOT)/.ready
SYSROOT_FLAGS := -I$(SYSROOT)/usr/include -L$(SYSROOT)/usr/lib/aarch64-linux-gnu
$(SYSROOT_STAMP):
	@echo "  SYSROOT  $(SYSROOT)"
	@scripts/arm64-sysroot.sh $(SYSROOT)
HDR_STAMP := $(BUILD)/.headers-ready
$(HDR_STAMP): $(KSRC_STAMP)
	@mkdir -p $(BUILD) && rm -rf $(BUILD)/headers
	@test -r $(KSRC)/arch/$(PM_ARCH)/Makefile || tar -xJf $(LINUX_SOURCE_TARBALL) --strip-components=1 -C $(KSRC) \
		linux-source-6.12/arch/$(PM_ARCH)/Makefile linux-source-6.12/arch/$(PM_ARCH)/include
	@echo "  HEADERS  $(BUILD)/headers/usr/include ($(PM_ARCH))"
	@$(MAKE) -s -C $(KSRC) ARCH=$(PM_ARCH) O=$(BUILD)/headers headers >$(BUILD)/headers.log 2>&1 \
		|| { echo "privmem: make ARCH=$(PM_ARCH) headers failed, see $(BUILD)/headers.log" >&2; exit 1; }
	@touch $@
else
HDR_STAMP := $(KSRC_STAMP)
endif

# ---- conformance collections (kselftest lib.mk builds) ------------------------------
conformance: $(HDR_STAMP) $(SYSROOT_STAMP)
	@for c in $(COLLECTIONS); do \
		mkdir -p $(CONF_OUT)/$$c && \
		$(MAKE) -s -C conformance/$$c KSFT_DIR=$(KSFT_DIR) KHDR_INCLUDES="$(KHDR_INCLUDES)" \
			ARCH=$(PM_ARCH) CROSS_COMPILE=$(CROSS_COMPILE) PRIVMEM_ARCH=$(PM_ARCH) \
			OUTPUT=$(CONF_OUT)/$$c PRIVMEM_SAN_FLAGS="$(SAN_FLAGS)" PRIVMEM_SYSROOT_FLAGS="$(SYSROOT_FLAGS)" || exit 1; \
	done

# ---- install / dist: the kselftest install tree a fleet deploys -------------------------
# What `make -C tools/testing/selftests install` lays out, for privmem's collections:
# run_kselftest.sh and kselftest/ (the runner, from the kernel source used to build),
# kselftest-list.txt (privmem/<collection>:<test>), each collection's binaries with its
# settings (timeout) and config, plus privmem/rows.tsv, privmem/privmem-caps and
# privmem/ktap-to-lava.sh (a LAVA test definition reports each result with it). The target
# needs a shell and the tree only; its KTAP output goes to privmem-report elsewhere.
INSTALL_PATH ?= $(BUILD)/install
DIST := $(BUILD)/privmem-kselftest-$(PM_ARCH).tar.gz
CONF_MAKE = $(MAKE) -s --no-print-directory -C conformance/$$c KSFT_DIR=$(KSFT_DIR) \
	KHDR_INCLUDES="$(KHDR_INCLUDES)" ARCH=$(PM_ARCH) CROSS_COMPILE=$(CROSS_COMPILE) \
	PRIVMEM_ARCH=$(PM_ARCH) OUTPUT=$(CONF_OUT)/$$c PRIVMEM_SAN_FLAGS="$(SAN_FLAGS)" \
	PRIVMEM_SYSROOT_FLAGS="$(SYSROOT_FLAGS)"

install: conformance $(BUILD)/privmem-caps
	@# It replaces a previous install only: never a directory that holds anything else.
	@if [ -d $(INSTALL_PATH) ] && [ -n "$$(ls -A $(INSTALL_PATH))" ] && [ ! -f $(INSTALL_PATH)/kselftest-list.txt ]; then \
		echo "privmem: INSTALL_PATH=$(INSTALL_PATH) is not empty and not a previous install: refusing to replace it" >&2; \
		exit 2; fi
	@rm -rf $(INSTALL_PATH) && mkdir -p $(INSTALL_PATH)/privmem
	@cp $(KSFT_DIR)/run_kselftest.sh $(INSTALL_PATH)/ && cp -R $(KSFT_DIR)/kselftest $(INSTALL_PATH)/
	@: >$(INSTALL_PATH)/kselftest-list.txt
	+@for c in $(COLLECTIONS); do \
		$(CONF_MAKE) INSTALL_PATH=$(abspath $(INSTALL_PATH))/privmem/$$c install >/dev/null && \
		$(CONF_MAKE) COLLECTION=privmem/$$c emit_tests >>$(INSTALL_PATH)/kselftest-list.txt || exit 1; \
	done
	@cp conformance/rows.tsv $(BUILD)/privmem-caps lava/ktap-to-lava.sh $(INSTALL_PATH)/privmem/
	@echo "  INSTALL  $(INSTALL_PATH): $$(wc -l <$(INSTALL_PATH)/kselftest-list.txt) tests in $(words $(COLLECTIONS)) collections ($(PM_ARCH))"

dist: install
	@tar -C $(INSTALL_PATH) --owner=0 --group=0 -czf $(DIST).tmp . && mv $(DIST).tmp $(DIST)
	@echo "  DIST     $(DIST) ($$(du -h $(DIST) | cut -f1))"

# ---- host tools ---------------------------------------------------------------------
tools: $(TOOLS)

# The guest runtime (GUEST_SRCS) is compiled on its own: never instrumented (PM_GUEST).
ifneq ($(CROSS),)
JANSSON := -I$(SYSROOT)/usr/include $(SYSROOT)/usr/lib/aarch64-linux-gnu/libjansson.a
else
JANSSON := -ljansson
endif
$(BUILD)/privmem-caps: platforms/caps_main.c $(PLATFORM_SRCS) $(LIB_SRCS) $(LIB_HDRS) $(HDR_STAMP) scripts/guest-check.sh $(SYSROOT_STAMP)
	@mkdir -p $(BUILD)
	@echo "  CC       $@"
	@$(CC) $(CFLAGS_COMMON) -fno-sanitize=all -Ilib $(KHDR_INCLUDES) -c lib/guest.c -o $@-guest.o
	@$(CC) $(CFLAGS_COMMON) -fno-sanitize=all -Ilib $(KHDR_INCLUDES) -c lib/$(PM_ARCH)/guest.c -o $@-arch-guest.o
	@$(CC) $(CFLAGS_COMMON) -Ilib -Iplatforms $(KHDR_INCLUDES) $(LDFLAGS_COMMON) \
		-o $@ platforms/caps_main.c $(filter-out platforms/caps_main.c,$(PLATFORM_SRCS)) \
		$(filter-out $(GUEST_SRCS),$(LIB_SRCS)) $@-guest.o $@-arch-guest.o $(JANSSON) -lpthread
	@scripts/guest-check.sh $@ || { rm -f $@; exit 1; }

REPORT_SRCS := $(wildcard report/*.c)
$(BUILD)/privmem-report: $(REPORT_SRCS) report/report.h report/bench.h
	@mkdir -p $(BUILD)
	@echo "  CC       $@"
	@$(CC) $(CFLAGS_COMMON) $(LDFLAGS_COMMON) -o $@ $(REPORT_SRCS) -ljansson -lgsl -lgslcblas -lm

$(BUILD)/privmem-kmsg: scripts/kmsg/privmem-kmsg.c
	@mkdir -p $(BUILD)
	@echo "  CC       $@"
	@$(CC) $(CFLAGS_COMMON) $(LDFLAGS_COMMON) -o $@ $<

# The core (shim.c) plus one module per conformance area.
SHIM_SRCS := $(wildcard conformance/deviant/*.c)
$(SHIM): $(SHIM_SRCS) conformance/deviant/shim.h lib/compat.h $(HDR_STAMP)
	@echo "  CC       $@"
	@$(CC) $(CFLAGS_COMMON) -Wno-missing-field-initializers -fPIC -shared -Ilib $(KHDR_INCLUDES) -o $@ $(SHIM_SRCS) -ldl

# ---- the model-based fuzzer (conformance/fuzz/): guest code in runtime.c (PM_GUEST: never
# instrumented, also with SANITIZE=1), checked like the rest;
# repro.c embeds runtime.[ch] (FZ_SRC_DIR) into the reproducers it writes.
FUZZ_SRCS := $(wildcard conformance/fuzz/*.c)
FUZZ_CFLAGS := $(CFLAGS_COMMON) -fno-stack-protector -fno-tree-loop-distribute-patterns \
	$(if $(CROSS),-mno-outline-atomics) -Ilib -Iplatforms -Iconformance/fuzz $(KHDR_INCLUDES) \
	-DFZ_SRC_DIR='"$(CURDIR)/conformance/fuzz"'
$(BUILD)/privmem-fuzz: $(FUZZ_SRCS) $(wildcard conformance/fuzz/*.h) $(PLATFORM_SRCS) $(LIB_SRCS) $(LIB_HDRS) $(HDR_STAMP) scripts/guest-check.sh $(SYSROOT_STAMP)
	@mkdir -p $(BUILD)
	@echo "  CC       $@"
	@$(CC) $(FUZZ_CFLAGS) $(LDFLAGS_COMMON) -o $@ $(FUZZ_SRCS) $(filter-out platforms/caps_main.c,$(PLATFORM_SRCS)) \
		$(LIB_SRCS) $(JANSSON) -lpthread
	@scripts/guest-check.sh $@ || { rm -f $@; exit 1; }

# ---- benchmarks (bench/<name>.c or bench/<name>/ on the VM library and the pmb layer) -------
BENCH_OUT := $(BUILD)/bench
# bench/benchmarks.list: NAME SOURCE per line, the one list of benchmarks.
BENCH_LIST := $(shell awk '!/^#/ && NF { print $$1 ":" $$2 }' bench/benchmarks.list)
BENCH_NAMES := $(foreach e,$(BENCH_LIST),$(firstword $(subst :, ,$(e))))
BENCH_BINS := $(addprefix $(BENCH_OUT)/,$(BENCH_NAMES))
# Guest code runs from the binary's own image: the same flags as conformance/privmem.mk.
BENCH_CFLAGS := $(CFLAGS_COMMON) -fno-stack-protector -fno-tree-loop-distribute-patterns \
	-Ilib -Iplatforms -Ibench/lib $(KHDR_INCLUDES)
BENCH_LIB_SRCS := $(wildcard bench/lib/*.c) $(LIB_SRCS) $(filter-out platforms/caps_main.c,$(PLATFORM_SRCS))
BENCH_LIB_OBJS := $(patsubst %.c,$(BENCH_OUT)/obj/%.o,$(BENCH_LIB_SRCS))
BENCH_HDRS := $(LIB_HDRS) $(wildcard bench/lib/*.h)

benchmarks: $(BENCH_BINS)

$(BENCH_OUT)/obj/%.o: %.c $(BENCH_HDRS) $(KSRC_STAMP)
	@mkdir -p $(dir $@)
	@$(CC) $(BENCH_CFLAGS) -c $< -o $@

# The guest runtime runs inside the VM only: never instrumented (lib/guest.h, PM_GUEST).
$(addprefix $(BENCH_OUT)/obj/,$(GUEST_SRCS:.c=.o)): BENCH_CFLAGS += -fno-sanitize=all

$(BENCH_OUT)/libpmb.a: $(BENCH_LIB_OBJS)
	@ar rcs $@ $^

# Each benchmark's guest code is checked (scripts/guest-check.sh); one that fails is removed.
# Its source is the one bench/benchmarks.list names: a .c file, or a folder whose .c files
# (with its own headers) are linked into the one binary.
bench_srcs = $(if $(filter %.c,$(1)),$(1),$(wildcard $(1)/*.c))
bench_deps = $(if $(filter %.c,$(1)),$(1),$(wildcard $(1)/*.c $(1)/*.h))
define bench_rule
$(BENCH_OUT)/$(1): $(call bench_deps,$(2)) $(BENCH_OUT)/libpmb.a $(BENCH_HDRS) scripts/guest-check.sh
	@echo "  CC       $$@"
	@$(CC) $(BENCH_CFLAGS) $(LDFLAGS_COMMON) -o $$@ $(call bench_srcs,$(2)) $(BENCH_OUT)/libpmb.a -ljansson -lnuma -lpthread -lm
	@scripts/guest-check.sh $$@ || { rm -f $$@; exit 1; }
endef
$(foreach e,$(BENCH_LIST),$(eval $(call bench_rule,$(firstword $(subst :, ,$(e))),$(lastword $(subst :, ,$(e))))))

# ---- fuzzing: SEED, OPS, PLATFORM (default sw-default), RACE=1 (concurrency mode) ------------
fuzz: no-sanitize deps $(BUILD)/privmem-fuzz $(BUILD)/privmem-kmsg
	@scripts/fuzz.sh $(if $(PLATFORM),--platform $(PLATFORM)) $(if $(SEED),--seed $(SEED)) \
		$(if $(OPS),--ops $(OPS)) $(if $(filter 1,$(RACE)),--race)

# ---- running --------------------------------------------------------------------------
caps: $(BUILD)/privmem-caps
	@$(BUILD)/privmem-caps --json $(BUILD)/caps.json

# SANITIZE=1 builds are for `make check SANITIZE=1` (scripts/sanitize.sh sets the
# sanitizer options the runs need); the other targets use the normal build.
no-sanitize:
	@if [ -n "$(SANITIZE)" ]; then echo "privmem: SANITIZE=1 applies to 'make check' only" >&2; exit 2; fi

run: no-sanitize deps all
	@scripts/run.sh

ifeq ($(SANITIZE),1)
check: deps all
	@PRIVMEM_BUILD=$(BUILD) scripts/sanitize.sh
else
check: deps all
	@scripts/check.sh
endif

# The upstream KVM selftest the fault_in benchmark runs next to its own figures; built
# once per clone (cached in build/upstream), and the benchmarks run without it if it fails.
upstream: $(KSRC_STAMP)
	@scripts/upstream-demand-paging.sh --kdir $(KSRC) $(BUILD)/upstream >$(BUILD)/upstream.log 2>&1 \
		&& echo "  UPSTREAM $$(tail -n 1 $(BUILD)/upstream.log)" \
		|| echo "  UPSTREAM demand_paging_test not built: $$(tail -n 1 $(BUILD)/upstream.log)"

bench: no-sanitize deps tools benchmarks upstream
	@QUICK=$(QUICK) BACKGROUND=$(BACKGROUND) scripts/bench.sh

# The QEMU TCG lab (issue 5, in progress): KERNEL=<bzImage> | KDIR=<tree> | the cached
# linux-source-6.12 build (scripts/lab-kernel.sh); LAB_ARGS="--stock 6.1" etc.
ifeq ($(CROSS),)
lab: no-sanitize deps conformance tools $(SHIM)
	@scripts/lab.sh $(if $(KERNEL),--kernel $(KERNEL)) $(if $(KDIR),--kdir $(KDIR)) $(if $(filter 1,$(KASAN)),--kasan) $(LAB_ARGS)
else
# The arm64 lab runs this build; the host's privmem-report turns its KTAP into reports.
lab: no-sanitize deps conformance tools $(SHIM)
	@$(MAKE) -s ARCH=$(HOST_ARCH) tools
	@PRIVMEM_BUILD=$(BUILD) PRIVMEM_REPORT=$(BUILD_ROOT)/privmem-report scripts/lab.sh --arch $(PM_ARCH) \
		$(if $(KERNEL),--kernel $(KERNEL),--stock 7.2) $(if $(MODE),--mode $(MODE)) $(LAB_ARGS)
endif

# The real-bug corpus: MUTANTS=<name glob> (default all), KASAN=1 for the KASAN lane.
mutants: no-sanitize deps conformance tools
	@scripts/mutants.sh $(if $(filter 1,$(KASAN)),--kasan) '$(or $(MUTANTS),*)'

# CI's fixed set: the pristine kernel and mutants the suite must catch, by assertion.
CI_MUTANTS := gmem-readonly-accepted
mutants-ci: no-sanitize deps conformance tools
	@scripts/mutants.sh --expect-caught $(if $(MUTANTS_BASELINE),--baseline $(MUTANTS_BASELINE)) '$(CI_MUTANTS)'

# Stock 6.1 and 7.2, the 6.12 and 7.3 lab kernels (peers beside each), and stock arm64 7.2 in
# normal and pKVM protected mode (the ARCH=arm64 build): one kernel x area
# table, diffs between neighbours; no FAIL allowed.
lab-matrix: no-sanitize deps conformance tools $(SHIM)
	@$(MAKE) -s ARCH=arm64 all
	@scripts/lab-matrix.sh

# LAVA (issue 17): the install tarball as a LAVA job on the QEMU lab device, run by Debian's
# lava-dispatcher (lava-run, no server): KERNEL=<image> | the cached 6.12 lab kernel;
# ARCH=arm64: Debian's stock arm64 7.2; LAVA_BASELINE=<lab run of the same kernel> must not differ;
# LAVA_DEVIATION: a second, short job runs the deviation's collection under the deviant shim and
# must see its row FAIL as a LAVA test case (empty: none); LAVA_ARGS="--stock 7.2" etc.
# deps-lava: lava-dispatcher without its recommends (those are a whole lab: tftpd, nfs, lxc, qemu)
# and j2cli (renders the device); lava-run needs no daemon, so the worker and socket its postinst
# enables stay disabled.
LAVA_PACKAGES := lava-dispatcher j2cli
deps-lava:
	@NO_RECOMMENDS=1 scripts/deps.sh $(LAVA_PACKAGES)
	@for u in lava-worker.service lava-dispatcher-host.socket; do \
		if systemctl is-enabled -q $$u 2>/dev/null; then systemctl disable -q $$u 2>/dev/null && echo "  DEPS    disabled $$u (lava-run needs no daemon)"; fi; \
	done; true

LAVA_DEVIATION ?= seals-null-name-einval
lava: no-sanitize deps deps-lava dist $(SHIM)
	@$(MAKE) -s ARCH=$(HOST_ARCH) tools $(BUILD_ROOT)/deviant.so
	@scripts/lava.sh --arch $(PM_ARCH) $(if $(KERNEL),--kernel $(KERNEL),$(if $(CROSS),--stock 7.2)) \
		$(if $(LAVA_BASELINE),--baseline $(LAVA_BASELINE)) $(if $(LAVA_DEVIATION),--deviation $(LAVA_DEVIATION)) $(LAVA_ARGS)

clean:
	rm -rf $(CONF_OUT) $(TOOLS) $(BUILD)/privmem-caps-guest.o $(SHIM) $(BENCH_OUT) $(BUILD)/caps.json $(BUILD)/check

distclean:
	rm -rf $(BUILD)
