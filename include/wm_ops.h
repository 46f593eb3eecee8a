/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The operation catalog: what each operation type sends to a Windows
 * device, as SyncML commands (the CSPs of spec/syncml.md section 8), and
 * the CmdIDs those commands carry. A stored operation body holds its
 * commands with placeholder CmdIDs "#1", "#2"...: the top-level commands
 * first (1 to cmd_count), then the commands nested in Atomic or Sequence.
 * When it is sent, "#n" becomes "<op id>.<n>", or "<op id>" for an
 * operation of a single command (DESIGN.md section 1), so the device's
 * Status and Results name the operation they answer. */

#ifndef WM_OPS_H
#define WM_OPS_H

#include <apr_pools.h>
#include <apr_tables.h>

/** One POLICY setting: a Policy CSP path relative to
 *  ./Device/Vendor/MSFT/Policy/Config/ ("Area/Policy"), its value and the
 *  Meta Format it is sent with: int, chr, bool, b64 or xml; NULL lets the
 *  value decide (int for an integer, chr otherwise). */
typedef struct wm_policy_setting_t {
    const char *path;
    const char *value;
    const char *format;
} wm_policy_setting_t;

/** Parameters of an operation; the ones a type does not use are ignored. */
typedef struct wm_op_params_t {
    const char *provider_id; /* DISENROLL, POLL: the DMClient provider */
    int poll_minutes;        /* POLL */
    const char *syncml;      /* SYNCML: raw commands */
    const apr_array_header_t *settings; /* POLICY: wm_policy_setting_t */
    const char *product_id; /* APP_INSTALL: the MSI ProductCode {GUID} */
    const char *version;    /* APP_INSTALL: its version */
    const char *url;        /* APP_INSTALL: where the device downloads it */
    const char *sha256;     /* APP_INSTALL: hex SHA-256 of the file */
} wm_op_params_t;

/* Where a Policy CSP setting "Area/Policy" lives (device scope). */
#define WM_OPS_POLICY_CONFIG "./Device/Vendor/MSFT/Policy/Config/"

/** The types an administrator can queue, NULL-terminated. */
extern const char *const wm_ops_types[];

/**
 * Builds an operation's body.
 * @param type    a type of wm_ops_types, or "POLL" (internal: the DMClient
 *                poll schedule after WinMDMPollInterval changed)
 * @param max     the largest body accepted (SYNCML)
 * @param pbody   the commands with placeholder CmdIDs
 * @param pcount  the number of top-level commands
 * @return APR_SUCCESS, APR_ENOTIMPL for an unknown type, APR_EINVAL with
 *         *perr for bad parameters
 */
apr_status_t wm_ops_build(const char *type, const wm_op_params_t *params,
                          apr_size_t max, const char **pbody, int *pcount,
                          const char **perr, apr_pool_t *p);

/**
 * One POLICY setting as a Replace command: its path checked, its value
 * checked against its format (or the format chosen by the value).
 * @param n     its placeholder CmdID, "#n"
 * @param pxml  "<Replace><CmdID>#n</CmdID>...</Replace>"
 * @param puri  the node it sets
 * @return APR_SUCCESS, or APR_EINVAL with *perr naming the setting
 */
apr_status_t wm_ops_policy_replace(const wm_policy_setting_t *set, int n,
                                   const char **pxml, const char **puri,
                                   const char **perr, apr_pool_t *p);

/** The body with op_id's CmdIDs in place of the placeholders. */
const char *wm_ops_render(const char *body, apr_int64_t op_id, apr_pool_t *p);

/**
 * Reads a CmdRef the device sent back: "<op id>" or "<op id>.<n>".
 * @return 1 with *pid and *pindex (1 for "<op id>") set, 0 when the CmdRef
 *         cannot name an operation (e.g. the server's own "s1")
 */
int wm_ops_cmdref(const char *cmd_ref, apr_int64_t *pid, int *pindex);

/** The Target LocURI of the first item of the command whose placeholder
 *  is "#idx" in an operation's body (nested commands included), or NULL. */
const char *wm_ops_target_of(const char *body, int idx, apr_pool_t *p);

/**
 * The form of a LocURI that operation bodies hold, for finding the
 * operation a device's alert names: braces escaped as %7B and %7D (the
 * EnterpriseDesktopAppManagement CSP's examples; a device may write them
 * raw or escaped) and the hex between them in upper case (an MSI
 * ProductCode is case-insensitive). Allocated from p.
 */
const char *wm_ops_uri_key(const char *uri, apr_pool_t *p);

#endif /* WM_OPS_H */
