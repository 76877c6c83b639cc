# mailsift - bulk email list cleaning engine.
# Targets: all (the mailsift binary), test, check-asan (the same suite under ASan+UBSan),
# fuzz (libFuzzer targets, clang), lint (clang -Werror build, cppcheck, clang-tidy), bench,
# man, deb (the Debian package), image (the OCI image), data (refresh the flag lists),
# install, clean.

PROG     := mailsift
VERSION  := 0.1.0
PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
PKGS     := libevent libevent_openssl libcares openssl sqlite3 zlib libpsl libidn2 jansson

WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wcast-qual -Werror
# Debian's hardening flags (dpkg-buildflags) for the default build, which make deb packages
CFLAGS   ?= -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection
LDFLAGS  ?= -Wl,-z,relro -Wl,-z,now -Wl,--as-needed
# The license label of the image (SPDX); the project has not chosen one yet
LICENSE  ?= NOASSERTION
# The Debian package and the OCI image (make deb, make image)
DEB      := $(BUILD)/$(PROG)_$(VERSION)_$(shell dpkg --print-architecture 2>/dev/null || echo amd64).deb
IMAGE    := $(BUILD)/$(PROG)-$(VERSION)-oci.tar
CPPFLAGS += -D_GNU_SOURCE -DMAILSIFT_VERSION='"$(VERSION)"' -I. $(shell pkg-config --cflags $(PKGS))
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lspf2 -lm
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# Sources by folder (DESIGN.md: one concern per file).
SCHEMA_SRC    := schema/store.c schema/verdict.c $(BUILD)/gen/migrations.c
IMPORTERS_SRC := importers/instream.c importers/csv.c importers/addr.c importers/flags.c importers/prepare.c \
                 importers/suggest.c importers/check.c importers/columns.c importers/import.c \
                 importers/given.c \
                 $(BUILD)/gen/lists.c
EXPORTERS_SRC := exporters/export.c exporters/rowpipe.c exporters/report.c exporters/verify_json.c \
                 exporters/session_log.c
ENGINE_SRC    := engine/config.c engine/decide.c \
                 engine/providers.c engine/smtp.c engine/sched.c engine/run.c \
                 engine/sched_flow.c engine/sched_route.c engine/sched_probe.c
ENGINE_SRC    += engine/dns.c
ENGINE_SRC    += engine/netaddr.c
ENGINE_SRC    += engine/reply.c
ENGINE_SRC    += engine/lookup.c engine/spf.c engine/doctor.c engine/doctor_smtp.c
CLI_SRC       := cli/options.c cli/signals.c cli/progress.c cli/stages.c cli/cmd_clean.c \
                 cli/cmd_explain.c \
                 cli/cmd_import.c cli/cmd_run.c cli/cmd_export.c cli/cmd_status.c cli/cmd_verify.c \
                 cli/cmd_serve.c cli/cmd_doctor.c cli/cmd_merge.c
SERVER_SRC    := server/server.c server/realtime.c server/jobs.c server/jobs_drive.c server/webhook.c server/tls.c server/web.c server/http.c \
                 server/keys.c $(BUILD)/gen/web.c
MAIN_SRC      := cli/main.c
COMMON_SRC    := common/hash.c common/clock.c common/ipaddr.c common/timeval.c common/csvquote.c \
                 common/json.c common/err.c common/shard.c common/bloom.c common/fdlimit.c \
                 common/trace.c

LIB_SRC  := $(SCHEMA_SRC) $(IMPORTERS_SRC) $(EXPORTERS_SRC) $(ENGINE_SRC) $(CLI_SRC) $(SERVER_SRC) \
            $(COMMON_SRC)
LIB_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(patsubst $(BUILD)/%,%,$(LIB_SRC)))
LIB      := $(BUILD)/libmailsift.a

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# Each fuzz target also built with tests/fuzz/replay.c (no libFuzzer): make test replays its
# seeds and past findings (tests/fuzz/seeds/NAME/) with the suite's compiler and sanitizers.
REPLAY_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/replay/%,$(FUZZ_SRC))

# Data embedded in the binary: SQL migrations and the flag lists.
MIGRATIONS := $(sort $(wildcard schema/migrations/*.sql))
LISTS      := importers/data/role.txt importers/data/disposable.txt importers/data/free.txt

.PHONY: all test check-asan fuzz lint bench bench-big bench-engine bench-serve bench-shards man deb image data install clean
all: $(BUILD)/$(PROG)

$(BUILD)/$(PROG): $(BUILD)/cli/main.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/%.o: $(BUILD)/gen/%.c
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -c -o $@ $<

$(BUILD)/gen/migrations.c: $(MIGRATIONS) tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh text store_migrations $(MIGRATIONS) > $@

# The web page (served by mailsift serve at /), in the order server/web.c names its paths.
WEB := web/index.html web/app.css web/app.js
$(BUILD)/gen/web.c: $(WEB) tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh text web_files $(WEB) > $@

$(BUILD)/gen/lists.c: $(LISTS) tools/embed.sh
	@mkdir -p $(dir $@)
	sh tools/embed.sh lines flags_role importers/data/role.txt > $@
	sh tools/embed.sh lines flags_disposable importers/data/disposable.txt >> $@
	sh tools/embed.sh lines flags_free importers/data/free.txt >> $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB) tests/check.h tests/daemon.h tests/tmpdir.h
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -Wno-missing-prototypes $(CFLAGS) $(CPPFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/replay/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -Wno-missing-prototypes $(CFLAGS) $(CPPFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB) $(LDLIBS)

# The loopback mail world's DNS server (tests/world/README.md).
$(BUILD)/tests/world/dnsd: tests/world/dnsd.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< $(shell pkg-config --libs libevent)

# The loopback mail world's SMTP server (tests/world/README.md).
WORLD_PKGS := libevent libevent_openssl openssl
$(BUILD)/tests/world/smtpd: tests/world/smtpd.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) -D_GNU_SOURCE $(shell pkg-config --cflags $(WORLD_PKGS)) $(LDFLAGS) \
	  -o $@ $< $(shell pkg-config --libs $(WORLD_PKGS))
test: $(BUILD)/tests/world/smtpd

# The test command (README): unit, golden and end-to-end tests; ends with "N passed, N failed".
# tests/t_package.sh checks the package and the image made from this build.
test: $(DEB) $(IMAGE)
test: all $(UNIT_BIN) $(REPLAY_BIN) $(BUILD)/tests/world/dnsd
	sh tests/run.sh $(BUILD)

# The same suite under AddressSanitizer and UndefinedBehaviorSanitizer, in its own build tree.
check-asan:
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)" test

# libFuzzer targets (clang), run briefly each: make fuzz FUZZ_SECONDS=60
FUZZ_SECONDS ?= 20
fuzz:
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libmailsift.a
	@mkdir -p build-fuzz/fuzz
	for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  clang $(CPPFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined -o build-fuzz/fuzz/$$n $$f \
	    build-fuzz/libmailsift.a $(LDLIBS) && \
	  mkdir -p build-fuzz/corpus/$$n && \
	  build-fuzz/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) build-fuzz/corpus/$$n tests/fuzz/seeds/$$n || exit 1; \
	done

# Static analysis: everything built by clang with -Werror (its own tree), then cppcheck and
# clang-tidy over the sources (tools/lint.sh: the checks and the reasoned suppressions).
lint:
	$(MAKE) BUILD=build-clang CC=clang all $(patsubst $(BUILD)/%,build-clang/%,$(UNIT_BIN) $(REPLAY_BIN)) \
	  build-clang/tests/world/dnsd build-clang/tests/world/smtpd
	sh tools/lint.sh build-clang

bench: all $(BUILD)/tests/world/smtpd $(BUILD)/tests/world/dnsd
	sh bench/run.sh $(BUILD)
	sh bench/engine.sh $(BUILD)
	sh bench/serve.sh $(BUILD)
	sh bench/shards.sh $(BUILD)

# Import and export at 2M, 8M and 32M rows (bench/run.sh; 32M rows need ~20 GiB of disk
# and the run takes ~15 minutes on 2 cores, hence not in make bench).
bench-big: all
	BENCH_SIZES="2000000 8000000 32000000" sh bench/run.sh $(BUILD)

# Only the shards benchmark (bench/shards.sh: 1, 2 and 4 shards on their own sources; merge).
bench-shards: all $(BUILD)/tests/world/smtpd $(BUILD)/tests/world/dnsd
	sh bench/shards.sh $(BUILD)

# Only the serve benchmark (bench/serve.sh: real-time checks, upload, import through the API).
bench-serve: all $(BUILD)/tests/world/smtpd $(BUILD)/tests/world/dnsd
	sh bench/serve.sh $(BUILD)

# Only the probe engine benchmark (bench/engine.sh; BENCH_QUICK=1 for a short run).
bench-engine: all $(BUILD)/tests/world/smtpd $(BUILD)/tests/world/dnsd
	sh bench/engine.sh $(BUILD)

# Refresh the flag lists from their npm packages (sources and licenses: importers/data/SOURCES).
data:
	sh tools/update-lists.sh

# The man pages, made from each command's --help by help2man (tools/man.sh), in $(BUILD)/man.
man: all
	sh tools/man.sh $(BUILD)/$(PROG) $(BUILD)/man

# The Debian package (tools/deb.sh: Depends computed by dpkg-shlibdeps) and the OCI image made
# from it (tools/image.sh: mmdebstrap and umoci, no container daemon; needs root and the mirror).
deb: $(DEB)
image: $(IMAGE)
$(DEB): $(BUILD)/$(PROG) tools/deb.sh tools/man.sh deploy/mailsift-serve.service deploy/mailsift.default \
        deploy/bash-completion/mailsift deploy/debian/copyright deploy/debian/changelog
	sh tools/man.sh $(BUILD)/$(PROG) $(BUILD)/man
	sh tools/deb.sh $(BUILD) $(VERSION)
$(IMAGE): $(DEB) tools/image.sh
	sh tools/image.sh $(BUILD) $(VERSION) $(DEB) $(LICENSE)

install: all man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(BUILD)/$(PROG) $(DESTDIR)$(PREFIX)/bin/$(PROG)
	install -m 644 $(BUILD)/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 deploy/bash-completion/mailsift \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mailsift

clean:
	rm -rf build build-asan build-fuzz build-clang

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
