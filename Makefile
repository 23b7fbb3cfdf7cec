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
CFLAGS += -pthread -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -Iuser -I$(BUILD) -MMD -MP
LDLIBS += -lxdp -lbpf -lelf -lz -pthread
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

.DELETE_ON_ERROR:
.DEFAULT_GOAL := all
.PHONY: all help setup test demo bench fuzz install uninstall clean format pkg

# ---- BPF objects and skeletons -------------------------------------------------------------
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) include/voipwall.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# The lookup-counting test build includes the program's source.
$(BUILD)/voipwall_count.bpf.o: bpf/voipwall.bpf.c

# The skeleton names the shared structs of global variables: it includes their header itself.
$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q){ echo '#include "voipwall.h"'; $(BPFTOOL) gen skeleton $<; } > $@

# ---- Userspace: libvw.a (everything in user/ but main.c) and the voipwall command ------------
LIB_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))

$(BUILD)/user/%.o: user/%.c | $(SKELS) $(BUILD)
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

$(BUILD)/tests/lib/%.o: tests/lib/%.c | $(SKELS) $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/libvwtest.a: $(TESTLIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/%.c $(BUILD)/libvwtest.a $(BUILD)/libvw.a | $(SKELS)
	@mkdir -p $(dir $@)
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(BUILD)/libvwtest.a $(BUILD)/libvw.a $(LDLIBS) -o $@

BINS := $(BUILD)/voipwall $(TEST_BINS)
all: $(BPF_OBJS) $(SKELS) $(BINS) pkg

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
	@echo '  mutate     prove the fast suites catch each small wrong change of tests/mutants.txt'
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

# ---- demo, install -----------------------------------------------------------------
# demo: scripts/demo.sh installs what is missing, builds $(BUILD), runs the scene in namespaces.
# install: PREFIX (default /usr/local) and DESTDIR as usual; /etc files go under DESTDIR only, and
# an existing /etc/voipwall/voipwall.conf or /etc/default/voipwall is never overwritten.
SBINDIR ?= $(PREFIX)/sbin
VW_LIBDIR ?= $(PREFIX)/lib/voipwall
MAN8DIR ?= $(PREFIX)/share/man/man8
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc

# systemd units and their helper, with the install paths filled in ($(BUILD)/packaging: install
# copies these; tests run and verify them from there)
UNITS := voipwall.service voipwall@.service voipwall-exporter.service \
	voipwall-textfile.service voipwall-textfile.timer voipwall-reload.path \
	voipwall-reload.service
PKG_OUT := $(addprefix $(BUILD)/packaging/,$(UNITS) voipwall-textfile)

$(BUILD)/packaging/%: packaging/% Makefile | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@VW_LIBDIR@|$(VW_LIBDIR)|g' $< > $@
	$(Q)chmod --reference=$< $@

pkg: $(PKG_OUT)

demo:
	$(Q)BUILD=$(BUILD) PYTHON=$(PYTHON) scripts/demo.sh

install: $(BUILD)/voipwall $(BUILD)/voipwall.bpf.o $(PKG_OUT)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(VW_LIBDIR) $(DESTDIR)$(MAN8DIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/voipwall $(DESTDIR)$(SYSCONFDIR)/default
	$(Q)install -m 0755 $(BUILD)/voipwall $(DESTDIR)$(SBINDIR)/voipwall
	$(Q)install -m 0644 $(BUILD)/voipwall.bpf.o $(DESTDIR)$(VW_LIBDIR)/voipwall.bpf.o
	$(Q)install -m 0644 packaging/voipwall.8 $(DESTDIR)$(MAN8DIR)/voipwall.8
	$(Q)for u in $(UNITS); do install -m 0644 $(BUILD)/packaging/$$u $(DESTDIR)$(UNITDIR)/$$u; done
	$(Q)install -m 0755 $(BUILD)/packaging/voipwall-textfile $(DESTDIR)$(VW_LIBDIR)/voipwall-textfile
	$(Q)install -m 0644 examples/voipwall.conf $(DESTDIR)$(SYSCONFDIR)/voipwall/voipwall.conf.example
	$(Q)[ -e $(DESTDIR)$(SYSCONFDIR)/default/voipwall ] || \
		install -m 0644 packaging/voipwall.default $(DESTDIR)$(SYSCONFDIR)/default/voipwall

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/voipwall $(DESTDIR)$(VW_LIBDIR)/voipwall.bpf.o \
		$(DESTDIR)$(VW_LIBDIR)/voipwall-textfile $(DESTDIR)$(MAN8DIR)/voipwall.8 \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS)) \
		$(DESTDIR)$(SYSCONFDIR)/voipwall/voipwall.conf.example
	$(Q)rmdir $(DESTDIR)$(VW_LIBDIR) 2>/dev/null || true
	$(Q)for f in $(DESTDIR)$(SYSCONFDIR)/voipwall/voipwall.conf $(DESTDIR)$(SYSCONFDIR)/default/voipwall; do \
		[ ! -e "$$f" ] || echo "uninstall: kept your $$f"; done

# ---- bench -------------------------------------------------------------------------
# bench/*.bpf.c: programs the benchmark loads itself (the traffic generator), with skeletons in
# $(BUILD)/bench; every other bench/*.c is one program, $(BUILD)/bench/<name>, linked with libvw.a.
# `make bench` runs scripts/bench.sh (QUICK=1: the short run); the figures go to $(BUILD)/bench.json.
BENCH_BPF_SRCS := $(wildcard bench/*.bpf.c)
BENCH_SKELS := $(patsubst bench/%.bpf.c,$(BUILD)/bench/%.skel.h,$(BENCH_BPF_SRCS))
.SECONDARY: $(BENCH_SKELS:.skel.h=.bpf.o)
BENCH_SRCS := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
# A plain make builds the benchmark's programs too.
all: $(BENCH_BINS)

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c include/voipwall.h | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# The benchmark build without the capture hook includes the program's source.
$(BUILD)/bench/voipwall_nocap.bpf.o: bpf/voipwall.bpf.c $(wildcard bpf/*.h)

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(BENCH_BINS): $(BUILD)/bench/%: bench/%.c $(BENCH_SKELS) $(SKELS) $(BUILD)/libvw.a
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Ibench -I$(BUILD)/bench $(LDFLAGS) $< $(BUILD)/libvw.a $(LDLIBS) -o $@

bench: $(BENCH_BINS) $(BPF_OBJS) $(BUILD)/voipwall
	$(Q)BUILD=$(BUILD) QUICK=$(QUICK) PYTHON=$(PYTHON) scripts/bench.sh

# ---- fuzz --------------------------------------------------------------------------
# fuzz-config: the config parser's libFuzzer target. It links user/config.c, user/addrtext.c and
# user/names.c directly (libvw.a is built without coverage instrumentation) and runs for
# FUZZ_SECONDS on a fresh copy of tests/fuzz/corpus/config; libFuzzer exits non-zero on a crash,
# a leak, a timeout (FUZZ_TIMEOUT seconds per input) or a failed check, and so does the target.
FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 10
FUZZ_CC_FLAGS := -g -O1 -pthread -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -Iuser
FUZZ_CONFIG_SRCS := tests/fuzz/fuzz_config.c user/config.c user/names.c user/addrtext.c
FUZZ_CONFIG_DEPS := $(FUZZ_CONFIG_SRCS) user/config.h user/names.h user/addrtext.h user/sidejob.h include/voipwall.h

$(BUILD)/fuzz/fuzz_config: $(FUZZ_CONFIG_DEPS) | $(BUILD)
	@mkdir -p $(dir $@)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CC_FLAGS) $(FUZZ_CONFIG_SRCS) -o $@

.PHONY: fuzz-config
fuzz-config: $(BUILD)/fuzz/fuzz_config
	$(Q)rm -rf $(BUILD)/fuzz/corpus-config && mkdir -p $(BUILD)/fuzz/corpus-config \
		$(BUILD)/fuzz/artifacts-config
	$(Q)cp tests/fuzz/corpus/config/* $(BUILD)/fuzz/corpus-config/
	$(call msg,FUZZ,config parser for $(FUZZ_SECONDS)s)
	$(Q)$(BUILD)/fuzz/fuzz_config -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) \
		-rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
		-dict=tests/fuzz/fuzz_config.dict -artifact_prefix=$(BUILD)/fuzz/artifacts-config/ \
		$(BUILD)/fuzz/corpus-config >$(BUILD)/fuzz/fuzz-config.log 2>&1 || \
		{ tail -n 60 $(BUILD)/fuzz/fuzz-config.log; \
		  echo "fuzz-config: FAILED, reproducer in $(BUILD)/fuzz/artifacts-config/"; exit 1; }
	$(Q)grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)|cov: ' \
		$(BUILD)/fuzz/fuzz-config.log | tail -n 4
# end of fuzz-config

# fuzz-diff: the differential packet fuzzer $(BUILD)/tests/fuzz/diff (reference
# model tests/lib/refmodel.c, frame and config generator tests/lib/gen.c). It replays
# tests/fuzz/regressions.txt, then runs FUZZ_FRAMES random frames under random configs through the
# XDP program (bpf_prog_test_run, needs root) and the model; any mismatch prints a reproducer and
# fails. FUZZ_SEED fixes the seed (default: random, printed); FUZZ_PCAPS seeds from captures.
# `make fuzz` = fuzz-diff with at least 1,000,000 frames, then fuzz-config.
FUZZ_FRAMES ?= 1000000
FUZZ_SEED ?=
FUZZ_PCAPS ?= tests/data/pcaps

.PHONY: fuzz-diff
fuzz-diff: $(BUILD)/tests/fuzz/diff
	$(call msg,FUZZ,$(FUZZ_FRAMES) frames: XDP program against the reference model)
	$(Q)$(BUILD)/tests/fuzz/diff --frames $(FUZZ_FRAMES) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED)) \
		--regressions tests/fuzz/regressions.txt --pcaps $(FUZZ_PCAPS)

fuzz:
	$(Q)$(MAKE) --no-print-directory fuzz-diff
	$(Q)$(MAKE) --no-print-directory fuzz-config
# end of fuzz-diff


# ---- mutate ----------------------------------------------------------------------------------
# scripts/mutate.py copies the tree to a scratch directory, builds it, runs the fast suites on it
# unchanged, then applies each mutant of tests/mutants.txt in turn (rebuild, run the suites named
# for it until one fails) and prints a caught/missed table. It fails when a mutant is missed, no
# longer applies (its original text is not found exactly once) or does not build. Needs root.
.PHONY: mutate
mutate:
	$(Q)$(PYTHON) scripts/mutate.py --catalog tests/mutants.txt


-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
