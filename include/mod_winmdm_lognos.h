/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Log message tags. mod_winmdm is third-party, so it does not take httpd's
 * AH numbers: every message at debug level or above carries its own
 * "WMnnnnn: " tag, used once and never reused. The core (src/wm_*.c)
 * writes the same form with WM_LOGNO from wm_log.h. The list of numbers in use
 * is kept by grepping for WMLOGNO; the next free number is noted here.
 * Numbers 00013, 00015 and 00016 were used once and are retired.
 * Next: 00048 */

#ifndef MOD_WINMDM_LOGNOS_H
#define MOD_WINMDM_LOGNOS_H

#define WMLOGNO(n) "WM" #n ": "

#endif /* MOD_WINMDM_LOGNOS_H */
