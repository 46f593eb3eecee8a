/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Profiles: desired settings for groups of devices. A profile's definition
 * (Policy CSP settings in the POLICY shorthand and/or raw Add and Replace
 * commands for any CSP) is checked when it is saved and compiled once per
 * version into what a device is sent: the commands in one Atomic (all or
 * nothing, MS-MDM 2.2.7.1) followed by a Get of every node to read the
 * values back; a Get alone to verify later; the Delete of its Policy CSP
 * nodes when it is removed, so Windows falls back to its defaults. */

#ifndef WM_PROFILE_H
#define WM_PROFILE_H

#include <apr_pools.h>
#include <apr_tables.h>

/** What an administrator saves. */
typedef struct wm_profile_def_t {
    const apr_array_header_t *settings; /* wm_policy_setting_t, or NULL */
    const char *syncml;                 /* raw Add/Replace commands, or NULL */
} wm_profile_def_t;

/** A version compiled: operation bodies with placeholder CmdIDs
 *  (wm_ops_render fills them in) and the values read back must match. */
typedef struct wm_profile_compiled_t {
    const char *apply;  /* Atomic of the commands, then the Get: 2 commands */
    const char *verify; /* Get of every node: 1 command */
    const char *remove; /* Delete of the Policy CSP nodes, or NULL: 1 */
    const char *nodes;  /* JSON [[uri, value], ...], for wm_profile_nodes */
} wm_profile_compiled_t;

/* Top-level commands of the apply body: the Atomic and the Get. */
#define WM_PROFILE_APPLY_COMMANDS 2

/**
 * Checks a definition and compiles it. Refused: no setting and no command;
 * a setting that is not a Policy CSP path or not of its format; raw
 * commands that do not parse, or other than Add and Replace (no Exec, no
 * Delete: a profile removes only what it set), or whose items have no
 * Target LocURI of the form "./..." without "." or ".." segments, or no
 * Data; one node set twice.
 * @param max   the largest raw command text accepted
 * @return APR_SUCCESS with *pc, or APR_EINVAL with *perr
 */
apr_status_t wm_profile_compile(const wm_profile_def_t *def, apr_size_t max,
                                wm_profile_compiled_t **pc, const char **perr,
                                apr_pool_t *p);

/**
 * Reads a compiled version's nodes back.
 * @param pnodes  wm_kv_t (uri, expected value), in definition order
 * @return APR_SUCCESS, or APR_EINVAL when nodes is not what compile wrote
 */
apr_status_t wm_profile_nodes(const char *nodes, apr_array_header_t **pnodes,
                              apr_pool_t *p);

/**
 * Compares what a device reported with what the version sets.
 * @param nodes    wm_kv_t (uri, expected), from wm_profile_nodes
 * @param results  wm_kv_t (uri, data) the device sent for the Get
 * @return NULL when every node holds its value, else the first difference
 *         in words ("<uri>: expected 6, the device has 4" or "... not
 *         reported"), allocated from p
 */
const char *wm_profile_diff(const apr_array_header_t *nodes,
                            const apr_array_header_t *results, apr_pool_t *p);

/** True for a LocURI of the Policy CSP's Config node, device or user. */
int wm_profile_is_policy_uri(const char *uri);

#endif /* WM_PROFILE_H */
