/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Random secrets and hashes (see wm_secret.h). */

#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "wm_cert.h"
#include "wm_secret.h"

const char *wm_secret_token(apr_pool_t *p)
{
    unsigned char raw[WM_TOKEN_BYTES];
    char *t, *c;

    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return NULL;
    }
    t = (char *)wm_b64_encode(raw, sizeof(raw), p);
    OPENSSL_cleanse(raw, sizeof(raw));
    /* base64url (RFC 4648 5), no padding */
    for (c = t; *c; c++) {
        if (*c == '+') {
            *c = '-';
        }
        else if (*c == '/') {
            *c = '_';
        }
        else if (*c == '=') {
            *c = '\0';
            break;
        }
    }
    return t;
}

const char *wm_secret_random_b64(apr_size_t nbytes, apr_pool_t *p)
{
    unsigned char *raw = apr_palloc(p, nbytes);
    const char *out;

    if (RAND_bytes(raw, (int)nbytes) != 1) {
        return NULL;
    }
    out = wm_b64_encode(raw, nbytes, p);
    OPENSSL_cleanse(raw, nbytes);
    return out;
}

static const char *digest_hex(const EVP_MD *md, const char *s, apr_pool_t *p)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0, i;
    char *hex;

    if (!EVP_Digest(s, strlen(s), out, &len, md, NULL)) {
        return NULL;
    }
    hex = apr_palloc(p, len * 2 + 1);
    for (i = 0; i < len; i++) {
        apr_snprintf(hex + i * 2, 3, "%02x", out[i]);
    }
    return hex;
}

const char *wm_secret_sha256_hex(const char *s, apr_pool_t *p)
{
    return digest_hex(EVP_sha256(), s, p);
}

const char *wm_secret_md5_hex(const char *s, apr_pool_t *p)
{
    return digest_hex(EVP_md5(), s, p);
}

int wm_secret_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}
