/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* MS-XCEP GetPolicies (spec/enrollment.md section 4): the certificate
 * enrollment policy a device reads before it makes its key and request. */

#ifndef WM_XCEP_H
#define WM_XCEP_H

#include <apr_pools.h>

#include "wm_soap.h"

#define WM_NS_XCEP                                                             \
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollmentpolicy"
#define WM_ACTION_XCEP WM_NS_XCEP "/IPolicy/GetPolicies"
#define WM_ACTION_XCEP_RESPONSE WM_NS_XCEP "/IPolicy/GetPoliciesResponse"

/** What the policy says; from the vhost's directives. */
typedef struct wm_xcep_conf_t {
    int validity_days; /* WinMDMCertificateValidity */
    int renew_days;    /* WinMDMRenewPeriod */
} wm_xcep_conf_t;

/** Checks that env's body is a GetPolicies request.
 *  @return APR_SUCCESS or APR_EINVAL with *perr set (s:MessageFormat) */
apr_status_t wm_xcep_check(const wm_soap_env_t *env, const char **perr);

/** The whole GetPoliciesResponse envelope. */
const char *wm_xcep_response(const wm_xcep_conf_t *conf, const char *relates_to,
                             apr_pool_t *p);

#endif /* WM_XCEP_H */
