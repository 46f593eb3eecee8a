/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* OMA-DM MD5 digest authentication (syncml:auth-md5, spec/syncml.md
 * section 7): DIGEST = B64(MD5(B64(MD5(name ":" secret)) ":" nonce)),
 * with nonce the raw bytes of the server's base64 nonce. The server keeps
 * only MD5(name:secret). */

#ifndef WM_DIGEST_H
#define WM_DIGEST_H

#include <apr_pools.h>

/**
 * The digest a device sends for the stored hash and a nonce.
 * @param ha1_hex    hex MD5(name:secret), as the store keeps it
 * @param nonce_b64  the server nonce as sent (base64)
 * @return the base64 digest, or NULL when an input is malformed
 */
const char *wm_digest_expected(const char *ha1_hex, const char *nonce_b64,
                               apr_pool_t *p);

/** True when cred_b64 is the right digest for ha1_hex and nonce_b64
 *  (compared in constant time). */
int wm_digest_check(const char *ha1_hex, const char *nonce_b64,
                    const char *cred_b64, apr_pool_t *p);

#endif /* WM_DIGEST_H */
