# k1s — the one build entry point.
#
#   make            build build/release/k1s (+ bin/kubectl-lite link)
#   make run        install missing deps, build, start a one-node cluster
#   make test       install missing deps, build, run every test
#   make asan|tsan  the unit tests under AddressSanitizer / ThreadSanitizer
#   make sim        the Raft simulation (SEEDS=N, SEED=S to replay one)
#   make fuzz       every libFuzzer target for FUZZ_SECONDS each
#   make bench      benchmarks (never part of `make test`)
#
# Sources are found by directory: every .c in a module directory is part of
# libk1s.a; tests/unit/<module>/test_*.c, tests/sim/*.c, tests/fuzz/fuzz_*.c
# and tests/bench/bench_*.c are one executable each. Adding a file never
# needs an edit here.

.DEFAULT_GOAL := all
SHELL := /bin/bash

FLAVOUR ?= release
B := build/$(FLAVOUR)
PREFIX ?= /usr/local
DESTDIR ?=
SEEDS ?= 1000
SEED ?=
FUZZ_SECONDS ?= 20
DATA_DIR ?= ./k1s-data
RUN_ARGS ?=

MODULES := lib store store/raft apiserver scheduler controllers agent \
           kubectl-lite
PKGS := libmicrohttpd jansson sqlite3 yaml-0.1 libcurl

CC ?= cc
ifeq ($(FLAVOUR),fuzz)
CC := clang
endif

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wvla -Wimplicit-fallthrough \
        -Wwrite-strings -Wundef -Werror
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -I. -pthread -MMD -MP -g $(WARN)

ifeq ($(FLAVOUR),release)
FL_CFLAGS := -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
FL_LDFLAGS :=
else ifeq ($(FLAVOUR),asan)
FL_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=undefined -DK1S_SANITIZER=1
FL_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(FLAVOUR),tsan)
FL_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=thread -DK1S_SANITIZER=1
FL_LDFLAGS := -fsanitize=thread
else ifeq ($(FLAVOUR),fuzz)
FL_CFLAGS := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined,fuzzer-no-link \
             -DK1S_FUZZ=1 -DK1S_SANITIZER=1
FL_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(FLAVOUR),debug)
FL_CFLAGS := -O0
FL_LDFLAGS :=
else
$(error unknown FLAVOUR '$(FLAVOUR)': release, asan, tsan, fuzz, debug)
endif

# pkg-config is asked lazily so that `make deps` works before the .pc files
# exist.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS_ALL = $(BASE_CFLAGS) $(FL_CFLAGS) $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm $(LDLIBS)

# ---------------------------------------------------------------- sources
LIB_SRCS := $(foreach m,$(MODULES),$(wildcard $(m)/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/%.o)
TESTLIB_SRCS := $(wildcard tests/lib/*.c)
TESTLIB_OBJS := $(TESTLIB_SRCS:%.c=$(B)/%.o)

UNIT_SRCS := $(wildcard tests/unit/*/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(B)/%)
SIM_SRCS := $(wildcard tests/sim/*.c)
SIM_MAIN_SRCS := $(shell grep -l '^int main' $(SIM_SRCS) /dev/null 2>/dev/null)
SIM_LIB_SRCS := $(filter-out $(SIM_MAIN_SRCS),$(SIM_SRCS))
SIM_LIB_OBJS := $(SIM_LIB_SRCS:%.c=$(B)/%.o)
SIM_BINS := $(SIM_MAIN_SRCS:%.c=$(B)/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRCS := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(BENCH_SRCS:%.c=$(B)/%)
CRASH_SRCS := $(wildcard tests/crash/*.c)
CRASH_BINS := $(CRASH_SRCS:%.c=$(B)/%)

K1S := $(B)/k1s

# ---------------------------------------------------------------- build
.PHONY: all
all: $(K1S) $(B)/bin/kubectl-lite

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/libk1s.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(B)/libk1stest.a: $(TESTLIB_OBJS) $(SIM_LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(K1S): $(B)/main.o $(B)/libk1s.a
	$(CC) $(FL_LDFLAGS) -pthread -o $@ $^ $(LDLIBS_ALL)

# In bin/: $(B)/kubectl-lite/ is the module's object directory.
$(B)/bin/kubectl-lite: $(K1S)
	@mkdir -p $(@D)
	ln -sf ../k1s $@

# Test code may define non-static helpers without prototypes; relax that
# one warning there.
TEST_CFLAGS = $(CFLAGS_ALL) -Wno-missing-prototypes

$(B)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c $< -o $@

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(B)/libk1stest.a $(B)/libk1s.a
	$(CC) $(FL_LDFLAGS) -pthread -o $@ $^ -lcmocka $(LDLIBS_ALL)

$(B)/tests/sim/%: $(B)/tests/sim/%.o $(B)/libk1stest.a $(B)/libk1s.a
	$(CC) $(FL_LDFLAGS) -pthread -o $@ $^ $(LDLIBS_ALL)

# The simulation's teeth: the Raft core compiled again with
# -DRAFT_INJECT_BUGS (so the production core carries no bug code), linked
# only into tests/sim/sim_bugs.
RAFT_BUG_OBJS := $(patsubst %.c,$(B)/raftbugs/%.o,$(wildcard store/raft/*.c))
$(B)/raftbugs/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -DRAFT_INJECT_BUGS -c $< -o $@

$(B)/tests/sim/sim_bugs: $(B)/tests/sim/sim_bugs.o $(RAFT_BUG_OBJS) \
                         $(B)/libk1stest.a $(B)/libk1s.a
	$(CC) $(FL_LDFLAGS) -pthread -o $@ $^ $(LDLIBS_ALL)

$(B)/tests/bench/%: $(B)/tests/bench/%.o $(B)/libk1stest.a $(B)/libk1s.a
	$(CC) $(FL_LDFLAGS) -pthread -o $@ $^ $(LDLIBS_ALL)

$(B)/tests/crash/%: $(B)/tests/crash/%.o $(B)/libk1stest.a $(B)/libk1s.a
	$(CC) $(FL_LDFLAGS) -pthread -o $@ $^ $(LDLIBS_ALL)

.PHONY: test-bins
test-bins: all $(UNIT_BINS) $(SIM_BINS) $(CRASH_BINS)

# ---------------------------------------------------------------- deps
# Installs only what dpkg says is missing; a prepared machine never touches
# apt. apt-get update runs once, first, because a fresh machine's package
# lists may be empty.
BUILD_DEBS := gcc make pkg-config libmicrohttpd-dev libjansson-dev \
              libsqlite3-dev libyaml-dev libcurl4-openssl-dev
TEST_DEBS := libcmocka-dev python3-kubernetes python3-yaml curl procps
FUZZ_DEBS := clang libclang-rt-14-dev

define install_debs
	@missing=""; for p in $(1); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' \
	        || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing$$missing"; \
	    SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing \
	        || { echo "deps: apt-get install$$missing failed" >&2; exit 1; }; \
	fi
endef

.PHONY: deps deps-test deps-fuzz
deps:
	$(call install_debs,$(BUILD_DEBS))
deps-test: deps
	$(call install_debs,$(TEST_DEBS))
	@command -v kubectl >/dev/null || echo "deps: WARNING: kubectl is not on PATH; the kubectl integration tests will fail (it is not a Debian package: install kubectl 1.32 at /usr/bin/kubectl)" >&2
deps-fuzz: deps
	$(call install_debs,$(FUZZ_DEBS))

# ---------------------------------------------------------------- run
.PHONY: run
run: deps
	$(MAKE) --no-print-directory all
	$(K1S) server --data-dir $(DATA_DIR) $(RUN_ARGS)

# ---------------------------------------------------------------- tests
.PHONY: test unit sim asan tsan crash integration
test: deps-test
	$(MAKE) --no-print-directory test-bins
	tests/run --build $(B) all

unit: test-bins
	tests/run --build $(B) unit

integration: test-bins
	tests/run --build $(B) integration

sim: $(SIM_BINS)
	tests/run --build $(B) sim --seeds $(SEEDS) $(if $(SEED),--seed $(SEED))

asan:
	$(MAKE) --no-print-directory deps-test
	$(MAKE) --no-print-directory FLAVOUR=asan test-bins
	tests/run --build build/asan unit sim

tsan:
	$(MAKE) --no-print-directory deps-test
	$(MAKE) --no-print-directory FLAVOUR=tsan test-bins
	tests/run --build build/tsan unit

# ---------------------------------------------------------------- fuzz
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/tests/fuzz/%)
.PHONY: fuzz fuzz-bins
fuzz: deps-fuzz
	$(MAKE) --no-print-directory FLAVOUR=fuzz fuzz-bins
	tests/run --build build/fuzz fuzz --fuzz-seconds $(FUZZ_SECONDS)

fuzz-bins: $(FUZZ_BINS)

build/fuzz/tests/fuzz/%: build/fuzz/tests/fuzz/%.o build/fuzz/libk1s.a
	$(CC) $(FL_LDFLAGS) -fsanitize=fuzzer -pthread -o $@ $^ $(LDLIBS_ALL)

# ---------------------------------------------------------------- bench
.PHONY: bench
bench: deps-test
	$(MAKE) --no-print-directory all $(BENCH_BINS)
	tests/run --build $(B) bench

# ---------------------------------------------------------------- misc
FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
.PHONY: format format-check install clean
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "format-check: ok"

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(K1S) $(DESTDIR)$(PREFIX)/bin/k1s
	ln -sf k1s $(DESTDIR)$(PREFIX)/bin/kubectl-lite

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
