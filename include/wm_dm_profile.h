/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Profiles in an OMA-DM session: what a device is sent so that it holds
 * the current version of every profile assigned to it, and what its
 * answers mean. Each step is an operation in the device's queue, sent and
 * matched like any other: PROFILE (the settings in an Atomic, then a Get
 * of every node), PROFILE_VERIFY (the Get alone, on a schedule) and
 * PROFILE_REMOVE (the Delete of its Policy CSP nodes). A device's row per
 * profile names the operation that carries its current step; an answer to
 * an older one changes nothing. */

#ifndef WM_DM_PROFILE_H
#define WM_DM_PROFILE_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "wm_store.h"

#define WM_OP_PROFILE "PROFILE"
#define WM_OP_PROFILE_VERIFY "PROFILE_VERIFY"
#define WM_OP_PROFILE_REMOVE "PROFILE_REMOVE"

/** What the vhost's configuration says. */
typedef struct wm_profile_conf_t {
    int verify_minutes; /* WinMDMProfileVerifyInterval */
    int reapply_limit;  /* WinMDMProfileReapplyLimit */
} wm_profile_conf_t;

/** True for the type of an operation this file settles. */
int wm_dm_profile_op(const char *type);

/** True when a check-in of dev has profile work: a generation not yet
 *  planned, or values due to be read back. */
int wm_dm_profile_due(const wm_device_t *dev, apr_int64_t now);

/**
 * Brings a device's profile rows to the profiles assigned to it: queues
 * the new versions, the removals and, when due, the read-back; of two
 * sessions planning at once only one queues each step. Runs inside the
 * session's transaction, before its operations are claimed.
 * @param pqueued  operations queued
 */
apr_status_t wm_dm_profile_plan(wm_store_t *st, const wm_device_t *dev,
                                const wm_profile_conf_t *conf,
                                apr_int64_t now, int *pqueued, apr_pool_t *p);

/**
 * Settles the step an operation carried once it is done or failed: its
 * values match (verified), differ (failed, or re-applied after a drift
 * up to the limit), its removal is done (the row goes).
 * @param failed  wm_kv_t (CmdRef, status) of the statuses of 300 or more
 *                this message gave the operation's commands, to name the
 *                node that was refused; may be empty
 * @param pqueued  operations queued (a re-application)
 */
apr_status_t wm_dm_profile_settle(wm_store_t *st, const wm_device_t *dev,
                                  const wm_op_t *op,
                                  const apr_array_header_t *failed,
                                  const wm_profile_conf_t *conf,
                                  apr_int64_t now, int *pqueued,
                                  apr_pool_t *p);

#endif /* WM_DM_PROFILE_H */
