/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* mod_dbd glue. The module does not register statements with
 * ap_dbd_prepare: mod_dbd prepares those as soon as a connection opens and
 * drops the connection when one fails, which on a fresh database (no
 * tables yet) would be all of them. wm_store_attach instead sets each
 * connection up on its first use (schema, PRAGMAs, statements into the
 * connection's own prepared hash); child_init makes that first use happen
 * before any request. */

#include <apr_dbd.h>
#include <apr_optional.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <mod_dbd.h>

#include "wm_store.h"
#include "mod_winmdm_config.h"
#include "mod_winmdm_dbd.h"
#include "mod_winmdm_private.h"

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) * dbd_acquire;
static APR_OPTIONAL_FN_TYPE(ap_dbd_open) * dbd_open;
static APR_OPTIONAL_FN_TYPE(ap_dbd_close) * dbd_close;

void wm_dbd_pre_config(void)
{
    dbd_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    dbd_open = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_open);
    dbd_close = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_close);
}

int wm_dbd_check(server_rec *s)
{
    for (; s; s = s->next) {
        if (wm_conf_enabled(wm_config_get(s)) &&
            (!dbd_acquire || !dbd_open || !dbd_close)) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, s,
                         WMLOGNO(00010) "WinMDM On needs mod_dbd: load it "
                                        "and set DBDriver and DBDParams");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

void wm_dbd_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_pool_t *p;
    wm_store_t *st;
    ap_dbd_t *dbd;
    int purged = 0;

    if (wm_store_child_init(pchild) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, WMLOGNO(00042)
                     "cannot create the SQLite write lock");
    }
    if (!dbd_open) {
        return;
    }
    for (; s; s = s->next) {
        if (!wm_conf_enabled(wm_config_get(s))) {
            continue;
        }
        if (!(dbd = dbd_open(pchild, s))) {
            ap_log_error(
                APLOG_MARK, APLOG_ERR, 0, s,
                WMLOGNO(00011) "cannot open the database (check DBDriver, "
                               "DBDParams and that httpd's user can write the "
                               "database folder)");
            continue;
        }
        apr_pool_create(&p, pchild);
        if (wm_store_attach(&st, dbd->driver, dbd->handle, dbd->prepared,
                            dbd->pool, p) == APR_SUCCESS) {
            wm_store_purge(st, apr_time_sec(apr_time_now()), &purged, p);
            ap_log_error(
                APLOG_MARK, APLOG_DEBUG, 0, s,
                WMLOGNO(00012) "database ready (schema version %d, %d expired "
                               "rows purged)",
                WM_STORE_SCHEMA_VERSION, purged);
        }
        /* else wm_store_attach logged why */
        apr_pool_destroy(p);
        dbd_close(s, dbd);
    }
}

apr_status_t wm_dbd_store(request_rec *r, wm_store_t **pst)
{
    ap_dbd_t *dbd;
    *pst = NULL;
    if (!dbd_acquire || !(dbd = dbd_acquire(r))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      WMLOGNO(00014) "no database connection from mod_dbd");
        return APR_EGENERAL;
    }
    /* wm_store_attach logs why it failed. */
    return wm_store_attach(pst, dbd->driver, dbd->handle, dbd->prepared,
                           dbd->pool, r->pool);
}
