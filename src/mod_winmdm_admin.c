/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The administrators' JSON API under {api}/admin (DESIGN.md section 6):
 * devices, their inventory and operations, queueing operations one by one
 * or in WSO2-style batches. JSON is read and written with jansson. The API
 * answers only requests httpd authenticated (r->user set by whatever auth
 * module the admin configured; otherwise 403), and a request that changes
 * state must say Content-Type: application/json and, when it sends an
 * Origin, come from this server's own origin: no cross-site request can
 * ride on cached Basic credentials. */

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>

#include <httpd.h>
#include <http_log.h>
#include <http_core.h>
#include <http_protocol.h>

#include "wm_dm.h"
#include "wm_opjson.h"
#include "wm_ops.h"
#include "wm_store.h"
#include "wm_store_profile.h"
#include "wm_wstep.h"
#include "mod_winmdm_admin.h"
#include "mod_winmdm_dbd.h"
#include "mod_winmdm_io.h"
#include "mod_winmdm_private.h"
#include "mod_winmdm_routes.h"

#include "console_html.inc"

#define BATCH_MAX 1000

static const struct {
    const char *name;
    const char *type;
} batches[] = {
    {"lock-devices", "LOCK"},
    {"wipe-devices", "WIPE"},
    {"ring-devices", "RING"},
    {"lock-reset-devices", "LOCK_RESET"},
    {"disenroll-devices", "DISENROLL"},
    {"location", "LOCATION"},
    {"reboot", "REBOOT"},
};

static json_t *device_json(const wm_device_t *d, apr_pool_t *p)
{
    json_t *j = json_object();
    json_object_set_new(j, "device_id", json_string(d->device_id));
    json_object_set_new(j, "state", wm_admin_str(d->state));
    json_object_set_new(j, "user", wm_admin_str(d->user));
    json_object_set_new(j, "os_version", wm_admin_str(d->os_version));
    json_object_set_new(j, "device_name", wm_admin_str(d->device_name));
    json_object_set_new(j, "enrollment_type", wm_admin_str(d->enroll_type));
    json_object_set_new(j, "enrolled_at", wm_admin_time(d->enrolled_at, p));
    json_object_set_new(j, "last_seen", wm_admin_time(d->last_seen, p));
    json_object_set_new(j, "certificate_expires",
                        wm_admin_time(d->cert_not_after, p));
    return j;
}

static json_t *op_json(const wm_op_t *op, const apr_array_header_t *results,
                       apr_pool_t *p)
{
    json_t *j = json_object(), *rs;
    int i;

    json_object_set_new(
        j, "id", json_string(apr_psprintf(p, "%" APR_INT64_T_FMT, op->id)));
    json_object_set_new(j, "device", json_string(op->device_id));
    json_object_set_new(j, "type", json_string(op->type));
    json_object_set_new(j, "state", json_string(op->state));
    json_object_set_new(
        j, "status", op->status >= 0 ? json_integer(op->status) : json_null());
    json_object_set_new(j, "created", wm_admin_time(op->created, p));
    json_object_set_new(j, "sent", wm_admin_time(op->sent, p));
    json_object_set_new(j, "completed", wm_admin_time(op->completed, p));
    json_object_set_new(j, "created_by", wm_admin_str(op->created_by));
    if (results) {
        rs = json_array();
        for (i = 0; i < results->nelts; i++) {
            const wm_kv_t *kv = &APR_ARRAY_IDX(results, i, wm_kv_t);
            json_array_append_new(rs, json_pack("{s:o,s:o}", "uri",
                                                wm_admin_str(kv->key), "data",
                                                wm_admin_str(kv->value)));
        }
        json_object_set_new(j, "results", rs);
    }
    return j;
}

/* ---------------------------------------------------------- requests */

/* Same-origin: the Origin a browser sends names this server exactly. */
static int origin_ok(request_rec *r)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *self;

    if (!origin) {
        return 1;
    }
    self = ap_construct_url(r->pool, "", r);
    return !strcasecmp(origin, self);
}

/* ------------------------------------------------------- operations */

/* Builds and queues one operation of type for dev. */
static int queue(request_rec *r, const wm_srv_conf_t *sc, wm_store_t *st,
                 const wm_device_t *dev, const char *type,
                 wm_op_params_t *params, apr_int64_t *pid, const char **perr)
{
    const char *ops_body;
    apr_int64_t now;
    int count;

    params->provider_id = wm_conf_provider_id(sc);
    params->poll_minutes = wm_conf_poll_interval(sc);
    if (wm_ops_build(type, params, (apr_size_t)wm_conf_max_message_size(sc),
                     &ops_body, &count, perr, r->pool)
        != APR_SUCCESS) {
        return HTTP_BAD_REQUEST;
    }
    if (!wm_dm_op_fits(ops_body, WM_DM_DEFAULT_MAX_MSG)) {
        /* An operation goes out whole in one reply; Windows states no
         * MaxMsgSize, so a reply stays under WM_DM_DEFAULT_MAX_MSG. */
        *perr = apr_psprintf(r->pool,
                             "the operation's commands (%" APR_SIZE_T_FMT
                             " bytes) do not fit one reply to a device (%d "
                             "bytes with its header)",
                             strlen(ops_body), WM_DM_DEFAULT_MAX_MSG);
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    now = apr_time_sec(apr_time_now());
    /* Who queued it is kept with it and in the audit log. */
    if (wm_store_op_add(st, dev->device_id, type, ops_body, count, now, pid,
                        r->pool) ||
        wm_store_op_creator(st, *pid, r->user, r->pool) ||
        wm_store_audit(st, now, r->user, "operation queued", "operation",
                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT, *pid),
                       dev->device_id, type, r->pool)) {
        *perr = "the operation could not be stored";
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_log_rerror(
        APLOG_MARK, APLOG_INFO, 0, r,
        WMLOGNO(00039) "%s queued %s for %s as operation %" APR_INT64_T_FMT,
        r->user, type, dev->device_id, *pid);
    return OK;
}

/* queue() in a transaction of its own: the operation, who queued it and
 * the audit record are stored together or not at all. */
static int queue_one(request_rec *r, const wm_srv_conf_t *sc, wm_store_t *st,
                     const wm_device_t *dev, const char *type,
                     wm_op_params_t *params, apr_int64_t *pid,
                     const char **perr)
{
    int status;

    if (wm_store_begin(st, r->pool)) {
        *perr = "the database is unavailable";
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if ((status = queue(r, sc, st, dev, type, params, pid, perr)) != OK) {
        wm_store_rollback(st, r->pool);
        return status;
    }
    if (wm_store_commit(st, r->pool)) {
        *perr = "the operation could not be stored";
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static int queued_json(request_rec *r, int status, apr_int64_t id)
{
    return wm_admin_send_json(
        r, status,
        wm_admin_owned(r, json_pack("{s:s,s:s}", "id",
                           apr_psprintf(r->pool, "%" APR_INT64_T_FMT, id),
                           "state", "pending")));
}

/* Looks the device up; NULL after answering 404/409/500. */
static wm_device_t *device_for(request_rec *r, wm_store_t *st, const char *id,
                               int need_enrolled, int *pstatus)
{
    wm_device_t *dev;
    if (!wm_wstep_device_id_ok(id)) {
        *pstatus = wm_admin_error(r, HTTP_BAD_REQUEST, "malformed DeviceID");
        return NULL;
    }
    if (wm_store_device_get(st, id, &dev, r->pool)) {
        *pstatus = wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the database is unavailable");
        return NULL;
    }
    if (!dev) {
        *pstatus = wm_admin_error(r, HTTP_NOT_FOUND, "no such device");
        return NULL;
    }
    if (need_enrolled && strcmp(dev->state, "enrolled")) {
        *pstatus = wm_admin_error(r, HTTP_CONFLICT, "the device is unenrolled");
        return NULL;
    }
    return dev;
}

static int post_operation(request_rec *r, const wm_srv_conf_t *sc,
                          wm_store_t *st, const char *id)
{
    const char *buf, *type, *err = NULL;
    wm_op_params_t params;
    wm_device_t *dev;
    apr_int64_t op;
    apr_size_t len;
    int status;

    if (!(buf = wm_admin_body(r, sc, &len, &status))) {
        return status;
    }
    memset(&params, 0, sizeof(params));
    if (wm_opjson_request(buf, len, &type, &params, &err, r->pool)) {
        return wm_admin_error(r, HTTP_BAD_REQUEST, err);
    }
    if (!(dev = device_for(r, st, id, 1, &status))) {
        return status;
    }
    if ((status = queue_one(r, sc, st, dev, type, &params, &op, &err)) !=
        OK) {
        return wm_admin_error(r, status, err);
    }
    return queued_json(r, HTTP_CREATED, op);
}

static int batch(request_rec *r, const wm_srv_conf_t *sc, wm_store_t *st,
                 const char *type)
{
    apr_array_header_t *ids;
    json_t *ops, *unknown;
    const char *buf, *err = NULL;
    apr_size_t len;
    int status, i;

    if (!(buf = wm_admin_body(r, sc, &len, &status))) {
        return status;
    }
    if (wm_opjson_ids(buf, len, BATCH_MAX, &ids, &err, r->pool)) {
        return wm_admin_error(r, HTTP_BAD_REQUEST, err);
    }
    ops = wm_admin_owned(r, json_array());
    unknown = wm_admin_owned(r, json_array());
    if (wm_store_begin(st, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                          "the database is unavailable");
    }
    for (i = 0; i < ids->nelts; i++) {
        const char *id = APR_ARRAY_IDX(ids, i, const char *);
        wm_device_t *dev = NULL;
        wm_op_params_t params;
        apr_int64_t op;

        if (!wm_wstep_device_id_ok(id)
            || wm_store_device_get(st, id, &dev, r->pool) || !dev
            || strcmp(dev->state, "enrolled")) {
            json_array_append_new(unknown, json_string(id));
            continue;
        }
        memset(&params, 0, sizeof(params));
        if ((status = queue(r, sc, st, dev, type, &params, &op, &err)) != OK) {
            wm_store_rollback(st, r->pool);
            return wm_admin_error(r, status, err);
        }
        json_array_append_new(
            ops, json_pack("{s:s,s:s}", "device", id, "id",
                           apr_psprintf(r->pool, "%" APR_INT64_T_FMT, op)));
    }
    if (wm_store_commit(st, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                          "the operations could not be stored");
    }
    return wm_admin_send_json(r, HTTP_CREATED,
                     wm_admin_owned(r, json_pack("{s:O,s:O}", "operations", ops,
                                        "unknown", unknown)));
}

/* ------------------------------------------------------------ reads */

/* A positive number from a query parameter; 0 when absent, -1 when it is
 * not one. */
static apr_int64_t id_arg(request_rec *r, const char *name)
{
    const char *v = wm_admin_arg(r, name);
    char *end;
    apr_int64_t n;

    if (!v) {
        return 0;
    }
    n = apr_strtoi64(v, &end, 10);
    return (*v && !*end && n > 0) ? n : -1;
}

/* GET devices: pages, searched and filtered (q, state, os, group,
 * profile, profile_state). */
static int list_devices(request_rec *r, wm_store_t *st)
{
    apr_array_header_t *devs;
    wm_device_filter_t f;
    json_t *list;
    int limit, i;
    const char *next = NULL, *group = wm_admin_arg(r, "group");

    if (!wm_admin_limit(r, &limit)) {
        return wm_admin_error(r, HTTP_BAD_REQUEST, "limit must be 1 to 500");
    }
    memset(&f, 0, sizeof(f));
    f.q = wm_admin_arg(r, "q");
    f.state = wm_admin_arg(r, "state");
    f.os_version = wm_admin_arg(r, "os");
    f.profile_state = wm_admin_arg(r, "profile_state");
    /* "all" (every device) filters nothing, as no group does. */
    f.group = group && strcmp(group, "all") ? id_arg(r, "group") : -1;
    f.profile = id_arg(r, "profile");
    if ((group && strcmp(group, "all") && f.group < 0) || f.profile < 0) {
        return wm_admin_error(r, HTTP_BAD_REQUEST,
                              "group and profile are ids (group may be "
                              "\"all\")");
    }
    if (f.q && !*f.q) {
        f.q = NULL;
    }
    if (wm_store_device_list(st, &f, wm_admin_arg(r, "after"), limit, &devs,
                             r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                          "the database is unavailable");
    }
    list = wm_admin_owned(r, json_array());
    for (i = 0; i < devs->nelts; i++) {
        json_array_append_new(
            list, device_json(APR_ARRAY_IDX(devs, i, wm_device_t *), r->pool));
    }
    if (devs->nelts == limit) {
        next = APR_ARRAY_IDX(devs, devs->nelts - 1, wm_device_t *)->device_id;
    }
    return wm_admin_send_json(r, HTTP_OK,
                     wm_admin_owned(r, json_pack("{s:O,s:o}", "devices", list, "next",
                                        wm_admin_str(next))));
}

/* GET summary: devices by state, and the enrolled ones by when they were
 * last seen. */
static int summary(request_rec *r, wm_store_t *st)
{
    apr_array_header_t *rows;
    json_t *states = json_object(), *seen;
    json_int_t n[4] = {0, 0, 0, 0};
    int i, k;

    if (wm_store_device_summary(st, apr_time_sec(apr_time_now()), &rows,
                                r->pool)) {
        json_decref(states);
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the database is unavailable");
    }
    json_object_set_new(states, "enrolled", json_integer(0));
    json_object_set_new(states, "unenrolled", json_integer(0));
    for (i = 0; i < rows->nelts; i++) {
        const char **row = APR_ARRAY_IDX(rows, i, const char **);
        json_object_set_new(states, row[0],
                            json_integer((json_int_t)apr_atoi64(row[1])));
        if (!strcmp(row[0], "enrolled")) {
            for (k = 0; k < 4; k++) {
                n[k] = (json_int_t)apr_atoi64(row[2 + k]);
            }
        }
    }
    seen = json_pack("{s:I,s:I,s:I,s:I}", "hour", n[0], "day", n[1], "older",
                     n[2], "never", n[3]);
    return wm_admin_send_json(
        r, HTTP_OK,
        wm_admin_owned(r, json_pack("{s:o,s:o}", "states", states,
                                    "last_seen", seen)));
}

static int get_device(request_rec *r, wm_store_t *st, const char *id)
{
    apr_array_header_t *inv;
    wm_device_t *dev;
    json_t *j, *invj;
    int status, i;

    if (!(dev = device_for(r, st, id, 0, &status))) {
        return status;
    }
    if (wm_store_inventory_list(st, id, &inv, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                          "the database is unavailable");
    }
    j = wm_admin_owned(r, device_json(dev, r->pool));
    invj = json_object();
    for (i = 0; i < inv->nelts; i++) {
        const wm_kv_t *kv = &APR_ARRAY_IDX(inv, i, wm_kv_t);
        json_object_set_new(invj, kv->key, wm_admin_str(kv->value));
    }
    json_object_set_new(j, "inventory", invj);
    return wm_admin_send_json(r, HTTP_OK, j);
}

static int list_operations(request_rec *r, wm_store_t *st, const char *id)
{
    apr_array_header_t *ops;
    const char *before = wm_admin_arg(r, "before");
    json_t *list;
    int limit, status, i;

    if (!wm_admin_limit(r, &limit)) {
        return wm_admin_error(r, HTTP_BAD_REQUEST, "limit must be 1 to 500");
    }
    if (!device_for(r, st, id, 0, &status)) {
        return status;
    }
    if (wm_store_op_list(st, id, before ? apr_atoi64(before) : 0, limit, &ops,
                         r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                          "the database is unavailable");
    }
    list = wm_admin_owned(r, json_array());
    for (i = 0; i < ops->nelts; i++) {
        json_array_append_new(
            list, op_json(APR_ARRAY_IDX(ops, i, wm_op_t *), NULL, r->pool));
    }
    return wm_admin_send_json(
        r, HTTP_OK,
        wm_admin_owned(r,
              json_pack(
                  "{s:O,s:o}", "operations", list, "next",
                  ops->nelts == limit
                      ? json_string(apr_psprintf(
                            r->pool, "%" APR_INT64_T_FMT,
                            APR_ARRAY_IDX(ops, ops->nelts - 1, wm_op_t *)->id))
                      : json_null())));
}

static int get_operation(request_rec *r, wm_store_t *st, const char *id)
{
    apr_array_header_t *results;
    apr_int64_t n;
    wm_op_t *op;
    int idx;

    if (!wm_ops_cmdref(id, &n, &idx) || strchr(id, '.')) {
        return wm_admin_error(r, HTTP_BAD_REQUEST, "malformed operation id");
    }
    if (wm_store_op_get(st, n, &op, r->pool) ||
        (op && wm_store_results(st, n, &results, r->pool))) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                          "the database is unavailable");
    }
    if (!op) {
        return wm_admin_error(r, HTTP_NOT_FOUND, "no such operation");
    }
    return wm_admin_send_json(r, HTTP_OK, wm_admin_owned(r, op_json(op, results, r->pool)));
}

/* ---------------------------------------------------------- dispatch */

int wm_ep_admin(request_rec *r, const wm_srv_conf_t *sc,
                const wm_route_t *route)
{
    const char *api = wm_conf_api_prefix(sc);
    const char *rest = r->uri + strlen(api) + strlen("/admin");
    int m = r->method_number, changes = m != M_GET, i;
    const char *ctype = apr_table_get(r->headers_in, "Content-Type");
    char *path, *seg[4], *state = NULL, *s;
    int nseg = 0;
    wm_store_t *st;

    (void)route;
    if (!r->user) {
        return wm_admin_error(r, HTTP_FORBIDDEN,
                          "the admin API needs httpd authentication (see "
                          "conf/winmdm.conf)");
    }
    if (changes) {
        if (!ctype || strncasecmp(ctype, "application/json", 16) ||
            (ctype[16] && ctype[16] != ';' && ctype[16] != ' ')) {
            return wm_admin_error(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                              "requests that change state must be "
                              "Content-Type: application/json");
        }
        if (!origin_ok(r)) {
            return wm_admin_error(r, HTTP_FORBIDDEN,
                              "cross-origin requests are refused");
        }
    }
    /* Up to four path segments; more names no resource. */
    path = apr_pstrdup(r->pool, rest);
    for (s = apr_strtok(path, "/", &state); s;
         s = apr_strtok(NULL, "/", &state)) {
        if (nseg == 4) {
            return wm_admin_error(r, HTTP_NOT_FOUND, "no such admin resource");
        }
        seg[nseg++] = s;
    }
    if (wm_dbd_store(r, &st) != APR_SUCCESS) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                          "the database is unavailable");
    }

    if ((nseg == 0 || (nseg == 1 && !strcmp(seg[0], "console"))) &&
        m == M_GET) {
        /* The web console: one page calling this API from the same origin
         * with the same credentials. Its script and style are inline, so
         * the policy allows nothing from elsewhere. */
        apr_table_setn(r->headers_out, "Content-Security-Policy",
                       "default-src 'none'; script-src 'unsafe-inline'; "
                       "style-src 'unsafe-inline'; connect-src 'self'; "
                       "img-src 'self' data:; form-action 'none'; "
                       "frame-ancestors 'none'; base-uri 'none'");
        apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
        return wm_io_send(r, HTTP_OK, "text/html; charset=utf-8",
                          wm_console_html, sizeof(wm_console_html) - 1);
    }
    if (nseg >= 1 && !strcmp(seg[0], "devices")) {
        if (nseg == 1 && m == M_GET) {
            return list_devices(r, st);
        }
        if (nseg == 2 && m == M_POST) {
            for (i = 0; i < (int)(sizeof(batches) / sizeof(batches[0])); i++) {
                if (!strcmp(seg[1], batches[i].name)) {
                    return batch(r, sc, st, batches[i].type);
                }
            }
        }
        if (nseg == 2 && m == M_GET) {
            return get_device(r, st, seg[1]);
        }
        if (nseg == 2 && m == M_DELETE) {
            /* Unenrollment is an operation: the device is unenrolled when
             * it acknowledges or sends Alert 1226. */
            const char *err = NULL;
            wm_device_t *dev;
            apr_int64_t op;
            int status;
            if (!(dev = device_for(r, st, seg[1], 1, &status))) {
                return status;
            }
            wm_op_params_t params;
            memset(&params, 0, sizeof(params));
            if ((status = queue_one(r, sc, st, dev, "DISENROLL", &params,
                                    &op, &err)) != OK) {
                return wm_admin_error(r, status, err);
            }
            return queued_json(r, HTTP_ACCEPTED, op);
        }
        if (nseg == 3 && !strcmp(seg[2], "operations")) {
            if (m == M_GET) {
                return list_operations(r, st, seg[1]);
            }
            if (m == M_POST) {
                return post_operation(r, sc, st, seg[1]);
            }
        }
    }
    else if (nseg == 2 && !strcmp(seg[0], "operations") && m == M_GET) {
        return get_operation(r, st, seg[1]);
    }
    else if (nseg == 1 && !strcmp(seg[0], "summary") && m == M_GET) {
        return summary(r, st);
    }
    if (nseg && (i = wm_admin_profiles(r, sc, st, m, seg, nseg)) != DECLINED) {
        return i;
    }
    return wm_admin_error(r, nseg ? HTTP_METHOD_NOT_ALLOWED : HTTP_NOT_FOUND,
                      "no such admin resource or method");
}
