/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The admin API of groups, profiles, a device's profiles and the audit log
 * (README "Profiles"). Every change runs in one transaction with what it
 * implies: the devices it may concern get a new desired generation, so
 * their next check-in plans again (wm_store_profile.h), and the audit log
 * records who did it. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>
#include <jansson.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>

#include "wm_opjson.h"
#include "wm_profile.h"
#include "wm_store.h"
#include "wm_store_profile.h"
#include "wm_wstep.h"
#include "mod_winmdm_admin.h"
#include "mod_winmdm_private.h"

#define NAME_MAX_LEN 128
#define MEMBERS_MAX 1000

static const char *const STATES[] = {"pending", "verifying", "verified",
                                     "failed", "removing", NULL};

static apr_int64_t now_sec(void)
{
    return apr_time_sec(apr_time_now());
}

static const char *i64(apr_int64_t v, apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

/* A positive id from a path segment; 0 when it is not one. */
static apr_int64_t id_of(const char *seg)
{
    char *end;
    apr_int64_t v = apr_strtoi64(seg, &end, 10);
    return (*seg && !*end && v > 0) ? v : 0;
}

/* A group target from a path segment: "all" (every enrolled device) or a
 * group id; -1 when it is neither. */
static apr_int64_t target_of(const char *seg)
{
    apr_int64_t id;
    if (!strcmp(seg, "all")) {
        return WM_ALL_DEVICES;
    }
    return (id = id_of(seg)) ? id : -1;
}

static int name_ok(const char *name)
{
    const unsigned char *c;
    if (!name || !*name || strlen(name) > NAME_MAX_LEN) {
        return 0;
    }
    for (c = (const unsigned char *)name; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) {
            return 0;
        }
    }
    return 1;
}

static int begin(request_rec *r, wm_store_t *st)
{
    if (wm_store_begin(st, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the database is unavailable");
    }
    return OK;
}

/* Ends a change: commits, or rolls back after a failed step rv. */
static int finish(request_rec *r, wm_store_t *st, apr_status_t rv,
                  int status, json_t *answer)
{
    if (rv) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      WMLOGNO(00047) "admin API: a change was not stored: %s",
                      wm_store_error(st));
        wm_store_rollback(st, r->pool);
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the change could not be stored");
    }
    if (wm_store_commit(st, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the change could not be stored");
    }
    return wm_admin_send_json(r, status, wm_admin_owned(r, answer));
}

static apr_status_t audit(request_rec *r, wm_store_t *st, const char *action,
                          const char *type, const char *id,
                          const char *device, const char *detail)
{
    return wm_store_audit(st, now_sec(), r->user, action, type, id, device,
                          detail, r->pool);
}

/* Sends {key: list, "next": cursor or null}: a full page's cursor is the
 * first column of its last row. */
static int send_page(request_rec *r, const char *key, json_t *list,
                     const apr_array_header_t *rows, int limit)
{
    return wm_admin_send_json(
        r, HTTP_OK,
        wm_admin_owned(
            r, json_pack("{s:o,s:o}", key, list, "next",
                         rows->nelts == limit
                             ? json_string(APR_ARRAY_IDX(rows, limit - 1,
                                                         const char **)[0])
                             : json_null())));
}

/* Deletes what id names after bumping the devices it concerns, in one
 * transaction, with its audit record; 404 when there is nothing. */
static int delete_bumped(request_rec *r, wm_store_t *st, apr_int64_t id,
                         apr_status_t (*bump)(wm_store_t *, apr_int64_t,
                                              apr_pool_t *),
                         apr_status_t (*drop)(wm_store_t *, apr_int64_t, int *,
                                              apr_pool_t *),
                         const char *type)
{
    apr_status_t rv;
    int status, n = 0;

    if ((status = begin(r, st)) != OK) {
        return status;
    }
    if ((rv = bump(st, id, r->pool)) || (rv = drop(st, id, &n, r->pool))) {
        return finish(r, st, rv, 0, NULL);
    }
    if (n != 1) {
        wm_store_rollback(st, r->pool);
        return wm_admin_error(r, HTTP_NOT_FOUND,
                              apr_pstrcat(r->pool, "no such ", type, NULL));
    }
    rv = audit(r, st, apr_pstrcat(r->pool, type, " deleted", NULL), type,
               i64(id, r->pool), NULL, NULL);
    return finish(r, st, rv, HTTP_OK,
                  json_pack("{s:s}", "deleted", i64(id, r->pool)));
}

/* ------------------------------------------------------------- groups */

static json_t *group_json(const char **row, apr_pool_t *p)
{
    return json_pack("{s:s,s:s,s:o,s:I}", "id", row[0], "name", row[1],
                     "created", wm_admin_time(apr_atoi64(row[2]), p),
                     "members", (json_int_t)apr_atoi64(row[3]));
}

static int list_groups(request_rec *r, wm_store_t *st)
{
    apr_array_header_t *rows;
    json_t *list;
    int i;

    if (wm_store_groups(st, 0, &rows, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the groups could not be read");
    }
    list = json_array();
    /* The implicit group of every enrolled device. */
    json_array_append_new(list, json_pack("{s:s,s:s,s:b}", "id", "all", "name",
                                          "All devices", "implicit", 1));
    for (i = 0; i < rows->nelts; i++) {
        json_array_append_new(
            list, group_json(APR_ARRAY_IDX(rows, i, const char **), r->pool));
    }
    return wm_admin_send_json(
        r, HTTP_OK, wm_admin_owned(r, json_pack("{s:o}", "groups", list)));
}

/* {"name": "..."} */
static const char *name_of_body(request_rec *r, const wm_srv_conf_t *sc,
                                int *pstatus)
{
    apr_size_t len;
    const char *buf, *name = NULL, *err = NULL, *def;
    wm_profile_def_t unused;

    if (!(buf = wm_admin_body(r, sc, &len, pstatus))) {
        return NULL;
    }
    if (wm_opjson_profile(buf, len, &name, &unused, &def, &err, r->pool) ||
        unused.settings || unused.syncml || !name_ok(name)) {
        *pstatus = wm_admin_error(r, HTTP_BAD_REQUEST,
                                  err ? err
                                      : "the body must be {\"name\": ...} "
                                        "with a name of 1 to 128 printable "
                                        "characters");
        return NULL;
    }
    return name;
}

static int add_group(request_rec *r, const wm_srv_conf_t *sc, wm_store_t *st)
{
    const char *name;
    apr_int64_t id;
    apr_status_t rv;
    int status;

    if (!(name = name_of_body(r, sc, &status))) {
        return status;
    }
    if ((status = begin(r, st)) != OK) {
        return status;
    }
    if ((rv = wm_store_group_add(st, name, now_sec(), &id, r->pool))) {
        return finish(r, st, rv, 0, NULL);
    }
    if (!id) {
        wm_store_rollback(st, r->pool);
        return wm_admin_error(r, HTTP_CONFLICT, "a group has that name");
    }
    rv = audit(r, st, "group created", "group", i64(id, r->pool), NULL, name);
    return finish(r, st, rv, HTTP_CREATED,
                  json_pack("{s:s,s:s}", "id", i64(id, r->pool), "name", name));
}

static int get_group(request_rec *r, wm_store_t *st, apr_int64_t id)
{
    apr_array_header_t *rows;

    if (wm_store_groups(st, id, &rows, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the group could not be read");
    }
    if (!rows->nelts) {
        return wm_admin_error(r, HTTP_NOT_FOUND, "no such group");
    }
    return wm_admin_send_json(
        r, HTTP_OK,
        wm_admin_owned(r, group_json(APR_ARRAY_IDX(rows, 0, const char **),
                                     r->pool)));
}

static int group_exists(request_rec *r, wm_store_t *st, apr_int64_t id,
                        int *pstatus)
{
    apr_array_header_t *rows;

    if (wm_store_groups(st, id, &rows, r->pool)) {
        *pstatus = wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                                  "the group could not be read");
        return 0;
    }
    if (!rows->nelts) {
        *pstatus = wm_admin_error(r, HTTP_NOT_FOUND, "no such group");
        return 0;
    }
    return 1;
}

/* Its members lose the profiles that reached them through it. */
static int delete_group(request_rec *r, wm_store_t *st, apr_int64_t id)
{
    return delete_bumped(r, st, id, wm_store_bump_group,
                         wm_store_group_delete, "group");
}

static int list_members(request_rec *r, wm_store_t *st, apr_int64_t id)
{
    apr_array_header_t *rows;
    const char *after = wm_admin_arg(r, "after");
    json_t *list;
    int limit, i, status;

    if (!wm_admin_limit(r, &limit)) {
        return wm_admin_error(r, HTTP_BAD_REQUEST,
                              "limit must be a number from 1 to 500");
    }
    if (!group_exists(r, st, id, &status)) {
        return status;
    }
    if (wm_store_group_members(st, id, after, limit, &rows, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the members could not be read");
    }
    list = json_array();
    for (i = 0; i < rows->nelts; i++) {
        json_array_append_new(
            list, json_string(APR_ARRAY_IDX(rows, i, const char **)[0]));
    }
    return send_page(r, "devices", list, rows, limit);
}

/* POST groups/{id}/devices with ["DeviceID", ...]: members added, each
 * bumped (its group's profiles reach it). */
static int add_members(request_rec *r, const wm_srv_conf_t *sc, wm_store_t *st,
                       apr_int64_t id)
{
    apr_array_header_t *ids;
    const char *buf, *err = NULL;
    json_t *added, *unknown;
    apr_status_t rv = APR_SUCCESS;
    apr_size_t len;
    int i, status;

    if (!(buf = wm_admin_body(r, sc, &len, &status))) {
        return status;
    }
    if (wm_opjson_ids(buf, len, MEMBERS_MAX, &ids, &err, r->pool)) {
        return wm_admin_error(r, HTTP_BAD_REQUEST, err);
    }
    if (!group_exists(r, st, id, &status)) {
        return status;
    }
    if ((status = begin(r, st)) != OK) {
        return status;
    }
    added = wm_admin_owned(r, json_array());
    unknown = wm_admin_owned(r, json_array());
    for (i = 0; i < ids->nelts && !rv; i++) {
        const char *dev_id = APR_ARRAY_IDX(ids, i, const char *);
        wm_device_t *dev = NULL;
        int n = 0;

        if (!wm_wstep_device_id_ok(dev_id) ||
            (rv = wm_store_device_get(st, dev_id, &dev, r->pool)) || !dev) {
            json_array_append_new(unknown, json_string(dev_id));
            continue;
        }
        if (!(rv = wm_store_group_member(st, id, dev_id, 1, &n, r->pool)) &&
            n == 1 && !(rv = wm_store_bump_device(st, dev_id, r->pool)) &&
            !(rv = audit(r, st, "group member added", "group",
                         i64(id, r->pool), dev_id, NULL))) {
            json_array_append_new(added, json_string(dev_id));
        }
    }
    return finish(r, st, rv, HTTP_OK,
                  json_pack("{s:O,s:O}", "added", added, "unknown", unknown));
}

static int remove_member(request_rec *r, wm_store_t *st, apr_int64_t id,
                         const char *dev_id)
{
    apr_status_t rv;
    int status, n = 0;

    if ((status = begin(r, st)) != OK) {
        return status;
    }
    if ((rv = wm_store_group_member(st, id, dev_id, 0, &n, r->pool))) {
        return finish(r, st, rv, 0, NULL);
    }
    if (n != 1) {
        wm_store_rollback(st, r->pool);
        return wm_admin_error(r, HTTP_NOT_FOUND,
                              "no such device in this group");
    }
    /* It loses the group's profiles. */
    rv = wm_store_bump_device(st, dev_id, r->pool);
    if (!rv) {
        rv = audit(r, st, "group member removed", "group", i64(id, r->pool),
                   dev_id, NULL);
    }
    return finish(r, st, rv, HTTP_OK,
                  json_pack("{s:s}", "removed", dev_id));
}

/* ----------------------------------------------------------- profiles */

/* Reads and compiles a profile body; answers 400 itself. */
static int read_profile(request_rec *r, const wm_srv_conf_t *sc,
                        const char **pname, const char **pdefinition,
                        wm_profile_version_t *v, int *pstatus)
{
    wm_profile_compiled_t *c;
    wm_profile_def_t def;
    const char *buf, *err = NULL;
    apr_size_t len;

    if (!(buf = wm_admin_body(r, sc, &len, pstatus))) {
        return 0;
    }
    if (wm_opjson_profile(buf, len, pname, &def, pdefinition, &err,
                          r->pool) ||
        wm_profile_compile(&def, (apr_size_t)wm_conf_max_message_size(sc), &c,
                           &err, r->pool)) {
        *pstatus = wm_admin_error(r, HTTP_BAD_REQUEST, err);
        return 0;
    }
    v->apply = c->apply;
    v->verify = c->verify;
    v->remove = c->remove;
    v->nodes = c->nodes;
    return 1;
}

static json_t *targets_json(wm_store_t *st, apr_int64_t id, apr_pool_t *p)
{
    apr_array_header_t *rows;
    json_t *list = json_array();
    int i;

    if (wm_store_profile_targets(st, id, &rows, p)) {
        return list;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        int all = apr_atoi64(r[0]) == WM_ALL_DEVICES;
        json_array_append_new(
            list, json_pack("{s:s,s:s}", "id", all ? "all" : r[0], "name",
                            all ? "All devices" : (r[1] ? r[1] : "")));
    }
    return list;
}

/* {"pending": n, ...}, every state present, and the total. */
static json_t *counts_json(wm_store_t *st, apr_int64_t id, apr_pool_t *p)
{
    apr_array_header_t *rows;
    json_t *c = json_object();
    json_int_t total = 0;
    int i;

    for (i = 0; STATES[i]; i++) {
        json_object_set_new(c, STATES[i], json_integer(0));
    }
    if (!wm_store_profile_counts(st, id, &rows, p)) {
        for (i = 0; i < rows->nelts; i++) {
            const char **r = APR_ARRAY_IDX(rows, i, const char **);
            json_int_t n = (json_int_t)apr_atoi64(r[1]);
            json_object_set_new(c, r[0], json_integer(n));
            total += n;
        }
    }
    json_object_set_new(c, "total", json_integer(total));
    return c;
}

static json_t *profile_json(wm_store_t *st, const char **row, int full,
                            apr_pool_t *p)
{
    apr_int64_t id = apr_atoi64(row[0]);
    json_t *j = json_pack("{s:s,s:s,s:i,s:o,s:o,s:o,s:o}", "id", row[0],
                          "name", row[1], "version", atoi(row[2]), "created",
                          wm_admin_time(apr_atoi64(row[4]), p), "updated",
                          wm_admin_time(apr_atoi64(row[5]), p), "targets",
                          targets_json(st, id, p), "states",
                          counts_json(st, id, p));
    if (full) {
        json_object_set_new(j, "definition", json_loads(row[3], 0, NULL));
    }
    return j;
}

static int profile_row(request_rec *r, wm_store_t *st, apr_int64_t id,
                       const char ***prow, int *pstatus)
{
    apr_array_header_t *rows;

    if (wm_store_profiles(st, id, &rows, r->pool)) {
        *pstatus = wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                                  "the profile could not be read");
        return 0;
    }
    if (!rows->nelts) {
        *pstatus = wm_admin_error(r, HTTP_NOT_FOUND, "no such profile");
        return 0;
    }
    *prow = APR_ARRAY_IDX(rows, 0, const char **);
    return 1;
}

static int list_profiles(request_rec *r, wm_store_t *st)
{
    apr_array_header_t *rows;
    json_t *list;
    int i;

    if (wm_store_profiles(st, 0, &rows, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the profiles could not be read");
    }
    list = json_array();
    for (i = 0; i < rows->nelts; i++) {
        json_array_append_new(
            list, profile_json(st, APR_ARRAY_IDX(rows, i, const char **), 0,
                               r->pool));
    }
    return wm_admin_send_json(
        r, HTTP_OK, wm_admin_owned(r, json_pack("{s:o}", "profiles", list)));
}

static int add_profile(request_rec *r, const wm_srv_conf_t *sc, wm_store_t *st)
{
    const char *name, *definition;
    wm_profile_version_t v;
    apr_int64_t id;
    apr_status_t rv;
    int status;

    if (!read_profile(r, sc, &name, &definition, &v, &status)) {
        return status;
    }
    if (!name_ok(name)) {
        return wm_admin_error(r, HTTP_BAD_REQUEST,
                              "a profile needs a name of 1 to 128 printable "
                              "characters");
    }
    if ((status = begin(r, st)) != OK) {
        return status;
    }
    if ((rv = wm_store_profile_add(st, name, definition, &v, now_sec(), &id,
                                   r->pool))) {
        return finish(r, st, rv, 0, NULL);
    }
    if (!id) {
        wm_store_rollback(st, r->pool);
        return wm_admin_error(r, HTTP_CONFLICT, "a profile has that name");
    }
    rv = audit(r, st, "profile created", "profile", i64(id, r->pool), NULL,
               definition);
    return finish(r, st, rv, HTTP_CREATED,
                  json_pack("{s:s,s:s,s:i}", "id", i64(id, r->pool), "name",
                            name, "version", 1));
}

/* PUT profiles/{id}: a new version when the definition changed; every
 * device it is assigned to converges to it. */
static int change_profile(request_rec *r, const wm_srv_conf_t *sc,
                          wm_store_t *st, apr_int64_t id)
{
    const char *name, *definition, **row;
    wm_profile_version_t v;
    apr_status_t rv;
    int status, version = 0;

    if (!read_profile(r, sc, &name, &definition, &v, &status)) {
        return status;
    }
    if ((status = begin(r, st)) != OK) {
        return status;
    }
    if (!profile_row(r, st, id, &row, &status)) {
        wm_store_rollback(st, r->pool);
        return status;
    }
    if (name && strcmp(name, row[1])) {
        wm_store_rollback(st, r->pool);
        return wm_admin_error(r, HTTP_BAD_REQUEST,
                              "a profile's name does not change");
    }
    if (!strcmp(definition, row[3])) {
        wm_store_rollback(st, r->pool);
        return wm_admin_send_json(
            r, HTTP_OK,
            wm_admin_owned(r, json_pack("{s:s,s:i,s:b}", "id", row[0],
                                        "version", atoi(row[2]), "changed",
                                        0)));
    }
    if (!(rv = wm_store_profile_update(st, id, definition, &v, now_sec(),
                                       &version, r->pool)) &&
        !(rv = wm_store_bump_profile(st, id, r->pool))) {
        rv = audit(r, st, "profile changed", "profile", i64(id, r->pool), NULL,
                   apr_psprintf(r->pool, "version %d: %s", version,
                                definition));
    }
    return finish(r, st, rv, HTTP_OK,
                  json_pack("{s:s,s:i,s:b}", "id", i64(id, r->pool),
                            "version", version, "changed", 1));
}

/* Its devices remove its settings at their next check-in. */
static int delete_profile(request_rec *r, wm_store_t *st, apr_int64_t id)
{
    return delete_bumped(r, st, id, wm_store_bump_profile,
                         wm_store_profile_delete, "profile");
}

/* PUT or DELETE profiles/{id}/targets/{group id|all}. */
static int target(request_rec *r, wm_store_t *st, apr_int64_t id,
                  const char *seg, int add)
{
    apr_int64_t group = target_of(seg);
    const char **row;
    apr_status_t rv;
    int status, n = 0;

    if (group < 0) {
        return wm_admin_error(r, HTTP_NOT_FOUND,
                              "a target is a group id or \"all\"");
    }
    if ((status = begin(r, st)) != OK) {
        return status;
    }
    if (!profile_row(r, st, id, &row, &status) ||
        (group != WM_ALL_DEVICES && !group_exists(r, st, group, &status))) {
        wm_store_rollback(st, r->pool);
        return status;
    }
    /* The group's devices plan again: they gain it, or remove it. */
    if ((rv = wm_store_profile_target(st, id, group, add, &n, r->pool)) ||
        (n == 1 && (rv = wm_store_bump_group(st, group, r->pool)))) {
        return finish(r, st, rv, 0, NULL);
    }
    if (n != 1 && !add) {
        wm_store_rollback(st, r->pool);
        return wm_admin_error(r, HTTP_NOT_FOUND,
                              "the profile is not assigned to it");
    }
    if (n == 1) {
        rv = audit(r, st, add ? "profile assigned" : "profile unassigned",
                   "profile", i64(id, r->pool), NULL,
                   group == WM_ALL_DEVICES
                       ? "all devices"
                       : apr_psprintf(r->pool, "group %s", seg));
    }
    return finish(r, st, rv, HTTP_OK,
                  json_pack("{s:s,s:o}", "id", i64(id, r->pool), "targets",
                            targets_json(st, id, r->pool)));
}

static int profile_devices(request_rec *r, wm_store_t *st, apr_int64_t id)
{
    const char *state = wm_admin_arg(r, "state"), **row;
    const char *after = wm_admin_arg(r, "after");
    apr_array_header_t *rows;
    json_t *list;
    int limit, i, status, known = !state;

    for (i = 0; state && STATES[i]; i++) {
        known |= !strcmp(state, STATES[i]);
    }
    if (!known) {
        return wm_admin_error(r, HTTP_BAD_REQUEST,
                              "state must be pending, verifying, verified, "
                              "failed or removing");
    }
    if (!wm_admin_limit(r, &limit)) {
        return wm_admin_error(r, HTTP_BAD_REQUEST,
                              "limit must be a number from 1 to 500");
    }
    if (!profile_row(r, st, id, &row, &status)) {
        return status;
    }
    if (wm_store_profile_devices(st, id, state, after, limit, &rows,
                                 r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the devices could not be read");
    }
    list = json_array();
    for (i = 0; i < rows->nelts; i++) {
        const char **d = APR_ARRAY_IDX(rows, i, const char **);
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:i,s:o,s:o}", "device_id", d[0],
                            "state", d[1], "version", atoi(d[2]), "error",
                            wm_admin_str(d[3]), "updated",
                            wm_admin_time(apr_atoi64(d[4]), r->pool)));
    }
    return send_page(r, "devices", list, rows, limit);
}

/* --------------------------------------------------- devices, audit */

static int device_profiles(request_rec *r, wm_store_t *st, const char *dev_id)
{
    apr_array_header_t *rows;
    wm_device_t *dev = NULL;
    json_t *list;
    int i;

    if (wm_store_device_get(st, dev_id, &dev, r->pool) ||
        wm_store_device_profile_rows(st, dev_id, &rows, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the device could not be read");
    }
    if (!dev) {
        return wm_admin_error(r, HTTP_NOT_FOUND, "no such device");
    }
    list = json_array();
    for (i = 0; i < rows->nelts; i++) {
        const char **d = APR_ARRAY_IDX(rows, i, const char **);
        json_array_append_new(
            list, json_pack("{s:s,s:o,s:i,s:s,s:o,s:o,s:o}", "profile", d[0],
                            "name", wm_admin_str(d[1]), "version", atoi(d[2]),
                            "state", d[3], "error", wm_admin_str(d[4]),
                            "updated", wm_admin_time(apr_atoi64(d[5]), r->pool),
                            "verified",
                            wm_admin_time(apr_atoi64(d[6]), r->pool)));
    }
    return wm_admin_send_json(
        r, HTTP_OK, wm_admin_owned(r, json_pack("{s:o}", "profiles", list)));
}

/* The audit log of a device or a profile, newest first, paged by id. */
static int audit_list(request_rec *r, wm_store_t *st, const char *kind,
                      const char *key)
{
    const char *before = wm_admin_arg(r, "before");
    apr_array_header_t *rows;
    json_t *list;
    int limit, i;

    if (!wm_admin_limit(r, &limit) || (before && !id_of(before))) {
        return wm_admin_error(r, HTTP_BAD_REQUEST,
                              "limit must be 1 to 500 and before an entry id");
    }
    if (wm_store_audit_list(st, kind, key, before ? id_of(before) : 0, limit,
                            &rows, r->pool)) {
        return wm_admin_error(r, HTTP_INTERNAL_SERVER_ERROR,
                              "the audit log could not be read");
    }
    list = json_array();
    for (i = 0; i < rows->nelts; i++) {
        const char **a = APR_ARRAY_IDX(rows, i, const char **);
        json_array_append_new(
            list,
            json_pack("{s:s,s:o,s:s,s:s,s:s,s:o,s:o,s:o}", "id", a[0], "at",
                      wm_admin_time(apr_atoi64(a[1]), r->pool), "actor", a[2],
                      "action", a[3], "object_type", a[4], "object_id",
                      wm_admin_str(a[5]), "device", wm_admin_str(a[6]),
                      "detail", wm_admin_str(a[7])));
    }
    return send_page(r, "audit", list, rows, limit);
}

/* --------------------------------------------------------- dispatch */

int wm_admin_profiles(request_rec *r, const wm_srv_conf_t *sc,
                      wm_store_t *st, int m, char **seg, int nseg)
{
    apr_int64_t id = nseg >= 2 ? id_of(seg[1]) : 0;

    if (nseg == 3 && !strcmp(seg[0], "devices") && m == M_GET) {
        if (!strcmp(seg[2], "profiles")) {
            return device_profiles(r, st, seg[1]);
        }
        if (!strcmp(seg[2], "audit")) {
            return audit_list(r, st, "device", seg[1]);
        }
        return DECLINED;
    }
    if (!strcmp(seg[0], "groups")) {
        if (nseg == 1) {
            return m == M_GET    ? list_groups(r, st)
                   : m == M_POST ? add_group(r, sc, st)
                                 : DECLINED;
        }
        if (!id) {
            return wm_admin_error(r, HTTP_NOT_FOUND, "no such group");
        }
        if (nseg == 2) {
            return m == M_GET      ? get_group(r, st, id)
                   : m == M_DELETE ? delete_group(r, st, id)
                                   : DECLINED;
        }
        if (!strcmp(seg[2], "devices")) {
            if (nseg == 3) {
                return m == M_GET    ? list_members(r, st, id)
                       : m == M_POST ? add_members(r, sc, st, id)
                                     : DECLINED;
            }
            if (nseg == 4 && m == M_DELETE) {
                return remove_member(r, st, id, seg[3]);
            }
        }
        return DECLINED;
    }
    if (!strcmp(seg[0], "profiles")) {
        if (nseg == 1) {
            return m == M_GET    ? list_profiles(r, st)
                   : m == M_POST ? add_profile(r, sc, st)
                                 : DECLINED;
        }
        if (!id) {
            return wm_admin_error(r, HTTP_NOT_FOUND, "no such profile");
        }
        if (nseg == 2) {
            const char **row;
            int status;
            if (m == M_GET) {
                if (!profile_row(r, st, id, &row, &status)) {
                    return status;
                }
                return wm_admin_send_json(
                    r, HTTP_OK,
                    wm_admin_owned(r, profile_json(st, row, 1, r->pool)));
            }
            return m == M_PUT      ? change_profile(r, sc, st, id)
                   : m == M_DELETE ? delete_profile(r, st, id)
                                   : DECLINED;
        }
        if (nseg == 3 && !strcmp(seg[2], "devices") && m == M_GET) {
            return profile_devices(r, st, id);
        }
        if (nseg == 3 && !strcmp(seg[2], "audit") && m == M_GET) {
            return audit_list(r, st, "profile", seg[1]);
        }
        if (nseg == 4 && !strcmp(seg[2], "targets") &&
            (m == M_PUT || m == M_DELETE)) {
            return target(r, st, id, seg[3], m == M_PUT);
        }
        return DECLINED;
    }
    return DECLINED;
}
