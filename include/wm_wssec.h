/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The WS-Security header of MS-XCEP and MS-WSTEP requests (MS-MDE2 3.3,
 * spec/enrollment.md 4.1): a federated user token in a BinarySecurityToken,
 * or an OnPremise UsernameToken. */

#ifndef WM_WSSEC_H
#define WM_WSSEC_H

#include <apr_pools.h>

#include "wm_soap.h"

#define WM_VT_USER_TOKEN                                                       \
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentUserToken"
#define WM_PASSWORD_TEXT                                                       \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"

typedef enum {
    WM_CRED_NONE = 0, /* no wsse:Security header, or an empty one */
    WM_CRED_TOKEN,    /* BinarySecurityToken DeviceEnrollmentUserToken */
    WM_CRED_USERNAME  /* UsernameToken with a PasswordText password */
} wm_cred_kind_e;

typedef struct wm_cred_t {
    wm_cred_kind_e kind;
    const char *token;    /* WM_CRED_TOKEN: the sign-in page's wresult */
    const char *username; /* WM_CRED_USERNAME */
    const char *password; /* WM_CRED_USERNAME; never logged */
} wm_cred_t;

/**
 * Reads the credential from env's header. A BinarySecurityToken's text is
 * base64-decoded (the device encodes the wresult, MS-MDE2 3.3); a value
 * that does not decode to printable text is taken as it stands.
 * @return APR_SUCCESS (kind WM_CRED_NONE when there is no credential), or
 *         APR_EINVAL with *perr set when the header cannot be understood
 *         (an a:InvalidSecurity fault)
 */
apr_status_t wm_wssec_parse(const wm_soap_env_t *env, wm_cred_t **pcred,
                            const char **perr, apr_pool_t *p);

#endif /* WM_WSSEC_H */
