/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Who is asking: passwords checked through httpd's authn providers (the
 * way mod_auth_form does, so htpasswd, mod_authn_dbd and LDAP work with no
 * password code here), failed attempts slowed down, enrollment domains,
 * and the TLS client certificate from mod_ssl. */

#ifndef MOD_WINMDM_AUTH_H
#define MOD_WINMDM_AUTH_H

#include <httpd.h>

#include "mod_winmdm_config.h"

struct wm_store_t;

/* Password attempts are counted before they are checked, in one
 * serialised step, per user from one address, per address and per user
 * from anywhere (user names compared case-insensitively). After this many
 * attempts in WM_AUTH_WINDOW seconds the subject is made to wait
 * WM_AUTH_FIRST_WAIT seconds, twice as long after each further one, up to
 * WM_AUTH_WINDOW; a right password
 * clears the user's counts. So a guesser's address is slowed after 5
 * tries while the user signs in from their own address, up to the much
 * higher per-user cap; an address (many users behind one NAT) gets 20. */
#define WM_AUTH_PAIR_FREE_TRIES 5
#define WM_AUTH_ADDR_FREE_TRIES 20
#define WM_AUTH_USER_FREE_TRIES 100
#define WM_AUTH_WINDOW 900
#define WM_AUTH_FIRST_WAIT 60

typedef enum {
    WM_PW_OK,     /* the password is right */
    WM_PW_DENIED, /* wrong password or unknown user */
    WM_PW_LOCKED, /* too many failures: not checked; *pwait seconds left */
    WM_PW_ERROR   /* no provider could check it (logged) */
} wm_pw_result_e;

/** Fetches mod_ssl's optional functions (pre_config). */
void wm_auth_pre_config(void);

/**
 * Checks user's password with the WinMDMAuthProvider providers in order,
 * counting failures per user and per client address in the store.
 * @param pwait  receives the seconds to wait when WM_PW_LOCKED
 */
wm_pw_result_e wm_auth_password(request_rec *r, const wm_srv_conf_t *sc,
                                struct wm_store_t *st, const char *user,
                                const char *password, apr_int64_t *pwait);

/** True when user may enroll on this vhost: when WinMDMDomain is set,
 *  the name must end in @ one of its domains (a bare name is refused). */
int wm_auth_domain_ok(const wm_srv_conf_t *sc, const char *user);

/** The PEM client certificate of this TLS connection, or NULL. */
const char *wm_auth_client_cert(request_rec *r);

/**
 * The identity a connection's client certificate proves: checked against
 * the device CA (issued by it, valid now) once per connection, the result
 * kept in the connection's pool for its later requests.
 * @param psha1  receives the upper-case hex thumbprint, NULL when the
 *               check failed (allocated from the connection's pool)
 * @param pcn    receives the subject CN (the DeviceID), or NULL
 * @param perr   receives why the check failed, or NULL
 * @return 1 when the client showed a certificate (good or not), 0 when
 *         it showed none (or TLS ends in front of httpd)
 */
int wm_auth_client_identity(request_rec *r, const wm_srv_conf_t *sc,
                            const char **psha1, const char **pcn,
                            const char **perr);

#endif /* MOD_WINMDM_AUTH_H */
