/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The core's logging switch: one process-wide callback, set by the glue. */

#include <stdarg.h>

#include <apr_strings.h>

#include "wm_log.h"

static wm_log_print_cb *log_cb;

void wm_log_set(wm_log_print_cb *cb)
{
    log_cb = cb;
}

void wm_log(int level, apr_status_t rv, apr_pool_t *p, const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    if (!log_cb) {
        return;
    }
    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    log_cb(level, rv, msg, p);
}
