/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The device-facing paths the module advertises to devices (discovery
 * response, provisioning document). The route table in
 * src/mod_winmdm_routes.c serves them, with their MDM endpoint aliases;
 * both read these names so an advertised URL always has a route. */

#ifndef WM_PATHS_H
#define WM_PATHS_H

#define WM_PATH_DISCOVERY "/EnrollmentServer/Discovery.svc"
#define WM_PATH_LOGIN "/emm/enrollments/windows/login-agent"
#define WM_PATH_XCEP "/ENROLLMENTSERVER/PolicyEnrollmentWebservice.svc"
#define WM_PATH_WSTEP81 "/ENROLLMENTSERVER/DeviceEnrollmentWebservice.svc"
#define WM_PATH_WSTEP10 "/ENROLLMENTSERVER/Win10DeviceEnrollmentWebservice.svc"
#define WM_PATH_SYNCML81 "/syncml/initialquery"
#define WM_PATH_SYNCML10 "/devicemgt"

#endif /* WM_PATHS_H */
