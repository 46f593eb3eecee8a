/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Profiles checked and compiled (wm_profile.h): the apply body is an Atomic
 * of every command followed by a Get of every node, numbered like any
 * operation; verify is the Get alone; remove deletes the Policy CSP nodes
 * only; the nodes read back are compared value by value. */

#include <stdarg.h>
#include <string.h>

#include <apr_strings.h>

#include "wm_ops.h"
#include "wm_profile.h"
#include "wm_store.h"
#include "wm_syncml.h"
#include "unit.h"

#define MAX 65536

static apr_array_header_t *settings(int n, ...)
{
    apr_array_header_t *s =
        apr_array_make(wm_test_pool, 4, sizeof(wm_policy_setting_t));
    va_list ap;
    int i;

    va_start(ap, n);
    for (i = 0; i < n; i++) {
        wm_policy_setting_t *set = apr_array_push(s);
        set->path = va_arg(ap, const char *);
        set->value = va_arg(ap, const char *);
        set->format = va_arg(ap, const char *);
    }
    va_end(ap);
    return s;
}

static apr_array_header_t *cmds_of(const char *body)
{
    apr_array_header_t *cmds;
    const char *err = NULL;
    ck_assert_msg(wm_syncml_parse_commands(&cmds, body, MAX, &err,
                                           wm_test_pool) == APR_SUCCESS,
                  "%s: %s", body, err ? err : "?");
    return cmds;
}

static wm_sml_cmd_t *cmd(const apr_array_header_t *cmds, int i)
{
    ck_assert_int_gt(cmds->nelts, i);
    return APR_ARRAY_IDX(cmds, i, wm_sml_cmd_t *);
}

static const char *target(const wm_sml_cmd_t *c, int i)
{
    ck_assert_int_gt(c->items->nelts, i);
    return APR_ARRAY_IDX(c->items, i, wm_sml_item_t *)->target;
}

START_TEST(profile_compiles_settings_and_raw_commands)
{
    wm_profile_def_t def;
    wm_profile_compiled_t *c;
    apr_array_header_t *cmds, *nodes, *results;
    const char *err = NULL;
    wm_kv_t *kv;

    def.settings = settings(2, "DeviceLock/MinDevicePasswordLength", "6", NULL,
                            "Update/Branch", "123", "chr");
    def.syncml = "<Replace><CmdID>9</CmdID><Item><Target><LocURI>"
                 "./Vendor/MSFT/DMClient/Provider/mod_winmdm/EntDeviceName"
                 "</LocURI></Target><Data>PC-1</Data></Item></Replace>";
    ck_assert_msg(wm_profile_compile(&def, MAX, &c, &err, wm_test_pool) ==
                      APR_SUCCESS,
                  "%s", err ? err : "?");

    /* apply: the Atomic (#1) of three commands, then the Get (#2) */
    cmds = cmds_of(c->apply);
    ck_assert_int_eq(cmds->nelts, WM_PROFILE_APPLY_COMMANDS);
    ck_assert_str_eq(cmd(cmds, 0)->name, "Atomic");
    ck_assert_str_eq(cmd(cmds, 0)->cmd_id, "#1");
    ck_assert_int_eq(cmd(cmds, 0)->children->nelts, 3);
    ck_assert_str_eq(cmd(cmd(cmds, 0)->children, 0)->cmd_id, "#3");
    ck_assert_str_eq(cmd(cmd(cmds, 0)->children, 2)->cmd_id, "#5");
    ck_assert_str_eq(cmd(cmds, 1)->name, "Get");
    ck_assert_str_eq(cmd(cmds, 1)->cmd_id, "#2");
    ck_assert_int_eq(cmd(cmds, 1)->items->nelts, 3);
    ck_assert_str_eq(target(cmd(cmds, 1), 0),
                     "./Device/Vendor/MSFT/Policy/Config/DeviceLock/"
                     "MinDevicePasswordLength");
    ck_assert_str_eq(
        APR_ARRAY_IDX(cmd(cmd(cmds, 0)->children, 1)->items, 0,
                      wm_sml_item_t *)->meta_format,
        "chr");

    /* verify: the Get alone */
    cmds = cmds_of(c->verify);
    ck_assert_int_eq(cmds->nelts, 1);
    ck_assert_str_eq(cmd(cmds, 0)->name, "Get");
    ck_assert_int_eq(cmd(cmds, 0)->items->nelts, 3);

    /* remove: the Policy CSP nodes only */
    cmds = cmds_of(c->remove);
    ck_assert_int_eq(cmds->nelts, 1);
    ck_assert_str_eq(cmd(cmds, 0)->name, "Delete");
    ck_assert_int_eq(cmd(cmds, 0)->items->nelts, 2);
    ck_assert_str_eq(target(cmd(cmds, 0), 1),
                     "./Device/Vendor/MSFT/Policy/Config/Update/Branch");

    /* the values read back */
    ck_assert_int_eq(wm_profile_nodes(c->nodes, &nodes, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(nodes->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(nodes, 2, wm_kv_t).value, "PC-1");
    results = apr_array_make(wm_test_pool, 3, sizeof(wm_kv_t));
    kv = apr_array_push(results);
    kv->key = APR_ARRAY_IDX(nodes, 0, wm_kv_t).key;
    kv->value = "6";
    kv = apr_array_push(results);
    kv->key = APR_ARRAY_IDX(nodes, 1, wm_kv_t).key;
    kv->value = "123";
    ck_assert_str_eq(wm_profile_diff(nodes, results, wm_test_pool),
                     "./Vendor/MSFT/DMClient/Provider/mod_winmdm/EntDeviceName:"
                     " not reported");
    kv = apr_array_push(results);
    kv->key = APR_ARRAY_IDX(nodes, 2, wm_kv_t).key;
    kv->value = "PC-1";
    ck_assert_ptr_null(wm_profile_diff(nodes, results, wm_test_pool));
    APR_ARRAY_IDX(results, 0, wm_kv_t).value = "4";
    ck_assert_str_eq(wm_profile_diff(nodes, results, wm_test_pool),
                     "./Device/Vendor/MSFT/Policy/Config/DeviceLock/"
                     "MinDevicePasswordLength: expected 6, the device has 4");

    /* no Policy CSP node: nothing to delete on removal */
    def.settings = NULL;
    ck_assert_int_eq(wm_profile_compile(&def, MAX, &c, &err, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(c->remove);
}
END_TEST

START_TEST(profile_refuses_what_it_cannot_own)
{
    static const char *const bad[] = {
        /* no Exec, no Delete, no Get */
        "<Exec><CmdID>1</CmdID><Item><Target><LocURI>./Device/Vendor/MSFT/"
        "Reboot/RebootNow</LocURI></Target><Data></Data></Item></Exec>",
        "<Delete><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/MSFT/A"
        "</LocURI></Target></Item></Delete>",
        "<Get><CmdID>1</CmdID><Item><Target><LocURI>./DevInfo/Man</LocURI>"
        "</Target></Item></Get>",
        /* LocURIs */
        "<Replace><CmdID>1</CmdID><Item><Target><LocURI>Vendor/MSFT/A"
        "</LocURI></Target><Data>1</Data></Item></Replace>",
        "<Replace><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/../A"
        "</LocURI></Target><Data>1</Data></Item></Replace>",
        "<Replace><CmdID>1</CmdID><Item><Target><LocURI>./Vendor//A"
        "</LocURI></Target><Data>1</Data></Item></Replace>",
        /* no Data */
        "<Add><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/MSFT/A"
        "</LocURI></Target></Item></Add>",
        /* one node twice */
        "<Add><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/MSFT/A"
        "</LocURI></Target><Data>1</Data></Item></Add><Replace><CmdID>2"
        "</CmdID><Item><Target><LocURI>./Vendor/MSFT/A</LocURI></Target>"
        "<Data>2</Data></Item></Replace>",
        /* malformed */
        "<Replace><CmdID>1</CmdID><Item>",
        NULL};
    wm_profile_def_t def;
    wm_profile_compiled_t *c;
    const char *err;
    int i;

    def.settings = NULL;
    for (i = 0; bad[i]; i++) {
        def.syncml = bad[i];
        err = NULL;
        ck_assert_msg(wm_profile_compile(&def, MAX, &c, &err, wm_test_pool) ==
                          APR_EINVAL,
                      "accepted %s", bad[i]);
        ck_assert_ptr_nonnull(err);
    }
    /* nothing at all */
    def.syncml = NULL;
    ck_assert_int_eq(wm_profile_compile(&def, MAX, &c, &err, wm_test_pool),
                     APR_EINVAL);
    /* a bad setting; a setting and a raw command on one node */
    def.settings = settings(1, "DeviceLock", "6", NULL);
    ck_assert_int_eq(wm_profile_compile(&def, MAX, &c, &err, wm_test_pool),
                     APR_EINVAL);
    def.settings = settings(1, "A/B", "x", "int");
    ck_assert_int_eq(wm_profile_compile(&def, MAX, &c, &err, wm_test_pool),
                     APR_EINVAL);
    def.settings = settings(1, "A/B", "1", NULL);
    def.syncml = "<Replace><CmdID>1</CmdID><Item><Target><LocURI>"
                 "./Device/Vendor/MSFT/Policy/Config/A/B</LocURI></Target>"
                 "<Data>2</Data></Item></Replace>";
    ck_assert_int_eq(wm_profile_compile(&def, MAX, &c, &err, wm_test_pool),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "twice"));
}
END_TEST

Suite *wm_test_profile_suite(void)
{
    Suite *s = suite_create("profile");
    TCase *tc = tcase_create("compile");

    wm_test_pool_fixture(tc);
    tcase_add_test(tc, profile_compiles_settings_and_raw_commands);
    tcase_add_test(tc, profile_refuses_what_it_cannot_own);
    suite_add_tcase(s, tc);
    return s;
}
