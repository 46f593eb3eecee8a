/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* MS-WSTEP RequestSecurityToken as MS-MDE2 3.4 uses it (spec/enrollment.md
 * section 5): the device's certificate request with its AdditionalContext,
 * and the RequestSecurityTokenResponseCollection carrying the provisioning
 * document. */

#ifndef WM_WSTEP_H
#define WM_WSTEP_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "wm_soap.h"

#define WM_NS_WST "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
#define WM_NS_AC "http://schemas.xmlsoap.org/ws/2006/12/authorization"
#define WM_ACTION_WSTEP WM_NS_ENROLL "/RST/wstep"
#define WM_ACTION_WSTEP_RESPONSE WM_NS_ENROLL "/RSTRC/wstep"
#define WM_TOKEN_TYPE                                                          \
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken"
#define WM_VT_PKCS10 WM_NS_ENROLL "#PKCS10"
/* A renewal's PKCS#7: MS-MDE2 3.5.4.1.1.1 (Windows 10/11) and Learn's
 * certificate renewal example name it by the WS-Security namespace,
 * MS-MDE 3.5.4.1.1.1 (Windows 8.1) by the enrollment namespace; both are
 * accepted on both enrollment paths. */
#define WM_VT_PKCS7_ENROLL WM_NS_ENROLL "#PKCS7"
#define WM_VT_PKCS7 WM_NS_WSSE "#PKCS7"
#define WM_VT_PROVDOC                                                          \
    "http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentProvisionDoc"
#define WM_ENC_BASE64 WM_NS_WSSE "#base64binary"

/* DeviceID becomes the certificate CN (at most 64 characters, RFC 5280
 * ub-common-name) and the OMA-DM LocURI of the device. */
#define WM_DEVICE_ID_MAX 64

/** A RequestSecurityToken; strings trimmed, NULL when absent. */
typedef struct wm_rst_t {
    int renew;             /* RequestType Renew (ROBO), else Issue */
    const char *csr_b64;   /* the body BinarySecurityToken */
    int pkcs7;             /* its ValueType is PKCS#7 */
    apr_table_t *context;  /* every ContextItem; names may repeat */
    const char *device_id; /* the context items the module keeps */
    const char *hw_dev_id;
    const char *enroll_type; /* "Full" or "Device" */
    const char *device_type;
    const char *os_edition;
    const char *os_version;
    const char *device_name;
    const char *app_version;
} wm_rst_t;

/**
 * Reads a RequestSecurityToken. Requires the DeviceEnrollmentToken
 * TokenType, an Issue or Renew RequestType, a base64 PKCS#10 or PKCS#7
 * token and a DeviceID context item, when there is one, that is usable
 * (wm_wstep_name_device decides whether one is needed).
 * @return APR_SUCCESS or APR_EINVAL with *perr set (s:MessageFormat)
 */
apr_status_t wm_wstep_parse(const wm_soap_env_t *env, wm_rst_t **prst,
                            const char **perr, apr_pool_t *p);

/** True when id can be a DeviceID: 1 to WM_DEVICE_ID_MAX printable ASCII
 *  characters, no space. */
int wm_wstep_device_id_ok(const char *id);

/** True when the device asked for a device-context (System) certificate:
 *  EnrollmentType "Device" (MS-MDE2 3.4.4.1.1.1.1). */
int wm_wstep_device_context(const wm_rst_t *rst);

/**
 * The RequestSecurityTokenResponseCollection envelope holding provdoc
 * (the wap-provisioningdoc XML, base64-encoded here).
 * @param now  seconds since 1970, for the u:Timestamp
 */
const char *wm_wstep_response(const char *provdoc, const char *relates_to,
                              apr_int64_t now, apr_pool_t *p);

/**
 * Names the device an Issue request enrolls. A Windows 10/11 request
 * (MS-MDE2) must carry a DeviceID context item. A Windows 8.1 request
 * (MS-MDE 3.4.4.1.1.1) has none: the server names the device, with a GUID
 * as MS-MDE's example certificate shows, and the provisioning document
 * tells the client (SslClientCertSubjectName).
 * @param win81  the request came to the Windows 8.1 enrollment path
 * @return APR_SUCCESS with rst->device_id set, APR_EINVAL with *perr set
 *         (s:MessageFormat), APR_EGENERAL when no random numbers
 */
apr_status_t wm_wstep_name_device(wm_rst_t *rst, int win81, const char **perr,
                                  apr_pool_t *p);

#endif /* WM_WSTEP_H */
