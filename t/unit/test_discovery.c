/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* MS-MDE2 discovery decisions (DESIGN.md section 1). */

#include <string.h>

#include <apr_strings.h>

#include "wm_discovery.h"
#include "wm_xml.h"
#include "unit.h"

#define BASE "https://enterpriseenrollment.example.test"

static const char *domains_list[] = {"example.test"};
static const apr_array_header_t domains = {NULL, sizeof(const char *), 1, 1,
                                           (char *)domains_list};

/* A Discover request whose request element holds the given children. */
static wm_discover_req_t *request_raw(const char *ns, const char *children)
{
    const char *body = apr_psprintf(
        wm_test_pool,
        "<s:Envelope xmlns:a=\"http://www.w3.org/2005/08/addressing\" "
        "xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header>"
        "<a:MessageID>urn:uuid:42</a:MessageID></s:Header><s:Body>"
        "<Discover xmlns=\"%s\"><request "
        "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\">%s"
        "</request></Discover></s:Body></s:Envelope>",
        ns, children);
    wm_soap_env_t *env;
    wm_discover_req_t *req;
    const char *err;

    ck_assert_int_eq(
        wm_soap_parse(&env, body, strlen(body), 65536, &err, wm_test_pool),
        APR_SUCCESS);
    ck_assert_int_eq(wm_discovery_parse(env, &req, &err, wm_test_pool),
                     APR_SUCCESS);
    return req;
}

/* A Discover request with the given version, namespace and policies. */
static wm_discover_req_t *request(const char *ns, const char *email,
                                  const char *version, const char *policies)
{
    return request_raw(
        ns, apr_psprintf(wm_test_pool,
                         "<EmailAddress>%s</EmailAddress><RequestVersion>%s"
                         "</RequestVersion><AuthPolicies>%s</AuthPolicies>",
                         email, version, policies));
}

static const char *answer(const wm_discover_req_t *req, wm_auth_policy_e pol,
                          wm_fault_e *pfault)
{
    wm_discovery_conf_t conf = {BASE, &domains, pol};
    const char *body = NULL, *reason;
    if (wm_discovery_answer(&conf, req, "urn:uuid:42", &body, pfault, &reason,
                            wm_test_pool)) {
        return NULL;
    }
    return body;
}

static const char *result_text(const char *body, const char *name)
{
    wm_soap_env_t *env;
    const char *err;
    ck_assert_int_eq(
        wm_soap_parse(&env, body, strlen(body), 65536, &err, wm_test_pool),
        APR_SUCCESS);
    return wm_xml_child_text(
        wm_xml_child(env->body, WM_NS_DISCOVERY, "DiscoverResult"),
        WM_NS_DISCOVERY, name, wm_test_pool);
}

START_TEST(answers_real_capture)
{
    const char *buf, *body, *err;
    apr_size_t len;
    wm_soap_env_t *env;
    wm_discover_req_t *req;
    wm_fault_e fault;

    buf = wm_test_fixture("windows10/discovery_request_win10_19043_reqver4.xml",
                          &len);
    ck_assert_int_eq(wm_soap_parse(&env, buf, len, 65536, &err, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(wm_discovery_parse(env, &req, &err, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_str_eq(req->email, "demo@fleetdm.ngrok.io");
    ck_assert_int_eq(req->version, 4000);
    ck_assert_str_eq(req->device_type, "CIMClient_Windows");
    ck_assert_str_eq(req->os_edition, "72");
    ck_assert_int_eq(req->auth_policies->nelts, 2);
    /* Its domain is not ours: refused with s:Authorization. */
    ck_assert_ptr_null(answer(req, WM_AUTH_FEDERATED, &fault));
    ck_assert_int_eq(fault, WM_FAULT_AUTHORIZATION);
    /* The same device with an address in our domain. */
    req->email = "demo@EXAMPLE.test";
    body = answer(req, WM_AUTH_FEDERATED, &fault);
    ck_assert_ptr_nonnull(body);
    ck_assert_str_eq(result_text(body, "AuthPolicy"), "Federated");
    ck_assert_str_eq(result_text(body, "EnrollmentVersion"), "4.0");
    ck_assert_str_eq(result_text(body, "EnrollmentPolicyServiceUrl"),
                     BASE "/ENROLLMENTSERVER/PolicyEnrollmentWebservice.svc");
    ck_assert_str_eq(result_text(body, "EnrollmentServiceUrl"), BASE
                     "/ENROLLMENTSERVER/Win10DeviceEnrollmentWebservice.svc");
    ck_assert_str_eq(result_text(body, "AuthenticationServiceUrl"),
                     BASE "/emm/enrollments/windows/login-agent");
    ck_assert_ptr_nonnull(
        strstr(body, "<a:RelatesTo>urn:uuid:42</a:RelatesTo>"));
}
END_TEST

START_TEST(versions_pick_os_and_enrollment_version)
{
    const char *both = "<AuthPolicy>OnPremise</AuthPolicy>"
                       "<AuthPolicy>Federated</AuthPolicy>";
    wm_fault_e fault;
    const char *body;
    wm_discover_req_t *req;

    /* Microsoft's Learn example: namespace with a trailing slash, 3.0. */
    req = request(WM_NS_DISCOVERY "/", "user@example.test", "3.0", both);
    body = answer(req, WM_AUTH_FEDERATED, &fault);
    ck_assert_str_eq(result_text(body, "EnrollmentVersion"), "3.0");
    /* Windows 8.1 (2.0): no EnrollmentVersion, the 8.1 service. */
    req = request(WM_NS_DISCOVERY, "user@example.test", "2.0", both);
    ck_assert(wm_discovery_is_win81(req));
    body = answer(req, WM_AUTH_FEDERATED, &fault);
    ck_assert_ptr_null(result_text(body, "EnrollmentVersion"));
    ck_assert_str_eq(result_text(body, "EnrollmentServiceUrl"),
                     BASE "/ENROLLMENTSERVER/DeviceEnrollmentWebservice.svc");
    /* Windows 11 25H2 says 9.0: capped at 4.0. */
    req = request(WM_NS_DISCOVERY, "user@example.test", "9.0", both);
    ck_assert_str_eq(wm_discovery_enrollment_version(req, wm_test_pool), "4.0");
    req = request(WM_NS_DISCOVERY, "user@example.test", "3.5", both);
    ck_assert_str_eq(wm_discovery_enrollment_version(req, wm_test_pool), "3.5");
    req = request(WM_NS_DISCOVERY, "user@example.test", "1.0", both);
    ck_assert_ptr_null(wm_discovery_enrollment_version(req, wm_test_pool));
}
END_TEST

START_TEST(on_premise_and_offered_policies)
{
    wm_fault_e fault;
    const char *body;
    wm_discover_req_t *req;

    req = request(WM_NS_DISCOVERY, "u@example.test", "4.0",
                  "<AuthPolicy>OnPremise</AuthPolicy>");
    body = answer(req, WM_AUTH_ONPREMISE, &fault);
    ck_assert_str_eq(result_text(body, "AuthPolicy"), "OnPremise");
    ck_assert_ptr_null(result_text(body, "AuthenticationServiceUrl"));
    /* The device cannot do Federated: refused, not answered wrongly, as
     * a credential kind this server does not take (DESIGN.md 1). */
    ck_assert_ptr_null(answer(req, WM_AUTH_FEDERATED, &fault));
    ck_assert_int_eq(fault, WM_FAULT_AUTHENTICATION);
    /* DOMAIN\user has no email domain to match. */
    req = request(WM_NS_DISCOVERY, "EXAMPLE\\u", "4.0", "");
    ck_assert_ptr_null(answer(req, WM_AUTH_FEDERATED, &fault));
}
END_TEST

START_TEST(refuses_malformed_requests)
{
    const char *bad[] = {
        /* wrong namespace */
        "<Discover xmlns=\"urn:other\"><request><EmailAddress>a@b.c"
        "</EmailAddress><RequestVersion>4.0</RequestVersion></request>"
        "</Discover>",
        /* not a number */
        "<Discover xmlns=\"" WM_NS_DISCOVERY "\"><request><EmailAddress>a@b.c"
        "</EmailAddress><RequestVersion>four</RequestVersion></request>"
        "</Discover>",
        /* negative */
        "<Discover xmlns=\"" WM_NS_DISCOVERY "\"><request><EmailAddress>a@b.c"
        "</EmailAddress><RequestVersion>-4.0</RequestVersion></request>"
        "</Discover>",
        /* no email */
        "<Discover xmlns=\"" WM_NS_DISCOVERY "\"><request><RequestVersion>4.0"
        "</RequestVersion></request></Discover>",
        NULL};
    int i;

    for (i = 0; bad[i]; i++) {
        const char *body = apr_pstrcat(
            wm_test_pool, "<s:Envelope xmlns:s=\"" WM_NS_SOAP "\"><s:Body>",
            bad[i], "</s:Body></s:Envelope>", NULL);
        wm_soap_env_t *env;
        wm_discover_req_t *req;
        const char *err = NULL;

        ck_assert_int_eq(
            wm_soap_parse(&env, body, strlen(body), 65536, &err, wm_test_pool),
            APR_SUCCESS);
        ck_assert_int_eq(wm_discovery_parse(env, &req, &err, wm_test_pool),
                         APR_EINVAL);
        ck_assert_ptr_nonnull(err);
    }
}
END_TEST

/* The names of DiscoverResult's children, in document order. */
static const char *result_order(const char *body)
{
    wm_soap_env_t *env;
    const char *err, *out = "";
    xmlNodePtr n;

    ck_assert_int_eq(
        wm_soap_parse(&env, body, strlen(body), 65536, &err, wm_test_pool),
        APR_SUCCESS);
    for (n = wm_xml_child(env->body, WM_NS_DISCOVERY, "DiscoverResult")
                 ->children;
         n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            out = apr_pstrcat(wm_test_pool, out, *out ? " " : "",
                              (const char *)n->name, NULL);
        }
    }
    return out;
}

/* MS-MDE v1 (Windows 8.1): RequestVersion nil, empty or absent and no
 * AuthPolicies; answered Federated, in the v1 sequence, with no
 * EnrollmentVersion (t/fixtures/README.md names the source). */
START_TEST(windows81_as_ms_mde_v1_defines_it)
{
    static const char *const versions[] = {
        "<RequestVersion i:nil=\"true\"/>", "<RequestVersion></RequestVersion>",
        "", NULL};
    wm_discover_req_t *req;
    wm_fault_e fault;
    const char *body;
    int i;

    for (i = 0; versions[i]; i++) {
        req = request_raw(
            WM_NS_DISCOVERY,
            apr_pstrcat(wm_test_pool,
                        "<EmailAddress>user@example.test</EmailAddress>",
                        versions[i],
                        "<DeviceType>WindowsPhone</DeviceType>"
                        "<ApplicationVersion>8.10.12345.0"
                        "</ApplicationVersion>",
                        NULL));
        ck_assert(wm_discovery_is_win81(req));
        ck_assert_ptr_null(req->request_version);
        ck_assert_int_eq(req->auth_policies->nelts, 0);
        body = answer(req, WM_AUTH_FEDERATED, &fault);
        ck_assert_ptr_nonnull(body);
        ck_assert_str_eq(result_order(body),
                         "AuthPolicy AuthenticationServiceUrl "
                         "EnrollmentPolicyServiceUrl EnrollmentServiceUrl");
        ck_assert_str_eq(result_text(body, "AuthPolicy"), "Federated");
        ck_assert_str_eq(result_text(body, "EnrollmentServiceUrl"),
                         BASE "/ENROLLMENTSERVER/DeviceEnrollmentWebservice.svc");
        /* v1 has no policy but Federated: an OnPremise server refuses. */
        ck_assert_ptr_null(answer(req, WM_AUTH_ONPREMISE, &fault));
        ck_assert_int_eq(fault, WM_FAULT_AUTHENTICATION);
    }
    /* 2.0 (what WSO2 saw) is 8.1 as well, answered the same way. */
    req = request(WM_NS_DISCOVERY, "user@example.test", "2.0",
                  "<AuthPolicy>Federated</AuthPolicy>");
    ck_assert_str_eq(result_order(answer(req, WM_AUTH_FEDERATED, &fault)),
                     "AuthPolicy AuthenticationServiceUrl "
                     "EnrollmentPolicyServiceUrl EnrollmentServiceUrl");
}
END_TEST

Suite *wm_test_discovery_suite(void)
{
    Suite *s = suite_create("discovery");
    TCase *tc = tcase_create("discover");

    wm_test_pool_fixture(tc);
    tcase_add_test(tc, answers_real_capture);
    tcase_add_test(tc, versions_pick_os_and_enrollment_version);
    tcase_add_test(tc, on_premise_and_offered_policies);
    tcase_add_test(tc, refuses_malformed_requests);
    tcase_add_test(tc, windows81_as_ms_mde_v1_defines_it);
    suite_add_tcase(s, tc);
    return s;
}
