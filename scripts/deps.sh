#!/bin/sh
# Installs the Debian packages mod_winmdm needs to build, test and run,
# when any of them is missing. Runs apt-get as root (CI and a fresh machine
# are root); as another user it only says what is missing.
set -e
PKGS="apache2 apache2-bin apache2-dev libapache2-mod-perl2
libwww-perl liblwp-protocol-https-perl libio-socket-ssl-perl libjson-perl
libxml-libxml-perl apache2-utils
libaprutil1-dbd-sqlite3 libxml2-dev libssl-dev libjansson-dev check
pkg-config sqlite3 openssl make gcc"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing Debian packages:$missing (run 'make deps' as root)" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends $missing
