/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Load generator for mod_winmdm (`make bench`).
 *
 * It emulates enrolled Windows devices running real OMA-DM check-in
 * sessions: package 1 as Windows 10 sends it (Alert 1201, Alert 1224
 * LoginStatus, Replace DevInfo), authenticated by an OMA-DM MD5 digest over
 * the device's current server nonce; the closing reply's Chal names the
 * nonce of the device's next session. With --answer, commands the server
 * sends are answered (Status, and Results for a Get) in further messages of
 * the same session, as a device does.
 *
 * The devices' secrets and first nonces are derived from --seed and the
 * device index, so `loadgen --emit-sql` writes the rows that make the
 * server know the same devices (bench.sh feeds them to sqlite3 or psql).
 *
 * Other modes, for baselines on the same server: --static PATH (GET of a
 * file) and --wstep FILE (MS-WSTEP enrollments from a captured request,
 * each with a PKCS#10 of its own, the certificate of each answer checked
 * against the CA of --ca).
 *
 * One thread per connection, blocking sockets, HTTP/1.1 with
 * Content-Length (what the Windows client sends and expects). Each thread
 * owns a disjoint share of the devices, so a device never has two sessions
 * at once: its nonce is good for one session only. */

#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define DEFAULT_PATH "/devicemgt?mode=Maintenance&Platform=WoA"
#define WSTEP_PATH "/EnrollmentServer/Win10DeviceEnrollmentWebservice.svc"
#define SYNCML_TYPE "application/vnd.syncml.dm+xml"
#define SOAP_TYPE "application/soap+xml; charset=utf-8"
/* The DeviceID the captured WSTEP request carries, replaced per request. */
#define FIXTURE_DEVICE_ID "B5B954E81FBCB94EB79BD08BE625F4EE"
/* A session that needs more messages than this is counted as an error. */
#define MAX_MESSAGES 8
#define MAX_CMDS 64
/* A reply slower than this is counted as an error. */
#define IO_TIMEOUT_SEC 30

typedef enum { MODE_CHECKIN, MODE_STATIC, MODE_WSTEP } mode_e;

static struct {
    const char *host;
    const char *port;
    const char *path;
    const char *static_path;
    const char *wstep_file;
    const char *prefix;
    const char *seed;
    const char *state_file;
    const char *label;
    const char *user;
    const char *password;
    const char *ca_file;
    int keys;
    int tls;
    int keepalive;
    int conns;
    double duration;
    double warmup;
    long sessions;
    long first;
    long count;
    int answer;
    int emit_sql;
    int poll_interval;
    int verbose;
    mode_e mode;
} opt;

/* ------------------------------------------------------------ helpers */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        die("out of memory");
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        die("out of memory");
    }
    return p;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A growable byte string. */
typedef struct {
    char *s;
    size_t len, cap;
} buf_t;

static void buf_reserve(buf_t *b, size_t more)
{
    if (b->len + more + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + more + 1) {
            cap *= 2;
        }
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
}

static void buf_add(buf_t *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        die("vsnprintf failed");
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void buf_free(buf_t *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

static void md5(const void *data, size_t len, unsigned char out[16])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_md5(), NULL) || n != 16) {
        die("MD5 failed");
    }
}

static void hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

/* out needs 4 * ceil(len / 3) + 1 bytes. */
static void b64(const unsigned char *in, size_t len, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* Returns the decoded length, -1 on bad input; out needs 3/4 of strlen. */
static int unb64(const char *in, unsigned char *out)
{
    size_t len = strlen(in);
    int n;

    if (len == 0 || len % 4) {
        return -1;
    }
    n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0) {
        return -1;
    }
    /* EVP_DecodeBlock counts the padding as data. */
    if (in[len - 1] == '=') {
        n--;
    }
    if (in[len - 2] == '=') {
        n--;
    }
    return n;
}

/* ------------------------------------------------------------ devices */

typedef struct {
    char id[64];
    char secret[33]; /* hex, what the provisioning document would carry */
    char ha1[33];    /* md5_hex(id ":" secret): what the server stores */
    char nonce[64];  /* base64 of the current server nonce */
    unsigned long session;
} device_t;

static device_t *devices;

/* The secret and first nonce of device index i are derived from the seed,
 * so the seeding SQL and the sessions agree without sharing a file. */
static void device_init(device_t *d, long i)
{
    unsigned char md[16];
    char buf[256];
    int n;

    snprintf(d->id, sizeof(d->id), "%s%08ld", opt.prefix, i);
    n = snprintf(buf, sizeof(buf), "winmdm-bench-secret:%s:%ld", opt.seed, i);
    md5(buf, (size_t)n, md);
    hex(md, 16, d->secret);
    n = snprintf(buf, sizeof(buf), "%s:%s", d->id, d->secret);
    md5(buf, (size_t)n, md);
    hex(md, 16, d->ha1);
    n = snprintf(buf, sizeof(buf), "winmdm-bench-nonce:%s:%ld", opt.seed, i);
    md5(buf, (size_t)n, md);
    b64(md, 16, d->nonce);
    d->session = 0;
}

/* DIGEST = b64(md5(b64(md5(id ":" secret)) ":" nonce_bytes)) (OMA-DM MD5;
 * the nonce is hashed decoded). out needs 25 bytes. */
static int device_digest(const device_t *d, char *out)
{
    unsigned char md[16], nonce[64];
    char ha1_b64[32], buf[160];
    int nlen, n;

    n = snprintf(buf, sizeof(buf), "%s:%s", d->id, d->secret);
    md5(buf, (size_t)n, md);
    b64(md, 16, ha1_b64);
    if (strlen(d->nonce) > 80 || (nlen = unb64(d->nonce, nonce)) < 0) {
        return -1;
    }
    n = snprintf(buf, sizeof(buf), "%s:", ha1_b64);
    memcpy(buf + n, nonce, (size_t)nlen);
    md5(buf, (size_t)(n + nlen), md);
    b64(md, 16, out);
    return 0;
}

/* The state file keeps each device's current nonce and session counter, so
 * a later run goes on where this one stopped (the seeded nonces are spent
 * after the first session). Lines: "index nonce session". */
static void state_load(void)
{
    char line[256], nonce[128];
    long i;
    unsigned long s;
    FILE *f;

    if (!opt.state_file || !(f = fopen(opt.state_file, "r"))) {
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%ld %127s %lu", &i, nonce, &s) == 3 &&
            i >= opt.first && i < opt.first + opt.count &&
            strlen(nonce) < sizeof(devices[0].nonce)) {
            strcpy(devices[i - opt.first].nonce, nonce);
            devices[i - opt.first].session = s;
        }
    }
    fclose(f);
}

static void state_save(void)
{
    char tmp[4096];
    long i;
    FILE *f;

    if (!opt.state_file) {
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", opt.state_file);
    if (!(f = fopen(tmp, "w"))) {
        die("cannot write %s: %s", tmp, strerror(errno));
    }
    for (i = 0; i < opt.count; i++) {
        fprintf(f, "%ld %s %lu\n", opt.first + i, devices[i].nonce,
                devices[i].session);
    }
    if (fclose(f) || rename(tmp, opt.state_file)) {
        die("cannot write %s: %s", opt.state_file, strerror(errno));
    }
}

/* Rows for the module's devices and nonces tables (schema version 5), in
 * SQL that both sqlite3 and psql run, in one transaction. */
static void emit_sql(void)
{
    const long chunk = 500;
    long i, j;
    device_t d;
    char sha1[41];
    unsigned char md[16];
    long now = (long)time(NULL);

    printf("BEGIN;\n");
    for (i = 0; i < opt.count; i += chunk) {
        printf("INSERT INTO devices (device_id, hw_dev_id, user_name, "
               "enroll_type, device_type, os_edition, os_version, "
               "device_name, cert_serial, cert_sha1, cert_not_after, "
               "digest_ha1, state, enrolled_at, last_seen, poll_interval) "
               "VALUES\n");
        for (j = i; j < i + chunk && j < opt.count; j++) {
            device_init(&d, opt.first + j);
            /* A thumbprint-shaped value: digest sessions never look at it,
             * but it keeps the devices_cert index realistic. */
            md5(d.id, strlen(d.id), md);
            hex(md, 16, sha1);
            memcpy(sha1 + 32, "00000000", 9);
            printf("%s('%s','HW%s','bench@example.test','Full',"
                   "'CIMClient_Windows','72','10.0.19043.2364','BENCH-%ld',"
                   "'%016lx','%s',%ld,'%s','enrolled',%ld,0,%d)",
                   j == i ? "" : ",\n", d.id, d.id, opt.first + j,
                   (unsigned long)(opt.first + j + 1), sha1, now + 365 * 86400L,
                   d.ha1, now, opt.poll_interval);
        }
        printf(";\n");
        printf("INSERT INTO nonces (nonce, device_id, expires, session_id) "
               "VALUES\n");
        for (j = i; j < i + chunk && j < opt.count; j++) {
            device_init(&d, opt.first + j);
            printf("%s('%s','%s',%ld,NULL)", j == i ? "" : ",\n", d.nonce,
                   d.id, now + 3650 * 86400L);
        }
        printf(";\n");
    }
    printf("COMMIT;\n");
}

/* ---------------------------------------------------------- transport */

static SSL_CTX *ssl_ctx;
static struct addrinfo *server_addr;

typedef struct {
    int fd;
    SSL *ssl;
    SSL_SESSION *resume; /* TLS session kept across reconnects */
    buf_t in;            /* bytes read and not yet consumed */
    long requests;       /* on this connection */
} conn_t;

static void conn_close(conn_t *c)
{
    if (c->ssl) {
        SSL_SESSION *s = SSL_get1_session(c->ssl);
        if (s) {
            if (c->resume) {
                SSL_SESSION_free(c->resume);
            }
            c->resume = s;
        }
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->in.len = 0;
    c->requests = 0;
}

static int conn_open(conn_t *c, char *err, size_t errlen)
{
    struct timeval tv = {IO_TIMEOUT_SEC, 0};
    int one = 1;

    c->fd = socket(server_addr->ai_family, SOCK_STREAM, 0);
    if (c->fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(c->fd, server_addr->ai_addr, server_addr->ai_addrlen)) {
        snprintf(err, errlen, "connect: %s", strerror(errno));
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    if (opt.tls) {
        c->ssl = SSL_new(ssl_ctx);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_tlsext_host_name(c->ssl, opt.host);
        if (c->resume) {
            SSL_set_session(c->ssl, c->resume);
        }
        if (SSL_connect(c->ssl) != 1) {
            snprintf(err, errlen, "TLS handshake failed: %s",
                     ERR_reason_error_string(ERR_get_error()));
            ERR_clear_error();
            conn_close(c);
            return -1;
        }
    }
    c->requests = 0;
    return 0;
}

static int conn_write(conn_t *c, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w;
        if (c->ssl) {
            int r = SSL_write(c->ssl, p, (int)n);
            w = r > 0 ? r : -1;
        }
        else {
            w = send(c->fd, p, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) {
                continue;
            }
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads more bytes into c->in; 0 at end of stream, -1 on error. */
static ssize_t conn_fill(conn_t *c)
{
    ssize_t r;

    buf_reserve(&c->in, 16384);
    if (c->ssl) {
        int n = SSL_read(c->ssl, c->in.s + c->in.len, 16384);
        if (n <= 0) {
            int e = SSL_get_error(c->ssl, n);
            ERR_clear_error();
            return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
        }
        r = n;
    }
    else {
        do {
            r = recv(c->fd, c->in.s + c->in.len, 16384, 0);
        } while (r < 0 && errno == EINTR);
    }
    if (r > 0) {
        c->in.len += (size_t)r;
        c->in.s[c->in.len] = '\0';
    }
    return r;
}

typedef struct {
    int status;
    int close; /* the server closes the connection after this response */
    buf_t body;
} response_t;

static const char *header_value(const char *head, size_t headlen,
                                const char *name, size_t *plen)
{
    size_t nlen = strlen(name);
    const char *p = head, *end = head + headlen;

    /* Skip the status line; every header starts after a CRLF. */
    while ((p = memmem(p, (size_t)(end - p), "\r\n", 2)) && p + 2 < end) {
        p += 2;
        if ((size_t)(end - p) > nlen && !strncasecmp(p, name, nlen) &&
            p[nlen] == ':') {
            const char *v = p + nlen + 1, *e;
            while (v < end && (*v == ' ' || *v == '\t')) {
                v++;
            }
            e = memmem(v, (size_t)(end - v), "\r\n", 2);
            if (!e) {
                e = end;
            }
            *plen = (size_t)(e - v);
            return v;
        }
    }
    return NULL;
}

/* Reads one response: status line, headers, a Content-Length body (or a
 * body up to the end of the stream when the server sends no length and
 * closes). Returns 0, -1 on error, 1 when the connection was closed before
 * any byte of the response (a keep-alive connection the server dropped:
 * the request may be sent again on a new one). */
static int read_response(conn_t *c, response_t *res, int head_only,
                         char *err, size_t errlen)
{
    char *eoh, *v;
    size_t headlen, vlen, clen = 0;
    int have_len = 0, major, minor;
    ssize_t r;

    while (!(eoh = memmem(c->in.s ? c->in.s : "", c->in.len, "\r\n\r\n", 4))) {
        if (c->in.len > 65536) {
            snprintf(err, errlen, "response header too large");
            return -1;
        }
        r = conn_fill(c);
        if (r < 0 && c->in.len == 0 &&
            (errno == EAGAIN || errno == EWOULDBLOCK)) {
            snprintf(err, errlen, "no response within %d s", IO_TIMEOUT_SEC);
            return -1;
        }
        if (r <= 0) {
            if (c->in.len == 0) {
                return 1; /* closed by the server before answering */
            }
            snprintf(err, errlen, "connection lost in the response header");
            return -1;
        }
    }
    headlen = (size_t)(eoh - c->in.s) + 4;
    if (sscanf(c->in.s, "HTTP/%d.%d %d", &major, &minor, &res->status) != 3) {
        snprintf(err, errlen, "bad status line");
        return -1;
    }
    res->close = major == 1 && minor == 0;
    if ((v = (char *)header_value(c->in.s, headlen, "Connection", &vlen))) {
        if (vlen >= 5 && !strncasecmp(v, "close", 5)) {
            res->close = 1;
        }
        else if (vlen >= 10 && !strncasecmp(v, "keep-alive", 10)) {
            res->close = 0;
        }
    }
    if ((v = (char *)header_value(c->in.s, headlen, "Transfer-Encoding",
                                  &vlen))) {
        /* Windows rejects chunked replies; so does this client. */
        snprintf(err, errlen, "chunked response (no Content-Length)");
        return -1;
    }
    if ((v = (char *)header_value(c->in.s, headlen, "Content-Length",
                                  &vlen))) {
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        if (end == v || n > (1ULL << 30)) {
            snprintf(err, errlen, "bad Content-Length");
            return -1;
        }
        clen = (size_t)n;
        have_len = 1;
    }
    if (head_only || res->status == 204 || res->status == 304) {
        clen = 0;
        have_len = 1;
    }
    if (!have_len && !res->close) {
        snprintf(err, errlen, "response without Content-Length");
        return -1;
    }
    while (have_len ? c->in.len < headlen + clen : 1) {
        r = conn_fill(c);
        if (r < 0) {
            snprintf(err, errlen, "connection lost in the response body");
            return -1;
        }
        if (r == 0) {
            if (have_len) {
                snprintf(err, errlen, "response body shorter than its "
                                      "Content-Length");
                return -1;
            }
            clen = c->in.len - headlen;
            break;
        }
    }
    res->body.len = 0;
    buf_add(&res->body, c->in.s + headlen, clen);
    /* Keep what follows (nothing, as requests are not pipelined). */
    memmove(c->in.s, c->in.s + headlen + clen, c->in.len - headlen - clen);
    c->in.len -= headlen + clen;
    return 0;
}

/* One request and its response, on the thread's connection; opens one
 * when needed and retries once when a kept-alive connection turns out to
 * be closed by the server. */
static int exchange(conn_t *c, const char *method, const char *path,
                    const char *ctype, const char *body, size_t blen,
                    response_t *res, buf_t *req, char *err, size_t errlen)
{
    int attempt, rc;

    req->len = 0;
    buf_printf(req, "%s %s HTTP/1.1\r\nHost: %s:%s\r\n", method, path,
               opt.host, opt.port);
    if (body) {
        buf_printf(req,
                   "Content-Type: %s\r\nContent-Length: %zu\r\n"
                   "User-Agent: MSFT OMA DM Client/1.2.0.1\r\n"
                   "Accept: application/vnd.syncml.dm+xml, "
                   "application/vnd.syncml.dm+wbxml, "
                   "application/octet-stream\r\n",
                   ctype, blen);
    }
    buf_printf(req, "%s\r\n",
               opt.keepalive ? "" : "Connection: close\r\n");
    if (body) {
        buf_add(req, body, blen);
    }
    for (attempt = 0; attempt < 2; attempt++) {
        int reused;
        if (c->fd < 0 && conn_open(c, err, errlen)) {
            return -1;
        }
        reused = c->requests > 0;
        if (conn_write(c, req->s, req->len)) {
            conn_close(c);
            if (reused) {
                continue;
            }
            snprintf(err, errlen, "send failed");
            return -1;
        }
        rc = read_response(c, res, !strcmp(method, "HEAD"), err, errlen);
        if (rc == 1) {
            conn_close(c);
            if (reused) {
                continue;
            }
            snprintf(err, errlen, "connection closed without a response");
            return -1;
        }
        if (rc < 0) {
            conn_close(c);
            return -1;
        }
        c->requests++;
        if (res->close || !opt.keepalive) {
            conn_close(c);
        }
        return 0;
    }
    snprintf(err, errlen, "connection closed twice without a response");
    return -1;
}

/* ------------------------------------------------- SyncML (the device) */

/* Text of the first <tag>...</tag> in [p, end), or NULL. */
static const char *xml_text(const char *p, const char *end, const char *tag,
                            size_t *plen)
{
    char open[64], close[64];
    const char *a, *b;

    snprintf(open, sizeof(open), "<%s", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    for (a = p; (a = memmem(a, (size_t)(end - a), open, strlen(open)));
         a += strlen(open)) {
        const char *gt;
        char after = a[strlen(open)];
        if (after != '>' && after != ' ') {
            continue; /* a longer tag name */
        }
        if (!(gt = memchr(a, '>', (size_t)(end - a)))) {
            return NULL;
        }
        if (gt[-1] == '/') {
            *plen = 0;
            return gt; /* <tag/>: empty */
        }
        if (!(b = memmem(gt + 1, (size_t)(end - gt - 1), close,
                         strlen(close)))) {
            return NULL;
        }
        *plen = (size_t)(b - gt - 1);
        return gt + 1;
    }
    return NULL;
}

typedef struct {
    char name[16];
    char cmd_id[32];
    char uri[256]; /* a Get's target */
} cmd_t;

typedef struct {
    int hdr_status;     /* the SyncHdr Status's Data, 0 when none */
    char next_nonce[64]; /* "" when the reply names none */
    int ncmds;
    cmd_t cmds[MAX_CMDS];
} reply_t;

static void copy_text(char *dst, size_t size, const char *s, size_t n)
{
    if (n >= size) {
        n = size - 1;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Minimal reading of a server message: the SyncHdr Status's code, the
 * NextNonce in its Chal, and the commands of the SyncBody (top level;
 * an Atomic or Sequence is answered as one command, as its own status
 * speaks for its content). */
static int parse_reply(const buf_t *body, reply_t *rp)
{
    const char *s = body->s, *end = body->s + body->len, *p, *t;
    size_t n;

    memset(rp, 0, sizeof(*rp));
    if (!s || !(p = memmem(s, body->len, "<SyncBody>", 10))) {
        return -1;
    }
    p += 10;
    while (p < end && (p = memchr(p, '<', (size_t)(end - p)))) {
        char name[32], close[48];
        size_t k = 0;
        const char *q = p + 1, *e;

        if (*q == '/') {
            break; /* </SyncBody> */
        }
        while (q < end && k < sizeof(name) - 1 && *q != '>' && *q != '/' &&
               *q != ' ') {
            name[k++] = *q++;
        }
        name[k] = '\0';
        if (q < end && *q == '/') {
            p = q; /* <Final/> */
            continue;
        }
        snprintf(close, sizeof(close), "</%s>", name);
        if (!(e = memmem(q, (size_t)(end - q), close, strlen(close)))) {
            return -1;
        }
        if (!strcmp(name, "Status")) {
            if ((t = xml_text(q, e, "Cmd", &n)) && n == 7 &&
                !memcmp(t, "SyncHdr", 7) && !rp->hdr_status) {
                if ((t = xml_text(q, e, "Data", &n))) {
                    rp->hdr_status = atoi(t);
                }
                if ((t = xml_text(q, e, "NextNonce", &n))) {
                    copy_text(rp->next_nonce, sizeof(rp->next_nonce), t, n);
                }
            }
        }
        else {
            /* Every other element is a command, a server Alert (1222:
             * send the next message) too: each gets a Status. */
            cmd_t *c;
            if (rp->ncmds == MAX_CMDS) {
                return -1;
            }
            c = &rp->cmds[rp->ncmds++];
            copy_text(c->name, sizeof(c->name), name, strlen(name));
            if ((t = xml_text(q, e, "CmdID", &n))) {
                copy_text(c->cmd_id, sizeof(c->cmd_id), t, n);
            }
            if ((t = xml_text(q, e, "LocURI", &n))) {
                copy_text(c->uri, sizeof(c->uri), t, n);
            }
        }
        p = e + strlen(close);
    }
    return rp->hdr_status ? 0 : -1;
}

typedef struct {
    conn_t conn;
    buf_t msg, req;
    response_t res;
    uint32_t *lat_us;
    size_t nlat, caplat;
    long sessions, errors, requests, auth_refused;
    double reply_bytes;
    long replies;
    char last_err[256];
} worker_t;

static void syncml_hdr(buf_t *m, const device_t *d, const char *session,
                       int msg_id, const char *digest)
{
    buf_printf(m,
               "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2"
               "</VerDTD><VerProto>DM/1.2</VerProto><SessionID>%s</SessionID>"
               "<MsgID>%d</MsgID><Target><LocURI>http://%s:%s/devicemgt"
               "</LocURI></Target><Source><LocURI>%s</LocURI><LocName>%s"
               "</LocName></Source><Cred><Meta><Format xmlns=\"syncml:metinf\">"
               "b64</Format><Type xmlns=\"syncml:metinf\">syncml:auth-md5"
               "</Type></Meta><Data>%s</Data></Cred></SyncHdr><SyncBody>",
               session, msg_id, opt.host, opt.port, d->id, d->id, digest);
}

/* Package 1 of the captured Windows 10 21H1 check-in, for this device. */
static void package1(buf_t *m, const device_t *d, const char *session,
                     const char *digest)
{
    m->len = 0;
    syncml_hdr(m, d, session, 1, digest);
    buf_printf(m,
               "<Alert><CmdID>2</CmdID><Data>1201</Data></Alert><Alert><CmdID>"
               "3</CmdID><Data>1224</Data><Item><Meta><Type xmlns=\"syncml:"
               "metinf\">com.microsoft/MDM/LoginStatus</Type></Meta><Data>user"
               "</Data></Item></Alert><Replace><CmdID>4</CmdID><Item><Source>"
               "<LocURI>./DevInfo/DevId</LocURI></Source><Data>%s</Data></Item>"
               "<Item><Source><LocURI>./DevInfo/Man</LocURI></Source><Data>"
               "VMware, Inc.</Data></Item><Item><Source><LocURI>./DevInfo/Mod"
               "</LocURI></Source><Data>VMware7,1</Data></Item><Item><Source>"
               "<LocURI>./DevInfo/DmV</LocURI></Source><Data>1.3</Data></Item>"
               "<Item><Source><LocURI>./DevInfo/Lang</LocURI></Source><Data>"
               "en-US</Data></Item></Replace><Final/></SyncBody></SyncML>",
               d->id);
}

/* Package 3: a Status for the server's SyncHdr and for each command, and
 * Results for each Get. */
static void package3(buf_t *m, const device_t *d, const char *session,
                     int msg_id, const char *digest, const reply_t *rp)
{
    int i, id = 1;

    m->len = 0;
    syncml_hdr(m, d, session, msg_id, digest);
    buf_printf(m,
               "<Status><CmdID>%d</CmdID><MsgRef>%d</MsgRef><CmdRef>0</CmdRef>"
               "<Cmd>SyncHdr</Cmd><Data>200</Data></Status>",
               id++, msg_id - 1);
    for (i = 0; i < rp->ncmds; i++) {
        buf_printf(m,
                   "<Status><CmdID>%d</CmdID><MsgRef>%d</MsgRef><CmdRef>%s"
                   "</CmdRef><Cmd>%s</Cmd><Data>200</Data></Status>",
                   id++, msg_id - 1, rp->cmds[i].cmd_id, rp->cmds[i].name);
    }
    for (i = 0; i < rp->ncmds; i++) {
        if (strcmp(rp->cmds[i].name, "Get")) {
            continue;
        }
        buf_printf(m,
                   "<Results><CmdID>%d</CmdID><MsgRef>%d</MsgRef><CmdRef>%s"
                   "</CmdRef><Item><Source><LocURI>%s</LocURI></Source><Meta>"
                   "<Format xmlns=\"syncml:metinf\">chr</Format></Meta><Data>"
                   "bench</Data></Item></Results>",
                   id++, msg_id - 1, rp->cmds[i].cmd_id, rp->cmds[i].uri);
    }
    buf_add(m, "<Final/></SyncBody></SyncML>", 28);
}

static int post_syncml(worker_t *w, reply_t *rp)
{
    char err[200];

    w->requests++;
    if (exchange(&w->conn, "POST", opt.path, SYNCML_TYPE, w->msg.s, w->msg.len,
                 &w->res, &w->req, err, sizeof(err))) {
        snprintf(w->last_err, sizeof(w->last_err), "%s", err);
        return -1;
    }
    if (w->res.status != 200) {
        snprintf(w->last_err, sizeof(w->last_err), "HTTP %d", w->res.status);
        return -1;
    }
    w->reply_bytes += (double)w->res.body.len;
    w->replies++;
    if (parse_reply(&w->res.body, rp)) {
        snprintf(w->last_err, sizeof(w->last_err),
                 "reply without a SyncHdr Status");
        return -1;
    }
    return 0;
}

/* One check-in session of device d; 0 when every reply said 200 and the
 * session closed with a NextNonce. */
static int checkin(worker_t *w, device_t *d)
{
    char session[32], digest[32];
    reply_t *rp = xmalloc(sizeof(*rp));
    int msg_id = 1, rc = -1;

    d->session++;
    snprintf(session, sizeof(session), "%lX", d->session);
    if (device_digest(d, digest)) {
        snprintf(w->last_err, sizeof(w->last_err), "bad nonce %s", d->nonce);
        goto out;
    }
    package1(&w->msg, d, session, digest);
    for (;;) {
        if (post_syncml(w, rp)) {
            goto out;
        }
        if (rp->next_nonce[0]) {
            /* Kept whatever the status: after a refusal the device retries
             * with it, as Windows does. */
            copy_text(d->nonce, sizeof(d->nonce), rp->next_nonce,
                      strlen(rp->next_nonce));
        }
        if (rp->hdr_status != 200) {
            if (rp->hdr_status == 401 || rp->hdr_status == 407) {
                w->auth_refused++;
            }
            snprintf(w->last_err, sizeof(w->last_err),
                     "SyncHdr status %d for %s", rp->hdr_status, d->id);
            goto out;
        }
        if (rp->ncmds == 0) {
            if (!rp->next_nonce[0]) {
                snprintf(w->last_err, sizeof(w->last_err),
                         "the closing reply carries no NextNonce");
                goto out;
            }
            rc = 0;
            goto out;
        }
        if (!opt.answer) {
            /* The session is left open (the device does not answer); its
             * nonce stays good for that session only, so the next one
             * would be refused: count it. */
            snprintf(w->last_err, sizeof(w->last_err),
                     "the server sent %d commands (use --answer)", rp->ncmds);
            goto out;
        }
        if (++msg_id > MAX_MESSAGES) {
            snprintf(w->last_err, sizeof(w->last_err),
                     "session longer than %d messages", MAX_MESSAGES);
            goto out;
        }
        package3(&w->msg, d, session, msg_id, digest, rp);
    }
out:
    free(rp);
    return rc;
}

/* ---------------------------------------------------- other workloads */

/* MS-WSTEP enrollments (--wstep). The captured request is replayed with
 * its user name and password replaced and, per request, a DeviceID of its
 * own and a certificate request made for it: the server never sees the
 * same PKCS#10 twice, so it parses, verifies and signs a new one each
 * time, as it does for a fleet of real devices. The answer counts only
 * when its client certificate was signed by the CA (--ca) over the public
 * key of that request. */

/* The fixed parts of the captured request, around the UsernameToken's
 * user name, the base64 PKCS#10 of its body BinarySecurityToken and the
 * DeviceID context item's value (in that order, as Windows sends them). */
static char *wstep_head, *wstep_head2, *wstep_mid, *wstep_tail;
/* The connection's number in a --user holding %d, taken at its first
 * enrollment. */
static int user_next;
static __thread int user_index = -1;

/* Pre-made RSA-2048 keys the requests are made with: a key takes tens of
 * milliseconds to generate, a signature under a millisecond, so the
 * requests are fresh while the load generator stays cheap next to the
 * server. Read-only once made; OpenSSL 3 lets threads sign with one
 * EVP_PKEY at once. */
static EVP_PKEY **csr_keys;
static int csr_nkeys;
static unsigned long csr_next; /* round robin over csr_keys, atomic */
static EVP_PKEY *ca_key;       /* public key of the --ca certificate */

static void replace_once(char **s, const char *from, const char *to)
{
    char *at = strstr(*s, from), *out;
    size_t a, fl = strlen(from), tl = strlen(to);

    if (!at) {
        die("%s: '%s' not found in the request", opt.wstep_file, from);
    }
    a = (size_t)(at - *s);
    out = xmalloc(strlen(*s) - fl + tl + 1);
    memcpy(out, *s, a);
    memcpy(out + a, to, tl);
    strcpy(out + a + tl, at + fl);
    free(*s);
    *s = out;
}

static char *xstrndup(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* The captured request, its password replaced, split around the user
 * name, the body BinarySecurityToken's text and the DeviceID context
 * item's value. */
static void wstep_load(void)
{
    FILE *f = fopen(opt.wstep_file, "rb");
    char *s, *bst, *bst_end, *id, *u, pw[512];
    const char *ukey = "<wsse:Username>demio</wsse:Username>";
    const char *key = "<ac:ContextItem Name=\"DeviceID\"><ac:Value>";
    long n;

    if (!f) {
        die("cannot read %s: %s", opt.wstep_file, strerror(errno));
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    s = xmalloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) {
        die("cannot read %s", opt.wstep_file);
    }
    s[n] = '\0';
    fclose(f);
    snprintf(pw, sizeof(pw), "#PasswordText\">%s</wsse:Password>",
             opt.password);
    replace_once(&s, "#PasswordText\">demo</wsse:Password>", pw);
    /* The body's token: the only BinarySecurityToken of an Issue request
     * (MS-MDE2 3.4.1), its text the base64 DER of the PKCS#10. */
    if (!(bst = strstr(s, "<wsse:BinarySecurityToken ")) ||
        !strstr(bst, "enrollment#PKCS10\"") || !(bst = strchr(bst, '>')) ||
        !(bst_end = strstr(++bst, "</wsse:BinarySecurityToken>"))) {
        die("%s: no PKCS#10 BinarySecurityToken", opt.wstep_file);
    }
    if (!(id = strstr(bst_end, key)) ||
        strncmp(id + strlen(key), FIXTURE_DEVICE_ID,
                strlen(FIXTURE_DEVICE_ID))) {
        die("%s: no DeviceID context item after the BinarySecurityToken",
            opt.wstep_file);
    }
    id += strlen(key);
    if (!(u = strstr(s, ukey)) || u > bst) {
        die("%s: no UsernameToken 'demio' before the BinarySecurityToken",
            opt.wstep_file);
    }
    u += strlen("<wsse:Username>");
    wstep_head = xstrndup(s, (size_t)(u - s));
    u += strlen("demio");
    wstep_head2 = xstrndup(u, (size_t)(bst - u));
    wstep_mid = xstrndup(bst_end, (size_t)(id - bst_end));
    wstep_tail = xstrndup(id + strlen(FIXTURE_DEVICE_ID),
                          strlen(id + strlen(FIXTURE_DEVICE_ID)));
    free(s);
}

/* The key pool and the CA's public key, before the clock starts. */
static void wstep_keys(void)
{
    X509 *ca;
    FILE *f;
    int i;

    if (!(f = fopen(opt.ca_file, "r"))) {
        die("cannot read %s: %s", opt.ca_file, strerror(errno));
    }
    ca = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!ca || !(ca_key = X509_get_pubkey(ca))) {
        die("%s holds no PEM certificate", opt.ca_file);
    }
    X509_free(ca);
    csr_keys = xmalloc(sizeof(*csr_keys) * (size_t)opt.keys);
    for (i = 0; i < opt.keys; i++) {
        if (!(csr_keys[i] = EVP_RSA_gen(2048))) {
            die("RSA key generation failed");
        }
    }
    csr_nkeys = opt.keys;
}

static void wstep_free(void)
{
    int i;

    for (i = 0; i < csr_nkeys; i++) {
        EVP_PKEY_free(csr_keys[i]);
    }
    free(csr_keys);
    EVP_PKEY_free(ca_key);
    free(wstep_head);
    free(wstep_head2);
    free(wstep_mid);
    free(wstep_tail);
}

/* A PKCS#10 as Windows 10 makes it for device_id (the fixture's): subject
 * CN "<random GUID>!<DeviceID>" and the DeviceID in the Microsoft
 * extension 1.3.6.1.4.1.311.66.1.0 of its requested extensions, signed
 * with key (SHA-256; the fixture's is SHA-1, which costs the server the
 * same RSA public operation). The random GUID makes every request unique.
 * Returns its base64 DER (free it), NULL on failure. */
static char *csr_make(EVP_PKEY *key, const char *device_id)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
    ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.311.66.1.0", 1);
    ASN1_OCTET_STRING *val = ASN1_OCTET_STRING_new();
    X509_EXTENSION *ext = NULL;
    unsigned char g[16], *der = NULL;
    char cn[128], *out = NULL;
    int len;

    if (!req || !name || !exts || !oid || !val ||
        RAND_bytes(g, sizeof(g)) != 1) {
        goto leave;
    }
    snprintf(cn, sizeof(cn),
             "%02X%02X%02X%02X-%02X%02X-%02X%02X-%02X%02X-"
             "%02X%02X%02X%02X%02X%02X!%s",
             g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9],
             g[10], g[11], g[12], g[13], g[14], g[15], device_id);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)cn, -1, -1, 0) ||
        !X509_REQ_set_subject_name(req, name) ||
        !X509_REQ_set_version(req, 0) || !X509_REQ_set_pubkey(req, key) ||
        !ASN1_OCTET_STRING_set(val, (const unsigned char *)device_id,
                               (int)strlen(device_id)) ||
        !(ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, val)) ||
        !sk_X509_EXTENSION_push(exts, ext)) {
        goto leave;
    }
    ext = NULL; /* the stack holds it */
    if (!X509_REQ_add_extensions(req, exts) ||
        !X509_REQ_sign(req, key, EVP_sha256()) ||
        (len = i2d_X509_REQ(req, &der)) <= 0) {
        goto leave;
    }
    out = xmalloc(4 * (((size_t)len + 2) / 3) + 1);
    b64(der, (size_t)len, out);
leave:
    OPENSSL_free(der);
    X509_EXTENSION_free(ext);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ASN1_OCTET_STRING_free(val);
    ASN1_OBJECT_free(oid);
    X509_NAME_free(name);
    X509_REQ_free(req);
    return out;
}

/* Decodes len base64 characters (no white space, as the module writes
 * them); returns the bytes (free them) and their number in *pn. */
static unsigned char *unb64n(const char *in, size_t len, size_t *pn)
{
    unsigned char *out;
    int n;

    if (len == 0 || len % 4 || len > (1u << 24)) {
        return NULL;
    }
    out = xmalloc(len / 4 * 3);
    if ((n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len)) < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding as data. */
    n -= (in[len - 1] == '=') + (in[len - 2] == '=');
    *pn = (size_t)n;
    return out;
}

/* Text between the first `after` at or behind from and the next `until`. */
static const char *between(const char *from, const char *after,
                           const char *until, size_t *plen)
{
    const char *a, *b;

    if (!from || !(a = strstr(from, after)) ||
        !(b = strstr(a += strlen(after), until))) {
        return NULL;
    }
    *plen = (size_t)(b - a);
    return a;
}

/* The check of an answer: the RequestedSecurityToken is a base64
 * provisioning document (MS-MDE2 3.4.5.2) whose CertificateStore/My
 * characteristic holds the device's certificate as base64 DER
 * (MS-MDE2 2.2.9.1); that certificate must be signed by the CA, name the
 * DeviceID as its CN and carry the request's public key. NULL when it
 * does, else what is wrong. */
static const char *wstep_check(const buf_t *body, EVP_PKEY *key,
                               const char *device_id)
{
    const char *t, *why = NULL;
    unsigned char *doc = NULL, *der = NULL;
    const unsigned char *q;
    size_t n, dn;
    char cn[128];
    X509 *cert = NULL;

    if (!(t = between(body->s, "<BinarySecurityToken ", ">", &n)) ||
        !(t = between(t, ">", "</BinarySecurityToken>", &n)) ||
        !(doc = unb64n(t, n, &dn))) {
        return "no base64 BinarySecurityToken in the answer";
    }
    doc = xrealloc(doc, dn + 1);
    doc[dn] = '\0';
    if (!(t = between(strstr((char *)doc, "<characteristic type=\"My\">"),
                      "<parm name=\"EncodedCertificate\" value=\"", "\"",
                      &n)) ||
        !(der = unb64n(t, n, &dn))) {
        why = "no CertificateStore/My EncodedCertificate in the "
              "provisioning document";
        goto leave;
    }
    q = der;
    if (!(cert = d2i_X509(NULL, &q, (long)dn)) || q != der + dn) {
        why = "the client certificate is not DER";
    }
    else if (X509_verify(cert, ca_key) != 1) {
        why = "the client certificate is not signed by the CA";
    }
    else if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
        why = "the client certificate's key is not the request's";
    }
    else if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
                                       NID_commonName, cn, sizeof(cn)) < 0 ||
             strcmp(cn, device_id)) {
        why = "the client certificate's CN is not the DeviceID";
    }
leave:
    ERR_clear_error();
    X509_free(cert);
    free(der);
    free(doc);
    return why;
}

static int enroll(worker_t *w, const device_t *d)
{
    EVP_PKEY *key = csr_keys[__atomic_fetch_add(&csr_next, 1,
                                                __ATOMIC_RELAXED) %
                             (unsigned long)csr_nkeys];
    char err[200], user[256], *csr;
    const char *why, *pct;

    if (user_index < 0) {
        user_index = __atomic_fetch_add(&user_next, 1, __ATOMIC_RELAXED);
    }
    /* "%d" in --user: the connection's own user. */
    if ((pct = strstr(opt.user, "%d"))) {
        snprintf(user, sizeof(user), "%.*s%d%s", (int)(pct - opt.user),
                 opt.user, user_index, pct + 2);
    }
    else {
        snprintf(user, sizeof(user), "%s", opt.user);
    }
    if (!(csr = csr_make(key, d->id))) {
        ERR_clear_error();
        snprintf(w->last_err, sizeof(w->last_err), "making a CSR failed");
        return -1;
    }
    w->msg.len = 0;
    buf_printf(&w->msg, "%s%s%s%s%s%s%s", wstep_head, user, wstep_head2, csr,
               wstep_mid, d->id, wstep_tail);
    free(csr);
    w->requests++;
    if (exchange(&w->conn, "POST", WSTEP_PATH, SOAP_TYPE, w->msg.s, w->msg.len,
                 &w->res, &w->req, err, sizeof(err))) {
        snprintf(w->last_err, sizeof(w->last_err), "%s", err);
        return -1;
    }
    if (w->res.status != 200 || !w->res.body.s ||
        !strstr(w->res.body.s, "RequestSecurityTokenResponseCollection") ||
        !strstr(w->res.body.s, "BinarySecurityToken")) {
        const char *reason = w->res.body.s
                                 ? strstr(w->res.body.s, "<s:Text")
                                 : NULL;
        snprintf(w->last_err, sizeof(w->last_err), "HTTP %d %.150s",
                 w->res.status, reason ? reason : "");
        return -1;
    }
    if ((why = wstep_check(&w->res.body, key, d->id))) {
        snprintf(w->last_err, sizeof(w->last_err), "%s: %s", d->id, why);
        return -1;
    }
    w->reply_bytes += (double)w->res.body.len;
    w->replies++;
    return 0;
}

static int fetch_static(worker_t *w)
{
    char err[200];

    w->requests++;
    if (exchange(&w->conn, "GET", opt.static_path, NULL, NULL, 0, &w->res,
                 &w->req, err, sizeof(err))) {
        snprintf(w->last_err, sizeof(w->last_err), "%s", err);
        return -1;
    }
    if (w->res.status != 200) {
        snprintf(w->last_err, sizeof(w->last_err), "HTTP %d", w->res.status);
        return -1;
    }
    w->reply_bytes += (double)w->res.body.len;
    w->replies++;
    return 0;
}

/* ------------------------------------------------------------- runner */

static double t_start, t_measure, t_end;
static long sessions_left; /* when a number of sessions is asked for */
static pthread_mutex_t left_lock = PTHREAD_MUTEX_INITIALIZER;

static int take_session(void)
{
    int ok = 1;
    if (opt.sessions > 0) {
        pthread_mutex_lock(&left_lock);
        ok = sessions_left > 0;
        if (ok) {
            sessions_left--;
        }
        pthread_mutex_unlock(&left_lock);
    }
    return ok;
}

typedef struct {
    worker_t w;
    int index;
    pthread_t tid;
} thread_t;

static void *run(void *arg)
{
    thread_t *t = arg;
    worker_t *w = &t->w;
    long next = t->index; /* this thread's devices: index, index + conns... */

    w->conn.fd = -1;
    while (take_session()) {
        double t0 = now_sec(), t1;
        int rc;

        if (opt.duration > 0 && t0 >= t_end) {
            break;
        }
        switch (opt.mode) {
        case MODE_CHECKIN:
            rc = checkin(w, &devices[next]);
            break;
        case MODE_WSTEP:
            rc = enroll(w, &devices[next]);
            break;
        default:
            rc = fetch_static(w);
            break;
        }
        next += opt.conns;
        if (next >= opt.count) {
            next = t->index;
        }
        t1 = now_sec();
        if (t0 < t_measure) {
            continue; /* warm-up */
        }
        if (rc) {
            w->errors++;
            if (opt.verbose) {
                fprintf(stderr, "loadgen: %s\n", w->last_err);
            }
            continue;
        }
        w->sessions++;
        if (w->nlat == w->caplat) {
            w->caplat = w->caplat ? w->caplat * 2 : 65536;
            w->lat_us = xrealloc(w->lat_us, w->caplat * sizeof(uint32_t));
        }
        w->lat_us[w->nlat++] = (uint32_t)((t1 - t0) * 1e6);
    }
    conn_close(&w->conn);
    if (w->conn.resume) {
        SSL_SESSION_free(w->conn.resume);
    }
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const uint32_t *v, size_t n, double q)
{
    size_t i;
    if (n == 0) {
        return 0;
    }
    i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

static void usage(void)
{
    fputs(
        "usage: loadgen [options]\n"
        "  -H HOST            server address [127.0.0.1]\n"
        "  -p PORT            server port [80]\n"
        "  --tls              HTTPS (the digest is still used)\n"
        "  --no-keepalive     one connection per request\n"
        "  -c N               concurrent connections [16]\n"
        "  -d SECONDS         measure for this long [10]\n"
        "  -n SESSIONS        or stop after this many sessions\n"
        "  -w SECONDS         warm-up before measuring [0]\n"
        "  --first I          first device index [0]\n"
        "  --devices N        number of devices [1000]\n"
        "  --prefix P         DeviceID prefix [BENCH]\n"
        "  --seed S           seed of the secrets and first nonces [1]\n"
        "  --state FILE       load and save each device's nonce\n"
        "  --answer           answer queued commands (MsgID 2...)\n"
        "  --path PATH        [" DEFAULT_PATH "]\n"
        "  --label L          label of the result line\n"
        "  --emit-sql         print the seeding SQL and exit\n"
        "  --poll-interval M  poll_interval of the seeded rows [15]\n"
        "  --static PATH      GET PATH instead of check-ins\n"
        "  --wstep FILE       MS-WSTEP enrollments of FILE, its DeviceID\n"
        "                     replaced by each device's\n"
        "                     and a fresh PKCS#10 of its own\n"
        "  --user U --password P  UsernameToken of --wstep; a %d in U\n"
        "                     is the connection's number (0, 1...), so\n"
        "                     that each connection enrolls as a user of\n"
        "                     its own\n"
        "  --ca FILE          CA certificate (PEM) the issued client\n"
        "                     certificates must verify against (--wstep)\n"
        "  --keys N           RSA-2048 keys made at start that sign the\n"
        "                     requests of --wstep, in turn [16]\n"
        "  -v                 print each error\n"
        "Exit status: 0, 1 when a request failed, 2 on bad usage.\n",
        stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    enum {
        O_TLS = 256, O_NOKA, O_FIRST, O_DEVICES, O_PREFIX, O_SEED, O_STATE,
        O_ANSWER, O_PATH, O_LABEL, O_EMIT, O_POLL, O_STATIC, O_WSTEP, O_USER,
        O_PASSWORD, O_CA, O_KEYS
    };
    static const struct option longopts[] = {
        {"tls", no_argument, NULL, O_TLS},
        {"no-keepalive", no_argument, NULL, O_NOKA},
        {"first", required_argument, NULL, O_FIRST},
        {"devices", required_argument, NULL, O_DEVICES},
        {"prefix", required_argument, NULL, O_PREFIX},
        {"seed", required_argument, NULL, O_SEED},
        {"state", required_argument, NULL, O_STATE},
        {"answer", no_argument, NULL, O_ANSWER},
        {"path", required_argument, NULL, O_PATH},
        {"label", required_argument, NULL, O_LABEL},
        {"emit-sql", no_argument, NULL, O_EMIT},
        {"poll-interval", required_argument, NULL, O_POLL},
        {"static", required_argument, NULL, O_STATIC},
        {"wstep", required_argument, NULL, O_WSTEP},
        {"user", required_argument, NULL, O_USER},
        {"password", required_argument, NULL, O_PASSWORD},
        {"ca", required_argument, NULL, O_CA},
        {"keys", required_argument, NULL, O_KEYS},
        {NULL, 0, NULL, 0}};
    struct addrinfo hints;
    thread_t *threads;
    uint32_t *all;
    size_t nall = 0, k;
    long sessions = 0, errors = 0, requests = 0, refused = 0, replies = 0;
    double reply_bytes = 0, elapsed, rate;
    const char *mode_name, *last_err = "";
    int c, i, rc;

    opt.host = "127.0.0.1";
    opt.port = "80";
    opt.path = DEFAULT_PATH;
    opt.prefix = "BENCH";
    opt.seed = "1";
    opt.label = "-";
    opt.user = "bench@example.test";
    opt.password = "";
    opt.keepalive = 1;
    opt.conns = 16;
    opt.keys = 16;
    opt.duration = 10;
    opt.count = 1000;
    opt.poll_interval = 15;

    while ((c = getopt_long(argc, argv, "H:p:c:d:n:w:vh", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 'H': opt.host = optarg; break;
        case 'p': opt.port = optarg; break;
        case 'c': opt.conns = atoi(optarg); break;
        case 'd': opt.duration = atof(optarg); break;
        case 'n': opt.sessions = atol(optarg); opt.duration = 0; break;
        case 'w': opt.warmup = atof(optarg); break;
        case 'v': opt.verbose = 1; break;
        case O_TLS: opt.tls = 1; break;
        case O_NOKA: opt.keepalive = 0; break;
        case O_FIRST: opt.first = atol(optarg); break;
        case O_DEVICES: opt.count = atol(optarg); break;
        case O_PREFIX: opt.prefix = optarg; break;
        case O_SEED: opt.seed = optarg; break;
        case O_STATE: opt.state_file = optarg; break;
        case O_ANSWER: opt.answer = 1; break;
        case O_PATH: opt.path = optarg; break;
        case O_LABEL: opt.label = optarg; break;
        case O_EMIT: opt.emit_sql = 1; break;
        case O_POLL: opt.poll_interval = atoi(optarg); break;
        case O_STATIC: opt.static_path = optarg; opt.mode = MODE_STATIC; break;
        case O_WSTEP: opt.wstep_file = optarg; opt.mode = MODE_WSTEP; break;
        case O_USER: opt.user = optarg; break;
        case O_PASSWORD: opt.password = optarg; break;
        case O_CA: opt.ca_file = optarg; break;
        case O_KEYS: opt.keys = atoi(optarg); break;
        default: usage();
        }
    }
    if (optind != argc || opt.conns < 1 || opt.count < 1 || opt.first < 0 ||
        (opt.duration <= 0 && opt.sessions <= 0) || strlen(opt.prefix) > 40 ||
        strlen(opt.seed) > 100 || opt.keys < 1 ||
        (opt.mode == MODE_WSTEP && !opt.ca_file)) {
        usage();
    }
    if (opt.emit_sql) {
        if (strchr(opt.prefix, '\'')) {
            die("the prefix may not hold a quote");
        }
        emit_sql();
        return 0;
    }
    if (opt.conns > opt.count && opt.mode != MODE_STATIC) {
        /* Each connection needs devices of its own. */
        opt.conns = (int)opt.count;
    }
    signal(SIGPIPE, SIG_IGN);

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if ((rc = getaddrinfo(opt.host, opt.port, &hints, &server_addr))) {
        die("%s:%s: %s", opt.host, opt.port, gai_strerror(rc));
    }
    if (opt.tls) {
        ssl_ctx = SSL_CTX_new(TLS_client_method());
        if (!ssl_ctx) {
            die("SSL_CTX_new failed");
        }
        /* A benchmark of the server, not of certificate checking. */
        SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_NONE, NULL);
        SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_CLIENT);
    }
    devices = xmalloc(sizeof(device_t) * (size_t)opt.count);
    for (k = 0; k < (size_t)opt.count; k++) {
        device_init(&devices[k], opt.first + (long)k);
    }
    state_load();
    if (opt.mode == MODE_WSTEP) {
        wstep_load();
        wstep_keys();
    }

    sessions_left = opt.sessions;
    t_start = now_sec();
    t_measure = t_start + opt.warmup;
    t_end = t_measure + opt.duration;
    threads = calloc((size_t)opt.conns, sizeof(*threads));
    if (!threads) {
        die("out of memory");
    }
    for (i = 0; i < opt.conns; i++) {
        threads[i].index = i;
        if (pthread_create(&threads[i].tid, NULL, run, &threads[i])) {
            die("pthread_create failed");
        }
    }
    for (i = 0; i < opt.conns; i++) {
        pthread_join(threads[i].tid, NULL);
    }
    /* Sessions started before the deadline are counted, so the time
     * runs until the last one ended. */
    elapsed = now_sec() - t_measure;

    for (i = 0; i < opt.conns; i++) {
        nall += threads[i].w.nlat;
    }
    all = xmalloc(sizeof(uint32_t) * (nall ? nall : 1));
    nall = 0;
    for (i = 0; i < opt.conns; i++) {
        worker_t *w = &threads[i].w;
        memcpy(all + nall, w->lat_us, w->nlat * sizeof(uint32_t));
        nall += w->nlat;
        sessions += w->sessions;
        errors += w->errors;
        requests += w->requests;
        refused += w->auth_refused;
        reply_bytes += w->reply_bytes;
        replies += w->replies;
        if (w->errors && w->last_err[0]) {
            last_err = w->last_err;
        }
    }
    qsort(all, nall, sizeof(uint32_t), by_value);
    rate = elapsed > 0 ? (double)sessions / elapsed : 0;
    mode_name = opt.mode == MODE_CHECKIN  ? "checkin"
                : opt.mode == MODE_WSTEP ? "enroll"
                                         : "static";

    printf("RESULT label=%s mode=%s devices=%ld conns=%d tls=%d keepalive=%d "
           "seconds=%.2f sessions=%ld rate=%.1f p50_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f errors=%ld auth_refused=%ld requests=%ld "
           "reply_bytes=%.0f\n",
           opt.label, mode_name, opt.count, opt.conns, opt.tls, opt.keepalive,
           elapsed, sessions, rate, percentile(all, nall, 0.50),
           percentile(all, nall, 0.99), nall ? all[nall - 1] / 1000.0 : 0.0,
           errors, refused, requests,
           replies ? reply_bytes / (double)replies : 0.0);
    printf("%s: %ld %s sessions in %.1f s = %.1f/s, latency p50 %.2f ms, "
           "p99 %.2f ms, max %.2f ms, %ld errors%s%s%s\n",
           opt.label, sessions, mode_name, elapsed, rate,
           percentile(all, nall, 0.50), percentile(all, nall, 0.99),
           nall ? all[nall - 1] / 1000.0 : 0.0, errors,
           errors ? " (last: " : "", errors ? last_err : "",
           errors ? ")" : "");
    fflush(stdout);

    if (opt.mode == MODE_CHECKIN) {
        state_save();
    }
    for (i = 0; i < opt.conns; i++) {
        worker_t *w = &threads[i].w;
        free(w->lat_us);
        buf_free(&w->msg);
        buf_free(&w->req);
        buf_free(&w->res.body);
        buf_free(&w->conn.in);
    }
    free(threads);
    free(all);
    free(devices);
    wstep_free();
    freeaddrinfo(server_addr);
    if (ssl_ctx) {
        SSL_CTX_free(ssl_ctx);
    }
    /* A run with failures is no measurement: bench.sh stops on it. */
    return errors ? 1 : 0;
}
