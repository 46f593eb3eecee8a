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
/* The client certificate in My/User (user context) or My/System (device
 * context), with the PrivateKeyContainer that binds the key the device
 * made (MS-MDE2 2.2.9.1); CertificateStore and My are left open. */
static const char *my_cert(const wm_provdoc_t *d, apr_pool_t *p)
{
    return apr_pstrcat(
        p,
        "<characteristic type=\"CertificateStore\">"
        "<characteristic type=\"My\"><characteristic type=\"",
        d->device_context ? "System" : "User", "\"><characteristic type=\"",
        d->cert->sha1_hex, "\">", PARM("EncodedCertificate", d->cert->der_b64),
        "</characteristic>"
        "<characteristic type=\"PrivateKeyContainer\"/>"
        "</characteristic>",
        NULL);
}

/* The certificate and the ROBO renewal settings (MS-MDE2 2.2.9.2; "the
 * renewal period can only be set during the MDM enrollment phase"). */
static const char *my_store(const wm_provdoc_t *d, apr_pool_t *p)
{
    return apr_pstrcat(
        p, my_cert(d, p),
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

void wm_provdoc_poll_schedule(int minutes, wm_poll_schedule_t *out)
{
    if (minutes < 1) {
        minutes = 1;
    }
    out->first_count = 5;
    out->first_minutes = minutes < 3 ? minutes : 3;
    out->second_count = 8;
    out->second_minutes = minutes < 15 ? minutes : 15;
    out->remaining_count = 0;
    out->remaining_minutes = minutes;
}

static const char *poll_parms(int minutes, apr_pool_t *p)
{
    wm_poll_schedule_t s;

    wm_provdoc_poll_schedule(minutes, &s);
    return apr_pstrcat(
        p,
        PARM_T("NumberOfFirstRetries", apr_itoa(p, s.first_count), "integer"),
        PARM_T("IntervalForFirstSetOfRetries", apr_itoa(p, s.first_minutes),
               "integer"),
        PARM_T("NumberOfSecondRetries", apr_itoa(p, s.second_count),
               "integer"),
        PARM_T("IntervalForSecondSetOfRetries", apr_itoa(p, s.second_minutes),
               "integer"),
        PARM_T("NumberOfRemainingScheduledRetries",
               apr_itoa(p, s.remaining_count), "integer"),
        PARM_T("IntervalForRemainingScheduledRetries",
               apr_itoa(p, s.remaining_minutes), "integer"),
        PARM_T("PollOnLogin", "true", "boolean"), NULL);
}

/* The OMA-DM account's parameters both document versions share, up to
 * the APPAUTH blocks (MS-MDE2 2.2.9.5, MS-MDE 3.6). */
static const char *w7_account(const wm_provdoc_t *d, apr_pool_t *p)
{
    return apr_pstrcat(
        p, "<characteristic type=\"APPLICATION\">", PARM("APPID", "w7"),
        PARM("PROVIDER-ID", d->provider_id), PARM("NAME", d->provider_id),
        PARM("ADDR", d->mgmt_url),
        /* MS-MDE 3.6's example (Windows 8.1) names these too */
        d->win81 ? apr_pstrcat(p, PARM("ServerList", d->mgmt_url),
                               "<parm name=\"ROLE\" value=\"4294967295\"/>",
                               NULL)
                 : "",
        PARM("CONNRETRYFREQ", "6"), PARM("INITIALBACKOFFTIME", "30000"),
        PARM("MAXBACKOFFTIME", "120000"),
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
        NULL);
}

#define REG_PARM(n, v, t)                                                      \
    "<parm name=\"" n "\" value=\"", wm_xml_escape(v, p),                      \
        "\" datatype=\"" t "\"/>"

/* The Registry settings of MS-MDE 3.6's example, which Windows 8.1 reads
 * in place of the DMClient CSP: the renewal period (days after issue), the
 * OMA-DM retry (poll) schedule and where the device's identity and
 * certificate are. The OMADM\Accounts\<id> key of the example is left
 * out: MS-MDE does not say how its id is made, and the w7 APPLICATION's
 * SSLCLIENTCERTSEARCHCRITERIA already names the certificate. */
static const char *win81_registry(const wm_provdoc_t *d, apr_pool_t *p)
{
    wm_poll_schedule_t s;
    int renew_after = d->validity_days - d->renew_days;

    wm_provdoc_poll_schedule(d->poll_minutes, &s);
    return apr_pstrcat(
        p,
        "<characteristic type=\"Registry\">"
        "<characteristic type=\"HKLM\\Security\\MachineEnrollment\">",
        REG_PARM("RenewalPeriod", apr_itoa(p, renew_after > 0 ? renew_after : 1),
                 "integer"),
        "</characteristic>"
        "<characteristic "
        "type=\"HKLM\\Security\\MachineEnrollment\\OmaDmRetry\">",
        REG_PARM("NumRetries", apr_itoa(p, s.first_count), "integer"),
        REG_PARM("RetryInterval", apr_itoa(p, s.first_minutes), "integer"),
        REG_PARM("AuxNumRetries", apr_itoa(p, s.second_count), "integer"),
        REG_PARM("AuxRetryInterval", apr_itoa(p, s.second_minutes), "integer"),
        REG_PARM("Aux2NumRetries", apr_itoa(p, s.remaining_count), "integer"),
        REG_PARM("Aux2RetryInterval", apr_itoa(p, s.remaining_minutes),
                 "integer"),
        "</characteristic></characteristic>"
        /* "required in the current version of the protocol" (MS-MDE) */
        "<characteristic type=\"Registry\"><characteristic type=\"HKLM\\"
        "Software\\Windows\\CurrentVersion\\MDM\\MachineEnrollment\">",
        REG_PARM("DeviceName", d->device_name ? d->device_name : "", "string"),
        "</characteristic></characteristic>"
        "<characteristic type=\"Registry\"><characteristic type=\"HKLM\\"
        "SOFTWARE\\Windows\\CurrentVersion\\MDM\\MachineEnrollment\">",
        REG_PARM("SslServerRootCertHash", d->ca->sha1_hex, "string"),
        REG_PARM("SslClientCertStore",
                 d->device_context ? "MY%5CSystem" : "MY%5CUser", "string"),
        REG_PARM("SslClientCertSubjectName",
                 apr_pstrcat(p, "CN%3d", d->device_id, NULL), "string"),
        REG_PARM("SslClientCertHash", d->cert->sha1_hex, "string"),
        "</characteristic></characteristic>", NULL);
}

const char *wm_provdoc_build(const wm_provdoc_t *d, apr_pool_t *p)
{
    const char *anchor;

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

    if (d->renewal && d->win81) {
        /* MS-MDE 3.5.4.1.1.2: "only the
         * CertificateStore/My/User/EncodedCertificate is returned". */
        return apr_pstrcat(p, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                           "<wap-provisioningdoc version=\"1.1\">",
                           my_cert(d, p), "</characteristic></characteristic>",
                           "</wap-provisioningdoc>", NULL);
    }
    if (d->renewal) {
        /* Learn, Certificate Renewal: the new certificate (with the root,
         * "only needed here if it is not in the device already") and the
         * account's PROVIDER-ID; the OMA-DM account and DMClient settings
         * stay as they are. */
        return apr_pstrcat(
            p, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<wap-provisioningdoc version=\"1.1\">", anchor, my_cert(d, p),
            "</characteristic></characteristic>"
            "<characteristic type=\"APPLICATION\">",
            PARM("PROVIDER-ID", d->provider_id),
            "</characteristic></wap-provisioningdoc>", NULL);
    }
    if (d->win81) {
        return apr_pstrcat(p, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
                           "<wap-provisioningdoc version=\"1.1\">", anchor,
                           my_cert(d, p), "</characteristic></characteristic>",
                           w7_account(d, p), win81_registry(d, p),
                           "</wap-provisioningdoc>", NULL);
    }
    return apr_pstrcat(
        p, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
        "<wap-provisioningdoc version=\"1.1\">", anchor, my_store(d, p),
        w7_account(d, p),
        /* DMClient: the provider, the server's id of the device (EntDMID,
         * which the DMClient CSP requires before the client renews its
         * certificate) and the poll schedule (MS-MDE2 2.2.9.3). */
        "<characteristic type=\"DMClient\"><characteristic type=\"Provider\">"
        "<characteristic type=\"",
        wm_xml_escape(d->provider_id, p), "\">",
        "<parm name=\"EntDMID\" value=\"", wm_xml_escape(d->device_id, p),
        "\" datatype=\"string\"/>",
        d->upn ? "<parm name=\"UPN\" value=\"" : "",
        d->upn ? wm_xml_escape(d->upn, p) : "",
        d->upn ? "\" datatype=\"string\"/>" : "",
        d->device_name ? "<parm name=\"EntDeviceName\" value=\"" : "",
        d->device_name ? wm_xml_escape(d->device_name, p) : "",
        d->device_name ? "\" datatype=\"string\"/>" : "",
        "<characteristic type=\"Poll\">", poll_parms(d->poll_minutes, p),
        "</characteristic></characteristic></characteristic>"
        "</characteristic></wap-provisioningdoc>",
        NULL);
}
