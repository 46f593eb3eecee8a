/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Device certificates with OpenSSL (see wm_cert.h). Every OpenSSL object
 * that outlives a function is freed by a cleanup on the pool holding it;
 * the others are freed before the function returns. */

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "wm_cert.h"

static apr_status_t req_cleanup(void *data)
{
    X509_REQ_free(data);
    return APR_SUCCESS;
}

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

/* ----------------------------------------------------------- base64 */

const char *wm_b64_encode(const unsigned char *data, apr_size_t len,
                          apr_pool_t *p)
{
    char *out = apr_palloc(p, 4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

apr_status_t wm_b64_decode(const char *b64, unsigned char **pout,
                           apr_size_t *plen, apr_pool_t *p)
{
    unsigned char *out = apr_palloc(p, strlen(b64) / 4 * 3 + 3);
    apr_size_t n = 0, chars = 0;
    unsigned int acc = 0;
    int bits = 0, pad = 0, v;
    const char *c;

    for (c = b64; *c; c++) {
        if (apr_isspace(*c)) {
            continue;
        }
        if (*c == '=') {
            pad++;
            continue;
        }
        if (pad || (v = b64_value((unsigned char)*c)) < 0) {
            return APR_EINVAL; /* data after padding, or not base64 */
        }
        chars++;
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* One character alone cannot end a quantum; padding, when present,
     * completes it; the bits left over must be zero (RFC 4648 3.5). */
    if (pad > 2 || chars % 4 == 1 || (pad && (chars + pad) % 4) || acc != 0) {
        return APR_EINVAL;
    }
    *pout = out;
    *plen = n;
    return APR_SUCCESS;
}

/* --------------------------------------------------------- requests */

const char *wm_cert_sha1_hex(X509 *cert, apr_pool_t *p)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    char *hex;

    if (!X509_digest(cert, EVP_sha1(), md, &len)) {
        return NULL;
    }
    hex = apr_palloc(p, len * 2 + 1);
    for (i = 0; i < len; i++) {
        apr_snprintf(hex + i * 2, 3, "%02X", md[i]);
    }
    return hex;
}

const char *wm_ssl_reason(const char *what, apr_pool_t *p)
{
    unsigned long e = ERR_peek_last_error();
    char buf[200];
    ERR_clear_error();
    if (!e) {
        return what;
    }
    ERR_error_string_n(e, buf, sizeof(buf));
    return apr_pstrcat(p, what, " (", buf, ")", NULL);
}

/* A signed PKCS#7 around a PKCS#10 (MS-WSTEP renewal): verifies the
 * signature with the signer certificate it carries (trust in that
 * certificate is the caller's decision, by its thumbprint) and returns
 * the inner request's DER. */
static apr_status_t unwrap_pkcs7(wm_csr_t *csr, const unsigned char *der,
                                 long len, const unsigned char **pinner,
                                 long *pinner_len, const char **perr,
                                 apr_pool_t *p)
{
    const unsigned char *q = der;
    PKCS7 *p7 = d2i_PKCS7(NULL, &q, len);
    BIO *out = NULL;
    STACK_OF(X509) *signers = NULL;
    apr_status_t rv = APR_EINVAL;
    char *data;
    long dlen;

    if (!p7) {
        *perr = wm_ssl_reason("the request is neither PKCS#10 nor PKCS#7", p);
        return APR_EINVAL;
    }
    if (!PKCS7_type_is_signed(p7)) {
        *perr = "the PKCS#7 request is not signed data";
        goto leave;
    }
    out = BIO_new(BIO_s_mem());
    /* NOVERIFY: the signer chain is checked by its thumbprint afterwards;
     * the signature itself is verified here. */
    if (!out || PKCS7_verify(p7, NULL, NULL, NULL, out, PKCS7_NOVERIFY) != 1) {
        *perr = wm_ssl_reason("the PKCS#7 signature does not verify", p);
        goto leave;
    }
    signers = PKCS7_get0_signers(p7, NULL, 0);
    if (!signers || sk_X509_num(signers) != 1) {
        *perr = "the PKCS#7 request must have exactly one signer";
        goto leave;
    }
    csr->signer = X509_dup(sk_X509_value(signers, 0));
    if (!csr->signer) {
        goto leave;
    }
    apr_pool_cleanup_register(p, csr->signer, x509_cleanup,
                              apr_pool_cleanup_null);
    csr->signer_sha1 = wm_cert_sha1_hex(csr->signer, p);
    dlen = BIO_get_mem_data(out, &data);
    *pinner = apr_pmemdup(p, data, (apr_size_t)dlen);
    *pinner_len = dlen;
    rv = APR_SUCCESS;
leave:
    sk_X509_free(signers);
    BIO_free(out);
    PKCS7_free(p7);
    return rv;
}

apr_status_t wm_csr_parse(wm_csr_t **pcsr, const char *b64, const char **perr,
                          apr_pool_t *p)
{
    wm_csr_t *csr = apr_pcalloc(p, sizeof(*csr));
    unsigned char *der;
    const unsigned char *q;
    apr_size_t len;
    long qlen;
    EVP_PKEY *key;

    *pcsr = NULL;
    if (!b64 || wm_b64_decode(b64, &der, &len, p) || len == 0 || len > 65536) {
        *perr = "the certificate request is not base64";
        return APR_EINVAL;
    }
    q = der;
    qlen = (long)len;
    csr->req = d2i_X509_REQ(NULL, &q, qlen);
    if (!csr->req) {
        ERR_clear_error();
        if (unwrap_pkcs7(csr, der, (long)len, &q, &qlen, perr, p)) {
            return APR_EINVAL;
        }
        csr->req = d2i_X509_REQ(NULL, &q, qlen);
        if (!csr->req) {
            /* Learn, "Certificate Renewal": the PKCS#7 content is the
             * request's DER in automatic renewal (ROBO) and its base64 in
             * manual renewal. */
            unsigned char *inner;
            apr_size_t ilen;
            ERR_clear_error();
            if (qlen > 0 && !wm_b64_decode(apr_pstrmemdup(p, (const char *)q,
                                                          (apr_size_t)qlen),
                                           &inner, &ilen, p) &&
                ilen > 0) {
                q = inner;
                csr->req = d2i_X509_REQ(NULL, &q, (long)ilen);
            }
        }
        if (!csr->req) {
            *perr = wm_ssl_reason("the PKCS#7 request holds no PKCS#10", p);
            return APR_EINVAL;
        }
    }
    apr_pool_cleanup_register(p, csr->req, req_cleanup, apr_pool_cleanup_null);
    key = X509_REQ_get0_pubkey(csr->req);
    if (!key) {
        *perr = wm_ssl_reason("the request has no usable public key", p);
        return APR_EINVAL;
    }
    if (X509_REQ_verify(csr->req, key) != 1) {
        *perr = wm_ssl_reason("the request's signature does not verify", p);
        return APR_EINVAL;
    }
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        *perr = "the request's key is not RSA";
        return APR_EINVAL;
    }
    csr->key_bits = EVP_PKEY_get_bits(key);
    if (csr->key_bits < WM_CSR_MIN_BITS) {
        *perr = apr_psprintf(p,
                             "the request's RSA key has %d bits; at "
                             "least %d are required",
                             csr->key_bits, WM_CSR_MIN_BITS);
        return APR_EINVAL;
    }
    *pcsr = csr;
    return APR_SUCCESS;
}

/* ---------------------------------------------------------- issuing */

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext) {
        return 0;
    }
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* Copies the request's SubjectPublicKeyInfo into cert as it stands: the
 * algorithm, its parameters and the key's bits (RFC 5280 4.1.2.7; the
 * certificate certifies the very key the device made). X509_set_pubkey
 * would instead encode the request's provider key again and decode the
 * result into a new key, OpenSSL 3's encoder and decoder look-ups costing
 * about a third of the CA's RSA signature per enrollment. Returns 1, or
 * 0 on failure (out of memory, or a request without a key). */
static int copy_pubkey(X509 *cert, X509_REQ *req)
{
    X509_PUBKEY *from = X509_REQ_get_X509_PUBKEY(req);
    X509_PUBKEY *to = X509_get_X509_PUBKEY(cert);
    const ASN1_OBJECT *alg_oid;
    const unsigned char *bits;
    const void *param;
    X509_ALGOR *alg;
    ASN1_OBJECT *oid = NULL;
    ASN1_STRING *param_copy = NULL;
    unsigned char *bits_copy = NULL;
    int nbits, ptype;

    if (!from || !to ||
        !X509_PUBKEY_get0_param(NULL, &bits, &nbits, &alg, from)) {
        return 0;
    }
    X509_ALGOR_get0(&alg_oid, &ptype, &param, alg);
    /* Parameters other than NULL or absent (RSA's, RFC 3279 2.3.1) are
     * an ASN.1 string of some type: copied as such. */
    if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL && param &&
        !(param_copy = ASN1_STRING_dup(param))) {
        return 0;
    }
    if (!(oid = OBJ_dup(alg_oid)) ||
        !(bits_copy = OPENSSL_memdup(bits, (size_t)nbits)) ||
        !X509_PUBKEY_set0_param(to, oid, ptype, param_copy, bits_copy,
                                nbits)) {
        ASN1_OBJECT_free(oid);
        ASN1_STRING_free(param_copy);
        OPENSSL_free(bits_copy);
        return 0;
    }
    return 1;
}

static apr_int64_t asn1_time_to_epoch(const ASN1_TIME *t)
{
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0;

    if (!epoch || !ASN1_TIME_diff(&days, &secs, epoch, t)) {
        ASN1_TIME_free(epoch);
        return 0;
    }
    ASN1_TIME_free(epoch);
    return (apr_int64_t)days * 86400 + secs;
}

apr_status_t wm_cert_issue(wm_issued_t **pout, const wm_ca_t *ca,
                           const wm_csr_t *csr, const char *cn, int days,
                           const char **perr, apr_pool_t *p)
{
    wm_issued_t *out = apr_pcalloc(p, sizeof(*out));
    unsigned char serial[16], *der = NULL;
    BIGNUM *bn = NULL;
    X509_NAME *name;
    char *hex;
    int derlen;
    X509 *cert;

    *pout = NULL;
    if (!(cert = X509_new())) {
        *perr = "out of memory";
        return APR_ENOMEM;
    }
    out->cert = cert;
    apr_pool_cleanup_register(p, cert, x509_cleanup, apr_pool_cleanup_null);

    /* A random serial: positive, 127 bits, so no two devices share one
     * (RFC 5280 4.1.2.2 allows up to 20 octets). */
    if (RAND_bytes(serial, sizeof(serial)) != 1) {
        *perr = wm_ssl_reason("no random numbers for the serial", p);
        return APR_EGENERAL;
    }
    serial[0] &= 0x7f;
    serial[0] |= 0x01 << 6; /* no leading zero octet: fixed length */
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert))) {
        BN_free(bn);
        *perr = "cannot set the serial number";
        return APR_EGENERAL;
    }
    hex = BN_bn2hex(bn);
    out->serial_hex = apr_pstrdup(p, hex);
    OPENSSL_free(hex);
    BN_free(bn);

    name = X509_NAME_new();
    if (!name ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                    (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_subject_name(cert, name)) {
        X509_NAME_free(name);
        *perr = wm_ssl_reason("the DeviceID cannot be a certificate subject", p);
        return APR_EINVAL;
    }
    X509_NAME_free(name);

    if (!X509_set_version(cert, 2) ||
        !X509_set_issuer_name(cert, X509_get_subject_name(ca->cert)) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert),
                         -WM_CERT_BACKDATE_SECONDS) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), days, 0, NULL) ||
        !copy_pubkey(cert, csr->req) ||
        !add_ext(cert, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(cert, ca->cert, NID_key_usage,
                 "critical,digitalSignature,keyEncipherment") ||
        !add_ext(cert, ca->cert, NID_ext_key_usage, "clientAuth") ||
        !add_ext(cert, ca->cert, NID_subject_key_identifier, "hash") ||
        !add_ext(cert, ca->cert, NID_authority_key_identifier,
                 "keyid:always") ||
        !X509_sign(cert, ca->key, EVP_sha256())) {
        *perr = wm_ssl_reason("signing the device certificate failed", p);
        return APR_EGENERAL;
    }
    out->not_after = asn1_time_to_epoch(X509_get0_notAfter(cert));
    out->sha1_hex = wm_cert_sha1_hex(cert, p);
    if ((derlen = i2d_X509(cert, &der)) <= 0) {
        *perr = wm_ssl_reason("encoding the device certificate failed", p);
        return APR_EGENERAL;
    }
    out->der_b64 = wm_b64_encode(der, (apr_size_t)derlen, p);
    OPENSSL_free(der);
    *pout = out;
    return APR_SUCCESS;
}

/* ----------------------------------------------------- client check */

apr_status_t wm_cert_check_issued(const wm_ca_t *ca, X509 *cert,
                                  const char **psha1, const char **pcn,
                                  const char **perr, apr_pool_t *p)
{
    X509_NAME *subj;
    ASN1_STRING *data;
    unsigned char *utf8 = NULL;
    int idx, n;

    *psha1 = *pcn = NULL;
    if (X509_check_issued(ca->cert, cert) != X509_V_OK ||
        X509_verify(cert, X509_get0_pubkey(ca->cert)) != 1) {
        ERR_clear_error();
        *perr = "the certificate was not issued by the device CA";
        return APR_EINVAL;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0 ||
        X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
        *perr = "the certificate is not valid now";
        return APR_EINVAL;
    }
    subj = X509_get_subject_name(cert);
    idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    if (idx < 0) {
        *perr = "the certificate has no CN";
        return APR_EINVAL;
    }
    data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
    if ((n = ASN1_STRING_to_UTF8(&utf8, data)) < 0) {
        *perr = "the certificate's CN cannot be read";
        return APR_EINVAL;
    }
    *pcn = apr_pstrmemdup(p, (const char *)utf8, (apr_size_t)n);
    OPENSSL_free(utf8);
    *psha1 = wm_cert_sha1_hex(cert, p);
    return APR_SUCCESS;
}

apr_status_t wm_cert_check_client(const wm_ca_t *ca, const char *pem,
                                  const char **psha1, const char **pcn,
                                  const char **perr, apr_pool_t *p)
{
    apr_int64_t not_after;
    return wm_cert_check_client_until(ca, pem, psha1, pcn, &not_after, perr,
                                      p);
}

apr_status_t wm_cert_check_client_until(const wm_ca_t *ca, const char *pem,
                                        const char **psha1, const char **pcn,
                                        apr_int64_t *pnot_after,
                                        const char **perr, apr_pool_t *p)
{
    apr_status_t rv;
    BIO *bio;
    X509 *cert;

    *psha1 = *pcn = NULL;
    *pnot_after = 0;
    if (!pem || !*pem || !(bio = BIO_new_mem_buf(pem, -1))) {
        *perr = "no client certificate";
        return APR_EINVAL;
    }
    cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!cert) {
        *perr = wm_ssl_reason("the client certificate cannot be read", p);
        return APR_EINVAL;
    }
    apr_pool_cleanup_register(p, cert, x509_cleanup, apr_pool_cleanup_null);
    if ((rv = wm_cert_check_issued(ca, cert, psha1, pcn, perr, p))) {
        return rv;
    }
    *pnot_after = asn1_time_to_epoch(X509_get0_notAfter(cert));
    return APR_SUCCESS;
}
