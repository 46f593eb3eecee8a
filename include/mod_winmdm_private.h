/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Shared by every glue file except mod_winmdm.c (whose AP_DECLARE_MODULE
 * already expands APLOG_USE_MODULE): the module symbol and the log tags. */

#ifndef MOD_WINMDM_PRIVATE_H
#define MOD_WINMDM_PRIVATE_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

extern module AP_MODULE_DECLARE_DATA winmdm_module;

APLOG_USE_MODULE(winmdm);

#include "mod_winmdm_lognos.h"

#endif /* MOD_WINMDM_PRIVATE_H */
