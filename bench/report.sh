#!/bin/sh
# Turns the raw figures scripts/bench.sh collected (one record a line) into
# bench/results.txt: the table, the ratios, and each target with what was
# measured against it.
# usage: report.sh FIGURES SECONDS CONNS SOAK SMALL LARGE
set -e
FIG=$1
SECS=$2
CONNS=$3
SOAK=$4
SMALL=$5
LARGE=$6

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/^MemTotal:/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)

echo "mod_winmdm benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: nproc $(nproc), $CPU, $MEM RAM; load generator and httpd share it"
echo "httpd $(/usr/sbin/apache2 -v | sed -n 's/^Server version: //p'), mpm_event, plain HTTP on 127.0.0.1, keep-alive, no access log"
grep -q '^RESULT label=tls-' "$FIG" &&
    echo "TLS runs: mod_ssl in the same httpd, TLS 1.2, RSA-2048 server and device keys, SSLVerifyClient optional; each device shows its own certificate from the module's CA, sends no Cred, and opens a connection per session that resumes its own earlier TLS session when it has one (full/resumed: handshakes)"
echo "check-ins: OMA-DM package 1 (Alert 1201, 1224 LoginStatus, Replace DevInfo), MD5 digest, SyncHdr 200 and NextNonce required"
echo "runs: $SECS s each after a warm-up, $CONNS connections"
awk '/^module / { print "module: .libs/mod_winmdm.so " $2 ", " $3 }
     /^module_start / { if (!($2 in seen)) { seen[$2] = 1; nmod++ } }
     /^loadavg_start / { a = $2 " " $3 " " $4 }
     /^loadavg_end / { b = $2 " " $3 " " $4 }
     END { if (nmod > 1) print "warning: the module was rebuilt during the run (" nmod " different builds loaded)"
           if (a != "") print "load average before the run: " a "; after: " b " (other processes share the machine)" }' "$FIG"
echo

awk -v nproc="$(nproc)" -v secs="$SECS" -v soak="$SOAK" -v small="$SMALL" -v large="$LARGE" '
function kv(line, key,    n, i, a, b) {
    n = split(line, a, " ")
    for (i = 1; i <= n; i++) {
        if (index(a[i], key "=") == 1) {
            return substr(a[i], length(key) + 2)
        }
    }
    return ""
}
function total(line,    n, i, a) {
    n = split(line, a, " ")
    for (i = 1; i <= n; i++) {
        if (index(a[i], "total:") == 1) {
            return substr(a[i], 7)
        }
    }
    return 0
}
function children(line,    n, i, a, out, b) {
    n = split(line, a, " ")
    out = ""
    for (i = 2; i <= n; i++) {
        if (a[i] ~ /^[0-9]+:[0-9]+$/) {
            split(a[i], b, ":")
            out = out sprintf(" %.1f", b[2] / 1024)
        }
    }
    return out
}
function mb(kb) {
    return sprintf("%.1f MB", kb / 1024)
}
function pct(a, b) {
    return b > 0 ? sprintf("%.0f%%", 100 * a / b) : "n/a"
}
/^module_start / { build = substr($2, 8, 8) }
/^RESULT / {
    l = kv($0, "label")
    res[l] = $0
    bld[l] = build
    if (l ~ /^soak-/) {
        m = substr(l, 6) + 0
        soak_rate[m] = kv($0, "rate")
        soak_p99[m] = kv($0, "p99_ms")
        soak_err[m] = kv($0, "errors")
        if (m > nsoak) nsoak = m
    }
}
/^seed / { seedsec[kv($0, "driver") "-" kv($0, "devices")] = kv($0, "seconds") }
/^static_wrk / { wrk = $0 }
/^static_tls_wrk / { tls_wrk = $0 }
/^rsa_sign / { rsa1 = kv($0, "single"); rsan = kv($0, "multi") }
/^rss_load / { rss_load = $0 }
/^rss_soak_start / { rss_start = $0 }
/^rss_soak / && !/start|end/ { rss_min[kv($0, "minute") + 0] = $0 }
/^rss_soak_end / { rss_end = $0 }
END {
    # The headline: TLS, each device proving itself by its client
    # certificate, a connection per session resuming its TLS session.
    split("sqlite3 pgsql", drv, " ")
    name["sqlite3"] = "SQLite"; name["pgsql"] = "PostgreSQL"
    ntls = 0
    for (d = 1; d <= 2; d++) {
        for (k = 1; k <= 2; k++) {
            if (("tls-" drv[d] "-" (k == 1 ? small : large)) in res) ntls++
        }
    }
    if (ntls > 0) {
        printf "%-40s %11s %9s %9s %9s %7s %13s  %s\n", "TLS, client certificates", "sessions/s", "p50 ms", "p99 ms", "max ms", "errors", "full/resumed", "module"
        for (d = 1; d <= 2; d++) {
            for (k = 1; k <= 2; k++) {
                n = k == 1 ? small : large
                l = "tls-" drv[d] "-" n
                if (!(l in res)) continue
                r = res[l]
                printf "%-40s %11.1f %9.2f %9.2f %9.2f %7d %13s  %s\n", "check-ins, " name[drv[d]] ", " n " devices", kv(r, "rate"), kv(r, "p50_ms"), kv(r, "p99_ms"), kv(r, "max_ms"), kv(r, "errors"), kv(r, "tls_full") "/" kv(r, "tls_resumed"), bld[l]
            }
        }
        if (tls_wrk != "") {
            printf "%-40s %11.1f %9.2f %9.2f\n", "static file " kv(tls_wrk, "bytes") " B, wrk https keep-alive", kv(tls_wrk, "rate"), kv(tls_wrk, "p50_ms"), kv(tls_wrk, "p99_ms")
        }
        split("static-tls-loadgen static-tls-loadgen-ka", sl, " ")
        sn["static-tls-loadgen"] = "static, loadgen, conn/request, resumed"
        sn["static-tls-loadgen-ka"] = "static, loadgen, keep-alive"
        for (k = 1; k <= 2; k++) {
            if (!(sl[k] in res)) continue
            r = res[sl[k]]
            printf "%-40s %11.1f %9.2f %9.2f %9.2f %7d %13s\n", sn[sl[k]], kv(r, "rate"), kv(r, "p50_ms"), kv(r, "p99_ms"), kv(r, "max_ms"), kv(r, "errors"), kv(r, "tls_full") "/" kv(r, "tls_resumed")
        }
        # The fastest TLS static baseline on this httpd.
        tls_best = 0; tls_best_name = ""
        if (tls_wrk != "" && kv(tls_wrk, "rate") + 0 > tls_best) { tls_best = kv(tls_wrk, "rate") + 0; tls_best_name = "wrk" }
        for (k = 1; k <= 2; k++) {
            if ((sl[k] in res) && kv(res[sl[k]], "rate") + 0 > tls_best) { tls_best = kv(res[sl[k]], "rate") + 0; tls_best_name = "loadgen" (k == 2 ? " keep-alive" : ", conn/request") }
        }
        l = "tls-sqlite3-" large
        if ((l in res) && tls_best > 0) {
            printf "ratio certificate check-ins (SQLite, %d devices) / TLS static, the faster of wrk and loadgen (%s): %s\n", large, tls_best_name, pct(kv(res[l], "rate"), tls_best)
        }
        if ((l in res) && ("static-tls-loadgen" in res)) {
            printf "ratio certificate check-ins (SQLite, %d devices) / TLS static with the same connection pattern: %s\n", large, pct(kv(res[l], "rate"), kv(res["static-tls-loadgen"], "rate"))
        }
        print ""
    }

    printf "%-40s %11s %9s %9s %9s %7s  %s\n", "digest check-ins, plain HTTP", "sessions/s", "p50 ms", "p99 ms", "max ms", "errors", "module"
    split("sqlite3 pgsql", drv, " ")
    name["sqlite3"] = "SQLite"; name["pgsql"] = "PostgreSQL"
    for (d = 1; d <= 2; d++) {
        for (k = 1; k <= 2; k++) {
            n = k == 1 ? small : large
            l = drv[d] "-" n
            if (!(l in res)) continue
            r = res[l]
            printf "%-40s %11.1f %9.2f %9.2f %9.2f %7d  %s\n", name[drv[d]] ", " n " devices", kv(r, "rate"), kv(r, "p50_ms"), kv(r, "p99_ms"), kv(r, "max_ms"), kv(r, "errors"), bld[l]
        }
    }
    l = "sqlite3-pool8-" small
    if (l in res) {
        r = res[l]
        printf "%-40s %11.1f %9.2f %9.2f %9.2f %7d  %s\n", "SQLite, " small ", 8 DB connections/child", kv(r, "rate"), kv(r, "p50_ms"), kv(r, "p99_ms"), kv(r, "max_ms"), kv(r, "errors"), bld[l]
        printf "  (that run: %d sessions completed in %.0f s; each error is a request with no response within 30 s: the children stayed blocked until httpd killed them at shutdown)\n", kv(r, "sessions"), kv(r, "seconds")
    }
    print ""
    big = res["sqlite3-" large]
    if (wrk != "") {
        printf "%-40s %11.1f %9.2f %9.2f\n", "static file " kv(wrk, "bytes") " B, wrk (req/s)", kv(wrk, "rate"), kv(wrk, "p50_ms"), kv(wrk, "p99_ms")
    }
    if ("static-loadgen" in res) {
        r = res["static-loadgen"]
        printf "%-40s %11.1f %9.2f %9.2f %9.2f %7d\n", "static file, loadgen GET (req/s)", kv(r, "rate"), kv(r, "p50_ms"), kv(r, "p99_ms"), kv(r, "max_ms"), kv(r, "errors")
    }
    if (big != "" && wrk != "") {
        printf "ratio check-ins (SQLite, %d devices) / static (wrk): %s; / static (loadgen): %s\n", large, pct(kv(big, "rate"), kv(wrk, "rate")), pct(kv(big, "rate"), kv(res["static-loadgen"], "rate"))
    }
    print ""
    if ("enroll" in res) {
        r = res["enroll"]
        printf "%-40s %11.1f %9.2f %9.2f %9.2f %7d\n", "enrollments (MS-WSTEP, RSA-2048 CA)", kv(r, "rate"), kv(r, "p50_ms"), kv(r, "p99_ms"), kv(r, "max_ms"), kv(r, "errors")
    }
    printf "openssl speed -seconds 10 rsa2048: %s sign/s (1 process), %s sign/s (%d processes at once, summed)\n", rsa1, rsan, nproc
    if ("enroll" in res) {
        printf "ratio enrollments / RSA signs: %s of all CPUs, %s of one CPU\n", pct(kv(res["enroll"], "rate"), rsan), pct(kv(res["enroll"], "rate"), rsa1)
    }
    print ""
    printf "seeding, one transaction:"
    for (d = 1; d <= 2; d++) {
        for (k = 1; k <= 2; k++) {
            l = drv[d] "-" (k == 1 ? small : large)
            if (l in seedsec) printf " %s %d devices %.1f s;", name[drv[d]], (k == 1 ? small : large), seedsec[l]
        }
    }
    print ""
    print ""
    if (rss_load != "") {
        printf "httpd children RSS under load (SQLite, %d devices), MB:%s; total %s\n", large, children(rss_load), mb(total(rss_load))
    }
    if (rss_start != "") {
        printf "long run: %d s of check-ins (SQLite, %d devices)\n", soak, large
        printf "  %-8s %11s %9s %7s  %s\n", "minute", "sessions/s", "p99 ms", "errors", "children RSS MB (total)"
        printf "  %-8s %11s %9s %7s  %s (%s)\n", "start", "", "", "", children(rss_start), mb(total(rss_start))
        for (m = 1; m <= nsoak; m++) {
            printf "  %-8d %11.1f %9.2f %7d  %s (%s)\n", m, soak_rate[m], soak_p99[m], soak_err[m], children(rss_min[m]), mb(total(rss_min[m]))
        }
        printf "  %-8s %11s %9s %7s  %s (%s)\n", "end", "", "", "", children(rss_end), mb(total(rss_end))
        if (nsoak >= 2) {
            printf "  growth of the children total from minute 1 to minute %d: %+.1f MB; throughput minute %d vs 1: %s\n", nsoak, (total(rss_min[nsoak]) - total(rss_min[1])) / 1024, nsoak, pct(soak_rate[nsoak], soak_rate[1])
        }
    }
    print ""
    print "targets"
    if (big != "") {
        printf "  >= 2000 check-ins/s, SQLite, %d devices: %.0f/s (%s)\n", large, kv(big, "rate"), (kv(big, "rate") + 0 >= 2000 ? "met" : "not met")
    }
    if (big != "" && wrk != "") {
        printf "  >= 25%% of the static baseline: %s (%s)\n", pct(kv(big, "rate"), kv(wrk, "rate")), (kv(big, "rate") + 0 >= 0.25 * kv(wrk, "rate") ? "met" : "not met")
    }
    if ("enroll" in res) {
        printf "  enrollments >= 70%% of the RSA sign rate: %s of all CPUs (%s)\n", pct(kv(res["enroll"], "rate"), rsan), (kv(res["enroll"], "rate") + 0 >= 0.7 * rsan ? "met" : "not met")
    }
    for (d = 1; d <= 2; d++) {
        a = res[drv[d] "-" small]; b = res[drv[d] "-" large]
        if (a == "" || b == "") continue
        printf "  latency flat from %d to %d devices, %s: p50 %.2f -> %.2f ms, p99 %.2f -> %.2f ms\n", small, large, name[drv[d]], kv(a, "p50_ms"), kv(b, "p50_ms"), kv(a, "p99_ms"), kv(b, "p99_ms")
    }
    if (nsoak >= 2) {
        printf "  no memory growth over the long run: %+.1f MB from minute 1 to minute %d\n", (total(rss_min[nsoak]) - total(rss_min[1])) / 1024, nsoak
    }
}' "$FIG"
