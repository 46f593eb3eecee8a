/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* MS-MDE2 discovery (section 3.1.4.1): the Discover request a device posts
 * to EnterpriseEnrollment.<domain>/EnrollmentServer/Discovery.svc and the
 * DiscoverResponse naming the policy, enrollment and sign-in URLs. */

#ifndef WM_DISCOVERY_H
#define WM_DISCOVERY_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "wm_soap.h"

#define WM_NS_DISCOVERY                                                        \
    "http://schemas.microsoft.com/windows/management/2012/01/enrollment"
#define WM_ACTION_DISCOVER WM_NS_DISCOVERY "/IDiscoveryService/Discover"
#define WM_ACTION_DISCOVER_RESPONSE                                            \
    WM_NS_DISCOVERY "/IDiscoveryService/DiscoverResponse"

/** WinMDMAuthPolicy. */
typedef enum { WM_AUTH_FEDERATED = 0, WM_AUTH_ONPREMISE = 1 } wm_auth_policy_e;

/** A Discover request; strings trimmed, NULL when absent. */
typedef struct wm_discover_req_t {
    const char *email;
    const char *request_version; /* NULL when nil, empty or absent */
    int version; /* RequestVersion in thousandths: "4.0" is 4000; 0 nil */
    const char *device_type;
    const char *app_version;
    const char *os_edition;
    apr_array_header_t *auth_policies; /* const char *, as offered */
} wm_discover_req_t;

/** What a vhost answers with. */
typedef struct wm_discovery_conf_t {
    const char *public_url;            /* no trailing slash */
    const apr_array_header_t *domains; /* const char *; NULL or empty: any */
    wm_auth_policy_e policy;
} wm_discovery_conf_t;

/**
 * Reads the Discover request out of a parsed envelope. Accepts the Discover
 * namespace with or without its trailing slash (Microsoft's examples have
 * one, devices do not).
 * @return APR_SUCCESS, or APR_EINVAL with *perr set (an s:MessageFormat)
 */
apr_status_t wm_discovery_parse(const wm_soap_env_t *env,
                                wm_discover_req_t **preq, const char **perr,
                                apr_pool_t *p);

/** True for a Windows 8.1 client: RequestVersion below 3.0, or nil as
 *  MS-MDE v1's client sends it (DESIGN.md section 1). */
int wm_discovery_is_win81(const wm_discover_req_t *req);

/** The EnrollmentVersion to return: NULL below 3.0, else
 *  min(RequestVersion, 4.0) as "M.m" (DESIGN.md section 1). */
const char *wm_discovery_enrollment_version(const wm_discover_req_t *req,
                                            apr_pool_t *p);

/**
 * Decides and builds the answer.
 * @param pbody    on success, the whole response envelope
 * @param pfault   on refusal, the fault subcode
 * @param preason  on refusal, why (for the fault text and the log)
 * @return APR_SUCCESS or APR_EACCES (refused: *pfault and *preason set)
 */
apr_status_t wm_discovery_answer(const wm_discovery_conf_t *conf,
                                 const wm_discover_req_t *req,
                                 const char *relates_to, const char **pbody,
                                 wm_fault_e *pfault, const char **preason,
                                 apr_pool_t *p);

#endif /* WM_DISCOVERY_H */
