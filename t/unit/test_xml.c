/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Safe XML parsing: what DESIGN.md section 5 refuses is refused. */

#include <string.h>

#include <apr_strings.h>

#include "wm_xml.h"
#include "unit.h"

static const wm_xml_limits_t soap_lim = {65536, 32, 0};
static const wm_xml_limits_t syncml_lim = {65536, 32, 1};

static apr_status_t parse(const char *s, const wm_xml_limits_t *lim,
                          const char **perr)
{
    xmlDocPtr doc;
    return wm_xml_parse(&doc, s, strlen(s), lim, perr, wm_test_pool);
}

START_TEST(parses_plain_document)
{
    xmlDocPtr doc;
    const char *err;
    const char *s = "<a xmlns=\"urn:x\"><b> text\n</b><c k=\"v\"/></a>";
    xmlNodePtr root;

    ck_assert_int_eq(
        wm_xml_parse(&doc, s, strlen(s), &soap_lim, &err, wm_test_pool),
        APR_SUCCESS);
    root = xmlDocGetRootElement(doc);
    ck_assert(wm_xml_is(root, "urn:x", "a"));
    ck_assert_str_eq(wm_xml_child_text(root, "urn:x", "b", wm_test_pool),
                     "text");
    ck_assert_str_eq(
        wm_xml_attr(wm_xml_child(root, NULL, "c"), NULL, "k", wm_test_pool),
        "v");
    ck_assert_ptr_null(wm_xml_child(root, "urn:other", "b"));
}
END_TEST

START_TEST(refuses_xxe)
{
    const char *err;
    const char *xxe = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM "
                      "\"file:///etc/passwd\">]><a>&x;</a>";
    ck_assert_int_eq(parse(xxe, &soap_lim, &err), APR_EINVAL);
    ck_assert_str_eq(err, "a DOCTYPE is not allowed");
    /* Where a DOCTYPE is allowed, the entity declaration still is not. */
    ck_assert_int_eq(parse(xxe, &syncml_lim, &err), APR_EINVAL);
    ck_assert_str_eq(err, "entity declarations are not allowed");
}
END_TEST

START_TEST(refuses_billion_laughs)
{
    const char *err;
    const char *bomb =
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
        "<lolz>&lol3;</lolz>";
    ck_assert_int_eq(parse(bomb, &syncml_lim, &err), APR_EINVAL);
    ck_assert_str_eq(err, "entity declarations are not allowed");
}
END_TEST

START_TEST(allows_bare_doctype_only_when_asked)
{
    const char *err;
    const char *s = "<!DOCTYPE SyncML PUBLIC \"-//SYNCML//DTD SyncML 1.2//EN\" "
                    "\"http://www.openmobilealliance.org/tech/DTD/"
                    "OMA-TS-SyncML_RepPro_DTD-V1_2.dtd\"><SyncML/>";
    ck_assert_int_eq(parse(s, &syncml_lim, &err), APR_SUCCESS);
    ck_assert_int_eq(parse(s, &soap_lim, &err), APR_EINVAL);
}
END_TEST

START_TEST(refuses_deep_nesting)
{
    char *s = apr_palloc(wm_test_pool, 100 * 7 + 1), *o = s;
    const char *err;
    int i;

    for (i = 0; i < 100; i++) {
        memcpy(o, "<a>", 3), o += 3;
    }
    for (i = 0; i < 100; i++) {
        memcpy(o, "</a>", 4), o += 4;
    }
    *o = '\0';
    ck_assert_int_eq(parse(s, &soap_lim, &err), APR_EINVAL);
    ck_assert_str_eq(err, "elements nested too deeply");
}
END_TEST

START_TEST(refuses_oversize_empty_and_malformed)
{
    wm_xml_limits_t tiny = {8, 32, 0};
    const char *err;

    ck_assert_int_eq(parse("<abcdefgh/>", &tiny, &err), APR_ENOSPC);
    ck_assert_int_eq(parse("", &soap_lim, &err), APR_EINVAL);
    ck_assert_int_eq(parse("<a><b></a>", &soap_lim, &err), APR_EINVAL);
    ck_assert_msg(!strncmp(err, "malformed XML", 13), "%s", err);
    ck_assert_int_eq(parse("<a>&undeclared;</a>", &soap_lim, &err), APR_EINVAL);
    ck_assert_int_eq(parse("<a>\xff\xfe</a>", &soap_lim, &err), APR_EINVAL);
}
END_TEST

START_TEST(escapes_markup)
{
    ck_assert_str_eq(wm_xml_escape("a<b>&\"c'", wm_test_pool),
                     "a&lt;b&gt;&amp;&quot;c&apos;");
    ck_assert_str_eq(wm_xml_escape("plain", wm_test_pool), "plain");
    ck_assert_str_eq(wm_xml_escape(NULL, wm_test_pool), "");
}
END_TEST

Suite *wm_test_xml_suite(void)
{
    Suite *s = suite_create("xml");
    TCase *tc = tcase_create("parse");

    wm_test_pool_fixture(tc);
    tcase_add_test(tc, parses_plain_document);
    tcase_add_test(tc, refuses_xxe);
    tcase_add_test(tc, refuses_billion_laughs);
    tcase_add_test(tc, allows_bare_doctype_only_when_asked);
    tcase_add_test(tc, refuses_deep_nesting);
    tcase_add_test(tc, refuses_oversize_empty_and_malformed);
    tcase_add_test(tc, escapes_markup);
    suite_add_tcase(s, tc);
    return s;
}
