# Makefile — builds ovl2fsck, its unit tests and the check catalog.
#
# Pipeline in the tree: src/scan*.c -> src/db.c -> sql/checks/*.sql (embedded
# by tools/embed.c) -> src/checks.c -> src/report*.c -> src/reap*.c.
# Every src/*.c except main.c goes into libovl2fsck.a, which the unit tests
# (tests/unit/test_*.c, cmocka) link against.

PKGS     := sqlite3 libcjson libcrypto zlib
CC       ?= cc
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla -Wpointer-arith
OPT      ?= -O2 -g
CFLAGS   ?=
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS := $(CSTD) $(WARN) $(OPT) -Iinclude -Ibuild $(PKG_CFLAGS) $(CFLAGS)
LDLIBS     := $(PKG_LIBS) -lpthread
VERSION    := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

BUILD    := build
SRCS     := $(filter-out src/main.c,$(wildcard src/*.c))
OBJS     := $(patsubst src/%.c,$(BUILD)/%.o,$(SRCS)) $(BUILD)/catalog_data.o
CHECKS   := $(sort $(wildcard sql/checks/*.sql))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps test unit unit-bins integration demo check-sanitize clean install uninstall bench fuzz
all: ovl2fsck

# deps: the Debian packages needed to build and test (idempotent).
deps:
	./tools/install-deps.sh

$(BUILD):
	mkdir -p $(BUILD) $(BUILD)/tests

$(BUILD)/embed: tools/embed.c | $(BUILD)
	$(CC) $(CSTD) $(WARN) -O1 -o $@ $<

# The catalog and schema are compiled into the binary: adding a check is adding a file.
$(BUILD)/catalog_data.c: $(BUILD)/embed $(CHECKS) sql/schema.sql sql/indexes.sql
	$(BUILD)/embed sql/schema.sql sql/indexes.sql $(CHECKS) > $@.tmp && mv $@.tmp $@

$(BUILD)/catalog_data.o: $(BUILD)/catalog_data.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/version.h: VERSION | $(BUILD)
	printf '#define OVL2FSCK_VERSION "%s"\n' "$(VERSION)" > $@.tmp && mv $@.tmp $@

$(BUILD)/%.o: src/%.c $(wildcard include/*.h) $(BUILD)/version.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libovl2fsck.a: $(OBJS)
	rm -f $@ && ar rcs $@ $^

ovl2fsck: $(BUILD)/main.o $(BUILD)/libovl2fsck.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/main.o: src/main.c $(wildcard include/*.h) $(BUILD)/version.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libovl2fsck.a $(wildcard tests/unit/*.h) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libovl2fsck.a $(LDLIBS) -lcmocka

unit-bins: $(UNIT_BINS)

# test: install what the tests need, build, then every unit and integration
# test through prove (TAP); ends with a summary line.
test:
	./tools/install-deps.sh
	$(MAKE) ovl2fsck unit-bins
	./tests/run-all

unit: ovl2fsck $(UNIT_BINS)
	OVL2FSCK_TESTS=unit ./tests/run-all

integration: ovl2fsck
	OVL2FSCK_TESTS=integration ./tests/run-all

# demo: ovl2fsck --report on /var/lib/docker, or on the bundled demo store when there is none.
demo:
	./tools/install-deps.sh
	$(MAKE) ovl2fsck
	./tools/demo.sh

check-sanitize:
	$(MAKE) clean
	$(MAKE) OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" ovl2fsck unit-bins
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./tests/run-all
	$(MAKE) clean

clean:
	rm -rf $(BUILD) ovl2fsck
