/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Routes the core's log lines (wm_log.h) into httpd's error log. */

#include <httpd.h>
#include <http_log.h>

#include "wm_log.h"
#include "mod_winmdm_log.h"
#include "mod_winmdm_private.h"

static server_rec *log_server;

static void log_print(int level, apr_status_t rv, const char *msg,
                      apr_pool_t *p)
{
    (void)p;
    /* The core's messages carry their own WM_LOGNO tags. */
    ap_log_error(APLOG_MARK, level, rv, log_server, "%s", msg);
}

void wm_log_glue_init(server_rec *s)
{
    log_server = s;
    wm_log_set(log_print);
}
