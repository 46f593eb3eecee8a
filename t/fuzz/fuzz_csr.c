/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Fuzz target: the base64 certificate request of an MS-WSTEP request
 * (PKCS#10, or PKCS#7 around one), as wm_csr_parse reads it; the input is
 * taken as base64 text and, base64-encoded, as DER. */

#include <apr_strings.h>

#include "wm_cert.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    wm_csr_t *csr;
    unsigned char *raw;
    apr_size_t len;
    const char *err;

    apr_pool_create(&p, wm_fuzz_pool());
    wm_b64_decode(apr_pstrmemdup(p, (const char *)data, size), &raw, &len, p);
    wm_csr_parse(&csr, apr_pstrmemdup(p, (const char *)data, size), &err, p);
    wm_csr_parse(&csr, wm_b64_encode(data, size, p), &err, p);
    apr_pool_destroy(p);
    return 0;
}
