/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Directives (DESIGN.md section 3): parsing and validation in the setters,
 * one explicit merge line per field, defaults in typed getters, and the
 * startup check of each WinMDM On vhost. */

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_file_info.h>
#include <apr_uri.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_provider.h>
#include <mod_auth.h>

#include "wm_ca.h"
#include "mod_winmdm_config.h"
#include "mod_winmdm_private.h"

/* Defaults (DESIGN.md section 3). */
#define DEF_API_PREFIX "/api/device-mgt/windows/v1.0"
#define DEF_CERT_VALIDITY 365
#define DEF_RENEW_PERIOD 42
#define DEF_TOKEN_LIFETIME 900
#define DEF_PROVIDER_ID "mod_winmdm"
#define DEF_POLL_INTERVAL 15
#define DEF_MAX_MESSAGE_SIZE 524288
#define DEF_PROFILE_VERIFY 1440 /* daily */
#define DEF_PROFILE_REAPPLY 3

/* ------------------------------------------------------ create and merge */

void *wm_config_create_srv(apr_pool_t *p, server_rec *s)
{
    wm_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));
    (void)s;
    sc->enabled = WM_UNSET;
    sc->auth_policy = WM_UNSET;
    sc->cert_validity = WM_UNSET;
    sc->renew_period = WM_UNSET;
    sc->token_lifetime = WM_UNSET;
    sc->poll_interval = WM_UNSET;
    sc->device_auth = WM_UNSET;
    sc->max_message_size = WM_UNSET;
    sc->profile_verify = WM_UNSET;
    sc->profile_reapply = WM_UNSET;
    sc->tls_offload = WM_UNSET;
    return sc;
}

#define MERGE_INT(f) n->f = (add->f != WM_UNSET) ? add->f : base->f
#define MERGE_PTR(f) n->f = add->f ? add->f : base->f

void *wm_config_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    const wm_srv_conf_t *base = basev, *add = addv;
    wm_srv_conf_t *n = apr_pcalloc(p, sizeof(*n));

    MERGE_INT(enabled);
    MERGE_PTR(domains);
    MERGE_PTR(public_url);
    MERGE_PTR(management_url);
    MERGE_PTR(api_prefix);
    MERGE_INT(auth_policy);
    MERGE_PTR(auth_providers);
    MERGE_PTR(ca_cert_file);
    MERGE_PTR(ca_key_file);
    MERGE_INT(cert_validity);
    MERGE_INT(renew_period);
    MERGE_INT(token_lifetime);
    MERGE_PTR(provider_id);
    MERGE_INT(poll_interval);
    MERGE_INT(profile_verify);
    MERGE_INT(profile_reapply);
    MERGE_INT(device_auth);
    MERGE_INT(max_message_size);
    MERGE_INT(tls_offload);
    MERGE_PTR(defined_in);
    /* n->ca stays NULL: each vhost loads its own at wm_config_check. */
    return n;
}

const wm_srv_conf_t *wm_config_get(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &winmdm_module);
}

/* --------------------------------------------------------------- getters */

int wm_conf_enabled(const wm_srv_conf_t *sc)
{
    return sc->enabled == 1;
}

const char *wm_conf_public_url(const wm_srv_conf_t *sc)
{
    return sc->public_url;
}

const char *wm_conf_management_url(const wm_srv_conf_t *sc)
{
    return sc->management_url ? sc->management_url : sc->public_url;
}

const char *wm_conf_api_prefix(const wm_srv_conf_t *sc)
{
    return sc->api_prefix ? sc->api_prefix : DEF_API_PREFIX;
}

wm_auth_policy_e wm_conf_auth_policy(const wm_srv_conf_t *sc)
{
    return sc->auth_policy == WM_UNSET ? WM_AUTH_FEDERATED
                                       : (wm_auth_policy_e)sc->auth_policy;
}

const apr_array_header_t *wm_conf_auth_providers(const wm_srv_conf_t *sc)
{
    static const char *def_names[] = {"file"};
    static const apr_array_header_t def = {NULL, sizeof(const char *), 1, 1,
                                           (char *)def_names};
    return sc->auth_providers ? sc->auth_providers : &def;
}

int wm_conf_cert_validity(const wm_srv_conf_t *sc)
{
    return sc->cert_validity == WM_UNSET ? DEF_CERT_VALIDITY
                                         : sc->cert_validity;
}

int wm_conf_renew_period(const wm_srv_conf_t *sc)
{
    return sc->renew_period == WM_UNSET ? DEF_RENEW_PERIOD : sc->renew_period;
}

int wm_conf_token_lifetime(const wm_srv_conf_t *sc)
{
    return sc->token_lifetime == WM_UNSET ? DEF_TOKEN_LIFETIME
                                          : sc->token_lifetime;
}

const char *wm_conf_provider_id(const wm_srv_conf_t *sc)
{
    return sc->provider_id ? sc->provider_id : DEF_PROVIDER_ID;
}

int wm_conf_poll_interval(const wm_srv_conf_t *sc)
{
    return sc->poll_interval == WM_UNSET ? DEF_POLL_INTERVAL
                                         : sc->poll_interval;
}

int wm_conf_profile_verify(const wm_srv_conf_t *sc)
{
    return sc->profile_verify == WM_UNSET ? DEF_PROFILE_VERIFY
                                          : sc->profile_verify;
}

int wm_conf_profile_reapply(const wm_srv_conf_t *sc)
{
    return sc->profile_reapply == WM_UNSET ? DEF_PROFILE_REAPPLY
                                           : sc->profile_reapply;
}

wm_devauth_e wm_conf_device_auth(const wm_srv_conf_t *sc)
{
    return sc->device_auth == WM_UNSET ? WM_DEVAUTH_ANY
                                       : (wm_devauth_e)sc->device_auth;
}

apr_off_t wm_conf_max_message_size(const wm_srv_conf_t *sc)
{
    return sc->max_message_size == WM_UNSET ? DEF_MAX_MESSAGE_SIZE
                                            : sc->max_message_size;
}

/* Off: a plain HTTP connection gets the discovery GET only (DESIGN.md
 * section 5). */
int wm_conf_tls_offload(const wm_srv_conf_t *sc)
{
    return sc->tls_offload == 1;
}

/* --------------------------------------------------------------- setters */

static wm_srv_conf_t *srv_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &winmdm_module);
}

static const char *set_enabled(cmd_parms *cmd, void *dc, int on)
{
    wm_srv_conf_t *sc = srv_conf(cmd);
    (void)dc;
    sc->enabled = on ? 1 : 0;
    if (on && cmd->directive) {
        sc->defined_in =
            apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                         cmd->directive->line_num);
    }
    return NULL;
}

/* A DNS name: labels of letters, digits and hyphens. Stored lower-case. */
static const char *set_domain(cmd_parms *cmd, void *dc, const char *arg)
{
    wm_srv_conf_t *sc = srv_conf(cmd);
    char *d = apr_pstrdup(cmd->pool, arg), *c;
    (void)dc;

    if (!*d || *d == '.' || *d == '-' || d[strlen(d) - 1] == '.' ||
        strstr(d, "..") || strlen(d) > 253) {
        return apr_psprintf(cmd->pool,
                            "WinMDMDomain: '%s' is not a domain "
                            "name",
                            arg);
    }
    for (c = d; *c; c++) {
        if (!apr_isalnum(*c) && *c != '-' && *c != '.') {
            return apr_psprintf(cmd->pool,
                                "WinMDMDomain: '%s' is not a "
                                "domain name",
                                arg);
        }
        *c = (char)apr_tolower(*c);
    }
    if (!sc->domains) {
        sc->domains = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(sc->domains, const char *) = d;
    return NULL;
}

/* An absolute http(s) URL with a host and nothing after the path; the
 * trailing slash is dropped so paths can be appended. */
static const char *check_url(cmd_parms *cmd, const char *arg, const char **pout)
{
    apr_uri_t uri;
    char *u;
    size_t n;

    if (apr_uri_parse(cmd->pool, arg, &uri) != APR_SUCCESS || !uri.scheme ||
        (strcasecmp(uri.scheme, "https") && strcasecmp(uri.scheme, "http")) ||
        !uri.hostname || !*uri.hostname || uri.query || uri.fragment ||
        uri.user) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not an absolute http or "
                            "https URL without query or fragment",
                            cmd->cmd->name, arg);
    }
    u = apr_pstrdup(cmd->pool, arg);
    n = strlen(u);
    while (n > 0 && u[n - 1] == '/') {
        u[--n] = '\0';
    }
    *pout = u;
    return NULL;
}

static const char *set_public_url(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return check_url(cmd, arg, &srv_conf(cmd)->public_url);
}

static const char *set_management_url(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return check_url(cmd, arg, &srv_conf(cmd)->management_url);
}

static const char *set_api_prefix(cmd_parms *cmd, void *dc, const char *arg)
{
    char *v = apr_pstrdup(cmd->pool, arg);
    size_t n = strlen(v);
    (void)dc;

    while (n > 1 && v[n - 1] == '/') {
        v[--n] = '\0';
    }
    if (v[0] != '/' || n < 2 || strpbrk(v, "?#%") || strstr(v, "//")) {
        return apr_psprintf(cmd->pool,
                            "WinMDMAPIPrefix: '%s' is not a URL "
                            "path such as /api/device-mgt/windows/"
                            "v1.0",
                            arg);
    }
    srv_conf(cmd)->api_prefix = v;
    return NULL;
}

static const char *set_auth_policy(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (!strcasecmp(arg, "Federated")) {
        srv_conf(cmd)->auth_policy = WM_AUTH_FEDERATED;
    }
    else if (!strcasecmp(arg, "OnPremise")) {
        srv_conf(cmd)->auth_policy = WM_AUTH_ONPREMISE;
    }
    else {
        return "WinMDMAuthPolicy: must be Federated or OnPremise";
    }
    return NULL;
}

static const char *set_auth_provider(cmd_parms *cmd, void *dc, const char *arg)
{
    wm_srv_conf_t *sc = srv_conf(cmd);
    (void)dc;
    if (!sc->auth_providers) {
        sc->auth_providers = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(sc->auth_providers, const char *) =
        apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_file(cmd_parms *cmd, const char *arg, const char **pout)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);
    if (!path) {
        return apr_psprintf(cmd->pool, "%s: invalid file path '%s'",
                            cmd->cmd->name, arg);
    }
    *pout = path;
    return NULL;
}

static const char *set_ca_cert(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return set_file(cmd, arg, &srv_conf(cmd)->ca_cert_file);
}

static const char *set_ca_key(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return set_file(cmd, arg, &srv_conf(cmd)->ca_key_file);
}

/* A whole number within [min, max]; the directive's name in the error. */
static const char *set_int(cmd_parms *cmd, const char *arg, int min, int max,
                           int *pout)
{
    char *end;
    apr_int64_t v;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        return apr_psprintf(cmd->pool,
                            "%s: '%s' is not a whole number from "
                            "%d to %d",
                            cmd->cmd->name, arg, min, max);
    }
    *pout = (int)v;
    return NULL;
}

static const char *set_cert_validity(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return set_int(cmd, arg, 1, 3650, &srv_conf(cmd)->cert_validity);
}

static const char *set_renew_period(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return set_int(cmd, arg, 1, 3649, &srv_conf(cmd)->renew_period);
}

static const char *set_token_lifetime(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return set_int(cmd, arg, 30, 86400, &srv_conf(cmd)->token_lifetime);
}

/* PROVIDER-ID is also a node name in ./Vendor/MSFT/DMClient/Provider/<ID>,
 * so it cannot hold '/' (a URI segment separator) or XML-hostile bytes. */
static const char *set_provider_id(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *c;
    (void)dc;
    if (!*arg || strlen(arg) > 64) {
        return "WinMDMProviderID: must be 1 to 64 characters";
    }
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && !strchr(" ._-", *c)) {
            return "WinMDMProviderID: only letters, digits, space, '.', '_' "
                   "and '-' are allowed (it is a DMClient node name)";
        }
    }
    srv_conf(cmd)->provider_id = apr_pstrdup(cmd->pool, arg);
    return NULL;
}

static const char *set_poll_interval(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    return set_int(cmd, arg, 1, 1440, &srv_conf(cmd)->poll_interval);
}

static const char *set_profile_verify(cmd_parms *cmd, void *dc,
                                      const char *arg)
{
    (void)dc;
    return set_int(cmd, arg, 1, 525600, &srv_conf(cmd)->profile_verify);
}

static const char *set_profile_reapply(cmd_parms *cmd, void *dc,
                                       const char *arg)
{
    (void)dc;
    return set_int(cmd, arg, 0, 100, &srv_conf(cmd)->profile_reapply);
}

static const char *set_device_auth(cmd_parms *cmd, void *dc, const char *arg)
{
    (void)dc;
    if (!strcasecmp(arg, "cert")) {
        srv_conf(cmd)->device_auth = WM_DEVAUTH_CERT;
    }
    else if (!strcasecmp(arg, "digest")) {
        srv_conf(cmd)->device_auth = WM_DEVAUTH_DIGEST;
    }
    else if (!strcasecmp(arg, "any")) {
        srv_conf(cmd)->device_auth = WM_DEVAUTH_ANY;
    }
    else {
        return "WinMDMDeviceAuth: must be cert, digest or any";
    }
    return NULL;
}

static const char *set_max_message_size(cmd_parms *cmd, void *dc,
                                        const char *arg)
{
    apr_off_t v;
    char *end;
    (void)dc;
    if (apr_strtoff(&v, arg, &end, 10) != APR_SUCCESS || *end || v < 4096 ||
        v > 268435456) {
        return "WinMDMMaxMessageSize: must be a number of bytes from 4096 to "
               "268435456";
    }
    srv_conf(cmd)->max_message_size = v;
    return NULL;
}

static const char *set_tls_offload(cmd_parms *cmd, void *dc, int on)
{
    (void)dc;
    srv_conf(cmd)->tls_offload = on ? 1 : 0;
    return NULL;
}

const command_rec wm_config_cmds[] = {
    AP_INIT_FLAG("WinMDM", set_enabled, NULL, RSRC_CONF,
                 "On to serve the Windows MDM paths on this virtual host"),
    AP_INIT_ITERATE("WinMDMDomain", set_domain, NULL, RSRC_CONF,
                    "email domains whose users enroll on this virtual host"),
    AP_INIT_TAKE1("WinMDMPublicURL", set_public_url, NULL, RSRC_CONF,
                  "base URL given to devices, e.g. "
                  "https://enterpriseenrollment.example.com"),
    AP_INIT_TAKE1("WinMDMManagementURL", set_management_url, NULL, RSRC_CONF,
                  "base URL of the OMA-DM and renewal endpoints (default: "
                  "WinMDMPublicURL)"),
    AP_INIT_TAKE1("WinMDMAPIPrefix", set_api_prefix, NULL, RSRC_CONF,
                  "prefix of the MDM endpoint paths (default "
                  "/api/device-mgt/windows/v1.0)"),
    AP_INIT_TAKE1("WinMDMAuthPolicy", set_auth_policy, NULL, RSRC_CONF,
                  "Federated (sign-in page) or OnPremise (UsernameToken)"),
    AP_INIT_ITERATE("WinMDMAuthProvider", set_auth_provider, NULL, RSRC_CONF,
                    "httpd authn providers that check enrollment passwords "
                    "(default: file)"),
    AP_INIT_TAKE1("WinMDMCACertificateFile", set_ca_cert, NULL, RSRC_CONF,
                  "PEM CA certificate that signs device certificates"),
    AP_INIT_TAKE1("WinMDMCAKeyFile", set_ca_key, NULL, RSRC_CONF,
                  "PEM private key of the device CA"),
    AP_INIT_TAKE1("WinMDMCertificateValidity", set_cert_validity, NULL,
                  RSRC_CONF,
                  "lifetime of a device certificate in days "
                  "(default 365)"),
    AP_INIT_TAKE1("WinMDMRenewPeriod", set_renew_period, NULL, RSRC_CONF,
                  "days before expiry that a device renews (default 42)"),
    AP_INIT_TAKE1("WinMDMTokenLifetime", set_token_lifetime, NULL, RSRC_CONF,
                  "lifetime of a sign-in page token in seconds (default 900)"),
    AP_INIT_TAKE1("WinMDMProviderID", set_provider_id, NULL, RSRC_CONF,
                  "PROVIDER-ID in the provisioning document (default "
                  "mod_winmdm)"),
    AP_INIT_TAKE1("WinMDMPollInterval", set_poll_interval, NULL, RSRC_CONF,
                  "minutes between device check-ins (default 15)"),
    AP_INIT_TAKE1("WinMDMProfileVerifyInterval", set_profile_verify, NULL,
                  RSRC_CONF,
                  "minutes between read-backs of a device's verified "
                  "profiles (default 1440: daily)"),
    AP_INIT_TAKE1("WinMDMProfileReapplyLimit", set_profile_reapply, NULL,
                  RSRC_CONF,
                  "times a drifted profile is sent again before it is "
                  "reported failed (default 3)"),
    AP_INIT_TAKE1("WinMDMDeviceAuth", set_device_auth, NULL, RSRC_CONF,
                  "how devices prove themselves in OMA-DM: cert, digest or "
                  "any (default any)"),
    AP_INIT_TAKE1("WinMDMMaxMessageSize", set_max_message_size, NULL, RSRC_CONF,
                  "largest request body read, in bytes (default "
                  "524288)"),
    AP_INIT_FLAG("WinMDMTLSOffload", set_tls_offload, NULL, RSRC_CONF,
                 "On when TLS ends in front of httpd, so plain HTTP "
                 "connections are served; client certificates are then "
                 "not used and devices prove themselves by digest only "
                 "(default Off: only the discovery GET is served without "
                 "TLS)"),
    {NULL}};

/* ----------------------------------------------------------- startup */

static int refuse(server_rec *s, const wm_srv_conf_t *sc, const char *msg)
{
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                 WMLOGNO(00001) "%s (WinMDM On at %s, server %s:%u)", msg,
                 sc->defined_in ? sc->defined_in : "?",
                 s->server_hostname ? s->server_hostname : "?",
                 (unsigned)s->port);
    return HTTP_INTERNAL_SERVER_ERROR;
}

int wm_config_check(apr_pool_t *pconf, server_rec *s)
{
    const apr_array_header_t *providers;
    const char *err;
    wm_srv_conf_t *sc;
    int i;

    for (; s; s = s->next) {
        sc = ap_get_module_config(s->module_config, &winmdm_module);
        if (!wm_conf_enabled(sc)) {
            continue;
        }
        if (!sc->public_url) {
            return refuse(s, sc, "WinMDMPublicURL is required");
        }
        if (!sc->ca_cert_file) {
            return refuse(s, sc, "WinMDMCACertificateFile is required");
        }
        if (!sc->ca_key_file) {
            return refuse(s, sc, "WinMDMCAKeyFile is required");
        }
        if (wm_conf_renew_period(sc) >= wm_conf_cert_validity(sc)) {
            return refuse(s, sc,
                          "WinMDMRenewPeriod must be shorter than "
                          "WinMDMCertificateValidity");
        }
        if (wm_conf_tls_offload(sc) &&
            wm_conf_device_auth(sc) == WM_DEVAUTH_CERT) {
            return refuse(s, sc,
                          "WinMDMTLSOffload On leaves no client certificate "
                          "to check: WinMDMDeviceAuth cert cannot work "
                          "(use digest or any)");
        }
        providers = wm_conf_auth_providers(sc);
        for (i = 0; i < providers->nelts; i++) {
            const char *name = APR_ARRAY_IDX(providers, i, const char *);
            if (!ap_lookup_provider(AUTHN_PROVIDER_GROUP, name,
                                    AUTHN_PROVIDER_VERSION)) {
                return refuse(
                    s, sc,
                    apr_psprintf(pconf,
                                 "WinMDMAuthProvider: unknown authn provider "
                                 "'%s' (is the module that provides it, such "
                                 "as mod_authn_file or mod_authnz_ldap, "
                                 "loaded?)",
                                 name));
            }
        }
        {
            /* The CA key signs every device certificate: nobody but root
             * (httpd reads it before dropping privileges) should read it. */
            apr_finfo_t fi;
            if (apr_stat(&fi, sc->ca_key_file, APR_FINFO_PROT, pconf)
                    == APR_SUCCESS
                && (fi.protection & APR_FPROT_WREAD)) {
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, s,
                             WMLOGNO(00041) "WinMDMCAKeyFile %s is readable "
                             "by other users; make it readable by root "
                             "only (chmod 600)",
                             sc->ca_key_file);
            }
        }
        if (wm_ca_load(&sc->ca, sc->ca_cert_file, sc->ca_key_file, &err,
                       pconf)) {
            return refuse(s, sc,
                          apr_pstrcat(pconf,
                                      "WinMDMCACertificateFile/"
                                      "WinMDMCAKeyFile: ",
                                      err, NULL));
        }
    }
    return OK;
}
