/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* mod_winmdm: a Windows MDM server inside httpd. This file is the httpd
 * entry point: the module struct, the directive table's home, and the hook
 * registrations. The protocol core lives in src/wm_*.c (no httpd headers);
 * the glue in src/mod_winmdm_*.c. */

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_core.h>

#include "wm_xml.h"
#include "mod_winmdm_auth.h"
#include "mod_winmdm_config.h"
#include "mod_winmdm_dbd.h"
#include "mod_winmdm_log.h"
#include "mod_winmdm_lognos.h"
#include "mod_winmdm_routes.h"

#define WM_VERSION "0.1.0"

static void register_hooks(apr_pool_t *p);

AP_DECLARE_MODULE(winmdm) = {
    STANDARD20_MODULE_STUFF,
    NULL,                 /* per-directory config: none, all is per vhost */
    NULL,                 /* merge per-directory */
    wm_config_create_srv, /* per-vhost config */
    wm_config_merge_srv,  /* merge per-vhost */
    wm_config_cmds,       /* directives */
    register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_ALWAYS_MERGE /* every vhost gets a merged config */
#endif
};

static int wm_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)pconf, (void)plog, (void)ptemp;
    wm_dbd_pre_config();
    wm_auth_pre_config();
    return OK;
}

static int wm_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    int rv;
    (void)plog, (void)ptemp;
    wm_log_glue_init(s);
    if ((rv = wm_config_check(pconf, s)) != OK) {
        return rv;
    }
    return wm_dbd_check(s);
}

static int wm_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    (void)pconf, (void)plog, (void)ptemp;
    wm_log_glue_init(s);
    wm_xml_init();
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     WMLOGNO(00017) "mod_winmdm (v%s) initialized", WM_VERSION);
    }
    return OK;
}

static void wm_child_init(apr_pool_t *pchild, server_rec *s)
{
    wm_dbd_child_init(pchild, s);
}

static void register_hooks(apr_pool_t *p)
{
    /* mod_dbd creates its connection pools in its own child_init. */
    static const char *const after_dbd[] = {"mod_dbd.c", NULL};
    (void)p;

    /* pre_config: mod_dbd's optional functions exist once every module
     * has registered its hooks. */
    ap_hook_pre_config(wm_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* check_config runs before "Syntax OK", so apachectl -t reports a
     * missing directive or a bad CA; httpd is still root there, which lets
     * the CA key file be root-only. */
    ap_hook_check_config(wm_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(wm_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    /* child_init after mod_dbd: the connection pool must exist. */
    ap_hook_child_init(wm_child_init, after_dbd, NULL, APR_HOOK_MIDDLE);
    /* The handler matches the route table itself (no SetHandler needed). */
    ap_hook_handler(wm_route_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
