/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Fuzz target: a SOAP body as the enrollment endpoints read it: the
 * envelope, its WS-Security header, and the Discover, GetPolicies and
 * RequestSecurityToken bodies. */

#include <apr_strings.h>

#include "wm_discovery.h"
#include "wm_soap.h"
#include "wm_wssec.h"
#include "wm_wstep.h"
#include "wm_xcep.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    wm_soap_env_t *env;
    wm_discover_req_t *disc;
    wm_cred_t *cred;
    wm_rst_t *rst;
    const char *err;

    apr_pool_create(&p, wm_fuzz_pool());
    if (wm_soap_parse(&env, (const char *)data, size, 1 << 20, &err, p)
        == APR_SUCCESS) {
        wm_wssec_parse(env, &cred, &err, p);
        if (wm_discovery_parse(env, &disc, &err, p) == APR_SUCCESS) {
            wm_discovery_enrollment_version(disc, p);
        }
        wm_xcep_check(env, &err);
        if (wm_wstep_parse(env, &rst, &err, p) == APR_SUCCESS) {
            wm_wstep_device_context(rst);
        }
    }
    apr_pool_destroy(p);
    return 0;
}
