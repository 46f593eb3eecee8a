/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Installs the core's log callback (wm_log.h) on the main server. */

#ifndef MOD_WINMDM_LOG_H
#define MOD_WINMDM_LOG_H

#include <httpd.h>

void wm_log_glue_init(server_rec *s);

#endif /* MOD_WINMDM_LOG_H */
