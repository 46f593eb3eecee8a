/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The JSON bodies of the admin API (DESIGN.md section 6) that queue
 * operations: {"type": ..., parameters} and the batch routes' arrays of
 * DeviceIDs. Read here, in the core, so that the network-facing JSON
 * parsing is unit-tested and fuzzed without httpd. JSON is jansson's; every
 * value read is copied into the pool and the JSON freed before returning. */

#ifndef WM_OPJSON_H
#define WM_OPJSON_H

#include <apr_pools.h>
#include <apr_tables.h>

#include <jansson.h>

#include "wm_ops.h"
#include "wm_profile.h"

/**
 * Reads an operation request. Only the parameters of its type are taken
 * (SYNCML: "syncml"; POLICY: "settings", an object whose values are
 * strings, integers or {"value": ..., "format": "int|chr|bool|b64|xml"};
 * APP_INSTALL: "product_id", "version", "url", "sha256").
 * @param ptype   the "type", a member of wm_ops_types
 * @param params  filled (provider_id and poll_minutes are left alone)
 * @return APR_SUCCESS, or APR_EINVAL with *perr (malformed JSON, not an
 *         object, no or an unknown type, a parameter of the wrong kind)
 */
apr_status_t wm_opjson_request(const char *buf, apr_size_t len,
                               const char **ptype, wm_op_params_t *params,
                               const char **perr, apr_pool_t *p);

/**
 * Reads a batch body: a JSON array of 1 to max DeviceID strings.
 * @param pids  const char * each
 * @return APR_SUCCESS or APR_EINVAL with *perr
 */
apr_status_t wm_opjson_ids(const char *buf, apr_size_t len, int max,
                           apr_array_header_t **pids, const char **perr,
                           apr_pool_t *p);

/**
 * Reads a profile: {"name": ..., "settings": {...}, "syncml": "..."},
 * every field optional here (the caller says which it needs); settings as
 * POLICY's. *pdefinition is what the profile stores and shows: settings
 * and syncml as JSON with sorted keys, the same text for the same
 * definition.
 */
apr_status_t wm_opjson_profile(const char *buf, apr_size_t len,
                               const char **pname, wm_profile_def_t *def,
                               const char **pdefinition, const char **perr,
                               apr_pool_t *p);

/** j as JSON text allocated from p (jansson's json_dump_callback), NULL
 *  when it cannot be written. */
const char *wm_json_dump(const json_t *j, size_t flags, apr_pool_t *p);

#endif /* WM_OPJSON_H */
