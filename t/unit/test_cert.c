/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Device certificates (wm_cert.h): the base64 codec, the certificate
 * requests a device sends (the real Windows 10 request from the fixtures,
 * and requests, keys and PKCS#7 wrappers made here with OpenSSL's C API),
 * issuing from a CA written to PEM files and loaded with wm_ca_load, and
 * checking the client certificates the device later presents. */

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "wm_ca.h"
#include "wm_cert.h"
#include "wm_soap.h"
#include "wm_wstep.h"
#include "unit.h"

#define DEVICE_ID "B5B954E81FBCB94EB79BD08BE625F4EE"

/* ---------------------------------------------------------- helpers */

/* Decodes b64 and checks it gives exactly want[0..wlen). */
static void decodes_to(const char *b64, const char *want, apr_size_t wlen)
{
    unsigned char *out = NULL;
    apr_size_t len = 12345;

    ck_assert_msg(wm_b64_decode(b64, &out, &len, wm_test_pool) == APR_SUCCESS,
                  "refused \"%s\"", b64);
    ck_assert_uint_eq(len, wlen);
    ck_assert(memcmp(out, want, wlen) == 0);
}

static void refused_b64(const char *b64)
{
    unsigned char *out;
    apr_size_t len;

    ck_assert_msg(wm_b64_decode(b64, &out, &len, wm_test_pool) == APR_EINVAL,
                  "accepted \"%s\"", b64);
}

static EVP_PKEY *new_rsa(unsigned int bits)
{
    EVP_PKEY *k = EVP_RSA_gen(bits);
    ck_assert_ptr_nonnull(k);
    return k;
}

static const char *der_b64(const unsigned char *der, int len)
{
    ck_assert_int_gt(len, 0);
    return wm_b64_encode(der, (apr_size_t)len, wm_test_pool);
}

/* A PKCS#10 request for key, signed with it; DER into *pder (pool). */
static int make_req_der(EVP_PKEY *key, unsigned char **pder)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char *der = NULL;
    int len;

    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"unit-device", -1, -1, 0);
    X509_REQ_set_subject_name(req, name);
    X509_NAME_free(name);
    X509_REQ_set_version(req, 0);
    ck_assert_int_eq(X509_REQ_set_pubkey(req, key), 1);
    ck_assert_int_gt(X509_REQ_sign(req, key, EVP_sha256()), 0);
    len = i2d_X509_REQ(req, &der);
    ck_assert_int_gt(len, 0);
    *pder = apr_pmemdup(wm_test_pool, der, (apr_size_t)len);
    OPENSSL_free(der);
    X509_REQ_free(req);
    return len;
}

static const char *make_req_b64(EVP_PKEY *key)
{
    unsigned char *der;
    int len = make_req_der(key, &der);
    return der_b64(der, len);
}

/* A certificate for key named cn, signed by issuer_key under issuer's
 * subject (itself when issuer is NULL), valid from from_secs to to_secs
 * around now. A CA gets basicConstraints CA:TRUE, keyCertSign and a
 * subject key identifier, as RFC 5280 4.2.1.2 asks of every CA. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
                       EVP_PKEY *issuer_key, int is_ca, long from_secs,
                       long to_secs)
{
    X509 *x = X509_new();
    X509_NAME *name;
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    static long serial = 1;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), from_secs);
    X509_gmtime_adj(X509_getm_notAfter(x), to_secs);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                              is_ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    if (is_ca) {
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
                                  "critical,keyCertSign,cRLSign");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        ext =
            X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
        ck_assert_ptr_nonnull(ext);
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    ck_assert_int_gt(X509_sign(x, issuer_key, EVP_sha256()), 0);
    return x;
}

/* Writes cert and key to PEM files and loads them as the device CA. */
static wm_ca_t *load_ca(X509 *cert, EVP_PKEY *key)
{
    char cpath[] = "/tmp/wm-cert-crt-XXXXXX",
         kpath[] = "/tmp/wm-cert-key-XXXXXX";
    const char *err = NULL;
    wm_ca_t *ca = NULL;
    apr_status_t rv;
    FILE *f;

    f = fdopen(mkstemp(cpath), "w");
    ck_assert_ptr_nonnull(f);
    PEM_write_X509(f, cert);
    fclose(f);
    f = fdopen(mkstemp(kpath), "w");
    ck_assert_ptr_nonnull(f);
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    rv = wm_ca_load(&ca, cpath, kpath, &err, wm_test_pool);
    unlink(cpath);
    unlink(kpath);
    ck_assert_msg(rv == APR_SUCCESS, "wm_ca_load: %s", err ? err : "?");
    return ca;
}

/* A root CA "Unit CA" with a fresh key, loaded; the key through pkey. */
static wm_ca_t *new_ca(EVP_PKEY **pkey)
{
    EVP_PKEY *key = new_rsa(2048);
    X509 *cert = make_cert(key, "Unit CA", NULL, key, 1, -86400, 86400 * 30);
    wm_ca_t *ca = load_ca(cert, key);

    X509_free(cert);
    *pkey = key;
    return ca;
}

static wm_csr_t *parse_ok(const char *b64)
{
    wm_csr_t *csr = NULL;
    const char *err = NULL;

    ck_assert_msg(wm_csr_parse(&csr, b64, &err, wm_test_pool) == APR_SUCCESS,
                  "wm_csr_parse: %s", err ? err : "?");
    ck_assert_ptr_nonnull(csr);
    ck_assert_ptr_nonnull(csr->req);
    return csr;
}

/* Refused; the reason through the return value. */
static const char *parse_refused(const char *b64)
{
    wm_csr_t *csr = (wm_csr_t *)1;
    const char *err = NULL;

    ck_assert_int_eq(wm_csr_parse(&csr, b64, &err, wm_test_pool), APR_EINVAL);
    ck_assert_ptr_null(csr);
    ck_assert_ptr_nonnull(err);
    return err;
}

/* The certificate request of the real Windows 10 21H1 RST capture,
 * extracted with the core's own parsers. */
static const char *real_csr_b64(void)
{
    wm_soap_env_t *env;
    wm_rst_t *rst;
    const char *err = NULL, *buf;
    apr_size_t len;

    buf = wm_test_fixture(
        "windows10/wstep_rst_request_win10_19043_usernametoken.xml", &len);
    ck_assert_int_eq(wm_soap_parse(&env, buf, len, 65536, &err, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(wm_wstep_parse(env, &rst, &err, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(rst->csr_b64);
    return rst->csr_b64;
}

/* Seconds from now to t (negative: in the past). */
static long secs_from_now(const ASN1_TIME *t)
{
    int days = 0, secs = 0;
    ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, NULL, t), 1);
    return (long)days * 86400 + secs;
}

static const char *pem_of(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long n;
    const char *pem;

    ck_assert_int_eq(PEM_write_bio_X509(b, x), 1);
    n = BIO_get_mem_data(b, &data);
    pem = apr_pstrmemdup(wm_test_pool, data, (apr_size_t)n);
    BIO_free(b);
    return pem;
}

/* ----------------------------------------------------------- base64 */

START_TEST(b64_encodes_rfc4648_vectors)
{
    const unsigned char bin[] = {0x00, 0xff, 0xfe, 0x3e, 0x3f};

    ck_assert_str_eq(wm_b64_encode((const unsigned char *)"", 0, wm_test_pool),
                     "");
    ck_assert_str_eq(wm_b64_encode((const unsigned char *)"f", 1, wm_test_pool),
                     "Zg==");
    ck_assert_str_eq(
        wm_b64_encode((const unsigned char *)"fo", 2, wm_test_pool), "Zm8=");
    ck_assert_str_eq(
        wm_b64_encode((const unsigned char *)"foo", 3, wm_test_pool), "Zm9v");
    ck_assert_str_eq(
        wm_b64_encode((const unsigned char *)"foobar", 6, wm_test_pool),
        "Zm9vYmFy");
    ck_assert_str_eq(wm_b64_encode(bin, sizeof(bin), wm_test_pool), "AP/+Pj8=");
}
END_TEST

START_TEST(b64_decodes_and_ignores_white_space)
{
    decodes_to("", "", 0);
    decodes_to("Zg==", "f", 1);
    decodes_to("Zm8=", "fo", 2);
    decodes_to("Zm9v", "foo", 3);
    decodes_to("Zm9vYmFy", "foobar", 6);
    decodes_to("AP/+Pj8=", "\x00\xff\xfe\x3e\x3f", 5);
    /* line breaks as PEM and Windows write them, tabs, spaces, padding
     * split from its data */
    decodes_to(" Zm9v\r\nYmFy\t", "foobar", 6);
    decodes_to("Z m 9 v Y g\n=\n=\n", "foob", 4);
    decodes_to(" \r\n\t ", "", 0);
}
END_TEST

START_TEST(b64_enforces_padding_rules)
{
    refused_b64("Zg=");      /* one pad where two are needed */
    refused_b64("Zg===");    /* three pads */
    refused_b64("Zm9v=");    /* a pad after a whole quantum */
    refused_b64("Zm9v===="); /* a whole quantum of padding */
    refused_b64("====");
    refused_b64("=");
    refused_b64("Zh=="); /* non-zero bits left over (RFC 4648 3.5) */
    refused_b64("Zm9="); /* likewise, with one pad */
}
END_TEST

START_TEST(b64_refuses_invalid_characters)
{
    refused_b64("Zm9v!mFy");
    refused_b64("Zm9-YmFy"); /* base64url is not standard base64 */
    refused_b64("Zm9_YmFy");
    refused_b64("Zm9v.mFy");
    refused_b64("Zm9vYmF\x80");
    refused_b64("Zm9v\"mFy");
}
END_TEST

START_TEST(b64_refuses_data_after_padding)
{
    refused_b64("Zg==Zm9v");
    refused_b64("Zg=a");
    refused_b64("Zm8=Zg==");
    refused_b64("Zg== \n Z");
    /* the same characters without the padding would decode */
    refused_b64("Zg==QUJA");
    refused_b64("Zm8=AAA=");
}
END_TEST

START_TEST(b64_refuses_a_lone_trailing_character)
{
    refused_b64("Z");
    /* 'A' leaves no bits set: only the count of characters refuses these */
    refused_b64("A");
    refused_b64("Zm9vA");
    refused_b64("Zm9vYmFyA");
    refused_b64("Zm9vY");
    refused_b64("Zm9vYmFyZ");
    refused_b64("Zm9v\nY\n");
}
END_TEST

/* --------------------------------------------------------- requests */

START_TEST(csr_accepts_real_sha1_device_request)
{
    wm_csr_t *csr = parse_ok(real_csr_b64());

    /* the capture is signed sha1WithRSA under the OIW OID 1.3.14.3.2.29 */
    ck_assert_int_eq(X509_REQ_get_signature_nid(csr->req), NID_sha1WithRSA);
    ck_assert_int_eq(csr->key_bits, 2048);
    ck_assert_ptr_null(csr->signer_sha1);
    ck_assert_ptr_null(csr->signer);
}
END_TEST

START_TEST(csr_accepts_fresh_rsa2048_request)
{
    EVP_PKEY *key = new_rsa(2048);
    wm_csr_t *csr = parse_ok(make_req_b64(key));

    ck_assert_int_eq(csr->key_bits, 2048);
    ck_assert_ptr_null(csr->signer_sha1);
    ck_assert_int_eq(EVP_PKEY_eq(X509_REQ_get0_pubkey(csr->req), key), 1);
    EVP_PKEY_free(key);
}
END_TEST

START_TEST(csr_refuses_a_flipped_signature)
{
    EVP_PKEY *key = new_rsa(2048);
    unsigned char *der;
    int len = make_req_der(key, &der);
    const char *err;

    /* the signature BIT STRING ends the DER encoding */
    der[len - 1] ^= 0x01;
    err = parse_refused(der_b64(der, len));
    ck_assert_msg(strstr(err, "signature") != NULL, "reason: %s", err);
    EVP_PKEY_free(key);
}
END_TEST

START_TEST(csr_refuses_a_1024_bit_key)
{
    EVP_PKEY *key = new_rsa(1024);
    const char *err = parse_refused(make_req_b64(key));

    ck_assert_msg(strstr(err, "bits") != NULL, "reason: %s", err);
    ck_assert_msg(strstr(err, "1024") != NULL, "reason: %s", err);
    EVP_PKEY_free(key);
}
END_TEST

START_TEST(csr_refuses_garbage)
{
    wm_csr_t *csr;
    const char *err = NULL;

    parse_refused("this is not base64!");
    parse_refused("");
    parse_refused("MIIB"); /* a DER header and nothing after it */
    /* base64 of bytes that are neither PKCS#10 nor PKCS#7 */
    parse_refused(
        wm_b64_encode((const unsigned char *)"hello, world", 12, wm_test_pool));
    ck_assert_int_eq(wm_csr_parse(&csr, NULL, &err, wm_test_pool), APR_EINVAL);
}
END_TEST

START_TEST(csr_refuses_an_ec_key)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    const char *err;

    ck_assert_ptr_nonnull(key);
    err = parse_refused(make_req_b64(key));
    ck_assert_msg(strstr(err, "not RSA") != NULL, "reason: %s", err);
    EVP_PKEY_free(key);
}
END_TEST

/* A signed PKCS#7 (not detached) holding req_der, signed by a
 * self-signed certificate made here; DER into *pder. */
static int make_pkcs7_der(const unsigned char *req_der, int req_len,
                          X509 **psigner, unsigned char **pder)
{
    EVP_PKEY *skey = new_rsa(2048);
    X509 *signer =
        make_cert(skey, "old device cert", NULL, skey, 0, -3600, 86400);
    BIO *in = BIO_new_mem_buf(req_der, req_len);
    PKCS7 *p7 = PKCS7_sign(signer, skey, NULL, in, PKCS7_BINARY);
    unsigned char *der = NULL;
    int len;

    ck_assert_ptr_nonnull(p7);
    len = i2d_PKCS7(p7, &der);
    ck_assert_int_gt(len, 0);
    *pder = apr_pmemdup(wm_test_pool, der, (apr_size_t)len);
    OPENSSL_free(der);
    PKCS7_free(p7);
    BIO_free(in);
    EVP_PKEY_free(skey);
    *psigner = signer;
    return len;
}

START_TEST(csr_accepts_signed_pkcs7)
{
    EVP_PKEY *key = new_rsa(2048);
    unsigned char *req_der, *der;
    int req_len = make_req_der(key, &req_der), len;
    X509 *signer;
    wm_csr_t *csr;
    unsigned char *inner = NULL;
    int inner_len;

    len = make_pkcs7_der(req_der, req_len, &signer, &der);
    csr = parse_ok(der_b64(der, len));
    ck_assert_ptr_nonnull(csr->signer_sha1);
    ck_assert_str_eq(csr->signer_sha1, wm_cert_sha1_hex(signer, wm_test_pool));
    ck_assert_ptr_nonnull(csr->signer);
    ck_assert_int_eq(X509_cmp(csr->signer, signer), 0);
    ck_assert_int_eq(csr->key_bits, 2048);
    /* the request inside is the one wrapped */
    inner_len = i2d_X509_REQ(csr->req, &inner);
    ck_assert_int_eq(inner_len, req_len);
    ck_assert(memcmp(inner, req_der, (size_t)req_len) == 0);
    OPENSSL_free(inner);
    X509_free(signer);
    EVP_PKEY_free(key);
}
END_TEST

START_TEST(csr_refuses_tampered_pkcs7)
{
    EVP_PKEY *key = new_rsa(2048);
    unsigned char *req_der, *der, *copy;
    int req_len = make_req_der(key, &req_der), len, i, at = -1;
    X509 *signer;
    const char *err;

    len = make_pkcs7_der(req_der, req_len, &signer, &der);
    /* the wrapped request, one byte of its key changed: the content no
     * longer matches the signed digest */
    for (i = 0; i + req_len <= len; i++) {
        if (memcmp(der + i, req_der, (size_t)req_len) == 0) {
            at = i;
            break;
        }
    }
    ck_assert_int_ge(at, 0);
    copy = apr_pmemdup(wm_test_pool, der, (apr_size_t)len);
    copy[at + req_len / 2] ^= 0x01;
    err = parse_refused(der_b64(copy, len));
    ck_assert_msg(strstr(err, "PKCS#7") != NULL, "reason: %s", err);
    /* the signer's signature itself, which ends the encoding */
    copy = apr_pmemdup(wm_test_pool, der, (apr_size_t)len);
    copy[len - 1] ^= 0x01;
    err = parse_refused(der_b64(copy, len));
    ck_assert_msg(strstr(err, "PKCS#7") != NULL, "reason: %s", err);
    X509_free(signer);
    EVP_PKEY_free(key);
}
END_TEST

/* ---------------------------------------------------------- issuing */

/* The public key of the certificate as the device receives it (its
 * base64 DER), owned by wm_test_pool. */
static apr_status_t x509_free_cb(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static EVP_PKEY *sent_pubkey(const wm_issued_t *out)
{
    unsigned char *der;
    const unsigned char *q;
    apr_size_t len;
    X509 *x;

    ck_assert_int_eq(wm_b64_decode(out->der_b64, &der, &len, wm_test_pool),
                     APR_SUCCESS);
    q = der;
    x = d2i_X509(NULL, &q, (long)len);
    ck_assert_ptr_nonnull(x);
    apr_pool_cleanup_register(wm_test_pool, x, x509_free_cb,
                              apr_pool_cleanup_null);
    return X509_get0_pubkey(x);
}

START_TEST(issues_a_client_certificate)
{
    EVP_PKEY *ca_key, *key = new_rsa(2048);
    wm_ca_t *ca = new_ca(&ca_key);
    wm_csr_t *csr = parse_ok(make_req_b64(key));
    wm_issued_t *out = NULL;
    const char *err = NULL;
    char cn[128];
    X509 *x;
    BASIC_CONSTRAINTS *bc;
    ASN1_BIT_STRING *ku;
    BIGNUM *bn;
    ASN1_TIME *t;
    unsigned char *der = NULL, *dec;
    apr_size_t dlen;
    int len, crit = -1;
    long d;

    ck_assert_msg(wm_cert_issue(&out, ca, csr, "DEV-0123", 365, &err,
                                wm_test_pool) == APR_SUCCESS,
                  "wm_cert_issue: %s", err ? err : "?");
    x = out->cert;
    ck_assert_ptr_nonnull(x);

    /* subject CN = the DeviceID, issuer = the CA */
    ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
                                               NID_commonName, cn, sizeof(cn)),
                     0);
    ck_assert_str_eq(cn, "DEV-0123");
    ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
    ck_assert_int_eq(
        X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca->cert)),
        0);

    /* clientAuth, digitalSignature (critical), not a CA */
    ck_assert(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
    ck_assert(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
    ck_assert(X509_get_extension_flags(x) & EXFLAG_KUSAGE);
    ck_assert(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
    ck_assert(!(X509_get_key_usage(x) & KU_KEY_CERT_SIGN));
    ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
    ck_assert_ptr_nonnull(ku);
    ASN1_BIT_STRING_free(ku);
    ck_assert_int_eq(crit, 1);
    bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    ck_assert_ptr_nonnull(bc);
    ck_assert_int_eq(bc->ca, 0);
    BASIC_CONSTRAINTS_free(bc);
    ck_assert(!(X509_get_extension_flags(x) & EXFLAG_CA));

    /* NotBefore an hour back, NotAfter days ahead (a minute's slack) */
    d = secs_from_now(X509_get0_notBefore(x));
    ck_assert_int_ge(d, -WM_CERT_BACKDATE_SECONDS - 60);
    ck_assert_int_le(d, -WM_CERT_BACKDATE_SECONDS + 60);
    d = secs_from_now(X509_get0_notAfter(x));
    ck_assert_int_ge(d, 365L * 86400 - 60);
    ck_assert_int_le(d, 365L * 86400 + 60);
    t = ASN1_TIME_set(NULL, (time_t)out->not_after);
    ck_assert_int_eq(ASN1_TIME_compare(t, X509_get0_notAfter(x)), 0);
    ASN1_TIME_free(t);

    /* a positive serial, reported as hex */
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    ck_assert(!BN_is_negative(bn) && !BN_is_zero(bn));
    {
        char *hex = BN_bn2hex(bn);
        ck_assert_str_eq(out->serial_hex, hex);
        OPENSSL_free(hex);
    }
    BN_free(bn);

    /* the request's key, signed by the CA; the key is read from the DER
     * the device gets (the issued X509 holds it as bits only) */
    ck_assert_int_eq(EVP_PKEY_eq(sent_pubkey(out), key), 1);
    ck_assert_int_eq(X509_verify(x, ca_key), 1);
    ck_assert_int_ne(X509_verify(x, key), 1);

    /* thumbprint and encoding */
    ck_assert_str_eq(out->sha1_hex, wm_cert_sha1_hex(x, wm_test_pool));
    ck_assert_int_eq((int)strlen(out->sha1_hex), 40);
    len = i2d_X509(x, &der);
    ck_assert_int_gt(len, 0);
    ck_assert_ptr_null(strpbrk(out->der_b64, "\r\n"));
    ck_assert_int_eq(wm_b64_decode(out->der_b64, &dec, &dlen, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_uint_eq(dlen, (apr_size_t)len);
    ck_assert(memcmp(dec, der, (size_t)len) == 0);
    OPENSSL_free(der);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
}
END_TEST

START_TEST(issues_distinct_serials)
{
    EVP_PKEY *ca_key;
    wm_ca_t *ca = new_ca(&ca_key);
    wm_csr_t *csr = parse_ok(real_csr_b64());
    wm_issued_t *a, *b;
    const char *err = NULL;

    ck_assert_int_eq(
        wm_cert_issue(&a, ca, csr, DEVICE_ID, 30, &err, wm_test_pool),
        APR_SUCCESS);
    ck_assert_int_eq(
        wm_cert_issue(&b, ca, csr, DEVICE_ID, 30, &err, wm_test_pool),
        APR_SUCCESS);
    ck_assert_int_ne(ASN1_INTEGER_cmp(X509_get0_serialNumber(a->cert),
                                      X509_get0_serialNumber(b->cert)),
                     0);
    ck_assert_str_ne(a->serial_hex, b->serial_hex);
    ck_assert_str_ne(a->sha1_hex, b->sha1_hex);
    /* the device's own key, whatever its request's subject said */
    ck_assert_int_eq(
        EVP_PKEY_eq(sent_pubkey(a), X509_REQ_get0_pubkey(csr->req)), 1);
    EVP_PKEY_free(ca_key);
}
END_TEST

/* ----------------------------------------------------- client check */

START_TEST(checks_issued_certificates)
{
    EVP_PKEY *ca_key, *key = new_rsa(2048);
    wm_ca_t *ca = new_ca(&ca_key);
    wm_csr_t *csr = parse_ok(make_req_b64(key));
    wm_issued_t *out;
    const char *err = NULL, *sha1 = NULL, *cn = NULL;

    ck_assert_int_eq(
        wm_cert_issue(&out, ca, csr, "DEV-42", 7, &err, wm_test_pool),
        APR_SUCCESS);
    ck_assert_int_eq(
        wm_cert_check_issued(ca, out->cert, &sha1, &cn, &err, wm_test_pool),
        APR_SUCCESS);
    ck_assert_str_eq(cn, "DEV-42");
    ck_assert_str_eq(sha1, out->sha1_hex);

    sha1 = cn = NULL;
    ck_assert_int_eq(wm_cert_check_client(ca, pem_of(out->cert), &sha1, &cn,
                                          &err, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_str_eq(cn, "DEV-42");
    ck_assert_str_eq(sha1, out->sha1_hex);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
}
END_TEST

START_TEST(refuses_another_cas_certificate)
{
    EVP_PKEY *ca_key, *other_key, *key = new_rsa(2048);
    wm_ca_t *ca = new_ca(&ca_key);
    wm_ca_t *other = new_ca(&other_key); /* same name "Unit CA" */
    wm_csr_t *csr = parse_ok(make_req_b64(key));
    wm_issued_t *out;
    const char *err = NULL, *sha1 = "x", *cn = "x";

    ck_assert_int_eq(
        wm_cert_issue(&out, other, csr, "DEV-42", 7, &err, wm_test_pool),
        APR_SUCCESS);
    err = NULL;
    ck_assert_int_eq(
        wm_cert_check_issued(ca, out->cert, &sha1, &cn, &err, wm_test_pool),
        APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(sha1);
    ck_assert_ptr_null(cn);
    err = NULL;
    ck_assert_int_eq(wm_cert_check_client(ca, pem_of(out->cert), &sha1, &cn,
                                          &err, wm_test_pool),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(cn);
    /* no certificate at all */
    err = NULL;
    ck_assert_int_eq(
        wm_cert_check_client(ca, "not a PEM", &sha1, &cn, &err, wm_test_pool),
        APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(
        wm_cert_check_client(ca, "", &sha1, &cn, &err, wm_test_pool),
        APR_EINVAL);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
}
END_TEST

START_TEST(refuses_an_expired_certificate)
{
    EVP_PKEY *ca_key, *key = new_rsa(2048);
    wm_ca_t *ca = new_ca(&ca_key);
    const char *err = NULL, *sha1 = "x", *cn = "x";
    /* issued by the CA, expired yesterday */
    X509 *x =
        make_cert(key, "DEV-OLD", ca->cert, ca_key, 0, -10 * 86400, -86400);
    /* and one not valid until tomorrow */
    X509 *y = make_cert(key, "DEV-NEW", ca->cert, ca_key, 0, 86400, 10 * 86400);

    ck_assert_int_eq(
        wm_cert_check_issued(ca, x, &sha1, &cn, &err, wm_test_pool),
        APR_EINVAL);
    ck_assert_msg(strstr(err, "not valid") != NULL, "reason: %s", err);
    ck_assert_ptr_null(cn);
    err = NULL;
    ck_assert_int_eq(
        wm_cert_check_client(ca, pem_of(x), &sha1, &cn, &err, wm_test_pool),
        APR_EINVAL);
    ck_assert_msg(strstr(err, "not valid") != NULL, "reason: %s", err);
    err = NULL;
    ck_assert_int_eq(
        wm_cert_check_issued(ca, y, &sha1, &cn, &err, wm_test_pool),
        APR_EINVAL);
    ck_assert_msg(strstr(err, "not valid") != NULL, "reason: %s", err);
    X509_free(x);
    X509_free(y);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
}
END_TEST

Suite *wm_test_cert_suite(void)
{
    Suite *s = suite_create("cert");
    TCase *b64 = tcase_create("base64");
    TCase *csr = tcase_create("csr");
    TCase *issue = tcase_create("issue");

    wm_test_pool_fixture(b64);
    tcase_add_test(b64, b64_encodes_rfc4648_vectors);
    tcase_add_test(b64, b64_decodes_and_ignores_white_space);
    tcase_add_test(b64, b64_enforces_padding_rules);
    tcase_add_test(b64, b64_refuses_invalid_characters);
    tcase_add_test(b64, b64_refuses_data_after_padding);
    tcase_add_test(b64, b64_refuses_a_lone_trailing_character);
    suite_add_tcase(s, b64);

    wm_test_pool_fixture(csr);
    tcase_set_timeout(csr, 30);
    tcase_add_test(csr, csr_accepts_real_sha1_device_request);
    tcase_add_test(csr, csr_accepts_fresh_rsa2048_request);
    tcase_add_test(csr, csr_refuses_a_flipped_signature);
    tcase_add_test(csr, csr_refuses_a_1024_bit_key);
    tcase_add_test(csr, csr_refuses_garbage);
    tcase_add_test(csr, csr_refuses_an_ec_key);
    tcase_add_test(csr, csr_accepts_signed_pkcs7);
    tcase_add_test(csr, csr_refuses_tampered_pkcs7);
    suite_add_tcase(s, csr);

    wm_test_pool_fixture(issue);
    tcase_set_timeout(issue, 60);
    tcase_add_test(issue, issues_a_client_certificate);
    tcase_add_test(issue, issues_distinct_serials);
    tcase_add_test(issue, checks_issued_certificates);
    tcase_add_test(issue, refuses_another_cas_certificate);
    tcase_add_test(issue, refuses_an_expired_certificate);
    suite_add_tcase(s, issue);
    return s;
}
