# mod_winmdm: build, test, run.
#
# The module is built with apxs; the protocol core (src/wm_*.c) is also
# linked on its own into the unit tests. `make run`, `make test`,
# `make bench` and `make deb` each install the Debian packages they need
# when they are missing (scripts/deps.sh): running needs httpd, the build
# tools and SQLite; the test and benchmark tools come with their targets.

APXS      ?= apxs
CC        ?= gcc
WARN       = -std=c99 -Wall -Wextra -Werror -Wshadow -Wformat-security \
             -Wstrict-prototypes
XML_CFLAGS = $(shell xml2-config --cflags 2>/dev/null)
XML_LIBS   = $(shell xml2-config --libs 2>/dev/null)
APR_INC    = $(shell apr-1-config --includes 2>/dev/null) \
             $(shell apu-1-config --includes 2>/dev/null)
APR_CFLAGS = $(shell apr-1-config --cppflags --cflags 2>/dev/null)
APR_LIBS   = $(shell apu-1-config --link-ld 2>/dev/null) \
             $(shell apr-1-config --link-ld 2>/dev/null)
SSL_LIBS   = -lssl -lcrypto
JSON_LIBS  = -ljansson

CORE_SRC   = $(sort $(wildcard src/wm_*.c))
GLUE_SRC   = $(sort $(wildcard src/mod_winmdm_*.c))
HEADERS    = $(wildcard include/*.h)
UNIT_SRC   = $(sort $(wildcard t/unit/test_*.c))

.PHONY: all install deps unit test run bench clean format check fuzz \
        fuzz-replay fuzz-replay-asan test-asan

all: .libs/mod_winmdm.so

# mod_winmdm.c comes first: apxs names the .so after it. Only the module
# struct is exported.
# The web console is one HTML file, compiled into the module as a string.
src/console_html.inc: console/console.html scripts/embed.pl
	perl scripts/embed.pl wm_console_html console/console.html > $@.tmp
	mv $@.tmp $@

.libs/mod_winmdm.so: mod_winmdm.c $(CORE_SRC) $(GLUE_SRC) $(HEADERS) \
    src/console_html.inc
	$(APXS) -c -n winmdm -I include -I src $(XML_CFLAGS) \
	    $(foreach f,$(WARN),-Wc,$(f)) \
	    -Wl,"-export-symbols-regex winmdm_module" \
	    $(XML_LIBS) $(SSL_LIBS) $(JSON_LIBS) \
	    -o mod_winmdm.la mod_winmdm.c $(GLUE_SRC) $(CORE_SRC)

install: all
	$(APXS) -i -n winmdm mod_winmdm.la

# Everything to build and test; deps-run: only what running needs.
.PHONY: deps-run deb deb-check fresh-check
deps:
	sh scripts/deps.sh test

deps-run:
	sh scripts/deps.sh run

# Unit tests of the core: check, a pool per test, TAP output.
t/unit/run_unit: $(UNIT_SRC) t/unit/unit.h $(CORE_SRC) $(HEADERS)
	$(CC) $(WARN) -g -O1 $(APR_CFLAGS) $(APR_INC) $(XML_CFLAGS) -I include -I src \
	    -I t/unit -o $@ $(UNIT_SRC) $(CORE_SRC) \
	    $(APR_LIBS) $(XML_LIBS) $(SSL_LIBS) $(JSON_LIBS) \
	    $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

unit: t/unit/run_unit
	cd t/unit && ./run_unit

check: deps all unit

# Fuzz targets (t/fuzz): libFuzzer builds for `make fuzz`, plain replay
# builds for `make test`, which runs every corpus file (seeds and every
# crash found) once.
FUZZ_TARGETS = soap syncml csr json
FUZZ_SECONDS ?= 600
FUZZ_COMMON  = t/fuzz/fuzz_common.c t/fuzz/fuzz.h

t/fuzz/replay_%: t/fuzz/fuzz_%.c t/fuzz/replay.c $(FUZZ_COMMON) $(CORE_SRC) $(HEADERS)
	$(CC) $(WARN) -g -O1 $(APR_CFLAGS) $(APR_INC) $(XML_CFLAGS) -I include \
	    -I t/fuzz -o $@ t/fuzz/replay.c t/fuzz/fuzz_common.c $< $(CORE_SRC) \
	    $(APR_LIBS) $(XML_LIBS) $(SSL_LIBS) $(JSON_LIBS)

t/fuzz/fuzz_%: t/fuzz/fuzz_%.c $(FUZZ_COMMON) $(CORE_SRC) $(HEADERS)
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined $(APR_CFLAGS) $(APR_INC) \
	    $(XML_CFLAGS) -I include -I t/fuzz -o $@ t/fuzz/fuzz_common.c $< \
	    $(CORE_SRC) $(APR_LIBS) $(XML_LIBS) $(SSL_LIBS) $(JSON_LIBS)

fuzz-replay: $(foreach t,$(FUZZ_TARGETS),t/fuzz/replay_$(t))
	@for t in $(FUZZ_TARGETS); do \
	    printf 'fuzz corpus %s: ' $$t; \
	    t/fuzz/replay_$$t t/fuzz/corpus/$$t || exit 1; \
	done

# The same replays built with clang's AddressSanitizer and
# UndefinedBehaviorSanitizer (no libFuzzer), so that `make test` catches a
# memory error a corpus file provokes that the plain build survives. Only
# when clang is installed; otherwise it says so and the plain replay
# stands alone.
t/fuzz/replay_asan_%: t/fuzz/fuzz_%.c t/fuzz/replay.c $(FUZZ_COMMON) $(CORE_SRC) $(HEADERS)
	clang -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer $(APR_CFLAGS) $(APR_INC) $(XML_CFLAGS) \
	    -I include -I t/fuzz -o $@ t/fuzz/replay.c t/fuzz/fuzz_common.c $< \
	    $(CORE_SRC) $(APR_LIBS) $(XML_LIBS) $(SSL_LIBS) $(JSON_LIBS)

fuzz-replay-asan:
	@if command -v clang >/dev/null 2>&1; then \
	    $(MAKE) $(foreach t,$(FUZZ_TARGETS),t/fuzz/replay_asan_$(t)) || exit 1; \
	    for t in $(FUZZ_TARGETS); do \
	        printf 'fuzz corpus %s (ASan/UBSan): ' $$t; \
	        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	            t/fuzz/replay_asan_$$t t/fuzz/corpus/$$t || exit 1; \
	    done; \
	else \
	    echo 'fuzz-replay-asan: clang is not installed: the corpora ran without sanitizers only'; \
	fi

# Each target runs FUZZ_SECONDS; what it finds new goes into its corpus,
# a crash into t/fuzz/crashes/ (add it to the corpus once fixed).
fuzz: deps $(foreach t,$(FUZZ_TARGETS),t/fuzz/fuzz_$(t))
	mkdir -p t/fuzz/crashes
	@for t in $(FUZZ_TARGETS); do \
	    echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	    t/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	        -artifact_prefix=t/fuzz/crashes/$$t- t/fuzz/corpus/$$t || exit 1; \
	done

# The Apache::Test suite runs twice: on SQLite, then on a PostgreSQL
# server it starts itself.
test: deps
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) fuzz-replay
	$(MAKE) fuzz-replay-asan
	sh scripts/apache-test.sh
	WM_TEST_DB=pgsql sh scripts/apache-test.sh

# The Apache::Test suite, on SQLite then on PostgreSQL, against the module
# built with AddressSanitizer and UndefinedBehaviorSanitizer in a copy of
# the tree (build/asan), so the plain build here is left alone; httpd is
# started with the sanitizer runtimes preloaded. Fails on any sanitizer
# report (scripts/asan-test.sh).
test-asan: deps
	sh scripts/asan-test.sh

# The unit tests and the fuzz corpus replays under valgrind's memcheck:
# fails on any memory error and on any definite or indirect leak
# (scripts/valgrind.sh).
.PHONY: valgrind
valgrind:
	sh scripts/deps.sh test valgrind
	$(MAKE) t/unit/run_unit $(foreach t,$(FUZZ_TARGETS),t/fuzz/replay_$(t))
	sh scripts/valgrind.sh $(FUZZ_TARGETS)

run: deps-run
	$(MAKE) all
	sh scripts/run.sh

# Throughput, latency and memory against baselines measured in the same
# run (not part of make test; it takes about 40 minutes).
bench:
	sh scripts/deps.sh bench
	$(MAKE) all
	sh scripts/bench.sh

# The Debian package libapache2-mod-winmdm (debian/): dpkg-buildpackage
# -us -uc -b in a copy of the tree, then lintian, which must report no
# error (scripts/deb-build.sh). The package lands in build/deb/.
deb:
	sh scripts/deps.sh deb
	sh scripts/deb-build.sh

# The package built, installed into a clean Debian 12 root, enabled, set up
# and answering the real Windows discovery capture over HTTPS, then purged
# (scripts/deb-check.sh).
deb-check:
	sh scripts/deps.sh deb-check
	sh scripts/deb-check.sh

# A fresh clone of HEAD on a fresh Debian 12 root (mmdebstrap) whose
# libssl3 is older than the build of apache2's mod_ssl: make run must come
# up and answer discovery, then make test must pass (about half an hour;
# WM_FRESH_TEST=0 stops after make run). scripts/fresh-check.sh.
fresh-check:
	sh scripts/deps.sh deb-check
	sh scripts/fresh-check.sh

format:
	clang-format -i mod_winmdm.c src/*.c include/*.h t/unit/*.c t/unit/*.h

clean:
	rm -rf *.o *.lo *.slo *.la .libs src/*.o src/*.lo src/*.slo src/.libs \
	    t/unit/run_unit t/logs t/state src/console_html.inc \
	    t/fuzz/replay_* t/fuzz/replay_asan_* t/fuzz/fuzz_soap t/fuzz/fuzz_syncml t/fuzz/fuzz_csr \
	    t/fuzz/fuzz_json
