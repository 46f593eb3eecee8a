/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Fuzz target: a device's SyncML message, parsed and answered by the
 * reply builder; and the same bytes as administrator-queued commands.
 * Every reply built, and every rendered command, must itself parse: a
 * device value that broke the server's XML would abort here. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wm_ops.h"
#include "wm_syncml.h"
#include "wm_xml.h"
#include "fuzz.h"

#include <apr_strings.h>

/* What the server sends must be a SyncML message its own parser takes. */
static void must_parse(const char *what, const char *xml, apr_size_t len,
                       apr_pool_t *p)
{
    wm_xml_limits_t lim = {1 << 22, 256, 0};
    wm_syncml_msg_t *msg;
    xmlDocPtr doc;
    const char *err = NULL;

    if (!strcmp(what, "reply")
        ? wm_syncml_parse(&msg, xml, len, 1 << 22, &err, p) != APR_SUCCESS
        : wm_xml_parse(&doc, xml, len, &lim, &err, p) != APR_SUCCESS) {
        fprintf(stderr, "fuzz_syncml: the %s built does not parse: %s\n%s\n",
                what, err ? err : "?", xml);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    wm_syncml_msg_t *msg;
    wm_op_params_t params = {0};
    const char *err, *body, *text, *out;
    apr_size_t len;
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
        out = wm_sml_reply_finish(rp, msg->final, &len);
        must_parse("reply", out, len, p);
        out = wm_syncml_reply_status_only(&msg->hdr, msg->hdr.msg_id,
                                          "https://fuzz/devicemgt", 401, p);
        must_parse("reply", out, strlen(out), p);
    }
    text = apr_pstrmemdup(p, (const char *)data, size);
    params.syncml = text;
    if (wm_ops_build("SYNCML", &params, 1 << 20, &body, &count, &err, p)
        == APR_SUCCESS) {
        out = apr_pstrcat(p, "<SyncBody>", wm_ops_render(body, 42, p),
                          "</SyncBody>", NULL);
        must_parse("command", out, strlen(out), p);
    }
    apr_pool_destroy(p);
    return 0;
}
