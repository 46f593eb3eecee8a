/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* SOAP 1.2 envelopes with WS-Addressing, as every enrollment exchange uses
 * them (MS-MDE2 section 2.1, spec/enrollment.md 0.1), and the SOAP fault with
 * the MS-MDE2 section 2.2.10 subcodes. */

#ifndef WM_SOAP_H
#define WM_SOAP_H

#include <apr_pools.h>
#include <libxml/tree.h>

#define WM_NS_SOAP "http://www.w3.org/2003/05/soap-envelope"
#define WM_NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"
#define WM_NS_WSA "http://www.w3.org/2005/08/addressing"
#define WM_NS_WSSE                                                             \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define WM_NS_WSU                                                              \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
#define WM_NS_ENROLL                                                           \
    "http://schemas.microsoft.com/windows/pki/2009/01/enrollment"

/* Nesting real requests need: WSTEP's AdditionalContext sits 7 deep. */
#define WM_SOAP_MAX_DEPTH 32

/** A parsed request envelope; every string is trimmed, NULL when absent. */
typedef struct wm_soap_env_t {
    xmlDocPtr doc;      /* freed with the pool */
    xmlNodePtr header;  /* s:Header, or NULL */
    xmlNodePtr body;    /* first element inside s:Body */
    const char *action; /* a:Action */
    const char *message_id;
    const char *to;
    const char *reply_to; /* a:ReplyTo/a:Address */
} wm_soap_env_t;

/**
 * Parses a SOAP 1.2 request safely (wm_xml rules, no DOCTYPE).
 * @param max   largest body accepted
 * @param perr  receives a short reason on failure
 * @return APR_SUCCESS; APR_ENOSPC when over max; APR_EINVAL when the body is
 *         not XML or not a SOAP 1.2 envelope with a non-empty Body
 */
apr_status_t wm_soap_parse(wm_soap_env_t **penv, const char *buf,
                           apr_size_t len, apr_size_t max, const char **perr,
                           apr_pool_t *p);

/** MS-MDE2 section 2.2.10 fault subcodes. */
typedef enum {
    WM_FAULT_MESSAGE_FORMAT,      /* s:MessageFormat */
    WM_FAULT_AUTHENTICATION,      /* s:Authentication */
    WM_FAULT_AUTHORIZATION,       /* s:Authorization */
    WM_FAULT_CERTIFICATE_REQUEST, /* s:CertificateRequest */
    WM_FAULT_ENROLLMENT_SERVER,   /* s:EnrollmentServer */
    WM_FAULT_INTERNAL_SERVICE,    /* a:InternalServiceFault */
    WM_FAULT_INVALID_SECURITY     /* a:InvalidSecurity */
} wm_fault_e;

/** The QName of a subcode, e.g. "s:MessageFormat". */
const char *wm_soap_subcode_name(wm_fault_e sub);

/**
 * Builds a whole fault envelope. The code is s:Sender for what is wrong in
 * the request (MessageFormat, InvalidSecurity, CertificateRequest) and
 * s:Receiver otherwise, as Microsoft's samples have it.
 * @param action      a:Action of the reply (the endpoint's response action)
 * @param relates_to  the request's MessageID, or NULL
 * @param reason      human-readable text (escaped here)
 * @param error_type  DeviceEnrollmentServiceError ErrorType for s:Detail
 *                    (e.g. "NotSupported"), or NULL for no Detail
 */
const char *wm_soap_fault(wm_fault_e sub, const char *action,
                          const char *relates_to, const char *reason,
                          const char *error_type, apr_pool_t *p);

/**
 * Wraps a response body in an envelope: a:Action (mustUnderstand), then
 * a:RelatesTo, then extra_header (raw XML or NULL), then s:Body holding body
 * (raw XML). The prefixes s, a and u are declared on the Envelope.
 */
const char *wm_soap_envelope(const char *action, const char *relates_to,
                             const char *extra_header, const char *body,
                             apr_pool_t *p);

#endif /* WM_SOAP_H */
