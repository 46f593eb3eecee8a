#!/bin/sh
# Runs the Apache::Test suite (t/*.t) against the built module; called by
# `make test` from the top of the tree, after the module is built.
#
# Apache::Test refuses to run as root, and when run as root (or as a user
# who cannot reach the tree) it prints an error and exits 0 without running
# a single test. CI runs as root, so as root this script creates an
# unprivileged user, copies the tree into a fresh directory that user owns
# and runs the suite there as that user. As any other user it runs in
# place. Either way it fails unless the TAP summary shows that every test
# file ran and passed: an exit status of 0 alone proves nothing.
#
# Environment:
#   WINMDM_TEST_USER   user the suite runs as when started as root
#                      (default winmdmtest; created when missing)
#   WINMDM_TEST_KEEP   when set, keep the copy of the tree after a pass
#   APACHE_TEST_PORT   base port (default: the first of 8529, 8549, ...
#                      whose next five ports are free)
#   TEST_FILES         run only these test files (e.g. "t/010-discovery.t")
#   WINMDM_TEST_VERBOSE  when set, run t/TEST -verbose (every test's
#                      expected and received values are printed)
#   WM_TEST_DB         sqlite3 (default) or pgsql: the whole suite against
#                      a PostgreSQL server this script starts (as root
#                      only: the copy's extra.conf is rewritten for it)
set -e

if [ ! -f t/TEST.PL ] || [ ! -f Makefile ]; then
    echo "apache-test: run me from the top of the tree" >&2
    exit 1
fi
if [ ! -f .libs/mod_winmdm.so ]; then
    echo "apache-test: .libs/mod_winmdm.so is missing (run make first)" >&2
    exit 1
fi

top=$(pwd)
test_user=${WINMDM_TEST_USER:-winmdmtest}

# A machine whose httpd cannot run cleanly (a mod_ssl newer than the
# installed libssl3, a missing DBD driver) would fail the suite far from
# the cause, in the log check of t/999-error-log.t: say so now instead.
if ! sh "$top/scripts/check-env.sh" "${WM_TEST_DB:-sqlite3}"; then
    echo "apache-test: not started: this machine cannot run httpd cleanly (see above); the module is not at fault" >&2
    exit 1
fi

# Apache::Test's own "select" mode picks the port again in every test
# process, where the running server makes it pick another one; so a free
# base port is chosen once, here. The default server and each named
# virtual host take one port each, counting up from the base (seven).
if [ -z "${APACHE_TEST_PORT:-}" ]; then
    APACHE_TEST_PORT=$(perl -MIO::Socket::INET -e '
        for (my $base = 8529; $base < 9529; $base += 20) {
            my @socks;
            for my $port ($base .. $base + 6) {
                my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0",
                    LocalPort => $port, Listen => 1, ReuseAddr => 1) or last;
                push @socks, $s;
            }
            if (@socks == 7) { print $base; exit 0 }
        }
        exit 1')
fi
export APACHE_TEST_PORT

# --- where the suite runs -------------------------------------------------

if [ "$(id -u)" = 0 ]; then
    if ! id -u "$test_user" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home \
            --home-dir /nonexistent --shell /usr/sbin/nologin "$test_user"
    fi
    # TMPDIR must allow executables: httpd loads the module from there.
    work=$(mktemp -d "${TMPDIR:-/tmp}/winmdm-test.XXXXXX")
    # mktemp makes it 0700; the test user and its httpd must get in.
    chmod 0755 "$work"
    tree="$work/tree"
    mkdir "$tree"
    # Generated Apache::Test files are left out too: a stale
    # t/conf/apache_test_config.pm would be reused with the old paths.
    tar -C "$top" \
        --exclude=./.git --exclude=./run --exclude=./t/logs --exclude=./t/state \
        --exclude=./t/htdocs --exclude=./t/TEST --exclude=./t/browser/screenshots \
        --exclude=./t/conf/apache_test_config.pm \
        --exclude=./t/conf/httpd.conf --exclude=./t/conf/extra.conf \
        --exclude=./t/conf/modperl_inc.pl --exclude=./t/conf/modperl_startup.pl \
        -cf - . | tar -C "$tree" -xf -
    chown -R "$test_user:" "$work"
    as_user() {
        runuser -u "$test_user" -- env HOME="$work" "$@"
    }
else
    work=""
    tree="$top"
    as_user() {
        "$@"
    }
fi

cd "$tree"

# t/TEST is generated from t/TEST.PL (Apache::Test also writes t/SMOKE,
# which this suite does not use). Its -clean removes what an earlier run
# generated, t/conf/*.conf included.
as_user perl -MApache::TestMM -e \
    'Apache::TestMM::filter_args(); Apache::TestMM::generate_script("t/TEST")' \
    >/dev/null
rm -f t/SMOKE
as_user perl t/TEST -clean >/dev/null 2>&1 || true

# --- state: device CA, TLS server certificate, password file ---------------

# t/state is generated only; start each run from an empty one (and an
# empty database).
rm -rf t/state t/logs
as_user mkdir -p t/state t/logs
# The database folder of the winmdm_fault server (t/conf/extra.conf.in),
# which t/110-faults.t makes unwritable for a while.
as_user mkdir -p t/state/fault
state="$tree/t/state"

# The device CA that signs device certificates (WinMDMCACertificateFile)
# also signs the TLS server certificate, so one file serves as the
# clients' trust anchor and as SSLCACertificateFile.
as_user openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 \
    -subj "/O=mod_winmdm test/CN=mod_winmdm test device CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -keyout "$state/ca.key" -out "$state/ca.crt" 2>/dev/null
as_user openssl req -new -newkey rsa:2048 -nodes -sha256 \
    -subj "/O=mod_winmdm test/CN=localhost" \
    -keyout "$state/server.key" -out "$state/server.csr" 2>/dev/null
cat > "$state/server.ext" <<'EOF'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EOF
[ -n "$work" ] && chown "$test_user:" "$state/server.ext"
as_user openssl x509 -req -sha256 -days 30 -in "$state/server.csr" \
    -CA "$state/ca.crt" -CAkey "$state/ca.key" -CAcreateserial \
    -extfile "$state/server.ext" -out "$state/server.crt" 2>/dev/null
as_user chmod 0600 "$state/ca.key" "$state/server.key"
# Users of the enrollment tests (t/05*.t): two of the enrolled domain,
# one of a domain no server here enrolls (refused with s:Authorization),
# and the real capture's OnPremise user (a name without a domain, which
# WinMDMDomain refuses, and qualified). The
# first keeps the file's original user.
as_user htpasswd -cbB "$state/htpasswd" demo demo-password 2>/dev/null
as_user htpasswd -bB "$state/htpasswd" demo@example.test demo-password 2>/dev/null
as_user htpasswd -bB "$state/htpasswd" other@example.test other-password 2>/dev/null
as_user htpasswd -bB "$state/htpasswd" outsider@elsewhere.test outsider-password 2>/dev/null
as_user htpasswd -bB "$state/htpasswd" demio demo 2>/dev/null
# The target of t/130-security.t's password guessing (its own user, so
# the throttling it causes reaches no other test).
as_user htpasswd -bB "$state/htpasswd" victim@example.test victim-password 2>/dev/null
as_user htpasswd -bB "$state/htpasswd" demio@example.test demo 2>/dev/null
# The administrator of the admin API (t/conf/extra.conf.in, t/070-*.t,
# t/080-console.t).
as_user htpasswd -cbB "$state/admin.htpasswd" admin admin-password 2>/dev/null

# --- PostgreSQL ------------------------------------------------------------

# The same suite on PostgreSQL: a private server of the test user on a
# Unix socket in t/state, one database per test server, and mod_dbd's
# pgsql driver in place of sqlite3 (DBDParams wm.db -> dbname=wm).
pg_stop() { :; }
if [ "${WM_TEST_DB:-sqlite3}" = pgsql ]; then
    if [ -z "$work" ]; then
        echo "apache-test: WM_TEST_DB=pgsql runs as root only" >&2
        exit 1
    fi
    pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ ! -x "$pgbin/initdb" ]; then
        echo "apache-test: PostgreSQL is not installed (make deps)" >&2
        exit 1
    fi
    pgsock="$state/pg"
    pgport=$((APACHE_TEST_PORT + 10))
    as_user mkdir -p "$pgsock"
    as_user "$pgbin/initdb" -D "$state/pgdata" -A trust -U "$test_user" \
        --no-sync >/dev/null
    as_user "$pgbin/pg_ctl" -D "$state/pgdata" -l "$tree/t/logs/postgresql.log" \
        -o "-k $pgsock -p $pgport -c listen_addresses= -c fsync=off" -w start \
        >/dev/null
    pg_stop() {
        as_user "$pgbin/pg_ctl" -D "$state/pgdata" -m fast -w stop >/dev/null 2>&1 || true
    }
    trap pg_stop EXIT
    for db in wm wm-tls wm-short wm-node2 wm-fault; do
        as_user "$pgbin/createdb" -h "$pgsock" -p "$pgport" "$db"
    done
    sed -i -e 's|^\([[:space:]]*\)DBDriver sqlite3|\1DBDriver pgsql|' \
        -e "s|^\\([[:space:]]*\\)DBDParams \"@t_state@/\\([a-z-]*/\\)\\{0,1\\}\\([a-z-]*\\)\\.db\"|\\1DBDParams \"host=$pgsock port=$pgport dbname=\\3\"|" \
        t/conf/extra.conf.in
    grep -q 'DBDriver sqlite3\|DBDParams "@t_state@' t/conf/extra.conf.in && {
        echo "apache-test: t/conf/extra.conf.in still names sqlite3" >&2
        exit 1
    }
    WM_TEST_PGHOST=$pgsock
    WM_TEST_PGPORT=$pgport
    # t/110-faults.t stops this server and starts it again the same way.
    WM_TEST_PGBIN=$pgbin
    export WM_TEST_DB WM_TEST_PGHOST WM_TEST_PGPORT WM_TEST_PGBIN
    echo "apache-test: on PostgreSQL ($("$pgbin/postgres" --version)) at $pgsock:$pgport"
fi

# --- run ------------------------------------------------------------------

log="$tree/t/logs/apache-test.log"
rc_file="$tree/t/logs/apache-test.rc"

# Apache::Test's own exit status is not trusted (see the top of the file);
# it is kept only to report it.
{
    set +e
    # shellcheck disable=SC2086
    as_user perl t/TEST ${WINMDM_TEST_VERBOSE:+-verbose} ${TEST_FILES:-} 2>&1
    echo $? > "$rc_file"
} | tee "$log"
rc=$(cat "$rc_file" 2>/dev/null || echo 1)

# The browser test's screenshots (t/080-console.t) are the artifacts of
# a run, passed or failed: from the copy of the tree they go back to the
# source tree, which outlives the copy.
# A run without that test leaves the last screenshots alone.
if [ -n "$work" ] && [ -d "$tree/t/browser/screenshots" ]; then
    rm -rf "$top/t/browser/screenshots"
    cp -R "$tree/t/browser/screenshots" "$top/t/browser/screenshots" &&
        chown -R --reference="$top/t/browser" "$top/t/browser/screenshots" ||
        echo "apache-test: the screenshots could not be copied to $top/t/browser/screenshots" >&2
fi

# --- verdict --------------------------------------------------------------

# Every test file must have run, and at least as many tests as their
# plans announce (`plan tests => N`).
if [ -n "${TEST_FILES:-}" ]; then
    # shellcheck disable=SC2086 # a list of files, split on purpose
    set -- $TEST_FILES
else
    set -- t/*.t
fi
files_expected=$#
tests_expected=0
# A file that skips all its tests (`plan skip_all`) runs none of them, and
# the harness counts it as passed: that is allowed only for the files
# listed here, each with the database it may skip on and why. Any other
# file that skips fails the run.
allowed_skip() {
    case "$1:${WM_TEST_DB:-sqlite3}" in
    t/090-two-nodes.t:sqlite3) return 0 ;; # two nodes share one PostgreSQL database
    esac
    return 1
}
fail=""
for f in "$@"; do
    # The harness reports a skipped file as "t/x.t .. skipped: why".
    if grep -q "^$f \.* *skipped" "$log"; then
        allowed_skip "$f" ||
            fail="$fail $f skipped all its tests ($(sed -n "s|^$f \.* *skipped: *||p" "$log" | head -n 1));"
        continue
    fi
    n=$(sed -n 's/.*plan[ (]*tests *=> *\([0-9][0-9]*\).*/\1/p' "$f" | head -n 1)
    [ -n "$n" ] || echo "apache-test: $f: no 'plan tests => N' with a number; its tests are not counted" >&2
    tests_expected=$((tests_expected + ${n:-0}))
done

summary=$(grep -E '^Files=[0-9]+, Tests=[0-9]+' "$log" | tail -n 1 || true)
files_run=$(echo "$summary" | sed -n 's/^Files=\([0-9]*\),.*/\1/p')
tests_run=$(echo "$summary" | sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\).*/\1/p')

grep -q '^All tests successful\.' "$log" || fail="$fail no 'All tests successful.';"
grep -q '^Result: PASS' "$log" || fail="$fail no 'Result: PASS';"
if [ -z "$summary" ]; then
    fail="$fail no 'Files=N, Tests=M' summary;"
else
    [ "${files_run:-0}" -eq "$files_expected" ] ||
        fail="$fail $files_run test files ran, $files_expected expected;"
    [ "${tests_run:-0}" -gt 0 ] && [ "$tests_run" -ge "$tests_expected" ] ||
        fail="$fail $tests_run tests ran, $tests_expected expected;"
fi
[ "$rc" = 0 ] || fail="$fail t/TEST exited $rc;"

as_user perl t/TEST -stop >/dev/null 2>&1 || true
pg_stop

if [ -n "$fail" ]; then
    echo "apache-test: FAILED:$fail" >&2
    if [ -f t/logs/error_log ]; then
        echo "---- $tree/t/logs/error_log ----" >&2
        cat t/logs/error_log >&2
        echo "---- end of error_log ----" >&2
    fi
    [ -n "$work" ] && echo "apache-test: the tree is kept in $tree" >&2
    exit 1
fi

if [ -n "$work" ] && [ -z "${WINMDM_TEST_KEEP:-}" ]; then
    cd /
    rm -rf "$work"
fi
echo "$tests_run passed, 0 failed"
