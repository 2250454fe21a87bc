# Makefile — builds ovl2fsck, its unit tests and the check catalog.
#
# Pipeline in the tree:
#   src/scan*.c (read the root) -> src/db.c (the scan database) ->
#   src/derive.c + sql/checks/*.sql (embedded by tools/embed.c; each file
#   declares itself: src/catalog.c) run by src/checks.c, src/skip.c (accepted
#   findings) -> src/report*.c -> src/reap*.c and src/repair*.c (what to do),
#   both through the one apply engine src/act*.c (lock, journal, trash,
#   symlink-safe delete, atomic writes, the apply loop, exit codes).
# Every src/*.c except main.c goes into libovl2fsck.a, which the unit tests
# (tests/unit/test_*.c, cmocka) link against. Objects depend on the headers
# they include (-MMD -MP: build/*.d), not on every header.

PKGS     := sqlite3 libcjson libcrypto zlib
CC       ?= cc
CSTD     := -std=c11 -D_GNU_SOURCE
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla -Wpointer-arith
OPT      ?= -O2 -g
CFLAGS   ?=
CPPFLAGS ?=
LDFLAGS  ?=
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS := $(CSTD) $(WARN) $(OPT) -Iinclude -Ibuild $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
LDLIBS     := $(PKG_LIBS) -lpthread
VERSION    := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

BUILD    := build
SRCS     := $(filter-out src/main.c,$(wildcard src/*.c))
OBJS     := $(patsubst src/%.c,$(BUILD)/%.o,$(SRCS)) $(BUILD)/catalog_data.o
CHECKS   := $(sort $(wildcard sql/checks/*.sql))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps test unit unit-bins integration test-versions test-crash demo check-sanitize clean install uninstall bench fuzz deb
# all (plain `make`): install what building needs (compiler, pkg-config, the
# four -dev packages; never a daemon), then build ./ovl2fsck.
all:
	@./tools/install-deps.sh build
	@$(MAKE) --no-print-directory -q ovl2fsck || $(MAKE) --no-print-directory ovl2fsck

# deps: the Debian packages needed to build and test (idempotent); each
# target installs only its own set (tools/install-deps.sh build|test|bench|fuzz|deb).
deps:
	./tools/install-deps.sh build test

$(BUILD):
	mkdir -p $(BUILD) $(BUILD)/tests

$(BUILD)/embed: tools/embed.c | $(BUILD)
	$(CC) $(CSTD) $(WARN) -O1 -o $@ $<

# The catalog and schema are compiled into the binary: adding a check is adding a file.
$(BUILD)/catalog_data.c: $(BUILD)/embed $(CHECKS) sql/schema.sql sql/indexes.sql sql/derive.sql sql/derive_lower.sql
	$(BUILD)/embed sql/schema.sql sql/indexes.sql sql/derive.sql sql/derive_lower.sql $(CHECKS) > $@.tmp && mv $@.tmp $@

$(BUILD)/catalog_data.o: $(BUILD)/catalog_data.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/version.h: VERSION | $(BUILD)
	printf '#define OVL2FSCK_VERSION "%s"\n' "$(VERSION)" > $@.tmp && mv $@.tmp $@

DEPFLAGS := -MMD -MP

$(BUILD)/%.o: src/%.c $(BUILD)/version.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(BUILD)/libovl2fsck.a: $(OBJS)
	rm -f $@ && ar rcs $@ $^

ovl2fsck: $(BUILD)/main.o $(BUILD)/libovl2fsck.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/main.o: src/main.c $(BUILD)/version.h | $(BUILD)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# (the unit tests' dependency files go to build/deps: build/tests holds only test binaries)
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libovl2fsck.a | $(BUILD)
	@mkdir -p $(BUILD)/deps
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $(BUILD)/deps/$*.d -MT $@ -Itests/unit -o $@ $< $(BUILD)/libovl2fsck.a $(LDLIBS) -lcmocka

-include $(wildcard $(BUILD)/*.d $(BUILD)/deps/*.d)

unit-bins: $(UNIT_BINS)

# test: install what the tests need, build, then every unit and integration
# test through prove (TAP); ends with a summary line.
test:
	./tools/install-deps.sh test deb
	$(MAKE) ovl2fsck unit-bins
	./tests/run-all

unit: ovl2fsck $(UNIT_BINS)
	OVL2FSCK_TESTS=unit ./tests/run-all

integration: ovl2fsck
	OVL2FSCK_TESTS=integration ./tests/run-all

# test-versions: the Docker version matrix (tests/integration/t-versions.t):
# stores written by Docker 26.1 (trixie), 28.5 (sid) and a 20.10 store
# upgraded by 28.5, each daemon in a minbase chroot built once from the
# Debian mirror (build/docker-versions/, ~1 min each). Not part of make test;
# nor is the timed kill -9 during docker rm of t-docker-containerd.t.
test-versions: ovl2fsck
	./tools/install-deps.sh test versions
	OVL2FSCK_VERSIONS=1 OVL2FSCK_JOBS=1 ./tests/run-all tests/integration/t-versions.t tests/integration/t-docker-containerd.t

# test-crash: kill -9 of dockerd 20.10, 26.1 and 28.5 during load, builds,
# rmi and system prune, 10+ timed kills each (tests/integration/t-crash.t):
# ovl2fsck finds what an independent walk finds, the reaper clears it, the
# daemon restarts and every image saves and runs; kill -9 of containerd
# during ctr images import (tests/integration/t-containerd-crash.t, its own
# walk tests/tools/ctrdwalk.py). Not part of make test.
test-crash: ovl2fsck
	./tools/install-deps.sh test versions
	OVL2FSCK_CRASH=1 ./tests/run-all tests/integration/t-crash.t tests/integration/t-containerd-crash.t

# demo: ovl2fsck --report on /var/lib/docker, or on the bundled demo store when
# that has no layers. Installs only what building needs. --make: exit 4
# (findings) is the demo working; 8 and 16 still fail the target.
demo:
	@./tools/install-deps.sh build
	@$(MAKE) --no-print-directory -q ovl2fsck || $(MAKE) --no-print-directory ovl2fsck
	@./tools/demo.sh --make

# fuzz: libFuzzer harnesses (tests/fuzz/fuzz_*.c, clang, ASan+UBSan) over the
# store parsers. Each runs FUZZ_SECONDS from its committed seeds
# (tests/fuzz/seeds/NAME) plus what earlier runs kept (build/fuzz/corpus/NAME),
# after replaying tests/fuzz/regress/NAME; crash inputs land in build/fuzz/.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= config repos ids bbolt tarsplit ctrd
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := $(CSTD) -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN) -Iinclude -Ibuild $(PKG_CFLAGS)
FUZZ_OBJS    := $(patsubst src/%.c,$(FUZZ_DIR)/%.o,$(filter-out src/reap%.c,$(SRCS))) $(FUZZ_DIR)/catalog_data.o
FUZZ_BINS    := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))

$(FUZZ_DIR)/%.o: src/%.c $(wildcard include/*.h) $(BUILD)/version.h
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/catalog_data.o: $(BUILD)/catalog_data.c
	@mkdir -p $(FUZZ_DIR)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/libovl2fsck.a: $(FUZZ_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_DIR)/libovl2fsck.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libovl2fsck.a $(LDLIBS)

fuzz:
	./tools/install-deps.sh fuzz
	$(MAKE) fuzz-run

.PHONY: fuzz-run
fuzz-run: $(FUZZ_OBJS) $(FUZZ_BINS)
	FUZZ_DIR=$(FUZZ_DIR) ./tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# check-sanitize: the whole suite with ASan+UBSan (-O2: gcc's -O1 analysis
# raises false format-truncation warnings). Helpers the tests compile
# against build/libovl2fsck.a get the same flags via OVL2FSCK_SAN_CFLAGS.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
check-sanitize:
	$(MAKE) clean
	$(MAKE) OPT="-O2 -g -fno-omit-frame-pointer $(SAN_FLAGS)" ovl2fsck unit-bins
	OVL2FSCK_SAN_CFLAGS="$(SAN_FLAGS)" ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./tests/run-all
	$(MAKE) clean

clean:
	rm -rf $(BUILD) ovl2fsck

# ---- install / uninstall (man page, systemd units, examples) ---------------
# make install [PREFIX=/usr/local] [DESTDIR=/staging]; make uninstall with the
# same variables removes exactly these files (and the doc dirs when empty):
#   $(SBINDIR)/ovl2fsck                          the binary (0755)
#   $(MANDIR)/man8/ovl2fsck.8                    the manual page
#   $(UNITDIR)/ovl2fsck.service, ovl2fsck.timer  daily report to the textfile
#                                                collector; not enabled (run
#                                                systemctl enable --now ovl2fsck.timer)
#   $(DOCDIR)/examples/ovl2fsck.cron             copy to /etc/cron.d/ovl2fsck
#   $(DOCDIR)/examples/ovl2fsck.conf.example     copy to /etc/ovl2fsck.conf
#   $(PLUGINDIR)/docker-fsck                     `docker fsck`: the Docker CLI
#                                                plugin (0755)
# UNITDIR defaults to $(PREFIX)/lib/systemd/system, which systemd searches for
# /usr/local and /usr; the unit and cron paths to the binary are rewritten to
# $(SBINDIR). Nothing is written to /etc.
# make man: regenerate the CHECKS section of the man page from sql/checks.
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/ovl2fsck
UNITDIR    ?= $(PREFIX)/lib/systemd/system
PLUGINDIR  ?= $(PREFIX)/libexec/docker/cli-plugins
INSTALL    ?= install
MAN_PAGE   := man/ovl2fsck.8
DIST_UNITS := dist/ovl2fsck.service dist/ovl2fsck.timer
DIST_EXAMPLES := dist/ovl2fsck.cron dist/ovl2fsck.conf.example
SED_SBIN   := sed -e 's|/usr/local/sbin/ovl2fsck|$(SBINDIR)/ovl2fsck|g'
DIST_PLUGIN := dist/docker-fsck

.PHONY: man
man:
	man/gen-catalog.sh --update $(MAN_PAGE) $(CHECKS)

install: ovl2fsck
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(PLUGINDIR)
	$(INSTALL) -m 0755 ovl2fsck $(DESTDIR)$(SBINDIR)/ovl2fsck
	$(INSTALL) -m 0644 $(MAN_PAGE) $(DESTDIR)$(MANDIR)/man8/ovl2fsck.8
	for f in $(DIST_UNITS); do \
		$(SED_SBIN) $$f > $(DESTDIR)$(UNITDIR)/$${f#dist/}.tmp && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$${f#dist/}.tmp && \
		mv $(DESTDIR)$(UNITDIR)/$${f#dist/}.tmp $(DESTDIR)$(UNITDIR)/$${f#dist/} || exit 1; \
	done
	for f in $(DIST_EXAMPLES); do \
		$(SED_SBIN) $$f > $(DESTDIR)$(DOCDIR)/examples/$${f#dist/}.tmp && \
		chmod 0644 $(DESTDIR)$(DOCDIR)/examples/$${f#dist/}.tmp && \
		mv $(DESTDIR)$(DOCDIR)/examples/$${f#dist/}.tmp $(DESTDIR)$(DOCDIR)/examples/$${f#dist/} || exit 1; \
	done
	$(SED_SBIN) -e 's|^version=@VERSION@$$|version=$(VERSION)|' $(DIST_PLUGIN) > $(DESTDIR)$(PLUGINDIR)/docker-fsck.tmp && \
		chmod 0755 $(DESTDIR)$(PLUGINDIR)/docker-fsck.tmp && \
		mv $(DESTDIR)$(PLUGINDIR)/docker-fsck.tmp $(DESTDIR)$(PLUGINDIR)/docker-fsck

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ovl2fsck $(DESTDIR)$(MANDIR)/man8/ovl2fsck.8
	rm -f $(patsubst dist/%,$(DESTDIR)$(UNITDIR)/%,$(DIST_UNITS))
	rm -f $(patsubst dist/%,$(DESTDIR)$(DOCDIR)/examples/%,$(DIST_EXAMPLES))
	rm -f $(DESTDIR)$(PLUGINDIR)/docker-fsck
	rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# ---- Debian package ----------------------------------------------------------
# make deb: installs debhelper, dpkg-dev and lintian (tools/install-deps.sh deb),
# then tools/mkdeb.sh builds build/deb/ovl2fsck_$(VERSION)_<arch>.deb from
# debian/ (dpkg-buildpackage -us -uc -b in a copy of the tree under build/deb;
# debian/rules runs this Makefile's make install PREFIX=/usr) and lints it
# (lintian errors fail the target).
deb:
	./tools/install-deps.sh deb
	./tools/mkdeb.sh

# ---- bench (issue 4) --------------------------------------------------------
# make bench: installs what it needs (tools/install-deps.sh), builds ovl2fsck,
# the store generator and the floor program, then
# tools/bench/run.sh generates 10k- and 30k-image stores (kept and reused in
# build/bench/stores/), times the floor and ovl2fsck and prints medians.
# BENCH_SIZES, BENCH_RUNS, BENCH_SEED, BENCH_GARBAGE: see tools/bench/run.sh.
BENCH_DIR    := $(BUILD)/bench
BENCH_CFLAGS := $(CSTD) $(WARN) -O2 -g $(PKG_CFLAGS) $(CFLAGS)

$(BENCH_DIR)/genstore: tools/bench/genstore.c
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(PKG_LIBS)

$(BENCH_DIR)/floor: tools/bench/floor.c
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BENCH_DIR)/floor_ctrd: tools/bench/floor_ctrd.c
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BENCH_DIR)/pfloor: tools/bench/pfloor.c
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lpthread

# STORE=containerd: the containerd roots of issue 15 (tools/bench/run-containerd.sh).
# COLD=1 (root): also cold rounds, the page cache dropped before every timed run.
bench:
	./tools/install-deps.sh bench
ifeq ($(STORE),containerd)
	$(MAKE) ovl2fsck $(BENCH_DIR)/floor_ctrd
	./tools/bench/run-containerd.sh
else
	$(MAKE) ovl2fsck $(BENCH_DIR)/genstore $(BENCH_DIR)/floor $(BENCH_DIR)/pfloor
	BENCH_COLD=$(COLD) ./tools/bench/run.sh
endif
