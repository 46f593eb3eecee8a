/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Certificates for devices (MS-WSTEP, spec/enrollment.md 5): reading the
 * PKCS#10 request a device sends (bare, or wrapped in a signed PKCS#7 for
 * renewal), issuing its client certificate from the device CA, and
 * checking a client certificate presented over TLS. */

#ifndef WM_CERT_H
#define WM_CERT_H

#include <apr_pools.h>

#include "wm_ca.h"

struct X509_req_st;
struct x509_st;

/* The smallest RSA key accepted (the XCEP policy asks for it). */
#define WM_CSR_MIN_BITS 2048
/* How far NotBefore is set back, for devices whose clock is behind. */
#define WM_CERT_BACKDATE_SECONDS 3600

/** A certificate request whose signature verified. */
typedef struct wm_csr_t {
    struct X509_req_st *req; /* freed with the pool */
    int key_bits;
    /* For a PKCS#7-wrapped request: upper-case hex SHA-1 of the signer's
     * certificate, set only when its signature over the request verified;
     * NULL for a bare PKCS#10. */
    const char *signer_sha1;
    struct x509_st *signer; /* that certificate, freed with the pool */
} wm_csr_t;

/**
 * Decodes base64 (white space allowed) and reads a PKCS#10 request, or a
 * signed PKCS#7 holding one. Verifies the request's own signature (any
 * digest OpenSSL knows, SHA-1 included: real devices sign with
 * sha1WithRSA under the OIW OID) and requires an RSA key of at least
 * WM_CSR_MIN_BITS.
 * @return APR_SUCCESS, or APR_EINVAL with *perr set (s:CertificateRequest)
 */
apr_status_t wm_csr_parse(wm_csr_t **pcsr, const char *b64, const char **perr,
                          apr_pool_t *p);

/** A certificate the CA issued. */
typedef struct wm_issued_t {
    /* freed with the pool; its public key is the request's
     * SubjectPublicKeyInfo copied as bits, not decoded: X509_get0_pubkey()
     * of it is NULL (decode der_b64 for an EVP_PKEY) */
    struct x509_st *cert;
    const char *serial_hex; /* upper-case hex */
    const char *sha1_hex;   /* upper-case hex thumbprint of the DER */
    const char *der_b64;    /* one line of base64 */
    apr_int64_t not_after;  /* seconds since 1970 */
} wm_issued_t;

/**
 * Issues a client certificate: subject CN = cn, the request's public key,
 * clientAuth EKU, a random 127-bit serial, NotBefore set back by
 * WM_CERT_BACKDATE_SECONDS, valid for days, signed with SHA-256.
 * @return APR_SUCCESS; APR_EINVAL with *perr set when cn cannot be a
 *         subject; APR_EGENERAL or APR_ENOMEM with *perr set when OpenSSL
 *         fails (random numbers, signing, encoding)
 */
apr_status_t wm_cert_issue(wm_issued_t **pout, const wm_ca_t *ca,
                           const wm_csr_t *csr, const char *cn, int days,
                           const char **perr, apr_pool_t *p);

/**
 * Checks a certificate: issued and signed by ca, valid now. On success
 * returns its thumbprint and subject CN (the DeviceID it was issued to).
 * @return APR_SUCCESS, or APR_EINVAL with *perr set
 */
apr_status_t wm_cert_check_issued(const wm_ca_t *ca, struct x509_st *cert,
                                  const char **psha1, const char **pcn,
                                  const char **perr, apr_pool_t *p);

/**
 * Checks a PEM client certificate (as mod_ssl's SSL_CLIENT_CERT gives it):
 * issued and signed by ca, valid now. On success returns its thumbprint
 * and subject CN.
 * @return APR_SUCCESS, or APR_EINVAL with *perr set
 */
apr_status_t wm_cert_check_client(const wm_ca_t *ca, const char *pem,
                                  const char **psha1, const char **pcn,
                                  const char **perr, apr_pool_t *p);

/**
 * wm_cert_check_client, also returning the certificate's notAfter
 * (seconds since 1970), for a caller that keeps the result for later.
 */
apr_status_t wm_cert_check_client_until(const wm_ca_t *ca, const char *pem,
                                        const char **psha1, const char **pcn,
                                        apr_int64_t *pnot_after,
                                        const char **perr, apr_pool_t *p);

/** Upper-case hex SHA-1 of a certificate's DER encoding, in p. */
const char *wm_cert_sha1_hex(struct x509_st *cert, apr_pool_t *p);

/** what, followed by OpenSSL's last error in parentheses when there is
 *  one; clears OpenSSL's error queue. */
const char *wm_ssl_reason(const char *what, apr_pool_t *p);

/** Base64 of bytes on one line, no line breaks, in p. */
const char *wm_b64_encode(const unsigned char *data, apr_size_t len,
                          apr_pool_t *p);

/**
 * Decodes standard base64, ignoring white space; refuses anything else.
 * @return APR_SUCCESS or APR_EINVAL
 */
apr_status_t wm_b64_decode(const char *b64, unsigned char **pout,
                           apr_size_t *plen, apr_pool_t *p);

#endif /* WM_CERT_H */
