/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* SOAP 1.2 envelopes and faults. */

#include <string.h>

#include <apr_strings.h>

#include "wm_soap.h"
#include "wm_xml.h"
#include "unit.h"

START_TEST(parses_real_discovery_capture)
{
    wm_soap_env_t *env;
    const char *err, *buf;
    apr_size_t len;

    buf = wm_test_fixture("windows10/discovery_request_win10_19043_reqver4.xml",
                          &len);
    ck_assert_int_eq(wm_soap_parse(&env, buf, len, 65536, &err, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_str_eq(env->action, "http://schemas.microsoft.com/windows/"
                                  "management/2012/01/enrollment/"
                                  "IDiscoveryService/Discover");
    ck_assert_str_eq(env->message_id,
                     "urn:uuid:748132ec-a575-4329-b01b-6171a9cf8478");
    ck_assert_str_eq(env->to, "https://EnterpriseEnrollment.fleetdm.ngrok.io"
                              ":443/EnrollmentServer/Discovery.svc");
    ck_assert_str_eq(env->reply_to,
                     "http://www.w3.org/2005/08/addressing/anonymous");
    ck_assert(wm_xml_is(env->body, NULL, "Discover"));
}
END_TEST

START_TEST(refuses_what_is_not_soap12)
{
    wm_soap_env_t *env;
    const char *err;
    const char *s11 = "<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/"
                      "envelope/\"><e:Body><x/></e:Body></e:Envelope>";
    const char *nobody = "<s:Envelope xmlns:s=\"" WM_NS_SOAP "\"><s:Body/>"
                         "</s:Envelope>";

    ck_assert_int_eq(
        wm_soap_parse(&env, s11, strlen(s11), 65536, &err, wm_test_pool),
        APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "SOAP 1.1"));
    ck_assert_int_eq(
        wm_soap_parse(&env, nobody, strlen(nobody), 65536, &err, wm_test_pool),
        APR_EINVAL);
    ck_assert_int_eq(wm_soap_parse(&env, "<x/>", 4, 65536, &err, wm_test_pool),
                     APR_EINVAL);
    ck_assert_int_eq(
        wm_soap_parse(&env, nobody, strlen(nobody), 10, &err, wm_test_pool),
        APR_ENOSPC);
}
END_TEST

START_TEST(builds_fault_with_subcode)
{
    const char *f =
        wm_soap_fault(WM_FAULT_INVALID_SECURITY, "urn:act", "urn:uuid:1",
                      "bad <header>", "NotSupported", wm_test_pool);
    wm_soap_env_t *env;
    const char *err;
    xmlNodePtr code, reason;

    /* The fault parses back as an envelope with the subcode asked for. */
    ck_assert_int_eq(
        wm_soap_parse(&env, f, strlen(f), 65536, &err, wm_test_pool),
        APR_SUCCESS);
    ck_assert(wm_xml_is(env->body, WM_NS_SOAP, "Fault"));
    code = wm_xml_child(env->body, WM_NS_SOAP, "Code");
    ck_assert_str_eq(wm_xml_child_text(code, WM_NS_SOAP, "Value", wm_test_pool),
                     "s:Sender");
    ck_assert_str_eq(
        wm_xml_child_text(wm_xml_child(code, WM_NS_SOAP, "Subcode"), WM_NS_SOAP,
                          "Value", wm_test_pool),
        "a:InvalidSecurity");
    reason = wm_xml_child(env->body, WM_NS_SOAP, "Reason");
    ck_assert_str_eq(
        wm_xml_child_text(reason, WM_NS_SOAP, "Text", wm_test_pool),
        "bad <header>");
    ck_assert_str_eq(env->action, "urn:act");
    ck_assert_str_eq(
        wm_xml_child_text(env->header, WM_NS_WSA, "RelatesTo", wm_test_pool),
        "urn:uuid:1");
    ck_assert_ptr_nonnull(strstr(f, "<ErrorType>NotSupported</ErrorType>"));
    ck_assert_str_eq(wm_soap_subcode_name(WM_FAULT_AUTHORIZATION),
                     "s:Authorization");
    f = wm_soap_fault(WM_FAULT_AUTHORIZATION, "urn:act", NULL, "no", NULL,
                      wm_test_pool);
    ck_assert_ptr_nonnull(strstr(f, "<s:Value>s:Receiver</s:Value>"));
    ck_assert_ptr_null(strstr(f, "RelatesTo"));
    ck_assert_ptr_null(strstr(f, "Detail"));
}
END_TEST

Suite *wm_test_soap_suite(void)
{
    Suite *s = suite_create("soap");
    TCase *tc = tcase_create("envelope");

    wm_test_pool_fixture(tc);
    tcase_add_test(tc, parses_real_discovery_capture);
    tcase_add_test(tc, refuses_what_is_not_soap12);
    tcase_add_test(tc, builds_fault_with_subcode);
    suite_add_tcase(s, tc);
    return s;
}
