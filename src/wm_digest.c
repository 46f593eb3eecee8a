/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* OMA-DM MD5 digest (see wm_digest.h). "The MD5 binary nonce is sent over
 * XML in B64-encoded format, but the octal form of the binary data is used
 * when the server calculates the hash" (Microsoft Learn, OMA DM protocol
 * support): the nonce is hashed decoded. */

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <openssl/evp.h>

#include "wm_cert.h"
#include "wm_digest.h"
#include "wm_secret.h"

static int hexval(int c)
{
    return apr_isdigit(c) ? c - '0' : apr_tolower(c) - 'a' + 10;
}

const char *wm_digest_expected(const char *ha1_hex, const char *nonce_b64,
                               apr_pool_t *p)
{
    unsigned char ha1[16], md[EVP_MAX_MD_SIZE], *nonce, *buf;
    unsigned int mdlen = 0;
    const char *ha1_b64;
    apr_size_t nlen, blen;
    int i;

    if (!ha1_hex || strlen(ha1_hex) != 32 || !nonce_b64) {
        return NULL;
    }
    for (i = 0; i < 16; i++) {
        if (!apr_isxdigit(ha1_hex[2 * i]) ||
            !apr_isxdigit(ha1_hex[2 * i + 1])) {
            return NULL;
        }
        ha1[i] = (unsigned char)(hexval(ha1_hex[2 * i]) << 4 |
                                 hexval(ha1_hex[2 * i + 1]));
    }
    if (wm_b64_decode(nonce_b64, &nonce, &nlen, p) != APR_SUCCESS) {
        return NULL;
    }
    ha1_b64 = wm_b64_encode(ha1, sizeof(ha1), p);
    blen = strlen(ha1_b64) + 1 + nlen;
    buf = apr_palloc(p, blen);
    memcpy(buf, ha1_b64, strlen(ha1_b64));
    buf[strlen(ha1_b64)] = ':';
    memcpy(buf + strlen(ha1_b64) + 1, nonce, nlen);
    if (!EVP_Digest(buf, blen, md, &mdlen, EVP_md5(), NULL)) {
        return NULL;
    }
    return wm_b64_encode(md, mdlen, p);
}

int wm_digest_check(const char *ha1_hex, const char *nonce_b64,
                    const char *cred_b64, apr_pool_t *p)
{
    const char *want = wm_digest_expected(ha1_hex, nonce_b64, p);
    return want && cred_b64 && wm_secret_equal(want, cred_b64);
}
