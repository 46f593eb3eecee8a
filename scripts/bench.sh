#!/bin/sh
# Throughput, latency and memory of mod_winmdm against baselines measured in
# the same run on the same machine (`make bench`, after the module is built).
#
# What it measures, with the load generator bench/loadgen.c:
#   - the headline: OMA-DM check-in sessions per second over TLS, each
#     device proving itself by its client certificate (no Cred), a
#     connection per session resuming the device's TLS session, with 1,000
#     and 100,000 devices, and the TLS static baselines (wrk over https, and
#     the load generator with the same connection pattern); BENCH_TLS=0
#     skips these;
#   - OMA-DM check-in sessions per second (digest authentication, plain
#     HTTP, keep-alive) and their p50/p99 latency, with 1,000 and with
#     100,000 enrolled devices, on SQLite and on PostgreSQL;
#   - the same httpd's throughput for a static file as large as a check-in
#     reply (wrk, and the load generator's GET mode), and the ratio;
#   - MS-WSTEP enrollments per second (a bcrypt password check, a fresh
#     PKCS#10 per request, RSA-2048 signing by the module's CA, the issued
#     certificate checked by the load generator) against
#     `openssl speed rsa2048` on this machine, and the ratio;
#   - the RSS of each httpd child under load, and across a long run
#     (BENCH_SOAK_SECONDS, 600 by default) to show growth or none.
# It prints a table and writes bench/results.txt (figures only).
#
# Everything it makes lives under $BENCH_DIR (/tmp/winmdm-bench): its own
# httpd.conf (mpm_event, the built module, no Debian configuration), a CA,
# an htpasswd file, the SQLite database, a private PostgreSQL 15 cluster on
# a unix socket. Devices are seeded straight into the module's tables
# (loadgen --emit-sql) after httpd has created the schema.
#
# Run as root: it installs wrk, postgresql-15 and libaprutil1-dbd-pgsql
# when missing (apt-get), and httpd drops to www-data as in production.
#
# Environment (defaults in brackets):
#   BENCH_SECONDS        [30]   length of each measured run
#   BENCH_WARMUP         [5]    warm-up before each measured run
#   BENCH_SOAK_SECONDS   [600]  the long run (memory growth); 0 skips it
#   BENCH_CONNS          [2 x nproc, at least 8, at most 16]  connections
#   BENCH_DRIVERS        [sqlite3 pgsql]; "none" runs only the profile runs
#   BENCH_PROFILE_DRIVERS [sqlite3]  drivers of the profile runs
#   BENCH_GLIBC_TUNABLES [glibc.malloc.trim_threshold=134217728]  httpd's
#                               GLIBC_TUNABLES ("" for glibc's defaults)
#   BENCH_SEEN_GAP       [60]   least seconds between two sessions of one
#                               device of the large fleet
#   BENCH_SMALL          [1000]    devices of the small fleet
#   BENCH_LARGE          [100000]  devices of the large fleet
#   BENCH_PORT           [18480]   plain HTTP port on 127.0.0.1
#                                  (+1 PostgreSQL, +2 TLS)
#   BENCH_TLS            [1]       0 skips the TLS runs
#   BENCH_DIR            [/tmp/winmdm-bench]
#   BENCH_RESULTS        [bench/results.txt]
#   APACHE2              [/usr/sbin/apache2]
set -e

TOP=$(cd "$(dirname "$0")/.." && pwd)
W=${BENCH_DIR:-/tmp/winmdm-bench}
MODULE=$TOP/.libs/mod_winmdm.so
APACHE2=${APACHE2:-/usr/sbin/apache2}
PORT=${BENCH_PORT:-18480}
PGPORT=$((PORT + 1))
SECONDS_RUN=${BENCH_SECONDS:-30}
WARMUP=${BENCH_WARMUP:-5}
SOAK=${BENCH_SOAK_SECONDS:-600}
SMALL=${BENCH_SMALL:-1000}
LARGE=${BENCH_LARGE:-100000}
DRIVERS=${BENCH_DRIVERS:-sqlite3 pgsql}
RESULTS=${BENCH_RESULTS:-$TOP/bench/results.txt}
NPROC=$(nproc)
if [ -n "$BENCH_CONNS" ]; then
    CONNS=$BENCH_CONNS
else
    CONNS=$((NPROC * 2))
    [ "$CONNS" -ge 8 ] || CONNS=8
    [ "$CONNS" -le 16 ] || CONNS=16
fi
SEED=${BENCH_SEED:-$(date +%s)}
# glibc's malloc for httpd, as README.md recommends for a deployment
# (Performance): each TLS connection allocates and frees OpenSSL's
# buffers on its worker thread's arena, and with the default trim
# threshold (128 KB) glibc gives the top of the arena back to the kernel
# (madvise) and takes it again by page faults, connection after
# connection. BENCH_GLIBC_TUNABLES= measures glibc's defaults.
HTTPD_TUNABLES=${BENCH_GLIBC_TUNABLES-glibc.malloc.trim_threshold=134217728}
# Seconds between two sessions of one device in the large fleet's runs.
SEEN_GAP=${BENCH_SEEN_GAP:-60}
# The profile runs (issue of scale: groups, profiles, convergence).
PROFILE_DRIVERS=${BENCH_PROFILE_DRIVERS-sqlite3}
# Each child's mod_dbd pool on SQLite: mod_dbd's usual 10. apr_dbd's
# SQLite driver holds one process-wide mutex around every call and SQLite's
# busy handler sleeps inside it; the module takes a per-child lock before
# SQLite's write lock (src/wm_store.c), so a child's connections do not
# stall each other. BENCH_SQLITE_DBDMAX=1 also measures a pool of 8 against
# a pool of one.
SQLITE_DBDMAX=${BENCH_SQLITE_DBDMAX:-10}
PGBIN=/usr/lib/postgresql/15/bin
RUN_USER=www-data
# Enrollment users, one per connection: bench0@example.test, bench1@...
# (the module counts password attempts per user and address before it
# checks them, and refuses a sixth one in flight for one pair).
BENCH_USER=bench%d@example.test
LOADGEN=$W/loadgen
FIXTURE=$TOP/t/fixtures/windows10/wstep_rst_request_win10_19043_usernametoken.xml
CSV=$W/figures.csv
# The schema version the module creates: seeding waits for it.
SCHEMA=$(sed -n 's/^#define WM_STORE_SCHEMA_VERSION \([0-9]*\).*/\1/p' "$TOP/include/wm_store.h")

die() {
    echo "bench: $*" >&2
    exit 1
}
say() {
    echo "bench: $*" >&2
}

# --- prerequisites -----------------------------------------------------------

[ "$(id -u)" = 0 ] || die "run as root (httpd drops to $RUN_USER; PostgreSQL runs as postgres)"
[ -f "$MODULE" ] || die "$MODULE is missing; build it with 'make'"
[ -x "$APACHE2" ] || die "$APACHE2 not found"
[ -f "$FIXTURE" ] || die "$FIXTURE is missing"
for v in "$PORT" "$SECONDS_RUN" "$WARMUP" "$SOAK" "$CONNS" "$SMALL" "$LARGE"; do
    case $v in
    '' | *[!0-9]*) die "'$v' is not a number" ;;
    esac
done

# Debian packages the benchmark needs beyond `make deps`.
need_pkgs="wrk sqlite3 apache2-utils openssl procps curl"
case " $DRIVERS $PROFILE_DRIVERS " in
*" pgsql "*) need_pkgs="$need_pkgs postgresql-15 libaprutil1-dbd-pgsql" ;;
esac
missing=
for p in $need_pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    say "installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends $missing >/dev/null
fi

# --- state under $W ------------------------------------------------------------

HTTPD_PID=
PG_STARTED=
LOAD_PID=
cleanup() {
    [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null
    stop_httpd
    if [ -n "$PG_STARTED" ]; then
        runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -m fast -w stop >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

umask 022
# An httpd left by an interrupted run would hold the port.
if [ -s "$W/run/httpd.pid" ] && [ -f "$W/httpd.conf" ]; then
    old=$(cat "$W/run/httpd.pid")
    if kill -0 "$old" 2>/dev/null; then
        say "stopping the httpd of an earlier run ($old)"
        "$APACHE2" -f "$W/httpd.conf" -k stop 2>/dev/null || true
        i=0
        while kill -0 "$old" 2>/dev/null && [ $i -lt 600 ]; do
            sleep 0.1
            i=$((i + 1))
        done
    fi
fi
rm -rf "$W/db" "$W/run" "$W/htdocs" "$W/logs" "$W/pg" "$W/pgsock" "$W/state"
mkdir -p "$W/db" "$W/run" "$W/htdocs" "$W/logs" "$W/ca" "$W/pgsock" "$W/state"
chmod 0755 "$W"
chown "$RUN_USER:$RUN_USER" "$W/db"
: >"$CSV"

say "building the load generator"
make -s -C "$TOP/bench" OUT="$LOADGEN" >&2

# The CA signs every enrolled device's certificate: RSA-2048, the key size
# `openssl speed rsa2048` measures.
if [ ! -f "$W/ca/ca.key" ]; then
    (umask 077 && openssl genpkey -quiet -algorithm RSA \
        -pkeyopt rsa_keygen_bits:2048 -out "$W/ca/ca.key")
    openssl req -new -x509 -key "$W/ca/ca.key" -out "$W/ca/ca.crt" -days 3650 \
        -sha256 -subj "/O=mod_winmdm benchmark/CN=mod_winmdm bench CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

# The enrollment users' password is stored bcrypt at htpasswd's default
# cost (htpasswd -B), as `make run` and a production setup store it: every
# enrollment pays the bcrypt check a real one pays.
BENCH_PASSWORD=$(openssl rand -hex 12)
: >"$W/users.htpasswd"
i=0
while [ $i -lt "$CONNS" ]; do
    htpasswd -b -B "$W/users.htpasswd" "$(printf "$BENCH_USER" $i)" \
        "$BENCH_PASSWORD" 2>/dev/null
    i=$((i + 1))
done
chgrp "$RUN_USER" "$W/users.htpasswd"
chmod 0640 "$W/users.htpasswd"
# The administrator of the profile runs: a few hundred API calls, so the
# hash does not matter to any figure.
ADMIN_PASSWORD=$(openssl rand -hex 12)
htpasswd -b -s -c "$W/admin.htpasswd" admin "$ADMIN_PASSWORD" 2>/dev/null
chgrp "$RUN_USER" "$W/admin.htpasswd"
chmod 0640 "$W/admin.htpasswd"

# --- httpd --------------------------------------------------------------------

# write_conf DRIVER PARAMS CONNECTIONS: CONNECTIONS is the size of each
# child's mod_dbd pool.
write_conf() {
    cat >"$W/httpd.conf" <<EOF
# Written by scripts/bench.sh; rewritten on every run.
ServerRoot "$W"
ServerName 127.0.0.1
PidFile "$W/run/httpd.pid"
DefaultRuntimeDir "$W/run"
ErrorLog "$W/logs/error_log"
LogLevel warn
User $RUN_USER
Group $RUN_USER

LoadModule mpm_event_module  /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authn_file_module /usr/lib/apache2/modules/mod_authn_file.so
LoadModule auth_basic_module /usr/lib/apache2/modules/mod_auth_basic.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so
LoadModule mime_module       /usr/lib/apache2/modules/mod_mime.so
LoadModule dbd_module        /usr/lib/apache2/modules/mod_dbd.so
LoadModule winmdm_module     "$MODULE"

# A fixed pool of children, so that the memory of each can be followed.
StartServers 2
ServerLimit 4
ThreadsPerChild 25
MaxRequestWorkers 100
MinSpareThreads 25
MaxSpareThreads 100
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5

TypesConfig /etc/mime.types
DocumentRoot "$W/htdocs"
# As production configurations do: no .htaccess lookups on every request.
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "$W/htdocs">
    AllowOverride None
    Require all granted
</Directory>
# No access log: neither the check-ins nor the static baseline pay for one.

DBDriver $1
DBDParams "$2"
DBDMin 1
DBDKeep $3
DBDMax $3
DBDExptime 300

WinMDM On
WinMDMDomain example.test
WinMDMPublicURL https://enterpriseenrollment.example.test
WinMDMAuthPolicy OnPremise
WinMDMAuthProvider file
WinMDMDeviceAuth digest
# The benchmark talks plain HTTP, as to a node behind a TLS-ending
# balancer.
WinMDMTLSOffload On
WinMDMCACertificateFile "$W/ca/ca.crt"
WinMDMCAKeyFile "$W/ca/ca.key"

<Location />
    Require all granted
    AuthUserFile "$W/users.htpasswd"
</Location>

# The admin API, as an operator reaches it: Basic authentication.
<Location /api/device-mgt/windows/v1.0/admin>
    AuthType Basic
    AuthName "mod_winmdm admin"
    AuthBasicProvider file
    AuthUserFile "$W/admin.htpasswd"
    Require valid-user
</Location>

Listen 127.0.0.1:$PORT
EOF
    "$APACHE2" -t -f "$W/httpd.conf" >/dev/null 2>&1 ||
        { "$APACHE2" -t -f "$W/httpd.conf"; die "httpd.conf is not valid"; }
}

start_httpd() {
    # Other builds may replace the module during a run: each start says
    # which one it loaded.
    record "module_start sha256=$(sha256sum "$MODULE" | cut -c1-16)"
    GLIBC_TUNABLES=$HTTPD_TUNABLES "$APACHE2" -f "$W/httpd.conf" -k start
    i=0
    while [ ! -s "$W/run/httpd.pid" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    HTTPD_PID=$(cat "$W/run/httpd.pid" 2>/dev/null) || die "httpd did not start (see $W/logs/error_log)"
    # The children create the schema in child_init; wait for the port.
    wait_port "$PORT" "$W/logs/error_log"
}

# wait_port PORT LOG: waits up to 10 s for an httpd to answer on PORT.
wait_port() {
    i=0
    until "$LOADGEN" -p "$1" --static /ready.txt -n 1 >/dev/null 2>&1; do
        [ $i -lt 100 ] || die "httpd does not answer on port $1 (see $2)"
        sleep 0.1
        i=$((i + 1))
    done
}

stop_httpd() {
    if [ -n "$HTTPD_PID" ] && kill -0 "$HTTPD_PID" 2>/dev/null; then
        "$APACHE2" -f "$W/httpd.conf" -k stop 2>/dev/null || kill "$HTTPD_PID"
        i=0
        # A child blocked in SQLite's busy handler may take the whole busy
        # timeout (10 s) and more to finish its request.
        while kill -0 "$HTTPD_PID" 2>/dev/null && [ $i -lt 600 ]; do
            sleep 0.1
            i=$((i + 1))
        done
    fi
    HTTPD_PID=
}

# rss: "pid:kB pid:kB ... total:kB" for httpd's children.
rss() {
    total=0
    out=
    for pid in $(pgrep -P "$HTTPD_PID"); do
        kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
        [ -n "$kb" ] || continue
        out="$out $pid:$kb"
        total=$((total + kb))
    done
    echo "${out# } total:$total"
}

# --- storage ------------------------------------------------------------------

pg_start() {
    mkdir -p "$W/pg"
    chown postgres:postgres "$W/pgsock" "$W/pg"
    chmod 0700 "$W/pg"
    runuser -u postgres -- "$PGBIN/initdb" -D "$W/pg" -A trust -U postgres \
        -E UTF8 --no-sync >/dev/null
    # Durable as shipped (fsync and synchronous_commit on): every check-in
    # waits for its commit's WAL flush, as README.md ("PostgreSQL at
    # scale") recommends for production. More memory than the 128 MB
    # default, so that the 100,000-device tables and indexes (about 140 MB)
    # stay in shared buffers. Checkpoints further apart than the 5-minute
    # default: each first change of a page after a checkpoint writes the
    # whole page to the WAL, which on tables updated at random (every
    # check-in writes its device's row and nonce) is most of the WAL.
    # BENCH_PG_OPTS adds settings (e.g. "-c synchronous_commit=off").
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -l "$W/pg/postgresql.log" \
        -o "-c listen_addresses='' -k $W/pgsock -p $PGPORT -c shared_buffers=256MB -c max_connections=200 -c checkpoint_timeout=15min -c max_wal_size=4GB ${BENCH_PG_OPTS:-}" \
        -w start >/dev/null
    PG_STARTED=1
}

psql_run() {
    psql -X -q -v ON_ERROR_STOP=1 -h "$W/pgsock" -p "$PGPORT" -U postgres "$@"
}

# fresh_db DRIVER [POOL]: an empty database, httpd (re)started on it, its schema
# made by the module itself.
fresh_db() {
    stop_httpd
    case $1 in
    sqlite3)
        rm -f "$W/db/winmdm.db" "$W/db/winmdm.db-wal" "$W/db/winmdm.db-shm"
        write_conf sqlite3 "$W/db/winmdm.db" "${2:-$SQLITE_DBDMAX}"
        ;;
    pgsql)
        [ -n "$PG_STARTED" ] || pg_start
        psql_run -d postgres -c "DROP DATABASE IF EXISTS winmdm" -c "CREATE DATABASE winmdm"
        # 8 connections per child, not one per thread (25): a check-in
        # holds its connection only from its first statement to the end
        # of the request, and PostgreSQL on 2 cores runs 2 backends at
        # once; more connections add backends that wait on the CPU and
        # on each other's locks. 2 to 4 children x 8 stay well below
        # max_connections. BENCH_PG_DBDMAX overrides it.
        write_conf pgsql "host=$W/pgsock port=$PGPORT dbname=winmdm user=postgres" "${BENCH_PG_DBDMAX:-8}"
        ;;
    esac
    start_httpd
    tables=
    i=0
    while [ "$tables" != "$SCHEMA" ] && [ $i -lt 100 ]; do
        tables=$(db_query "$1" "SELECT MAX(version) FROM wm_schema" 2>/dev/null || true)
        [ "$tables" = "$SCHEMA" ] || sleep 0.1
        i=$((i + 1))
    done
    [ "$tables" = "$SCHEMA" ] || die "the module did not create its schema version $SCHEMA (see $W/logs/error_log)"
}

db_query() {
    case $1 in
    sqlite3) runuser -u "$RUN_USER" -- sqlite3 "$W/db/winmdm.db" "$2" ;;
    pgsql) psql_run -d winmdm -A -t -c "$2" ;;
    esac
}

# seed DRIVER COUNT [LOADGEN OPTIONS]: COUNT devices and one unbound nonce
# each, in one transaction; prints the seconds the database took (not the
# making of the SQL: with certificate options, their signing). sqlite3
# runs as httpd's user so that the files it may create stay writable by
# the children.
seed() {
    drv=$1
    count=$2
    shift 2
    "$LOADGEN" --emit-sql --devices "$count" --seed "$SEED" "$@" >"$W/seed.sql"
    t0=$(date +%s.%N)
    case $drv in
    sqlite3) runuser -u "$RUN_USER" -- sqlite3 -bail "$W/db/winmdm.db" <"$W/seed.sql" ;;
    pgsql) psql_run -d winmdm -f "$W/seed.sql" >/dev/null && psql_run -d winmdm -c "ANALYZE" ;;
    esac
    t1=$(date +%s.%N)
    rows=$(db_query "$drv" "SELECT COUNT(*) FROM devices")
    [ "$rows" = "$count" ] || die "seeding $count devices left $rows rows"
    echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }'
}

# --- measurements -------------------------------------------------------------

# field LINE NAME: a key=value of a loadgen RESULT line.
field() {
    printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

record() {
    echo "$*" >>"$CSV"
}

# pace DEVICES: the load generator's pacing for a fleet. The large fleet
# polls as a real one does: a device starts at most one session per
# SEEN_GAP seconds (the module writes last_seen once a minute,
# WM_DM_SEEN_EVERY), so every session pays the writes a real check-in
# pays. A small fleet cannot feed a measured run that way: its devices
# come back at once, and the report shows how few sessions were first.
pace() {
    if [ "$1" -ge "$LARGE" ]; then
        echo "--min-gap $SEEN_GAP"
    fi
}

# checkin LABEL DRIVER DEVICES SECONDS WARMUP [rss]: a measured run; with
# "rss" the children's memory is read half-way through it. Devices answer
# what the server sends (--answer), and the load generator checks every
# Status and CmdID it gets.
checkin() {
    state=$W/state/$2-$3
    "$LOADGEN" -p "$PORT" -c "$CONNS" -d "$4" -w "$5" --devices "$3" \
        --seed "$SEED" --state "$state" --label "$1" --answer $(pace "$3") \
        >"$W/out.txt" &
    LOAD_PID=$!
    if [ "$6" = rss ]; then
        sleep $(($5 + $4 / 2))
        record "rss_load $(rss)"
    fi
    wait "$LOAD_PID" || { cat "$W/out.txt" >&2; die "loadgen reported errors"; }
    LOAD_PID=
    sed -n 2p "$W/out.txt" >&2
    line=$(grep '^RESULT' "$W/out.txt")
    record "$line"
}

# api METHOD PATH [BODY|@FILE]: one admin API request as an operator makes
# it; prints the answer, stops the run on anything but 2xx.
API=http://127.0.0.1:$PORT/api/device-mgt/windows/v1.0/admin
api() {
    code=$(curl -s -o "$W/api.out" -w '%{http_code}' -u "admin:$ADMIN_PASSWORD" \
        -X "$1" -H 'Content-Type: application/json' \
        ${3:+--data-binary "$3"} "$API/$2") || die "API $1 $2: curl failed"
    case $code in
    2??) cat "$W/api.out" ;;
    *) die "API $1 $2: HTTP $code $(cat "$W/api.out")" ;;
    esac
}

# json_id: the first "id" of an API answer.
json_id() {
    sed -n 's/.*"id": *"\{0,1\}\([0-9][0-9]*\)"\{0,1\}.*/\1/p' | head -1
}

# queue_ops DRIVER DEVICES: one pending DEVICE_INFO operation (a Get of
# nine DevInfo and DevDetail nodes, results stored as inventory) for every
# tenth device, so that about one session in ten answers an operation in
# a second message. The first is queued through the API; the others are
# copies of its row, made in one statement.
queue_ops() {
    id=$(api POST "devices/BENCH00000000/operations" '{"type": "DEVICE_INFO"}' | json_id)
    [ -n "$id" ] || die "queueing an operation gave no id"
    db_query "$1" "INSERT INTO operations (device_id, type, body, state, created, cmd_count, created_by) SELECT d.device_id, o.type, o.body, 'pending', o.created, o.cmd_count, o.created_by FROM devices d, operations o WHERE o.id = $id AND d.device_id <> o.device_id AND CAST(SUBSTR(d.device_id, 6) AS INTEGER) % 10 = 0" >/dev/null
    pending=$(db_query "$1" "SELECT COUNT(*) FROM operations WHERE state = 'pending'")
    record "ops_queued driver=$1 devices=$2 pending=$pending"
}

# wrk's latency in ms from its "50%  1.23ms" lines.
wrk_ms() {
    awk -v q="$2" '$1 == q {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
        printf "%.3f", v }' "$1"
}

# --- TLS with device client certificates ---------------------------------------

# The headline run: check-ins as real Windows devices make them, over TLS
# (mod_ssl in this httpd, no WinMDMTLSOffload), each device proving itself
# by the client certificate the module's CA issued it (no SyncML Cred), a
# connection of its own per session that resumes the device's earlier TLS
# session. BENCH_TLS=0 skips it. The TLS virtual host listens on
# BENCH_PORT + 2 (BENCH_PORT + 1 is PostgreSQL's).
TLS_PORT=$((PORT + 2))
TLS_ON=${BENCH_TLS:-1}

# tls_setup: the server's certificate, signed by the bench CA (the device
# CA signs it too, so one file is the devices' trust anchor and
# SSLCACertificateFile, as in t/conf/extra.conf.in).
tls_setup() {
    [ -f "$W/ca/server.key" ] && [ -f "$W/ca/server.crt" ] && return 0
    (umask 077 && openssl genpkey -quiet -algorithm RSA \
        -pkeyopt rsa_keygen_bits:2048 -out "$W/ca/server.key")
    openssl req -new -key "$W/ca/server.key" -out "$W/ca/server.csr" \
        -subj "/O=mod_winmdm benchmark/CN=127.0.0.1" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" \
        "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$W/ca/server.ext"
    openssl x509 -req -sha256 -days 365 -in "$W/ca/server.csr" \
        -CA "$W/ca/ca.crt" -CAkey "$W/ca/ca.key" -CAcreateserial \
        -extfile "$W/ca/server.ext" -out "$W/ca/server.crt" 2>/dev/null
}

# tls_reconfigure: turns the running configuration (fresh_db wrote it and
# the module made its schema) into the TLS one and restarts httpd: the
# plain port stays (start_httpd waits on it), the device port is TLS.
tls_reconfigure() {
    stop_httpd
    sed -i -e '/^# The benchmark talks plain HTTP/,/^WinMDMTLSOffload/d' \
        -e '/^WinMDMTLSOffload/d' \
        -e 's/^WinMDMDeviceAuth .*/WinMDMDeviceAuth any/' "$W/httpd.conf"
    grep -q '^WinMDMTLSOffload' "$W/httpd.conf" &&
        die "httpd.conf still sets WinMDMTLSOffload"
    cat >>"$W/httpd.conf" <<EOT

# --- TLS with device client certificates (scripts/bench.sh tls_reconfigure)
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
LoadModule ssl_module           /usr/lib/apache2/modules/mod_ssl.so
# A device polls every 15 minutes (WinMDMPollInterval) and resumes its TLS
# session on its next check-in: the session must outlive the poll, so the
# timeout is above 900 s (it also bounds the lifetime of the session
# tickets mod_ssl issues). The cache holds one session per device of a
# 100,000-device fleet: a TLS 1.2 session carries the client's certificate
# (about 1 KB DER, 1.5 KB in the cache with its index), hence 160 MB.
SSLSessionCache "shmcb:$W/run/ssl_scache(160000000)"
SSLSessionCacheTimeout 1200
SSLRandomSeed startup builtin

Listen 127.0.0.1:$TLS_PORT
<VirtualHost 127.0.0.1:$TLS_PORT>
    SSLEngine on
    SSLCertificateFile "$W/ca/server.crt"
    SSLCertificateKeyFile "$W/ca/server.key"
    # Client certificates at virtual-host level, optional (devices that
    # enroll have none yet), as README.md and t/conf/extra.conf.in set it:
    # a per-directory SSLVerifyClient needs a renegotiation, which fails
    # under TLS 1.3.
    SSLCACertificateFile "$W/ca/ca.crt"
    SSLVerifyClient optional
    SSLVerifyDepth 1
</VirtualHost>
EOT
    "$APACHE2" -t -f "$W/httpd.conf" >/dev/null 2>&1 ||
        { "$APACHE2" -t -f "$W/httpd.conf"; die "the TLS httpd.conf is not valid"; }
    start_httpd
}

# tls_certs_args DEVICES: the load generator's certificate options. The
# keys and certificates made for a fleet are kept next to the CA (a
# benchmark run empties state/), for this run's later invocations and for
# a later run of the same BENCH_SEED; another seed makes them again.
tls_certs_args() {
    echo "--client-certs --ca-cert $W/ca/ca.crt --ca-key $W/ca/ca.key --cert-cache $W/ca/certs-$1"
}

# checkin_tls LABEL DRIVER DEVICES SECONDS WARMUP: certificate check-ins,
# one connection per session, resumed; records the RESULT line (with its
# tls_full and tls_resumed counts).
checkin_tls() {
    # shellcheck disable=SC2046
    "$LOADGEN" -p "$TLS_PORT" -c "$CONNS" -d "$4" -w "$5" --devices "$3" \
        --seed "$SEED" --state "$W/state/tls-$2-$3" $(tls_certs_args "$3") \
        --answer $(pace "$3") --label "$1" >"$W/out.txt" ||
        { cat "$W/out.txt" >&2; die "loadgen reported errors"; }
    sed -n '2,3p' "$W/out.txt" >&2
    line=$(grep '^RESULT' "$W/out.txt")
    record "$line"
}

# prime_tls DRIVER DEVICES: every device opens one TLS connection with its
# certificate (a GET of an empty file), so that each has a session to
# resume, as a fleet in steady state has from its previous poll (Windows
# keeps its TLS sessions for hours; the server's ticket lifetime is above
# the poll interval, see tls_reconfigure). Records the handshake rate.
prime_tls() {
    # shellcheck disable=SC2046
    "$LOADGEN" -p "$TLS_PORT" -c "$CONNS" -d 3600 --once --devices "$2" \
        --seed "$SEED" --state "$W/state/tls-$1-$2" $(tls_certs_args "$2") \
        --static /ready.txt --label "prime-tls-$1-$2" >"$W/out.txt" ||
        { cat "$W/out.txt" >&2; die "loadgen reported errors"; }
    sed -n '2,3p' "$W/out.txt" >&2
    record "$(grep '^RESULT' "$W/out.txt")"
}

# static_tls DEVICES BYTES: the same httpd's TLS static baselines for a
# file as large as a certificate check-in's reply: wrk over https
# (keep-alive), and the load generator with the check-ins' connection
# pattern (a connection per request, each device's certificate and
# resumed session), and with keep-alive.
static_tls() {
    head -c "$2" /dev/zero | tr '\0' 'x' >"$W/htdocs/reply-tls.xml"
    say "TLS static file of $2 bytes: wrk over https (keep-alive)"
    wrk -t "$NPROC" -c "$CONNS" -d "${SECONDS_RUN}s" --latency \
        "https://127.0.0.1:$TLS_PORT/reply-tls.xml" >"$W/wrk-tls.txt"
    rate=$(awk '/^Requests\/sec:/ { print $2 }' "$W/wrk-tls.txt")
    record "static_tls_wrk rate=$rate p50_ms=$(wrk_ms "$W/wrk-tls.txt" 50%) p99_ms=$(wrk_ms "$W/wrk-tls.txt" 99%) bytes=$2"
    say "TLS static file: loadgen, a connection per request, resumed"
    # shellcheck disable=SC2046
    "$LOADGEN" -p "$TLS_PORT" -c "$CONNS" -d "$SECONDS_RUN" -w "$WARMUP" \
        --static /reply-tls.xml --devices "$1" --seed "$SEED" \
        --state "$W/state/tls-static-$1" $(tls_certs_args "$1") \
        --label static-tls-loadgen >"$W/out.txt" || die "loadgen failed"
    sed -n '2,3p' "$W/out.txt" >&2
    record "$(grep '^RESULT' "$W/out.txt")"
    say "TLS static file: loadgen, keep-alive"
    "$LOADGEN" -p "$TLS_PORT" -c "$CONNS" -d "$SECONDS_RUN" -w "$WARMUP" \
        --tls --static /reply-tls.xml --label static-tls-loadgen-ka \
        >"$W/out.txt" || die "loadgen failed"
    sed -n '2,3p' "$W/out.txt" >&2
    record "$(grep '^RESULT' "$W/out.txt")"
}

record "module sha256=$(sha256sum "$MODULE" | cut -c1-16) built=$(date -u -r "$MODULE" '+%Y-%m-%dT%H:%M:%SZ')"
record "loadavg_start $(cut -d' ' -f1-3 /proc/loadavg)"

say "seed $SEED, $CONNS connections, ${SECONDS_RUN} s runs after ${WARMUP} s warm-up, $NPROC CPUs"

# Raw RSA-2048 signing on this machine, before httpd runs: one process,
# then one per CPU at once, summed (httpd signs on every CPU; the figures
# of `openssl speed -multi` in OpenSSL 3.0 are not sums, so they are not
# used).
say "openssl speed -seconds 10 rsa2048: one process, then $NPROC at once"
openssl speed -seconds 10 rsa2048 2>/dev/null >"$W/speed1.txt"
RSA1=$(awk '/^rsa 2048 bits/ { print $6 }' "$W/speed1.txt" | tail -1)
pids=
i=0
while [ $i -lt "$NPROC" ]; do
    openssl speed -seconds 10 rsa2048 2>/dev/null >"$W/speed-$i.txt" &
    pids="$pids $!"
    i=$((i + 1))
done
wait $pids
RSAN=$(cat "$W"/speed-*.txt | awk '/^rsa 2048 bits/ { s += $6 } END { printf "%.1f", s }')
record "rsa_sign single=$RSA1 multi=$RSAN"

: >"$W/htdocs/ready.txt"
REPLY_BYTES=

# two_nodes DRIVER DEVICES: a second httpd on the same database (its own
# port, pid file and runtime folder, the same configuration otherwise), as
# a second node behind a balancer; each node gets half the fleet and as
# many connections as the single node had. Both nodes share this
# machine's cores with each other, the database and the load generators.
two_nodes() {
    port2=$((PORT + 3))
    mkdir -p "$W/run2"
    sed -e "s#^Listen 127.0.0.1:$PORT\$#Listen 127.0.0.1:$port2#" \
        -e "s#^PidFile .*#PidFile \"$W/run2/httpd.pid\"#" \
        -e "s#^DefaultRuntimeDir .*#DefaultRuntimeDir \"$W/run2\"#" \
        -e "s#^ErrorLog .*#ErrorLog \"$W/logs/error_log2\"#" \
        "$W/httpd.conf" >"$W/httpd2.conf"
    GLIBC_TUNABLES=$HTTPD_TUNABLES "$APACHE2" -f "$W/httpd2.conf" -k start
    wait_port "$port2" "$W/logs/error_log2"
    half=$(($2 / 2))
    state=$W/state/$1-$2
    awk -v h="$half" '$1 < h' "$state" >"$state.a"
    awk -v h="$half" '$1 >= h' "$state" >"$state.b"
    # Every device of the fleet is due again.
    sleep "$SEEN_GAP"
    "$LOADGEN" -p "$PORT" -c "$CONNS" -d "$SECONDS_RUN" -w "$WARMUP" \
        --first 0 --devices "$half" --seed "$SEED" --state "$state.a" \
        --answer $(pace "$2") --label "node-a-$1" >"$W/out-a.txt" &
    pa=$!
    "$LOADGEN" -p "$port2" -c "$CONNS" -d "$SECONDS_RUN" -w "$WARMUP" \
        --first "$half" --devices $(($2 - half)) --seed "$SEED" \
        --state "$state.b" --answer $(pace "$2") --label "node-b-$1" \
        >"$W/out-b.txt" &
    pb=$!
    ok=1
    wait "$pa" || ok=0
    wait "$pb" || ok=0
    "$APACHE2" -f "$W/httpd2.conf" -k stop
    [ $ok = 1 ] || { cat "$W/out-a.txt" "$W/out-b.txt" >&2; die "loadgen reported errors"; }
    for f in "$W/out-a.txt" "$W/out-b.txt"; do
        sed -n 2p "$f" >&2
        record "$(grep '^RESULT' "$f")"
    done
}

# soak DRIVER DEVICES: the long run (SOAK seconds) of the headline kind,
# certificate check-ins over TLS, paced as in a real fleet, one load
# generator a minute so that each minute is its own figure; the children's
# memory is read at its start, in the middle of each minute and at its end.
soak() {
    say "long run: $SOAK s of certificate check-ins, memory read every minute"
    record "rss_soak_start $(rss)"
    left=$SOAK
    minute=0
    while [ "$left" -gt 0 ]; do
        seg=60
        [ "$left" -ge 60 ] || seg=$left
        minute=$((minute + 1))
        # shellcheck disable=SC2046
        "$LOADGEN" -p "$TLS_PORT" -c "$CONNS" -d "$seg" --devices "$2" \
            --seed "$SEED" --state "$W/state/tls-$1-$2" $(tls_certs_args "$2") \
            --answer $(pace "$2") --label "soak-$minute" >"$W/out.txt" &
        LOAD_PID=$!
        sleep $((seg / 2))
        mem=$(rss)
        wait "$LOAD_PID" || { cat "$W/out.txt" >&2; die "loadgen reported errors"; }
        LOAD_PID=
        sed -n 2p "$W/out.txt" >&2
        record "$(grep '^RESULT' "$W/out.txt")"
        record "rss_soak minute=$minute $mem"
        left=$((left - seg))
    done
    sleep 2
    record "rss_soak_end $(rss)"
}

# --- the TLS runs (the headline; BENCH_TLS=0 skips them) -----------------------

if [ "$TLS_ON" = 1 ]; then
    tls_setup
    for driver in $DRIVERS; do
        [ "$driver" != none ] || continue
        for n in $SMALL $LARGE; do
            say "TLS, $driver, $n devices: certificates, fresh database and seed"
            fresh_db "$driver"
            # shellcheck disable=SC2046 # options, split on purpose
            secs=$(seed "$driver" "$n" $(tls_certs_args "$n"))
            record "seed_tls driver=$driver devices=$n seconds=$secs"
            queue_ops "$driver" "$n"
            tls_reconfigure
            say "TLS, $driver, $n devices: a first TLS session for every device"
            prime_tls "$driver" "$n"
            checkin_tls "tls-$driver-$n" "$driver" "$n" "$SECONDS_RUN" "$WARMUP"
            if [ "$driver" = sqlite3 ] && [ "$n" = "$LARGE" ]; then
                static_tls "$n" "$(field "$line" reply_bytes)"
                [ "$SOAK" -eq 0 ] || soak "$driver" "$n"
            fi
        done
    done
fi


for driver in $DRIVERS; do
    # BENCH_DRIVERS=none: the profile runs alone (BENCH_PROFILE_DRIVERS).
    [ "$driver" != none ] || continue
    if [ "$driver" = sqlite3 ] && [ "$SQLITE_DBDMAX" = 1 ] && [ "${BENCH_POOL_CHECK:-1}" = 1 ]; then
        # What the pool of one avoids: 8 connections per child (a short
        # run; a stalled request takes the 10 s busy timeout).
        say "sqlite3, $SMALL devices, 8 connections per child"
        fresh_db sqlite3 8
        seed sqlite3 "$SMALL" >/dev/null
        checkin "sqlite3-pool8-$SMALL" sqlite3 "$SMALL" 20 0
        rm -f "$W/state/sqlite3-$SMALL"
    fi
    for n in $SMALL $LARGE; do
        say "$driver, $n devices: fresh database and seed"
        fresh_db "$driver"
        secs=$(seed "$driver" "$n")
        say "$driver: $n devices seeded in $secs s"
        record "seed driver=$driver devices=$n seconds=$secs"
        queue_ops "$driver" "$n"
        if [ "$driver" = sqlite3 ] && [ "$n" = "$LARGE" ]; then
            checkin "$driver-$n" "$driver" "$n" "$SECONDS_RUN" "$WARMUP" rss
        else
            checkin "$driver-$n" "$driver" "$n" "$SECONDS_RUN" "$WARMUP"
        fi
        [ -n "$REPLY_BYTES" ] || REPLY_BYTES=$(field "$line" reply_bytes)
        if [ "$driver" = pgsql ] && [ "$n" = "$LARGE" ]; then
            say "pgsql, $n devices: two httpd nodes on one database"
            two_nodes "$driver" "$n"
        fi
        if [ "$driver" = sqlite3 ] && [ "$n" = "$LARGE" ]; then
            # Baselines on this very httpd, still holding the large fleet.
            head -c "$REPLY_BYTES" /dev/zero | tr '\0' 'x' >"$W/htdocs/reply.xml"
            say "static file of $REPLY_BYTES bytes: wrk"
            wrk -t "$NPROC" -c "$CONNS" -d "${SECONDS_RUN}s" --latency \
                "http://127.0.0.1:$PORT/reply.xml" >"$W/wrk.txt"
            wrk_rate=$(awk '/^Requests\/sec:/ { print $2 }' "$W/wrk.txt")
            record "static_wrk rate=$wrk_rate p50_ms=$(wrk_ms "$W/wrk.txt" 50%) p99_ms=$(wrk_ms "$W/wrk.txt" 99%) bytes=$REPLY_BYTES"
            say "static file: loadgen GET"
            "$LOADGEN" -p "$PORT" -c "$CONNS" -d "$SECONDS_RUN" -w "$WARMUP" \
                --static /reply.xml --label static-loadgen >"$W/out.txt"
            sed -n 2p "$W/out.txt" >&2
            record "$(grep '^RESULT' "$W/out.txt")"

            # Each enrollment carries a PKCS#10 of its own (made by the
            # load generator from a pool of RSA-2048 keys), and counts
            # only when the certificate it gets back verifies against the
            # CA and holds that request's key.
            say "enrollments (MS-WSTEP, OnPremise, bcrypt htpasswd, a fresh CSR each)"
            "$LOADGEN" -p "$PORT" -c "$CONNS" -d "$SECONDS_RUN" -w "$WARMUP" \
                --wstep "$FIXTURE" --user "$BENCH_USER" \
                --password "$BENCH_PASSWORD" --prefix "E$SEED-" \
                --ca-cert "$W/ca/ca.crt" \
                --devices 1000000 --label enroll >"$W/out.txt" ||
                die "loadgen failed"
            sed -n 2p "$W/out.txt" >&2
            record "$(grep '^RESULT' "$W/out.txt")"
        fi
    done
done

# --- profiles at scale ------------------------------------------------------
#
# The large fleet in PROFILE_GROUPS groups (device i in group i mod 10),
# PROFILE_COUNT profiles of three Policy CSP settings each, two assigned to
# each group, all made through the admin API as an operator would. Measured:
# check-ins with nothing changed against the same fleet without profiles
# (same run, same pacing), the time for the whole fleet to get and verify
# its profiles, and the time for a changed profile to reach and be
# verified on every device of its group, with the count of the operations
# that carried it (each device must get it once).

PROFILE_GROUPS=10
PROFILE_COUNT=20
# Real Policy CSP settings (Learn, "Policy CSP"), three per profile; the
# emulated devices keep what they are sent and read it back.
PROFILE_SETTINGS="DeviceLock/MinDevicePasswordLength=8
DeviceLock/MaxInactivityTimeDeviceLock=15
DeviceLock/DevicePasswordExpiration=90
DeviceLock/DevicePasswordHistory=5
DeviceLock/AllowSimpleDevicePassword=0
DeviceLock/MaxDevicePasswordFailedAttempts=10
DeviceLock/MinDevicePasswordComplexCharacters=2
DeviceLock/AlphanumericDevicePasswordRequired=0
DeviceLock/DevicePasswordEnabled=0
Update/ActiveHoursStart=8
Update/ActiveHoursEnd=18
Update/ActiveHoursMaxRange=12
Update/DeferFeatureUpdatesPeriodInDays=30
Update/DeferQualityUpdatesPeriodInDays=7
Update/PauseFeatureUpdates=0
Update/PauseQualityUpdates=0
Update/AllowAutoUpdate=3
Update/ScheduledInstallDay=0
Update/ScheduledInstallTime=3
Update/BranchReadinessLevel=16
Update/EngagedRestartDeadline=7
Update/AutoRestartNotificationSchedule=60
Defender/AllowRealtimeMonitoring=1
Defender/AllowCloudProtection=1
Defender/AllowBehaviorMonitoring=1
Defender/AllowIOAVProtection=1
Defender/AllowScriptScanning=1
Defender/AllowArchiveScanning=1
Defender/AllowEmailScanning=1
Defender/AllowFullScanRemovableDriveScanning=1
Defender/AllowOnAccessProtection=1
Defender/AvgCPULoadFactor=50
Defender/CloudBlockLevel=2
Defender/DaysToRetainCleanedMalware=30
Defender/ScheduleQuickScanTime=120
Defender/SubmitSamplesConsent=1
Defender/PUAProtection=1
Defender/RealTimeScanDirection=0
Experience/AllowCortana=0
Experience/AllowManualMDMUnenrollment=0
Experience/AllowWindowsTips=0
Experience/AllowSyncMySettings=1
Experience/DoNotShowFeedbackNotifications=1
Experience/AllowFindMyDevice=1
System/AllowTelemetry=1
System/AllowLocation=1
System/AllowStorageCard=1
System/AllowExperimentation=0
System/AllowBuildPreview=0
Connectivity/AllowCellularDataRoaming=0
Connectivity/AllowUSBConnection=1
Connectivity/AllowNFC=0
Connectivity/AllowVPNOverCellular=1
Bluetooth/AllowDiscoverableMode=0
Bluetooth/AllowAdvertising=0
Bluetooth/AllowPrepairing=1
Camera/AllowCamera=1
Wifi/AllowInternetSharing=0
Wifi/AllowAutoConnectToWiFiSenseHotspots=0
Privacy/AllowInputPersonalization=0"

# profile_json K [CHANGED]: the settings of profile K (1-based), three
# lines of PROFILE_SETTINGS; with CHANGED, its first value plus one.
profile_json() {
    printf '%s\n' "$PROFILE_SETTINGS" | sed -n "$((($1 - 1) * 3 + 1)),$(($1 * 3))p" |
        awk -F= -v k="$1" -v changed="$2" '
        { v = $2; if (changed != "" && NR == 1) v = v + 1
          s = s (NR > 1 ? ", " : "") "\"" $1 "\": \"" v "\"" }
        END { printf "{\"name\": \"Bench profile %d\", \"settings\": {%s}}", k, s }'
}

# profiles_setup DRIVER: groups, members, profiles and assignments through
# the API.
profiles_setup() {
    g=1
    while [ $g -le $PROFILE_GROUPS ]; do
        gid=$(api POST groups "{\"name\": \"bench-group-$g\"}" | json_id)
        [ -n "$gid" ] || die "creating a group gave no id"
        eval "GROUP_$g=$gid"
        # Members in calls of 1,000 (the API's bound per call).
        start=$((g - 1))
        while [ $start -lt "$LARGE" ]; do
            awk -v s="$start" -v n="$LARGE" -v step=$PROFILE_GROUPS 'BEGIN {
                printf "["; c = 0
                for (i = s; i < n && c < 1000; i += step) {
                    printf "%s\"BENCH%08d\"", (c ? "," : ""), i; c++ }
                printf "]" }' >"$W/members.json"
            api POST "groups/$gid/devices" "@$W/members.json" >/dev/null
            start=$((start + 1000 * PROFILE_GROUPS))
        done
        g=$((g + 1))
    done
    k=1
    while [ $k -le $PROFILE_COUNT ]; do
        pid=$(api POST profiles "$(profile_json $k)" | json_id)
        [ -n "$pid" ] || die "creating a profile gave no id"
        eval "PROFILE_$k=$pid"
        g=$(((k - 1) % PROFILE_GROUPS + 1))
        eval "gid=\$GROUP_$g"
        api PUT "profiles/$pid/targets/$gid" '{}' >/dev/null
        k=$((k + 1))
    done
    members=$(db_query "$1" "SELECT COUNT(*) FROM group_members")
    [ "$members" = "$LARGE" ] || die "group members: $members, not $LARGE"
}

# converge LABEL DRIVER SQL-DONE: runs the fleet's check-ins until the
# query SQL-DONE answers 1, reading it every second; records the seconds
# from the call, and the load generator's RESULT line.
converge() {
    t0=$(date +%s.%N)
    "$LOADGEN" -p "$PORT" -c "$CONNS" -d 3600 --devices "$LARGE" \
        --seed "$SEED" --state "$W/state/prof-$2" --answer $(pace "$LARGE") \
        --label "$1" >"$W/out.txt" &
    LOAD_PID=$!
    done=0
    while [ "$done" != 1 ]; do
        kill -0 "$LOAD_PID" 2>/dev/null || { cat "$W/out.txt" >&2; die "loadgen ended before $1 converged"; }
        sleep 1
        done=$(db_query "$2" "$3")
    done
    t1=$(date +%s.%N)
    kill -TERM "$LOAD_PID"
    wait "$LOAD_PID" || { cat "$W/out.txt" >&2; die "loadgen reported errors"; }
    LOAD_PID=
    sed -n 2p "$W/out.txt" >&2
    record "$(grep '^RESULT' "$W/out.txt")"
    echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }'
}

# paced_run LABEL DRIVER: a measured run of the profile fleet, after every
# device is due again.
paced_run() {
    sleep "$SEEN_GAP"
    "$LOADGEN" -p "$PORT" -c "$CONNS" -d "$SECONDS_RUN" -w "$WARMUP" \
        --devices "$LARGE" --seed "$SEED" --state "$W/state/prof-$2" \
        --answer $(pace "$LARGE") --label "$1" >"$W/out.txt" ||
        { cat "$W/out.txt" >&2; die "loadgen reported errors"; }
    sed -n 2p "$W/out.txt" >&2
    record "$(grep '^RESULT' "$W/out.txt")"
}

for driver in $PROFILE_DRIVERS; do
    say "$driver, profiles: $LARGE devices, $PROFILE_GROUPS groups, $PROFILE_COUNT profiles"
    fresh_db "$driver"
    seed "$driver" "$LARGE" >/dev/null
    rm -f "$W/state/prof-$driver"
    paced_run "prof-none-$driver" "$driver"
    profiles_setup "$driver"
    rows=$((LARGE / PROFILE_GROUPS * PROFILE_GROUPS * 2))
    secs=$(converge "prof-rollout-$driver" "$driver" \
        "SELECT CASE WHEN (SELECT COUNT(*) FROM device_profiles WHERE state = 'verified') = $rows AND (SELECT COUNT(*) FROM devices WHERE applied_gen <> desired_gen) = 0 THEN 1 ELSE 0 END")
    record "profiles_rollout driver=$driver seconds=$secs devices=$LARGE profiles=$PROFILE_COUNT rows=$rows"
    say "$driver: every device verified its profiles in $secs s"
    paced_run "prof-unchanged-$driver" "$driver"
    # One profile changes: its group's devices get the new version.
    t_change=$(date +%s)
    eval "pid=\$PROFILE_1"
    ver=$(api PUT "profiles/$pid" "$(profile_json 1 changed)" | sed -n 's/.*"version": *\([0-9]*\).*/\1/p')
    [ -n "$ver" ] && [ "$ver" -gt 1 ] || die "changing profile $pid made no new version"
    members=$((LARGE / PROFILE_GROUPS))
    secs=$(converge "prof-change-$driver" "$driver" \
        "SELECT CASE WHEN COUNT(*) = $members THEN 1 ELSE 0 END FROM device_profiles WHERE profile_id = $pid AND version = $ver AND state = 'verified'")
    ops=$(db_query "$driver" "SELECT COUNT(*) FROM operations WHERE type = 'PROFILE' AND created >= $t_change")
    record "profiles_change driver=$driver seconds=$secs devices=$members ops=$ops"
    say "$driver: the changed profile verified on $members devices in $secs s ($ops operations)"
done

stop_httpd
record "loadavg_end $(cut -d' ' -f1-3 /proc/loadavg)"

# --- report ------------------------------------------------------------------

# A child that died on a signal (httpd logs "exit signal ...") fails the
# run, whatever its figures.
signals=$(cat "$W"/logs/error_log* 2>/dev/null | grep -c 'exit signal' || true)
record "child_signals count=$signals"

NPROC_FOR_REPORT=$NPROC sh "$TOP/bench/report.sh" "$CSV" "$SECONDS_RUN" "$CONNS" "$SOAK" "$SMALL" "$LARGE" >"$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
say "figures written to $RESULTS (raw: $CSV)"
[ "$signals" = 0 ] || die "$signals httpd children exited on a signal (see $W/logs)"
