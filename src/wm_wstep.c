/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* MS-WSTEP request parsing and response building (see wm_wstep.h).
 * Context values can carry leading spaces (" 4") and case variants
 * ("True"), so they are trimmed and compared case-insensitively
 * (spec/enrollment.md 5.2 notes). */

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <openssl/rand.h>

#include "wm_cert.h"
#include "wm_wstep.h"
#include "wm_xml.h"

int wm_wstep_device_id_ok(const char *id)
{
    const char *c;
    if (!id || !*id || strlen(id) > WM_DEVICE_ID_MAX) {
        return 0;
    }
    for (c = id; *c; c++) {
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
            return 0;
        }
    }
    return 1;
}

int wm_wstep_device_context(const wm_rst_t *rst)
{
    return rst->enroll_type && !strcasecmp(rst->enroll_type, "Device");
}

/* s without its white space; NULL for NULL. */
static const char *without_space(const char *s, apr_pool_t *p)
{
    char *out, *o;

    if (!s) {
        return NULL;
    }
    for (out = o = apr_pstrdup(p, s); *s; s++) {
        if (!apr_isspace(*s)) {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

apr_status_t wm_wstep_parse(const wm_soap_env_t *env, wm_rst_t **prst,
                            const char **perr, apr_pool_t *p)
{
    wm_rst_t *rst;
    const char *tt, *rt, *vt;
    xmlNodePtr bst, item;

    *prst = NULL;
    if (!wm_xml_is(env->body, WM_NS_WST, "RequestSecurityToken")) {
        *perr = "the body is not a WS-Trust RequestSecurityToken";
        return APR_EINVAL;
    }
    rst = apr_pcalloc(p, sizeof(*rst));
    tt = wm_xml_child_text(env->body, WM_NS_WST, "TokenType", p);
    if (!tt || strcmp(tt, WM_TOKEN_TYPE)) {
        *perr = "TokenType is not DeviceEnrollmentToken";
        return APR_EINVAL;
    }
    rt = wm_xml_child_text(env->body, WM_NS_WST, "RequestType", p);
    if (rt && !strcmp(rt, WM_NS_WST "/Issue")) {
        rst->renew = 0;
    }
    else if (rt && !strcmp(rt, WM_NS_WST "/Renew")) {
        rst->renew = 1;
    }
    else {
        *perr = "RequestType is neither Issue nor Renew";
        return APR_EINVAL;
    }
    bst = wm_xml_child(env->body, WM_NS_WSSE, "BinarySecurityToken");
    vt = wm_xml_attr(bst, NULL, "ValueType", p);
    if (!vt) {
        vt = wm_xml_attr(bst, WM_NS_WSSE, "ValueType", p);
    }
    /* MS-MDE publishes the ValueType with a space inside it ("2009/01/
     * enrollment#PKCS7"); no URI holds white space. */
    vt = without_space(vt, p);
    if (!bst || !vt) {
        *perr = "no PKCS#10 or PKCS#7 BinarySecurityToken in the request";
        return APR_EINVAL;
    }
    rst->pkcs7 = !strcmp(vt, WM_VT_PKCS7) || !strcmp(vt, WM_VT_PKCS7_ENROLL);
    if (!rst->pkcs7 && strcmp(vt, WM_VT_PKCS10)) {
        *perr = "no PKCS#10 or PKCS#7 BinarySecurityToken in the request";
        return APR_EINVAL;
    }
    rst->csr_b64 = wm_xml_text(bst, p);

    rst->context = apr_table_make(p, 24);
    for (item = wm_xml_child(
             wm_xml_child(env->body, WM_NS_AC, "AdditionalContext"), WM_NS_AC,
             "ContextItem");
         item; item = wm_xml_next(item, WM_NS_AC, "ContextItem")) {
        const char *name = wm_xml_attr(item, NULL, "Name", p);
        const char *value = wm_xml_child_text(item, WM_NS_AC, "Value", p);
        if (name && value) {
            apr_table_add(rst->context, name, value);
        }
    }
    rst->device_id = apr_table_get(rst->context, "DeviceID");
    rst->hw_dev_id = apr_table_get(rst->context, "HWDevID");
    rst->enroll_type = apr_table_get(rst->context, "EnrollmentType");
    rst->device_type = apr_table_get(rst->context, "DeviceType");
    rst->os_edition = apr_table_get(rst->context, "OSEdition");
    rst->os_version = apr_table_get(rst->context, "OSVersion");
    rst->device_name = apr_table_get(rst->context, "DeviceName");
    rst->app_version = apr_table_get(rst->context, "ApplicationVersion");
    if (rst->device_id && !wm_wstep_device_id_ok(rst->device_id)) {
        *perr = "the DeviceID is empty, too long or holds spaces or "
                "control characters";
        return APR_EINVAL;
    }
    *prst = rst;
    return APR_SUCCESS;
}

apr_status_t wm_wstep_name_device(wm_rst_t *rst, int win81, const char **perr,
                                  apr_pool_t *p)
{
    unsigned char raw[16];

    if (rst->device_id) {
        return APR_SUCCESS;
    }
    if (!win81) {
        *perr = "the request has no DeviceID context item";
        return APR_EINVAL;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1) {
        return APR_EGENERAL;
    }
    raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40); /* RFC 4122 v4 */
    raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80);
    rst->device_id = apr_psprintf(
        p,
        "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
        raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7], raw[8],
        raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]);
    return APR_SUCCESS;
}

static const char *iso8601(apr_int64_t secs, apr_pool_t *p)
{
    apr_time_exp_t t;
    apr_time_exp_gmt(&t, apr_time_from_sec(secs));
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.000Z",
                        t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
                        t.tm_min, t.tm_sec);
}

const char *wm_wstep_response(const char *provdoc, const char *relates_to,
                              apr_int64_t now, apr_pool_t *p)
{
    const char *security = apr_pstrcat(
        p,
        "<o:Security s:mustUnderstand=\"1\" xmlns:o=\"" WM_NS_WSSE "\">"
        "<u:Timestamp u:Id=\"_0\"><u:Created>",
        iso8601(now, p), "</u:Created><u:Expires>", iso8601(now + 300, p),
        "</u:Expires></u:Timestamp></o:Security>", NULL);
    const char *body = apr_pstrcat(
        p,
        "<RequestSecurityTokenResponseCollection xmlns=\"" WM_NS_WST "\">"
        "<RequestSecurityTokenResponse>"
        "<TokenType>" WM_TOKEN_TYPE "</TokenType>"
        "<DispositionMessage xmlns=\"" WM_NS_ENROLL "\"/>"
        "<RequestedSecurityToken>"
        "<BinarySecurityToken ValueType=\"" WM_VT_PROVDOC "\" "
        "EncodingType=\"" WM_ENC_BASE64 "\" xmlns=\"" WM_NS_WSSE "\">",
        wm_b64_encode((const unsigned char *)provdoc, strlen(provdoc), p),
        "</BinarySecurityToken></RequestedSecurityToken>"
        "<RequestID xmlns=\"" WM_NS_ENROLL "\">0</RequestID>"
        "</RequestSecurityTokenResponse>"
        "</RequestSecurityTokenResponseCollection>",
        NULL);
    return wm_soap_envelope(WM_ACTION_WSTEP_RESPONSE, relates_to, security,
                            body, p);
}
