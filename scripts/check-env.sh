#!/bin/sh
# Checks that this machine's httpd can run mod_winmdm's tests and server
# cleanly, and says what to do when it cannot. Called by scripts/deps.sh
# after it installs (`make deps`), by scripts/apache-test.sh before the
# suite starts and by scripts/run.sh before httpd starts; it runs in well
# under a second and changes nothing.
#
# What it checks, each a fault of the machine rather than of the module:
#   - httpd (/usr/sbin/apache2), mod_ssl and mod_dbd are installed;
#   - the OpenSSL library httpd loads is not older than the one mod_ssl was
#     built against. A Debian security update of apache2 can arrive
#     without the matching libssl3 (apt installs apache2-bin 2.4.71, built
#     against OpenSSL 3.0.22, and keeps an older libssl3 3.0.19), and
#     httpd then logs "AH01882: Init: this version of mod_ssl was compiled
#     against a newer library" as a [warn] at every start; the suite's log
#     check (t/999-error-log.t) rightly fails on it;
#   - the APR DBD driver of each database asked for is installed.
#
# Usage: check-env.sh [sqlite3] [pgsql]   (default: sqlite3)
# Exit status 0 when everything is fine, 1 (with a message on stderr
# naming the fix) otherwise.
set -e

APACHE2=${APACHE2:-/usr/sbin/apache2}
MODDIR=${WINMDM_APACHE_MODDIR:-/usr/lib/apache2/modules}

fault=0
say() {
    echo "check-env: $*" >&2
}
fail() {
    say "$*"
    fault=1
}

# Version of the "OpenSSL x.y.z dd Mon yyyy" text compiled into FILE
# (mod_ssl keeps the text of the OpenSSL it was built against; libcrypto
# keeps its own), or nothing.
openssl_text_version() {
    grep -a -o -m 1 'OpenSSL [0-9][0-9.]*[a-z]* *[0-9]* [A-Z][a-z][a-z] [0-9]*' \
        "$1" 2>/dev/null | head -n 1 | awk '{ print $2 }'
}

# The Debian package owning FILE, and its installed version.
owner_version() {
    pkg=$(dpkg-query -S "$1" 2>/dev/null | head -n 1 | sed 's/: .*//')
    [ -n "$pkg" ] || return 0
    printf '%s %s' "$pkg" "$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null)"
}

[ -x "$APACHE2" ] ||
    fail "$APACHE2 is missing: run 'make deps' as root (apt-get install apache2-bin)"
for m in ssl dbd; do
    [ -f "$MODDIR/mod_$m.so" ] ||
        fail "$MODDIR/mod_$m.so is missing: run 'make deps' as root (apt-get install apache2-bin)"
done

ssl_so="$MODDIR/mod_ssl.so"
if [ -f "$ssl_so" ]; then
    built=$(openssl_text_version "$ssl_so")
    # The libcrypto the dynamic linker gives mod_ssl: the one httpd loads.
    libcrypto=$(ldd "$ssl_so" 2>/dev/null |
        sed -n 's/^[[:space:]]*libcrypto[^ ]* => \([^ ]*\) .*/\1/p' | head -n 1)
    loaded=
    [ -n "$libcrypto" ] && loaded=$(openssl_text_version "$(readlink -f "$libcrypto")")
    if [ -n "$built" ] && [ -n "$loaded" ] &&
        dpkg --compare-versions "$loaded" lt "$built"; then
        lib_pkg=$(owner_version "$(readlink -f "$libcrypto")")
        ssl_pkg=$(owner_version "$ssl_so")
        fail "the installed OpenSSL library ${lib_pkg:-$libcrypto} (OpenSSL $loaded) is older than the OpenSSL $built that mod_ssl (${ssl_pkg:-$ssl_so}) was built against. httpd would log 'AH01882: Init: this version of mod_ssl was compiled against a newer library' at every start. This is the machine's fault, not the module's: run 'make deps' as root (it upgrades libssl3 and the other libraries httpd uses), or 'apt-get update && apt-get install --only-upgrade libssl3 openssl'."
    fi
fi

[ $# -gt 0 ] || set -- sqlite3
for db in "$@"; do
    case $db in
    sqlite3) pkg=libaprutil1-dbd-sqlite3 ;;
    pgsql) pkg=libaprutil1-dbd-pgsql ;;
    *)
        fail "unknown database '$db' (sqlite3 or pgsql)"
        continue
        ;;
    esac
    found=
    for f in /usr/lib/*/apr-util-1/apr_dbd_$db-1.so \
        /usr/lib/apr-util-1/apr_dbd_$db-1.so; do
        [ -f "$f" ] && found=$f
    done
    [ -n "$found" ] ||
        fail "mod_dbd's $db driver is missing: run 'make deps' as root (apt-get install $pkg)"
done

exit $fault
