/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Random secrets and their hashes: sign-in tokens (stored only as SHA-256,
 * DESIGN.md section 5), OMA-DM digest secrets and nonces (stored only as
 * MD5(name:secret), the one form an OMA-DM MD5 digest can be checked
 * against). Randomness is OpenSSL's CSPRNG. */

#ifndef WM_SECRET_H
#define WM_SECRET_H

#include <apr_pools.h>

/** Bytes of randomness in a sign-in token: 256 bits. */
#define WM_TOKEN_BYTES 32

/** A random sign-in token: WM_TOKEN_BYTES as unpadded base64url (43
 *  characters, safe in HTML attributes and URLs); NULL if the RNG fails. */
const char *wm_secret_token(apr_pool_t *p);

/** nbytes of randomness as standard base64; NULL if the RNG fails. */
const char *wm_secret_random_b64(apr_size_t nbytes, apr_pool_t *p);

/** Lower-case hex SHA-256 of s. */
const char *wm_secret_sha256_hex(const char *s, apr_pool_t *p);

/** Lower-case hex MD5 of s. */
const char *wm_secret_md5_hex(const char *s, apr_pool_t *p);

/** Compares two strings in time independent of where they differ. */
int wm_secret_equal(const char *a, const char *b);

#endif /* WM_SECRET_H */
