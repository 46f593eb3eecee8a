/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Answers for the routes whose protocol is not built yet: each says so in
 * the form its client reads (a SyncML status for OMA-DM, JSON for the
 * admin API), and never pretends to succeed. */

#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>

#include "wm_syncml.h"
#include "mod_winmdm_io.h"
#include "mod_winmdm_private.h"
#include "mod_winmdm_routes.h"

/* A SyncML answer: HTTP 200 with the SyncHdr status 500 (command failed)
 * and Final, so the device ends the session and retries at its next poll. */
static int syncml_not_built(request_rec *r, const wm_srv_conf_t *sc)
{
    const char *ctype = apr_table_get(r->headers_in, "Content-Type");
    wm_syncml_msg_t *msg = NULL;
    const char *buf, *err, *reply, *self;
    apr_size_t len;
    int status;

    if (ctype && !strncasecmp(ctype, WM_SYNCML_WBXML_TYPE,
                              strlen(WM_SYNCML_WBXML_TYPE))) {
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            WMLOGNO(
                00007) "WBXML SyncML is not supported; the device must send "
                       "%s",
            WM_SYNCML_CONTENT_TYPE);
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    }
    status = wm_io_read_body(r, wm_conf_max_message_size(sc), &buf, &len);
    if (status != OK) {
        return status;
    }
    if (wm_syncml_parse(&msg, buf, len, len, &err, r->pool)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      WMLOGNO(00008) "SyncML message refused: %s", err);
    }
    self = apr_pstrcat(r->pool, wm_conf_management_url(sc), r->uri, NULL);
    reply = wm_syncml_reply_status_only(
        msg ? &msg->hdr : NULL, "1", self,
        msg ? WM_SC_COMMAND_FAILED : WM_SC_BAD_REQUEST, r->pool);
    ap_log_rerror(
        APLOG_MARK, APLOG_INFO, 0, r,
        WMLOGNO(00009) "OMA-DM management is not implemented on this server");
    return wm_io_send(r, HTTP_OK, WM_SYNCML_CONTENT_TYPE, reply, strlen(reply));
}

int wm_ep_not_built(request_rec *r, const wm_srv_conf_t *sc,
                    const wm_route_t *route)
{
    static const char json[] =
        "{\"error\": \"the admin API is not implemented on this server\"}";

    switch (route->endpoint) {
    case WM_EP_SYNCML81:
    case WM_EP_SYNCML10:
        return syncml_not_built(r, sc);
    case WM_EP_ADMIN:
        return wm_io_send(r, HTTP_NOT_IMPLEMENTED, "application/json", json,
                          sizeof(json) - 1);
    default:
        return HTTP_NOT_FOUND;
    }
}
