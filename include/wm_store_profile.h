/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The store of groups, profiles and each device's profile state, and the
 * audit log (schema version 5). A device's row carries two generations:
 * desired, bumped in bulk whenever what it should hold may have changed
 * (a profile's new version, an assignment, a membership), and applied,
 * set when a session has planned for that generation; a check-in has
 * profile work exactly when they differ, which it reads with the device
 * row it loads anyway. */

#ifndef WM_STORE_PROFILE_H
#define WM_STORE_PROFILE_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "wm_store.h"

/* The target that means "every enrolled device". */
#define WM_ALL_DEVICES 0

/** A device's state for one profile. */
typedef struct wm_device_profile_t {
    apr_int64_t profile_id;
    int version;        /* the version it holds or is being sent */
    const char *state;  /* pending, verifying, verified, failed, removing */
    apr_int64_t op_id;  /* the operation in flight or last sent, 0: none */
    int attempts;       /* re-applications after a drift */
    const char *error;  /* why it failed, or NULL */
    apr_int64_t updated;
    apr_int64_t verified; /* when its values last matched, 0: never */
} wm_device_profile_t;

/** One version's bodies (wm_profile_compiled_t as stored). */
typedef struct wm_profile_version_t {
    const char *apply;
    const char *verify;
    const char *remove; /* NULL: nothing to delete */
    const char *nodes;
} wm_profile_version_t;

/* ---- groups ---- */

/** Adds a group; *pid 0 when the name is taken. */
apr_status_t wm_store_group_add(wm_store_t *st, const char *name,
                                apr_int64_t now, apr_int64_t *pid,
                                apr_pool_t *p);

/** Rows [id, name, created, members] by name; one group when id > 0. */
apr_status_t wm_store_groups(wm_store_t *st, apr_int64_t id,
                             apr_array_header_t **prows, apr_pool_t *p);

/** Deletes a group, its members and its assignments; bump first. */
apr_status_t wm_store_group_delete(wm_store_t *st, apr_int64_t id,
                                   int *pnrows, apr_pool_t *p);

/** Adds (add = 1) or removes a member; *pnrows 1 when it changed. */
apr_status_t wm_store_group_member(wm_store_t *st, apr_int64_t group,
                                   const char *device_id, int add,
                                   int *pnrows, apr_pool_t *p);

/** Rows [device_id] of a group after a DeviceID, at most limit. */
apr_status_t wm_store_group_members(wm_store_t *st, apr_int64_t group,
                                    const char *after, int limit,
                                    apr_array_header_t **prows, apr_pool_t *p);

/* ---- profiles ---- */

/** Adds a profile at version 1; *pid 0 when the name is taken. */
apr_status_t wm_store_profile_add(wm_store_t *st, const char *name,
                                  const char *definition,
                                  const wm_profile_version_t *v,
                                  apr_int64_t now, apr_int64_t *pid,
                                  apr_pool_t *p);

/** Stores a new version; *pversion the new version, 0 when no profile. */
apr_status_t wm_store_profile_update(wm_store_t *st, apr_int64_t id,
                                     const char *definition,
                                     const wm_profile_version_t *v,
                                     apr_int64_t now, int *pversion,
                                     apr_pool_t *p);

/** Rows [id, name, version, definition, created, updated] by name; one
 *  profile when id > 0. */
apr_status_t wm_store_profiles(wm_store_t *st, apr_int64_t id,
                               apr_array_header_t **prows, apr_pool_t *p);

/** Deletes a profile and its assignments (its versions stay until no
 *  device holds them); bump first. */
apr_status_t wm_store_profile_delete(wm_store_t *st, apr_int64_t id,
                                     int *pnrows, apr_pool_t *p);

/** A version's bodies, or *pv NULL. */
apr_status_t wm_store_profile_version(wm_store_t *st, apr_int64_t profile,
                                      int version, wm_profile_version_t **pv,
                                      apr_pool_t *p);

/** Assigns (add = 1) or unassigns a profile to a group or WM_ALL_DEVICES;
 *  *pnrows 1 when it changed. */
apr_status_t wm_store_profile_target(wm_store_t *st, apr_int64_t profile,
                                     apr_int64_t group, int add, int *pnrows,
                                     apr_pool_t *p);

/** Rows [group id, group name or NULL for all devices] of a profile. */
apr_status_t wm_store_profile_targets(wm_store_t *st, apr_int64_t profile,
                                      apr_array_header_t **prows,
                                      apr_pool_t *p);

/** Rows [state, count] of a profile's devices. */
apr_status_t wm_store_profile_counts(wm_store_t *st, apr_int64_t profile,
                                     apr_array_header_t **prows,
                                     apr_pool_t *p);

/** Rows [device_id, state, version, error, updated] of a profile's
 *  devices in a state (NULL: any), after a DeviceID, at most limit. */
apr_status_t wm_store_profile_devices(wm_store_t *st, apr_int64_t profile,
                                      const char *state, const char *after,
                                      int limit, apr_array_header_t **prows,
                                      apr_pool_t *p);

/* ---- generations ---- */

/** desired_gen + 1 for the members of a group (WM_ALL_DEVICES: every
 *  enrolled device). */
apr_status_t wm_store_bump_group(wm_store_t *st, apr_int64_t group,
                                 apr_pool_t *p);

/** desired_gen + 1 for every device a profile is assigned to. */
apr_status_t wm_store_bump_profile(wm_store_t *st, apr_int64_t profile,
                                   apr_pool_t *p);

/** desired_gen + 1 for one device. */
apr_status_t wm_store_bump_device(wm_store_t *st, const char *device_id,
                                  apr_pool_t *p);

/** Forgets a device's profile states and has its next check-in plan
 *  every profile afresh (it enrolled again, or left). */
apr_status_t wm_store_device_profiles_reset(wm_store_t *st,
                                            const char *device_id,
                                            apr_pool_t *p);

/** Marks the generation planned: applied_gen = gen where it was old;
 *  *pnrows 0 when another session did it first. */
apr_status_t wm_store_device_planned(wm_store_t *st, const char *device_id,
                                     apr_int64_t old, apr_int64_t gen,
                                     int *pnrows, apr_pool_t *p);

/** Sets when the device's profiles are verified next (0: never). */
apr_status_t wm_store_device_verify_at(wm_store_t *st, const char *device_id,
                                       apr_int64_t when, apr_pool_t *p);

/* ---- a device's profiles ---- */

/** A profile at a version. */
typedef struct wm_profile_ref_t {
    apr_int64_t id;
    int version;
} wm_profile_ref_t;

/** The current versions assigned to a device, wm_profile_ref_t. */
apr_status_t wm_store_device_assigned(wm_store_t *st, const char *device_id,
                                      apr_array_header_t **prefs,
                                      apr_pool_t *p);

/** Its profile states, wm_device_profile_t *, by profile id. */
apr_status_t wm_store_device_profiles(wm_store_t *st, const char *device_id,
                                      apr_array_header_t **pdps,
                                      apr_pool_t *p);

/** Rows [profile id, profile name or NULL, version, state, error,
 *  updated, verified] for the API. */
apr_status_t wm_store_device_profile_rows(wm_store_t *st,
                                          const char *device_id,
                                          apr_array_header_t **prows,
                                          apr_pool_t *p);

/**
 * Takes a device's profile row from what the caller read (old_version,
 * old_state; old_state NULL: no row yet) to version and state, so that of
 * two sessions planning at once only one sends: *pnrows 1 for the one
 * that did.
 */
apr_status_t wm_store_dp_take(wm_store_t *st, const char *device_id,
                              apr_int64_t profile, int old_version,
                              const char *old_state, int version,
                              const char *state, int attempts,
                              apr_int64_t now, int *pnrows, apr_pool_t *p);

/** Records the operation that carries the row's current step. */
apr_status_t wm_store_dp_op(wm_store_t *st, const char *device_id,
                            apr_int64_t profile, apr_int64_t op_id,
                            apr_pool_t *p);

/** The row whose current step an operation carries, or *pdp NULL. */
apr_status_t wm_store_dp_of_op(wm_store_t *st, const char *device_id,
                               apr_int64_t op_id, wm_device_profile_t **pdp,
                               apr_pool_t *p);

/** Settles the step op carried: state, error (NULL clears it), verified
 *  (0 keeps it). */
apr_status_t wm_store_dp_settle(wm_store_t *st, const char *device_id,
                                apr_int64_t profile, apr_int64_t op_id,
                                const char *state, const char *error,
                                apr_int64_t verified, apr_int64_t now,
                                apr_pool_t *p);

/** Drops a device's row for a profile (removed). */
apr_status_t wm_store_dp_delete(wm_store_t *st, const char *device_id,
                                apr_int64_t profile, apr_pool_t *p);

/* ---- audit ---- */

/** Records what an administrator did. device_id and detail may be NULL. */
apr_status_t wm_store_audit(wm_store_t *st, apr_int64_t now,
                            const char *actor, const char *action,
                            const char *object_type, const char *object_id,
                            const char *device_id, const char *detail,
                            apr_pool_t *p);

/** Records who queued an operation. */
apr_status_t wm_store_op_creator(wm_store_t *st, apr_int64_t op_id,
                                 const char *actor, apr_pool_t *p);

/** Rows [id, at, actor, action, object_type, object_id, device_id,
 *  detail], newest first, before an id (0: from the newest), at most
 *  limit: of a device (kind "device") or of a profile (kind "profile"). */
apr_status_t wm_store_audit_list(wm_store_t *st, const char *kind,
                                 const char *key, apr_int64_t before,
                                 int limit, apr_array_header_t **prows,
                                 apr_pool_t *p);

#endif /* WM_STORE_PROFILE_H */
