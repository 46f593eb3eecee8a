#!/bin/sh
# Installs the Debian packages a task needs, when any is missing, and keeps
# the libraries httpd uses at the versions its packages were built for.
# Runs apt-get as root (CI and a fresh machine are root); as another user
# it only says what is missing.
#
# Usage: deps.sh [TASK...]  (default: run). Each task adds its packages:
#   run        build the module and serve it (`make run`): httpd and its
#              development files, the compiler, libxml2, OpenSSL, jansson,
#              mod_dbd's SQLite driver, htpasswd, curl to try it
#   test       and the test tools (`make test`): Apache::Test and the Perl
#              modules of the device emulator, check, clang, PostgreSQL
#              with mod_dbd's driver, and the browser test's Chromium,
#              Node.js and npm
#   bench      and the benchmark's (`make bench`): PostgreSQL, wrk
#   valgrind   and valgrind (`make valgrind`)
#   deb        and what building the Debian package takes (`make deb`):
#              debhelper, dpkg-dev, lintian
#   deb-check  and mmdebstrap (`make deb-check`)
#
# Consistent libraries: installing apache2 does not upgrade the shared
# libraries it was built against when the installed ones are old enough to
# satisfy its dependencies. Debian 12's security update of apache2 2.4.71
# has a mod_ssl built against OpenSSL 3.0.22, and a machine left at libssl3
# 3.0.19 then runs it with httpd logging "AH01882: Init: this version of
# mod_ssl was compiled against a newer library" at every start. So every
# run also checks the libraries httpd and its modules load (libssl3,
# OpenSSL, APR, APR-util and its DBD drivers, libxml2, jansson, and every
# other library apache2-bin depends on): when apt has a newer version of an
# installed one, or when scripts/check-env.sh finds mod_ssl newer than
# libssl3, it runs `apt-get update` and upgrades them. When everything is
# consistent that check costs a simulated apt-get and nothing else.
#
# The browser test of the web console (t/080-console.t) needs Debian's
# Chromium, Node.js and npm (only when no node or npm is on the PATH: a
# newer Node.js installed from elsewhere is kept), and the playwright-core
# package of t/browser/package-lock.json, which `npm ci` installs into
# t/browser/node_modules when it is missing. That happens here, before
# scripts/apache-test.sh copies the tree for the unprivileged test user
# (who has no npm cache and may have no network). playwright-core
# downloads no browser: the test drives /usr/bin/chromium.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)

[ $# -gt 0 ] || set -- run

RUN_PKGS="apache2 apache2-bin apache2-dev apache2-utils libaprutil1-dbd-sqlite3
libxml2-dev libssl-dev libjansson-dev pkg-config openssl make gcc libc6-dev
perl curl"
TEST_PKGS="libapache2-mod-perl2 libwww-perl liblwp-protocol-https-perl
libio-socket-ssl-perl libjson-perl libxml-libxml-perl libaprutil1-dbd-pgsql
postgresql check clang sqlite3 chromium"
BENCH_PKGS="libaprutil1-dbd-pgsql postgresql wrk sqlite3 procps"
DEB_PKGS="debhelper dpkg-dev lintian check"
DEB_CHECK_PKGS="mmdebstrap"

PKGS=$RUN_PKGS
DBS=sqlite3
NPM=
for task in "$@"; do
    case $task in
    run) ;;
    test)
        PKGS="$PKGS $TEST_PKGS"
        command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
        command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
        DBS="sqlite3 pgsql"
        NPM=1
        ;;
    bench)
        PKGS="$PKGS $BENCH_PKGS"
        DBS="sqlite3 pgsql"
        ;;
    valgrind) PKGS="$PKGS valgrind" ;;
    deb) PKGS="$PKGS $DEB_PKGS" ;;
    deb-check) PKGS="$PKGS $DEB_PKGS $DEB_CHECK_PKGS" ;;
    *)
        echo "deps: unknown task '$task' (run, test, bench, valgrind, deb, deb-check)" >&2
        exit 2
        ;;
    esac
done

# installed PKG...: those of the packages that are installed, one a line
# (one dpkg-query for all).
installed() {
    # shellcheck disable=SC2086 # a list of package names
    dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
        awk '$NF == "installed" && $(NF - 1) == "ok" { print $1 }' | sort -u
}

# shellcheck disable=SC2086 # a list of package names
have=$(installed $PKGS)
missing=""
for p in $PKGS; do
    case " $missing " in
    *" $p "*) continue ;;
    esac
    printf '%s\n' "$have" | grep -qx "$p" || missing="$missing $p"
done

# The libraries httpd and its modules load: those apache2-bin depends on,
# the DBD drivers and what the module links. Only installed ones count
# (apt-get --only-upgrade leaves the others alone).
runtime_libs() {
    libs="libssl3 openssl libapr1 libaprutil1 libaprutil1-dbd-sqlite3
libaprutil1-dbd-pgsql libaprutil1-ldap libxml2 libjansson4 libsqlite3-0 libpq5"
    deps=$(apt-cache depends --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances apache2-bin 2>/dev/null |
        sed -n 's/^ *Depends: \([a-z0-9][a-z0-9.+-]*\)$/\1/p')
    # shellcheck disable=SC2086 # lists of package names
    installed $libs $deps
}

# The installed runtime libraries apt would upgrade, from its current
# package lists (no network, no root: a simulation).
stale_libs() {
    # shellcheck disable=SC2046 # a list of package names
    apt-get -s -o Debug::NoLocking=1 install --only-upgrade $(runtime_libs) \
        2>/dev/null | sed -n 's/^Inst \([^ ]*\) .*/\1/p' | tr '\n' ' '
}

stale=""
env_ok=1
if [ -n "$(installed apache2-bin)" ]; then
    stale=$(stale_libs)
    # shellcheck disable=SC2086 # a list of database names
    sh "$top/scripts/check-env.sh" $DBS 2>/dev/null || env_ok=
fi

if [ -n "$missing" ] || [ -n "$stale" ] || [ -z "$env_ok" ]; then
    if [ "$(id -u)" != 0 ]; then
        [ -z "$missing" ] ||
            echo "deps: missing Debian packages:$missing (run 'make deps' as root)" >&2
        [ -z "$stale" ] ||
            echo "deps: libraries httpd uses have updates: $stale(run 'make deps' as root)" >&2
        if [ -n "$missing" ]; then
            exit 1
        fi
        if [ -z "$env_ok" ]; then
            # shellcheck disable=SC2086 # a list of database names
            sh "$top/scripts/check-env.sh" $DBS || true
            exit 1
        fi
    else
        export DEBIAN_FRONTEND=noninteractive
        # Another apt-get or dpkg may hold the locks for a while.
        APT="apt-get -o DPkg::Lock::Timeout=600"
        n=0
        until $APT update; do
            n=$((n + 1))
            [ $n -lt 10 ] || {
                echo "deps: apt-get update failed" >&2
                exit 1
            }
            echo "deps: apt-get update failed, trying again in 30 s" >&2
            sleep 30
        done
        if [ -n "$missing" ]; then
            echo "deps: installing$missing"
            # shellcheck disable=SC2086 # a list of package names
            $APT install -y --no-install-recommends $missing
        fi
        # With fresh lists, now that httpd is installed.
        stale=$(stale_libs)
        if [ -n "$stale" ]; then
            echo "deps: upgrading the libraries httpd uses to the versions it was built for: $stale"
            # shellcheck disable=SC2046 # a list of package names
            $APT install -y --no-install-recommends --only-upgrade $(runtime_libs)
        fi
    fi
fi

# What is left must be consistent; if not, say why and stop.
# shellcheck disable=SC2086 # a list of database names
sh "$top/scripts/check-env.sh" $DBS

# The browser test's node modules, exactly as locked.
if [ -n "$NPM" ] && [ ! -d "$top/t/browser/node_modules" ]; then
    echo "deps: installing the browser test's node modules (npm ci in t/browser)"
    (cd "$top/t/browser" &&
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
