/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The enrollment endpoints: MS-XCEP GetPolicies and MS-WSTEP
 * RequestSecurityToken (spec/enrollment.md sections 4 and 5). Both are
 * authenticated by the credential the vhost's WinMDMAuthPolicy accepts: the
 * sign-in page's token (Federated) or a UsernameToken (OnPremise). Every
 * refusal is a SOAP fault with the MS-MDE2 subcode that fits (DESIGN.md
 * section 1) and changes nothing. */

#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>

#include "wm_cert.h"
#include "wm_paths.h"
#include "wm_provdoc.h"
#include "wm_secret.h"
#include "wm_soap.h"
#include "wm_store.h"
#include "wm_wssec.h"
#include "wm_wstep.h"
#include "wm_xcep.h"
#include "mod_winmdm_auth.h"
#include "mod_winmdm_dbd.h"
#include "mod_winmdm_io.h"
#include "mod_winmdm_private.h"
#include "mod_winmdm_routes.h"

/* Random bytes in an OMA-DM digest secret and in a nonce. */
#define SECRET_BYTES 24
#define NONCE_BYTES 16

/* A refusal on its way to becoming a SOAP fault. */
typedef struct {
    wm_fault_e fault;
    const char *reason;
} refusal_t;

static const char *refuse(refusal_t *out, wm_fault_e fault, const char *reason)
{
    out->fault = fault;
    out->reason = reason;
    return reason;
}

/**
 * Authenticates the request by its WS-Security credential.
 * @param puser        receives the user on success
 * @param ptoken_hash  receives the token's hash (Federated), or NULL
 * @return NULL on success, else the reason (and *out filled)
 */
static const char *authenticate(request_rec *r, const wm_srv_conf_t *sc,
                                wm_store_t *st, const wm_soap_env_t *env,
                                refusal_t *out, const char **puser,
                                const char **ptoken_hash)
{
    wm_auth_policy_e policy = wm_conf_auth_policy(sc);
    const char *err = NULL, *user = NULL, *hash = NULL;
    apr_int64_t wait;
    wm_cred_t *cred;

    *puser = NULL;
    *ptoken_hash = NULL;
    if (wm_wssec_parse(env, &cred, &err, r->pool) != APR_SUCCESS) {
        return refuse(out, WM_FAULT_INVALID_SECURITY, err);
    }
    if (cred->kind == WM_CRED_NONE) {
        return refuse(out, WM_FAULT_AUTHENTICATION,
                      "the request carries no credential");
    }
    if (policy == WM_AUTH_FEDERATED) {
        if (cred->kind != WM_CRED_TOKEN) {
            return refuse(out, WM_FAULT_AUTHENTICATION,
                          "this server accepts only the sign-in page's "
                          "token (AuthPolicy Federated)");
        }
        hash = wm_secret_sha256_hex(cred->token, r->pool);
        if (wm_store_token_get(st, hash, apr_time_sec(apr_time_now()), &user,
                               r->pool) != APR_SUCCESS) {
            return refuse(out, WM_FAULT_ENROLLMENT_SERVER,
                          "the token store is unavailable");
        }
        if (!user) {
            return refuse(out, WM_FAULT_AUTHENTICATION,
                          "the token is unknown or expired");
        }
        r->user = apr_pstrdup(r->pool, user);
    }
    else {
        if (cred->kind != WM_CRED_USERNAME) {
            return refuse(out, WM_FAULT_AUTHENTICATION,
                          "this server accepts only a UsernameToken "
                          "(AuthPolicy OnPremise)");
        }
        user = cred->username;
        if (!wm_auth_domain_ok(sc, user)) {
            return refuse(out, WM_FAULT_AUTHORIZATION,
                          apr_psprintf(r->pool,
                                       "%s may not enroll devices "
                                       "here",
                                       user));
        }
        switch (wm_auth_password(r, sc, st, user, cred->password, &wait)) {
        case WM_PW_OK:
            break;
        case WM_PW_LOCKED:
            return refuse(out, WM_FAULT_AUTHENTICATION,
                          apr_psprintf(r->pool,
                                       "too many failed attempts; try again "
                                       "in %" APR_INT64_T_FMT " seconds",
                                       wait));
        case WM_PW_DENIED:
            return refuse(out, WM_FAULT_AUTHENTICATION,
                          "the user name or password is incorrect");
        default:
            return refuse(out, WM_FAULT_INTERNAL_SERVICE,
                          "the password could not be checked");
        }
    }
    /* Checked again at use: the configuration may have changed since the
     * token was issued. */
    if (!wm_auth_domain_ok(sc, user)) {
        return refuse(
            out, WM_FAULT_AUTHORIZATION,
            apr_psprintf(r->pool, "%s may not enroll devices here", user));
    }
    *puser = user;
    *ptoken_hash = hash;
    return NULL;
}

/* Whether sha1 is the current certificate of an enrolled device: an
 * older certificate of the device, or one of an unenrolled device, proves
 * nothing. */
static int current_cert_of(const wm_device_t *dev, const char *sha1)
{
    return dev && !strcmp(dev->state, "enrolled") && dev->cert_sha1 &&
           !strcmp(dev->cert_sha1, sha1);
}

/* The DeviceID of an enrolled device whose current certificate the
 * client showed in the TLS handshake, or NULL. */
static const char *enrolled_client_cert(request_rec *r,
                                        const wm_srv_conf_t *sc,
                                        wm_store_t *st)
{
    const char *sha1, *cn, *err;
    wm_device_t *dev;

    if (!wm_auth_client_identity(r, sc, &sha1, &cn, &err) || !sha1 ||
        wm_store_device_get(st, cn, &dev, r->pool) != APR_SUCCESS ||
        !current_cert_of(dev, sha1)) {
        return NULL;
    }
    return cn;
}

/* ------------------------------------------------------------- XCEP */

int wm_ep_xcep(request_rec *r, const wm_srv_conf_t *sc, const wm_route_t *route)
{
    wm_xcep_conf_t xconf;
    wm_soap_env_t *env;
    wm_store_t *st;
    refusal_t no;
    const char *err, *user, *hash, *answer;
    int status;

    (void)route;
    if (!(env = wm_io_read_soap(r, wm_conf_max_message_size(sc), WM_ACTION_XCEP,
                                WM_ACTION_XCEP_RESPONSE, &status))) {
        return status;
    }
    if (wm_xcep_check(env, &err) != APR_SUCCESS) {
        return wm_io_soap_fault(r, WM_FAULT_MESSAGE_FORMAT,
                                WM_ACTION_XCEP_RESPONSE, env->message_id, err);
    }
    if (wm_dbd_store(r, &st) != APR_SUCCESS) {
        return wm_io_soap_fault(r, WM_FAULT_ENROLLMENT_SERVER,
                                WM_ACTION_XCEP_RESPONSE, env->message_id,
                                "the enrollment database is unavailable");
    }
    if ((user = enrolled_client_cert(r, sc, st))) {
        /* A renewal follows the enrollment's steps, the policy service
         * included (CertificateStore CSP, WSTEP/Renew/ServerURL); the
         * device proves itself by its current certificate in the TLS
         * handshake (MS-MDE2 3.5, ROBO). */
        user = apr_pstrcat(r->pool, "device ", user, NULL);
    }
    else if (authenticate(r, sc, st, env, &no, &user, &hash)) {
        return wm_io_soap_fault(r, no.fault, WM_ACTION_XCEP_RESPONSE,
                                env->message_id, no.reason);
    }
    xconf.validity_days = wm_conf_cert_validity(sc);
    xconf.renew_days = wm_conf_renew_period(sc);
    answer = wm_xcep_response(&xconf, env->message_id, r->pool);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  WMLOGNO(00029) "enrollment policy sent to %s", user);
    return wm_io_send(r, HTTP_OK, WM_SOAP_CONTENT_TYPE, answer, strlen(answer));
}

/* ------------------------------------------------------------ WSTEP */

/* The URL of an endpoint under WinMDMManagementURL, the host that asks for
 * client certificates (OMA-DM and renewal). */
static const char *mgmt(const wm_srv_conf_t *sc, const char *path,
                        apr_pool_t *p)
{
    return apr_pstrcat(p, wm_conf_management_url(sc), path, NULL);
}

static void fill_provdoc(wm_provdoc_t *d, const wm_srv_conf_t *sc, int win81,
                         const wm_issued_t *cert, int device_context,
                         const char *device_id, apr_pool_t *p)
{
    memset(d, 0, sizeof(*d));
    d->win81 = win81;
    d->validity_days = wm_conf_cert_validity(sc);
    d->ca = sc->ca;
    d->cert = cert;
    d->device_context = device_context;
    d->provider_id = wm_conf_provider_id(sc);
    d->mgmt_url = mgmt(sc, win81 ? WM_PATH_SYNCML81 : WM_PATH_SYNCML10, p);
    d->renew_url = mgmt(sc, win81 ? WM_PATH_WSTEP81 : WM_PATH_WSTEP10, p);
    d->renew_days = wm_conf_renew_period(sc);
    d->device_id = device_id;
    d->poll_minutes = wm_conf_poll_interval(sc);
}

static int send_token(request_rec *r, const wm_provdoc_t *d,
                      const wm_soap_env_t *env)
{
    const char *answer =
        wm_wstep_response(wm_provdoc_build(d, r->pool), env->message_id,
                          apr_time_sec(apr_time_now()), r->pool);
    return wm_io_send(r, HTTP_OK, WM_SOAP_CONTENT_TYPE, answer, strlen(answer));
}

/* ROBO renewal (MS-MDE2 3.5): the device proves it holds its current
 * certificate by the TLS handshake, or by signing the request in a PKCS#7;
 * a certificate merely quoted in the body proves nothing. */
static int renew(request_rec *r, const wm_srv_conf_t *sc, wm_store_t *st,
                 const wm_soap_env_t *env, const wm_rst_t *rst, int win81)
{
    const char *err, *sha1 = NULL, *cn = NULL, *how;
    wm_device_t *dev, updated;
    wm_issued_t *cert;
    wm_provdoc_t d;
    wm_csr_t *csr;

    if (wm_csr_parse(&csr, rst->csr_b64, &err, r->pool) != APR_SUCCESS) {
        return wm_io_soap_fault(r, WM_FAULT_CERTIFICATE_REQUEST,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id, err);
    }
    if (wm_auth_client_identity(r, sc, &sha1, &cn, &err)) {
        how = "TLS client certificate";
        if (sha1 && csr->signer && strcmp(csr->signer_sha1, sha1)) {
            /* Windows signs the renewal's PKCS#7 with the certificate it
             * shows in the handshake; another signer proves nothing. */
            sha1 = NULL;
            err = "the PKCS#7 is signed by another certificate than the "
                  "TLS client certificate";
        }
    }
    else if (csr->signer) {
        how = "PKCS#7 signer";
        if (wm_cert_check_issued(sc->ca, csr->signer, &sha1, &cn, &err,
                                 r->pool)) {
            sha1 = NULL;
        }
    }
    else {
        how = "nothing";
        err = "a renewal must be made with the current certificate";
    }
    if (!sha1) {
        return wm_io_soap_fault(r, WM_FAULT_AUTHENTICATION,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id, err);
    }
    if (wm_store_device_get(st, cn, &dev, r->pool) != APR_SUCCESS) {
        return wm_io_soap_fault(r, WM_FAULT_ENROLLMENT_SERVER,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id,
                                "the enrollment database is unavailable");
    }
    if (!current_cert_of(dev, sha1) ||
        (rst->device_id && strcmp(rst->device_id, cn))) {
        return wm_io_soap_fault(r, WM_FAULT_AUTHENTICATION,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id,
                                "the certificate is not the current one of "
                                "an enrolled device");
    }
    if (wm_cert_issue(&cert, sc->ca, csr, cn, wm_conf_cert_validity(sc), &err,
                      r->pool)) {
        return wm_io_soap_fault(r, WM_FAULT_CERTIFICATE_REQUEST,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id, err);
    }
    updated = *dev;
    updated.cert_serial = cert->serial_hex;
    updated.cert_sha1 = cert->sha1_hex;
    updated.cert_not_after = cert->not_after;
    if (wm_store_device_put(st, &updated, r->pool) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      WMLOGNO(00030) "renewal of %s not stored: %s", cn,
                      wm_store_error(st));
        return wm_io_soap_fault(r, WM_FAULT_ENROLLMENT_SERVER,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id,
                                "the renewal could not be stored");
    }
    ap_log_rerror(
        APLOG_MARK, APLOG_INFO, 0, r,
        WMLOGNO(00031) "certificate of %s renewed (proven by %s), serial %s",
        cn, how, cert->serial_hex);
    fill_provdoc(&d, sc, win81, cert,
                 dev->enroll_type && !strcasecmp(dev->enroll_type, "Device"),
                 cn, r->pool);
    d.renewal = 1;
    return send_token(r, &d, env);
}

int wm_ep_wstep(request_rec *r, const wm_srv_conf_t *sc,
                const wm_route_t *route)
{
    const char *dev_nonce, *srv_secret, *srv_nonce;
    int win81 = route->endpoint == WM_EP_WSTEP81, status;
    apr_int64_t now = apr_time_sec(apr_time_now());
    const char *err, *user, *hash, *secret;
    wm_soap_env_t *env;
    wm_issued_t *cert;
    wm_device_t dev;
    wm_provdoc_t d;
    wm_store_t *st;
    wm_rst_t *rst;
    wm_csr_t *csr;
    refusal_t no;
    apr_status_t rv;

    if (!(env =
              wm_io_read_soap(r, wm_conf_max_message_size(sc), WM_ACTION_WSTEP,
                              WM_ACTION_WSTEP_RESPONSE, &status))) {
        return status;
    }
    if (wm_wstep_parse(env, &rst, &err, r->pool) != APR_SUCCESS) {
        return wm_io_soap_fault(r, WM_FAULT_MESSAGE_FORMAT,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id, err);
    }
    if (wm_dbd_store(r, &st) != APR_SUCCESS) {
        return wm_io_soap_fault(r, WM_FAULT_ENROLLMENT_SERVER,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id,
                                "the enrollment database is unavailable");
    }
    if (rst->renew) {
        return renew(r, sc, st, env, rst, win81);
    }
    if ((rv = wm_wstep_name_device(rst, win81, &err, r->pool))) {
        return wm_io_soap_fault(r,
                                rv == APR_EINVAL ? WM_FAULT_MESSAGE_FORMAT
                                                 : WM_FAULT_INTERNAL_SERVICE,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id,
                                rv == APR_EINVAL ? err : "no random numbers");
    }
    if (authenticate(r, sc, st, env, &no, &user, &hash)) {
        return wm_io_soap_fault(r, no.fault, WM_ACTION_WSTEP_RESPONSE,
                                env->message_id, no.reason);
    }
    if (wm_csr_parse(&csr, rst->csr_b64, &err, r->pool) != APR_SUCCESS) {
        return wm_io_soap_fault(r, WM_FAULT_CERTIFICATE_REQUEST,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id, err);
    }
    secret = wm_secret_random_b64(SECRET_BYTES, r->pool);
    dev_nonce = wm_secret_random_b64(NONCE_BYTES, r->pool);
    srv_secret = wm_secret_random_b64(SECRET_BYTES, r->pool);
    srv_nonce = wm_secret_random_b64(NONCE_BYTES, r->pool);
    if (!secret || !dev_nonce || !srv_secret || !srv_nonce) {
        return wm_io_soap_fault(r, WM_FAULT_INTERNAL_SERVICE,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id,
                                "no random numbers");
    }

    memset(&dev, 0, sizeof(dev));
    dev.device_id = rst->device_id;
    dev.hw_dev_id = rst->hw_dev_id;
    dev.user = user;
    dev.enroll_type = rst->enroll_type;
    dev.device_type = rst->device_type;
    dev.os_edition = rst->os_edition;
    dev.os_version = rst->os_version;
    dev.device_name = rst->device_name;
    /* Only MD5(name:secret) is kept: what an OMA-DM MD5 digest is checked
     * against (OMA-DM 1.2 security, DESIGN.md section 5). */
    dev.digest_ha1 = wm_secret_md5_hex(
        apr_pstrcat(r->pool, rst->device_id, ":", secret, NULL), r->pool);
    dev.state = "enrolled";
    dev.enrolled_at = now;
    dev.poll_interval = wm_conf_poll_interval(sc);

    /* The certificate is signed before the transaction, not inside it: on
     * SQLite the transaction holds the database's write lock, and an
     * RSA signature inside it made every enrollment of every child wait
     * for the one signing (and sleep in SQLite's busy handler). A
     * certificate signed for a request the transaction then refuses (the
     * token spent meanwhile, the DeviceID another user's) is neither
     * stored nor sent: it is dropped with the request's pool. */
    if (wm_cert_issue(&cert, sc->ca, csr, dev.device_id,
                      wm_conf_cert_validity(sc), &err, r->pool)) {
        return wm_io_soap_fault(r, WM_FAULT_CERTIFICATE_REQUEST,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id,
                                err);
    }
    dev.cert_serial = cert->serial_hex;
    dev.cert_sha1 = cert->sha1_hex;
    dev.cert_not_after = cert->not_after;
    /* The token is spent in the transaction that stores the device: one
     * token, one device. */
    rv = wm_store_enroll_signed(
        st, &dev, dev_nonce,
        now + (apr_int64_t)wm_conf_cert_validity(sc) * 86400, hash, now,
        r->pool);
    if (rv == APR_ENOENT && hash) {
        return wm_io_soap_fault(r, WM_FAULT_AUTHENTICATION,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id,
                                "the token is unknown, expired or already "
                                "used");
    }
    if (rv == APR_EACCES) {
        return wm_io_soap_fault(r, WM_FAULT_AUTHORIZATION,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id,
                                "this device is enrolled by another user");
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      WMLOGNO(00032) "enrollment of %s not stored: %s",
                      rst->device_id, wm_store_error(st));
        return wm_io_soap_fault(r, WM_FAULT_ENROLLMENT_SERVER,
                                WM_ACTION_WSTEP_RESPONSE, env->message_id,
                                "the enrollment could not be stored");
    }
    fill_provdoc(&d, sc, win81, cert, wm_wstep_device_context(rst),
                 rst->device_id, r->pool);
    d.device_secret = secret;
    d.device_nonce = dev_nonce;
    d.server_secret = srv_secret;
    d.server_nonce = srv_nonce;
    d.upn = user;
    d.device_name = rst->device_name;
    ap_log_rerror(
        APLOG_MARK, APLOG_INFO, 0, r,
        WMLOGNO(
            00033) "device %s enrolled by %s (%s, %s), certificate serial %s",
        rst->device_id, user, win81 ? "Windows 8.1" : "Windows 10/11",
        d.device_context ? "device context" : "user context", cert->serial_hex);
    return send_token(r, &d, env);
}
