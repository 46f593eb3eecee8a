/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Profiles in an OMA-DM session (see wm_dm_profile.h). A device's row per
 * profile moves pending -> verified or failed (the apply operation and its
 * read-back), verified -> verifying -> verified (the scheduled read-back),
 * verifying -> pending again when a value drifted (up to the re-apply
 * limit, then failed), and any -> removing -> gone when the profile no
 * longer reaches the device. Every move is taken with a conditional
 * update of what was read, so two sessions of one device never both send
 * a step. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "wm_dm_profile.h"
#include "wm_ops.h"
#include "wm_profile.h"
#include "wm_store_profile.h"
#include "wm_syncml.h"

/* OMA-DM: "Not found"; a Delete of a node the device no longer has is a
 * removal done. 216: "Atomic roll back OK", the status of an Atomic's
 * commands that were undone because another one failed. */
#define SC_NOT_FOUND 404
#define SC_ROLLED_BACK 216

int wm_dm_profile_op(const char *type)
{
    return type && !strncmp(type, WM_OP_PROFILE, sizeof(WM_OP_PROFILE) - 1);
}

int wm_dm_profile_due(const wm_device_t *dev, apr_int64_t now)
{
    return dev->desired_gen != dev->applied_gen ||
           (dev->verify_at && now >= dev->verify_at);
}

/* Queues one step of a device's row and records it on the row. */
static apr_status_t queue_step(wm_store_t *st, const wm_device_t *dev,
                               apr_int64_t profile, const char *type,
                               const char *body, int count, apr_int64_t now,
                               int *pqueued, apr_pool_t *p)
{
    apr_int64_t id;
    apr_status_t rv;

    if ((rv = wm_store_op_add(st, dev->device_id, type, body, count, now, &id,
                              p)) ||
        (rv = wm_store_dp_op(st, dev->device_id, profile, id, p))) {
        return rv;
    }
    (*pqueued)++;
    return APR_SUCCESS;
}

/* Sends a version: the row is taken to (version, pending) from what was
 * read, and only the session that took it queues the operation. */
static apr_status_t send_version(wm_store_t *st, const wm_device_t *dev,
                                 apr_int64_t profile, int version,
                                 const wm_device_profile_t *dp, int attempts,
                                 apr_int64_t now, int *pqueued, apr_pool_t *p)
{
    wm_profile_version_t *pv;
    apr_status_t rv;
    int taken = 0;

    if ((rv = wm_store_profile_version(st, profile, version, &pv, p)) || !pv) {
        return rv;
    }
    if ((rv = wm_store_dp_take(st, dev->device_id, profile,
                               dp ? dp->version : 0, dp ? dp->state : NULL,
                               version, "pending", attempts, now, &taken,
                               p)) ||
        taken != 1) {
        return rv;
    }
    return queue_step(st, dev, profile, WM_OP_PROFILE, pv->apply,
                      WM_PROFILE_APPLY_COMMANDS, now, pqueued, p);
}

static int in_flight(const wm_device_profile_t *dp)
{
    return !strcmp(dp->state, "pending") || !strcmp(dp->state, "verifying") ||
           !strcmp(dp->state, "removing");
}

static const wm_device_profile_t *row_of(const apr_array_header_t *dps,
                                         apr_int64_t profile)
{
    int i;
    for (i = 0; i < dps->nelts; i++) {
        const wm_device_profile_t *dp =
            APR_ARRAY_IDX(dps, i, wm_device_profile_t *);
        if (dp->profile_id == profile) {
            return dp;
        }
    }
    return NULL;
}

/* The version of profile that is assigned to the device, 0: none. */
static int assigned_version(const apr_array_header_t *assigned,
                            apr_int64_t profile)
{
    int i;
    for (i = 0; i < assigned->nelts; i++) {
        const wm_profile_ref_t *ref =
            &APR_ARRAY_IDX(assigned, i, wm_profile_ref_t);
        if (ref->id == profile) {
            return ref->version;
        }
    }
    return 0;
}

apr_status_t wm_dm_profile_plan(wm_store_t *st, const wm_device_t *dev,
                                const wm_profile_conf_t *conf,
                                apr_int64_t now, int *pqueued, apr_pool_t *p)
{
    apr_array_header_t *assigned, *dps;
    int i, waiting = 0, any_verified = 0, planned;
    apr_status_t rv;

    *pqueued = 0;
    if ((rv = wm_store_device_assigned(st, dev->device_id, &assigned, p)) ||
        (rv = wm_store_device_profiles(st, dev->device_id, &dps, p))) {
        return rv;
    }

    /* Every profile assigned, at its current version. A row whose step is
     * in flight for another version waits for it: the next session plans
     * again. */
    for (i = 0; i < assigned->nelts; i++) {
        const wm_profile_ref_t *ref =
            &APR_ARRAY_IDX(assigned, i, wm_profile_ref_t);
        apr_int64_t profile = ref->id;
        int version = ref->version;
        const wm_device_profile_t *dp = row_of(dps, profile);

        if (dp && dp->version == version && strcmp(dp->state, "removing")) {
            continue;
        }
        if (dp && in_flight(dp)) {
            waiting = 1;
            continue;
        }
        if ((rv = send_version(st, dev, profile, version, dp, 0, now, pqueued,
                               p))) {
            return rv;
        }
    }

    /* Every profile that no longer reaches the device: its Policy CSP
     * settings are deleted, so Windows falls back to its defaults. */
    for (i = 0; i < dps->nelts; i++) {
        const wm_device_profile_t *dp =
            APR_ARRAY_IDX(dps, i, wm_device_profile_t *);
        wm_profile_version_t *pv;
        int taken = 0;

        if (assigned_version(assigned, dp->profile_id) ||
            !strcmp(dp->state, "removing")) {
            continue;
        }
        if ((rv = wm_store_profile_version(st, dp->profile_id, dp->version,
                                           &pv, p))) {
            return rv;
        }
        if (!pv || !pv->remove) {
            if ((rv = wm_store_dp_delete(st, dev->device_id, dp->profile_id,
                                         p))) {
                return rv;
            }
            continue;
        }
        if ((rv = wm_store_dp_take(st, dev->device_id, dp->profile_id,
                                   dp->version, dp->state, dp->version,
                                   "removing", dp->attempts, now, &taken,
                                   p)) ||
            (taken == 1 &&
             (rv = queue_step(st, dev, dp->profile_id, WM_OP_PROFILE_REMOVE,
                              pv->remove, 1, now, pqueued, p)))) {
            return rv;
        }
    }

    /* The read-back, when due: every verified profile still assigned at
     * its version. */
    if (dev->verify_at && now >= dev->verify_at) {
        for (i = 0; i < dps->nelts; i++) {
            const wm_device_profile_t *dp =
                APR_ARRAY_IDX(dps, i, wm_device_profile_t *);
            wm_profile_version_t *pv;
            int taken = 0;

            if (strcmp(dp->state, "verified") ||
                assigned_version(assigned, dp->profile_id) != dp->version) {
                continue;
            }
            any_verified = 1;
            if ((rv = wm_store_profile_version(st, dp->profile_id,
                                               dp->version, &pv, p)) ||
                !pv) {
                if (rv) {
                    return rv;
                }
                continue;
            }
            if ((rv = wm_store_dp_take(st, dev->device_id, dp->profile_id,
                                       dp->version, "verified", dp->version,
                                       "verifying", dp->attempts, now, &taken,
                                       p)) ||
                (taken == 1 &&
                 (rv = queue_step(st, dev, dp->profile_id,
                                  WM_OP_PROFILE_VERIFY, pv->verify, 1, now,
                                  pqueued, p)))) {
                return rv;
            }
        }
        if ((rv = wm_store_device_verify_at(
                 st, dev->device_id,
                 any_verified ? now + (apr_int64_t)conf->verify_minutes * 60
                              : 0,
                 p))) {
            return rv;
        }
    }
    if (!waiting && dev->desired_gen != dev->applied_gen) {
        return wm_store_device_planned(st, dev->device_id, dev->applied_gen,
                                       dev->desired_gen, &planned, p);
    }
    return APR_SUCCESS;
}

/* Why the device refused a step: the node of the first command it
 * refused (an Atomic's own status and the rolled-back ones name none). */
static const char *refusal(const wm_op_t *op, const apr_array_header_t *failed,
                           apr_pool_t *p)
{
    const char *node = NULL;
    int i, code = op->status;

    for (i = 0; failed && i < failed->nelts && !node; i++) {
        const wm_kv_t *kv = &APR_ARRAY_IDX(failed, i, wm_kv_t);
        const char *dot = strchr(kv->key, '.');
        int idx = dot ? atoi(dot + 1) : 1;
        if (idx > op->cmd_count || op->cmd_count == 1) {
            node = wm_ops_target_of(op->body, idx, p);
            code = atoi(kv->value);
        }
    }
    return node ? apr_psprintf(p, "%s: status %d", node, code)
                : apr_psprintf(p, "status %d", op->status);
}

apr_status_t wm_dm_profile_settle(wm_store_t *st, const wm_device_t *dev,
                                  const wm_op_t *op,
                                  const apr_array_header_t *failed,
                                  const wm_profile_conf_t *conf,
                                  apr_int64_t now, int *pqueued,
                                  apr_pool_t *p)
{
    wm_device_profile_t *dp;
    wm_profile_version_t *pv;
    apr_array_header_t *nodes, *results;
    const char *diff, *id = dev->device_id;
    apr_status_t rv;

    *pqueued = 0;
    if ((rv = wm_store_dp_of_op(st, id, op->id, &dp, p)) || !dp) {
        return rv; /* an older step's answer */
    }
    if (!strcmp(op->type, WM_OP_PROFILE_REMOVE)) {
        if (!strcmp(op->state, "done") || op->status == SC_NOT_FOUND) {
            return wm_store_dp_delete(st, id, dp->profile_id, p);
        }
        return wm_store_dp_settle(
            st, id, dp->profile_id, op->id, "failed",
            apr_pstrcat(p, "removal refused: ", refusal(op, failed, p), NULL),
            0, now, p);
    }
    if (!strcmp(op->state, "failed")) {
        return wm_store_dp_settle(st, id, dp->profile_id, op->id, "failed",
                                  refusal(op, failed, p), 0, now, p);
    }
    if ((rv = wm_store_profile_version(st, dp->profile_id, dp->version, &pv,
                                       p)) ||
        !pv) {
        return rv;
    }
    if (wm_profile_nodes(pv->nodes, &nodes, p) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    if ((rv = wm_store_results(st, op->id, &results, p))) {
        return rv;
    }
    if (!(diff = wm_profile_diff(nodes, results, p))) {
        if ((rv = wm_store_dp_settle(st, id, dp->profile_id, op->id,
                                     "verified", NULL, now, now, p))) {
            return rv;
        }
        /* The first verified profile starts the read-back schedule. */
        if (!dev->verify_at) {
            return wm_store_device_verify_at(
                st, id, now + (apr_int64_t)conf->verify_minutes * 60, p);
        }
        return APR_SUCCESS;
    }
    if (!strcmp(op->type, WM_OP_PROFILE_VERIFY) &&
        dp->attempts < conf->reapply_limit) {
        /* Drifted: sent again, counted. */
        return send_version(st, dev, dp->profile_id, dp->version, dp,
                            dp->attempts + 1, now, pqueued, p);
    }
    return wm_store_dp_settle(
        st, id, dp->profile_id, op->id, "failed",
        strcmp(op->type, WM_OP_PROFILE_VERIFY)
            ? diff
            : apr_psprintf(p, "drifted %d times; %s", dp->attempts + 1, diff),
        0, now, p);
}
