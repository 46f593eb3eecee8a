/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Every path mod_winmdm serves, in one table (DESIGN.md section 1; the WSO2
 * IoT Server 3.1.0 map is spec/wso2-paths.md section 6). Paths match
 * case-insensitively: devices and WSO2 docs write both /EnrollmentServer/
 * and /ENROLLMENTSERVER/. MDM endpoint paths sit under WinMDMAPIPrefix,
 * with and without the "services/" segment WSO2 dropped in late 2016. The
 * query string plays no part in routing (devices append ?mode=...). */

#include <string.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_ssl.h>

#include "wm_paths.h"
#include "mod_winmdm_config.h"
#include "mod_winmdm_private.h"
#include "mod_winmdm_routes.h"

#define GET (AP_METHOD_BIT << M_GET)
#define POST (AP_METHOD_BIT << M_POST)
#define PUT (AP_METHOD_BIT << M_PUT)
#define DELETE (AP_METHOD_BIT << M_DELETE)
#define API_BOTH (WM_RT_API | WM_RT_SERVICES)

static const wm_route_t routes[] = {
    /* discovery: GET says "the server is up", POST is Discover */
    {WM_PATH_DISCOVERY, 0, GET | POST, WM_EP_DISCOVERY, wm_ep_discovery},
    {"/discovery/get", API_BOTH, GET, WM_EP_DISCOVERY, wm_ep_discovery},
    {"/discovery/post", API_BOTH, POST, WM_EP_DISCOVERY, wm_ep_discovery},
    /* federated sign-in page opened by the web authentication broker */
    {WM_PATH_LOGIN, 0, GET | POST, WM_EP_LOGIN, wm_ep_login},
    {"/windows-web-agent", 0, GET | POST, WM_EP_LOGIN, wm_ep_login},
    {"/windows-web-agent/enrollments/windows/login-agent", 0, GET | POST,
     WM_EP_LOGIN, wm_ep_login},
    /* MS-XCEP certificate enrollment policy */
    {WM_PATH_XCEP, 0, POST, WM_EP_XCEP, wm_ep_xcep},
    {"/certificatepolicy/xcep", API_BOTH, POST, WM_EP_XCEP, wm_ep_xcep},
    /* MS-WSTEP enrollment: Windows 8.1, then Windows 10/11 */
    {WM_PATH_WSTEP81, 0, POST, WM_EP_WSTEP81, wm_ep_wstep},
    {"/deviceenrolment/wstep", API_BOTH, POST, WM_EP_WSTEP81, wm_ep_wstep},
    {WM_PATH_WSTEP10, 0, POST, WM_EP_WSTEP10, wm_ep_wstep},
    {"/deviceenrolment/enrollment", API_BOTH, POST, WM_EP_WSTEP10, wm_ep_wstep},
    /* OMA-DM management sessions: Windows 8.1, then Windows 10/11 */
    {WM_PATH_SYNCML81, 0, POST, WM_EP_SYNCML81, wm_ep_syncml},
    {"/syncml/devicemanagement/request", API_BOTH, POST, WM_EP_SYNCML81,
     wm_ep_syncml},
    {WM_PATH_SYNCML10, 0, POST, WM_EP_SYNCML10, wm_ep_syncml},
    {"/management/devicemgt/pending-operations", API_BOTH, POST, WM_EP_SYNCML10,
     wm_ep_syncml},
    /* administrators' JSON API (DESIGN.md section 6): its exact path only,
     * because the <Location> that guards it matches case-sensitively */
    {"/admin", WM_RT_API | WM_RT_PREFIX | WM_RT_EXACT,
     GET | POST | PUT | DELETE, WM_EP_ADMIN, wm_ep_admin},
};

/* Does path equal (or, for a prefix route, start with a segment boundary
 * after) want? Case-insensitively, or byte for byte when exact. */
static int path_is(const char *path, const char *want, int prefix, int exact)
{
    size_t n = strlen(want);
    if (exact ? strncmp(path, want, n) : strncasecmp(path, want, n)) {
        return 0;
    }
    return path[n] == '\0' || (prefix && path[n] == '/');
}

const wm_route_t *wm_route_match(const char *uri, const char *api_prefix)
{
    size_t api_len = strlen(api_prefix), i;
    const char *rest = NULL, *rest_services = NULL;

    if (!strncasecmp(uri, api_prefix, api_len) && uri[api_len] == '/') {
        rest = uri + api_len;
        if (!strncasecmp(rest, "/services/", 10)) {
            rest_services = rest + 9;
        }
    }
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const wm_route_t *rt = &routes[i];
        int prefix = (rt->flags & WM_RT_PREFIX) != 0;
        int exact = (rt->flags & WM_RT_EXACT) != 0;

        if (!(rt->flags & WM_RT_API)) {
            if (path_is(uri, rt->path, prefix, exact)) {
                return rt;
            }
            continue;
        }
        if (exact && strncmp(uri, api_prefix, api_len)) {
            /* {api} itself in another case: not this route */
            continue;
        }
        if (rest && path_is(rest, rt->path, prefix, exact)) {
            return rt;
        }
        if (rest_services && (rt->flags & WM_RT_SERVICES) &&
            path_is(rest_services, rt->path, prefix, exact)) {
            return rt;
        }
    }
    return NULL;
}

/* TLS only (DESIGN.md section 5): on a plain connection only the
 * discovery GET ("the server is up") is served, unless WinMDMTLSOffload
 * says TLS ends in front of httpd. The sign-in page, the provisioning
 * document (the device's digest secret) and the OMA-DM sessions never
 * cross the network in clear. */
static int refuse_plain(request_rec *r, const wm_srv_conf_t *sc,
                        const wm_route_t *rt)
{
    static const char body[] =
        "This path is served over HTTPS only.\n";

    if (wm_conf_tls_offload(sc) || ap_ssl_conn_is_ssl(r->connection) ||
        (rt->endpoint == WM_EP_DISCOVERY && r->method_number == M_GET)) {
        return DECLINED;
    }
    /* info, as other refusals of what a client sent: any client can send
     * this, and warn is for what an administrator must fix. */
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  WMLOGNO(00043) "%s %s refused: not a TLS connection (only "
                  "the discovery GET is served without TLS; set "
                  "WinMDMTLSOffload On if TLS ends in front of httpd)",
                  r->method, r->uri);
    r->status = HTTP_FORBIDDEN;
    ap_set_content_type(r, "text/plain; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)(sizeof(body) - 1));
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        ap_rwrite(body, (int)(sizeof(body) - 1), r);
    }
    return OK;
}

int wm_route_handler(request_rec *r)
{
    const wm_srv_conf_t *sc = wm_config_get(r->server);
    const wm_route_t *rt;

    if (!wm_conf_enabled(sc) || !r->uri || r->uri[0] != '/') {
        return DECLINED;
    }
    if (!(rt = wm_route_match(r->uri, wm_conf_api_prefix(sc)))) {
        return DECLINED;
    }
    if (r->method_number < 0 || r->method_number >= 64 ||
        !(rt->methods & (AP_METHOD_BIT << r->method_number))) {
        /* httpd builds the Allow header of the 405 from this mask. */
        r->allowed = rt->methods;
        r->allowed_methods->method_mask = rt->methods;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "route %s -> endpoint %d",
                  r->uri, (int)rt->endpoint);
    if (refuse_plain(r, sc, rt) == OK) {
        return OK;
    }
    return rt->handler(r, sc, rt);
}
