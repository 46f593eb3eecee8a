#!/bin/sh
# Throughput, latency and memory of mod_winmdm against baselines measured in
# the same run on the same machine (`make bench`, after the module is built).
#
# What it measures, with the load generator bench/loadgen.c:
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
#   BENCH_DRIVERS        [sqlite3 pgsql]
#   BENCH_SMALL          [1000]    devices of the small fleet
#   BENCH_LARGE          [100000]  devices of the large fleet
#   BENCH_PORT           [18480]   plain HTTP port on 127.0.0.1
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
need_pkgs="wrk sqlite3 apache2-utils openssl procps"
case " $DRIVERS " in
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

Listen 127.0.0.1:$PORT
EOF
    "$APACHE2" -t -f "$W/httpd.conf" >/dev/null 2>&1 ||
        { "$APACHE2" -t -f "$W/httpd.conf"; die "httpd.conf is not valid"; }
}

start_httpd() {
    # Other builds may replace the module during a run: each start says
    # which one it loaded.
    record "module_start sha256=$(sha256sum "$MODULE" | cut -c1-16)"
    "$APACHE2" -f "$W/httpd.conf" -k start
    i=0
    while [ ! -s "$W/run/httpd.pid" ] && [ $i -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    HTTPD_PID=$(cat "$W/run/httpd.pid" 2>/dev/null) || die "httpd did not start (see $W/logs/error_log)"
    # The children create the schema in child_init; wait for the port.
    i=0
    until "$LOADGEN" -p "$PORT" --static /ready.txt -n 1 >/dev/null 2>&1; do
        [ $i -lt 100 ] || die "httpd does not answer on port $PORT (see $W/logs/error_log)"
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
    # Durable as shipped (fsync and synchronous_commit on); more memory for
    # the 100,000-device tables than the 128 MB default.
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$W/pg" -l "$W/pg/postgresql.log" \
        -o "-c listen_addresses='' -k $W/pgsock -p $PGPORT -c shared_buffers=256MB -c max_connections=200" \
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
        write_conf pgsql "host=$W/pgsock port=$PGPORT dbname=winmdm user=postgres" 25
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

# seed DRIVER COUNT: COUNT devices and one unbound nonce each, in one
# transaction; prints the seconds it took. sqlite3 runs as httpd's user so
# that the files it may create stay writable by the children.
seed() {
    "$LOADGEN" --emit-sql --devices "$2" --seed "$SEED" >"$W/seed.sql"
    t0=$(date +%s.%N)
    case $1 in
    sqlite3) runuser -u "$RUN_USER" -- sqlite3 -bail "$W/db/winmdm.db" <"$W/seed.sql" ;;
    pgsql) psql_run -d winmdm -f "$W/seed.sql" >/dev/null && psql_run -d winmdm -c "ANALYZE" ;;
    esac
    t1=$(date +%s.%N)
    n=$(db_query "$1" "SELECT COUNT(*) FROM devices")
    [ "$n" = "$2" ] || die "seeding $2 devices left $n rows"
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

# checkin LABEL DRIVER DEVICES SECONDS WARMUP [rss]: a measured run; with
# "rss" the children's memory is read half-way through it.
checkin() {
    state=$W/state/$2-$3
    "$LOADGEN" -p "$PORT" -c "$CONNS" -d "$4" -w "$5" --devices "$3" \
        --seed "$SEED" --state "$state" --label "$1" >"$W/out.txt" &
    LOAD_PID=$!
    if [ "$6" = rss ]; then
        sleep $(($5 + $4 / 2))
        record "rss_load $(rss)"
    fi
    wait "$LOAD_PID" || die "loadgen failed"
    LOAD_PID=
    cat "$W/out.txt" | sed -n 2p >&2
    line=$(grep '^RESULT' "$W/out.txt")
    record "$line"
}

# wrk's latency in ms from its "50%  1.23ms" lines.
wrk_ms() {
    awk -v q="$2" '$1 == q {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
        printf "%.3f", v }' "$1"
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

for driver in $DRIVERS; do
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
        if [ "$driver" = sqlite3 ] && [ "$n" = "$LARGE" ]; then
            checkin "$driver-$n" "$driver" "$n" "$SECONDS_RUN" "$WARMUP" rss
        else
            checkin "$driver-$n" "$driver" "$n" "$SECONDS_RUN" "$WARMUP"
        fi
        [ -n "$REPLY_BYTES" ] || REPLY_BYTES=$(field "$line" reply_bytes)
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
                --ca "$W/ca/ca.crt" \
                --devices 1000000 --label enroll >"$W/out.txt" ||
                die "loadgen failed"
            sed -n 2p "$W/out.txt" >&2
            record "$(grep '^RESULT' "$W/out.txt")"

            if [ "$SOAK" -gt 0 ]; then
                say "long run: $SOAK s of check-ins, memory read every minute"
                record "rss_soak_start $(rss)"
                left=$SOAK
                minute=0
                while [ "$left" -gt 0 ]; do
                    seg=60
                    [ "$left" -ge 60 ] || seg=$left
                    minute=$((minute + 1))
                    "$LOADGEN" -p "$PORT" -c "$CONNS" -d "$seg" --devices "$n" \
                        --seed "$SEED" --state "$W/state/$driver-$n" \
                        --label "soak-$minute" >"$W/out.txt" &
                    LOAD_PID=$!
                    sleep $((seg / 2))
                    mem=$(rss)
                    wait "$LOAD_PID" || die "loadgen failed"
                    LOAD_PID=
                    sed -n 2p "$W/out.txt" >&2
                    record "$(grep '^RESULT' "$W/out.txt")"
                    record "rss_soak minute=$minute $mem"
                    left=$((left - seg))
                done
                sleep 2
                record "rss_soak_end $(rss)"
            fi
        fi
    done
done
stop_httpd
record "loadavg_end $(cut -d' ' -f1-3 /proc/loadavg)"

# --- report ------------------------------------------------------------------

NPROC_FOR_REPORT=$NPROC sh "$TOP/bench/report.sh" "$CSV" "$SECONDS_RUN" "$CONNS" "$SOAK" "$SMALL" "$LARGE" >"$RESULTS.tmp"
mv "$RESULTS.tmp" "$RESULTS"
cat "$RESULTS"
say "figures written to $RESULTS (raw: $CSV)"
