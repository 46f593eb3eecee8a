#!/bin/sh
# Starts a development mod_winmdm server in the foreground (`make run`).
#
# On the first run it creates, under run/ (git-ignored):
#   run/ca/ca.crt, ca.key        device CA: signs the devices' client certificates
#   run/tls/ca.crt, ca.key       dev TLS CA: signs the server's TLS certificate
#   run/tls/server.crt, .key     TLS certificate for $WINMDM_HOST, localhost, 127.0.0.1
#   run/users.htpasswd           demo enrollment user demo@$WINMDM_DOMAIN (bcrypt)
#   run/admin.htpasswd           user "admin" for the admin API (bcrypt)
#   run/demo-credentials.txt     both clear passwords (mode 0600)
#   run/db/                      the module creates winmdm.db here
# (run/ is a link to /var/lib/winmdm-dev/<hash> when run as root from a
# tree that www-data cannot reach, such as a clone in /root.)
# Later runs reuse them. Every run rewrites run/httpd.conf from
# conf/run.conf.in, checks it with `apache2 -t`, then execs httpd with
# -DFOREGROUND (Ctrl-C stops it).
#
# Environment (defaults in brackets):
#   WINMDM_DOMAIN      [example.test]  email domain that enrolls
#   WINMDM_HOST        [enterpriseenrollment.$WINMDM_DOMAIN]
#   WINMDM_LISTEN      [127.0.0.1]     address to listen on (0.0.0.0 for a real device)
#   WINMDM_HTTPS_PORT  [8443]          443 for a real device (needs root)
#   WINMDM_HTTP_PORT   [8080]          plain HTTP, discovery GET only
#   WINMDM_ERROR_LOG   [run/logs/error_log]  e.g. /dev/stderr
#   WINMDM_MODULE      [.libs/mod_winmdm.so]  e.g. an installed module
#   APACHE2            [/usr/sbin/apache2]
set -e

TOP=$(cd "$(dirname "$0")/.." && pwd)
RUN="$TOP/run"
MODULE=${WINMDM_MODULE:-$TOP/.libs/mod_winmdm.so}
TEMPLATE="$TOP/conf/run.conf.in"
CONF="$RUN/httpd.conf"
APACHE2=${APACHE2:-/usr/sbin/apache2}

DOMAIN=${WINMDM_DOMAIN:-example.test}
HOST=${WINMDM_HOST:-enterpriseenrollment.$DOMAIN}
LISTEN=${WINMDM_LISTEN:-127.0.0.1}
HTTPS_PORT=${WINMDM_HTTPS_PORT:-8443}
HTTP_PORT=${WINMDM_HTTP_PORT:-8080}
ERROR_LOG=${WINMDM_ERROR_LOG:-$RUN/logs/error_log}
API_PREFIX=/api/device-mgt/windows/v1.0
RUN_USER=www-data
RUN_GROUP=www-data
DEMO_USER="demo@$DOMAIN"
ADMIN_USER="admin"

die() {
    echo "run: $*" >&2
    exit 1
}

# --- checks ---------------------------------------------------------------

[ -f "$MODULE" ] || die "$MODULE is missing; build it with 'make'"
[ -f "$TEMPLATE" ] || die "$TEMPLATE is missing"
[ -x "$APACHE2" ] || die "$APACHE2 not found (apt-get install apache2-bin)"
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
command -v htpasswd >/dev/null || die "htpasswd not found (apt-get install apache2-utils)"
# A machine fault such as a mod_ssl newer than libssl3 (httpd then warns
# AH01882 at every start) is worth knowing about, but the server still runs.
sh "$TOP/scripts/check-env.sh" sqlite3 ||
    echo "run: warning: this machine's httpd is not consistent (above); starting anyway" >&2

for port in "$HTTPS_PORT" "$HTTP_PORT"; do
    case $port in
    '' | *[!0-9]*) die "port '$port' is not a number" ;;
    esac
done
[ "$HTTPS_PORT" != "$HTTP_PORT" ] || die "WINMDM_HTTPS_PORT and WINMDM_HTTP_PORT are both $HTTPS_PORT"
case $HOST in
'' | *[!A-Za-z0-9.-]*) die "WINMDM_HOST '$HOST' is not a host name" ;;
esac
case $DOMAIN in
'' | *[!A-Za-z0-9.-]*) die "WINMDM_DOMAIN '$DOMAIN' is not a domain" ;;
esac

if [ "$(id -u)" = 0 ]; then
    IS_ROOT=1
    id "$RUN_USER" >/dev/null 2>&1 || die "user $RUN_USER does not exist"
else
    IS_ROOT=
    if [ "$HTTPS_PORT" -lt 1024 ] || [ "$HTTP_PORT" -lt 1024 ]; then
        die "ports below 1024 need root (run 'make run' as root, or pick higher ports)"
    fi
fi

# --- one-time state under run/ ---------------------------------------------

umask 022

# httpd's children (www-data) read the password files and write the
# database at request time, so run/ must be reachable by www-data. A tree
# cloned where it is not (root's home, 0700) keeps its state in
# /var/lib/winmdm-dev/<hash of the tree's path> instead, with run/ a
# symbolic link to it: the paths under run/ stay the same for the user.
if [ -n "$IS_ROOT" ] && command -v runuser >/dev/null &&
    ! runuser -u "$RUN_USER" -- test -x "$TOP/."; then
    ext="/var/lib/winmdm-dev/$(printf '%s' "$TOP" | md5sum | cut -c 1-12)"
    if [ ! -L "$RUN" ]; then
        echo "run: $RUN_USER cannot reach $TOP; the server's state goes to $ext (run/ links to it)"
        mkdir -p /var/lib/winmdm-dev "$ext"
        chmod 0755 /var/lib/winmdm-dev "$ext"
        if [ -d "$RUN" ]; then
            (cd "$RUN" && tar -cf - .) | (cd "$ext" && tar -xpf -)
            rm -rf "$RUN"
        fi
        ln -s "$ext" "$RUN"
    fi
    RUN=$(readlink -f "$RUN")
fi
mkdir -p "$RUN/ca" "$RUN/tls" "$RUN/db" "$RUN/logs" "$RUN/run" "$RUN/htdocs"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# new_key FILE: an RSA 3072 private key, mode 0600.
new_key() {
    (umask 077 && openssl genpkey -quiet -algorithm RSA \
        -pkeyopt rsa_keygen_bits:3072 -out "$1")
}

# new_ca DIR CN: a self-signed CA certificate DIR/ca.crt and its key DIR/ca.key.
new_ca() {
    new_key "$1/ca.key"
    openssl req -new -x509 -key "$1/ca.key" -out "$1/ca.crt" -days 3650 \
        -sha256 -subj "/O=mod_winmdm development/CN=$2" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
    chmod 0644 "$1/ca.crt"
}

if [ ! -f "$RUN/ca/ca.crt" ] || [ ! -f "$RUN/ca/ca.key" ]; then
    echo "run: creating the device CA in $RUN/ca"
    new_ca "$RUN/ca" "mod_winmdm device CA"
fi
chmod 0600 "$RUN/ca/ca.key"

if [ ! -f "$RUN/tls/ca.crt" ] || [ ! -f "$RUN/tls/ca.key" ]; then
    echo "run: creating the dev TLS CA in $RUN/tls"
    rm -f "$RUN/tls/server.crt"
    new_ca "$RUN/tls" "mod_winmdm dev TLS CA"
fi
chmod 0600 "$RUN/tls/ca.key"

# The server certificate names $HOST, localhost and 127.0.0.1 (and the
# listen address when it is a specific one). It is made again when $HOST
# or that address changed since it was made.
SAN="DNS:$HOST,DNS:localhost,IP:127.0.0.1"
CHECK_IP=
case $LISTEN in
0.0.0.0 | 127.0.0.1 | '*') ;;
*[!0-9.]*) ;;
*)
    SAN="$SAN,IP:$LISTEN"
    CHECK_IP=$LISTEN
    ;;
esac
server_cert_fits() {
    [ -f "$RUN/tls/server.crt" ] && [ -f "$RUN/tls/server.key" ] || return 1
    openssl x509 -in "$RUN/tls/server.crt" -noout -checkhost "$HOST" |
        grep -q "does match" || return 1
    if [ -n "$CHECK_IP" ]; then
        openssl x509 -in "$RUN/tls/server.crt" -noout -checkip "$CHECK_IP" |
            grep -q "does match" || return 1
    fi
    return 0
}
if ! server_cert_fits; then
    echo "run: creating the TLS server certificate for $SAN"
    [ -f "$RUN/tls/server.key" ] || new_key "$RUN/tls/server.key"
    cat >"$TMP/server.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $SAN
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
    openssl req -new -key "$RUN/tls/server.key" -subj "/CN=$HOST" \
        -out "$TMP/server.csr"
    # 825 days: the longest validity Apple and browsers accept from a
    # private CA; Windows does not mind.
    openssl x509 -req -in "$TMP/server.csr" -CA "$RUN/tls/ca.crt" \
        -CAkey "$RUN/tls/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
        -days 825 -sha256 -extfile "$TMP/server.ext" \
        -out "$RUN/tls/server.crt" 2>/dev/null
    chmod 0644 "$RUN/tls/server.crt"
fi
chmod 0600 "$RUN/tls/server.key"

# add_user FILE USER: adds USER with a random password to the htpasswd FILE
# unless it is there, and records the clear password in demo-credentials.txt.
add_user() {
    if [ -f "$1" ] && awk -F: -v u="$2" '$1 == u { f = 1 } END { exit !f }' "$1"; then
        return 0
    fi
    pw=$(openssl rand -hex 16)
    if [ -f "$1" ]; then
        printf '%s\n' "$pw" | htpasswd -B -i "$1" "$2" 2>/dev/null
    else
        printf '%s\n' "$pw" | htpasswd -B -i -c "$1" "$2" 2>/dev/null
    fi
    (umask 077 && printf '%s %s\n' "$2" "$pw" >>"$RUN/demo-credentials.txt")
    echo "run: created user $2"
}
if [ ! -f "$RUN/demo-credentials.txt" ]; then
    (umask 077 && printf '# user password (created by scripts/run.sh)\n' \
        >"$RUN/demo-credentials.txt")
fi
add_user "$RUN/users.htpasswd" "$DEMO_USER"
add_user "$RUN/admin.htpasswd" "$ADMIN_USER"
chmod 0600 "$RUN/demo-credentials.txt"

# httpd's children read the password files and write the database; as
# root they run as www-data. Keys stay root-only: httpd reads them at
# startup, before it gives up root.
if [ -n "$IS_ROOT" ]; then
    USER_LINE="User $RUN_USER"
    GROUP_LINE="Group $RUN_GROUP"
    chown -R "$RUN_USER:$RUN_GROUP" "$RUN/db"
    chmod 0750 "$RUN/db"
    chgrp "$RUN_GROUP" "$RUN/users.htpasswd" "$RUN/admin.htpasswd"
    chmod 0640 "$RUN/users.htpasswd" "$RUN/admin.htpasswd"
    if command -v runuser >/dev/null &&
        ! runuser -u "$RUN_USER" -- test -w "$RUN/db"; then
        die "$RUN_USER cannot write $RUN/db: every folder above $TOP must be searchable by it (chmod o+x), or move the tree"
    fi
else
    USER_LINE="# User: httpd runs as $(id -un) (not root)"
    GROUP_LINE="# Group: likewise"
    chmod 0700 "$RUN/db"
    chmod 0600 "$RUN/users.htpasswd" "$RUN/admin.htpasswd"
fi

# --- run/httpd.conf ----------------------------------------------------------

if [ "$HTTPS_PORT" = 443 ]; then
    PUBLIC_URL="https://$HOST"
else
    PUBLIC_URL="https://$HOST:$HTTPS_PORT"
fi
case $ERROR_LOG in
/*) ;;
*) ERROR_LOG="$TOP/$ERROR_LOG" ;;
esac

# sed replacement text: escape \, & and the | delimiter.
esc() {
    printf '%s' "$1" | sed -e 's/[\\&|]/\\&/g'
}
sed -e "s|@RUN_DIR@|$(esc "$RUN")|g" \
    -e "s|@MODULE@|$(esc "$MODULE")|g" \
    -e "s|@HOST@|$(esc "$HOST")|g" \
    -e "s|@DOMAIN@|$(esc "$DOMAIN")|g" \
    -e "s|@PUBLIC_URL@|$(esc "$PUBLIC_URL")|g" \
    -e "s|@LISTEN@|$(esc "$LISTEN")|g" \
    -e "s|@HTTPS_PORT@|$(esc "$HTTPS_PORT")|g" \
    -e "s|@HTTP_PORT@|$(esc "$HTTP_PORT")|g" \
    -e "s|@API_PREFIX@|$(esc "$API_PREFIX")|g" \
    -e "s|@ERROR_LOG@|$(esc "$ERROR_LOG")|g" \
    -e "s|@USER_LINE@|$(esc "$USER_LINE")|g" \
    -e "s|@GROUP_LINE@|$(esc "$GROUP_LINE")|g" \
    "$TEMPLATE" >"$CONF.tmp"
if grep -n '^[^#]*@[A-Z_][A-Z_]*@' "$CONF.tmp" >&2; then
    die "placeholders left in $CONF.tmp (see above)"
fi
mv "$CONF.tmp" "$CONF"

if ! out=$("$APACHE2" -t -f "$CONF" 2>&1); then
    printf '%s\n' "$out" >&2
    die "$CONF is not valid (the template is $TEMPLATE)"
fi

# --- how to use it -----------------------------------------------------------

case $LISTEN in
0.0.0.0 | '*') SHOW=127.0.0.1 ;;
*) SHOW=$LISTEN ;;
esac

cat <<EOF

mod_winmdm development server
  discovery (HTTPS)  https://$SHOW:$HTTPS_PORT/EnrollmentServer/Discovery.svc
  discovery (HTTP)   http://$SHOW:$HTTP_PORT/EnrollmentServer/Discovery.svc   (GET only)
  public URL         $PUBLIC_URL   (what devices are told)
  admin API          https://$SHOW:$HTTPS_PORT$API_PREFIX/admin/devices   (user $ADMIN_USER)
  credentials        $RUN/demo-credentials.txt   (enroll as $DEMO_USER)
  TLS CA to trust    $RUN/tls/ca.crt
  device CA          $RUN/ca/ca.crt
  database           $RUN/db/winmdm.db
  config             $CONF   (from $TEMPLATE)
  error log          $ERROR_LOG
  access log         $RUN/logs/access_log

  Try: curl --cacert $RUN/tls/ca.crt --resolve $HOST:$HTTPS_PORT:$SHOW \\
         $PUBLIC_URL/EnrollmentServer/Discovery.svc -w '%{http_code}\n'

To enroll a real Windows 10/11 device (see README.md):
  1. Serve on port 443 of an address the device reaches (as root):
       WINMDM_LISTEN=0.0.0.0 WINMDM_HTTPS_PORT=443 make run
  2. On the device, make $HOST resolve to this machine: a DNS record, or
     a line "<this machine's IP> $HOST" in
     C:\\Windows\\System32\\drivers\\etc\\hosts (as administrator).
  3. Trust the dev TLS CA: copy $RUN/tls/ca.crt to the device and import it
     with certlm.msc into "Trusted Root Certification Authorities".
  4. Settings > Accounts > Access work or school > Enroll only in device
     management, enter $DEMO_USER and the password from
     $RUN/demo-credentials.txt.

Starting httpd in the foreground; Ctrl-C stops it.
EOF

exec "$APACHE2" -DFOREGROUND -f "$CONF"
