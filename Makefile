# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# voipwall build. Quiet by default; V=1 shows commands. Output goes to $(BUILD) only.
# Several builds can live side by side: make BUILD=build-foo ...

SANITIZE ?=
ifeq ($(SANITIZE),1)
BUILD ?= build-san
else
BUILD ?= build
endif
PREFIX ?= /usr/local
DESTDIR ?=

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
PYTHON ?= /usr/bin/python3
ARCH_INC := /usr/include/$(shell $(CC) -dumpmachine)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_CFLAGS := -O2 -g --target=bpf -mcpu=v3 -Wall -Wextra -Werror -Wno-unused-parameter \
	-Iinclude -I$(ARCH_INC)
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -Iuser -I$(BUILD) -MMD -MP
LDLIBS += -lbpf -lelf -lz
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

.DELETE_ON_ERROR:
.PHONY: all help setup test demo bench fuzz install uninstall clean format

# ---- BPF objects and skeletons -------------------------------------------------------------
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) include/voipwall.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ---- Userspace: libvw.a (everything in user/ but main.c) and the voipwall command ------------
LIB_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))

$(BUILD)/user/%.o: user/%.c $(SKELS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libvw.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/voipwall: $(BUILD)/user/main.o $(BUILD)/libvw.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- Tests: every tests/unit/*.c and tests/fuzz/*.c (but libFuzzer targets fuzz_*.c) is one
# program, linked with libvwtest.a (tests/lib/*.c: helpers shared by tests) and libvw.a ----------
TEST_SRCS := $(wildcard tests/unit/*.c) $(filter-out tests/fuzz/fuzz_%.c,$(wildcard tests/fuzz/*.c))
TEST_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(patsubst tests/lib/%.c,$(BUILD)/tests/lib/%.o,$(TESTLIB_SRCS))

$(BUILD)/tests/lib/%.o: tests/lib/%.c $(SKELS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/libvwtest.a: $(TESTLIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/%.c $(BUILD)/libvwtest.a $(BUILD)/libvw.a $(SKELS)
	@mkdir -p $(dir $@)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(BUILD)/libvwtest.a $(BUILD)/libvw.a $(LDLIBS) -o $@

BINS := $(BUILD)/voipwall $(TEST_BINS)
all: $(BPF_OBJS) $(SKELS) $(BINS)

$(BUILD):
	@mkdir -p $@

help:
	@echo 'voipwall make targets:'
	@echo '  all        build the XDP object, skeleton, voipwall and test programs (default)'
	@echo '  setup      install missing Debian packages (build, test, demo, bench)'
	@echo '  demo       set up, build, and run the demonstration in namespaces'
	@echo '  test       set up, build, and run the whole test suite (needs root)'
	@echo '  bench      measure voipwall against a floor program and peers (QUICK=1: short)'
	@echo '  fuzz       long differential packet fuzzing and config-parser libFuzzer run'
	@echo '  install    install to $$(DESTDIR)$$(PREFIX) (binary, object, man page, unit, example)'
	@echo '  format     clang-format all C sources'
	@echo '  clean      remove build output'
	@echo 'Variables: V=1 (show commands), BUILD=dir, SANITIZE=1 (ASan+UBSan), QUICK=1'

setup:
	$(Q)scripts/setup.sh

test: setup
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) PYTHON=$(PYTHON) tests/run.sh

format:
	$(Q)clang-format -i $$(find bpf user include tests bench -name '*.[ch]' 2>/dev/null)

clean:
	$(Q)rm -rf build build-san

# ---- demo, install (issue 4) -----------------------------------------------------------------
# ---- bench (issue 5) -------------------------------------------------------------------------
# ---- fuzz (issue 6) --------------------------------------------------------------------------

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
