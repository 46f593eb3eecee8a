/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The operation queue, results and multi-message result chunks (see
 * wm_store.h). The SQL is in the statement table of wm_store.c. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "wm_store.h"
#include "wm_store_private.h"

static wm_op_t *op_of(wm_store_t *st, apr_dbd_row_t *row, apr_pool_t *p)
{
    wm_op_t *op = apr_pcalloc(p, sizeof(*op));
    const char *status;

    op->id = wm_store_to_i64(wm_store_entry(st, row, 0, p));
    op->device_id = wm_store_entry(st, row, 1, p);
    op->type = wm_store_entry(st, row, 2, p);
    op->body = wm_store_entry(st, row, 3, p);
    op->state = wm_store_entry(st, row, 4, p);
    status = wm_store_entry(st, row, 5, p);
    op->status = status ? atoi(status) : -1;
    op->cmd_count = (int)wm_store_to_i64(wm_store_entry(st, row, 6, p));
    op->cmds_pending = wm_store_entry(st, row, 7, p);
    op->created = wm_store_to_i64(wm_store_entry(st, row, 8, p));
    op->sent = wm_store_to_i64(wm_store_entry(st, row, 9, p));
    op->completed = wm_store_to_i64(wm_store_entry(st, row, 10, p));
    op->sent_session = wm_store_entry(st, row, 11, p);
    op->created_by = wm_store_entry(st, row, 12, p);
    return op;
}

apr_status_t wm_store_op_add(wm_store_t *st, const char *device_id,
                             const char *type, const char *body, int cmd_count,
                             apr_int64_t now, apr_int64_t *pid, apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rc;

    *pid = 0;
    rc = apr_dbd_pvselect(st->driver, p, st->handle, &res,
                          wm_store_stmt(st, "wm_op_add"), 1, device_id, type,
                          body, wm_store_i64(now, p),
                          wm_store_i64(cmd_count, p));
    if (rc) {
        return wm_store_db_error(st, rc, "wm_op_add", p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        *pid = wm_store_to_i64(wm_store_entry(st, row, 0, p));
    }
    return *pid ? APR_SUCCESS : APR_EGENERAL;
}

static int by_id(const void *a, const void *b)
{
    const wm_op_t *x = *(wm_op_t *const *)a, *y = *(wm_op_t *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

apr_status_t wm_store_op_claim(wm_store_t *st, const char *device_id,
                               const char *session_id, apr_int64_t now,
                               int limit, apr_array_header_t **pops,
                               apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *ids = apr_array_make(p, 8, sizeof(apr_int64_t));
    apr_array_header_t *ops = apr_array_make(p, 8, sizeof(wm_op_t *));
    const char *t = wm_store_i64(now, p);
    const char *old = wm_store_i64(now - WM_STORE_RESEND_AFTER, p);
    apr_status_t rv;
    int rc, i;

    *pops = ops;
    rc = apr_dbd_pvselect(st->driver, p, st->handle, &res,
                          wm_store_stmt(st, "wm_op_claim"), 1, t, session_id,
                          device_id, session_id, old, wm_store_i64(limit, p),
                          session_id, old);
    if (rc) {
        return wm_store_db_error(st, rc, "wm_op_claim", p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        APR_ARRAY_PUSH(ids, apr_int64_t) =
            wm_store_to_i64(wm_store_entry(st, row, 0, p));
    }
    for (i = 0; i < ids->nelts; i++) {
        wm_op_t *op;
        if ((rv = wm_store_op_get(st, APR_ARRAY_IDX(ids, i, apr_int64_t), &op,
                                  p))) {
            return rv;
        }
        if (op) {
            APR_ARRAY_PUSH(ops, wm_op_t *) = op;
        }
    }
    /* RETURNING gives no order; the queue's order is creation order. */
    qsort(ops->elts, (size_t)ops->nelts, sizeof(wm_op_t *), by_id);
    return APR_SUCCESS;
}

apr_status_t wm_store_op_unclaim(wm_store_t *st, apr_int64_t id, apr_pool_t *p)
{
    return wm_store_run(st, "wm_op_unclaim", NULL, p, 1, wm_store_i64(id, p));
}

apr_status_t wm_store_op_get(wm_store_t *st, apr_int64_t id, wm_op_t **pop,
                             apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rc;

    *pop = NULL;
    rc = apr_dbd_pvselect(st->driver, p, st->handle, &res,
                          wm_store_stmt(st, "wm_op_get"), 1,
                          wm_store_i64(id, p));
    if (rc) {
        return wm_store_db_error(st, rc, "wm_op_get", p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        if (!*pop) {
            *pop = op_of(st, row, p);
        }
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_op_list(wm_store_t *st, const char *device_id,
                              apr_int64_t before, int limit,
                              apr_array_header_t **pops, apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *ops = apr_array_make(p, 16, sizeof(wm_op_t *));
    int rc;

    *pops = ops;
    rc = apr_dbd_pvselect(st->driver, p, st->handle, &res,
                          wm_store_stmt(st, "wm_op_list"), 1, device_id,
                          wm_store_i64(before > 0 ? before : APR_INT64_MAX, p),
                          wm_store_i64(limit, p));
    if (rc) {
        return wm_store_db_error(st, rc, "wm_op_list", p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        APR_ARRAY_PUSH(ops, wm_op_t *) = op_of(st, row, p);
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_op_update(wm_store_t *st, apr_int64_t id,
                                const char *state, int status,
                                const char *cmds_pending, apr_int64_t completed,
                                apr_pool_t *p)
{
    return wm_store_run(
        st, "wm_op_update", NULL, p, 5, state,
        status >= 0 ? wm_store_i64(status, p) : NULL, cmds_pending,
        completed ? wm_store_i64(completed, p) : NULL, wm_store_i64(id, p));
}

apr_status_t wm_store_op_find_uri(wm_store_t *st, const char *device_id,
                                  const char *uri, apr_int64_t *pid,
                                  apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rc;

    *pid = 0;
    rc = apr_dbd_pvselect(st->driver, p, st->handle, &res,
                          wm_store_stmt(st, "wm_op_find_uri"), 1, device_id,
                          wm_store_like(uri, 1, p));
    if (rc) {
        return wm_store_db_error(st, rc, "wm_op_find_uri", p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        if (!*pid) {
            *pid = wm_store_to_i64(wm_store_entry(st, row, 0, p));
        }
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_result_add(wm_store_t *st, apr_int64_t op_id,
                                 const char *uri, const char *data,
                                 apr_pool_t *p)
{
    const char *id = wm_store_i64(op_id, p);
    return wm_store_run(st, "wm_result_add", NULL, p, 5, id, id, uri, data,
                        wm_store_i64(data ? (apr_int64_t)strlen(data) : 0, p));
}

/* The first row's columns as integers (0 when NULL or absent). */
static apr_status_t ints_of(wm_store_t *st, const char *label,
                            apr_int64_t *out, int n, apr_pool_t *p, int nargs,
                            const char *a1, const char *a2, const char *a3)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rc, i, seen = 0;

    for (i = 0; i < n; i++) {
        out[i] = 0;
    }
    rc = nargs == 1
             ? apr_dbd_pvselect(st->driver, p, st->handle, &res,
                                wm_store_stmt(st, label), 1, a1)
             : apr_dbd_pvselect(st->driver, p, st->handle, &res,
                                wm_store_stmt(st, label), 1, a1, a2, a3);
    if (rc) {
        return wm_store_db_error(st, rc, label, p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        if (!seen++) {
            for (i = 0; i < n; i++) {
                out[i] = wm_store_to_i64(wm_store_entry(st, row, i, p));
            }
        }
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_result_usage(wm_store_t *st, apr_int64_t op_id,
                                   apr_int64_t *pcount, apr_int64_t *pbytes,
                                   apr_pool_t *p)
{
    apr_int64_t v[2];
    apr_status_t rv = ints_of(st, "wm_result_usage", v, 2, p, 1,
                              wm_store_i64(op_id, p), NULL, NULL);
    *pcount = v[0];
    *pbytes = v[1];
    return rv;
}

apr_status_t wm_store_partial_usage(wm_store_t *st, const char *device_id,
                                    const char *cmd_ref,
                                    wm_store_usage_t *u, apr_pool_t *p)
{
    apr_int64_t v[4];
    apr_status_t rv = ints_of(st, "wm_partial_usage", v, 4, p, 3, cmd_ref,
                              cmd_ref, device_id);
    u->device_chunks = v[0];
    u->device_bytes = v[1];
    u->cmd_chunks = v[2];
    u->cmd_bytes = v[3];
    return rv;
}

apr_status_t wm_store_partial_drop(wm_store_t *st, const char *device_id,
                                   const char *cmd_ref, apr_pool_t *p)
{
    return wm_store_run(st, "wm_partial_delete", NULL, p, 2, device_id,
                        cmd_ref);
}


apr_status_t wm_store_results(wm_store_t *st, apr_int64_t op_id,
                              apr_array_header_t **pitems, apr_pool_t *p)
{
    return wm_store_kv_list(st, "wm_result_list", pitems, p, wm_store_i64(op_id, p),
                   NULL);
}

apr_status_t wm_store_partial_add(wm_store_t *st, const char *device_id,
                                  const char *cmd_ref, const char *uri,
                                  const char *data, apr_int64_t now,
                                  apr_pool_t *p)
{
    return wm_store_run(st, "wm_partial_add", NULL, p, 8, device_id, cmd_ref,
                        device_id, cmd_ref, uri, data, wm_store_i64(now, p),
                        wm_store_i64(data ? (apr_int64_t)strlen(data) : 0, p));
}

apr_status_t wm_store_partial_take(wm_store_t *st, const char *device_id,
                                   const char *cmd_ref, const char **pdata,
                                   apr_pool_t *p)
{
    apr_array_header_t *chunks, *parts;
    apr_status_t rv;
    int i;

    *pdata = NULL;
    if ((rv = wm_store_kv_list(st, "wm_partial_list", &chunks, p, device_id, cmd_ref))) {
        return rv;
    }
    if (chunks->nelts == 0) {
        return APR_SUCCESS;
    }
    parts = apr_array_make(p, chunks->nelts, sizeof(const char *));
    for (i = 0; i < chunks->nelts; i++) {
        const char *d = APR_ARRAY_IDX(chunks, i, wm_kv_t).value;
        APR_ARRAY_PUSH(parts, const char *) = d ? d : "";
    }
    *pdata = apr_array_pstrcat(p, parts, 0);
    return wm_store_run(st, "wm_partial_delete", NULL, p, 2, device_id,
                        cmd_ref);
}
