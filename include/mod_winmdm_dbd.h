/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Storage glue: hands the core store (wm_store.h) the connection mod_dbd
 * gives. */

#ifndef MOD_WINMDM_DBD_H
#define MOD_WINMDM_DBD_H

#include <httpd.h>

struct wm_store_t;

/** Fetches mod_dbd's optional functions (pre_config). */
void wm_dbd_pre_config(void);

/** Refuses startup when a WinMDM On vhost exists but mod_dbd is not loaded
 *  (check_config); returns OK or an HTTP error after logging. */
int wm_dbd_check(server_rec *s);

/** Opens each WinMDM On vhost's database once in a new child, so the
 *  schema is created or migrated and expired rows purged before the first
 *  request, as the user the child runs as (child_init). */
void wm_dbd_child_init(apr_pool_t *pchild, server_rec *s);

/**
 * The store for this request on its vhost's mod_dbd connection (released
 * with r->pool; never closed by the caller).
 * @return APR_SUCCESS, or an error after logging (no connection, or the
 *         connection could not be set up)
 */
apr_status_t wm_dbd_store(request_rec *r, struct wm_store_t **pst);

#endif /* MOD_WINMDM_DBD_H */
