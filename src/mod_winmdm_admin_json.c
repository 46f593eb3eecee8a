/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* What every part of the admin API shares (see mod_winmdm_admin.h): JSON
 * owned by the request pool and written with a Content-Length, errors as
 * {"error": "..."}, times in RFC 3339, query parameters and request
 * bodies. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>

#include "wm_opjson.h"
#include "mod_winmdm_admin.h"
#include "mod_winmdm_io.h"
#include "mod_winmdm_private.h"

#define LIST_DEFAULT 50
#define LIST_MAX 500

/* ------------------------------------------------------------- JSON */

static apr_status_t json_cleanup(void *data)
{
    json_decref((json_t *)data);
    return APR_SUCCESS;
}

/* A new JSON value owned by the request pool. */
json_t *wm_admin_owned(request_rec *r, json_t *j)
{
    if (j) {
        apr_pool_cleanup_register(r->pool, j, json_cleanup,
                                  apr_pool_cleanup_null);
    }
    return j;
}

int wm_admin_send_json(request_rec *r, int status, json_t *j)
{
    const char *body = wm_json_dump(j, JSON_COMPACT | JSON_ENSURE_ASCII,
                                    r->pool);
    if (!body) {
        body = "{\"error\": \"the answer could not be written\"}";
        status = HTTP_INTERNAL_SERVER_ERROR;
    }
    return wm_io_send(r, status, "application/json", body, strlen(body));
}

int wm_admin_error(request_rec *r, int status, const char *msg)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  WMLOGNO(00038) "admin API: %d %s", status, msg);
    return wm_admin_send_json(r, status, wm_admin_owned(r, json_pack("{s:s}", "error", msg)));
}

json_t *wm_admin_time(apr_int64_t secs, apr_pool_t *p)
{
    apr_time_exp_t t;
    if (!secs) {
        return json_null();
    }
    apr_time_exp_gmt(&t, apr_time_from_sec(secs));
    return json_string(apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                                    t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                                    t.tm_hour, t.tm_min, t.tm_sec));
}

json_t *wm_admin_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A query parameter's value (URL-decoded), or NULL. */
const char *wm_admin_arg(request_rec *r, const char *name)
{
    char *args, *pair, *state = NULL;
    size_t n = strlen(name);

    if (!r->args) {
        return NULL;
    }
    args = apr_pstrdup(r->pool, r->args);
    for (pair = apr_strtok(args, "&", &state); pair;
         pair = apr_strtok(NULL, "&", &state)) {
        if (!strncmp(pair, name, n) && pair[n] == '=') {
            char *v = pair + n + 1;
            return ap_unescape_urlencoded(v) ? NULL : v;
        }
    }
    return NULL;
}

int wm_admin_limit(request_rec *r, int *plimit)
{
    const char *v = wm_admin_arg(r, "limit");
    char *end;
    long n;

    *plimit = LIST_DEFAULT;
    if (!v) {
        return 1;
    }
    n = strtol(v, &end, 10);
    if (*end || n < 1 || n > LIST_MAX) {
        return 0;
    }
    *plimit = (int)n;
    return 1;
}

/* The body of a state-changing request, or NULL after answering. */
const char *wm_admin_body(request_rec *r, const wm_srv_conf_t *sc,
                             apr_size_t *plen, int *pstatus)
{
    const char *buf;

    *pstatus = wm_io_read_body(r, wm_conf_max_message_size(sc), &buf, plen);
    if (*pstatus == HTTP_REQUEST_ENTITY_TOO_LARGE) {
        *pstatus = wm_admin_error(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                              "the request body is too large");
        return NULL;
    }
    return *pstatus == OK ? buf : NULL;
}

