/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Logging for the protocol core. The core never includes httpd headers, so
 * it logs through a callback that the glue installs at startup (it maps
 * levels onto ap_log_error); unit tests and fuzzers leave it unset. */

#ifndef WM_LOG_H
#define WM_LOG_H

#include <apr_pools.h>

/* Levels, numerically equal to httpd's APLOG_* so the glue passes them on. */
#define WM_LOG_ERR 3
#define WM_LOG_WARNING 4
#define WM_LOG_NOTICE 5
#define WM_LOG_INFO 6
#define WM_LOG_DEBUG 7
#define WM_LOG_TRACE1 8

/* Every core message at debug level or above carries its own tag, from
 * the same number space as the glue's (include/mod_winmdm_lognos.h). */
#define WM_LOGNO(n) "WM" #n ": "

/** Receives one core log line: level, apr status (0 if none), the text. */
typedef void wm_log_print_cb(int level, apr_status_t rv, const char *msg,
                             apr_pool_t *p);

/** Installs the callback; NULL silences the core. Call once at startup. */
void wm_log_set(wm_log_print_cb *cb);

/** Logs a printf-style line at level; formatted in pool p. */
void wm_log(int level, apr_status_t rv, apr_pool_t *p, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* WM_LOG_H */
