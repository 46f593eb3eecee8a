#!/bin/sh
# Installs the Debian packages mod_winmdm needs to build, test and run,
# when any of them is missing. Runs apt-get as root (CI and a fresh machine
# are root); as another user it only says what is missing.
#
# The browser test of the web console (t/080-console.t) also needs
# Debian's Chromium, Node.js and npm (only when no node or npm is on the
# PATH: a newer Node.js installed from elsewhere is kept), and the
# playwright-core package of t/browser/package-lock.json, which `npm ci`
# installs into t/browser/node_modules when it is missing. That happens
# here, before scripts/apache-test.sh copies the tree for the
# unprivileged test user (who has no npm cache and may have no network).
# playwright-core downloads no browser: the test drives /usr/bin/chromium.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
PKGS="apache2 apache2-bin apache2-dev libapache2-mod-perl2
libwww-perl liblwp-protocol-https-perl libio-socket-ssl-perl libjson-perl
libxml-libxml-perl apache2-utils
libaprutil1-dbd-sqlite3 libaprutil1-dbd-pgsql postgresql libxml2-dev libssl-dev
libjansson-dev check clang
pkg-config sqlite3 openssl make gcc chromium"
command -v node >/dev/null 2>&1 || PKGS="$PKGS nodejs"
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing Debian packages:$missing (run 'make deps' as root)" >&2
        exit 1
    fi
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends $missing
fi

# The browser test's node modules, exactly as locked.
if [ ! -d "$top/t/browser/node_modules" ]; then
    echo "deps: installing the browser test's node modules (npm ci in t/browser)"
    (cd "$top/t/browser" &&
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
