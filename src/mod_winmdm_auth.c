/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Password checks through httpd's authn providers, failure throttling,
 * enrollment domains, and client certificates (see mod_winmdm_auth.h). */

#include <string.h>

#include <apr_lib.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <ap_provider.h>
#include <mod_auth.h>
#include <mod_ssl.h>

#include "wm_cert.h"
#include "wm_store.h"
#include "mod_winmdm_auth.h"
#include "mod_winmdm_private.h"

static APR_OPTIONAL_FN_TYPE(ssl_var_lookup) * var_lookup;

void wm_auth_pre_config(void)
{
    var_lookup = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
}

const char *wm_auth_client_cert(request_rec *r)
{
    const char *pem;
    if (wm_conf_tls_offload(wm_config_get(r->server))) {
        /* TLS ends in front of httpd: no certificate here is the
         * device's own (DESIGN.md section 5). */
        return NULL;
    }
    if (!var_lookup) {
        var_lookup = APR_RETRIEVE_OPTIONAL_FN(ssl_var_lookup);
    }
    if (!var_lookup) {
        return NULL;
    }
    pem = var_lookup(r->pool, r->server, r->connection, r,
                     (char *)"SSL_CLIENT_CERT");
    return (pem && *pem) ? pem : NULL;
}

/* What the module derives from a connection's client certificate. */
typedef struct {
    const char *sha1;      /* thumbprint, NULL when the check failed */
    const char *cn;        /* subject CN: the DeviceID it was issued to */
    const char *err;       /* why the check failed */
    apr_int64_t not_after; /* seconds since 1970 */
} cert_cache_t;

int wm_auth_client_identity(request_rec *r, const wm_srv_conf_t *sc,
                            const char **psha1, const char **pcn,
                            const char **perr)
{
    conn_rec *c = r->connection;
    cert_cache_t *cc = ap_get_module_config(c->conn_config, &winmdm_module);
    const char *pem;

    *psha1 = *pcn = *perr = NULL;
    if (!cc) {
        /* The certificate is fixed for the connection's life: the
         * handshake (or its resumption, which restores the session's peer
         * certificate) sets it and mod_ssl refuses client-initiated
         * renegotiation; SSLVerifyClient is set at virtual-host level
         * (README.md), so no per-directory renegotiation replaces it.
         * Keep-alive messages of a session (OMA-DM package 3 and on) so
         * pay for its PEM, parse, signature check and thumbprint once.
         * The absence of a certificate is not kept: a per-directory
         * SSLVerifyClient may still ask for one later on the same
         * connection. */
        if (!(pem = wm_auth_client_cert(r))) {
            return 0;
        }
        /* Parsed in the request's pool (the X509 goes with it); only
         * the derived strings live as long as the connection. */
        cc = apr_pcalloc(c->pool, sizeof(*cc));
        if (wm_cert_check_client_until(sc->ca, pem, &cc->sha1, &cc->cn,
                                       &cc->not_after, &cc->err, r->pool)) {
            cc->sha1 = cc->cn = NULL;
            cc->err = apr_pstrdup(c->pool, cc->err);
        }
        else {
            cc->sha1 = apr_pstrdup(c->pool, cc->sha1);
            cc->cn = apr_pstrdup(c->pool, cc->cn);
        }
        ap_set_module_config(c->conn_config, &winmdm_module, cc);
    }
    else if (cc->sha1 && apr_time_sec(apr_time_now()) >= cc->not_after) {
        /* A connection may outlive its certificate. */
        *perr = "the certificate is not valid now";
        return 1;
    }
    *psha1 = cc->sha1;
    *pcn = cc->cn;
    *perr = cc->err;
    return 1;
}

int wm_auth_domain_ok(const wm_srv_conf_t *sc, const char *user)
{
    const char *at = strrchr(user, '@');
    int i;

    if (!sc->domains || sc->domains->nelts == 0) {
        return 1;
    }
    if (!at) {
        /* A bare name would escape the domain list: the name must carry
         * its domain (an authn provider can map user@domain to its
         * directory entry, e.g. LDAP by userPrincipalName). */
        return 0;
    }
    for (i = 0; i < sc->domains->nelts; i++) {
        if (!strcasecmp(at + 1, APR_ARRAY_IDX(sc->domains, i, const char *))) {
            return 1;
        }
    }
    return 0;
}

/* Seconds still to wait for subject, 0 when it may try now. */
static apr_int64_t wait_for(wm_store_t *st, const char *subject, int free,
                            apr_int64_t now, apr_pool_t *p)
{
    apr_int64_t last, delay;
    int n;

    if (wm_store_failures_get(st, subject, &n, &last, p) != APR_SUCCESS ||
        n < free || now - last > WM_AUTH_WINDOW) {
        return 0;
    }
    n -= free;
    delay = n >= 10 ? WM_AUTH_WINDOW : ((apr_int64_t)WM_AUTH_FIRST_WAIT << n);
    if (delay > WM_AUTH_WINDOW) {
        delay = WM_AUTH_WINDOW;
    }
    return last + delay > now ? last + delay - now : 0;
}

/* The advisory lock key that serialises password attempts (an arbitrary
 * module constant, as the store's own). */
#define THROTTLE_LOCK 7061966

/* Checks and counts an attempt in one serialised transaction, before the
 * password is checked: parallel guesses each see the count of those
 * before them, so no more than the free tries are ever checked. The
 * subjects: the user from this address (the guesser's own count), the
 * address, and the user from anywhere (a much higher cap). *pwait gets
 * the seconds to wait when refused. */
static apr_status_t reserve(wm_store_t *st, const char *const subj[3],
                            apr_int64_t now, apr_int64_t *pwait,
                            apr_pool_t *p)
{
    static const int free[3] = {WM_AUTH_PAIR_FREE_TRIES,
                                WM_AUTH_ADDR_FREE_TRIES,
                                WM_AUTH_USER_FREE_TRIES};
    apr_status_t rv;
    int i;

    *pwait = 0;
    if ((rv = wm_store_begin_serial(st, THROTTLE_LOCK, p))) {
        return rv;
    }
    for (i = 0; i < 3; i++) {
        apr_int64_t w = wait_for(st, subj[i], free[i], now, p);
        if (w > *pwait) {
            *pwait = w;
        }
    }
    if (*pwait) {
        wm_store_rollback(st, p);
        return APR_SUCCESS;
    }
    for (i = 0; i < 3; i++) {
        if ((rv = wm_store_failure_add(st, subj[i], now, WM_AUTH_WINDOW, p))) {
            wm_store_rollback(st, p);
            return rv;
        }
    }
    return wm_store_commit(st, p);
}

wm_pw_result_e wm_auth_password(request_rec *r, const wm_srv_conf_t *sc,
                                wm_store_t *st, const char *user,
                                const char *password, apr_int64_t *pwait)
{
    const apr_array_header_t *names = wm_conf_auth_providers(sc);
    char *lower = apr_pstrdup(r->pool, user), *c;
    const char *subj[3];
    apr_int64_t now = apr_time_sec(apr_time_now());
    authn_status status = AUTH_USER_NOT_FOUND;
    int i;

    /* One user however the name is written (User@Example.TEST). */
    for (c = lower; *c; c++) {
        *c = (char)apr_tolower(*c);
    }
    subj[0] = apr_pstrcat(r->pool, "p:", lower, " ", r->useragent_ip, NULL);
    subj[1] = apr_pstrcat(r->pool, "a:", r->useragent_ip, NULL);
    subj[2] = apr_pstrcat(r->pool, "u:", lower, NULL);
    *pwait = 0;
    if (reserve(st, subj, now, pwait, r->pool) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      WMLOGNO(00044) "password check for %s not made: the "
                      "failure counts are unavailable: %s",
                      user, wm_store_error(st));
        return WM_PW_ERROR;
    }
    if (*pwait) {
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            WMLOGNO(00022) "password check for %s refused: too many failures, "
                           "%" APR_INT64_T_FMT " s to wait",
            user, *pwait);
        return WM_PW_LOCKED;
    }
    /* As mod_auth_basic and mod_auth_form do: each provider in turn until
     * one knows the user. */
    for (i = 0; i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const authn_provider *prov = ap_lookup_provider(
            AUTHN_PROVIDER_GROUP, name, AUTHN_PROVIDER_VERSION);

        if (!prov || !prov->check_password) {
            continue;
        }
        apr_table_setn(r->notes, AUTHN_PROVIDER_NAME_NOTE, name);
        status = prov->check_password(r, user, password);
        apr_table_unset(r->notes, AUTHN_PROVIDER_NAME_NOTE);
        if (status != AUTH_USER_NOT_FOUND) {
            break;
        }
    }
    if (status == AUTH_GRANTED) {
        /* The attempt was counted before the check: the user's counts go,
         * the address gets its one back (others may share it). */
        wm_store_failure_clear(st, subj[0], r->pool);
        wm_store_failure_clear(st, subj[2], r->pool);
        wm_store_failure_refund(st, subj[1], r->pool);
        r->user = apr_pstrdup(r->pool, user);
        return WM_PW_OK;
    }
    if (status == AUTH_GENERAL_ERROR) {
        for (i = 0; i < 3; i++) {
            wm_store_failure_refund(st, subj[i], r->pool);
        }
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            WMLOGNO(
                00023) "no authn provider of WinMDMAuthProvider could check "
                       "the password of %s (see the provider's own message)",
            user);
        return WM_PW_ERROR;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  WMLOGNO(00024) "password check for %s failed", user);
    return WM_PW_DENIED;
}
