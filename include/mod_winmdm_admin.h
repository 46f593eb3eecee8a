/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The admin API's parts (DESIGN.md section 6): devices and operations
 * (mod_winmdm_admin.c, which also dispatches), groups, profiles and the
 * audit log (mod_winmdm_admin_profiles.c), and the JSON and request
 * helpers they share (mod_winmdm_admin_json.c). */

#ifndef MOD_WINMDM_ADMIN_H
#define MOD_WINMDM_ADMIN_H

#include <apr_pools.h>
#include <jansson.h>

#include <httpd.h>

#include "mod_winmdm_config.h"

struct wm_store_t;

/** A JSON value released with the request pool (NULL stays NULL). */
json_t *wm_admin_owned(request_rec *r, json_t *j);

/** Sends j with status, Content-Type application/json; returns OK. */
int wm_admin_send_json(request_rec *r, int status, json_t *j);

/** Sends {"error": msg} with a 4xx or 5xx status, logged at info. */
int wm_admin_error(request_rec *r, int status, const char *msg);

/** A time (seconds) as RFC 3339 UTC, or JSON null for 0. */
json_t *wm_admin_time(apr_int64_t secs, apr_pool_t *p);

/** A string, or JSON null for NULL. */
json_t *wm_admin_str(const char *s);

/** A query parameter, URL-decoded, or NULL. */
const char *wm_admin_arg(request_rec *r, const char *name);

/** The limit query parameter (1 to 500, default 50); 0 when malformed. */
int wm_admin_limit(request_rec *r, int *plimit);

/** The request body, or NULL after answering (*pstatus: what to return). */
const char *wm_admin_body(request_rec *r, const wm_srv_conf_t *sc,
                          apr_size_t *plen, int *pstatus);

/**
 * Groups, profiles, a device's profiles and the audit log; seg[0] is
 * "groups", "profiles" or "audit", or seg is devices/{id}/profiles or
 * devices/{id}/audit. Returns DECLINED when the path is none of these.
 */
int wm_admin_profiles(request_rec *r, const wm_srv_conf_t *sc,
                      struct wm_store_t *st, int m, char **seg, int nseg);

#endif /* MOD_WINMDM_ADMIN_H */
