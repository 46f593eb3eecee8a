/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Loading and checking the device CA with OpenSSL. Every OpenSSL object is
 * freed by a cleanup on the pool that holds it. */

#include <stdio.h>

#include <apr_strings.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "wm_ca.h"
#include "wm_cert.h"

static apr_status_t x509_cleanup(void *data)
{
    X509_free(data);
    return APR_SUCCESS;
}

static apr_status_t pkey_cleanup(void *data)
{
    EVP_PKEY_free(data);
    return APR_SUCCESS;
}


apr_status_t wm_ca_load(wm_ca_t **pca, const char *cert_file,
                        const char *key_file, const char **perr, apr_pool_t *p)
{
    wm_ca_t *ca = apr_pcalloc(p, sizeof(*ca));
    unsigned char *der = NULL;
    int derlen;
    FILE *f;

    *pca = NULL;
    if (!(f = fopen(cert_file, "r"))) {
        *perr = apr_psprintf(p, "cannot open %s", cert_file);
        return APR_EINVAL;
    }
    ca->cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!ca->cert) {
        *perr = wm_ssl_reason(
            apr_psprintf(p, "%s holds no PEM certificate", cert_file), p);
        return APR_EINVAL;
    }
    apr_pool_cleanup_register(p, ca->cert, x509_cleanup, apr_pool_cleanup_null);
    if (!(f = fopen(key_file, "r"))) {
        *perr = apr_psprintf(p, "cannot open %s", key_file);
        return APR_EINVAL;
    }
    ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!ca->key) {
        *perr = wm_ssl_reason(apr_psprintf(p,
                                        "%s holds no unencrypted PEM "
                                        "private key",
                                        key_file),
                           p);
        return APR_EINVAL;
    }
    apr_pool_cleanup_register(p, ca->key, pkey_cleanup, apr_pool_cleanup_null);

    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        ERR_clear_error();
        *perr = apr_psprintf(p,
                             "the key in %s does not match the "
                             "certificate in %s",
                             key_file, cert_file);
        return APR_EINVAL;
    }
    if (X509_check_ca(ca->cert) < 1) {
        *perr = apr_psprintf(p,
                             "%s is not a CA certificate "
                             "(basicConstraints CA:TRUE)",
                             cert_file);
        return APR_EINVAL;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(ca->cert)) <= 0 ||
        X509_cmp_current_time(X509_get0_notBefore(ca->cert)) >= 0) {
        *perr = apr_psprintf(p, "%s is not valid now", cert_file);
        return APR_EINVAL;
    }
    ca->self_signed = (X509_get_extension_flags(ca->cert) & EXFLAG_SS) != 0;

    if (!(ca->sha1_hex = wm_cert_sha1_hex(ca->cert, p)) ||
        (derlen = i2d_X509(ca->cert, &der)) <= 0) {
        *perr = wm_ssl_reason("cannot encode the CA certificate", p);
        return APR_EINVAL;
    }
    ca->der_b64 = wm_b64_encode(der, (apr_size_t)derlen, p);
    OPENSSL_free(der);
    *pca = ca;
    return APR_SUCCESS;
}
