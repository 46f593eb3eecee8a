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
 * With --client-certs the devices are those of a TLS deployment: each
 * shows its own certificate from the module's CA in the handshake and
 * sends no Cred, and each session opens its own connection, resuming the
 * device's earlier TLS session (see "device certificates" below).
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
#include <malloc.h>
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

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define DEFAULT_PATH "/devicemgt?mode=Maintenance&Platform=WoA"
#define WSTEP_PATH "/EnrollmentServer/Win10DeviceEnrollmentWebservice.svc"
#define SYNCML_TYPE "application/vnd.syncml.dm+xml"
#define SOAP_TYPE "application/soap+xml; charset=utf-8"
/* The DeviceID the captured WSTEP request carries, replaced per request. */
#define FIXTURE_DEVICE_ID "B5B954E81FBCB94EB79BD08BE625F4EE"
/* A session that needs more messages than this is counted as an error. */
#define MAX_MESSAGES 8
#define MAX_CMDS 64
#define MAX_ITEMS 256
/* The module writes a device's last_seen when it is older than this
 * (WM_DM_SEEN_EVERY, include/wm_dm.h): a session after such a gap is
 * the device's "first", the one that pays that write. */
#define SEEN_EVERY 60
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
    int tls;
    int tls13;         /* allow TLS 1.3 (the default maximum is 1.2) */
    int client_certs;  /* each device shows its own client certificate */
    int reconnect;     /* a connection of its own per session, resumed */
    const char *ca_cert;
    const char *ca_key;
    const char *cert_cache;
    int key_pool;
    int keepalive;
    int conns;
    double duration;
    double warmup;
    long sessions;
    long first;
    long count;
    int answer;
    int min_gap;
    int once;
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

/* A node the server wrote (Add or Replace) and the device keeps. */
typedef struct {
    char *uri;
    char *value;
} node_t;

typedef struct {
    char id[64];
    char secret[33]; /* hex, what the provisioning document would carry */
    char ha1[33];    /* md5_hex(id ":" secret): what the server stores */
    char nonce[64];  /* base64 of the current server nonce */
    unsigned long session;
    long last; /* wall-clock second its last session started, 0: never */
    node_t *nodes;
    int nnodes, capnodes;
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
    d->last = 0;
    d->nodes = NULL;
    d->nnodes = d->capnodes = 0;
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

/* ------------------------------------------------ device certificates */

/* With --client-certs each device shows, in the TLS handshake, the
 * certificate the module's CA would have issued to it at enrollment
 * (src/wm_cert.c wm_cert_issue): subject CN = DeviceID, basicConstraints
 * critical CA:FALSE, keyUsage critical digitalSignature keyEncipherment,
 * extendedKeyUsage clientAuth, subject and authority key identifiers,
 * backdated WM_CERT_BACKDATE_SECONDS (3600 s), valid 365 days (the
 * default WinMDMCertificateValidity), SHA-256, a random-looking positive
 * 127-bit serial. Real check-ins carry no SyncML Cred: the certificate is
 * the device's proof (MS-MDE2 3.3, the captures in t/fixtures/windows10).
 *
 * Keys come from a small pool (--key-pool, RSA-2048): generating 100,000
 * RSA keys would take longer than the run. Only the certificate is per
 * device, and the server looks at nothing else. Certificates are kept DER
 * (about 900 bytes each) and parsed when a connection opens; with
 * --cert-cache they are written to a file once and read back by the next
 * invocation of the same seed, fleet and CA instead of being signed
 * again. */

#define CERT_BACKDATE_SECONDS 3600 /* include/wm_cert.h */
#define CERT_VALIDITY_DAYS 365     /* DEF_CERT_VALIDITY, mod_winmdm_config.c */
#define CACHE_MAGIC "winmdm-loadgen-certs-1"

typedef struct {
    unsigned char *der;
    int len;
    char serial[41]; /* BN_bn2hex: upper-case hex, as the module stores it */
    char sha1[41];   /* upper-case hex SHA-1 of the DER (wm_cert_sha1_hex) */
    long not_after;  /* seconds since 1970 (cert_not_after) */
} devcert_t;

static devcert_t *certs;
static EVP_PKEY **keys;
static int nkeys;
static X509 *ca_x509;
static EVP_PKEY *ca_pkey;
static char ca_sha1[41];
static time_t certs_t0;

/* Each device's last TLS session (i2d_SSL_SESSION), resumed by its next
 * connection as Windows' Schannel does; kept in --state across runs. A
 * device belongs to one thread, so no lock is needed. */
typedef struct {
    unsigned char *der;
    int len;
} tlssess_t;

static tlssess_t *tls_sessions;

static void sha1_hex_upper(X509 *x, char out[41])
{
    static const char digits[] = "0123456789ABCDEF";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;

    if (!X509_digest(x, EVP_sha1(), md, &len) || len != 20) {
        die("SHA-1 of a certificate failed");
    }
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[40] = '\0';
}

static long asn1_epoch(const ASN1_TIME *t)
{
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0;

    if (!epoch || !ASN1_TIME_diff(&days, &secs, epoch, t)) {
        die("bad certificate time");
    }
    ASN1_TIME_free(epoch);
    return (long)days * 86400 + secs;
}

/* The --ca-cert certificate: the issuer of the device certificates this
 * program signs (--client-certs) or checks (--wstep). */
static X509 *ca_cert_read(void)
{
    X509 *x = NULL;
    FILE *f;

    if (!opt.ca_cert) {
        die("--client-certs and --wstep need --ca-cert");
    }
    if (!(f = fopen(opt.ca_cert, "r")) ||
        !(x = PEM_read_X509(f, NULL, NULL, NULL))) {
        die("%s: no PEM certificate", opt.ca_cert);
    }
    fclose(f);
    return x;
}

/* --key-pool RSA-2048 keys: a key takes tens of milliseconds to
 * generate, a signature under a millisecond, so the devices share a few
 * (their certificates or requests stay their own) and the load generator
 * stays cheap next to the server. */
static EVP_PKEY **key_pool_make(void)
{
    EVP_PKEY **k = calloc((size_t)opt.key_pool, sizeof(*k));
    int i;

    if (!k) {
        die("out of memory");
    }
    for (i = 0; i < opt.key_pool; i++) {
        if (!(k[i] = EVP_RSA_gen(2048))) {
            die("RSA key generation failed");
        }
    }
    return k;
}

static void ca_load(void)
{
    FILE *f;

    if (!opt.ca_key) {
        die("--client-certs needs --ca-key");
    }
    ca_x509 = ca_cert_read();
    if (!(f = fopen(opt.ca_key, "r")) ||
        !(ca_pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL))) {
        die("%s: no PEM private key", opt.ca_key);
    }
    fclose(f);
    if (X509_check_private_key(ca_x509, ca_pkey) != 1) {
        die("%s does not match %s", opt.ca_key, opt.ca_cert);
    }
    sha1_hex_upper(ca_x509, ca_sha1);
}

static int add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, ca_x509, cert, NULL, NULL, 0);
    if (!(ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value))) {
        return 0;
    }
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Signs device index i's certificate into certs[i - opt.first]. */
static void cert_make(long i)
{
    devcert_t *dc = &certs[i - opt.first];
    unsigned char serial[16], *der = NULL;
    char id[64], buf[256], *hexs;
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    BIGNUM *bn;
    int n;

    snprintf(id, sizeof(id), "%s%08ld", opt.prefix, i);
    /* The module's serial shape (RAND_bytes, top bit clear, next bit set)
     * from the seed, so a cache of the same seed agrees. */
    n = snprintf(buf, sizeof(buf), "winmdm-bench-serial:%s:%ld", opt.seed, i);
    md5(buf, (size_t)n, serial);
    serial[0] &= 0x7f;
    serial[0] |= 0x01 << 6;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (!x || !name || !bn ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    (const unsigned char *)id, -1, -1, 0) ||
        !X509_set_subject_name(x, name) || !X509_set_version(x, 2) ||
        !X509_set_issuer_name(x, X509_get_subject_name(ca_x509)) ||
        !X509_time_adj_ex(X509_getm_notBefore(x), 0, -CERT_BACKDATE_SECONDS,
                          &certs_t0) ||
        !X509_time_adj_ex(X509_getm_notAfter(x), CERT_VALIDITY_DAYS, 0,
                          &certs_t0) ||
        !X509_set_pubkey(x, keys[(i - opt.first) % nkeys]) ||
        !add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(x, NID_key_usage,
                 "critical,digitalSignature,keyEncipherment") ||
        !add_ext(x, NID_ext_key_usage, "clientAuth") ||
        !add_ext(x, NID_subject_key_identifier, "hash") ||
        !add_ext(x, NID_authority_key_identifier, "keyid:always") ||
        !X509_sign(x, ca_pkey, EVP_sha256()) ||
        (dc->len = i2d_X509(x, &der)) <= 0) {
        die("signing the certificate of %s failed: %s", id,
            ERR_reason_error_string(ERR_get_error()));
    }
    hexs = BN_bn2hex(bn);
    snprintf(dc->serial, sizeof(dc->serial), "%s", hexs);
    OPENSSL_free(hexs);
    BN_free(bn);
    X509_NAME_free(name);
    dc->der = xmalloc((size_t)dc->len);
    memcpy(dc->der, der, (size_t)dc->len);
    OPENSSL_free(der);
    sha1_hex_upper(x, dc->sha1);
    dc->not_after = asn1_epoch(X509_get0_notAfter(x));
    X509_free(x);
}

static void *cert_worker(void *arg)
{
    long k, step = (long)sysconf(_SC_NPROCESSORS_ONLN);

    for (k = (long)(intptr_t)arg; k < opt.count; k += step > 0 ? step : 1) {
        cert_make(opt.first + k);
    }
    return NULL;
}

/* Reads --cert-cache when it was made for this seed, fleet, key pool and
 * CA; 0 when it was used. */
static int cert_cache_load(void)
{
    char *line = NULL, head[512];
    size_t cap = 0;
    ssize_t n;
    long k;
    int i, rc = -1;
    FILE *f;

    if (!opt.cert_cache || !(f = fopen(opt.cert_cache, "r"))) {
        return -1;
    }
    snprintf(head, sizeof(head), "%s %s %s %ld %ld %d %s\n", CACHE_MAGIC,
             opt.seed, opt.prefix, opt.first, opt.count, opt.key_pool, ca_sha1);
    if ((n = getline(&line, &cap, f)) <= 0 || strcmp(line, head)) {
        goto leave;
    }
    for (i = 0; i < nkeys; i++) {
        unsigned char *der;
        const unsigned char *q;
        if ((n = getline(&line, &cap, f)) <= 1) {
            goto leave;
        }
        line[n - 1] = '\0';
        der = xmalloc((size_t)n);
        q = der;
        if ((n = unb64(line, der)) <= 0 ||
            !(keys[i] = d2i_AutoPrivateKey(NULL, &q, n))) {
            free(der);
            goto leave;
        }
        free(der);
    }
    for (k = 0; k < opt.count; k++) {
        devcert_t *dc = &certs[k];
        char b64s[4096];
        if ((n = getline(&line, &cap, f)) <= 1 ||
            sscanf(line, "%40s %40s %ld %4095s", dc->serial, dc->sha1,
                   &dc->not_after, b64s) != 4) {
            goto leave;
        }
        dc->der = xmalloc(strlen(b64s));
        if ((dc->len = unb64(b64s, dc->der)) <= 0) {
            goto leave;
        }
    }
    rc = 0;
leave:
    free(line);
    fclose(f);
    return rc;
}

static void cert_cache_save(void)
{
    char tmp[4096], *b64s = xmalloc(8192);
    long k;
    int i;
    FILE *f;

    if (!opt.cert_cache) {
        free(b64s);
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", opt.cert_cache);
    if (!(f = fopen(tmp, "w"))) {
        die("cannot write %s: %s", tmp, strerror(errno));
    }
    fprintf(f, "%s %s %s %ld %ld %d %s\n", CACHE_MAGIC, opt.seed, opt.prefix,
            opt.first, opt.count, opt.key_pool, ca_sha1);
    for (i = 0; i < nkeys; i++) {
        unsigned char *der = NULL;
        int len = i2d_PrivateKey(keys[i], &der);
        if (len <= 0 || len > 6000) {
            die("cannot encode a key of the pool");
        }
        b64(der, (size_t)len, b64s);
        OPENSSL_free(der);
        fprintf(f, "%s\n", b64s);
    }
    for (k = 0; k < opt.count; k++) {
        if (certs[k].len > 6000) {
            die("certificate too large");
        }
        b64(certs[k].der, (size_t)certs[k].len, b64s);
        fprintf(f, "%s %s %ld %s\n", certs[k].serial, certs[k].sha1,
                certs[k].not_after, b64s);
    }
    free(b64s);
    if (fclose(f) || rename(tmp, opt.cert_cache)) {
        die("cannot write %s: %s", opt.cert_cache, strerror(errno));
    }
}

/* The key pool and every device's certificate: from --cert-cache, or
 * made now (on every CPU) and cached. */
static void certs_init(void)
{
    long nthreads = sysconf(_SC_NPROCESSORS_ONLN), t;
    pthread_t *tids;
    int i;

    ca_load();
    nkeys = opt.key_pool;
    keys = calloc((size_t)nkeys, sizeof(*keys));
    certs = calloc((size_t)opt.count, sizeof(*certs));
    if (!keys || !certs) {
        die("out of memory");
    }
    if (cert_cache_load() == 0) {
        return;
    }
    for (i = 0; i < nkeys; i++) {
        EVP_PKEY_free(keys[i]); /* a cache that did not fit */
    }
    free(keys);
    keys = key_pool_make();
    for (t = 0; t < opt.count; t++) {
        free(certs[t].der);
        certs[t].der = NULL;
    }
    certs_t0 = time(NULL);
    if (nthreads < 1) {
        nthreads = 1;
    }
    tids = xmalloc(sizeof(*tids) * (size_t)nthreads);
    for (t = 0; t < nthreads; t++) {
        if (pthread_create(&tids[t], NULL, cert_worker, (void *)(intptr_t)t)) {
            die("pthread_create failed");
        }
    }
    for (t = 0; t < nthreads; t++) {
        pthread_join(tids[t], NULL);
    }
    free(tids);
    cert_cache_save();
}

static void certs_free(void)
{
    long k;
    int i;

    for (k = 0; certs && k < opt.count; k++) {
        free(certs[k].der);
    }
    for (i = 0; keys && i < nkeys; i++) {
        EVP_PKEY_free(keys[i]);
    }
    free(certs);
    free(keys);
    X509_free(ca_x509);
    EVP_PKEY_free(ca_pkey);
}

/* The state file keeps each device's current nonce, session counter and
 * the time of its last session, so a later run goes on where this one
 * stopped (the seeded nonces are spent after the first session, and a
 * device polls at its own pace across runs), and, over TLS with a
 * connection per session, the device's last TLS session, so that a later
 * run resumes it as a device does after its poll interval. Lines: "index
 * nonce session last [tls]", tls the base64 of i2d_SSL_SESSION. */
static void state_load(void)
{
    char *line = NULL, nonce[128];
    size_t cap = 0;
    long i, last;
    unsigned long s;
    int off;
    FILE *f;

    if (!opt.state_file || !(f = fopen(opt.state_file, "r"))) {
        return;
    }
    while (getline(&line, &cap, f) > 0) {
        if (sscanf(line, "%ld %127s %lu %ld %n", &i, nonce, &s, &last,
                   &off) == 4 &&
            i >= opt.first && i < opt.first + opt.count &&
            strlen(nonce) < sizeof(devices[0].nonce)) {
            char *tls = line + off, *e = tls + strcspn(tls, " \r\n");
            strcpy(devices[i - opt.first].nonce, nonce);
            devices[i - opt.first].session = s;
            devices[i - opt.first].last = last;
            *e = '\0';
            if (tls_sessions && *tls && strcmp(tls, "-")) {
                tlssess_t *ts = &tls_sessions[i - opt.first];
                free(ts->der);
                ts->der = xmalloc(strlen(tls));
                if ((ts->len = unb64(tls, ts->der)) <= 0) {
                    free(ts->der);
                    ts->der = NULL;
                    ts->len = 0;
                }
            }
        }
    }
    free(line);
    fclose(f);
}

static void state_save(void)
{
    char tmp[4096], *b64s = NULL;
    size_t b64cap = 0;
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
        const tlssess_t *ts = tls_sessions ? &tls_sessions[i] : NULL;
        fprintf(f, "%ld %s %lu %ld", opt.first + i, devices[i].nonce,
                devices[i].session, devices[i].last);
        if (ts && ts->der) {
            size_t need = 4 * (((size_t)ts->len + 2) / 3) + 1;
            if (need > b64cap) {
                b64s = xrealloc(b64s, need);
                b64cap = need;
            }
            b64(ts->der, (size_t)ts->len, b64s);
            fprintf(f, " %s", b64s);
        }
        fputc('\n', f);
    }
    free(b64s);
    if (fclose(f) || rename(tmp, opt.state_file)) {
        die("cannot write %s: %s", opt.state_file, strerror(errno));
    }
}

/* What the device answers for nodes nobody wrote: the DevInfo and
 * DevDetail values of the captured Windows 10 21H1 device. */
static const char *const fixed_nodes[][2] = {
    {"./DevInfo/Man", "VMware, Inc."},
    {"./DevInfo/Mod", "VMware7,1"},
    {"./DevInfo/DmV", "1.3"},
    {"./DevInfo/Lang", "en-US"},
    {"./DevDetail/SwV", "10.0.19043.2364"},
    {"./DevDetail/OEM", "VMware, Inc."},
    {"./DevDetail/FwV", "VMW71.00V.16707776.B64.2008070230"},
    {"./DevDetail/HwV", "VMware7,1"},
    {"./DevDetail/Ext/Microsoft/DeviceName", "BENCH-PC"},
    {NULL, NULL}};

/* Rows for the module's devices, nonces and inventory tables (schema
 * version 6), in SQL that both sqlite3 and psql run, in one transaction.
 * The fleet is in steady state, as after months of polling: each device
 * was last seen one poll ago (so its next session writes last_seen), its
 * DevInfo is stored as its package 1 reports it (so a session with
 * nothing new writes no inventory), and its profile generation is
 * planned. */
static void emit_sql(void)
{
    const long chunk = 500;
    long i, j;
    device_t d;
    char sha1[41], serial[41];
    unsigned char md[16];
    long now = (long)time(NULL), not_after;

    printf("BEGIN;\n");
    for (i = 0; i < opt.count; i += chunk) {
        printf("INSERT INTO devices (device_id, hw_dev_id, user_name, "
               "enroll_type, device_type, os_edition, os_version, "
               "device_name, cert_serial, cert_sha1, cert_not_after, "
               "digest_ha1, state, enrolled_at, last_seen, poll_interval, "
               "applied_gen) VALUES\n");
        for (j = i; j < i + chunk && j < opt.count; j++) {
            device_init(&d, opt.first + j);
            if (certs) {
                /* The device's real certificate, as wm_cert_issue stores
                 * it: BN_bn2hex serial, upper-case hex SHA-1 (compared
                 * with the handshake's in src/wm_dm.c), notAfter. */
                snprintf(serial, sizeof(serial), "%s", certs[j].serial);
                snprintf(sha1, sizeof(sha1), "%s", certs[j].sha1);
                not_after = certs[j].not_after;
            }
            else {
                /* A thumbprint-shaped value: digest sessions never look
                 * at it, but it keeps the devices_cert index realistic. */
                md5(d.id, strlen(d.id), md);
                hex(md, 16, sha1);
                memcpy(sha1 + 32, "00000000", 9);
                snprintf(serial, sizeof(serial), "%016lx",
                         (unsigned long)(opt.first + j + 1));
                not_after = now + 365 * 86400L;
            }
            printf("%s('%s','HW%s','bench@example.test','Full',"
                   "'CIMClient_Windows','72','10.0.19043.2364','BENCH-%ld',"
                   "'%s','%s',%ld,'%s','enrolled',%ld,%ld,%d,1)",
                   j == i ? "" : ",\n", d.id, d.id, opt.first + j, serial,
                   sha1, not_after, d.ha1, now - 86400L * 30,
                   now - opt.poll_interval * 60L, opt.poll_interval);
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
        printf("INSERT INTO inventory (device_id, uri, value, updated) "
               "VALUES\n");
        for (j = i; j < i + chunk && j < opt.count; j++) {
            int k;
            device_init(&d, opt.first + j);
            printf("%s('%s','./DevInfo/DevId','%s',%ld)", j == i ? "" : ",\n",
                   d.id, d.id, now - opt.poll_interval * 60L);
            for (k = 0; k < 4; k++) {
                printf(",\n('%s','%s','%s',%ld)", d.id, fixed_nodes[k][0],
                       fixed_nodes[k][1], now - opt.poll_interval * 60L);
            }
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
    long dev;            /* the device this connection is for, -1: none */
    long tls_full;       /* handshakes, full and resumed */
    long tls_resumed;
} conn_t;

/* Keeps the session of a device's connection as the device's own. */
static void device_session_keep(conn_t *c, SSL_SESSION *s)
{
    tlssess_t *ts = &tls_sessions[c->dev];
    unsigned char *der = NULL;
    int len;

    if (!SSL_SESSION_is_resumable(s) || (len = i2d_SSL_SESSION(s, &der)) <= 0) {
        return;
    }
    free(ts->der);
    ts->der = xmalloc((size_t)len);
    memcpy(ts->der, der, (size_t)len);
    ts->len = len;
    OPENSSL_free(der);
}

static void conn_close(conn_t *c)
{
    if (c->ssl) {
        SSL_SESSION *s = SSL_get1_session(c->ssl);
        if (s && c->dev >= 0 && tls_sessions) {
            device_session_keep(c, s);
            SSL_SESSION_free(s);
        }
        else if (s) {
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
        if (c->dev >= 0 && certs) {
            /* The device's own certificate, with its key of the pool. */
            const devcert_t *dc = &certs[c->dev];
            const unsigned char *q = dc->der;
            X509 *x = d2i_X509(NULL, &q, dc->len);
            if (!x || SSL_use_certificate(c->ssl, x) != 1 ||
                SSL_use_PrivateKey(c->ssl, keys[c->dev % nkeys]) != 1) {
                X509_free(x);
                snprintf(err, errlen, "the client certificate of device %ld "
                                      "cannot be used", c->dev);
                ERR_clear_error();
                conn_close(c);
                return -1;
            }
            X509_free(x);
        }
        if (c->dev >= 0 && tls_sessions && tls_sessions[c->dev].der) {
            /* Resumes the device's own last session, not another's. */
            const unsigned char *q = tls_sessions[c->dev].der;
            SSL_SESSION *s =
                d2i_SSL_SESSION(NULL, &q, tls_sessions[c->dev].len);
            if (s) {
                SSL_set_session(c->ssl, s);
                SSL_SESSION_free(s);
            }
            ERR_clear_error();
        }
        else if (c->dev < 0 && c->resume) {
            SSL_set_session(c->ssl, c->resume);
        }
        if (SSL_connect(c->ssl) != 1) {
            snprintf(err, errlen, "TLS handshake failed: %s",
                     ERR_reason_error_string(ERR_get_error()));
            ERR_clear_error();
            conn_close(c);
            return -1;
        }
        if (SSL_session_reused(c->ssl)) {
            c->tls_resumed++;
        }
        else {
            c->tls_full++;
        }
    }
    c->requests = 0;
    return 0;
}

/* With a connection per session (--client-certs, --reconnect), the
 * thread's connection is for one device at a time: a session opens its
 * own connection, keeps it alive across its messages and closes it at
 * its end, as the Windows client does between polls. */
static int per_session_conn(void)
{
    return opt.client_certs || opt.reconnect;
}

static void conn_bind(conn_t *c, long dev)
{
    if (c->dev != dev) {
        conn_close(c);
        c->dev = dev;
    }
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

/* What a device keeps of the server's message: its commands (an Atomic's
 * or Sequence's children with the index of their parent), their items,
 * and the Status elements that speak of the device's own commands. */
typedef struct {
    char uri[256];
    char data[256];
} item_t;

typedef struct {
    char name[16];
    char cmd_id[32];
    int parent; /* index of the enclosing Atomic or Sequence, or -1 */
    int first_item, nitems;
} cmd_t;

typedef struct {
    char cmd[16];
    char cmd_ref[32];
    int msg_ref;
    int code;
} sstatus_t;

typedef struct {
    int hdr_status;      /* the SyncHdr Status's Data, 0 when none */
    char next_nonce[64]; /* "" when the reply names none */
    int ncmds, nitems, nstatus;
    cmd_t cmds[MAX_CMDS];
    item_t items[MAX_ITEMS];
    sstatus_t status[MAX_CMDS];
} reply_t;

static void copy_text(char *dst, size_t size, const char *s, size_t n)
{
    if (n >= size) {
        n = size - 1;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* The name of the element that starts at p ('<'), into name; the end of
 * the start tag in *pq. 0, or -1 for a closing tag or a malformed one. */
static int element_name(const char *p, const char *end, char *name,
                        size_t size, const char **pq)
{
    size_t k = 0;
    const char *q = p + 1;

    if (q >= end || *q == '/') {
        return -1;
    }
    while (q < end && k < size - 1 && *q != '>' && *q != '/' && *q != ' ') {
        name[k++] = *q++;
    }
    name[k] = '\0';
    *pq = q;
    return 0;
}

/* The items of the command in [q, e): Target (or Source) LocURI and Data. */
static int parse_items(const char *q, const char *e, reply_t *rp, cmd_t *c)
{
    const char *it = q, *ie, *t;
    size_t n;

    c->first_item = rp->nitems;
    while ((it = memmem(it, (size_t)(e - it), "<Item>", 6))) {
        item_t *item;
        if (!(ie = memmem(it, (size_t)(e - it), "</Item>", 7))) {
            return -1;
        }
        if (rp->nitems == MAX_ITEMS) {
            return -1;
        }
        item = &rp->items[rp->nitems++];
        item->uri[0] = item->data[0] = '\0';
        if ((t = xml_text(it, ie, "LocURI", &n))) {
            copy_text(item->uri, sizeof(item->uri), t, n);
        }
        if ((t = xml_text(it, ie, "Data", &n))) {
            copy_text(item->data, sizeof(item->data), t, n);
        }
        c->nitems++;
        it = ie + 7;
    }
    return 0;
}

/* The elements of [p, end) at one level of the SyncBody: Status elements
 * are read, commands are recorded (an Atomic's or Sequence's children
 * after it, with its index as their parent), <Final/> is skipped. */
static int parse_level(const char *p, const char *end, reply_t *rp,
                       int parent)
{
    const char *t;
    size_t n;

    while (p < end && (p = memchr(p, '<', (size_t)(end - p)))) {
        char name[32], close[48];
        const char *q, *e;

        if (element_name(p, end, name, sizeof(name), &q)) {
            break; /* the end of the enclosing element */
        }
        if (q < end && *q == '/') {
            p = q; /* <Final/> */
            continue;
        }
        snprintf(close, sizeof(close), "</%s>", name);
        if (!(e = memmem(q, (size_t)(end - q), close, strlen(close)))) {
            return -1;
        }
        if (!strcmp(name, "Status")) {
            sstatus_t *st;
            if (rp->nstatus == MAX_CMDS) {
                return -1;
            }
            st = &rp->status[rp->nstatus++];
            memset(st, 0, sizeof(*st));
            if ((t = xml_text(q, e, "Cmd", &n))) {
                copy_text(st->cmd, sizeof(st->cmd), t, n);
            }
            if ((t = xml_text(q, e, "CmdRef", &n))) {
                copy_text(st->cmd_ref, sizeof(st->cmd_ref), t, n);
            }
            if ((t = xml_text(q, e, "MsgRef", &n))) {
                st->msg_ref = atoi(t);
            }
            if ((t = xml_text(q, e, "Data", &n))) {
                st->code = atoi(t);
            }
            if (!strcmp(st->cmd, "SyncHdr") && !rp->hdr_status) {
                rp->hdr_status = st->code;
                if ((t = xml_text(q, e, "NextNonce", &n))) {
                    copy_text(rp->next_nonce, sizeof(rp->next_nonce), t, n);
                }
                rp->nstatus--; /* kept apart */
            }
        }
        else if (!strcmp(name, "CmdID") || !strcmp(name, "Meta") ||
                 !strcmp(name, "NoResp")) {
            /* an Atomic's or Sequence's own elements */
        }
        else {
            /* Every other element is a command, a server Alert too: each
             * gets a Status. */
            cmd_t *c;
            int self = rp->ncmds;
            if (rp->ncmds == MAX_CMDS) {
                return -1;
            }
            c = &rp->cmds[rp->ncmds++];
            memset(c, 0, sizeof(*c));
            c->parent = parent;
            copy_text(c->name, sizeof(c->name), name, strlen(name));
            if (!strcmp(name, "Atomic") || !strcmp(name, "Sequence")) {
                const char *cid = memmem(q, (size_t)(e - q), "<CmdID>", 7);
                if (cid && (t = xml_text(cid, e, "CmdID", &n))) {
                    copy_text(c->cmd_id, sizeof(c->cmd_id), t, n);
                }
                if (parse_level(q + 1, e, rp, self)) {
                    return -1;
                }
            }
            else {
                if ((t = xml_text(q, e, "CmdID", &n))) {
                    copy_text(c->cmd_id, sizeof(c->cmd_id), t, n);
                }
                if (parse_items(q, e, rp, &rp->cmds[self])) {
                    return -1;
                }
            }
        }
        p = e + strlen(close);
    }
    return 0;
}

/* Minimal reading of a server message (see parse_level). */
static int parse_reply(const buf_t *body, reply_t *rp)
{
    const char *s = body->s, *p, *end;

    rp->hdr_status = 0;
    rp->next_nonce[0] = '\0';
    rp->ncmds = rp->nitems = rp->nstatus = 0;
    if (!s || !(p = memmem(s, body->len, "<SyncBody>", 10)) ||
        !(end = memmem(p, body->len - (size_t)(p - s), "</SyncBody>", 11))) {
        return -1;
    }
    if (parse_level(p + 10, end, rp, -1)) {
        return -1;
    }
    return rp->hdr_status ? 0 : -1;
}

typedef struct {
    conn_t conn;
    buf_t msg, req;
    response_t res;
    reply_t *rp;
    uint32_t *lat_us;
    size_t nlat, caplat;
    long sessions, errors, requests, auth_refused, first, op_sessions,
        commands;
    int exhausted; /* its next device was not due before the run's end */
    double reply_bytes, waited;
    long replies;
    /* The CmdIDs of the commands of the last message sent, each of which
     * must get exactly one Status in the reply. */
    int sent[MAX_CMDS], nsent;
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
               "</LocName></Source>",
               session, msg_id, opt.host, opt.port, d->id, d->id);
    if (!opt.client_certs) {
        buf_printf(m,
                   "<Cred><Meta><Format xmlns=\"syncml:metinf\">b64</Format>"
                   "<Type xmlns=\"syncml:metinf\">syncml:auth-md5</Type>"
                   "</Meta><Data>%s</Data></Cred>",
                   digest);
    }
    /* With a client certificate the header has no Cred: Windows proves
     * itself by the TLS handshake alone (the captured package 1 in
     * t/fixtures/windows10 carries none). */
    buf_add(m, "</SyncHdr><SyncBody>", 20);
}

/* Package 1 of the captured Windows 10 21H1 check-in, for this device. */
static void package1(worker_t *w, const device_t *d, const char *session,
                     const char *digest)
{
    buf_t *m = &w->msg;

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
    w->sent[0] = 2;
    w->sent[1] = 3;
    w->sent[2] = 4;
    w->nsent = 3;
}

/* ------------------------------------------- the device's own nodes */

static node_t *node_find(device_t *d, const char *uri)
{
    int i;
    for (i = 0; i < d->nnodes; i++) {
        if (!strcmp(d->nodes[i].uri, uri)) {
            return &d->nodes[i];
        }
    }
    return NULL;
}

/* The value of a node, or NULL when the device has none. */
static const char *node_get(device_t *d, const char *uri)
{
    node_t *n = node_find(d, uri);
    int i;

    if (n) {
        return n->value;
    }
    if (!strcmp(uri, "./DevInfo/DevId")) {
        return d->id;
    }
    for (i = 0; fixed_nodes[i][0]; i++) {
        if (!strcmp(fixed_nodes[i][0], uri)) {
            return fixed_nodes[i][1];
        }
    }
    return NULL;
}

static void node_set(device_t *d, const char *uri, const char *value)
{
    node_t *n = node_find(d, uri);

    if (!n) {
        if (d->nnodes == d->capnodes) {
            d->capnodes = d->capnodes ? d->capnodes * 2 : 4;
            d->nodes = xrealloc(d->nodes, sizeof(node_t) * (size_t)d->capnodes);
        }
        n = &d->nodes[d->nnodes++];
        n->uri = strdup(uri);
        n->value = NULL;
        if (!n->uri) {
            die("out of memory");
        }
    }
    free(n->value);
    if (!(n->value = strdup(value))) {
        die("out of memory");
    }
}

static int node_delete(device_t *d, const char *uri)
{
    node_t *n = node_find(d, uri);

    if (!n) {
        return 0;
    }
    free(n->uri);
    free(n->value);
    *n = d->nodes[--d->nnodes];
    return 1;
}

/* The code a write command gets, without doing it (Policy CSP semantics
 * as far as the benchmark needs them: a Delete of a node the device does
 * not hold is 404). */
static int cmd_check(device_t *d, const reply_t *rp, const cmd_t *c)
{
    int i;
    if (!strcmp(c->name, "Delete")) {
        for (i = 0; i < c->nitems; i++) {
            if (!node_find(d, rp->items[c->first_item + i].uri)) {
                return 404;
            }
        }
    }
    return 200;
}

static void cmd_apply(device_t *d, const reply_t *rp, const cmd_t *c)
{
    int i;
    for (i = 0; i < c->nitems; i++) {
        const item_t *it = &rp->items[c->first_item + i];
        if (!strcmp(c->name, "Delete")) {
            node_delete(d, it->uri);
        }
        else if (!strcmp(c->name, "Add") || !strcmp(c->name, "Replace")) {
            node_set(d, it->uri, it->data);
        }
    }
}

/* Package 3: the device's answer to a server message, as Windows gives
 * it: a Status for the SyncHdr and for each command (an Atomic is all or
 * nothing: 507, its children 216 or their own failure), a Get answered
 * from the device's nodes (404 when it has none of them) with Results. */
static void package3(worker_t *w, device_t *d, const char *session,
                     int msg_id, const char *digest)
{
    const reply_t *rp = w->rp;
    buf_t *m = &w->msg;
    int i, j, id = 1, codes[MAX_CMDS];

    m->len = 0;
    w->nsent = 0;
    syncml_hdr(m, d, session, msg_id, digest);
    buf_printf(m,
               "<Status><CmdID>%d</CmdID><MsgRef>%d</MsgRef><CmdRef>0</CmdRef>"
               "<Cmd>SyncHdr</Cmd><Data>200</Data></Status>",
               id++, msg_id - 1);
    for (i = 0; i < rp->ncmds; i++) {
        const cmd_t *c = &rp->cmds[i];
        if (c->parent >= 0) {
            continue; /* answered with its Atomic */
        }
        if (!strcmp(c->name, "Atomic")) {
            int failed = 0;
            for (j = i + 1; j < rp->ncmds && rp->cmds[j].parent == i; j++) {
                codes[j] = cmd_check(d, rp, &rp->cmds[j]);
                failed |= codes[j] >= 300;
            }
            codes[i] = failed ? 507 : 200;
            for (j = i + 1; j < rp->ncmds && rp->cmds[j].parent == i; j++) {
                if (failed) {
                    codes[j] = codes[j] >= 300 ? codes[j] : 216;
                }
                else {
                    cmd_apply(d, rp, &rp->cmds[j]);
                }
            }
        }
        else if (!strcmp(c->name, "Sequence")) {
            codes[i] = 200;
            for (j = i + 1; j < rp->ncmds && rp->cmds[j].parent == i; j++) {
                if ((codes[j] = cmd_check(d, rp, &rp->cmds[j])) < 300) {
                    cmd_apply(d, rp, &rp->cmds[j]);
                }
            }
        }
        else if (!strcmp(c->name, "Get")) {
            codes[i] = 404;
            for (j = 0; j < c->nitems; j++) {
                if (node_get(d, rp->items[c->first_item + j].uri)) {
                    codes[i] = 200;
                }
            }
        }
        else if (!strcmp(c->name, "Add") || !strcmp(c->name, "Replace") ||
                 !strcmp(c->name, "Delete")) {
            if ((codes[i] = cmd_check(d, rp, c)) < 300) {
                cmd_apply(d, rp, c);
            }
        }
        else {
            codes[i] = 200; /* Exec, Alert */
        }
    }
    for (i = 0; i < rp->ncmds; i++) {
        buf_printf(m,
                   "<Status><CmdID>%d</CmdID><MsgRef>%d</MsgRef><CmdRef>%s"
                   "</CmdRef><Cmd>%s</Cmd><Data>%d</Data></Status>",
                   id++, msg_id - 1, rp->cmds[i].cmd_id, rp->cmds[i].name,
                   codes[i]);
    }
    for (i = 0; i < rp->ncmds; i++) {
        const cmd_t *c = &rp->cmds[i];
        if (strcmp(c->name, "Get") || codes[i] >= 300) {
            continue;
        }
        w->sent[w->nsent++] = id;
        buf_printf(m,
                   "<Results><CmdID>%d</CmdID><MsgRef>%d</MsgRef><CmdRef>%s"
                   "</CmdRef>",
                   id++, msg_id - 1, c->cmd_id);
        for (j = 0; j < c->nitems; j++) {
            const char *uri = rp->items[c->first_item + j].uri;
            const char *v = node_get(d, uri);
            if (v) {
                buf_printf(m,
                           "<Item><Source><LocURI>%s</LocURI></Source><Meta>"
                           "<Format xmlns=\"syncml:metinf\">chr</Format>"
                           "</Meta><Data>%s</Data></Item>",
                           uri, v);
            }
        }
        buf_add(m, "</Results>", 10);
    }
    buf_add(m, "<Final/></SyncBody></SyncML>", 28);
}

/* A server message must speak of the message it answers: one Status with
 * a 2xx code for each command the device sent (OMA-DM 1.2 Protocol,
 * section 8.3: every command but Status gets one), MsgRef naming that
 * message; and its own commands must have distinct, non-empty CmdIDs. */
static int check_reply(worker_t *w, int msg_id)
{
    const reply_t *rp = w->rp;
    int i, j, seen[MAX_CMDS] = {0};

    for (i = 0; i < rp->nstatus; i++) {
        const sstatus_t *st = &rp->status[i];
        int ref = atoi(st->cmd_ref);
        if (st->msg_ref != msg_id) {
            snprintf(w->last_err, sizeof(w->last_err),
                     "Status for %s %s has MsgRef %d, not %d", st->cmd,
                     st->cmd_ref, st->msg_ref, msg_id);
            return -1;
        }
        for (j = 0; j < w->nsent && w->sent[j] != ref; j++) {
        }
        if (j == w->nsent || seen[j]++) {
            snprintf(w->last_err, sizeof(w->last_err),
                     "Status for CmdRef %s (%s) names no command of message "
                     "%d, or names it twice",
                     st->cmd_ref, st->cmd, msg_id);
            return -1;
        }
        if (st->code < 200 || st->code > 299) {
            snprintf(w->last_err, sizeof(w->last_err),
                     "Status %d for the device's %s", st->code, st->cmd);
            return -1;
        }
    }
    for (j = 0; j < w->nsent; j++) {
        if (!seen[j]) {
            snprintf(w->last_err, sizeof(w->last_err),
                     "no Status for the device's command %d of message %d",
                     w->sent[j], msg_id);
            return -1;
        }
    }
    for (i = 0; i < rp->ncmds; i++) {
        if (!rp->cmds[i].cmd_id[0]) {
            snprintf(w->last_err, sizeof(w->last_err), "%s without CmdID",
                     rp->cmds[i].name);
            return -1;
        }
        for (j = 0; j < i; j++) {
            if (!strcmp(rp->cmds[i].cmd_id, rp->cmds[j].cmd_id)) {
                snprintf(w->last_err, sizeof(w->last_err),
                         "CmdID %s used twice in one message",
                         rp->cmds[i].cmd_id);
                return -1;
            }
        }
    }
    return 0;
}

static int post_syncml(worker_t *w)
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
    if (parse_reply(&w->res.body, w->rp)) {
        snprintf(w->last_err, sizeof(w->last_err),
                 "reply without a SyncHdr Status, or not readable");
        return -1;
    }
    return 0;
}

/* One check-in session of device d; 0 when every reply said 200 and the
 * session closed with a NextNonce. */
static int checkin(worker_t *w, device_t *d)
{
    char session[32], digest[32];
    reply_t *rp = w->rp;
    int msg_id = 1, had_cmds = 0;

    d->session++;
    snprintf(session, sizeof(session), "%lX", d->session);
    if (device_digest(d, digest)) {
        snprintf(w->last_err, sizeof(w->last_err), "bad nonce %s", d->nonce);
        return -1;
    }
    package1(w, d, session, digest);
    for (;;) {
        if (post_syncml(w)) {
            return -1;
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
            return -1;
        }
        if (check_reply(w, msg_id)) {
            return -1;
        }
        if (rp->ncmds == 0) {
            /* Only a digest session is told its next nonce. */
            if (!rp->next_nonce[0] && !opt.client_certs) {
                snprintf(w->last_err, sizeof(w->last_err),
                         "the closing reply carries no NextNonce");
                return -1;
            }
            w->op_sessions += had_cmds;
            return 0;
        }
        if (!opt.answer) {
            /* The session is left open (the device does not answer); its
             * nonce stays good for that session only, so the next one
             * would be refused: count it. */
            snprintf(w->last_err, sizeof(w->last_err),
                     "the server sent %d commands (use --answer)", rp->ncmds);
            return -1;
        }
        if (++msg_id > MAX_MESSAGES) {
            snprintf(w->last_err, sizeof(w->last_err),
                     "session longer than %d messages", MAX_MESSAGES);
            return -1;
        }
        had_cmds = 1;
        w->commands += rp->ncmds;
        package3(w, d, session, msg_id, digest);
    }
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

/* The key pool the requests are signed with (key_pool_make): read-only
 * once made; OpenSSL 3 lets threads sign with one EVP_PKEY at once. */
static EVP_PKEY **csr_keys;
static int csr_nkeys;
static unsigned long csr_next; /* round robin over csr_keys, atomic */
static EVP_PKEY *ca_key;       /* public key of the --ca-cert certificate */

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
    X509 *ca = ca_cert_read();

    if (!(ca_key = X509_get_pubkey(ca))) {
        die("%s: no public key", opt.ca_cert);
    }
    X509_free(ca);
    csr_keys = key_pool_make();
    csr_nkeys = opt.key_pool;
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
/* SIGTERM or SIGINT: each thread ends after its current session, and the
 * run is reported and its state saved as at its planned end. */
static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}
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

/* Waits until device d may start a session: at most one per --min-gap
 * seconds, as a device polling at its own interval. 0, or -1 when it is
 * not due before the run ends (this thread's share of the fleet is spent
 * for this run). */
static int wait_due(worker_t *w, const device_t *d)
{
    long wait;

    if (opt.mode != MODE_CHECKIN || opt.min_gap <= 0 || !d->last ||
        (wait = d->last + opt.min_gap - (long)time(NULL)) <= 0) {
        return 0;
    }
    if (opt.duration > 0 && now_sec() + (double)wait >= t_end) {
        /* The fleet is spent for this run: it ends for every thread, so
         * that the rate is over a time when every connection was busy. */
        w->exhausted = 1;
        stopping = 1;
        return -1;
    }
    if (now_sec() >= t_measure) {
        w->waited += (double)wait;
    }
    while (wait-- > 0 && !stopping) {
        sleep(1);
    }
    return stopping ? -1 : 0;
}

/* Where a thread starts in its share (index, index + conns, ...): at the
 * device whose last session is the oldest, so that runs one after the
 * other go round the fleet as one long run would. */
static long share_start(int index)
{
    long i, best = index;

    for (i = index; i < opt.count; i += opt.conns) {
        if (devices[i].last < devices[best].last) {
            best = i;
        }
    }
    return best;
}

static void *run(void *arg)
{
    thread_t *t = arg;
    worker_t *w = &t->w;
    /* this thread's devices: index, index + conns... */
    long next = opt.mode == MODE_CHECKIN ? share_start(t->index) : t->index;
    long visited = 0, share = (opt.count - t->index + opt.conns - 1) / opt.conns;

    w->conn.fd = -1;
    w->conn.dev = -1;
    w->rp = xmalloc(sizeof(reply_t));
    while (!stopping && !(opt.once && visited++ == share) && take_session()) {
        double t0, t1;
        device_t *d = &devices[next];
        int rc, first = 0;

        if (wait_due(w, d)) {
            break;
        }
        t0 = now_sec();
        if (opt.duration > 0 && t0 >= t_end) {
            break;
        }
        if (per_session_conn()) {
            conn_bind(&w->conn, next);
        }
        switch (opt.mode) {
        case MODE_CHECKIN: {
            long wall = (long)time(NULL);
            first = !d->last || wall - d->last >= SEEN_EVERY;
            d->last = wall;
            rc = checkin(w, d);
            break;
        }
        case MODE_WSTEP:
            rc = enroll(w, d);
            break;
        default:
            rc = fetch_static(w);
            break;
        }
        if (per_session_conn()) {
            conn_close(&w->conn);
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
        w->first += first;
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
    free(w->rp);
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
        "  --tls13            allow TLS 1.3 (the maximum is TLS 1.2,\n"
        "                     Windows 10's default for its MDM client)\n"
        "  --client-certs     each device shows its own client certificate\n"
        "                     (CN = DeviceID, signed by --ca-key) and sends\n"
        "                     no Cred; implies --tls and --reconnect\n"
        "  --ca-cert FILE --ca-key FILE  the module's CA (PEM)\n"
        "  --key-pool N       RSA-2048 keys shared by the devices [16]\n"
        "  --cert-cache FILE  keep the keys and certificates made here for\n"
        "                     the next run of the same seed and fleet\n"
        "  --reconnect        a connection of its own per session (per\n"
        "                     request with --static), resuming the\n"
        "                     device's own TLS session\n"
        "  --no-keepalive     one connection per request\n"
        "  -c N               concurrent connections [16]\n"
        "  -d SECONDS         measure for this long [10]\n"
        "  -n SESSIONS        or stop after this many sessions\n"
        "  -w SECONDS         warm-up before measuring [0]\n"
        "  --first I          first device index [0]\n"
        "  --devices N        number of devices [1000]\n"
        "  --prefix P         DeviceID prefix [BENCH]\n"
        "  --seed S           seed of the secrets and first nonces [1]\n"
        "  --state FILE       load and save each device's nonce, last\n"
        "                     session time (and TLS session with\n"
        "                     --reconnect)\n"
        "  --answer           answer queued commands (MsgID 2...) as a\n"
        "                     device keeping the nodes written to it\n"
        "  --min-gap S        a device starts at most one session per S\n"
        "                     seconds (kept across runs in --state) [0]\n"
        "  --once             each device once, then stop (with\n"
        "                     --client-certs --static: give every device\n"
        "                     a TLS session to resume)\n"
        "  --path PATH        [" DEFAULT_PATH "]\n"
        "  --label L          label of the result line\n"
        "  --emit-sql         print the seeding SQL and exit (with\n"
        "                     --client-certs: the certificates' serial,\n"
        "                     thumbprint and notAfter)\n"
        "  --poll-interval M  poll_interval of the seeded rows [15]\n"
        "  --static PATH      GET PATH instead of check-ins\n"
        "  --wstep FILE       MS-WSTEP enrollments of FILE, its DeviceID\n"
        "                     replaced by each device's\n"
        "                     and a fresh PKCS#10 of its own\n"
        "  --user U --password P  UsernameToken of --wstep; a %d in U\n"
        "                     is the connection's number (0, 1...), so\n"
        "                     that each connection enrolls as a user of\n"
        "                     its own\n"
        "                     (--ca-cert: the CA the issued client\n"
        "                     certificates must verify against;\n"
        "                     --key-pool: the keys of the requests)\n"
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
        O_PASSWORD, O_MINGAP, O_ONCE, O_TLS13, O_CCERTS, O_CACERT, O_CAKEY,
        O_KEYPOOL, O_CERTCACHE, O_RECONNECT
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
        {"min-gap", required_argument, NULL, O_MINGAP},
        {"once", no_argument, NULL, O_ONCE},
        {"tls13", no_argument, NULL, O_TLS13},
        {"client-certs", no_argument, NULL, O_CCERTS},
        {"ca-cert", required_argument, NULL, O_CACERT},
        {"ca-key", required_argument, NULL, O_CAKEY},
        {"key-pool", required_argument, NULL, O_KEYPOOL},
        {"cert-cache", required_argument, NULL, O_CERTCACHE},
        {"reconnect", no_argument, NULL, O_RECONNECT},
        {NULL, 0, NULL, 0}};
    struct addrinfo hints;
    thread_t *threads;
    uint32_t *all;
    size_t nall = 0, k;
    long sessions = 0, errors = 0, requests = 0, refused = 0, replies = 0;
    long first = 0, op_sessions = 0, commands = 0;
    int exhausted = 0;
    double waited = 0;
    long tls_full = 0, tls_resumed = 0;
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
    opt.duration = 10;
    opt.count = 1000;
    opt.poll_interval = 15;
    opt.key_pool = 16;

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
        case O_MINGAP: opt.min_gap = atoi(optarg); break;
        case O_ONCE: opt.once = 1; break;
        case O_TLS13: opt.tls13 = 1; break;
        case O_CCERTS: opt.client_certs = 1; opt.tls = 1; break;
        case O_CACERT: opt.ca_cert = optarg; break;
        case O_CAKEY: opt.ca_key = optarg; break;
        case O_KEYPOOL: opt.key_pool = atoi(optarg); break;
        case O_CERTCACHE: opt.cert_cache = optarg; break;
        case O_RECONNECT: opt.reconnect = 1; break;
        default: usage();
        }
    }
    if (optind != argc || opt.conns < 1 || opt.count < 1 || opt.first < 0 ||
        (opt.duration <= 0 && opt.sessions <= 0) || strlen(opt.prefix) > 40 ||
        strlen(opt.seed) > 100 || opt.key_pool < 1 || opt.key_pool > 4096 ||
        (opt.mode == MODE_WSTEP && !opt.ca_cert)) {
        usage();
    }
    if (opt.client_certs) {
        certs_init();
    }
    if (opt.emit_sql) {
        if (strchr(opt.prefix, '\'')) {
            die("the prefix may not hold a quote");
        }
        emit_sql();
        return 0;
    }
    if (opt.conns > opt.count &&
        (opt.mode != MODE_STATIC || per_session_conn())) {
        /* Each connection needs devices of its own. */
        opt.conns = (int)opt.count;
    }
    signal(SIGPIPE, SIG_IGN);
    /* A connection per session allocates and frees OpenSSL's buffers
     * each time; glibc's default trim threshold would hand the arena's
     * top back to the kernel and fault it in again every time, CPU the
     * load generator would take from the server it shares the machine
     * with (the server side is set the same way by bench.sh). */
    mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop;
        sa.sa_flags = SA_RESTART; /* a session under way goes on */
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
    }

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
        /* Sessions are kept by hand (per thread, or per device), never in
         * OpenSSL's own client cache, which would grow with the fleet. */
        SSL_CTX_set_session_cache_mode(ssl_ctx,
                                       SSL_SESS_CACHE_CLIENT |
                                           SSL_SESS_CACHE_NO_INTERNAL_STORE);
        /* Windows 10's MDM client negotiates TLS 1.2 at most by default. */
        if (!SSL_CTX_set_max_proto_version(
                ssl_ctx, opt.tls13 ? TLS1_3_VERSION : TLS1_2_VERSION)) {
            die("cannot set the TLS version");
        }
        if (per_session_conn()) {
            tls_sessions = calloc((size_t)opt.count, sizeof(*tls_sessions));
            if (!tls_sessions) {
                die("out of memory");
            }
        }
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
        first += w->first;
        op_sessions += w->op_sessions;
        commands += w->commands;
        waited += w->waited;
        exhausted += w->exhausted;
        tls_full += w->conn.tls_full;
        tls_resumed += w->conn.tls_resumed;
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
           "reply_bytes=%.0f first=%ld op_sessions=%ld commands=%ld "
           "waited_s=%.0f exhausted=%d client_certs=%d reconnect=%d "
           "tls_full=%ld tls_resumed=%ld\n",
           opt.label, mode_name, opt.count, opt.conns, opt.tls, opt.keepalive,
           elapsed, sessions, rate, percentile(all, nall, 0.50),
           percentile(all, nall, 0.99), nall ? all[nall - 1] / 1000.0 : 0.0,
           errors, refused, requests,
           replies ? reply_bytes / (double)replies : 0.0, first, op_sessions,
           commands, waited, exhausted, opt.client_certs, per_session_conn(),
           tls_full, tls_resumed);
    printf("%s: %ld %s sessions in %.1f s = %.1f/s, latency p50 %.2f ms, "
           "p99 %.2f ms, max %.2f ms, %ld first of their device, %ld with "
           "commands, %ld errors%s%s%s\n",
           opt.label, sessions, mode_name, elapsed, rate,
           percentile(all, nall, 0.50), percentile(all, nall, 0.99),
           nall ? all[nall - 1] / 1000.0 : 0.0, first, op_sessions, errors,
           errors ? " (last: " : "", errors ? last_err : "",
           errors ? ")" : "");
    if (opt.tls) {
        printf("%s: TLS handshakes: %ld full, %ld resumed\n", opt.label,
               tls_full, tls_resumed);
    }
    fflush(stdout);

    if (opt.mode == MODE_CHECKIN || tls_sessions) {
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
    for (k = 0; k < (size_t)opt.count; k++) {
        int j;
        for (j = 0; j < devices[k].nnodes; j++) {
            free(devices[k].nodes[j].uri);
            free(devices[k].nodes[j].value);
        }
        free(devices[k].nodes);
    }
    free(devices);
    wstep_free();
    freeaddrinfo(server_addr);
    for (k = 0; tls_sessions && k < (size_t)opt.count; k++) {
        free(tls_sessions[k].der);
    }
    free(tls_sessions);
    certs_free();
    if (ssl_ctx) {
        SSL_CTX_free(ssl_ctx);
    }
    /* A run with errors is no measurement ("met" needs zero errors):
     * bench.sh stops on it. */
    return errors ? 1 : 0;
}
