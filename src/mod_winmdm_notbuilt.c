/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Answers for the routes whose protocol is not built yet: each says so in
 * the form its client reads (a SOAP fault for the enrollment services, a
 * SyncML status for OMA-DM, JSON for the admin API, HTML for the sign-in
 * page), and never pretends to succeed. */

#include <string.h>

#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>

#include "wm_syncml.h"
#include "mod_winmdm_io.h"
#include "mod_winmdm_private.h"
#include "mod_winmdm_routes.h"

#define XCEP_RESPONSE_ACTION                                                   \
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy/IPolicy/GetPoliciesResponse"
#define WSTEP_RESPONSE_ACTION                                                  \
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RSTRC/wstep"

static int soap_not_built(request_rec *r, const wm_srv_conf_t *sc,
                          const char *action, const char *what)
{
    wm_soap_env_t *env = NULL;
    const char *buf, *err;
    apr_size_t len;
    int status;

    status = wm_io_read_body(r, wm_conf_max_message_size(sc), &buf, &len);
    if (status != OK) {
        return status;
    }
    /* Parsed only to relate the fault to the request's MessageID. */
    wm_soap_parse(&env, buf, len, len, &err, r->pool);
    return wm_io_soap_fault(
        r, WM_FAULT_INTERNAL_SERVICE, action, env ? env->message_id : NULL,
        apr_pstrcat(r->pool, what, " is not implemented on this server", NULL));
}

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
    static const char html[] =
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>Not available</title></head><body><p>Enrollment sign-in is "
        "not implemented on this server.</p></body></html>";
    static const char json[] =
        "{\"error\": \"the admin API is not implemented on this server\"}";

    switch (route->endpoint) {
    case WM_EP_XCEP:
        return soap_not_built(r, sc, XCEP_RESPONSE_ACTION,
                              "MS-XCEP certificate enrollment policy");
    case WM_EP_WSTEP81:
    case WM_EP_WSTEP10:
        return soap_not_built(r, sc, WSTEP_RESPONSE_ACTION,
                              "MS-WSTEP certificate enrollment");
    case WM_EP_SYNCML81:
    case WM_EP_SYNCML10:
        return syncml_not_built(r, sc);
    case WM_EP_LOGIN:
        return wm_io_send(r, HTTP_NOT_IMPLEMENTED, "text/html; charset=utf-8",
                          html, sizeof(html) - 1);
    case WM_EP_ADMIN:
        return wm_io_send(r, HTTP_NOT_IMPLEMENTED, "application/json", json,
                          sizeof(json) - 1);
    default:
        return HTTP_NOT_FOUND;
    }
}
