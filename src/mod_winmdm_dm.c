/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The OMA-DM endpoints (/devicemgt for Windows 10/11, /syncml/initialquery
 * for 8.1, and their MDM endpoint paths): HTTP in and out around the
 * session core (wm_dm.h). Every reply is HTTP 200 with a SyncML body
 * (DESIGN.md section 1); only a body over WinMDMMaxMessageSize gets 413
 * and a WBXML one 415. The query string (?mode=Maintenance&Platform=WoA)
 * plays no part. */

#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>

#include "wm_cert.h"
#include "wm_dm.h"
#include "wm_store.h"
#include "wm_syncml.h"
#include "mod_winmdm_auth.h"
#include "mod_winmdm_dbd.h"
#include "mod_winmdm_io.h"
#include "mod_winmdm_private.h"
#include "mod_winmdm_routes.h"

/* Expired tokens and nonces go at most this often per child (seconds). */
#define PURGE_EVERY 3600

static apr_time_t last_purge;

static int send_syncml(request_rec *r, const char *body, apr_size_t len)
{
    return wm_io_send(r, HTTP_OK, WM_SYNCML_CONTENT_TYPE, body, len);
}

static int send_status_only(request_rec *r, const wm_syncml_hdr_t *hdr,
                            const char *self, int code)
{
    const char *body = wm_syncml_reply_status_only(
        hdr, hdr && hdr->msg_id ? hdr->msg_id : "1", self, code, r->pool);
    return send_syncml(r, body, strlen(body));
}

int wm_ep_syncml(request_rec *r, const wm_srv_conf_t *sc,
                 const wm_route_t *route)
{
    const char *ctype = apr_table_get(r->headers_in, "Content-Type");
    wm_devauth_e devauth = wm_conf_device_auth(sc);
    const char *buf, *err = NULL, *reply, *sha1 = NULL, *cn = NULL;
    const char *self =
        apr_pstrcat(r->pool, wm_conf_management_url(sc), r->uri, NULL);
    apr_int64_t now = apr_time_sec(apr_time_now());
    wm_syncml_msg_t *msg;
    wm_dm_result_t res;
    wm_dm_conf_t conf;
    wm_store_t *st;
    apr_size_t len;
    apr_status_t rv;
    int status;

    (void)route;
    if (ctype && !strncasecmp(ctype, WM_SYNCML_WBXML_TYPE,
                              strlen(WM_SYNCML_WBXML_TYPE))) {
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            WMLOGNO(
                00007) "WBXML SyncML is not supported; the device must send "
                       "%s (DEFAULTENCODING of the provisioning document)",
            WM_SYNCML_CONTENT_TYPE);
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    }
    status = wm_io_read_body(r, wm_conf_max_message_size(sc), &buf, &len);
    if (status != OK) {
        return status;
    }
    rv = wm_syncml_parse(&msg, buf, len, len, &err, r->pool);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      WMLOGNO(00008) "SyncML message refused: %s", err);
        return send_status_only(r, NULL, self, WM_SC_BAD_REQUEST);
    }

    /* The certificate is checked against the device CA here; the core
     * matches it to the DeviceID. */
    if (devauth != WM_DEVAUTH_DIGEST &&
        wm_auth_client_identity(r, sc, &sha1, &cn, &err) && !sha1) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      WMLOGNO(00034) "client certificate ignored: %s", err);
        sha1 = cn = NULL;
    }
    conf.server_uri = self;
    conf.provider_id = wm_conf_provider_id(sc);
    conf.poll_interval = wm_conf_poll_interval(sc);
    conf.allow_cert = devauth != WM_DEVAUTH_DIGEST && !wm_conf_tls_offload(sc);
    conf.allow_digest = devauth != WM_DEVAUTH_CERT;
    conf.profiles.verify_minutes = wm_conf_profile_verify(sc);
    conf.profiles.reapply_limit = wm_conf_profile_reapply(sc);

    if (wm_dbd_store(r, &st) != APR_SUCCESS) {
        return send_status_only(r, &msg->hdr, self, WM_SC_COMMAND_FAILED);
    }
    if (apr_time_sec(apr_time_now() - last_purge) > PURGE_EVERY) {
        last_purge = apr_time_now();
        wm_store_purge(st, now, NULL, r->pool);
    }
    rv = wm_dm_message(st, &conf, msg, sha1, cn, now, &reply, &len, &res,
                       r->pool);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      WMLOGNO(00035) "OMA-DM message of %s not processed: %s",
                      msg->hdr.source_uri, wm_store_error(st));
        return send_status_only(r, &msg->hdr, self, WM_SC_COMMAND_FAILED);
    }
    if (res.hdr_status != WM_SC_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      WMLOGNO(00036) "OMA-DM session %s of %s refused (%d): %s",
                      msg->hdr.session_id, msg->hdr.source_uri, res.hdr_status,
                      res.reason ? res.reason : "");
    }
    else {
        r->user = apr_pstrdup(r->pool, msg->hdr.source_uri);
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, 0, r,
            WMLOGNO(00037) "OMA-DM session %s message %s of %s (%s): %d "
                           "operations sent%s%s",
            msg->hdr.session_id, msg->hdr.msg_id, msg->hdr.source_uri, res.how,
            res.ops_sent, res.closed ? ", session closed" : "",
            res.unenrolled ? ", device unenrolled" : "");
    }
    return send_syncml(r, reply, len);
}
