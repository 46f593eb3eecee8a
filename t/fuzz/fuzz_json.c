/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Fuzz target: the admin API's JSON bodies (wm_opjson.h), and what an
 * accepted request builds (wm_ops_build). */

#include <string.h>

#include "wm_opjson.h"
#include "wm_ops.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    apr_array_header_t *ids;
    wm_op_params_t params;
    const char *type, *err, *body;
    int count;

    apr_pool_create(&p, wm_fuzz_pool());
    memset(&params, 0, sizeof(params));
    params.provider_id = "mod_winmdm";
    params.poll_minutes = 15;
    if (wm_opjson_request((const char *)data, size, &type, &params, &err, p)
            == APR_SUCCESS
        && wm_ops_build(type, &params, 1 << 20, &body, &count, &err, p)
               == APR_SUCCESS) {
        wm_ops_render(body, 7, p);
    }
    wm_opjson_ids((const char *)data, size, 1000, &ids, &err, p);
    apr_pool_destroy(p);
    return 0;
}
