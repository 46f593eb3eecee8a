#!/bin/sh
# `make test-asan`: the whole Apache::Test suite against a module built
# with AddressSanitizer and UndefinedBehaviorSanitizer.
#
# The normal build must not be disturbed (its objects and .libs stay
# plain), so the tree is copied into build/asan and the module is built
# there, by the Makefile's own rule: only APXS is overridden, with the
# sanitizer flags as -Wc,/-Wl, options (-O1 after apxs's -O2 wins).
# scripts/apache-test.sh then runs from that copy, which it copies again
# for the unprivileged test user.
#
# Debian's httpd is not instrumented, so the ASan runtime has to be the
# first library of the process: httpd is started through a wrapper that
# preloads libasan (and libubsan, which the module also needs) and execs
# /usr/sbin/apache2. Apache::Test is given the wrapper as its httpd (see
# the copy's t/TEST.PL below), so perl and the other tools of the suite
# run without the preload.
#
# The sanitizers write their reports into files (log_path) rather than
# into the error log, where a report would be interleaved with httpd's
# own lines or lost with a dying child. The target fails when any report
# file exists (each is printed) or when a suite failed. LeakSanitizer is
# off in httpd unless WM_ASAN_LEAKS=1 (see "leak checking" below); then
# t/asan/lsan.supp suppresses what httpd and its libraries leave at exit.
#
# Environment:
#   WM_ASAN_DBS   the databases to run the suite on, in order
#                 (default "sqlite3 pgsql")
#   WM_ASAN_KEEP  when set, keep the wrapper and report directory
#   WM_ASAN_LEAKS when set to 1, LeakSanitizer runs in httpd too (slow:
#                 see "leak checking" below)
#   and those of scripts/apache-test.sh (TEST_FILES, APACHE_TEST_PORT, ...)
set -e

if [ ! -f t/TEST.PL ] || [ ! -f Makefile ]; then
    echo "asan-test: run me from the top of the tree" >&2
    exit 1
fi

top=$(pwd)
build="$top/build/asan"
cc=${CC:-gcc}
make=${MAKE:-make}

asan_cflags="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
asan_ldflags="-fsanitize=address,undefined"

# --- instrumented build -----------------------------------------------------

# A fresh copy each time: a file deleted from the tree (a test, a source)
# must not live on in the copy. Build products of the normal build are
# left out, so that nothing plain is linked into the instrumented module.
echo "asan-test: building the instrumented module in $build"
rm -rf "$build"
mkdir -p "$build"
tar -C "$top" \
    --exclude=./.git --exclude=./build --exclude=./run \
    --exclude=./t/logs --exclude=./t/state --exclude=./t/htdocs \
    --exclude=./t/TEST --exclude=./t/browser/screenshots \
    --exclude=./t/browser/node_modules \
    --exclude=./t/conf/apache_test_config.pm \
    --exclude=./t/conf/httpd.conf --exclude=./t/conf/extra.conf \
    --exclude=./t/conf/modperl_inc.pl --exclude=./t/conf/modperl_startup.pl \
    --exclude=.libs --exclude='*.o' --exclude='*.lo' --exclude='*.slo' \
    --exclude='*.la' --exclude=./t/unit/run_unit --exclude='./t/fuzz/replay_*' \
    -cf - . | tar -C "$build" -xf -
# Apache::Test takes httpd from apxs (SBINDIR/TARGET: /usr/sbin/apache2)
# before it looks at APACHE_TEST_HTTPD, so only an explicit -httpd option
# reaches it, and scripts/apache-test.sh passes none. The copy's driver
# gets the option the way Apache::TestMM::generate_script embeds options
# given to it: as an entry of %Apache::TestConfig::Argv ahead of the body.
{
    echo '# Added to this copy by scripts/asan-test.sh: httpd is its wrapper.'
    echo '$Apache::TestConfig::Argv{httpd} = $ENV{WM_ASAN_HTTPD} if $ENV{WM_ASAN_HTTPD};'
    cat "$build/t/TEST.PL"
} > "$build/t/TEST.PL.asan"
mv "$build/t/TEST.PL.asan" "$build/t/TEST.PL"
# The browser test's dependencies are large and are only read: a link.
if [ -d "$top/t/browser/node_modules" ]; then
    ln -s "$top/t/browser/node_modules" "$build/t/browser/node_modules"
fi

apxs_flags=""
for f in $asan_cflags; do apxs_flags="$apxs_flags -Wc,$f"; done
for f in $asan_ldflags; do apxs_flags="$apxs_flags -Wl,$f"; done
"$make" -C "$build" --no-print-directory all \
    APXS="${APXS:-apxs}$apxs_flags" >"$build/asan-build.log" 2>&1 || {
    cat "$build/asan-build.log" >&2
    echo "asan-test: the instrumented build failed" >&2
    exit 1
}
nm -D "$build/.libs/mod_winmdm.so" | grep -q ' U __asan_init' || {
    echo "asan-test: $build/.libs/mod_winmdm.so is not instrumented" >&2
    exit 1
}

# --- httpd wrapper ------------------------------------------------------------

libasan=$("$cc" -print-file-name=libasan.so)
libubsan=$("$cc" -print-file-name=libubsan.so)
for lib in "$libasan" "$libubsan"; do
    if [ ! -e "$lib" ]; then
        echo "asan-test: $lib not found (apt-get install $cc)" >&2
        exit 1
    fi
done
# Resolved names: what the dynamic loader maps for the module's NEEDED
# entries must be the very files preloaded.
libasan=$(readlink -f "$libasan")
libubsan=$(readlink -f "$libubsan")

# The wrapper, the suppressions and the reports live outside the tree:
# the test user (scripts/apache-test.sh) must reach them, and the copy of
# the tree the suite runs in is removed after a pass.
san=$(mktemp -d "${TMPDIR:-/tmp}/winmdm-asan.XXXXXX")
chmod 0755 "$san"
mkdir "$san/reports"
# httpd runs as the test user and writes its reports here.
chmod 1777 "$san/reports"
cp "$top/t/asan/lsan.supp" "$san/lsan.supp"
chmod 0644 "$san/lsan.supp"

# Leak checking. Off by default in httpd, for two reasons found here:
# Debian's APR takes pool memory from mmap, which LeakSanitizer does not
# scan, and httpd's startup process and its children exit with the
# configuration pool alive, so everything that pool holds (the module's
# CA certificate and key, mod_ssl's contexts, ...) is reported as lost at
# every exit. Telling those apart from real leaks takes the whole stack
# of every allocation through the uninstrumented libraries
# (fast_unwind_on_malloc=0, then t/asan/lsan.supp), which slows SQLite
# and OpenSSL so much that the concurrency tests exceed SQLite's lock
# timeout. The core's leaks are checked by `make valgrind` instead.
if [ "${WM_ASAN_LEAKS:-0}" = 1 ]; then
    leak_options="detect_leaks=1:fast_unwind_on_malloc=0"
else
    leak_options="detect_leaks=0"
fi

# detect_odr_violation=0: httpd loads modules that share symbols of the
# libraries they link (APR, OpenSSL), which ASan would take for ODR
# violations of the uninstrumented binaries.
# abort_on_error=0: a report ends the process with exit status 1, not a
# core dump of an httpd child.
cat > "$san/httpd" <<EOF
#!/bin/sh
# httpd with the sanitizer runtimes of the instrumented mod_winmdm
# preloaded (written by scripts/asan-test.sh).
LD_PRELOAD="$libasan:$libubsan\${LD_PRELOAD:+:\$LD_PRELOAD}"
ASAN_OPTIONS="$leak_options:halt_on_error=1:abort_on_error=0:detect_odr_violation=0:log_path=$san/reports/asan:log_exe_name=1"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$san/reports/ubsan:log_exe_name=1"
LSAN_OPTIONS="suppressions=$san/lsan.supp:print_suppressions=0"
export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
exec /usr/sbin/apache2 "\$@"
EOF
chmod 0755 "$san/httpd"

# --- the suites ---------------------------------------------------------------

fail=""
for db in ${WM_ASAN_DBS:-sqlite3 pgsql}; do
    echo "asan-test: Apache::Test suite on $db, httpd $san/httpd"
    if ! (cd "$build" &&
          WM_ASAN_HTTPD="$san/httpd" WM_TEST_DB="$db" \
              sh scripts/apache-test.sh); then
        fail="$fail the suite failed on $db;"
    fi
done

# --- verdict ------------------------------------------------------------------

reports=$(find "$san/reports" -type f | sort)
if [ -n "$reports" ]; then
    for r in $reports; do
        echo "---- $r ----" >&2
        cat "$r" >&2
    done
    echo "---- end of sanitizer reports ----" >&2
    fail="$fail $(echo "$reports" | wc -l) sanitizer report(s) in $san/reports;"
fi

if [ -n "$fail" ]; then
    echo "asan-test: FAILED:$fail" >&2
    echo "asan-test: the wrapper and the reports are kept in $san" >&2
    exit 1
fi
if [ -z "${WM_ASAN_KEEP:-}" ]; then
    rm -rf "$san"
fi
echo "asan-test: no sanitizer report, every suite passed"
