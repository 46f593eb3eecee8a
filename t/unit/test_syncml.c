/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* SyncML message headers and the status-only reply. */

#include <string.h>

#include "wm_syncml.h"
#include "wm_xml.h"
#include "unit.h"

START_TEST(parses_real_first_package)
{
    wm_syncml_msg_t *msg;
    const char *buf, *err;
    apr_size_t len;

    buf = wm_test_fixture("windows10/syncml_s1_m1_client_init_win10_19043.xml",
                          &len);
    ck_assert_int_eq(wm_syncml_parse(&msg, buf, len, 65536, &err, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_str_eq(msg->hdr.ver_dtd, "1.2");
    ck_assert_str_eq(msg->hdr.ver_proto, "DM/1.2");
    ck_assert_str_eq(msg->hdr.session_id, "1");
    ck_assert_str_eq(msg->hdr.msg_id, "1");
    ck_assert_str_eq(msg->hdr.source_uri, "B5B954E81FBCB94EB79BD08BE625F4EE");
    ck_assert_ptr_nonnull(msg->body);
}
END_TEST

START_TEST(reply_echoes_session)
{
    wm_syncml_hdr_t hdr;
    wm_syncml_msg_t *back;
    const char *reply, *err;
    xmlNodePtr status;

    memset(&hdr, 0, sizeof(hdr));
    hdr.session_id = "7";
    hdr.msg_id = "3";
    hdr.source_uri = "DEV<1>";
    reply = wm_syncml_reply_status_only(&hdr, "3", "https://mdm/devicemgt",
                                        WM_SC_COMMAND_FAILED, wm_test_pool);
    /* The reply is itself a well-formed SyncML message. */
    ck_assert_int_eq(
        wm_syncml_parse(&back, reply, strlen(reply), 65536, &err, wm_test_pool),
        APR_SUCCESS);
    ck_assert_str_eq(back->hdr.session_id, "7");
    ck_assert_str_eq(back->hdr.target_uri, "DEV<1>");
    ck_assert_str_eq(back->hdr.source_uri, "https://mdm/devicemgt");
    status = wm_xml_child(back->body, NULL, "Status");
    ck_assert_str_eq(wm_xml_child_text(status, NULL, "MsgRef", wm_test_pool),
                     "3");
    ck_assert_str_eq(wm_xml_child_text(status, NULL, "Cmd", wm_test_pool),
                     "SyncHdr");
    ck_assert_str_eq(wm_xml_child_text(status, NULL, "Data", wm_test_pool),
                     "500");
    ck_assert_ptr_nonnull(wm_xml_child(back->body, NULL, "Final"));
}
END_TEST

START_TEST(refuses_incomplete_headers)
{
    wm_syncml_msg_t *msg;
    const char *err;
    const char *nosrc = "<SyncML><SyncHdr><SessionID>1</SessionID><MsgID>1"
                        "</MsgID></SyncHdr><SyncBody/></SyncML>";
    ck_assert_int_eq(
        wm_syncml_parse(&msg, nosrc, strlen(nosrc), 65536, &err, wm_test_pool),
        APR_EINVAL);
    ck_assert_int_eq(
        wm_syncml_parse(&msg, "<Other/>", 8, 65536, &err, wm_test_pool),
        APR_EINVAL);
}
END_TEST

Suite *wm_test_syncml_suite(void)
{
    Suite *s = suite_create("syncml");
    TCase *tc = tcase_create("header");

    wm_test_pool_fixture(tc);
    tcase_add_test(tc, parses_real_first_package);
    tcase_add_test(tc, reply_echoes_session);
    tcase_add_test(tc, refuses_incomplete_headers);
    suite_add_tcase(s, tc);
    return s;
}
