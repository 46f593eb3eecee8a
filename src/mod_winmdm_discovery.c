/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The discovery endpoint (MS-MDE2 3.1): GET answers 200 with an empty body
 * ("the server is up"); POST answers Discover with DiscoverResponse. */

#include <string.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>

#include "wm_discovery.h"
#include "wm_soap.h"
#include "mod_winmdm_io.h"
#include "mod_winmdm_private.h"
#include "mod_winmdm_routes.h"

int wm_ep_discovery(request_rec *r, const wm_srv_conf_t *sc,
                    const wm_route_t *route)
{
    wm_discovery_conf_t dconf;
    wm_discover_req_t *req;
    wm_soap_env_t *env;
    const char *err = NULL, *answer, *reason;
    wm_fault_e fault;
    int status;

    (void)route;
    if (r->method_number == M_GET) {
        /* Microsoft's example answers text/html with Content-Length 0. */
        return wm_io_send(r, HTTP_OK, "text/html", "", 0);
    }

    if (!(env = wm_io_read_soap(r, wm_conf_max_message_size(sc),
                                WM_ACTION_DISCOVER, WM_ACTION_DISCOVER_RESPONSE,
                                &status))) {
        return status;
    }
    if (wm_discovery_parse(env, &req, &err, r->pool) != APR_SUCCESS) {
        return wm_io_soap_fault(r, WM_FAULT_MESSAGE_FORMAT,
                                WM_ACTION_DISCOVER_RESPONSE, env->message_id,
                                err);
    }

    dconf.public_url = wm_conf_public_url(sc);
    dconf.domains = sc->domains;
    dconf.policy = wm_conf_auth_policy(sc);
    if (wm_discovery_answer(&dconf, req, env->message_id, &answer, &fault,
                            &reason, r->pool) != APR_SUCCESS) {
        return wm_io_soap_fault(r, fault, WM_ACTION_DISCOVER_RESPONSE,
                                env->message_id, reason);
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  WMLOGNO(00006) "discovery for %s: RequestVersion %s, %s",
                  req->email,
                  req->request_version ? req->request_version : "nil",
                  wm_discovery_is_win81(req) ? "Windows 8.1" : "Windows 10/11");
    return wm_io_send(r, HTTP_OK, WM_SOAP_CONTENT_TYPE, answer, strlen(answer));
}
