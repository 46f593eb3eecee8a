/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The enrollment exchange (spec/enrollment.md sections 4-5) below the
 * handlers: the WS-Security credential of a request (wm_wssec.h), the
 * MS-WSTEP RequestSecurityToken and its response (wm_wstep.h), the MS-XCEP
 * policy (wm_xcep.h), the wap-provisioningdoc (wm_provdoc.h) and the
 * secrets the exchange hands out (wm_secret.h). Real Windows 10 captures
 * from the fixtures, edited where a case needs it; every document the core
 * builds is parsed back with the core's own safe XML parser. */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_tables.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "wm_ca.h"
#include "wm_cert.h"
#include "wm_provdoc.h"
#include "wm_secret.h"
#include "wm_soap.h"
#include "wm_wssec.h"
#include "wm_wstep.h"
#include "wm_xcep.h"
#include "wm_xml.h"
#include "unit.h"

#define RST_FIXTURE "windows10/wstep_rst_request_win10_19043_usernametoken.xml"
#define XCEP_FIXTURE                                                           \
    "windows10/xcep_getpolicies_request_win10_19043_usernametoken.xml"
#define REAL_DEVICE_ID "B5B954E81FBCB94EB79BD08BE625F4EE"

/* ---------------------------------------------------------- helpers */

/* s with its one occurrence of from replaced by to. */
static const char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);

    ck_assert_msg(at != NULL, "\"%s\" not found", from);
    ck_assert_msg(strstr(at + 1, from) == NULL, "\"%s\" found twice", from);
    return apr_pstrcat(wm_test_pool,
                       apr_pstrmemdup(wm_test_pool, s, (apr_size_t)(at - s)),
                       to, at + strlen(from), NULL);
}

static wm_soap_env_t *parse_env(const char *xml)
{
    wm_soap_env_t *env = NULL;
    const char *err = NULL;

    ck_assert_msg(wm_soap_parse(&env, xml, strlen(xml), 1 << 20, &err,
                                wm_test_pool) == APR_SUCCESS,
                  "wm_soap_parse: %s", err ? err : "?");
    return env;
}

/* An envelope with header (inner XML, or NULL for no s:Header) and body. */
static wm_soap_env_t *envelope(const char *header, const char *body)
{
    return parse_env(apr_pstrcat(
        wm_test_pool,
        "<s:Envelope xmlns:s=\"" WM_NS_SOAP "\" xmlns:a=\"" WM_NS_WSA
        "\" xmlns:wsse=\"" WM_NS_WSSE "\" xmlns:u=\"" WM_NS_WSU "\">",
        header ? "<s:Header><a:Action>x</a:Action>" : "", header ? header : "",
        header ? "</s:Header>" : "", "<s:Body>", body, "</s:Body></s:Envelope>",
        NULL));
}

#define GET_POLICIES "<GetPolicies xmlns=\"" WM_NS_XCEP "\"/>"

static const char *security(const char *inner)
{
    return apr_pstrcat(wm_test_pool, "<wsse:Security s:mustUnderstand=\"1\">",
                       inner, "</wsse:Security>", NULL);
}

static const char *user_token_bst(const char *attr, const char *text)
{
    return security(apr_pstrcat(
        wm_test_pool, "<wsse:BinarySecurityToken ", attr,
        "=\"" WM_VT_USER_TOKEN "\" EncodingType=\"" WM_ENC_BASE64 "\">", text,
        "</wsse:BinarySecurityToken>", NULL));
}

static apr_status_t cred_of(wm_soap_env_t *env, wm_cred_t **pcred,
                            const char **perr)
{
    *perr = NULL;
    return wm_wssec_parse(env, pcred, perr, wm_test_pool);
}

/* Parses xml as an RST; the status, and the request through prst. */
/* Parses an RST that came to the Windows 10/11 path. */
static apr_status_t rst_of(const char *xml, wm_rst_t **prst, const char **perr)
{
    apr_status_t rv;

    *perr = NULL;
    rv = wm_wstep_parse(parse_env(xml), prst, perr, wm_test_pool);
    if (rv == APR_SUCCESS && !(*prst)->renew &&
        (rv = wm_wstep_name_device(*prst, 0, perr, wm_test_pool))) {
        *prst = NULL;
    }
    return rv;
}

static const char *rst_fixture(void)
{
    apr_size_t len;
    return wm_test_fixture(RST_FIXTURE, &len);
}

static int count_cb(void *rec, const char *key, const char *value)
{
    (void)key;
    (void)value;
    ++*(int *)rec;
    return 1;
}

static xmlDocPtr parse_xml(const char *xml)
{
    wm_xml_limits_t lim = {1 << 20, 64, 0};
    xmlDocPtr doc = NULL;
    const char *err = NULL;

    ck_assert_msg(wm_xml_parse(&doc, xml, strlen(xml), &lim, &err,
                               wm_test_pool) == APR_SUCCESS,
                  "wm_xml_parse: %s", err ? err : "?");
    return doc;
}

/* First element below node (depth first) named ns:name. */
static xmlNodePtr find(const xmlNode *node, const char *ns, const char *name)
{
    xmlNodePtr c, hit;

    for (c = wm_xml_child(node, NULL, NULL); c;
         c = wm_xml_next(c, NULL, NULL)) {
        if (wm_xml_is(c, ns, name)) {
            return c;
        }
        if ((hit = find(c, ns, name))) {
            return hit;
        }
    }
    return NULL;
}

static const char *find_text(const xmlNode *node, const char *ns,
                             const char *name)
{
    xmlNodePtr n = find(node, ns, name);
    ck_assert_msg(n != NULL, "no element %s", name);
    return wm_xml_text(n, wm_test_pool);
}

/* ----------------------------------------------------- WS-Security */

START_TEST(wssec_decodes_a_base64_user_token)
{
    const char *tok = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2ln";
    const char *b64 =
        wm_b64_encode((const unsigned char *)tok, strlen(tok), wm_test_pool);
    wm_cred_t *cred;
    const char *err;

    ck_assert_int_eq(
        cred_of(envelope(user_token_bst("ValueType", b64), GET_POLICIES), &cred,
                &err),
        APR_SUCCESS);
    ck_assert_int_eq(cred->kind, WM_CRED_TOKEN);
    ck_assert_str_eq(cred->token, tok);
    ck_assert_ptr_null(cred->username);
}
END_TEST

START_TEST(wssec_takes_a_raw_base64url_token_as_is)
{
    wm_cred_t *cred;
    const char *err;

    /* '-' and '_' are not standard base64: not decodable */
    ck_assert_int_eq(
        cred_of(envelope(user_token_bst("ValueType", "Ab-cD_eFgH-ij_KlmnOp"),
                         GET_POLICIES),
                &cred, &err),
        APR_SUCCESS);
    ck_assert_int_eq(cred->kind, WM_CRED_TOKEN);
    ck_assert_str_eq(cred->token, "Ab-cD_eFgH-ij_KlmnOp");
    /* decodable, but not to printable text (00 01 02) */
    ck_assert_int_eq(
        cred_of(envelope(user_token_bst("ValueType", "AAEC"), GET_POLICIES),
                &cred, &err),
        APR_SUCCESS);
    ck_assert_str_eq(cred->token, "AAEC");
}
END_TEST

START_TEST(wssec_accepts_wsse_prefixed_value_type)
{
    wm_cred_t *cred;
    const char *err;
    const char *b64 =
        wm_b64_encode((const unsigned char *)"tok-1", 5, wm_test_pool);

    ck_assert_int_eq(
        cred_of(envelope(user_token_bst("wsse:ValueType", b64), GET_POLICIES),
                &cred, &err),
        APR_SUCCESS);
    ck_assert_int_eq(cred->kind, WM_CRED_TOKEN);
    ck_assert_str_eq(cred->token, "tok-1");
}
END_TEST

START_TEST(wssec_refuses_unknown_value_type)
{
    wm_cred_t *cred;
    const char *err;
    const char *bst =
        security("<wsse:BinarySecurityToken ValueType=\"" WM_NS_WSSE
                 "#X509v3\" EncodingType=\"" WM_ENC_BASE64 "\">dG9r"
                 "</wsse:BinarySecurityToken>");
    const char *none = security("<wsse:BinarySecurityToken>dG9r"
                                "</wsse:BinarySecurityToken>");

    ck_assert_int_eq(cred_of(envelope(bst, GET_POLICIES), &cred, &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(cred_of(envelope(none, GET_POLICIES), &cred, &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(wssec_reads_real_username_token)
{
    apr_size_t len;
    const char *xml = wm_test_fixture(XCEP_FIXTURE, &len);
    wm_cred_t *cred;
    const char *err;

    ck_assert_int_eq(cred_of(parse_env(xml), &cred, &err), APR_SUCCESS);
    ck_assert_int_eq(cred->kind, WM_CRED_USERNAME);
    ck_assert_str_eq(cred->username, "demio");
    ck_assert_str_eq(cred->password, "demo");
    ck_assert_ptr_null(cred->token);
}
END_TEST

START_TEST(wssec_refuses_username_token_without_username)
{
    wm_cred_t *cred;
    const char *err;
    const char *ut = security(
        "<wsse:UsernameToken><wsse:Password wsse:Type=\"" WM_PASSWORD_TEXT
        "\">demo</wsse:Password></wsse:UsernameToken>");

    ck_assert_int_eq(cred_of(envelope(ut, GET_POLICIES), &cred, &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(wssec_without_security_header_has_no_credential)
{
    wm_cred_t *cred;
    const char *err;

    ck_assert_int_eq(cred_of(envelope("", GET_POLICIES), &cred, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(cred->kind, WM_CRED_NONE);
    ck_assert_int_eq(cred_of(envelope(NULL, GET_POLICIES), &cred, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(cred->kind, WM_CRED_NONE);
    ck_assert_int_eq(cred_of(envelope(security(""), GET_POLICIES), &cred, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(cred->kind, WM_CRED_NONE);
}
END_TEST

START_TEST(wssec_refuses_two_credentials)
{
    wm_cred_t *cred;
    const char *err;
    const char *both =
        security("<wsse:UsernameToken><wsse:Username>demio</wsse:Username>"
                 "<wsse:Password>demo</wsse:Password></wsse:UsernameToken>"
                 "<wsse:BinarySecurityToken ValueType=\"" WM_VT_USER_TOKEN
                 "\">dG9r</wsse:BinarySecurityToken>");

    ck_assert_int_eq(cred_of(envelope(both, GET_POLICIES), &cred, &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(err);
}
END_TEST

/* ----------------------------------------------------------- WSTEP */

START_TEST(wstep_parses_real_capture)
{
    wm_rst_t *rst = NULL;
    const char *err;
    const apr_array_header_t *arr;
    const apr_table_entry_t *e;
    int i, macs = 0, macs_cb = 0;

    ck_assert_int_eq(rst_of(rst_fixture(), &rst, &err), APR_SUCCESS);
    ck_assert_str_eq(rst->device_id, REAL_DEVICE_ID);
    ck_assert_str_eq(rst->enroll_type, "Full");
    ck_assert_int_eq(rst->renew, 0);
    ck_assert_int_eq(rst->pkcs7, 0);
    ck_assert_int_eq(wm_wstep_device_context(rst), 0);
    ck_assert_str_eq(rst->device_name, "DESKTOP-28FGAI6");
    ck_assert_str_eq(rst->device_type, "CIMClient_Windows");
    ck_assert_str_eq(rst->os_edition, "72");
    ck_assert_str_eq(rst->os_version, "10.0.19043.2364");
    ck_assert_str_eq(rst->app_version, "10.0.19043.2364");
    ck_assert_str_eq(rst->hw_dev_id, "3B3ED6D0EA88CBFCF37D36F90F22FE61172348C0"
                                     "162FC3840D6703149870CE76");
    ck_assert(strncmp(rst->csr_b64, "MIICzjCCAboCAQAw", 16) == 0);

    /* every ContextItem, the six MACs included */
    arr = apr_table_elts(rst->context);
    e = (const apr_table_entry_t *)arr->elts;
    for (i = 0; i < arr->nelts; i++) {
        macs += !strcmp(e[i].key, "MAC");
    }
    ck_assert_int_eq(macs, 6);
    apr_table_do(count_cb, &macs_cb, rst->context, "MAC", NULL);
    ck_assert_int_eq(macs_cb, 6);
    ck_assert_int_eq(arr->nelts, 18);
}
END_TEST

START_TEST(wstep_reads_device_context)
{
    wm_rst_t *rst = NULL;
    const char *err;

    ck_assert_int_eq(rst_of(replace(rst_fixture(), "<ac:Value>Full</ac:Value>",
                                    "<ac:Value> Device </ac:Value>"),
                            &rst, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(rst->enroll_type, "Device");
    ck_assert_int_eq(wm_wstep_device_context(rst), 1);
}
END_TEST

START_TEST(wstep_requires_a_usable_device_id)
{
    const char *xml = rst_fixture(), *err;
    wm_rst_t *rst;
    char id65[66], id64[65];

    memset(id65, 'A', 65);
    id65[65] = '\0';
    memset(id64, 'B', 64);
    id64[64] = '\0';

    ck_assert_int_eq(
        rst_of(replace(xml, "Name=\"DeviceID\"", "Name=\"DevID\""), &rst, &err),
        APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(rst);
    ck_assert_int_eq(
        rst_of(replace(xml, REAL_DEVICE_ID, "B5B954E8 1FBCB94E"), &rst, &err),
        APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(
        rst_of(replace(xml, REAL_DEVICE_ID, "B5B954E8&#9;1FBCB94E"), &rst,
               &err),
        APR_EINVAL);
    ck_assert_int_eq(rst_of(replace(xml, REAL_DEVICE_ID,
                                    "B5B954E8\x7f"
                                    "1FBCB94E"),
                            &rst, &err),
                     APR_EINVAL);
    ck_assert_int_eq(rst_of(replace(xml, REAL_DEVICE_ID, id65), &rst, &err),
                     APR_EINVAL);
    ck_assert_int_eq(rst_of(replace(xml, REAL_DEVICE_ID, ""), &rst, &err),
                     APR_EINVAL);
    /* 64 characters is the limit, not over it */
    ck_assert_int_eq(rst_of(replace(xml, REAL_DEVICE_ID, id64), &rst, &err),
                     APR_SUCCESS);
    ck_assert_str_eq(rst->device_id, id64);
    ck_assert(wm_wstep_device_id_ok(id64));
    ck_assert(!wm_wstep_device_id_ok(id65));
}
END_TEST

START_TEST(wstep_refuses_wrong_token_and_request_types)
{
    const char *xml = rst_fixture(), *err;
    wm_rst_t *rst;

    ck_assert_int_eq(rst_of(replace(xml, "Enrollment/DeviceEnrollmentToken<",
                                    "Enrollment/DeviceEnrollmentUserToken<"),
                            &rst, &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(
        rst_of(replace(xml, "200512/Issue<", "200512/Validate<"), &rst, &err),
        APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(
        rst_of(replace(xml, "enrollment#PKCS10", "enrollment#X509v3"), &rst,
               &err),
        APR_EINVAL);
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(wstep_renewal_needs_no_device_id)
{
    const char *xml = rst_fixture(), *err;
    wm_rst_t *rst = NULL;

    xml = replace(xml, "200512/Issue<", "200512/Renew<");
    xml = replace(xml, "Name=\"DeviceID\"", "Name=\"NotTheDeviceID\"");
    xml = replace(xml, "\"" WM_VT_PKCS10 "\"", "\"" WM_VT_PKCS7 "\"");
    ck_assert_int_eq(rst_of(xml, &rst, &err), APR_SUCCESS);
    ck_assert_int_eq(rst->renew, 1);
    ck_assert_int_eq(rst->pkcs7, 1);
    ck_assert_ptr_null(rst->device_id);
}
END_TEST

START_TEST(wstep_response_carries_the_provisioning_doc)
{
    const char *doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                      "<wap-provisioningdoc version=\"1.1\">"
                      "<parm name=\"x\" value=\"a &amp; b &lt;\xc3\xa9\"/>"
                      "</wap-provisioningdoc>";
    const char *xml =
        wm_wstep_response(doc, "urn:uuid:0d5a1441", 1700000000, wm_test_pool);
    wm_soap_env_t *env = parse_env(xml);
    xmlNodePtr bst;
    unsigned char *dec;
    apr_size_t len;

    ck_assert_str_eq(env->action, WM_ACTION_WSTEP_RESPONSE);
    ck_assert_str_eq(
        wm_xml_child_text(env->header, WM_NS_WSA, "RelatesTo", wm_test_pool),
        "urn:uuid:0d5a1441");
    ck_assert_str_eq(find_text(env->header, WM_NS_WSU, "Created"),
                     "2023-11-14T22:13:20.000Z");
    ck_assert_str_eq(find_text(env->header, WM_NS_WSU, "Expires"),
                     "2023-11-14T22:18:20.000Z");
    ck_assert(wm_xml_is(env->body, WM_NS_WST,
                        "RequestSecurityTokenResponseCollection"));
    ck_assert_str_eq(find_text(env->body, WM_NS_WST, "TokenType"),
                     WM_TOKEN_TYPE);
    ck_assert_str_eq(find_text(env->body, WM_NS_ENROLL, "RequestID"), "0");
    bst = find(find(env->body, WM_NS_WST, "RequestedSecurityToken"), WM_NS_WSSE,
               "BinarySecurityToken");
    ck_assert_ptr_nonnull(bst);
    ck_assert_str_eq(wm_xml_attr(bst, NULL, "ValueType", wm_test_pool),
                     WM_VT_PROVDOC);
    ck_assert_str_eq(wm_xml_attr(bst, NULL, "EncodingType", wm_test_pool),
                     WM_ENC_BASE64);
    ck_assert_int_eq(
        wm_b64_decode(wm_xml_text(bst, wm_test_pool), &dec, &len, wm_test_pool),
        APR_SUCCESS);
    ck_assert_uint_eq(len, strlen(doc));
    ck_assert(memcmp(dec, doc, len) == 0);
}
END_TEST

/* ------------------------------------------------------------ XCEP */

/* The oID element whose oIDReferenceID is ref. */
static xmlNodePtr oid_by_ref(xmlNodePtr resp, const char *ref)
{
    xmlNodePtr oids = find(resp, WM_NS_XCEP, "oIDs"), o;
    const char *id;

    ck_assert_ptr_nonnull(oids);
    for (o = wm_xml_child(oids, WM_NS_XCEP, "oID"); o;
         o = wm_xml_next(o, WM_NS_XCEP, "oID")) {
        id = wm_xml_child_text(o, WM_NS_XCEP, "oIDReferenceID", wm_test_pool);
        if (id && !strcmp(id, ref)) {
            return o;
        }
    }
    ck_abort_msg("no oID with oIDReferenceID %s", ref);
    return NULL;
}

START_TEST(xcep_response_states_the_policy)
{
    wm_xcep_conf_t conf = {365, 42};
    const char *xml =
        wm_xcep_response(&conf, "urn:uuid:72048B64", wm_test_pool);
    xmlDocPtr doc = parse_xml(xml);
    xmlNodePtr root = xmlDocGetRootElement(doc), resp, oid;

    ck_assert(wm_xml_is(root, WM_NS_SOAP, "Envelope"));
    ck_assert_str_eq(find_text(root, WM_NS_WSA, "Action"),
                     WM_ACTION_XCEP_RESPONSE);
    ck_assert_str_eq(find_text(root, WM_NS_WSA, "RelatesTo"),
                     "urn:uuid:72048B64");
    resp = find(root, WM_NS_XCEP, "GetPoliciesResponse");
    ck_assert_ptr_nonnull(resp);
    ck_assert_str_eq(find_text(resp, WM_NS_XCEP, "minimalKeyLength"), "2048");
    ck_assert_str_eq(find_text(resp, WM_NS_XCEP, "validityPeriodSeconds"),
                     "31536000");
    ck_assert_str_eq(find_text(resp, WM_NS_XCEP, "renewalPeriodSeconds"),
                     "3628800");
    ck_assert_str_eq(find_text(resp, WM_NS_XCEP, "policySchema"), "3");

    /* the hash algorithm is SHA-256, declared in oIDs (group 1) */
    oid = oid_by_ref(resp,
                     find_text(resp, WM_NS_XCEP, "hashAlgorithmOIDReference"));
    ck_assert_str_eq(wm_xml_child_text(oid, WM_NS_XCEP, "value", wm_test_pool),
                     "2.16.840.1.101.3.4.2.1");
    ck_assert_str_eq(wm_xml_child_text(oid, WM_NS_XCEP, "group", wm_test_pool),
                     "1");
    /* the policy's own OID is an enrollment policy object (group 9) */
    oid = oid_by_ref(resp, find_text(resp, WM_NS_XCEP, "policyOIDReference"));
    ck_assert_str_eq(wm_xml_child_text(oid, WM_NS_XCEP, "group", wm_test_pool),
                     "9");
}
END_TEST

START_TEST(xcep_response_follows_the_schema_order)
{
    static const char *const order[] = {"commonName",
                                        "policySchema",
                                        "certificateValidity",
                                        "permission",
                                        "privateKeyAttributes",
                                        "revision",
                                        "supersededPolicies",
                                        "privateKeyFlags",
                                        "subjectNameFlags",
                                        "enrollmentFlags",
                                        "generalFlags",
                                        "hashAlgorithmOIDReference",
                                        "rARequirements",
                                        "keyArchivalAttributes",
                                        "extensions"};
    wm_xcep_conf_t conf = {30, 7};
    xmlDocPtr doc = parse_xml(wm_xcep_response(&conf, NULL, wm_test_pool));
    xmlNodePtr attrs, c;
    size_t i = 0;

    attrs = find(xmlDocGetRootElement(doc), WM_NS_XCEP, "attributes");
    ck_assert_ptr_nonnull(attrs);
    for (c = wm_xml_child(attrs, NULL, NULL); c;
         c = wm_xml_next(c, NULL, NULL)) {
        ck_assert_uint_lt(i, sizeof(order) / sizeof(order[0]));
        ck_assert_msg(wm_xml_is(c, WM_NS_XCEP, order[i]),
                      "attributes child %u is %s, expected %s", (unsigned)i,
                      (const char *)c->name, order[i]);
        i++;
    }
    ck_assert_uint_eq(i, sizeof(order) / sizeof(order[0]));
}
END_TEST

START_TEST(xcep_check_wants_get_policies)
{
    apr_size_t len;
    const char *err = NULL;

    ck_assert_int_eq(
        wm_xcep_check(parse_env(wm_test_fixture(XCEP_FIXTURE, &len)), &err),
        APR_SUCCESS);
    ck_assert_int_eq(wm_xcep_check(parse_env(rst_fixture()), &err), APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    err = NULL;
    /* the right name in the wrong namespace */
    ck_assert_int_eq(wm_xcep_check(envelope(NULL, "<GetPolicies/>"), &err),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(err);
}
END_TEST

/* ------------------------------------------------- provisioning doc */

static EVP_PKEY *new_rsa(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    ck_assert_ptr_nonnull(k);
    return k;
}

/* A CA certificate for key named cn, signed by issuer_key under issuer's
 * name (itself when issuer is NULL). */
static X509 *make_ca_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
                          EVP_PKEY *issuer_key)
{
    X509 *x = X509_new();
    X509_NAME *name;
    X509V3_CTX ctx;
    X509_EXTENSION *ext;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), issuer ? 2 : 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400L);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                              "critical,CA:TRUE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(x, issuer_key, EVP_sha256()), 0);
    return x;
}

static wm_ca_t *load_ca(X509 *cert, EVP_PKEY *key)
{
    char cpath[] = "/tmp/wm-enr-crt-XXXXXX", kpath[] = "/tmp/wm-enr-key-XXXXXX";
    const char *err = NULL;
    wm_ca_t *ca = NULL;
    apr_status_t rv;
    FILE *f;

    f = fdopen(mkstemp(cpath), "w");
    ck_assert_ptr_nonnull(f);
    PEM_write_X509(f, cert);
    fclose(f);
    f = fdopen(mkstemp(kpath), "w");
    ck_assert_ptr_nonnull(f);
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    rv = wm_ca_load(&ca, cpath, kpath, &err, wm_test_pool);
    unlink(cpath);
    unlink(kpath);
    ck_assert_msg(rv == APR_SUCCESS, "wm_ca_load: %s", err ? err : "?");
    return ca;
}

/* The device CA: a root, or an intermediate under a root made here. */
static wm_ca_t *new_ca(int intermediate)
{
    EVP_PKEY *root_key = new_rsa(), *key;
    X509 *root = make_ca_cert(root_key, "Unit Root", NULL, root_key), *x;
    wm_ca_t *ca;

    if (!intermediate) {
        ca = load_ca(root, root_key);
        ck_assert_int_eq(ca->self_signed, 1);
    }
    else {
        key = new_rsa();
        x = make_ca_cert(key, "Unit Intermediate", root, root_key);
        ca = load_ca(x, key);
        ck_assert_int_eq(ca->self_signed, 0);
        X509_free(x);
        EVP_PKEY_free(key);
    }
    X509_free(root);
    EVP_PKEY_free(root_key);
    return ca;
}

/* A certificate issued to the real device's request. */
static wm_issued_t *issue(const wm_ca_t *ca)
{
    wm_rst_t *rst;
    wm_csr_t *csr;
    wm_issued_t *out = NULL;
    const char *err = NULL;

    ck_assert_int_eq(rst_of(rst_fixture(), &rst, &err), APR_SUCCESS);
    ck_assert_int_eq(wm_csr_parse(&csr, rst->csr_b64, &err, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_msg(wm_cert_issue(&out, ca, csr, rst->device_id, 365, &err,
                                wm_test_pool) == APR_SUCCESS,
                  "wm_cert_issue: %s", err ? err : "?");
    return out;
}

static void fill_doc(wm_provdoc_t *d, const wm_ca_t *ca, const wm_issued_t *c)
{
    memset(d, 0, sizeof(*d));
    d->ca = ca;
    d->cert = c;
    d->provider_id = "mod_winmdm";
    d->mgmt_url = "https://mdm.example.com/ManagementServer/MDM.svc?a=1&b=2";
    d->renew_url = "https://mdm.example.com/EnrollmentServer/Enrollment.svc";
    d->renew_days = 60;
    d->device_id = REAL_DEVICE_ID;
    d->device_secret = "device-secret";
    d->device_nonce = "ZGV2aWNlLW5vbmNl";
    d->server_secret = "server-secret";
    d->server_nonce = "c2VydmVyLW5vbmNl";
    d->upn = "demio@example.com";
    d->device_name = "DESKTOP-28FGAI6";
    d->poll_minutes = 17;
}

/* The characteristic reached from node through the types in path (NULL
 * ended), trying every sibling of the same type (there are two
 * CertificateStore blocks); NULL when there is none. */
static xmlNodePtr characteristic(const xmlNode *node, const char *const *path)
{
    xmlNodePtr c, hit;
    const char *type;

    if (!*path) {
        return (xmlNodePtr)node;
    }
    for (c = wm_xml_child(node, NULL, "characteristic"); c;
         c = wm_xml_next(c, NULL, "characteristic")) {
        type = wm_xml_attr(c, NULL, "type", wm_test_pool);
        if (type && !strcmp(type, *path) &&
            (hit = characteristic(c, path + 1))) {
            return hit;
        }
    }
    return NULL;
}

#define PATH(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The value of the parm named name directly under node; NULL if none. */
static const char *parm(const xmlNode *node, const char *name)
{
    xmlNodePtr c;
    const char *n;

    ck_assert_ptr_nonnull(node);
    for (c = wm_xml_child(node, NULL, "parm"); c;
         c = wm_xml_next(c, NULL, "parm")) {
        n = wm_xml_attr(c, NULL, "name", wm_test_pool);
        if (n && !strcmp(n, name)) {
            return wm_xml_attr(c, NULL, "value", wm_test_pool);
        }
    }
    return NULL;
}

static int count_children(const xmlNode *node, const char *type)
{
    xmlNodePtr c;
    const char *t;
    int n = 0;

    for (c = wm_xml_child(node, NULL, "characteristic"); c;
         c = wm_xml_next(c, NULL, "characteristic")) {
        t = wm_xml_attr(c, NULL, "type", wm_test_pool);
        n += t && !strcmp(t, type);
    }
    return n;
}

static xmlNodePtr build_root(const wm_provdoc_t *d)
{
    const char *xml = wm_provdoc_build(d, wm_test_pool);
    xmlNodePtr root;

    ck_assert_ptr_nonnull(xml);
    root = xmlDocGetRootElement(parse_xml(xml));
    ck_assert(wm_xml_is(root, NULL, "wap-provisioningdoc"));
    ck_assert_str_eq(wm_xml_attr(root, NULL, "version", wm_test_pool), "1.1");
    return root;
}

/* The APPAUTH characteristic of APPLICATION whose AAUTHLEVEL is level. */
static xmlNodePtr appauth(const xmlNode *app, const char *level)
{
    xmlNodePtr c;
    const char *l;

    for (c = wm_xml_child(app, NULL, "characteristic"); c;
         c = wm_xml_next(c, NULL, "characteristic")) {
        l = parm(c, "AAUTHLEVEL");
        if (l && !strcmp(l, level)) {
            return c;
        }
    }
    return NULL;
}

START_TEST(provdoc_user_enrollment)
{
    wm_ca_t *ca = new_ca(0);
    wm_issued_t *cert = issue(ca);
    wm_provdoc_t d;
    xmlNodePtr root, n, app, auth;

    fill_doc(&d, ca, cert);
    root = build_root(&d);

    /* the root CA, and no intermediate store */
    n = characteristic(
        root, PATH("CertificateStore", "Root", "System", ca->sha1_hex));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "EncodedCertificate"), ca->der_b64);
    ck_assert_ptr_null(characteristic(root, PATH("CertificateStore", "CA")));

    /* the device certificate in My/User with its key container */
    n = characteristic(root,
                       PATH("CertificateStore", "My", "User", cert->sha1_hex));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "EncodedCertificate"), cert->der_b64);
    ck_assert_ptr_nonnull(characteristic(
        root, PATH("CertificateStore", "My", "User", "PrivateKeyContainer")));
    ck_assert_ptr_null(
        characteristic(root, PATH("CertificateStore", "My", "System")));

    /* renewal settings */
    n = characteristic(root, PATH("CertificateStore", "My", "WSTEP", "Renew"));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "ROBOSupport"), "true");
    ck_assert_str_eq(parm(n, "RenewPeriod"), "60");
    ck_assert_str_eq(parm(n, "ServerURL"), d.renew_url);

    /* the OMA-DM account */
    ck_assert_int_eq(count_children(root, "APPLICATION"), 1);
    app = characteristic(root, PATH("APPLICATION"));
    ck_assert_ptr_nonnull(app);
    ck_assert_str_eq(parm(app, "APPID"), "w7");
    ck_assert_str_eq(parm(app, "PROVIDER-ID"), "mod_winmdm");
    ck_assert_str_eq(parm(app, "ADDR"), d.mgmt_url);
    ck_assert_str_eq(
        parm(app, "SSLCLIENTCERTSEARCHCRITERIA"),
        wm_provdoc_search_criteria(REAL_DEVICE_ID, 0, wm_test_pool));
    ck_assert_int_eq(count_children(app, "APPAUTH"), 2);
    auth = appauth(app, "CLIENT");
    ck_assert_ptr_nonnull(auth);
    ck_assert_str_eq(parm(auth, "AAUTHTYPE"), "DIGEST");
    ck_assert_str_eq(parm(auth, "AAUTHSECRET"), "server-secret");
    ck_assert_str_eq(parm(auth, "AAUTHDATA"), "c2VydmVyLW5vbmNl");
    auth = appauth(app, "APPSRV");
    ck_assert_ptr_nonnull(auth);
    ck_assert_str_eq(parm(auth, "AAUTHNAME"), REAL_DEVICE_ID);
    ck_assert_str_eq(parm(auth, "AAUTHSECRET"), "device-secret");
    ck_assert_str_eq(parm(auth, "AAUTHDATA"), "ZGV2aWNlLW5vbmNl");

    /* DMClient: the same provider, the DeviceID as EntDMID (DMClient CSP:
     * required before certificate renewal), its poll schedule: never
     * NumberOfFirstRetries 0 (MS-MDE2 2.2.9.3), the remaining set for
     * ever at the configured interval. */
    n = characteristic(root, PATH("DMClient", "Provider", "mod_winmdm"));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "UPN"), "demio@example.com");
    ck_assert_str_eq(parm(n, "EntDeviceName"), "DESKTOP-28FGAI6");
    ck_assert_str_eq(parm(n, "EntDMID"), REAL_DEVICE_ID);
    n = characteristic(n, PATH("Poll"));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "NumberOfFirstRetries"), "5");
    ck_assert_str_eq(parm(n, "IntervalForFirstSetOfRetries"), "3");
    ck_assert_str_eq(parm(n, "NumberOfSecondRetries"), "8");
    ck_assert_str_eq(parm(n, "IntervalForSecondSetOfRetries"), "15");
    ck_assert_str_eq(parm(n, "NumberOfRemainingScheduledRetries"), "0");
    ck_assert_str_eq(parm(n, "IntervalForRemainingScheduledRetries"), "17");
    ck_assert_str_eq(parm(n, "PollOnLogin"), "true");
}
END_TEST

START_TEST(provdoc_device_enrollment_and_intermediate_ca)
{
    wm_ca_t *ca = new_ca(1);
    wm_issued_t *cert = issue(ca);
    wm_provdoc_t d;
    xmlNodePtr root, n;

    fill_doc(&d, ca, cert);
    d.device_context = 1;
    d.upn = NULL;
    d.device_name = NULL;
    root = build_root(&d);

    /* an intermediate goes in CA/System, not Root */
    n = characteristic(root,
                       PATH("CertificateStore", "CA", "System", ca->sha1_hex));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "EncodedCertificate"), ca->der_b64);
    ck_assert_ptr_null(characteristic(root, PATH("CertificateStore", "Root")));

    ck_assert_ptr_nonnull(characteristic(
        root, PATH("CertificateStore", "My", "System", cert->sha1_hex)));
    ck_assert_ptr_nonnull(characteristic(
        root, PATH("CertificateStore", "My", "System", "PrivateKeyContainer")));
    ck_assert_ptr_null(
        characteristic(root, PATH("CertificateStore", "My", "User")));
    ck_assert_str_eq(
        parm(characteristic(root, PATH("APPLICATION")),
             "SSLCLIENTCERTSEARCHCRITERIA"),
        wm_provdoc_search_criteria(REAL_DEVICE_ID, 1, wm_test_pool));

    /* no UPN or device name given: none written */
    n = characteristic(root, PATH("DMClient", "Provider", "mod_winmdm"));
    ck_assert_ptr_nonnull(n);
    ck_assert_ptr_null(parm(n, "UPN"));
    ck_assert_ptr_null(parm(n, "EntDeviceName"));
}
END_TEST

START_TEST(provdoc_escapes_device_values)
{
    wm_ca_t *ca = new_ca(0);
    wm_issued_t *cert = issue(ca);
    const char *name = "Tom's <PC> & \"co\"";
    const char *xml;
    wm_provdoc_t d;
    xmlNodePtr root, n;

    fill_doc(&d, ca, cert);
    d.device_name = name;
    d.provider_id = "A&B <mdm>";
    xml = wm_provdoc_build(&d, wm_test_pool);
    ck_assert_ptr_null(strstr(xml, "<PC>"));
    ck_assert_ptr_null(strstr(xml, "<mdm>"));
    root = build_root(&d);
    n = characteristic(root, PATH("DMClient", "Provider", "A&B <mdm>"));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "EntDeviceName"), name);
    ck_assert_str_eq(
        parm(characteristic(root, PATH("APPLICATION")), "PROVIDER-ID"),
        "A&B <mdm>");
}
END_TEST

START_TEST(provdoc_renewal_has_certificates_only)
{
    wm_ca_t *ca = new_ca(0);
    wm_issued_t *cert = issue(ca);
    wm_provdoc_t d;
    xmlNodePtr root, n;

    fill_doc(&d, ca, cert);
    d.renewal = 1;
    root = build_root(&d);
    ck_assert_ptr_nonnull(characteristic(
        root, PATH("CertificateStore", "Root", "System", ca->sha1_hex)));
    n = characteristic(root,
                       PATH("CertificateStore", "My", "User", cert->sha1_hex));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "EncodedCertificate"), cert->der_b64);
    /* Learn, Certificate Renewal, the example response: the account is
     * named by its PROVIDER-ID and nothing else; the renewal settings
     * are not sent again ("the renewal period can only be set during the
     * MDM enrollment phase"). */
    n = characteristic(root, PATH("APPLICATION"));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "PROVIDER-ID"), "mod_winmdm");
    ck_assert_ptr_null(parm(n, "ADDR"));
    ck_assert_int_eq(count_children(n, "APPAUTH"), 0);
    ck_assert_ptr_null(characteristic(root, PATH("DMClient")));
    ck_assert_ptr_null(characteristic(root, PATH("CertificateStore", "My",
                                                 "WSTEP")));
}
END_TEST

/* Windows 8.1: MS-MDE 3.6's document (t/fixtures/README.md): the
 * certificates, the w7 APPLICATION with ServerList and ROLE, and the
 * Registry settings in place of DMClient; its renewal answer holds only
 * the new certificate (MS-MDE 3.5.4.1.1.2). */
START_TEST(provdoc_windows81_is_ms_mde)
{
    wm_ca_t *ca = new_ca(0);
    wm_issued_t *cert = issue(ca);
    wm_provdoc_t d;
    xmlNodePtr root, n;

    fill_doc(&d, ca, cert);
    d.win81 = 1;
    d.validity_days = 365;
    root = build_root(&d);
    ck_assert_ptr_nonnull(characteristic(
        root, PATH("CertificateStore", "Root", "System", ca->sha1_hex)));
    ck_assert_ptr_nonnull(characteristic(
        root, PATH("CertificateStore", "My", "User", cert->sha1_hex)));
    ck_assert_ptr_null(characteristic(root, PATH("CertificateStore", "My",
                                                 "WSTEP")));
    ck_assert_ptr_null(characteristic(root, PATH("DMClient")));
    n = characteristic(root, PATH("APPLICATION"));
    ck_assert_str_eq(parm(n, "APPID"), "w7");
    ck_assert_str_eq(parm(n, "PROVIDER-ID"), "mod_winmdm");
    ck_assert_str_eq(parm(n, "ServerList"), d.mgmt_url);
    ck_assert_str_eq(parm(n, "ROLE"), "4294967295");
    ck_assert_int_eq(count_children(n, "APPAUTH"), 2);
    n = characteristic(root,
                       PATH("Registry", "HKLM\\Security\\MachineEnrollment"));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "RenewalPeriod"), "305");
    n = characteristic(root, PATH("Registry", "HKLM\\Security\\"
                                              "MachineEnrollment\\OmaDmRetry"));
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(parm(n, "NumRetries"), "5");
    ck_assert_str_eq(parm(n, "Aux2NumRetries"), "0");
    ck_assert_str_eq(parm(n, "Aux2RetryInterval"), "17");
    n = characteristic(root, PATH("Registry", "HKLM\\Software\\Windows\\"
                                              "CurrentVersion\\MDM\\"
                                              "MachineEnrollment"));
    ck_assert_str_eq(parm(n, "DeviceName"), "DESKTOP-28FGAI6");
    n = characteristic(root, PATH("Registry", "HKLM\\SOFTWARE\\Windows\\"
                                              "CurrentVersion\\MDM\\"
                                              "MachineEnrollment"));
    ck_assert_str_eq(parm(n, "SslClientCertHash"), cert->sha1_hex);
    ck_assert_str_eq(parm(n, "SslServerRootCertHash"), ca->sha1_hex);
    ck_assert_str_eq(parm(n, "SslClientCertStore"), "MY%5CUser");
    ck_assert_str_eq(parm(n, "SslClientCertSubjectName"),
                     "CN%3d" REAL_DEVICE_ID);

    d.renewal = 1;
    root = build_root(&d);
    ck_assert_ptr_nonnull(characteristic(
        root, PATH("CertificateStore", "My", "User", cert->sha1_hex)));
    ck_assert_ptr_null(characteristic(root, PATH("CertificateStore", "Root")));
    ck_assert_ptr_null(characteristic(root, PATH("APPLICATION")));
    ck_assert_ptr_null(characteristic(root, PATH("Registry")));
}
END_TEST

START_TEST(provdoc_search_criteria)
{
    ck_assert_str_eq(wm_provdoc_search_criteria("ab c", 0, wm_test_pool),
                     "Subject=CN%3Dab%20c&Stores=My%5CUser");
    ck_assert_str_eq(
        wm_provdoc_search_criteria(REAL_DEVICE_ID, 1, wm_test_pool),
        "Subject=CN%3D" REAL_DEVICE_ID "&Stores=MY%5CSystem");
    ck_assert_str_eq(wm_provdoc_search_criteria("a,b+c&d", 0, wm_test_pool),
                     "Subject=CN%3Da%2Cb%2Bc%26d&Stores=My%5CUser");
}
END_TEST

/* ---------------------------------------------------------- secrets */

START_TEST(secret_tokens_are_base64url)
{
    const char *a = wm_secret_token(wm_test_pool);
    const char *b = wm_secret_token(wm_test_pool);
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "abcdefghijklmnopqrstuvwxyz0123456789_-";

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(strlen(a), 43);
    ck_assert_uint_eq(strspn(a, alphabet), 43);
    ck_assert_uint_eq(strlen(b), 43);
    ck_assert_uint_eq(strspn(b, alphabet), 43);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(secret_random_b64_has_the_bytes_asked)
{
    const char *a = wm_secret_random_b64(16, wm_test_pool);
    const char *b = wm_secret_random_b64(16, wm_test_pool);
    unsigned char *dec;
    apr_size_t len;

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(wm_b64_decode(a, &dec, &len, wm_test_pool), APR_SUCCESS);
    ck_assert_uint_eq(len, 16);
    ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(secret_hashes_known_vectors)
{
    ck_assert_str_eq(wm_secret_sha256_hex("abc", wm_test_pool),
                     "ba7816bf8f01cfea414140de5dae2223"
                     "b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(wm_secret_sha256_hex("", wm_test_pool),
                     "e3b0c44298fc1c149afbf4c8996fb924"
                     "27ae41e4649b934ca495991b7852b855");
    ck_assert_str_eq(wm_secret_md5_hex("abc", wm_test_pool),
                     "900150983cd24fb0d6963f7d28e17f72");
    ck_assert_str_eq(wm_secret_md5_hex("", wm_test_pool),
                     "d41d8cd98f00b204e9800998ecf8427e");
}
END_TEST

START_TEST(secret_equal_compares_whole_strings)
{
    ck_assert_int_ne(wm_secret_equal("s3cret", "s3cret"), 0);
    ck_assert_int_ne(wm_secret_equal("", ""), 0);
    ck_assert_int_eq(wm_secret_equal("s3cret", "s3creT"), 0);
    ck_assert_int_eq(wm_secret_equal("S3cret", "s3cret"), 0);
    ck_assert_int_eq(wm_secret_equal("s3cret", "s3cre"), 0);
    ck_assert_int_eq(wm_secret_equal("s3cre", "s3cret"), 0);
    ck_assert_int_eq(wm_secret_equal("", "x"), 0);
}
END_TEST

Suite *wm_test_enroll_suite(void)
{
    Suite *s = suite_create("enroll");
    TCase *wssec = tcase_create("wssec");
    TCase *wstep = tcase_create("wstep");
    TCase *xcep = tcase_create("xcep");
    TCase *provdoc = tcase_create("provdoc");
    TCase *secret = tcase_create("secret");

    wm_test_pool_fixture(wssec);
    tcase_add_test(wssec, wssec_decodes_a_base64_user_token);
    tcase_add_test(wssec, wssec_takes_a_raw_base64url_token_as_is);
    tcase_add_test(wssec, wssec_accepts_wsse_prefixed_value_type);
    tcase_add_test(wssec, wssec_refuses_unknown_value_type);
    tcase_add_test(wssec, wssec_reads_real_username_token);
    tcase_add_test(wssec, wssec_refuses_username_token_without_username);
    tcase_add_test(wssec, wssec_without_security_header_has_no_credential);
    tcase_add_test(wssec, wssec_refuses_two_credentials);
    suite_add_tcase(s, wssec);

    wm_test_pool_fixture(wstep);
    tcase_add_test(wstep, wstep_parses_real_capture);
    tcase_add_test(wstep, wstep_reads_device_context);
    tcase_add_test(wstep, wstep_requires_a_usable_device_id);
    tcase_add_test(wstep, wstep_refuses_wrong_token_and_request_types);
    tcase_add_test(wstep, wstep_renewal_needs_no_device_id);
    tcase_add_test(wstep, wstep_response_carries_the_provisioning_doc);
    suite_add_tcase(s, wstep);

    wm_test_pool_fixture(xcep);
    tcase_add_test(xcep, xcep_response_states_the_policy);
    tcase_add_test(xcep, xcep_response_follows_the_schema_order);
    tcase_add_test(xcep, xcep_check_wants_get_policies);
    suite_add_tcase(s, xcep);

    wm_test_pool_fixture(provdoc);
    tcase_set_timeout(provdoc, 60);
    tcase_add_test(provdoc, provdoc_user_enrollment);
    tcase_add_test(provdoc, provdoc_device_enrollment_and_intermediate_ca);
    tcase_add_test(provdoc, provdoc_escapes_device_values);
    tcase_add_test(provdoc, provdoc_renewal_has_certificates_only);
    tcase_add_test(provdoc, provdoc_windows81_is_ms_mde);
    tcase_add_test(provdoc, provdoc_search_criteria);
    suite_add_tcase(s, provdoc);

    wm_test_pool_fixture(secret);
    tcase_add_test(secret, secret_tokens_are_base64url);
    tcase_add_test(secret, secret_random_b64_has_the_bytes_asked);
    tcase_add_test(secret, secret_hashes_known_vectors);
    tcase_add_test(secret, secret_equal_compares_whole_strings);
    suite_add_tcase(s, secret);
    return s;
}
