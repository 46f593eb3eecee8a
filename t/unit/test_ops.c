/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The operation catalog (wm_ops.h) and the OMA-DM MD5 digest (wm_digest.h)
 * below the session logic: every queueable type builds commands the SyncML
 * parser accepts, raw SyncML gets placeholder CmdIDs (top level first, then
 * nested commands), POLICY becomes an Atomic of Replaces, placeholders are
 * rendered into "<op id>" or "<op id>.<n>" and CmdRefs read back; the
 * digest is checked against a vector computed here with OpenSSL alone. */

#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <openssl/evp.h>

#include "wm_digest.h"
#include "wm_ops.h"
#include "wm_store.h"
#include "wm_syncml.h"
#include "unit.h"

#define MAX_BODY 65536
#define GET_MAN                                                                \
    "<Get><Item><Target><LocURI>./DevInfo/Man</LocURI></Target></Item></Get>"
#define REPLACE_LANG                                                           \
    "<Replace><Item><Target><LocURI>./DevInfo/Lang</LocURI></Target>"          \
    "<Data>en-US</Data></Item></Replace>"

/* ---------------------------------------------------------- helpers */

static apr_status_t build(const char *type, const wm_op_params_t *params,
                          const char **pbody, int *pcount, const char **perr)
{
    *pbody = NULL;
    *pcount = -1;
    *perr = NULL;
    return wm_ops_build(type, params, MAX_BODY, pbody, pcount, perr,
                        wm_test_pool);
}

static apr_status_t build_syncml(const char *xml, const char **pbody,
                                 int *pcount, const char **perr)
{
    wm_op_params_t params;

    memset(&params, 0, sizeof(params));
    params.syncml = xml;
    return build("SYNCML", &params, pbody, pcount, perr);
}

/* The commands of a built body, as the SyncML parser reads them. */
static apr_array_header_t *commands_of(const char *body)
{
    apr_array_header_t *cmds = NULL;
    const char *err = NULL;

    ck_assert_msg(wm_syncml_parse_commands(&cmds, body, MAX_BODY, &err,
                                           wm_test_pool) == APR_SUCCESS,
                  "body does not parse: %s: %s", err ? err : "?", body);
    return cmds;
}

static wm_sml_cmd_t *cmd_at(const apr_array_header_t *cmds, int i)
{
    ck_assert_int_gt(cmds->nelts, i);
    return APR_ARRAY_IDX(cmds, i, wm_sml_cmd_t *);
}

static void add_setting_f(apr_array_header_t *s, const char *path,
                          const char *value, const char *format)
{
    wm_policy_setting_t *set = apr_array_push(s);

    set->path = path;
    set->value = value;
    set->format = format;
}

static void add_setting(apr_array_header_t *s, const char *path,
                        const char *value)
{
    add_setting_f(s, path, value, NULL);
}

static apr_array_header_t *settings_of(const char *path, const char *value)
{
    apr_array_header_t *s =
        apr_array_make(wm_test_pool, 2, sizeof(wm_policy_setting_t));

    add_setting(s, path, value);
    return s;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    const char *at = hay;

    while ((at = strstr(at, needle))) {
        n++;
        at += strlen(needle);
    }
    return n;
}

/* --------------------------------------------------------- catalog */

START_TEST(every_type_builds_queueable_commands)
{
    wm_op_params_t params;
    const char *body, *err, *sent;
    int i, j, count;

    memset(&params, 0, sizeof(params));
    params.provider_id = "mod_winmdm";
    params.poll_minutes = 15;
    params.syncml = GET_MAN;
    params.settings = settings_of("DeviceLock/MinDevicePasswordLength", "6");
    params.product_id = "{12345678-ABCD-1234-ABCD-1234567890AB}";
    params.version = "1.2.3";
    params.url = "https://files.example.test/app.msi";
    params.sha256 =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    for (i = 0; wm_ops_types[i]; i++) {
        ck_assert_msg(build(wm_ops_types[i], &params, &body, &count, &err) ==
                          APR_SUCCESS,
                      "%s: %s", wm_ops_types[i], err ? err : "?");
        ck_assert_ptr_nonnull(body);
        ck_assert_int_ge(count, 1);
        ck_assert_msg(strstr(body, "<CmdID>#1</CmdID>") != NULL,
                      "%s has no placeholder #1: %s", wm_ops_types[i], body);
        /* cmd_count is the number of top-level commands. */
        ck_assert_int_eq(commands_of(body)->nelts, count);
        sent = wm_ops_render(body, 7, wm_test_pool);
        ck_assert_msg(strstr(sent, "<CmdID>#") == NULL, "%s: %s",
                      wm_ops_types[i], sent);
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(wm_ops_types[i], wm_ops_types[j]);
        }
    }
    /* The ten types of the admin API at least. */
    ck_assert_int_ge(i, 10);
    ck_assert_int_eq(build("POLL", &params, &body, &count, &err), APR_SUCCESS);
    ck_assert_int_eq(commands_of(body)->nelts, 1);
    ck_assert_int_eq(build("FORMAT_C", &params, &body, &count, &err),
                     APR_ENOTIMPL);
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(types_name_their_csp_nodes)
{
    wm_op_params_t params;
    const char *body, *err;
    apr_array_header_t *cmds;
    wm_sml_cmd_t *c;
    wm_sml_item_t *it;
    int count;

    memset(&params, 0, sizeof(params));
    params.provider_id = "mod_winmdm";
    params.poll_minutes = 30;

    ck_assert_int_eq(build("DEVICE_INFO", &params, &body, &count, &err),
                     APR_SUCCESS);
    c = cmd_at(commands_of(body), 0);
    ck_assert_str_eq(c->name, "Get");
    ck_assert_int_ge(c->items->nelts, 10);
    it = APR_ARRAY_IDX(c->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->target, "./DevInfo/DevId");

    ck_assert_int_eq(build("LOCK", &params, &body, &count, &err), APR_SUCCESS);
    c = cmd_at(commands_of(body), 0);
    ck_assert_str_eq(c->name, "Exec");
    it = APR_ARRAY_IDX(c->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->target, "./Vendor/MSFT/RemoteLock/Lock");

    ck_assert_int_eq(build("DISENROLL", &params, &body, &count, &err),
                     APR_SUCCESS);
    c = cmd_at(commands_of(body), 0);
    ck_assert_str_eq(c->name, "Exec");
    it = APR_ARRAY_IDX(c->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->target,
                     "./Vendor/MSFT/DMClient/Provider/mod_winmdm/Unenroll");
    ck_assert_str_eq(it->meta_format, "chr");
    ck_assert_str_eq(it->data, "mod_winmdm");

    ck_assert_int_eq(build("POLL", &params, &body, &count, &err), APR_SUCCESS);
    cmds = commands_of(body);
    c = cmd_at(cmds, 0);
    ck_assert_str_eq(c->name, "Replace");
    /* The schedule of the provisioning document, every node of it. */
    ck_assert_int_eq(c->items->nelts, 6);
    it = APR_ARRAY_IDX(c->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->target, "./Vendor/MSFT/DMClient/Provider/mod_winmdm/"
                                 "Poll/NumberOfFirstRetries");
    ck_assert_str_eq(it->meta_format, "int");
    ck_assert_str_eq(it->data, "5");
    it = APR_ARRAY_IDX(c->items, 4, wm_sml_item_t *);
    ck_assert_str_eq(it->target, "./Vendor/MSFT/DMClient/Provider/mod_winmdm/"
                                 "Poll/NumberOfRemainingScheduledRetries");
    ck_assert_str_eq(it->data, "0");
    it = APR_ARRAY_IDX(c->items, 5, wm_sml_item_t *);
    ck_assert_str_eq(it->target, "./Vendor/MSFT/DMClient/Provider/mod_winmdm/"
                                 "Poll/IntervalForRemainingScheduledRetries");
    ck_assert_str_eq(it->meta_format, "int");
    ck_assert_str_eq(it->data, "30");
}
END_TEST

/* ----------------------------------------------------------- SYNCML */

START_TEST(syncml_gets_placeholders_in_order)
{
    const char *body, *err;
    apr_array_header_t *cmds;
    int count;

    ck_assert_int_eq(build_syncml(GET_MAN REPLACE_LANG, &body, &count, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(count, 2);
    cmds = commands_of(body);
    ck_assert_int_eq(cmds->nelts, 2);
    ck_assert_str_eq(cmd_at(cmds, 0)->name, "Get");
    ck_assert_str_eq(cmd_at(cmds, 0)->cmd_id, "#1");
    ck_assert_str_eq(cmd_at(cmds, 1)->name, "Replace");
    ck_assert_str_eq(cmd_at(cmds, 1)->cmd_id, "#2");
    /* The rest goes out as written. */
    ck_assert_str_eq(
        APR_ARRAY_IDX(cmd_at(cmds, 1)->items, 0, wm_sml_item_t *)->data,
        "en-US");

    /* An administrator's own CmdID is replaced, never kept. */
    ck_assert_int_eq(
        build_syncml("<Get><CmdID>9</CmdID><Item><Target><LocURI>./DevInfo/Mod"
                     "</LocURI></Target></Item></Get>",
                     &body, &count, &err),
        APR_SUCCESS);
    ck_assert_int_eq(count, 1);
    ck_assert_str_eq(cmd_at(commands_of(body), 0)->cmd_id, "#1");
    ck_assert_int_eq(count_of(body, "<CmdID>"), 1);
}
END_TEST

START_TEST(syncml_numbers_nested_commands_after_top_level)
{
    const char *body, *err;
    apr_array_header_t *cmds, *kids;
    wm_sml_cmd_t *seq;
    int count;

    ck_assert_int_eq(
        build_syncml(GET_MAN "<Atomic>" REPLACE_LANG REPLACE_LANG "</Atomic>"
                             "<Sequence>" REPLACE_LANG "<Atomic>" REPLACE_LANG
                             "</Atomic></Sequence>",
                     &body, &count, &err),
        APR_SUCCESS);
    /* Three top-level commands: Get, Atomic, Sequence. */
    ck_assert_int_eq(count, 3);
    cmds = commands_of(body);
    ck_assert_int_eq(cmds->nelts, 3);
    ck_assert_str_eq(cmd_at(cmds, 0)->cmd_id, "#1");
    ck_assert_str_eq(cmd_at(cmds, 1)->cmd_id, "#2");
    ck_assert_str_eq(cmd_at(cmds, 2)->cmd_id, "#3");
    kids = cmd_at(cmds, 1)->children;
    ck_assert_int_eq(kids->nelts, 2);
    ck_assert_str_eq(cmd_at(kids, 0)->cmd_id, "#4");
    ck_assert_str_eq(cmd_at(kids, 1)->cmd_id, "#5");
    seq = cmd_at(cmds, 2);
    kids = seq->children;
    ck_assert_int_eq(kids->nelts, 2);
    ck_assert_str_eq(cmd_at(kids, 0)->cmd_id, "#6");
    ck_assert_str_eq(cmd_at(kids, 1)->name, "Atomic");
    ck_assert_str_eq(cmd_at(kids, 1)->cmd_id, "#7");
    ck_assert_str_eq(cmd_at(cmd_at(kids, 1)->children, 0)->cmd_id, "#8");
    /* Every command has exactly one CmdID. */
    ck_assert_int_eq(count_of(body, "<CmdID>"), 8);
}
END_TEST

START_TEST(syncml_refuses_what_cannot_be_queued)
{
    static const char *const bad[] = {
        "<Status><CmdID>1</CmdID><MsgRef>1</MsgRef><CmdRef>0</CmdRef>"
        "<Cmd>SyncHdr</Cmd><Data>200</Data></Status>",
        "<Results><CmdRef>1</CmdRef><Item><Source><LocURI>./a</LocURI>"
        "</Source><Data>x</Data></Item></Results>",
        /* Well-formed, with a Target, but not a command a server sends. */
        "<Status><CmdRef>1</CmdRef><Item><Target><LocURI>./a</LocURI>"
        "</Target></Item><Data>200</Data></Status>",
        "<Results><CmdRef>1</CmdRef><Item><Target><LocURI>./a</LocURI>"
        "</Target><Data>x</Data></Item></Results>",
        "<Alert><Data>1226</Data><Item><Target><LocURI>./a</LocURI>"
        "</Target></Item></Alert>",
        "<Foo><Item><Target><LocURI>./a</LocURI></Target></Item></Foo>",
        GET_MAN "<Atomic><Results><Item><Target><LocURI>./a</LocURI>"
                "</Target></Item></Results></Atomic>",
        GET_MAN "<Final/>", "<Get></Get>",
        "<Get><Item><Data>x</Data></Item></Get>",
        "<Get><Item><Target><LocURI></LocURI></Target></Item></Get>",
        GET_MAN "<Get><Item><Source><LocURI>./a</LocURI></Source></Item>"
                "</Get>",
        "<Atomic></Atomic>",
        "<Atomic><Status><Data>200</Data></Status></Atomic>",
        "<Get><Item><Target><LocURI>./a</LocURI></Target></Item>",
        "<Get><Item>", "not xml at all",
        "<!DOCTYPE x [<!ENTITY e \"e\">]>" GET_MAN, "", NULL};
    const char *body, *err;
    int i, count;

    for (i = 0; bad[i]; i++) {
        ck_assert_msg(build_syncml(bad[i], &body, &count, &err) == APR_EINVAL,
                      "accepted: %s", bad[i]);
        ck_assert_msg(err != NULL && *err, "no reason for %s", bad[i]);
    }
    ck_assert_int_eq(build_syncml(NULL, &body, &count, &err), APR_EINVAL);
}
END_TEST

START_TEST(syncml_refuses_a_body_over_max)
{
    wm_op_params_t params;
    const char *body, *err;
    int count;

    memset(&params, 0, sizeof(params));
    params.syncml = GET_MAN;
    ck_assert_int_eq(wm_ops_build("SYNCML", &params, strlen(GET_MAN), &body,
                                  &count, &err, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(wm_ops_build("SYNCML", &params, strlen(GET_MAN) - 1, &body,
                                  &count, &err, wm_test_pool),
                     APR_EINVAL);
}
END_TEST

/* ----------------------------------------------------------- POLICY */

START_TEST(policy_is_an_atomic_of_replaces)
{
    wm_op_params_t params;
    apr_array_header_t *settings, *kids;
    const char *body, *err;
    wm_sml_cmd_t *atomic;
    wm_sml_item_t *it;
    int count;

    settings = settings_of("DeviceLock/MinDevicePasswordLength", "6");
    add_setting(settings, "Browser/HomePages", "<https://a.test/?x=1&y=2>");
    add_setting(settings, "Update/ActiveHoursStart", "-5");
    add_setting(settings, "Update/Branch", "12a");
    add_setting(settings, "Update/Big", "12345678901");
    add_setting(settings, "Update/Empty", "");
    memset(&params, 0, sizeof(params));
    params.settings = settings;
    ck_assert_int_eq(build("POLICY", &params, &body, &count, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(count, 1);
    ck_assert_int_eq(count_of(body, "<CmdID>"), 7);
    atomic = cmd_at(commands_of(body), 0);
    ck_assert_str_eq(atomic->name, "Atomic");
    ck_assert_str_eq(atomic->cmd_id, "#1");
    kids = atomic->children;
    ck_assert_int_eq(kids->nelts, 6);

    ck_assert_str_eq(cmd_at(kids, 0)->name, "Replace");
    ck_assert_str_eq(cmd_at(kids, 0)->cmd_id, "#2");
    it = APR_ARRAY_IDX(cmd_at(kids, 0)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->target, "./Device/Vendor/MSFT/Policy/Config/"
                                 "DeviceLock/MinDevicePasswordLength");
    ck_assert_str_eq(it->meta_format, "int");
    ck_assert_str_eq(it->data, "6");

    ck_assert_str_eq(cmd_at(kids, 1)->cmd_id, "#3");
    it = APR_ARRAY_IDX(cmd_at(kids, 1)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "chr");
    ck_assert_str_eq(it->data, "<https://a.test/?x=1&y=2>");

    it = APR_ARRAY_IDX(cmd_at(kids, 2)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "int");
    ck_assert_str_eq(it->data, "-5");
    it = APR_ARRAY_IDX(cmd_at(kids, 3)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "chr");
    it = APR_ARRAY_IDX(cmd_at(kids, 4)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "chr");
    it = APR_ARRAY_IDX(cmd_at(kids, 5)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "chr");
    ck_assert_str_eq(it->data, "");
}
END_TEST

START_TEST(policy_refuses_bad_paths_and_no_settings)
{
    static const char *const bad[] = {
        "DeviceLock", "/DeviceLock", "DeviceLock/",        "Device Lock/MinLen",
        "A/B/C",      "../Policy/X", "DeviceLock/Min-Len", "DeviceLock/Len%",
        "",           NULL};
    wm_op_params_t params;
    apr_array_header_t *settings;
    const char *body, *err;
    int i, count;

    memset(&params, 0, sizeof(params));
    for (i = 0; bad[i]; i++) {
        /* A good setting first: one bad path refuses the whole POLICY. */
        settings = settings_of("DeviceLock/MinDevicePasswordLength", "6");
        add_setting(settings, bad[i], "1");
        params.settings = settings;
        ck_assert_msg(build("POLICY", &params, &body, &count, &err) ==
                          APR_EINVAL,
                      "accepted path '%s'", bad[i]);
        ck_assert_ptr_nonnull(err);
    }
    params.settings = settings_of(NULL, "1");
    ck_assert_int_eq(build("POLICY", &params, &body, &count, &err), APR_EINVAL);
    params.settings = settings_of("DeviceLock/MinDevicePasswordLength", NULL);
    ck_assert_int_eq(build("POLICY", &params, &body, &count, &err), APR_EINVAL);
    params.settings =
        apr_array_make(wm_test_pool, 1, sizeof(wm_policy_setting_t));
    ck_assert_int_eq(build("POLICY", &params, &body, &count, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    params.settings = NULL;
    ck_assert_int_eq(build("POLICY", &params, &body, &count, &err), APR_EINVAL);
}
END_TEST

/* A setting may name its Meta Format: Learn's ADMX-backed example
 * (AppVirtualization/PublishingAllowServer2, Format chr, its payload
 * XML-encoded) and a text policy whose value is a number go as chr; the
 * value must be of the format named (t/fixtures/published/README.md). */
START_TEST(policy_formats_are_named_and_checked)
{
    static const char *const admx =
        "<enabled/><data id=\"Publishing_Server2_Name_Prompt\" "
        "value=\"name prompt\"/><data id=\"Publishing_Server_URL_Prompt\" "
        "value=\"URL prompt\"/>";
    static const struct {
        const char *value, *format;
    } bad[] = {{"6x", "int"},      {"1.5", "int"},  {"yes", "bool"},
               {"True", "bool"},   {"a===", "b64"}, {"abc", "b64"},
               {"<a>", "xml"},     {"x", "text"},   {"x", ""},
               {NULL, NULL}};
    wm_op_params_t params;
    apr_array_header_t *settings, *kids;
    const char *body, *err;
    wm_sml_item_t *it;
    int i, count;

    settings = settings_of("DeviceLock/MinDevicePasswordLength", "6");
    add_setting_f(settings, "AppVirtualization/PublishingAllowServer2", admx,
                  "chr");
    add_setting_f(settings, "Update/Branch", "123", "chr");
    add_setting_f(settings, "Experience/AllowCortana", "false", "bool");
    add_setting_f(settings, "A/Blob", "aGVsbG8=", "b64");
    add_setting_f(settings, "A/Doc", "<a x=\"1\">&amp;</a><b/>", "xml");
    add_setting_f(settings, "A/Count", "-12", "int");
    memset(&params, 0, sizeof(params));
    params.settings = settings;
    ck_assert_int_eq(build("POLICY", &params, &body, &count, &err),
                     APR_SUCCESS);
    kids = cmd_at(commands_of(body), 0)->children;
    ck_assert_int_eq(kids->nelts, 7);
    it = APR_ARRAY_IDX(cmd_at(kids, 0)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "int");
    it = APR_ARRAY_IDX(cmd_at(kids, 1)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "chr");
    ck_assert_str_eq(it->data, admx);
    it = APR_ARRAY_IDX(cmd_at(kids, 2)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "chr");
    ck_assert_str_eq(it->data, "123");
    it = APR_ARRAY_IDX(cmd_at(kids, 3)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "bool");
    ck_assert_str_eq(it->data, "false");
    it = APR_ARRAY_IDX(cmd_at(kids, 4)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "b64");
    it = APR_ARRAY_IDX(cmd_at(kids, 5)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "xml");
    ck_assert_str_eq(it->data, "<a x=\"1\">&amp;</a><b/>");
    it = APR_ARRAY_IDX(cmd_at(kids, 6)->items, 0, wm_sml_item_t *);
    ck_assert_str_eq(it->meta_format, "int");

    for (i = 0; bad[i].value; i++) {
        settings = settings_of("DeviceLock/MinDevicePasswordLength", "6");
        add_setting_f(settings, "A/B", bad[i].value, bad[i].format);
        params.settings = settings;
        err = NULL;
        ck_assert_msg(build("POLICY", &params, &body, &count, &err) ==
                          APR_EINVAL,
                      "accepted '%s' as %s", bad[i].value, bad[i].format);
        ck_assert_ptr_nonnull(err);
        ck_assert_ptr_nonnull(strstr(err, "A/B"));
    }
}
END_TEST

/* ---------------------------------------------------- CmdID and CmdRef */

START_TEST(render_single_and_several_commands)
{
    const char *body, *err, *sent;
    apr_array_header_t *cmds;
    wm_op_params_t params;
    int count;

    memset(&params, 0, sizeof(params));
    ck_assert_int_eq(build("LOCK", &params, &body, &count, &err), APR_SUCCESS);
    sent = wm_ops_render(body, 42, wm_test_pool);
    ck_assert_ptr_nonnull(strstr(sent, "<CmdID>42</CmdID>"));
    ck_assert_int_eq(count_of(sent, "<CmdID>"), 1);
    ck_assert_ptr_null(strstr(sent, "#"));

    ck_assert_int_eq(build_syncml(GET_MAN REPLACE_LANG, &body, &count, &err),
                     APR_SUCCESS);
    sent = wm_ops_render(body, 42, wm_test_pool);
    cmds = commands_of(sent);
    ck_assert_str_eq(cmd_at(cmds, 0)->cmd_id, "42.1");
    ck_assert_str_eq(cmd_at(cmds, 1)->cmd_id, "42.2");

    /* Many commands: two-digit indexes stay whole. */
    ck_assert_int_eq(
        build_syncml(GET_MAN GET_MAN GET_MAN GET_MAN GET_MAN GET_MAN GET_MAN
                         GET_MAN GET_MAN GET_MAN GET_MAN,
                     &body, &count, &err),
        APR_SUCCESS);
    ck_assert_int_eq(count, 11);
    sent = wm_ops_render(body, APR_INT64_C(9000000000), wm_test_pool);
    cmds = commands_of(sent);
    ck_assert_str_eq(cmd_at(cmds, 0)->cmd_id, "9000000000.1");
    ck_assert_str_eq(cmd_at(cmds, 9)->cmd_id, "9000000000.10");
    ck_assert_str_eq(cmd_at(cmds, 10)->cmd_id, "9000000000.11");

    /* A POLICY's Atomic and its Replaces: "<id>.<n>" for each. */
    params.settings = settings_of("DeviceLock/MinDevicePasswordLength", "6");
    ck_assert_int_eq(build("POLICY", &params, &body, &count, &err),
                     APR_SUCCESS);
    cmds = commands_of(wm_ops_render(body, 5, wm_test_pool));
    ck_assert_str_eq(cmd_at(cmds, 0)->cmd_id, "5.1");
    ck_assert_str_eq(cmd_at(cmd_at(cmds, 0)->children, 0)->cmd_id, "5.2");
}
END_TEST

START_TEST(render_reads_elements_not_text)
{
    const char *body, *err, *sent;
    apr_array_header_t *cmds;
    int count;

    /* A namespace prefix on the commands: the CmdID is still filled in. */
    ck_assert_int_eq(
        build_syncml("<s:Get xmlns:s=\"SYNCML:SYNCML1.2\"><s:Item><s:Target>"
                     "<s:LocURI>./a</s:LocURI></s:Target></s:Item></s:Get>",
                     &body, &count, &err),
        APR_SUCCESS);
    sent = wm_ops_render(body, 42, wm_test_pool);
    ck_assert_ptr_null(strstr(sent, "#1"));
    ck_assert_str_eq(cmd_at(commands_of(sent), 0)->cmd_id, "42");

    /* Data that looks like a placeholder is data: it goes out as written
     * and does not make a single command look like several. */
    ck_assert_int_eq(
        build_syncml("<Replace><Item><Target><LocURI>./b</LocURI></Target>"
                     "<Data><![CDATA[<CmdID>#2</CmdID>]]></Data></Item>"
                     "</Replace>",
                     &body, &count, &err),
        APR_SUCCESS);
    sent = wm_ops_render(body, 42, wm_test_pool);
    cmds = commands_of(sent);
    ck_assert_str_eq(cmd_at(cmds, 0)->cmd_id, "42");
    ck_assert_ptr_nonnull(strstr(sent, "<![CDATA[<CmdID>#2</CmdID>]]>"));
}
END_TEST

START_TEST(cmdref_names_an_operation_or_nothing)
{
    static const char *const bad[] = {"s1",
                                      "",
                                      "4x",
                                      "42.",
                                      "0",
                                      "0.1",
                                      "42.0",
                                      "-42",
                                      " 42",
                                      "42 ",
                                      "42.3.1",
                                      "42.x",
                                      ".3",
                                      "99999999999999999999999",
                                      "9223372036854775808",
                                      "42.99999999999999",
                                      NULL};
    apr_int64_t id = -1;
    int i, idx = -1;

    ck_assert_int_eq(wm_ops_cmdref("42", &id, &idx), 1);
    ck_assert(id == 42);
    ck_assert_int_eq(idx, 1);
    ck_assert_int_eq(wm_ops_cmdref("42.3", &id, &idx), 1);
    ck_assert(id == 42);
    ck_assert_int_eq(idx, 3);
    ck_assert_int_eq(wm_ops_cmdref("9000000000.12", &id, &idx), 1);
    ck_assert(id == APR_INT64_C(9000000000));
    ck_assert_int_eq(idx, 12);
    for (i = 0; bad[i]; i++) {
        ck_assert_msg(wm_ops_cmdref(bad[i], &id, &idx) == 0, "took '%s'",
                      bad[i]);
    }
    ck_assert_int_eq(wm_ops_cmdref(NULL, &id, &idx), 0);
}
END_TEST

/* ----------------------------------------------------------- digest */

/* Base64 of len bytes, by OpenSSL alone. */
static const char *b64(const unsigned char *in, int len)
{
    char *out = apr_palloc(wm_test_pool, (apr_size_t)(4 * ((len + 2) / 3) + 1));

    EVP_EncodeBlock((unsigned char *)out, in, len);
    return out;
}

static void md5(const void *in, size_t len, unsigned char out[16])
{
    unsigned int n = 0;

    ck_assert_int_eq(EVP_Digest(in, len, out, &n, EVP_md5(), NULL), 1);
    ck_assert_uint_eq(n, 16);
}

START_TEST(digest_matches_an_independent_computation)
{
    static const unsigned char nonce[] = {0x00, 0x01, 0xfe, 0xff, 'n',
                                          'o',  'n',  'c',  'e'};
    unsigned char ha1[16], d[16], buf[64];
    char hex[33];
    const char *ha1_b64, *nonce_b64, *want;
    size_t n;
    int i;

    md5("dev:secret", 10, ha1);
    for (i = 0; i < 16; i++) {
        apr_snprintf(hex + 2 * i, 3, "%02x", ha1[i]);
    }
    ha1_b64 = b64(ha1, 16);
    n = strlen(ha1_b64);
    memcpy(buf, ha1_b64, n);
    buf[n] = ':';
    memcpy(buf + n + 1, nonce, sizeof(nonce));
    md5(buf, n + 1 + sizeof(nonce), d);
    want = b64(d, 16);
    nonce_b64 = b64(nonce, (int)sizeof(nonce));

    /* The same vector, fixed (computed with Python's hashlib). */
    ck_assert_str_eq(hex, "8f157ca5921c95f6a14c3f6464bc8b5b");
    ck_assert_str_eq(nonce_b64, "AAH+/25vbmNl");
    ck_assert_str_eq(want, "C8AtE+jp33OT8zbLQJ15GQ==");

    ck_assert_str_eq(wm_digest_expected(hex, nonce_b64, wm_test_pool), want);
    /* Upper-case hex is the same hash. */
    ck_assert_str_eq(wm_digest_expected("8F157CA5921C95F6A14C3F6464BC8B5B",
                                        nonce_b64, wm_test_pool),
                     want);
    /* The nonce's bytes are hashed, not its base64 text. */
    ck_assert_str_ne(wm_digest_expected(hex, "bm9uY2U=", wm_test_pool), want);
}
END_TEST

START_TEST(digest_refuses_malformed_inputs)
{
    static const char *const bad_ha1[] = {
        "8f157ca5921c95f6a14c3f6464bc8b5",   /* 31 */
        "8f157ca5921c95f6a14c3f6464bc8b5b0", /* 33 */
        "8f157ca5921c95f6a14c3f6464bc8b5g",  /* not hex */
        "8f157ca5921c95f6a14c3f6464bc8b 5",  /* space */
        "",
        NULL};
    int i;

    for (i = 0; bad_ha1[i]; i++) {
        ck_assert_msg(wm_digest_expected(bad_ha1[i], "AAH+/25vbmNl",
                                         wm_test_pool) == NULL,
                      "took ha1 '%s'", bad_ha1[i]);
    }
    ck_assert_ptr_null(wm_digest_expected(NULL, "AAH+/25vbmNl", wm_test_pool));
    ck_assert_ptr_null(wm_digest_expected("8f157ca5921c95f6a14c3f6464bc8b5b",
                                          NULL, wm_test_pool));
    ck_assert_ptr_null(wm_digest_expected("8f157ca5921c95f6a14c3f6464bc8b5b",
                                          "AAH*/25vbmNl", wm_test_pool));
    ck_assert_ptr_null(wm_digest_expected("8f157ca5921c95f6a14c3f6464bc8b5b",
                                          "AAH+/25vbmN", wm_test_pool));
}
END_TEST

START_TEST(digest_check_compares_the_whole_digest)
{
    const char *ha1 = "8f157ca5921c95f6a14c3f6464bc8b5b";
    const char *nonce = "AAH+/25vbmNl";

    ck_assert_int_ne(
        wm_digest_check(ha1, nonce, "C8AtE+jp33OT8zbLQJ15GQ==", wm_test_pool),
        0);
    /* Differs in the last character, the first, or the length. */
    ck_assert_int_eq(
        wm_digest_check(ha1, nonce, "C8AtE+jp33OT8zbLQJ15GQ=A", wm_test_pool),
        0);
    ck_assert_int_eq(
        wm_digest_check(ha1, nonce, "D8AtE+jp33OT8zbLQJ15GQ==", wm_test_pool),
        0);
    ck_assert_int_eq(
        wm_digest_check(ha1, nonce, "C8AtE+jp33OT8zbLQJ15GQ=", wm_test_pool),
        0);
    ck_assert_int_eq(
        wm_digest_check(ha1, nonce, "C8AtE+jp33OT8zbLQJ15GQ==A", wm_test_pool),
        0);
    ck_assert_int_eq(wm_digest_check(ha1, nonce, "", wm_test_pool), 0);
    ck_assert_int_eq(wm_digest_check(ha1, nonce, NULL, wm_test_pool), 0);
    /* The right digest for another nonce, or a malformed hash. */
    ck_assert_int_eq(wm_digest_check(ha1, "bm9uY2U=",
                                     "C8AtE+jp33OT8zbLQJ15GQ==", wm_test_pool),
                     0);
    ck_assert_int_eq(
        wm_digest_check("x", nonce, "C8AtE+jp33OT8zbLQJ15GQ==", wm_test_pool),
        0);
}
END_TEST

Suite *wm_test_ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *catalog = tcase_create("catalog");
    TCase *syncml = tcase_create("syncml");
    TCase *policy = tcase_create("policy");
    TCase *cmdid = tcase_create("cmdid");
    TCase *digest = tcase_create("digest");

    wm_test_pool_fixture(catalog);
    tcase_add_test(catalog, every_type_builds_queueable_commands);
    tcase_add_test(catalog, types_name_their_csp_nodes);
    suite_add_tcase(s, catalog);

    wm_test_pool_fixture(syncml);
    tcase_add_test(syncml, syncml_gets_placeholders_in_order);
    tcase_add_test(syncml, syncml_numbers_nested_commands_after_top_level);
    tcase_add_test(syncml, syncml_refuses_what_cannot_be_queued);
    tcase_add_test(syncml, syncml_refuses_a_body_over_max);
    suite_add_tcase(s, syncml);

    wm_test_pool_fixture(policy);
    tcase_add_test(policy, policy_is_an_atomic_of_replaces);
    tcase_add_test(policy, policy_refuses_bad_paths_and_no_settings);
    tcase_add_test(policy, policy_formats_are_named_and_checked);
    suite_add_tcase(s, policy);

    wm_test_pool_fixture(cmdid);
    tcase_add_test(cmdid, render_single_and_several_commands);
    tcase_add_test(cmdid, render_reads_elements_not_text);
    tcase_add_test(cmdid, cmdref_names_an_operation_or_nothing);
    suite_add_tcase(s, cmdid);

    wm_test_pool_fixture(digest);
    tcase_add_test(digest, digest_matches_an_independent_computation);
    tcase_add_test(digest, digest_refuses_malformed_inputs);
    tcase_add_test(digest, digest_check_compares_the_whole_digest);
    suite_add_tcase(s, digest);
    return s;
}
