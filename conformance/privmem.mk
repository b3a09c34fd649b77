# Included by every conformance collection's Makefile, after TEST_GEN_PROGS.
#
# Builds the collection with the kernel's kselftest lib.mk, found in this order:
#  1. KSFT_DIR given (privmem's top-level Makefile passes the extracted
#     linux-source-6.12 or KDIR tree);
#  2. the repository copied into a kernel tree: an ancestor directory holds
#     kselftest_harness.h (tools/testing/selftests/privmem/conformance/<coll>);
#  3. invoked by tools/testing/selftests/Makefile through a symlink: derived from
#     the KHDR_INCLUDES it exports (-isystem <srctree>/usr/include).
# The VM library and platform layer are compiled from this repository.

PRIVMEM_TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)

ifeq ($(KSFT_DIR),)
KSFT_DIR := $(firstword $(patsubst %/kselftest_harness.h,%,$(wildcard \
	$(CURDIR)/../kselftest_harness.h $(CURDIR)/../../kselftest_harness.h \
	$(CURDIR)/../../../kselftest_harness.h)))
endif
ifeq ($(KSFT_DIR),)
ifneq ($(KHDR_INCLUDES),)
KSFT_DIR := $(abspath $(lastword $(KHDR_INCLUDES))/../../tools/testing/selftests)
endif
endif
ifeq ($(wildcard $(KSFT_DIR)/lib.mk),)
$(error privmem: kselftest framework not found; build from the privmem top level, or set KSFT_DIR=<kernel>/tools/testing/selftests)
endif

# The architecture (lib/<arch>/): the top-level Makefile passes it; a kernel tree's build derives it
# from ARCH as the kernel names it (x86, x86_64, arm64).
PRIVMEM_ARCH ?= $(patsubst aarch64,arm64,$(patsubst x86,x86_64,$(or $(ARCH),$(shell uname -m))))
AR := $(CROSS_COMPILE)ar

# Guest code runs from an identity-mapped copy of the binary: fixed link address,
# no stack protector (%fs is not set up in the guest), no libc calls synthesised
# from loops.
PRIVMEM_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -fno-pie -fno-stack-protector \
	-fno-tree-loop-distribute-patterns \
	-I$(PRIVMEM_TOP)/lib -I$(PRIVMEM_TOP)/platforms -I$(PRIVMEM_TOP)/conformance \
	-isystem $(KSFT_DIR)
# arm64: atomics inline (GCC 12 otherwise calls libgcc's __aarch64_* helpers, outside the guest code).
ifeq ($(PRIVMEM_ARCH),arm64)
PRIVMEM_CFLAGS += -mno-outline-atomics
endif
# PRIVMEM_SAN_FLAGS: the sanitizer flags of `make SANITIZE=1`; PRIVMEM_SYSROOT_FLAGS: where
# `make ARCH=arm64` keeps the arm64 libraries (top-level Makefile).
CFLAGS += $(PRIVMEM_CFLAGS) $(KHDR_INCLUDES) $(PRIVMEM_SAN_FLAGS) $(PRIVMEM_SYSROOT_FLAGS)
LDFLAGS += -no-pie
LDLIBS += -lpthread

PRIVMEM_LIB_SRCS := $(wildcard $(PRIVMEM_TOP)/lib/*.c $(PRIVMEM_TOP)/lib/$(PRIVMEM_ARCH)/*.c) \
	$(filter-out %/caps_main.c %/caps_json.c,$(wildcard $(PRIVMEM_TOP)/platforms/*.c))
# The collection's own headers too: a change there rebuilds its binaries.
PRIVMEM_LIB_HDRS := $(wildcard $(PRIVMEM_TOP)/lib/*.h $(PRIVMEM_TOP)/platforms/*.h \
	$(PRIVMEM_TOP)/conformance/*.h $(CURDIR)/*.h)

include $(KSFT_DIR)/lib.mk

PRIVMEM_LIB := $(OUTPUT)/libprivmem.a
PRIVMEM_LIB_OBJS := $(patsubst $(PRIVMEM_TOP)/%.c,$(OUTPUT)/libprivmem/%.o,$(PRIVMEM_LIB_SRCS))

$(OUTPUT)/libprivmem/%.o: $(PRIVMEM_TOP)/%.c $(PRIVMEM_LIB_HDRS)
	@mkdir -p $(dir $@)
	$(call msg,CC,,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The guest runtime runs inside the VM only: never instrumented (lib/guest.h, PM_GUEST).
$(OUTPUT)/libprivmem/lib/guest.o $(OUTPUT)/libprivmem/lib/$(PRIVMEM_ARCH)/guest.o: CFLAGS += -fno-sanitize=all

$(PRIVMEM_LIB): $(PRIVMEM_LIB_OBJS)
	$(Q)$(AR) rcs $@ $^

# lib.mk links every non-header prerequisite: the archive goes after the test's .c.
$(TEST_GEN_PROGS): $(PRIVMEM_LIB) $(PRIVMEM_LIB_HDRS)
LOCAL_HDRS += $(PRIVMEM_LIB_HDRS)

# Every linked binary's guest code is checked (scripts/guest-check.sh: nothing in
# pm_guest_text leaves it, is instrumented, uses %fs or SSE); a binary that fails is
# removed, so it cannot be run.
PRIVMEM_GUEST_OK := $(patsubst %,%.guest-ok,$(TEST_GEN_PROGS))
all: $(PRIVMEM_GUEST_OK)
$(PRIVMEM_GUEST_OK): %.guest-ok: % $(PRIVMEM_TOP)/scripts/guest-check.sh
	$(Q)$(PRIVMEM_TOP)/scripts/guest-check.sh $< || { rm -f $<; exit 1; }
	$(Q)touch $@

EXTRA_CLEAN += $(PRIVMEM_LIB) $(OUTPUT)/libprivmem $(PRIVMEM_GUEST_OK)
