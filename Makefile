# arw-supervisor - plain Makefile.
#   make            build the daemon and the stub runtime into build/
#   make run        install dependencies if missing, build, mount at $(MOUNT)
#   make test       install dependencies if missing, build, run every test
#   make stress     the same build, then 100 SIGKILLs of a busy daemon
#   make bench      the benchmarks in bench/, printed as tables
#   make SANITIZE=address,undefined test   the same under ASan+UBSan (build-asan-ubsan/)

# The tree sits one level below a shared mount point (--shared-parent), so
# that containers which bind /run/arw see it again after a daemon restart;
# /arw links to it (made by `make run` when /arw is free or already a link).
MOUNT     ?= /run/arw/fs
LINK      ?= $(if $(filter /run/arw/fs,$(MOUNT)),/arw)
MANIFESTS ?= $(CURDIR)/configs/runtimes.d
STATE     ?= $(CURDIR)/.run/state
SANITIZE  ?=

comma := ,
ifeq ($(SANITIZE),)
BUILD ?= build
SANFLAGS :=
else
BUILD ?= build-$(subst $(comma),-,$(subst address,asan,$(subst undefined,ubsan,$(subst thread,tsan,$(SANITIZE)))))
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# libcurl: its headers only; the daemon loads it when the first HTTP or TCP
# probe starts (supervisor/probe.c), so that it costs nothing before.
PKGS := fuse3 libcjson
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) libcurl 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CC      ?= cc
WARN    := -Wall -Wextra -Wshadow -Wvla -Wformat=2 -Wstrict-prototypes \
           -Wmissing-prototypes -Wno-format-nonliteral -Wno-format-truncation
ifdef CI
WARN    += -Werror
endif
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -D_GNU_SOURCE -DFUSE_USE_VERSION=312 -MMD -MP $(WARN) -fstack-protector-strong \
           -D_FORTIFY_SOURCE=2 -Icore -Isupervisor -Ifs $(PKG_CFLAGS) $(SANFLAGS)
LDFLAGS += -Wl,-z,relro,-z,now $(SANFLAGS)
LDLIBS  += $(PKG_LIBS) -lpthread

# Everything but main.c goes into one archive that the unit tests link too.
LIB_SRC := $(filter-out supervisor/main.c,$(wildcard core/*.c supervisor/*.c fs/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/arw-supervisor $(BUILD)/stub-llama $(UNIT_BIN) $(BUILD)/tests/wedge-fuse $(BUILD)/tests/hang-fuse

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libarw.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/arw-supervisor: $(BUILD)/supervisor/main.o $(BUILD)/libarw.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/stub-llama: $(BUILD)/examples/stub-llama.o
	$(CC) $(LDFLAGS) -o $@ $^ -lpthread

# a FUSE daemon that wedges when killed, for the start-up tests
$(BUILD)/tests/wedge-fuse: $(BUILD)/tests/helpers/wedge-fuse.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# a FUSE daemon that never answers a lookup, for processes that cannot die
$(BUILD)/tests/hang-fuse: $(BUILD)/tests/helpers/hang-fuse.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libarw.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@./tests/install-deps.sh

test-deps:
	@./tests/install-deps.sh test

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p $(STATE)
	@chmod go-w configs/runtimes.d/*.json   # a clone made under umask 002 is group-writable
	@if [ -n "$(LINK)" ]; then \
		if { [ -L "$(LINK)" ] || [ ! -e "$(LINK)" ] || rmdir "$(LINK)" 2>/dev/null; } && \
			ln -sfn "$(MOUNT)" "$(LINK)" 2>/dev/null; then :; \
		else echo "note: $(LINK) exists and is not an empty folder or a link: use $(MOUNT)"; fi; \
	fi
	@echo "arw-supervisor: mounting at $(MOUNT)$(if $(LINK), ($(LINK) links to it)) (Ctrl-C stops every runtime and unmounts)"
	$(BUILD)/arw-supervisor -f --shared-parent --mount $(MOUNT) --manifests $(MANIFESTS) --state $(STATE)

unit: all
	@./tests/run.sh unit $(BUILD)

integration: all
	@./tests/run.sh integration $(BUILD)

test: test-deps
	@$(MAKE) --no-print-directory all
	@./tests/run.sh all $(BUILD)

# SIGKILL stress: 100 kills of a busy daemon (make test runs a few)
# benchmarks that print tables (docs/performance.md); tests never time anything
bench: deps
	@./tests/install-deps.sh bench
	@$(MAKE) --no-print-directory all
	@python3 bench/vs.py $(BUILD)
	@echo
	@bench/restart.sh 20 $(BUILD)
	@echo
	@bench/reads.sh 2 $(BUILD)
	@echo
	@bench/stop_tree.sh 1000 5 $(BUILD)
	@echo
	@bench/scale.sh 30 "1 100 1000" $(BUILD)
	@echo
	@bench/probes.sh 1000 5000 30 $(BUILD)

stress: deps
	@$(MAKE) --no-print-directory all
	@ARW_KILL9_ROUNDS=$${ARW_KILL9_ROUNDS:-100} ./tests/run.sh stress $(BUILD)

clean:
	rm -rf build build-* .run

.PHONY: all deps test-deps run unit integration test bench stress clean
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
