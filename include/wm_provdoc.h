/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The wap-provisioningdoc a device receives at enrollment and renewal.
 * Windows 10/11 (MS-MDE2 2.2.9, spec/enrollment.md 5.4): its trust anchor,
 * its client certificate, the renewal settings, the OMA-DM account (w7
 * APPLICATION) and the DMClient settings and poll schedule. Windows 8.1
 * (MS-MDE 3.6): the certificates, the w7 APPLICATION and the Registry
 * settings MS-MDE's example carries in place of the DMClient CSP. */

#ifndef WM_PROVDOC_H
#define WM_PROVDOC_H

#include <apr_pools.h>

#include "wm_ca.h"
#include "wm_cert.h"

/* How often and how soon a device retries a failed renewal, in days. */
#define WM_RENEW_RETRY_DAYS 4

/** Everything the document says. Strings are raw (escaped here). */
typedef struct wm_provdoc_t {
    const wm_ca_t *ca;
    const wm_issued_t *cert;
    int device_context;        /* My/System (EnrollmentType Device) */
    const char *provider_id;   /* PROVIDER-ID and DMClient/Provider/<ID> */
    const char *mgmt_url;      /* ADDR: the OMA-DM endpoint */
    const char *renew_url;     /* WSTEP/Renew/ServerURL */
    int renew_days;            /* WSTEP/Renew/RenewPeriod */
    const char *device_id;     /* APPSRV AAUTHNAME; certificate CN */
    const char *device_secret; /* APPSRV AAUTHSECRET */
    const char *device_nonce;  /* APPSRV AAUTHDATA: the first digest nonce */
    const char *server_secret; /* CLIENT AAUTHSECRET */
    const char *server_nonce;  /* CLIENT AAUTHDATA */
    const char *upn;           /* DMClient UPN, or NULL */
    const char *device_name;   /* DMClient EntDeviceName, or NULL */
    int poll_minutes;          /* DMClient Poll interval */
    int renewal;               /* the renewal answer: the certificates and
                                  the account's PROVIDER-ID (Learn,
                                  Certificate Renewal); MS-MDE's for 8.1 */
    int win81;                 /* the MS-MDE (Windows 8.1) document */
    int validity_days;         /* certificate lifetime (8.1 RenewalPeriod) */
} wm_provdoc_t;

/** Builds the document (UTF-8 XML with declaration), in p. */
/** The DMClient poll schedule (MS-MDE2 2.2.9.3, DMClient CSP Poll node):
 *  two short sets after enrollment, then the remaining set for ever at the
 *  configured interval. NumberOfFirstRetries is never 0, which MS-MDE2
 *  forbids. */
typedef struct wm_poll_schedule_t {
    int first_count, first_minutes;   /* NumberOfFirstRetries, Interval... */
    int second_count, second_minutes; /* NumberOfSecondRetries, Interval... */
    int remaining_count;              /* 0: for ever */
    int remaining_minutes;            /* WinMDMPollInterval */
} wm_poll_schedule_t;

/** The schedule for a long-term interval of minutes (>= 1): every 3
 *  minutes for 15 minutes, every 15 for two hours, then every minutes
 *  (no set slower than the long-term one). */
void wm_provdoc_poll_schedule(int minutes, wm_poll_schedule_t *out);

const char *wm_provdoc_build(const wm_provdoc_t *d, apr_pool_t *p);

/** The SSLCLIENTCERTSEARCHCRITERIA value (before XML escaping) that finds
 *  the certificate issued with CN = device_id in the store used. */
const char *wm_provdoc_search_criteria(const char *device_id,
                                       int device_context, apr_pool_t *p);

#endif /* WM_PROVDOC_H */
