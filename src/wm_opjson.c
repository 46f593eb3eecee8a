/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Reading the admin API's operation requests (see wm_opjson.h). */

#include <string.h>

#include <apr_strings.h>
#include <jansson.h>

#include "wm_opjson.h"
#include "wm_store.h"

typedef struct {
    apr_array_header_t *parts;
    apr_pool_t *p;
} dump_t;

static int dump_cb(const char *buf, size_t size, void *data)
{
    dump_t *d = data;
    APR_ARRAY_PUSH(d->parts, const char *) = apr_pstrmemdup(d->p, buf, size);
    return 0;
}

const char *wm_json_dump(const json_t *j, size_t flags, apr_pool_t *p)
{
    dump_t d;

    d.parts = apr_array_make(p, 8, sizeof(const char *));
    d.p = p;
    if (json_dump_callback(j, dump_cb, &d, flags)) {
        return NULL;
    }
    return apr_array_pstrcat(p, d.parts, 0);
}

static const char *copy_string(json_t *obj, const char *key, apr_pool_t *p)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? apr_pstrdup(p, json_string_value(v)) : NULL;
}

/* A setting's value as text: a string, an integer or a boolean. */
static const char *scalar_text(json_t *v, apr_pool_t *p)
{
    if (json_is_string(v)) {
        return apr_pstrdup(p, json_string_value(v));
    }
    if (json_is_integer(v)) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT,
                            (apr_int64_t)json_integer_value(v));
    }
    if (json_is_boolean(v)) {
        return json_is_true(v) ? "true" : "false";
    }
    return NULL;
}

/* "settings": {"Area/Policy": value} with value a string or an integer,
 * or {"value": ..., "format": "int|chr|bool|b64|xml"} to name the Meta
 * Format (wm_ops.c checks the value against it). */
static apr_status_t read_settings(json_t *set, wm_op_params_t *params,
                                  const char **perr, apr_pool_t *p)
{
    apr_array_header_t *settings;
    const char *k;
    json_t *v;

    if (!json_is_object(set)) {
        *perr = "POLICY needs \"settings\": {\"Area/Policy\": \"value\"}";
        return APR_EINVAL;
    }
    settings = apr_array_make(p, 4, sizeof(wm_policy_setting_t));
    json_object_foreach(set, k, v)
    {
        wm_policy_setting_t *s = apr_array_push(settings);
        s->path = apr_pstrdup(p, k);
        s->format = NULL;
        if (json_is_object(v)) {
            json_t *f = json_object_get(v, "format");
            if (json_object_size(v) != (f ? 2u : 1u) ||
                !(s->value = scalar_text(json_object_get(v, "value"), p)) ||
                (f && !json_is_string(f))) {
                *perr = apr_psprintf(p,
                                     "%s must be {\"value\": ..., "
                                     "\"format\": \"int|chr|bool|b64|xml\"}",
                                     k);
                return APR_EINVAL;
            }
            s->format = f ? apr_pstrdup(p, json_string_value(f)) : NULL;
        }
        else if (json_is_boolean(v) || !(s->value = scalar_text(v, p))) {
            *perr = apr_psprintf(p, "the value of %s must be a string, an "
                                    "integer or {\"value\": ..., "
                                    "\"format\": ...}",
                                 k);
            return APR_EINVAL;
        }
    }
    params->settings = settings;
    return APR_SUCCESS;
}

apr_status_t wm_opjson_request(const char *buf, apr_size_t len,
                               const char **ptype, wm_op_params_t *params,
                               const char **perr, apr_pool_t *p)
{
    json_error_t jerr;
    json_t *body;
    const char *type;
    apr_status_t rv = APR_SUCCESS;
    int i;

    *ptype = NULL;
    body = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        *perr = apr_psprintf(p, "malformed JSON: %s", jerr.text);
        return APR_EINVAL;
    }
    if (!json_is_object(body)
        || !(type = copy_string(body, "type", p))) {
        *perr = "the body must be {\"type\": \"...\"}";
        rv = APR_EINVAL;
        goto leave;
    }
    for (i = 0; wm_ops_types[i] && strcmp(wm_ops_types[i], type); i++) {
    }
    if (!wm_ops_types[i]) {
        *perr = apr_psprintf(p, "unknown operation type '%s'", type);
        rv = APR_EINVAL;
        goto leave;
    }
    if (!strcmp(type, "SYNCML")) {
        params->syncml = copy_string(body, "syncml", p);
    }
    else if (!strcmp(type, "APP_INSTALL")) {
        params->product_id = copy_string(body, "product_id", p);
        params->version = copy_string(body, "version", p);
        params->url = copy_string(body, "url", p);
        params->sha256 = copy_string(body, "sha256", p);
    }
    else if (!strcmp(type, "POLICY")) {
        rv = read_settings(json_object_get(body, "settings"), params, perr, p);
    }
    *ptype = type;
leave:
    json_decref(body);
    return rv;
}

apr_status_t wm_opjson_profile(const char *buf, apr_size_t len,
                               const char **pname, wm_profile_def_t *def,
                               const char **pdefinition, const char **perr,
                               apr_pool_t *p)
{
    json_error_t jerr;
    json_t *body, *set, *sml, *name, *canon;
    apr_status_t rv = APR_SUCCESS;
    wm_op_params_t params;
    const char *key;
    json_t *v;

    *pname = NULL;
    memset(def, 0, sizeof(*def));
    body = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        *perr = apr_psprintf(p, "malformed JSON: %s", jerr.text);
        return APR_EINVAL;
    }
    if (!json_is_object(body)) {
        *perr = "the body must be {\"name\": ..., \"settings\": {...}, "
                "\"syncml\": \"...\"}";
        rv = APR_EINVAL;
        goto leave;
    }
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "name") && strcmp(key, "settings") &&
            strcmp(key, "syncml")) {
            *perr = apr_psprintf(p, "a profile has no field \"%s\"", key);
            rv = APR_EINVAL;
            goto leave;
        }
    }
    name = json_object_get(body, "name");
    set = json_object_get(body, "settings");
    sml = json_object_get(body, "syncml");
    if ((name && !json_is_string(name)) || (sml && !json_is_string(sml))) {
        *perr = "name and syncml must be strings";
        rv = APR_EINVAL;
        goto leave;
    }
    *pname = name ? apr_pstrdup(p, json_string_value(name)) : NULL;
    if (set) {
        memset(&params, 0, sizeof(params));
        if ((rv = read_settings(set, &params, perr, p))) {
            goto leave;
        }
        def->settings = params.settings;
    }
    def->syncml = sml ? apr_pstrdup(p, json_string_value(sml)) : NULL;
    /* The definition as stored and shown: settings and syncml only, keys
     * sorted, so that saving the same definition again is no change. */
    canon = json_object();
    if (set) {
        json_object_set(canon, "settings", set);
    }
    if (sml) {
        json_object_set(canon, "syncml", sml);
    }
    *pdefinition = wm_json_dump(canon, JSON_COMPACT | JSON_SORT_KEYS, p);
    json_decref(canon);
    if (!*pdefinition) {
        *perr = "out of memory";
        rv = APR_ENOMEM;
    }
leave:
    json_decref(body);
    return rv;
}

apr_status_t wm_opjson_ids(const char *buf, apr_size_t len, int max,
                           apr_array_header_t **pids, const char **perr,
                           apr_pool_t *p)
{
    json_error_t jerr;
    json_t *body, *v;
    apr_array_header_t *ids;
    apr_status_t rv = APR_SUCCESS;
    size_t i;

    *pids = NULL;
    body = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        *perr = apr_psprintf(p, "malformed JSON: %s", jerr.text);
        return APR_EINVAL;
    }
    if (!json_is_array(body) || json_array_size(body) == 0
        || json_array_size(body) > (size_t)max) {
        *perr = apr_psprintf(p, "the body must be a JSON array of 1 to %d "
                                "DeviceIDs",
                             max);
        rv = APR_EINVAL;
        goto leave;
    }
    ids = apr_array_make(p, (int)json_array_size(body), sizeof(const char *));
    json_array_foreach(body, i, v)
    {
        if (!json_is_string(v)) {
            *perr = "every DeviceID must be a string";
            rv = APR_EINVAL;
            goto leave;
        }
        APR_ARRAY_PUSH(ids, const char *) = apr_pstrdup(p, json_string_value(v));
    }
    *pids = ids;
leave:
    json_decref(body);
    return rv;
}
