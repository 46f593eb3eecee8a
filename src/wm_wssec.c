/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* WS-Security header parsing (see wm_wssec.h). Microsoft's samples write
 * the BinarySecurityToken attributes both bare and wsse-prefixed, so both
 * are read (spec/enrollment.md 5.2 notes). */

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "wm_cert.h"
#include "wm_wssec.h"
#include "wm_xml.h"

/* Longest credential field accepted: far above any real token or name. */
#define MAX_FIELD 4096

static const char *attr_any(const xmlNode *n, const char *name, apr_pool_t *p)
{
    const char *v = wm_xml_attr(n, NULL, name, p);
    return v ? v : wm_xml_attr(n, WM_NS_WSSE, name, p);
}

static int printable(const unsigned char *s, apr_size_t n)
{
    apr_size_t i;
    for (i = 0; i < n; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e) {
            return 0;
        }
    }
    return n > 0;
}

apr_status_t wm_wssec_parse(const wm_soap_env_t *env, wm_cred_t **pcred,
                            const char **perr, apr_pool_t *p)
{
    wm_cred_t *cred = apr_pcalloc(p, sizeof(*cred));
    xmlNodePtr sec, bst, ut;

    *pcred = cred;
    sec = wm_xml_child(env->header, WM_NS_WSSE, "Security");
    if (!sec) {
        return APR_SUCCESS;
    }
    bst = wm_xml_child(sec, WM_NS_WSSE, "BinarySecurityToken");
    ut = wm_xml_child(sec, WM_NS_WSSE, "UsernameToken");
    if (bst && ut) {
        *perr = "the Security header holds two credentials";
        return APR_EINVAL;
    }
    if (bst) {
        const char *vt = attr_any(bst, "ValueType", p);
        const char *text = wm_xml_text(bst, p);
        unsigned char *dec;
        apr_size_t len;

        if (!vt || strcmp(vt, WM_VT_USER_TOKEN)) {
            *perr = apr_psprintf(p,
                                 "unsupported BinarySecurityToken "
                                 "ValueType %s",
                                 vt ? vt : "(none)");
            return APR_EINVAL;
        }
        if (!*text || strlen(text) > MAX_FIELD) {
            *perr = "the BinarySecurityToken is empty or too long";
            return APR_EINVAL;
        }
        cred->kind = WM_CRED_TOKEN;
        cred->token = text;
        if (wm_b64_decode(text, &dec, &len, p) == APR_SUCCESS &&
            printable(dec, len)) {
            cred->token = apr_pstrmemdup(p, (const char *)dec, len);
        }
        return APR_SUCCESS;
    }
    if (ut) {
        xmlNodePtr pw = wm_xml_child(ut, WM_NS_WSSE, "Password");
        const char *type = wm_xml_attr(pw, NULL, "Type", p);

        if (!type) {
            type = wm_xml_attr(pw, WM_NS_WSSE, "Type", p);
        }
        cred->username = wm_xml_child_text(ut, WM_NS_WSSE, "Username", p);
        if (!cred->username || !*cred->username || !pw) {
            *perr = "the UsernameToken lacks Username or Password";
            return APR_EINVAL;
        }
        /* Only clear-text passwords can be checked by httpd's providers;
         * the Type is optional and PasswordText is its default. */
        if (type && strcmp(type, WM_PASSWORD_TEXT)) {
            *perr = "only PasswordText UsernameTokens are supported";
            return APR_EINVAL;
        }
        /* The password is taken as sent: spaces may be part of it. */
        {
            xmlChar *c = xmlNodeGetContent(pw);
            cred->password = apr_pstrdup(p, c ? (const char *)c : "");
            xmlFree(c);
        }
        if (strlen(cred->username) > MAX_FIELD ||
            strlen(cred->password) > MAX_FIELD) {
            *perr = "the UsernameToken is too long";
            return APR_EINVAL;
        }
        cred->kind = WM_CRED_USERNAME;
        return APR_SUCCESS;
    }
    return APR_SUCCESS;
}
