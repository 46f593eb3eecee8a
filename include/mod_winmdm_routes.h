/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The route table: every path the module serves, device-facing and MDM
 * endpoint alike, and the one content handler that dispatches them. */

#ifndef MOD_WINMDM_ROUTES_H
#define MOD_WINMDM_ROUTES_H

#include <httpd.h>

#include "mod_winmdm_config.h"

/** What a route serves; a device-facing path and its aliases share one. */
typedef enum {
    WM_EP_DISCOVERY, /* MS-MDE2 discovery GET and POST */
    WM_EP_LOGIN,     /* federated sign-in page */
    WM_EP_XCEP,      /* MS-XCEP GetPolicies */
    WM_EP_WSTEP81,   /* MS-WSTEP, Windows 8.1 */
    WM_EP_WSTEP10,   /* MS-WSTEP, Windows 10/11 */
    WM_EP_SYNCML81,  /* OMA-DM, Windows 8.1 */
    WM_EP_SYNCML10,  /* OMA-DM, Windows 10/11 */
    WM_EP_ADMIN      /* JSON admin API */
} wm_endpoint_e;

typedef struct wm_route_t wm_route_t;

/** An endpoint handler: does the whole exchange, returns OK or a status. */
typedef int wm_endpoint_fn(request_rec *r, const wm_srv_conf_t *sc,
                           const wm_route_t *route);

struct wm_route_t {
    const char *path;    /* device-facing path, or suffix after {api} */
    unsigned flags;      /* WM_RT_* */
    apr_int64_t methods; /* AP_METHOD_BIT << M_xxx */
    wm_endpoint_e endpoint;
    wm_endpoint_fn *handler;
};

#define WM_RT_API 0x1      /* path is under WinMDMAPIPrefix */
#define WM_RT_SERVICES 0x2 /* also under {api}/services (WSO2 docs form) */
#define WM_RT_PREFIX 0x4   /* path is a prefix: everything below it */
#define WM_RT_EXACT 0x8    /* matched byte for byte, {api} included: the
                            * admin API, whose guarding <Location> is
                            * case-sensitive (DESIGN.md section 5) */

/**
 * Finds the route of a request path: case-insensitively, except for
 * WM_RT_EXACT routes (the admin API), which match only their exact path.
 * @param uri         the decoded request path (r->uri)
 * @param api_prefix  WinMDMAPIPrefix
 * @return the route or NULL
 */
const wm_route_t *wm_route_match(const char *uri, const char *api_prefix);

/** The content handler (registered by mod_winmdm.c). */
int wm_route_handler(request_rec *r);

/* Endpoint handlers, one file each. */
int wm_ep_discovery(request_rec *r, const wm_srv_conf_t *sc,
                    const wm_route_t *route);
int wm_ep_login(request_rec *r, const wm_srv_conf_t *sc,
                const wm_route_t *route);
int wm_ep_xcep(request_rec *r, const wm_srv_conf_t *sc,
               const wm_route_t *route);
int wm_ep_wstep(request_rec *r, const wm_srv_conf_t *sc,
                const wm_route_t *route);
int wm_ep_syncml(request_rec *r, const wm_srv_conf_t *sc,
                 const wm_route_t *route);
int wm_ep_admin(request_rec *r, const wm_srv_conf_t *sc,
                const wm_route_t *route);

#endif /* MOD_WINMDM_ROUTES_H */
