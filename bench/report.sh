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
echo "httpd $(/usr/sbin/apache2 -v | sed -n 's/^Server version: //p'), mpm_event, on 127.0.0.1: plain HTTP and HTTPS (mod_ssl), keep-alive, no access log"
grep -q '^RESULT label=tls-' "$FIG" &&
    echo "TLS runs: mod_ssl in the same httpd, TLS 1.2, RSA-2048 server and device keys, SSLVerifyClient optional; each device shows its own certificate from the module's CA, sends no Cred, and opens a connection per session that resumes its own earlier TLS session when it has one (full/resumed: handshakes)"
echo "check-ins: OMA-DM package 1 (Alert 1201, 1224 LoginStatus, Replace DevInfo); digest runs: MD5 digest, SyncHdr 200 and NextNonce required;"
echo "  every Status and CmdID of every reply checked; commands the server sends answered in further messages (one device in ten has a DEVICE_INFO operation queued);"
echo "  the $LARGE-device fleet polls at its own pace: a device starts at most one session a minute, so each session pays the writes of a real poll ('first' column)"
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
/^profiles_rollout / { prof_roll[kv($0, "driver")] = $0 }
/^profiles_change / { prof_change[kv($0, "driver")] = $0 }
/^child_signals / { child_signals = kv($0, "count") }
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
        printf "%-40s %11s %9s %9s %9s %7s %13s %6s %6s  %s\n", "TLS, client certificates", "sessions/s", "p50 ms", "p99 ms", "max ms", "errors", "full/resumed", "first", "ops", "module"
        for (d = 1; d <= 2; d++) {
            for (k = 1; k <= 2; k++) {
                n = k == 1 ? small : large
                l = "tls-" drv[d] "-" n
                if (!(l in res)) continue
                r = res[l]
                printf "%-40s %11.1f %9.2f %9.2f %9.2f %7d %13s %6s %6d  %s\n", "check-ins, " name[drv[d]] ", " n " devices", kv(r, "rate"), kv(r, "p50_ms"), kv(r, "p99_ms"), kv(r, "max_ms"), kv(r, "errors"), kv(r, "tls_full") "/" kv(r, "tls_resumed"), pct(kv(r, "first"), kv(r, "sessions")), kv(r, "op_sessions"), bld[l]
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

    printf "%-40s %11s %9s %9s %9s %7s %6s %6s  %s\n", "digest check-ins, plain HTTP", "sessions/s", "p50 ms", "p99 ms", "max ms", "errors", "first", "ops", "module"
    split("sqlite3 pgsql", drv, " ")
    name["sqlite3"] = "SQLite"; name["pgsql"] = "PostgreSQL"
    for (d = 1; d <= 2; d++) {
        for (k = 1; k <= 2; k++) {
            n = k == 1 ? small : large
            l = drv[d] "-" n
            if (!(l in res)) continue
            r = res[l]
            printf "%-40s %11.1f %9.2f %9.2f %9.2f %7d %6s %6d  %s\n", name[drv[d]] ", " n " devices", kv(r, "rate"), kv(r, "p50_ms"), kv(r, "p99_ms"), kv(r, "max_ms"), kv(r, "errors"), pct(kv(r, "first"), kv(r, "sessions")), kv(r, "op_sessions"), bld[l]
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
        printf "long run: %d s of certificate check-ins over TLS (SQLite, %d devices, paced as the headline run)\n", soak, large
        printf "  %-8s %11s %9s %7s  %s\n", "minute", "sessions/s", "p99 ms", "errors", "children RSS MB (total)"
        printf "  %-8s %11s %9s %7s  %s (%s)\n", "start", "", "", "", children(rss_start), mb(total(rss_start))
        for (m = 1; m <= nsoak; m++) {
            printf "  %-8d %11.1f %9.2f %7d  %s (%s)\n", m, soak_rate[m], soak_p99[m], soak_err[m], children(rss_min[m]), mb(total(rss_min[m]))
        }
        printf "  %-8s %11s %9s %7s  %s (%s)\n", "end", "", "", "", children(rss_end), mb(total(rss_end))
        if (nsoak >= 2) {
            lo = hi = soak_rate[1]; sum = 0
            for (m = 1; m <= nsoak; m++) {
                if (soak_rate[m] < lo) lo = soak_rate[m]
                if (soak_rate[m] > hi) hi = soak_rate[m]
                sum += soak_rate[m]
            }
            soak_mean = sum / nsoak
            soak_var = soak_mean > 0 ? 100 * (hi - lo) / soak_mean : 0
            printf "  minute to minute: %.1f to %.1f sessions/s, mean %.1f: a spread of %.0f%% of the mean\n", lo, hi, soak_mean, soak_var
        }
    }
    for (d = 1; d <= 2; d++) {
        dn = drv[d]
        if (!(dn in prof_roll)) continue
        a = res["prof-none-" dn]; b = res["prof-unchanged-" dn]
        if (!prof_header++) {
            printf "profiles: %d devices in 10 groups, 20 profiles of 3 Policy CSP settings, 2 assigned to each group\n", large
            printf "  %-36s %11s %9s %9s %7s %6s\n", "check-ins", "sessions/s", "p50 ms", "p99 ms", "errors", "first"
        }
        printf "  %-36s %11.1f %9.2f %9.2f %7d %6s\n", name[dn] ", no profile", kv(a, "rate"), kv(a, "p50_ms"), kv(a, "p99_ms"), kv(a, "errors"), pct(kv(a, "first"), kv(a, "sessions"))
        printf "  %-36s %11.1f %9.2f %9.2f %7d %6s\n", name[dn] ", profiles, nothing changed", kv(b, "rate"), kv(b, "p50_ms"), kv(b, "p99_ms"), kv(b, "errors"), pct(kv(b, "first"), kv(b, "sessions"))
        r = res["prof-rollout-" dn]
        printf "  %s rollout: every device got and verified its 2 profiles (%d rows) in %.1f s, %d sessions at %.0f/s, %d errors\n", name[dn], kv(prof_roll[dn], "rows"), kv(prof_roll[dn], "seconds"), kv(r, "sessions"), kv(r, "rate"), kv(r, "errors")
        r = res["prof-change-" dn]
        printf "  %s change: one profile changed, its new version verified on its %d devices in %.1f s, %d operations sent (%s), %d sessions at %.0f/s\n", name[dn], kv(prof_change[dn], "devices"), kv(prof_change[dn], "seconds"), kv(prof_change[dn], "ops"), (kv(prof_change[dn], "ops") == kv(prof_change[dn], "devices") ? "once to each device" : "not once each"), kv(r, "sessions"), kv(r, "rate")
    }
    if (prof_header) print ""
    if (("node-a-pgsql" in res) && ("node-b-pgsql" in res)) {
        a = res["node-a-pgsql"]; b = res["node-b-pgsql"]; one = res["pgsql-" large]
        printf "two httpd nodes on one PostgreSQL, %d devices, half each, on this one machine (the nodes, the database and the load generators share its 2 cores):\n", large
        printf "  node A %.1f/s (p99 %.2f ms), node B %.1f/s (p99 %.2f ms): %.1f/s together, %s of the single node (%.1f/s); %d errors\n", kv(a, "rate"), kv(a, "p99_ms"), kv(b, "rate"), kv(b, "p99_ms"), kv(a, "rate") + kv(b, "rate"), pct(kv(a, "rate") + kv(b, "rate"), kv(one, "rate")), kv(one, "rate"), kv(a, "errors") + kv(b, "errors")
    }
    split("tls-sqlite3 tls-pgsql sqlite3 pgsql", gl, " ")
    gname["tls-sqlite3"] = "certificates, SQLite"; gname["tls-pgsql"] = "certificates, PostgreSQL"
    gname["sqlite3"] = "digest, SQLite"; gname["pgsql"] = "digest, PostgreSQL"
    ghead = 0
    for (k = 1; k <= 4; k++) {
        l = gl[k] "-" large
        if (!(l in res)) continue
        if (!ghead++) print "devices one node serves at a 15-minute poll (the measured rate x 900 s; at half load, as a node should run, half that):"
        printf "  %-28s %9.0f devices at full load, %9.0f at half load\n", gname[gl[k]], kv(res[l], "rate") * 900, kv(res[l], "rate") * 450
    }
    if (ghead) print ""
    print ""
    print "targets (met needs zero errors)"
    printf "  no httpd child exited on a signal: %d did (%s)\n", child_signals, (child_signals == 0 ? "met" : "not met: the run failed")
    tl = res["tls-sqlite3-" large]
    if (tl != "" && tls_best > 0) {
        printf "  certificate check-ins, SQLite, %d devices >= 25%% of the TLS static rate (the faster of wrk and loadgen): %s (%s)\n", large, pct(kv(tl, "rate"), tls_best), (kv(tl, "rate") + 0 >= 0.25 * tls_best && kv(tl, "errors") == 0 ? "met" : "not met")
    }
    if (tl != "" && nsoak >= 2) {
        printf "  the headline is a steady state: minute-to-minute spread of the long run %.0f%% (under 10%%: %s), its mean %.1f/s against %.1f/s in the measured run, %s (within 10%%: %s)\n", soak_var, (soak_var < 10 ? "yes" : "no"), soak_mean, kv(tl, "rate"), pct(soak_mean, kv(tl, "rate")), (soak_mean >= 0.9 * kv(tl, "rate") && soak_mean <= 1.1 * kv(tl, "rate") ? "yes" : "no")
    }
    if (big != "") {
        printf "  >= 2000 check-ins/s, SQLite, %d devices: %.0f/s (%s)\n", large, kv(big, "rate"), (kv(big, "rate") + 0 >= 2000 && kv(big, "errors") == 0 ? "met" : "not met")
    }
    for (q = 1; q <= 2; q++) {
        pgbig = res[(q == 1 ? "tls-" : "") "pgsql-" large]
        if (pgbig == "") continue
        printf "  >= 2000 check-ins/s, PostgreSQL, %d devices, %s: %.0f/s (%s)\n", large, (q == 1 ? "certificates" : "digest"), kv(pgbig, "rate"), (kv(pgbig, "rate") + 0 >= 2000 && kv(pgbig, "errors") == 0 ? "met" : "not met")
    }
    if (big != "" && wrk != "") {
        plain_best = kv(wrk, "rate") + 0
        if (("static-loadgen" in res) && kv(res["static-loadgen"], "rate") + 0 > plain_best) plain_best = kv(res["static-loadgen"], "rate") + 0
        printf "  digest check-ins over plain HTTP >= 25%% of the plain static rate (the faster of wrk and loadgen): %s (%s)\n", pct(kv(big, "rate"), plain_best), (kv(big, "rate") + 0 >= 0.25 * plain_best && kv(big, "errors") == 0 ? "met" : "not met")
    }
    if ("enroll" in res) {
        printf "  enrollments >= 50%% of the RSA sign rate of all CPUs: %s (%s)\n", pct(kv(res["enroll"], "rate"), rsan), (kv(res["enroll"], "rate") + 0 >= 0.5 * rsan && kv(res["enroll"], "errors") == 0 ? "met" : "not met")
    }
    split("tls- ", kinds, " ")
    kname["tls-"] = "certificates"; kname[""] = "digest"
    for (q = 1; q <= 2; q++) {
        for (d = 1; d <= 2; d++) {
            a = res[kinds[q] drv[d] "-" small]; b = res[kinds[q] drv[d] "-" large]
            if (a == "" || b == "") continue
            printf "  p99 at %d devices within 2x of %d devices, %s, %s: %.2f -> %.2f ms (%s; p50 %.2f -> %.2f ms)\n", large, small, kname[kinds[q]], name[drv[d]], kv(a, "p99_ms"), kv(b, "p99_ms"), (kv(b, "p99_ms") + 0 <= 2 * kv(a, "p99_ms") ? "met" : "not met"), kv(a, "p50_ms"), kv(b, "p50_ms")
        }
    }
    for (d = 1; d <= 2; d++) {
        dn = drv[d]
        a = res["prof-none-" dn]; b = res["prof-unchanged-" dn]
        if (a == "" || b == "") continue
        printf "  check-ins with profiles and nothing changed within 10%% of none, %s: %s (%s)\n", name[dn], pct(kv(b, "rate"), kv(a, "rate")), (kv(a, "rate") + 0 > 0 && kv(b, "rate") + 0 >= 0.9 * kv(a, "rate") && kv(a, "errors") + kv(b, "errors") == 0 ? "met" : "not met")
    }
    if (nsoak >= 2 && total(rss_start) > 0) {
        g = 0
        for (m = 1; m <= nsoak; m++) if (total(rss_min[m]) - total(rss_start) > g) g = total(rss_min[m]) - total(rss_start)
        if (total(rss_end) - total(rss_start) > g) g = total(rss_end) - total(rss_start)
        printf "  children RSS flat (within 5%%) over the long run: largest growth from its start %+.1f MB, %.1f%% (%s)\n", g / 1024, 100 * g / total(rss_start), (g <= 0.05 * total(rss_start) ? "met" : "not met")
    }
}' "$FIG"
