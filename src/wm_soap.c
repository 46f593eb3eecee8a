/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* SOAP 1.2 envelope parsing and building, and SOAP faults. Whitespace
 * inside header text is trimmed: Microsoft's own examples put newlines
 * inside a:Action (spec/enrollment.md 0.1). */

#include <apr_strings.h>

#include "wm_soap.h"
#include "wm_xml.h"

apr_status_t wm_soap_parse(wm_soap_env_t **penv, const char *buf,
                           apr_size_t len, apr_size_t max, const char **perr,
                           apr_pool_t *p)
{
    wm_xml_limits_t lim;
    wm_soap_env_t *env;
    xmlNodePtr root, body;
    apr_status_t rv;

    *penv = NULL;
    lim.max_size = max;
    lim.max_depth = WM_SOAP_MAX_DEPTH;
    lim.allow_doctype = 0; /* SOAP 1.2 part 1, 5: no DTD in a message */
    env = apr_pcalloc(p, sizeof(*env));
    if ((rv = wm_xml_parse(&env->doc, buf, len, &lim, perr, p))) {
        return rv;
    }
    root = xmlDocGetRootElement(env->doc);
    if (!wm_xml_is(root, NULL, "Envelope")) {
        *perr = "the body is not a SOAP envelope";
        return APR_EINVAL;
    }
    if (!wm_xml_is(root, WM_NS_SOAP, "Envelope")) {
        *perr = wm_xml_is(root, WM_NS_SOAP11, "Envelope")
                    ? "SOAP 1.1 envelopes are not supported; use SOAP 1.2"
                    : "the envelope is not in the SOAP 1.2 namespace";
        return APR_EINVAL;
    }
    env->header = wm_xml_child(root, WM_NS_SOAP, "Header");
    body = wm_xml_child(root, WM_NS_SOAP, "Body");
    env->body = wm_xml_child(body, NULL, NULL);
    if (!env->body) {
        *perr = "the SOAP Body is missing or empty";
        return APR_EINVAL;
    }
    env->action = wm_xml_child_text(env->header, WM_NS_WSA, "Action", p);
    env->message_id = wm_xml_child_text(env->header, WM_NS_WSA, "MessageID", p);
    env->to = wm_xml_child_text(env->header, WM_NS_WSA, "To", p);
    env->reply_to =
        wm_xml_child_text(wm_xml_child(env->header, WM_NS_WSA, "ReplyTo"),
                          WM_NS_WSA, "Address", p);
    *penv = env;
    return APR_SUCCESS;
}

static const struct {
    const char *qname;
    int sender;
} subcodes[] = {
    [WM_FAULT_MESSAGE_FORMAT] = {"s:MessageFormat", 1},
    [WM_FAULT_AUTHENTICATION] = {"s:Authentication", 0},
    [WM_FAULT_AUTHORIZATION] = {"s:Authorization", 0},
    [WM_FAULT_CERTIFICATE_REQUEST] = {"s:CertificateRequest", 1},
    [WM_FAULT_ENROLLMENT_SERVER] = {"s:EnrollmentServer", 0},
    [WM_FAULT_INTERNAL_SERVICE] = {"a:InternalServiceFault", 0},
    [WM_FAULT_INVALID_SECURITY] = {"a:InvalidSecurity", 1},
};

const char *wm_soap_subcode_name(wm_fault_e sub)
{
    return subcodes[sub].qname;
}

const char *wm_soap_envelope(const char *action, const char *relates_to,
                             const char *extra_header, const char *body,
                             apr_pool_t *p)
{
    return apr_pstrcat(p,
                       "<s:Envelope xmlns:s=\"" WM_NS_SOAP
                       "\" xmlns:a=\"" WM_NS_WSA "\" xmlns:u=\"" WM_NS_WSU "\">"
                       "<s:Header><a:Action s:mustUnderstand=\"1\">",
                       wm_xml_escape(action, p), "</a:Action>",
                       relates_to ? "<a:RelatesTo>" : "",
                       relates_to ? wm_xml_escape(relates_to, p) : "",
                       relates_to ? "</a:RelatesTo>" : "",
                       extra_header ? extra_header : "", "</s:Header><s:Body>",
                       body, "</s:Body></s:Envelope>", NULL);
}

const char *wm_soap_fault(wm_fault_e sub, const char *action,
                          const char *relates_to, const char *reason,
                          const char *error_type, apr_pool_t *p)
{
    const char *detail = "";
    const char *text = wm_xml_escape(reason, p);

    if (error_type) {
        detail = apr_pstrcat(
            p,
            "<s:Detail><DeviceEnrollmentServiceError xmlns=\"" WM_NS_ENROLL
            "\"><ErrorType>",
            wm_xml_escape(error_type, p), "</ErrorType><Message>", text,
            "</Message></DeviceEnrollmentServiceError></s:Detail>", NULL);
    }
    return wm_soap_envelope(
        action, relates_to, NULL,
        apr_pstrcat(p, "<s:Fault><s:Code><s:Value>",
                    subcodes[sub].sender ? "s:Sender" : "s:Receiver",
                    "</s:Value><s:Subcode><s:Value>", subcodes[sub].qname,
                    "</s:Value></s:Subcode></s:Code><s:Reason>"
                    "<s:Text xml:lang=\"en-US\">",
                    text, "</s:Text></s:Reason>", detail, "</s:Fault>", NULL),
        p);
}
