#!/bin/sh
# The part of `make deb-check` (scripts/deb-check.sh) that runs as root on
# the system under test: a clean Debian 12 root made by mmdebstrap, or
# this machine when that cannot run. Installs the package as an
# administrator would, enables it, sets it up, checks httpd's
# configuration, starts httpd, sends it the real Windows discovery capture
# over HTTPS, then purges the package and checks what is left.
#
# Usage: deb-check-inside.sh DEB FIXTURE HTTPS_PORT HTTP_PORT
#   DEB         the libapache2-mod-winmdm .deb
#   FIXTURE     a discovery request of a real Windows device
#               (t/fixtures/windows10/discovery_request_*.xml); the email
#               domain in it is the domain set up
#   HTTPS_PORT  the site's port (the system may share this machine's
#   HTTP_PORT   network, so Debian's 80 and 443 are moved to these)
# Leaves /tmp/deb-check.ok when every check passed.
set -e

DEB=$1
FIXTURE=$2
PORT=$3
HTTP_PORT=$4
PKG=libapache2-mod-winmdm
export DEBIAN_FRONTEND=noninteractive
APT="apt-get -o DPkg::Lock::Timeout=600 -y -q"

step() {
    echo "deb-check: --- $*"
}
die() {
    echo "deb-check: FAILED: $*" >&2
    exit 1
}
rm -f /tmp/deb-check.ok /tmp/deb-check.ports.conf

# No service starts on its own here (a chroot has no init; this machine's
# own services are not this check's business): httpd is started below.
policy_made=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    policy_made=1
fi
cleanup() {
    if [ -f /run/apache2/apache2.pid ] || [ -f /var/run/apache2/apache2.pid ]; then
        apache2ctl stop >/dev/null 2>&1 || true
    fi
    [ -z "$policy_made" ] || rm -f /usr/sbin/policy-rc.d
    [ ! -f /tmp/deb-check.ports.conf ] || mv /tmp/deb-check.ports.conf /etc/apache2/ports.conf
}
trap cleanup EXIT

# The domain of the capture's EmailAddress.
DOMAIN=$(sed -n 's/.*<EmailAddress>[^<@]*@\([^<]*\)<\/EmailAddress>.*/\1/p' "$FIXTURE" |
    head -n 1 | tr '[:upper:]' '[:lower:]')
[ -n "$DOMAIN" ] || die "no EmailAddress in $FIXTURE"
HOST=enterpriseenrollment.$DOMAIN
CONF=/etc/winmdm/$DOMAIN
SITE=winmdm-$DOMAIN
URL=https://$HOST:$PORT

# What the package's own files are checked against after the purge: the
# file systems that packages write to, less what changes by itself.
snapshot() {
    find /etc /usr /var/lib /opt /srv -xdev \
        \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/lib/systemd \
        -o -path /var/lib/ucf -o -path /var/lib/dhcp -o -path /var/lib/postgresql \
        -o -path /etc/ld.so.cache \) -prune -o -print 2>/dev/null | sort
}

step "the package's dependencies (apt-get install), then a snapshot of the file system"
$APT update >/dev/null
deps=$(dpkg-deb -f "$DEB" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/^ *//; s/ *$//' |
    grep -v '^apache2-api-' | tr '\n' ' ')
# shellcheck disable=SC2086 # a list of package names
$APT install --no-install-recommends $deps curl ca-certificates >/dev/null
snapshot >/tmp/deb-check.before

step "dpkg -i $(basename "$DEB")"
dpkg -i "$DEB"
dpkg-query -W "$PKG"
[ -f /usr/lib/apache2/modules/mod_winmdm.so ] || die "the module is not installed"
[ -f /etc/apache2/mods-available/winmdm.load ] || die "winmdm.load is not installed"
[ -f /usr/share/doc/$PKG/examples/winmdm.conf ] || die "the sample vhost is not in the examples"
[ "$(stat -c '%U:%G %a' /var/lib/winmdm)" = "www-data:www-data 750" ] ||
    die "/var/lib/winmdm is $(stat -c '%U:%G %a' /var/lib/winmdm), not www-data:www-data 750"
echo "/var/lib/winmdm: $(stat -c '%U:%G %a' /var/lib/winmdm)"
! a2query -q -m winmdm || die "the module is enabled by the installation itself"

step "a2enmod winmdm"
a2enmod winmdm
for m in winmdm ssl dbd; do
    a2query -q -m "$m" || die "a2enmod winmdm did not enable $m"
done
echo "enabled: winmdm ssl dbd"

step "winmdm-setup --port $PORT $DOMAIN"
printf 'deb-check-admin-password\n' |
    winmdm-setup --port "$PORT" --admin-password-stdin "$DOMAIN"
[ "$(stat -c '%U:%G %a' "$CONF/ca.key")" = "root:root 600" ] ||
    die "$CONF/ca.key is $(stat -c '%U:%G %a' "$CONF/ca.key")"
[ "$(stat -c '%U:%G %a' "$CONF/admin.htpasswd")" = "root:www-data 640" ] ||
    die "$CONF/admin.htpasswd is $(stat -c '%U:%G %a' "$CONF/admin.htpasswd")"
[ "$(stat -c '%U:%G %a' "/var/lib/winmdm/$DOMAIN")" = "www-data:www-data 750" ] ||
    die "/var/lib/winmdm/$DOMAIN is $(stat -c '%U:%G %a' "/var/lib/winmdm/$DOMAIN")"
ls -l "$CONF"
if winmdm-setup --port "$PORT" "$DOMAIN" >/dev/null 2>/tmp/deb-check.again; then
    die "a second winmdm-setup overwrote the CA"
fi
echo "a second winmdm-setup refuses: $(cat /tmp/deb-check.again)"

step "a2ensite $SITE"
a2ensite "$SITE"
# The system may share this machine's network: Debian's 80 and 443 move
# out of the way (the site listens on its own port).
cp -p /etc/apache2/ports.conf /tmp/deb-check.ports.conf
sed -i -e "s/^\([[:space:]]*\)Listen 80\$/\1Listen 127.0.0.1:$HTTP_PORT/" \
    -e 's/^\([[:space:]]*\)Listen 443$/\1# Listen 443 (moved by deb-check)/' \
    /etc/apache2/ports.conf

step "apache2ctl -t"
apache2ctl -t

step "apache2ctl start"
: >/var/log/apache2/error.log
apache2ctl start
n=0
until curl -sk -o /dev/null --resolve "$HOST:$PORT:127.0.0.1" "$URL/"; do
    n=$((n + 1))
    [ $n -lt 50 ] || die "httpd does not answer on port $PORT"
    sleep 0.2
done

step "discovery over HTTPS, the TLS certificate checked against $CONF/tls.crt"
CURL="curl -sS --cacert $CONF/tls.crt --resolve $HOST:$PORT:127.0.0.1"
code=$($CURL -o /tmp/deb-check.get -w '%{http_code}' "$URL/EnrollmentServer/Discovery.svc")
echo "GET /EnrollmentServer/Discovery.svc: $code"
[ "$code" = 200 ] || die "discovery GET answered $code"
code=$($CURL -o /tmp/deb-check.discovery -w '%{http_code}' \
    -H 'Content-Type: application/soap+xml; charset=utf-8' \
    --data-binary "@$FIXTURE" "$URL/EnrollmentServer/Discovery.svc")
echo "POST /EnrollmentServer/Discovery.svc ($(basename "$FIXTURE")): $code"
cat /tmp/deb-check.discovery
echo
[ "$code" = 200 ] || die "discovery POST answered $code"
for want in DiscoverResponse "<AuthPolicy>Federated</AuthPolicy>" \
    "<EnrollmentServiceUrl>$URL/ENROLLMENTSERVER/Win10DeviceEnrollmentWebservice.svc</EnrollmentServiceUrl>"; do
    grep -q -F -i "$want" /tmp/deb-check.discovery || die "the discovery answer lacks $want"
done

step "the admin API with the administrator winmdm-setup made"
code=$($CURL -o /tmp/deb-check.admin -w '%{http_code}' -u admin:deb-check-admin-password \
    "$URL/api/device-mgt/windows/v1.0/admin/devices")
echo "GET .../admin/devices: $code $(cat /tmp/deb-check.admin)"
[ "$code" = 200 ] || die "the admin API answered $code"
code=$($CURL -o /dev/null -w '%{http_code}' -u admin:wrong \
    "$URL/api/device-mgt/windows/v1.0/admin/devices")
[ "$code" = 401 ] || die "the admin API answered $code to a wrong password"
[ -f "/var/lib/winmdm/$DOMAIN/winmdm.db" ] || die "no database in /var/lib/winmdm/$DOMAIN"

step "apache2ctl stop; httpd's error logs"
apache2ctl stop
n=0
while pgrep -x apache2 >/dev/null 2>&1 && [ $n -lt 50 ]; do
    n=$((n + 1))
    sleep 0.2
done
cat /var/log/apache2/error.log "/var/log/apache2/$SITE-error.log" 2>/dev/null || true
# AH01617: the wrong password sent above on purpose.
if grep -h -E '\[[a-z_]*:(emerg|alert|crit|error|warn)\]' /var/log/apache2/error.log \
    "/var/log/apache2/$SITE-error.log" 2>/dev/null | grep -v 'AH01617: user admin: authentication failure'; then
    die "httpd logged the warnings or errors above"
fi

step "apt-get purge $PKG"
$APT purge "$PKG"
status=$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null || true)
case $status in
'' | *not-installed) ;;
*) die "$PKG is still on the system: $status" ;;
esac
for f in /usr/lib/apache2/modules/mod_winmdm.so /etc/apache2/mods-available/winmdm.load \
    /etc/apache2/mods-enabled/winmdm.load /var/lib/winmdm /usr/sbin/winmdm-setup \
    /usr/share/doc/$PKG /usr/share/$PKG; do
    [ ! -e "$f" ] && [ ! -L "$f" ] || die "$f is left after the purge"
done
echo "the package's files are gone"

# What the administrator made stays: the CA, password files and site of
# winmdm-setup, what a2enmod and a2ensite enabled (with the state apache2's
# tools keep of it in /var/lib/apache2), and the logs. Nothing else may
# differ from the snapshot taken before the installation.
snapshot >/tmp/deb-check.after
diff /tmp/deb-check.before /tmp/deb-check.after | sed -n 's/^[<>] //p' >/tmp/deb-check.diff || true
left=$(grep -v -E "^(/etc/winmdm(/|\$)|/etc/apache2/sites-(available|enabled)/$SITE\\.conf\$|/etc/apache2/mods-enabled/(ssl|dbd|socache_shmcb)\\.(load|conf)\$|/var/lib/apache2/(module|site)/|/etc/apache2/ports\\.conf\$)" \
    /tmp/deb-check.diff || true)
echo "left by the administrator's own steps:"
sed 's/^/  /' /tmp/deb-check.diff
[ -z "$left" ] || die "the purge left files the administrator did not make: $left"

step "apache2ctl -t with the module purged and the site still enabled"
apache2ctl -t

touch /tmp/deb-check.ok
echo "deb-check: every check passed"
