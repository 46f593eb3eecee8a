/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* MS-MDE2 discovery: parse Discover, decide the OS family and auth policy,
 * build DiscoverResponse (spec/enrollment.md section 2). */

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "wm_discovery.h"
#include "wm_paths.h"
#include "wm_xml.h"

/* The Discover element's namespace, with or without the trailing slash. */
static int discovery_ns(const xmlNode *node)
{
    const char *href;
    size_t n = strlen(WM_NS_DISCOVERY);

    if (!node || !node->ns || !node->ns->href) {
        return 0;
    }
    href = (const char *)node->ns->href;
    return !strncmp(href, WM_NS_DISCOVERY, n) &&
           (href[n] == '\0' || (href[n] == '/' && href[n + 1] == '\0'));
}

/* "M.m" to thousandths; -1 when it is not a decimal number. */
static int parse_version(const char *s)
{
    int major = 0, frac = 0, scale = 100, digits = 0;

    if (!s || !apr_isdigit(*s)) {
        return -1;
    }
    for (; apr_isdigit(*s); s++) {
        if (++digits > 4) {
            return -1;
        }
        major = major * 10 + (*s - '0');
    }
    if (*s == '.') {
        for (s++; apr_isdigit(*s); s++) {
            if (scale) {
                frac += (*s - '0') * scale;
                scale /= 10;
            }
        }
    }
    return *s ? -1 : major * 1000 + frac;
}

static xmlNodePtr child_of(const xmlNode *parent, const char *name)
{
    xmlNodePtr n;
    for (n = parent ? parent->children : NULL; n; n = n->next) {
        if (wm_xml_is(n, NULL, name) && discovery_ns(n)) {
            return n;
        }
    }
    return NULL;
}

apr_status_t wm_discovery_parse(const wm_soap_env_t *env,
                                wm_discover_req_t **preq, const char **perr,
                                apr_pool_t *p)
{
    wm_discover_req_t *req;
    xmlNodePtr request, pol;

    *preq = NULL;
    if (!wm_xml_is(env->body, NULL, "Discover") || !discovery_ns(env->body)) {
        *perr = "the body is not an MS-MDE2 Discover request";
        return APR_EINVAL;
    }
    if (!(request = child_of(env->body, "request"))) {
        *perr = "Discover has no request element";
        return APR_EINVAL;
    }
    req = apr_pcalloc(p, sizeof(*req));
    req->email = wm_xml_text(child_of(request, "EmailAddress"), p);
    req->request_version = wm_xml_text(child_of(request, "RequestVersion"), p);
    req->device_type = wm_xml_text(child_of(request, "DeviceType"), p);
    req->app_version = wm_xml_text(child_of(request, "ApplicationVersion"), p);
    req->os_edition = wm_xml_text(child_of(request, "OSEdition"), p);
    req->auth_policies = apr_array_make(p, 3, sizeof(const char *));
    for (pol = child_of(child_of(request, "AuthPolicies"), "AuthPolicy"); pol;
         pol = wm_xml_next(pol, NULL, "AuthPolicy")) {
        APR_ARRAY_PUSH(req->auth_policies, const char *) = wm_xml_text(pol, p);
    }
    if (!req->email || !*req->email) {
        *perr = "Discover has no EmailAddress";
        return APR_EINVAL;
    }
    if (!req->request_version || !*req->request_version) {
        /* MS-MDE v1: the Windows 8.1 client sends RequestVersion nil
         * (empty, i:nil="true") or not at all (DESIGN.md section 1). */
        req->request_version = NULL;
        req->version = 0;
    }
    else if ((req->version = parse_version(req->request_version)) < 0) {
        *perr = "RequestVersion is not a decimal version number";
        return APR_EINVAL;
    }
    *preq = req;
    return APR_SUCCESS;
}

int wm_discovery_is_win81(const wm_discover_req_t *req)
{
    return req->version < 3000;
}

const char *wm_discovery_enrollment_version(const wm_discover_req_t *req,
                                            apr_pool_t *p)
{
    int v = req->version;
    char frac[4];
    int i;

    if (v < 3000) {
        return NULL;
    }
    if (v > 4000) {
        v = 4000;
    }
    apr_snprintf(frac, sizeof(frac), "%03d", v % 1000);
    for (i = 2; i > 0 && frac[i] == '0'; i--) {
        frac[i] = '\0';
    }
    return apr_psprintf(p, "%d.%s", v / 1000, frac);
}

/* The domain part of the address, or NULL for a "DOMAIN\user" name. */
static const char *email_domain(const char *email)
{
    const char *at = strrchr(email, '@');
    return (at && at != email && at[1]) ? at + 1 : NULL;
}

apr_status_t wm_discovery_answer(const wm_discovery_conf_t *conf,
                                 const wm_discover_req_t *req,
                                 const char *relates_to, const char **pbody,
                                 wm_fault_e *pfault, const char **preason,
                                 apr_pool_t *p)
{
    const char *policy =
        conf->policy == WM_AUTH_ONPREMISE ? "OnPremise" : "Federated";
    const char *domain = email_domain(req->email);
    const char *ev, *base, *wstep, *auth_url, *body;
    int i, win81 = wm_discovery_is_win81(req);
    int offered = req->auth_policies->nelts == 0;

    if (conf->domains && conf->domains->nelts > 0) {
        int ok = 0;
        for (i = 0; domain && i < conf->domains->nelts; i++) {
            ok |= !strcasecmp(domain,
                              APR_ARRAY_IDX(conf->domains, i, const char *));
        }
        if (!ok) {
            *pfault = WM_FAULT_AUTHORIZATION;
            *preason = domain ? apr_psprintf(p,
                                             "the domain %s does not "
                                             "enroll here",
                                             domain)
                              : "the address has no email domain";
            return APR_EACCES;
        }
    }
    if (win81 && conf->policy != WM_AUTH_FEDERATED) {
        /* MS-MDE v1 knows only AuthPolicy Federated: an OnPremise vhost
         * has no policy a Windows 8.1 client can use. */
        *pfault = WM_FAULT_AUTHENTICATION;
        *preason = "Windows 8.1 enrolls only with the Federated "
                   "authentication policy (MS-MDE), and this server "
                   "enrolls with OnPremise";
        return APR_EACCES;
    }
    for (i = 0; i < req->auth_policies->nelts; i++) {
        offered |=
            !strcmp(policy, APR_ARRAY_IDX(req->auth_policies, i, const char *));
    }
    if (!offered) {
        /* MS-MDE2 3.1.4.1.3.2: AuthPolicy must be one the client offered;
         * a credential kind the vhost does not accept is s:Authentication
         * (DESIGN.md section 1). */
        *pfault = WM_FAULT_AUTHENTICATION;
        *preason = apr_psprintf(p,
                                "this server enrolls with the %s "
                                "authentication policy, which the device "
                                "does not offer",
                                policy);
        return APR_EACCES;
    }

    base = wm_xml_escape(conf->public_url, p);
    wstep = apr_pstrcat(p, "<EnrollmentServiceUrl>", base,
                        win81 ? WM_PATH_WSTEP81 : WM_PATH_WSTEP10,
                        "</EnrollmentServiceUrl>", NULL);
    auth_url = conf->policy == WM_AUTH_FEDERATED
                   ? apr_pstrcat(p, "<AuthenticationServiceUrl>", base,
                                 WM_PATH_LOGIN, "</AuthenticationServiceUrl>",
                                 NULL)
                   : "";
    if (win81) {
        /* MS-MDE v1's DiscoverResult is a sequence, in this order, with
         * no EnrollmentVersion. */
        body = apr_pstrcat(
            p,
            "<DiscoverResponse xmlns=\"" WM_NS_DISCOVERY "\"><DiscoverResult>"
            "<AuthPolicy>Federated</AuthPolicy>",
            auth_url, "<EnrollmentPolicyServiceUrl>", base, WM_PATH_XCEP,
            "</EnrollmentPolicyServiceUrl>", wstep,
            "</DiscoverResult></DiscoverResponse>", NULL);
    }
    else {
        ev = wm_discovery_enrollment_version(req, p);
        body = apr_pstrcat(
            p,
            "<DiscoverResponse xmlns=\"" WM_NS_DISCOVERY "\"><DiscoverResult>",
            "<AuthPolicy>", policy, "</AuthPolicy><EnrollmentVersion>", ev,
            "</EnrollmentVersion><EnrollmentPolicyServiceUrl>", base,
            WM_PATH_XCEP, "</EnrollmentPolicyServiceUrl>", wstep, auth_url,
            "</DiscoverResult></DiscoverResponse>", NULL);
    }
    *pbody = wm_soap_envelope(WM_ACTION_DISCOVER_RESPONSE, relates_to, NULL,
                              body, p);
    return APR_SUCCESS;
}
