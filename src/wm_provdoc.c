/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The wap-provisioningdoc (see wm_provdoc.h). Microsoft's example uses two
 * CertificateStore blocks, one per store; so does this. Every value is
 * XML-escaped; the values that come from the device (DeviceID, its name)
 * are untrusted. */

#include <apr_lib.h>
#include <apr_strings.h>

#include "wm_provdoc.h"
#include "wm_syncml.h"
#include "wm_xml.h"

/* Percent-encodes everything but RFC 3986 unreserved characters. */
static const char *uri_escape(const char *s, apr_pool_t *p)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (apr_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *wm_provdoc_search_criteria(const char *device_id,
                                       int device_context, apr_pool_t *p)
{
    /* "Subject=<URI-escaped DN>&Stores=<URI-escaped store>" (MS-MDE2
     * 2.2.9.5); the DN is the one wm_cert_issue writes. */
    return apr_pstrcat(
        p, "Subject=", uri_escape(apr_pstrcat(p, "CN=", device_id, NULL), p),
        "&Stores=", device_context ? "MY%5CSystem" : "My%5CUser", NULL);
}

#define PARM(n, v) "<parm name=\"" n "\" value=\"", wm_xml_escape(v, p), "\"/>"
#define PARM_T(n, v, t)                                                        \
    "<parm name=\"" n "\" value=\"", v, "\" datatype=\"" t "\"/>"

/* The device's certificate, bound to the key it made (PrivateKeyContainer)
 * and its renewal (ROBO) settings. */
static const char *my_store(const wm_provdoc_t *d, apr_pool_t *p)
{
    return apr_pstrcat(
        p,
        "<characteristic type=\"CertificateStore\">"
        "<characteristic type=\"My\"><characteristic type=\"",
        d->device_context ? "System" : "User", "\"><characteristic type=\"",
        d->cert->sha1_hex, "\">", PARM("EncodedCertificate", d->cert->der_b64),
        "</characteristic>"
        "<characteristic type=\"PrivateKeyContainer\"/>"
        "</characteristic>"
        "<characteristic type=\"WSTEP\"><characteristic type=\"Renew\">",
        PARM_T("ROBOSupport", "true", "boolean"),
        PARM_T("RenewPeriod", apr_itoa(p, d->renew_days), "integer"),
        PARM_T("RetryInterval", apr_itoa(p, WM_RENEW_RETRY_DAYS), "integer"),
        "<parm name=\"ServerURL\" value=\"", wm_xml_escape(d->renew_url, p),
        "\" datatype=\"string\"/>",
        "</characteristic></characteristic>"
        "</characteristic></characteristic>",
        NULL);
}

const char *wm_provdoc_build(const wm_provdoc_t *d, apr_pool_t *p)
{
    const char *anchor, *poll = apr_itoa(p, d->poll_minutes);

    /* A self-signed CA is the root the device must trust; an intermediate
     * goes in CA/System and its root must already be trusted. */
    anchor = apr_pstrcat(
        p, "<characteristic type=\"CertificateStore\"><characteristic type=\"",
        d->ca->self_signed ? "Root" : "CA",
        "\"><characteristic type=\"System\"><characteristic type=\"",
        d->ca->sha1_hex, "\">", PARM("EncodedCertificate", d->ca->der_b64),
        "</characteristic></characteristic></characteristic>"
        "</characteristic>",
        NULL);

    if (d->renewal) {
        return apr_pstrcat(p, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                           "<wap-provisioningdoc version=\"1.1\">", anchor,
                           my_store(d, p), "</wap-provisioningdoc>", NULL);
    }
    return apr_pstrcat(
        p, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<wap-provisioningdoc version=\"1.1\">", anchor, my_store(d, p),
        /* the OMA-DM account (MS-MDE2 2.2.9.5) */
        "<characteristic type=\"APPLICATION\">", PARM("APPID", "w7"),
        PARM("PROVIDER-ID", d->provider_id), PARM("NAME", d->provider_id),
        PARM("ADDR", d->mgmt_url), PARM("CONNRETRYFREQ", "6"),
        PARM("INITIALBACKOFFTIME", "30000"), PARM("MAXBACKOFFTIME", "120000"),
        "<parm name=\"BACKCOMPATRETRYDISABLED\"/>",
        PARM("DEFAULTENCODING", WM_SYNCML_CONTENT_TYPE),
        PARM("SSLCLIENTCERTSEARCHCRITERIA",
             wm_provdoc_search_criteria(d->device_id, d->device_context, p)),
        /* CLIENT: how the server proves itself to the device */
        "<characteristic type=\"APPAUTH\">", PARM("AAUTHLEVEL", "CLIENT"),
        PARM("AAUTHTYPE", "DIGEST"), PARM("AAUTHNAME", d->provider_id),
        PARM("AAUTHSECRET", d->server_secret),
        PARM("AAUTHDATA", d->server_nonce), "</characteristic>",
        /* APPSRV: how the device proves itself to the server */
        "<characteristic type=\"APPAUTH\">", PARM("AAUTHLEVEL", "APPSRV"),
        PARM("AAUTHTYPE", "DIGEST"), PARM("AAUTHNAME", d->device_id),
        PARM("AAUTHSECRET", d->device_secret),
        PARM("AAUTHDATA", d->device_nonce),
        "</characteristic>"
        "</characteristic>",
        /* DMClient: the provider and its poll schedule. NumberOfFirstRetries
         * 0 repeats the first interval for ever (DMClient CSP). */
        "<characteristic type=\"DMClient\"><characteristic type=\"Provider\">"
        "<characteristic type=\"",
        wm_xml_escape(d->provider_id, p), "\">",
        d->upn ? "<parm name=\"UPN\" value=\"" : "",
        d->upn ? wm_xml_escape(d->upn, p) : "",
        d->upn ? "\" datatype=\"string\"/>" : "",
        d->device_name ? "<parm name=\"EntDeviceName\" value=\"" : "",
        d->device_name ? wm_xml_escape(d->device_name, p) : "",
        d->device_name ? "\" datatype=\"string\"/>" : "",
        "<characteristic type=\"Poll\">",
        PARM_T("NumberOfFirstRetries", "0", "integer"),
        PARM_T("IntervalForFirstSetOfRetries", poll, "integer"),
        PARM_T("PollOnLogin", "true", "boolean"),
        "</characteristic></characteristic></characteristic>"
        "</characteristic></wap-provisioningdoc>",
        NULL);
}
