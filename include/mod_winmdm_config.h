/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Per-virtual-host configuration: the directives of DESIGN.md section 3.
 * Fields hold what was configured (WM_UNSET / NULL when not); the typed
 * getters apply the defaults, so an explicit default in a vhost still
 * overrides its parent. */

#ifndef MOD_WINMDM_CONFIG_H
#define MOD_WINMDM_CONFIG_H

#include <apr_tables.h>
#include <httpd.h>
#include <http_config.h>

#include "wm_discovery.h"

#define WM_UNSET -1

struct wm_ca_t;

typedef enum {
    WM_DEVAUTH_ANY = 0,
    WM_DEVAUTH_CERT = 1,
    WM_DEVAUTH_DIGEST = 2
} wm_devauth_e;

typedef struct wm_srv_conf_t {
    int enabled;                        /* WinMDM */
    apr_array_header_t *domains;        /* WinMDMDomain, const char * */
    const char *public_url;             /* WinMDMPublicURL, no trailing slash */
    const char *management_url;         /* WinMDMManagementURL */
    const char *api_prefix;             /* WinMDMAPIPrefix */
    int auth_policy;                    /* WinMDMAuthPolicy, wm_auth_policy_e */
    apr_array_header_t *auth_providers; /* WinMDMAuthProvider */
    const char *ca_cert_file;           /* WinMDMCACertificateFile */
    const char *ca_key_file;            /* WinMDMCAKeyFile */
    int cert_validity;                  /* WinMDMCertificateValidity, days */
    int renew_period;                   /* WinMDMRenewPeriod, days */
    int token_lifetime;                 /* WinMDMTokenLifetime, seconds */
    const char *provider_id;            /* WinMDMProviderID */
    int poll_interval;                  /* WinMDMPollInterval, minutes */
    int device_auth;                    /* WinMDMDeviceAuth, wm_devauth_e */
    apr_off_t max_message_size;         /* WinMDMMaxMessageSize, bytes */
    int profile_verify;  /* WinMDMProfileVerifyInterval, minutes */
    int profile_reapply; /* WinMDMProfileReapplyLimit */
    int tls_offload;                    /* WinMDMTLSOffload */

    /* Set at startup by wm_config_check, not by directives. */
    struct wm_ca_t *ca;
    const char *defined_in; /* "file:line" of WinMDM On, for messages */
} wm_srv_conf_t;

/* Directive table and config callbacks, for the module struct. */
extern const command_rec wm_config_cmds[];
void *wm_config_create_srv(apr_pool_t *p, server_rec *s);
void *wm_config_merge_srv(apr_pool_t *p, void *basev, void *addv);

/** The merged config of server s. */
const wm_srv_conf_t *wm_config_get(const server_rec *s);

/**
 * Checks every WinMDM On vhost (required directives, cross-directive rules,
 * authn providers) and loads its CA; run while httpd is still root, before
 * "Syntax OK", so apachectl -t reports what is wrong.
 * @return OK, or HTTP_INTERNAL_SERVER_ERROR after logging the reason
 */
int wm_config_check(apr_pool_t *pconf, server_rec *s);

/* Typed getters: the configured value or the default. */
int wm_conf_enabled(const wm_srv_conf_t *sc);
const char *wm_conf_public_url(const wm_srv_conf_t *sc);
const char *wm_conf_management_url(const wm_srv_conf_t *sc);
const char *wm_conf_api_prefix(const wm_srv_conf_t *sc);
wm_auth_policy_e wm_conf_auth_policy(const wm_srv_conf_t *sc);
const apr_array_header_t *wm_conf_auth_providers(const wm_srv_conf_t *sc);
int wm_conf_cert_validity(const wm_srv_conf_t *sc);
int wm_conf_renew_period(const wm_srv_conf_t *sc);
int wm_conf_token_lifetime(const wm_srv_conf_t *sc);
const char *wm_conf_provider_id(const wm_srv_conf_t *sc);
int wm_conf_poll_interval(const wm_srv_conf_t *sc);
int wm_conf_profile_verify(const wm_srv_conf_t *sc);
int wm_conf_profile_reapply(const wm_srv_conf_t *sc);
wm_devauth_e wm_conf_device_auth(const wm_srv_conf_t *sc);
apr_off_t wm_conf_max_message_size(const wm_srv_conf_t *sc);
int wm_conf_tls_offload(const wm_srv_conf_t *sc);

#endif /* MOD_WINMDM_CONFIG_H */
