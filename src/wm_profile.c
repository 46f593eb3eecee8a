/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Profile definitions checked and compiled (see wm_profile.h). The bodies
 * are written as SyncML text and numbered by wm_ops_build's SYNCML path,
 * so they get the same checks and placeholder CmdIDs as any operation. */

#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <jansson.h>

#include "wm_opjson.h"
#include "wm_ops.h"
#include "wm_profile.h"
#include "wm_store.h"
#include "wm_syncml.h"
#include "wm_xml.h"

int wm_profile_is_policy_uri(const char *uri)
{
    return uri && (!strncmp(uri, WM_OPS_POLICY_CONFIG,
                            sizeof(WM_OPS_POLICY_CONFIG) - 1) ||
                   !strncmp(uri, "./User/Vendor/MSFT/Policy/Config/", 33) ||
                   !strncmp(uri, "./Vendor/MSFT/Policy/Config/", 28));
}

/* "./" then segments that are neither empty, "." nor "..". */
static int locuri_ok(const char *uri)
{
    const char *seg, *end;

    if (!uri || strncmp(uri, "./", 2) || !uri[2]) {
        return 0;
    }
    for (seg = uri + 2; *seg; seg = *end ? end + 1 : end) {
        end = strchr(seg, '/');
        if (!end) {
            end = seg + strlen(seg);
        }
        if (end == seg || (end - seg == 1 && seg[0] == '.') ||
            (end - seg == 2 && seg[0] == '.' && seg[1] == '.')) {
            return 0;
        }
    }
    return 1;
}

typedef struct {
    apr_array_header_t *nodes; /* wm_kv_t */
    apr_hash_t *seen;
    const char **perr;
    apr_pool_t *p;
} nodes_t;

static apr_status_t add_node(nodes_t *n, const char *uri, const char *value)
{
    wm_kv_t *kv;

    if (apr_hash_get(n->seen, uri, APR_HASH_KEY_STRING)) {
        *n->perr = apr_psprintf(n->p, "%s is set twice", uri);
        return APR_EINVAL;
    }
    apr_hash_set(n->seen, uri, APR_HASH_KEY_STRING, uri);
    kv = apr_array_push(n->nodes);
    kv->key = uri;
    kv->value = value;
    return APR_SUCCESS;
}

/* The raw commands: parsed, Add and Replace only, each item a node. */
static apr_status_t raw_nodes(const char *syncml, apr_size_t max, nodes_t *n)
{
    apr_array_header_t *cmds;
    int i, j;

    if (wm_syncml_parse_commands(&cmds, syncml, max, n->perr, n->p)) {
        return APR_EINVAL;
    }
    for (i = 0; i < cmds->nelts; i++) {
        const wm_sml_cmd_t *c = APR_ARRAY_IDX(cmds, i, wm_sml_cmd_t *);
        if (strcmp(c->name, "Add") && strcmp(c->name, "Replace")) {
            *n->perr = apr_psprintf(n->p,
                                    "a profile holds Add and Replace "
                                    "commands only, not %s",
                                    c->name);
            return APR_EINVAL;
        }
        for (j = 0; j < c->items->nelts; j++) {
            const wm_sml_item_t *it =
                APR_ARRAY_IDX(c->items, j, wm_sml_item_t *);
            if (!locuri_ok(it->target)) {
                *n->perr = apr_psprintf(n->p,
                                        "'%s' is not a LocURI of the form "
                                        "./CSP/node",
                                        it->target ? it->target : "");
                return APR_EINVAL;
            }
            if (!it->data) {
                *n->perr = apr_psprintf(n->p, "%s has no Data", it->target);
                return APR_EINVAL;
            }
            if (add_node(n, it->target, it->data)) {
                return APR_EINVAL;
            }
        }
    }
    return APR_SUCCESS;
}

/* SyncML text numbered by the operation builder: placeholders, checks. */
static apr_status_t numbered(const char *text, apr_size_t max,
                             const char **pbody, const char **perr,
                             apr_pool_t *p)
{
    wm_op_params_t params;
    int count;

    memset(&params, 0, sizeof(params));
    params.syncml = text;
    return wm_ops_build("SYNCML", &params, max, pbody, &count, perr, p);
}

/* One command of name over the given nodes' items. */
static const char *command_of(const char *name,
                              const apr_array_header_t *nodes, int policy_only,
                              apr_pool_t *p)
{
    apr_array_header_t *parts = apr_array_make(p, nodes->nelts + 2,
                                               sizeof(const char *));
    int i, any = 0;

    APR_ARRAY_PUSH(parts, const char *) =
        apr_pstrcat(p, "<", name, "><CmdID>1</CmdID>", NULL);
    for (i = 0; i < nodes->nelts; i++) {
        const wm_kv_t *kv = &APR_ARRAY_IDX(nodes, i, wm_kv_t);
        if (policy_only && !wm_profile_is_policy_uri(kv->key)) {
            continue;
        }
        any = 1;
        APR_ARRAY_PUSH(parts, const char *) =
            apr_pstrcat(p, "<Item><Target><LocURI>", wm_xml_escape(kv->key, p),
                        "</LocURI></Target></Item>", NULL);
    }
    APR_ARRAY_PUSH(parts, const char *) =
        apr_pstrcat(p, "</", name, ">", NULL);
    return any ? apr_array_pstrcat(p, parts, 0) : NULL;
}

/* JSON [[uri, value], ...], written into the pool (no allocation of
 * jansson's outlives this function). */
static const char *nodes_json(const apr_array_header_t *nodes, apr_pool_t *p)
{
    json_t *a = json_array();
    const char *out;
    int i;

    for (i = 0; i < nodes->nelts; i++) {
        const wm_kv_t *kv = &APR_ARRAY_IDX(nodes, i, wm_kv_t);
        json_array_append_new(a, json_pack("[s,s]", kv->key, kv->value));
    }
    out = wm_json_dump(a, JSON_COMPACT, p);
    json_decref(a);
    return out;
}

apr_status_t wm_profile_compile(const wm_profile_def_t *def, apr_size_t max,
                                wm_profile_compiled_t **pc, const char **perr,
                                apr_pool_t *p)
{
    apr_array_header_t *parts = apr_array_make(p, 8, sizeof(const char *));
    wm_profile_compiled_t *c;
    const char *get, *del;
    nodes_t n;
    int i;

    *pc = NULL;
    n.nodes = apr_array_make(p, 8, sizeof(wm_kv_t));
    n.seen = apr_hash_make(p);
    n.perr = perr;
    n.p = p;

    APR_ARRAY_PUSH(parts, const char *) = "<Atomic><CmdID>1</CmdID>";
    for (i = 0; def->settings && i < def->settings->nelts; i++) {
        const wm_policy_setting_t *set =
            &APR_ARRAY_IDX(def->settings, i, wm_policy_setting_t);
        const char *xml, *uri;
        if (wm_ops_policy_replace(set, 0, &xml, &uri, perr, p) ||
            add_node(&n, uri, set->value)) {
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(parts, const char *) = xml;
    }
    if (def->syncml && *def->syncml) {
        if (raw_nodes(def->syncml, max, &n)) {
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(parts, const char *) = def->syncml;
    }
    if (n.nodes->nelts == 0) {
        *perr = "a profile needs at least one setting or command";
        return APR_EINVAL;
    }
    APR_ARRAY_PUSH(parts, const char *) = "</Atomic>";
    get = command_of("Get", n.nodes, 0, p);
    APR_ARRAY_PUSH(parts, const char *) = get;

    c = apr_pcalloc(p, sizeof(*c));
    if (numbered(apr_array_pstrcat(p, parts, 0), max, &c->apply, perr, p) ||
        numbered(get, max, &c->verify, perr, p) ||
        ((del = command_of("Delete", n.nodes, 1, p)) &&
         numbered(del, max, &c->remove, perr, p))) {
        return APR_EINVAL;
    }
    if (!(c->nodes = nodes_json(n.nodes, p))) {
        *perr = "out of memory";
        return APR_ENOMEM;
    }
    *pc = c;
    return APR_SUCCESS;
}

apr_status_t wm_profile_nodes(const char *nodes, apr_array_header_t **pnodes,
                              apr_pool_t *p)
{
    json_t *a = nodes ? json_loads(nodes, 0, NULL) : NULL, *e;
    apr_status_t rv = APR_SUCCESS;
    size_t i;

    *pnodes = apr_array_make(p, 8, sizeof(wm_kv_t));
    if (!json_is_array(a)) {
        rv = APR_EINVAL;
        goto leave;
    }
    json_array_foreach(a, i, e)
    {
        wm_kv_t *kv;
        if (!json_is_array(e) || json_array_size(e) != 2 ||
            !json_is_string(json_array_get(e, 0)) ||
            !json_is_string(json_array_get(e, 1))) {
            rv = APR_EINVAL;
            goto leave;
        }
        kv = apr_array_push(*pnodes);
        kv->key = apr_pstrdup(p, json_string_value(json_array_get(e, 0)));
        kv->value = apr_pstrdup(p, json_string_value(json_array_get(e, 1)));
    }
leave:
    json_decref(a);
    return rv;
}

const char *wm_profile_diff(const apr_array_header_t *nodes,
                            const apr_array_header_t *results, apr_pool_t *p)
{
    apr_hash_t *got = apr_hash_make(p);
    int i;

    for (i = 0; i < results->nelts; i++) {
        const wm_kv_t *kv = &APR_ARRAY_IDX(results, i, wm_kv_t);
        if (kv->key) {
            apr_hash_set(got, kv->key, APR_HASH_KEY_STRING,
                         kv->value ? kv->value : "");
        }
    }
    for (i = 0; i < nodes->nelts; i++) {
        const wm_kv_t *kv = &APR_ARRAY_IDX(nodes, i, wm_kv_t);
        const char *v = apr_hash_get(got, kv->key, APR_HASH_KEY_STRING);
        if (!v) {
            return apr_psprintf(p, "%s: not reported", kv->key);
        }
        if (strcmp(v, kv->value)) {
            return apr_psprintf(p, "%s: expected %s, the device has %s",
                                kv->key, kv->value, v);
        }
    }
    return NULL;
}
