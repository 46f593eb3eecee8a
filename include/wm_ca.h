/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The device CA: the certificate and key of WinMDMCACertificateFile and
 * WinMDMCAKeyFile. They are read at startup, while httpd is still root, so
 * the key file can be readable by root alone (DESIGN.md section 5). */

#ifndef WM_CA_H
#define WM_CA_H

#include <apr_pools.h>

struct x509_st;
struct evp_pkey_st;

typedef struct wm_ca_t {
    struct x509_st *cert;    /* freed with the pool */
    struct evp_pkey_st *key; /* freed with the pool */
    const char *sha1_hex;    /* upper-case hex SHA-1 of the DER certificate */
    const char *der_b64;     /* base64 of the DER certificate, one line */
    int self_signed;         /* a root (else an intermediate) */
} wm_ca_t;

/**
 * Loads and checks the CA: PEM certificate with CA:TRUE basic constraints,
 * PEM private key matching it, and the certificate valid now.
 * @param perr  receives the reason on failure (pool p)
 * @return APR_SUCCESS or APR_EINVAL
 */
apr_status_t wm_ca_load(wm_ca_t **pca, const char *cert_file,
                        const char *key_file, const char **perr, apr_pool_t *p);

#endif /* WM_CA_H */
