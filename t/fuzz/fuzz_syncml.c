/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Fuzz target: a device's SyncML message, parsed and answered by the
 * reply builder; and the same bytes as administrator-queued commands. */

#include "wm_ops.h"
#include "wm_syncml.h"
#include "fuzz.h"

#include <apr_strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    wm_syncml_msg_t *msg;
    wm_op_params_t params = {0};
    const char *err, *body, *text;
    int count, i;

    apr_pool_create(&p, wm_fuzz_pool());
    if (wm_syncml_parse(&msg, (const char *)data, size, 1 << 20, &err, p)
        == APR_SUCCESS) {
        wm_sml_reply_t *rp = wm_sml_reply_new(&msg->hdr, msg->hdr.msg_id,
                                              "https://fuzz/devicemgt", p);
        for (i = 0; i < msg->cmds->nelts; i++) {
            wm_sml_cmd_t *c = APR_ARRAY_IDX(msg->cmds, i, wm_sml_cmd_t *);
            wm_sml_reply_status(rp, msg->hdr.msg_id,
                                c->cmd_id ? c->cmd_id : "", c->name, 200);
        }
        wm_sml_reply_hdr_status(rp, 200, msg->hdr.cred_data);
        wm_sml_reply_finish(rp, msg->final, NULL);
    }
    text = apr_pstrmemdup(p, (const char *)data, size);
    params.syncml = text;
    if (wm_ops_build("SYNCML", &params, 1 << 20, &body, &count, &err, p)
        == APR_SUCCESS) {
        wm_ops_render(body, 42, p);
    }
    apr_pool_destroy(p);
    return 0;
}
