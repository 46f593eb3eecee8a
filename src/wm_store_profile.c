/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Groups, profiles, device profile states and the audit log on apr_dbd
 * (see wm_store_profile.h). The statements are in wm_store_profile_sql,
 * prepared with the store's own on every connection. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "wm_store_private.h"
#include "wm_store_profile.h"

#define INT_ARG "%lld"
/* An integer argument compared with a literal, not a column: SQLite binds
 * arguments as text, and only a column's affinity would convert it. */
#define INT_VAL "CAST(%lld AS BIGINT)"

/* A profile reaches a device through a group it is in, or through the
 * target of every device (WM_ALL_DEVICES = 0). */
#define ASSIGNED_TO(dev)                                                       \
    "EXISTS (SELECT 1 FROM profile_targets t WHERE t.profile_id = p.id AND "  \
    "(t.group_id = 0 OR t.group_id IN (SELECT group_id FROM group_members "    \
    "WHERE device_id = " dev ")))"

const wm_store_sql_t wm_store_profile_sql[] = {
    {"wm_group_add",
     "INSERT INTO device_groups (name, created) VALUES (%s, " INT_ARG
     ") ON CONFLICT (name) DO NOTHING RETURNING id"},
    {"wm_groups",
     "SELECT g.id, g.name, g.created, (SELECT COUNT(*) FROM group_members m "
     "WHERE m.group_id = g.id) FROM device_groups g WHERE " INT_VAL
     " = 0 OR g.id = " INT_ARG " ORDER BY g.name"},
    {"wm_group_delete", "DELETE FROM device_groups WHERE id = " INT_ARG},
    {"wm_group_members_delete",
     "DELETE FROM group_members WHERE group_id = " INT_ARG},
    {"wm_group_targets_delete",
     "DELETE FROM profile_targets WHERE group_id = " INT_ARG},
    {"wm_member_add",
     "INSERT INTO group_members (group_id, device_id) VALUES (" INT_ARG
     ", %s) ON CONFLICT DO NOTHING"},
    {"wm_member_remove",
     "DELETE FROM group_members WHERE group_id = " INT_ARG
     " AND device_id = %s"},
    {"wm_members",
     "SELECT device_id FROM group_members WHERE group_id = " INT_ARG
     " AND device_id > %s ORDER BY device_id LIMIT " INT_ARG},

    {"wm_profile_add",
     "INSERT INTO profiles (name, version, definition, created, updated) "
     "VALUES (%s, 1, %s, " INT_ARG ", " INT_ARG
     ") ON CONFLICT (name) DO NOTHING RETURNING id"},
    {"wm_profile_bump",
     "UPDATE profiles SET version = version + 1, definition = %s, updated = "
     INT_ARG " WHERE id = " INT_ARG " RETURNING version"},
    {"wm_profile_version_add",
     "INSERT INTO profile_versions (profile_id, version, apply_body, "
     "verify_body, remove_body, nodes, created) VALUES (" INT_ARG
     ", " INT_ARG ", %s, %s, %s, %s, " INT_ARG ")"},
    {"wm_profiles",
     "SELECT id, name, version, definition, created, updated FROM profiles "
     "WHERE " INT_VAL " = 0 OR id = " INT_ARG " ORDER BY name"},
    {"wm_profile_delete", "DELETE FROM profiles WHERE id = " INT_ARG},
    {"wm_profile_targets_delete",
     "DELETE FROM profile_targets WHERE profile_id = " INT_ARG},
    {"wm_profile_version",
     "SELECT apply_body, verify_body, remove_body, nodes FROM "
     "profile_versions WHERE profile_id = " INT_ARG " AND version = " INT_ARG},
    {"wm_target_add",
     "INSERT INTO profile_targets (profile_id, group_id) VALUES (" INT_ARG
     ", " INT_ARG ") ON CONFLICT DO NOTHING"},
    {"wm_target_remove",
     "DELETE FROM profile_targets WHERE profile_id = " INT_ARG
     " AND group_id = " INT_ARG},
    {"wm_targets",
     "SELECT t.group_id, g.name FROM profile_targets t LEFT JOIN "
     "device_groups g ON g.id = t.group_id WHERE t.profile_id = " INT_ARG
     " ORDER BY t.group_id"},
    {"wm_profile_counts",
     "SELECT state, COUNT(*) FROM device_profiles WHERE profile_id = " INT_ARG
     " GROUP BY state ORDER BY state"},
    {"wm_profile_devices",
     "SELECT device_id, state, version, error, updated FROM device_profiles "
     "WHERE profile_id = " INT_ARG " AND (%s IS NULL OR state = %s) AND "
     "device_id > %s ORDER BY device_id LIMIT " INT_ARG},

    {"wm_bump_group",
     "UPDATE devices SET desired_gen = desired_gen + 1 WHERE device_id IN "
     "(SELECT device_id FROM group_members WHERE group_id = " INT_ARG ")"},
    {"wm_bump_all",
     "UPDATE devices SET desired_gen = desired_gen + 1 WHERE state = "
     "'enrolled'"},
    {"wm_bump_profile",
     "UPDATE devices SET desired_gen = desired_gen + 1 WHERE state = "
     "'enrolled' AND (EXISTS (SELECT 1 FROM profile_targets WHERE "
     "profile_id = " INT_ARG " AND group_id = 0) OR device_id IN (SELECT "
     "m.device_id FROM group_members m JOIN profile_targets t ON t.group_id "
     "= m.group_id WHERE t.profile_id = " INT_ARG "))"},
    {"wm_dp_reset", "DELETE FROM device_profiles WHERE device_id = %s"},
    {"wm_device_replan",
     "UPDATE devices SET desired_gen = desired_gen + 1, verify_at = 0 WHERE "
     "device_id = %s"},
    {"wm_bump_device",
     "UPDATE devices SET desired_gen = desired_gen + 1 WHERE device_id = %s"},
    {"wm_device_planned",
     "UPDATE devices SET applied_gen = " INT_ARG " WHERE device_id = %s AND "
     "applied_gen = " INT_ARG},
    {"wm_device_verify_at",
     "UPDATE devices SET verify_at = " INT_ARG " WHERE device_id = %s"},

    {"wm_device_assigned",
     "SELECT p.id, p.version FROM profiles p WHERE " ASSIGNED_TO("%s")
     " ORDER BY p.id"},
    {"wm_dp_list",
     "SELECT profile_id, version, state, op_id, attempts, error, updated, "
     "verified FROM device_profiles WHERE device_id = %s ORDER BY "
     "profile_id"},
    {"wm_dp_rows",
     "SELECT d.profile_id, p.name, d.version, d.state, d.error, d.updated, "
     "d.verified FROM device_profiles d LEFT JOIN profiles p ON p.id = "
     "d.profile_id WHERE d.device_id = %s ORDER BY d.profile_id"},
    {"wm_dp_insert",
     "INSERT INTO device_profiles (device_id, profile_id, version, state, "
     "attempts, updated) VALUES (%s, " INT_ARG ", " INT_ARG ", %s, " INT_ARG
     ", " INT_ARG ") ON CONFLICT DO NOTHING"},
    {"wm_dp_take",
     "UPDATE device_profiles SET version = " INT_ARG ", state = %s, "
     "attempts = " INT_ARG ", op_id = NULL, updated = " INT_ARG
     " WHERE device_id = %s AND profile_id = " INT_ARG " AND version = "
     INT_ARG " AND state = %s"},
    {"wm_dp_op",
     "UPDATE device_profiles SET op_id = " INT_ARG " WHERE device_id = %s "
     "AND profile_id = " INT_ARG},
    {"wm_dp_of_op",
     "SELECT profile_id, version, state, op_id, attempts, error, updated, "
     "verified FROM device_profiles WHERE device_id = %s AND op_id = "
     INT_ARG},
    {"wm_dp_settle",
     "UPDATE device_profiles SET state = %s, error = %s, verified = "
     "CASE WHEN " INT_VAL " > 0 THEN " INT_VAL " ELSE verified END, "
     "updated = " INT_ARG " WHERE device_id = %s AND profile_id = " INT_ARG
     " AND op_id = " INT_ARG},
    {"wm_dp_delete",
     "DELETE FROM device_profiles WHERE device_id = %s AND profile_id = "
     INT_ARG},

    {"wm_op_creator",
     "UPDATE operations SET created_by = %s WHERE id = " INT_ARG},
    {"wm_audit_add",
     "INSERT INTO audit_log (at, actor, action, object_type, object_id, "
     "device_id, detail) VALUES (" INT_ARG ", %s, %s, %s, %s, %s, %s)"},
    {"wm_audit_device",
     "SELECT id, at, actor, action, object_type, object_id, device_id, detail "
     "FROM audit_log WHERE device_id = %s AND (" INT_VAL " = 0 OR id < "
     INT_ARG ") ORDER BY id DESC LIMIT " INT_ARG},
    {"wm_audit_profile",
     "SELECT id, at, actor, action, object_type, object_id, device_id, detail "
     "FROM audit_log WHERE object_type = 'profile' AND object_id = %s AND ("
     INT_VAL " = 0 OR id < " INT_ARG ") ORDER BY id DESC LIMIT " INT_ARG},
};

const size_t wm_store_profile_sql_count =
    sizeof(wm_store_profile_sql) / sizeof(wm_store_profile_sql[0]);

#define I64(v) wm_store_i64((v), p)

static apr_int64_t first_id(const apr_array_header_t *rows)
{
    return rows->nelts ? wm_store_to_i64(APR_ARRAY_IDX(rows, 0,
                                                       const char **)[0])
                       : 0;
}

/* ------------------------------------------------------------ groups */

apr_status_t wm_store_group_add(wm_store_t *st, const char *name,
                                apr_int64_t now, apr_int64_t *pid,
                                apr_pool_t *p)
{
    apr_array_header_t *rows;
    apr_status_t rv;

    *pid = 0;
    if (!(rv = wm_store_rows(st, "wm_group_add", 1, &rows, p, 2, name,
                             I64(now)))) {
        *pid = first_id(rows);
    }
    return rv;
}

apr_status_t wm_store_groups(wm_store_t *st, apr_int64_t id,
                             apr_array_header_t **prows, apr_pool_t *p)
{
    return wm_store_rows(st, "wm_groups", 4, prows, p, 2, I64(id), I64(id));
}

apr_status_t wm_store_group_delete(wm_store_t *st, apr_int64_t id,
                                   int *pnrows, apr_pool_t *p)
{
    apr_status_t rv;

    if ((rv = wm_store_run(st, "wm_group_members_delete", NULL, p, 1,
                           I64(id))) ||
        (rv = wm_store_run(st, "wm_group_targets_delete", NULL, p, 1,
                           I64(id)))) {
        return rv;
    }
    return wm_store_run(st, "wm_group_delete", pnrows, p, 1, I64(id));
}

apr_status_t wm_store_group_member(wm_store_t *st, apr_int64_t group,
                                   const char *device_id, int add,
                                   int *pnrows, apr_pool_t *p)
{
    return wm_store_run(st, add ? "wm_member_add" : "wm_member_remove", pnrows,
                        p, 2, I64(group), device_id);
}

apr_status_t wm_store_group_members(wm_store_t *st, apr_int64_t group,
                                    const char *after, int limit,
                                    apr_array_header_t **prows, apr_pool_t *p)
{
    return wm_store_rows(st, "wm_members", 1, prows, p, 3, I64(group),
                         after ? after : "", I64(limit));
}

/* ----------------------------------------------------------- profiles */

static apr_status_t version_add(wm_store_t *st, apr_int64_t id, int version,
                                const wm_profile_version_t *v,
                                apr_int64_t now, apr_pool_t *p)
{
    return wm_store_run(st, "wm_profile_version_add", NULL, p, 7, I64(id),
                        I64(version), v->apply, v->verify, v->remove,
                        v->nodes, I64(now));
}

apr_status_t wm_store_profile_add(wm_store_t *st, const char *name,
                                  const char *definition,
                                  const wm_profile_version_t *v,
                                  apr_int64_t now, apr_int64_t *pid,
                                  apr_pool_t *p)
{
    apr_array_header_t *rows;
    apr_status_t rv;

    *pid = 0;
    if ((rv = wm_store_rows(st, "wm_profile_add", 1, &rows, p, 4, name,
                            definition, I64(now), I64(now)))) {
        return rv;
    }
    if (!(*pid = first_id(rows))) {
        return APR_SUCCESS;
    }
    return version_add(st, *pid, 1, v, now, p);
}

apr_status_t wm_store_profile_update(wm_store_t *st, apr_int64_t id,
                                     const char *definition,
                                     const wm_profile_version_t *v,
                                     apr_int64_t now, int *pversion,
                                     apr_pool_t *p)
{
    apr_array_header_t *rows;
    apr_status_t rv;

    *pversion = 0;
    if ((rv = wm_store_rows(st, "wm_profile_bump", 1, &rows, p, 3, definition,
                            I64(now), I64(id)))) {
        return rv;
    }
    if (!(*pversion = (int)first_id(rows))) {
        return APR_SUCCESS;
    }
    return version_add(st, id, *pversion, v, now, p);
}

apr_status_t wm_store_profiles(wm_store_t *st, apr_int64_t id,
                               apr_array_header_t **prows, apr_pool_t *p)
{
    return wm_store_rows(st, "wm_profiles", 6, prows, p, 2, I64(id), I64(id));
}

apr_status_t wm_store_profile_delete(wm_store_t *st, apr_int64_t id,
                                     int *pnrows, apr_pool_t *p)
{
    apr_status_t rv;

    if ((rv = wm_store_run(st, "wm_profile_targets_delete", NULL, p, 1,
                           I64(id)))) {
        return rv;
    }
    return wm_store_run(st, "wm_profile_delete", pnrows, p, 1, I64(id));
}

apr_status_t wm_store_profile_version(wm_store_t *st, apr_int64_t profile,
                                      int version, wm_profile_version_t **pv,
                                      apr_pool_t *p)
{
    apr_array_header_t *rows;
    apr_status_t rv;
    const char **r;

    *pv = NULL;
    if ((rv = wm_store_rows(st, "wm_profile_version", 4, &rows, p, 2,
                            I64(profile), I64(version))) ||
        rows->nelts == 0) {
        return rv;
    }
    r = APR_ARRAY_IDX(rows, 0, const char **);
    *pv = apr_pcalloc(p, sizeof(**pv));
    (*pv)->apply = r[0];
    (*pv)->verify = r[1];
    (*pv)->remove = r[2];
    (*pv)->nodes = r[3];
    return APR_SUCCESS;
}

apr_status_t wm_store_profile_target(wm_store_t *st, apr_int64_t profile,
                                     apr_int64_t group, int add, int *pnrows,
                                     apr_pool_t *p)
{
    return wm_store_run(st, add ? "wm_target_add" : "wm_target_remove", pnrows,
                        p, 2, I64(profile), I64(group));
}

apr_status_t wm_store_profile_targets(wm_store_t *st, apr_int64_t profile,
                                      apr_array_header_t **prows,
                                      apr_pool_t *p)
{
    return wm_store_rows(st, "wm_targets", 2, prows, p, 1, I64(profile));
}

apr_status_t wm_store_profile_counts(wm_store_t *st, apr_int64_t profile,
                                     apr_array_header_t **prows,
                                     apr_pool_t *p)
{
    return wm_store_rows(st, "wm_profile_counts", 2, prows, p, 1,
                         I64(profile));
}

apr_status_t wm_store_profile_devices(wm_store_t *st, apr_int64_t profile,
                                      const char *state, const char *after,
                                      int limit, apr_array_header_t **prows,
                                      apr_pool_t *p)
{
    return wm_store_rows(st, "wm_profile_devices", 5, prows, p, 5,
                         I64(profile), state, state, after ? after : "",
                         I64(limit));
}

/* -------------------------------------------------------- generations */

apr_status_t wm_store_bump_group(wm_store_t *st, apr_int64_t group,
                                 apr_pool_t *p)
{
    if (group == WM_ALL_DEVICES) {
        return wm_store_run(st, "wm_bump_all", NULL, p, 0);
    }
    return wm_store_run(st, "wm_bump_group", NULL, p, 1, I64(group));
}

apr_status_t wm_store_bump_profile(wm_store_t *st, apr_int64_t profile,
                                   apr_pool_t *p)
{
    return wm_store_run(st, "wm_bump_profile", NULL, p, 2, I64(profile),
                        I64(profile));
}

apr_status_t wm_store_bump_device(wm_store_t *st, const char *device_id,
                                  apr_pool_t *p)
{
    return wm_store_run(st, "wm_bump_device", NULL, p, 1, device_id);
}

apr_status_t wm_store_device_profiles_reset(wm_store_t *st,
                                            const char *device_id,
                                            apr_pool_t *p)
{
    apr_status_t rv = wm_store_run(st, "wm_dp_reset", NULL, p, 1, device_id);
    return rv ? rv
              : wm_store_run(st, "wm_device_replan", NULL, p, 1, device_id);
}

apr_status_t wm_store_device_planned(wm_store_t *st, const char *device_id,
                                     apr_int64_t old, apr_int64_t gen,
                                     int *pnrows, apr_pool_t *p)
{
    return wm_store_run(st, "wm_device_planned", pnrows, p, 3, I64(gen),
                        device_id, I64(old));
}

apr_status_t wm_store_device_verify_at(wm_store_t *st, const char *device_id,
                                       apr_int64_t when, apr_pool_t *p)
{
    return wm_store_run(st, "wm_device_verify_at", NULL, p, 2, I64(when),
                        device_id);
}

/* ---------------------------------------------------- a device's rows */

apr_status_t wm_store_device_assigned(wm_store_t *st, const char *device_id,
                                      apr_array_header_t **prefs,
                                      apr_pool_t *p)
{
    apr_array_header_t *rows;
    apr_status_t rv;
    int i;

    *prefs = apr_array_make(p, 4, sizeof(wm_profile_ref_t));
    if ((rv = wm_store_rows(st, "wm_device_assigned", 2, &rows, p, 1,
                            device_id))) {
        return rv;
    }
    for (i = 0; i < rows->nelts; i++) {
        const char **r = APR_ARRAY_IDX(rows, i, const char **);
        wm_profile_ref_t *ref = apr_array_push(*prefs);
        ref->id = wm_store_to_i64(r[0]);
        ref->version = (int)wm_store_to_i64(r[1]);
    }
    return APR_SUCCESS;
}

static wm_device_profile_t *dp_of(const char **r, apr_pool_t *p)
{
    wm_device_profile_t *dp = apr_pcalloc(p, sizeof(*dp));
    dp->profile_id = wm_store_to_i64(r[0]);
    dp->version = (int)wm_store_to_i64(r[1]);
    dp->state = r[2];
    dp->op_id = wm_store_to_i64(r[3]);
    dp->attempts = (int)wm_store_to_i64(r[4]);
    dp->error = r[5];
    dp->updated = wm_store_to_i64(r[6]);
    dp->verified = wm_store_to_i64(r[7]);
    return dp;
}

apr_status_t wm_store_device_profiles(wm_store_t *st, const char *device_id,
                                      apr_array_header_t **pdps,
                                      apr_pool_t *p)
{
    apr_array_header_t *rows;
    apr_status_t rv;
    int i;

    *pdps = apr_array_make(p, 4, sizeof(wm_device_profile_t *));
    if ((rv = wm_store_rows(st, "wm_dp_list", 8, &rows, p, 1, device_id))) {
        return rv;
    }
    for (i = 0; i < rows->nelts; i++) {
        APR_ARRAY_PUSH(*pdps, wm_device_profile_t *) =
            dp_of(APR_ARRAY_IDX(rows, i, const char **), p);
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_device_profile_rows(wm_store_t *st,
                                          const char *device_id,
                                          apr_array_header_t **prows,
                                          apr_pool_t *p)
{
    return wm_store_rows(st, "wm_dp_rows", 7, prows, p, 1, device_id);
}

apr_status_t wm_store_dp_take(wm_store_t *st, const char *device_id,
                              apr_int64_t profile, int old_version,
                              const char *old_state, int version,
                              const char *state, int attempts,
                              apr_int64_t now, int *pnrows, apr_pool_t *p)
{
    if (!old_state) {
        return wm_store_run(st, "wm_dp_insert", pnrows, p, 6, device_id,
                            I64(profile), I64(version), state, I64(attempts),
                            I64(now));
    }
    return wm_store_run(st, "wm_dp_take", pnrows, p, 8, I64(version), state,
                        I64(attempts), I64(now), device_id, I64(profile),
                        I64(old_version), old_state);
}

apr_status_t wm_store_dp_op(wm_store_t *st, const char *device_id,
                            apr_int64_t profile, apr_int64_t op_id,
                            apr_pool_t *p)
{
    return wm_store_run(st, "wm_dp_op", NULL, p, 3, I64(op_id), device_id,
                        I64(profile));
}

apr_status_t wm_store_dp_of_op(wm_store_t *st, const char *device_id,
                               apr_int64_t op_id, wm_device_profile_t **pdp,
                               apr_pool_t *p)
{
    apr_array_header_t *rows;
    apr_status_t rv;

    *pdp = NULL;
    if ((rv = wm_store_rows(st, "wm_dp_of_op", 8, &rows, p, 2, device_id,
                            I64(op_id)))) {
        return rv;
    }
    if (rows->nelts) {
        *pdp = dp_of(APR_ARRAY_IDX(rows, 0, const char **), p);
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_dp_settle(wm_store_t *st, const char *device_id,
                                apr_int64_t profile, apr_int64_t op_id,
                                const char *state, const char *error,
                                apr_int64_t verified, apr_int64_t now,
                                apr_pool_t *p)
{
    return wm_store_run(st, "wm_dp_settle", NULL, p, 8, state, error,
                        I64(verified), I64(verified), I64(now), device_id,
                        I64(profile), I64(op_id));
}

apr_status_t wm_store_dp_delete(wm_store_t *st, const char *device_id,
                                apr_int64_t profile, apr_pool_t *p)
{
    return wm_store_run(st, "wm_dp_delete", NULL, p, 2, device_id,
                        I64(profile));
}

/* -------------------------------------------------------------- audit */

apr_status_t wm_store_audit(wm_store_t *st, apr_int64_t now,
                            const char *actor, const char *action,
                            const char *object_type, const char *object_id,
                            const char *device_id, const char *detail,
                            apr_pool_t *p)
{
    return wm_store_run(st, "wm_audit_add", NULL, p, 7, I64(now), actor,
                        action, object_type, object_id, device_id, detail);
}

apr_status_t wm_store_op_creator(wm_store_t *st, apr_int64_t op_id,
                                 const char *actor, apr_pool_t *p)
{
    return wm_store_run(st, "wm_op_creator", NULL, p, 2, actor, I64(op_id));
}

apr_status_t wm_store_audit_list(wm_store_t *st, const char *kind,
                                 const char *key, apr_int64_t before,
                                 int limit, apr_array_header_t **prows,
                                 apr_pool_t *p)
{
    return wm_store_rows(st,
                         strcmp(kind, "profile") ? "wm_audit_device"
                                                 : "wm_audit_profile",
                         8, prows, p, 4, key, I64(before), I64(before),
                         I64(limit));
}
