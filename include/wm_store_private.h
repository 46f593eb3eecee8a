/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Helpers shared by the store's source files (src/wm_store*.c) and by no
 * one else: statement lookup, error capture, value conversion. */

#ifndef WM_STORE_PRIVATE_H
#define WM_STORE_PRIVATE_H

#include <apr_dbd.h>

#include "wm_store.h"

/** Records the database's message for rc as st->err; returns APR_EGENERAL. */
/** A prepared statement: its label in the connection's hash, its SQL. */
typedef struct wm_store_sql_t {
    const char *label;
    const char *sql;
} wm_store_sql_t;

/* The profile store's statements (wm_store_profile.c). */
extern const wm_store_sql_t wm_store_profile_sql[];
extern const size_t wm_store_profile_sql_count;

apr_status_t wm_store_db_error(wm_store_t *st, int rc, const char *what,
                               apr_pool_t *p);

/** Runs SQL that may return rows, draining them; the first column of the
 *  first row goes to *pfirst when pfirst is not NULL. */
apr_status_t wm_store_select(wm_store_t *st, const char *sql,
                             const char **pfirst, apr_pool_t *p);

/** Runs SQL that returns no rows. */
apr_status_t wm_store_exec(wm_store_t *st, const char *sql, apr_pool_t *p);

/** The prepared statement of a label of the statement table. */
apr_dbd_prepared_t *wm_store_stmt(wm_store_t *st, const char *label);

/** An integer as a statement argument. */
const char *wm_store_i64(apr_int64_t v, apr_pool_t *p);

/** A column value as an integer (0 for NULL). */
apr_int64_t wm_store_to_i64(const char *s);

/** A column value copied into p, NULL for SQL NULL. */
const char *wm_store_entry(wm_store_t *st, apr_dbd_row_t *row, int col,
                           apr_pool_t *p);

/** Runs a select of two columns with one or two string arguments (a2
 *  may be NULL when the statement takes one), as wm_kv_t rows. */
apr_status_t wm_store_kv_list(wm_store_t *st, const char *label,
                              apr_array_header_t **pitems, apr_pool_t *p,
                              const char *a1, const char *a2);

/** Runs a prepared statement that changes rows with nargs string
 *  arguments (NULL for SQL NULL); *pnrows may be NULL. */
apr_status_t wm_store_run(wm_store_t *st, const char *label, int *pnrows,
                          apr_pool_t *p, int nargs, ...);

/**
 * Runs a prepared statement that returns rows (a SELECT, or a write with
 * RETURNING) with nargs string arguments (NULL is SQL NULL).
 * @param ncols  the columns read from each row
 * @param prows  const char ** rows of ncols values (NULL for SQL NULL),
 *               in the order the database gave them
 */
apr_status_t wm_store_rows(wm_store_t *st, const char *label, int ncols,
                           apr_array_header_t **prows, apr_pool_t *p,
                           int nargs, ...);

/** A LIKE pattern (ESCAPE '!') for text as a prefix, or anywhere. */
const char *wm_store_like(const char *text, int anywhere, apr_pool_t *p);

#endif /* WM_STORE_PRIVATE_H */
