/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The SyncML parser and reply builder (wm_syncml.h) beyond the header:
 * the commands of a SyncBody with their items, Meta, Data as text or as
 * markup, MoreData, nested Atomic and Sequence and the nesting limit,
 * Final, the Cred, LocName and MaxMsgSize of SyncHdr; and the reply: the
 * SyncHdr Status first as s1 even when set last, its Chal, the server's
 * own CmdIDs, the size accounting, and the reply parsing back. */

#include <string.h>

#include <apr_strings.h>

#include "wm_syncml.h"
#include "wm_xml.h"
#include "unit.h"

#define DEV_ID "DEV-0001"
#define SERVER "https://mdm.example.test/devicemgt"
#define MI " xmlns=\"syncml:metinf\""
#define CLOSING_FINAL "<Final/></SyncBody></SyncML>"
#define CLOSING "</SyncBody></SyncML>"

/* ---------------------------------------------------------- helpers */

static const char *hdr_xml(const char *extra)
{
    return apr_pstrcat(wm_test_pool,
                       "<SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2"
                       "</VerProto><SessionID>1A</SessionID><MsgID>3</MsgID>"
                       "<Target><LocURI>" SERVER "</LocURI></Target><Source>"
                       "<LocURI>" DEV_ID "</LocURI></Source>",
                       extra, "</SyncHdr>", NULL);
}

static const char *message(const char *hdr_extra, const char *body)
{
    return apr_pstrcat(wm_test_pool, "<SyncML xmlns=\"" WM_NS_SYNCML "\">",
                       hdr_xml(hdr_extra), "<SyncBody>", body,
                       "</SyncBody></SyncML>", NULL);
}

static wm_syncml_msg_t *parse_ok(const char *xml)
{
    wm_syncml_msg_t *msg = NULL;
    const char *err = NULL;

    ck_assert_msg(wm_syncml_parse(&msg, xml, strlen(xml), 1 << 20, &err,
                                  wm_test_pool) == APR_SUCCESS,
                  "wm_syncml_parse: %s", err ? err : "?");
    ck_assert_ptr_nonnull(msg);
    return msg;
}

static wm_sml_cmd_t *cmd_at(const apr_array_header_t *cmds, int i)
{
    ck_assert_int_gt(cmds->nelts, i);
    return APR_ARRAY_IDX(cmds, i, wm_sml_cmd_t *);
}

static wm_sml_item_t *item_at(const wm_sml_cmd_t *c, int i)
{
    ck_assert_int_gt(c->items->nelts, i);
    return APR_ARRAY_IDX(c->items, i, wm_sml_item_t *);
}

static const char *chal_nonce(const wm_sml_cmd_t *c)
{
    ck_assert_ptr_nonnull(c->chal);
    return wm_xml_child_text(wm_xml_child(c->chal, NULL, "Meta"), NULL,
                             "NextNonce", wm_test_pool);
}

/* n containers, each holding the next, the innermost a Replace. */
static const char *nested(int n, const char *kind)
{
    const char *s = "<Replace><CmdID>99</CmdID><Item><Target><LocURI>./a"
                    "</LocURI></Target></Item></Replace>";
    int i;

    for (i = 0; i < n; i++) {
        s = apr_psprintf(wm_test_pool, "<%s><CmdID>%d</CmdID>%s</%s>", kind,
                         i + 2, s, kind);
    }
    return s;
}

/* ----------------------------------------------------------- parsing */

#define BODY                                                                   \
    "<Status><CmdID>1</CmdID><MsgRef>2</MsgRef><CmdRef>0</CmdRef>"             \
    "<Cmd>SyncHdr</Cmd><Chal><Meta><Format" MI ">b64</Format><Type" MI         \
    ">syncml:auth-md5</Type><NextNonce" MI ">Tk9OQ0U=</NextNonce></Meta>"      \
    "</Chal><Data>200</Data></Status>"                                         \
    "<Results><CmdID>2</CmdID><MsgRef>2</MsgRef><CmdRef>7.1</CmdRef>"          \
    "<Cmd>Get</Cmd><Meta><Type" MI ">text/plain</Type><Format" MI              \
    ">chr</Format></Meta><Item><Source><LocURI>./DevInfo/Man</LocURI>"         \
    "</Source><Meta><Format" MI ">chr</Format><Type" MI ">text/plain</Type>"   \
    "</Meta><Bogus>skipped</Bogus><Data> Contoso &amp; Co </Data></Item>"      \
    "<Item><Source><LocURI>./Vendor/MSFT/Policy/Result</LocURI></Source>"      \
    "<Meta><Format" MI ">xml</Format></Meta><Data><Policy xmlns=\"urn:x\">"    \
    "<Value a=\"1\">v &amp; w</Value></Policy></Data></Item>"                  \
    "<Item><Source><LocURI>./Big</LocURI></Source><Data>chunk1</Data>"         \
    "<MoreData/></Item></Results>"                                             \
    "<Alert><CmdID>3</CmdID><Data>1226</Data><Item><Source><LocURI>"           \
    "./Vendor/MSFT/X</LocURI></Source><Meta><Type" MI                          \
    ">Reversed-Domain-Name:com.x</Type><Format" MI ">int</Format></Meta>"      \
    "<Data>0</Data></Item></Alert>"                                            \
    "<Replace><CmdID>4</CmdID><Item><Target><LocURI>./a</LocURI></Target>"     \
    "</Item><Item><Target><LocURI>./b</LocURI></Target><Data>&lt;x/&gt;"       \
    "</Data></Item></Replace>"                                                 \
    "<Atomic><CmdID>5</CmdID><Meta><Format" MI ">chr</Format></Meta>"          \
    "<Replace><CmdID>6</CmdID><Item><Target><LocURI>./c</LocURI></Target>"     \
    "<Data>1</Data></Item></Replace><Sequence><CmdID>7</CmdID><Exec>"          \
    "<CmdID>8</CmdID><Item><Target><LocURI>./d</LocURI></Target></Item>"       \
    "</Exec></Sequence></Atomic>"                                              \
    "<Get><Item><Target><LocURI>./e</LocURI></Target></Item></Get>"            \
    "<Final/>"

START_TEST(parses_commands_items_and_meta)
{
    wm_syncml_msg_t *msg = parse_ok(message("", BODY));
    wm_sml_cmd_t *c, *k;
    wm_sml_item_t *it;

    ck_assert_int_eq(msg->final, 1);
    ck_assert_int_eq(msg->cmds->nelts, 6);

    c = cmd_at(msg->cmds, 0);
    ck_assert_str_eq(c->name, "Status");
    ck_assert_str_eq(c->cmd_id, "1");
    ck_assert_str_eq(c->msg_ref, "2");
    ck_assert_str_eq(c->cmd_ref, "0");
    ck_assert_str_eq(c->cmd, "SyncHdr");
    ck_assert_str_eq(c->data, "200");
    ck_assert_str_eq(chal_nonce(c), "Tk9OQ0U=");
    ck_assert_int_eq(c->items->nelts, 0);

    c = cmd_at(msg->cmds, 1);
    ck_assert_str_eq(c->name, "Results");
    ck_assert_str_eq(c->cmd_ref, "7.1");
    ck_assert_str_eq(c->cmd, "Get");
    ck_assert_str_eq(c->meta_type, "text/plain");
    ck_assert_str_eq(c->meta_format, "chr");
    ck_assert_ptr_null(c->chal);
    ck_assert_ptr_null(c->data);
    ck_assert_ptr_null(c->children);
    ck_assert_int_eq(c->items->nelts, 3);
    it = item_at(c, 0);
    ck_assert_str_eq(it->source, "./DevInfo/Man");
    ck_assert_ptr_null(it->target);
    ck_assert_str_eq(it->meta_format, "chr");
    ck_assert_str_eq(it->meta_type, "text/plain");
    /* Text is unescaped and kept as the device sent it, spaces too. */
    ck_assert_str_eq(it->data, " Contoso & Co ");
    ck_assert_int_eq(it->more_data, 0);
    /* A Data holding markup is that markup. */
    it = item_at(c, 1);
    ck_assert_str_eq(it->meta_format, "xml");
    ck_assert_ptr_null(it->meta_type);
    ck_assert_str_eq(it->data, "<Policy xmlns=\"urn:x\"><Value a=\"1\">"
                               "v &amp; w</Value></Policy>");
    it = item_at(c, 2);
    ck_assert_str_eq(it->data, "chunk1");
    ck_assert_int_eq(it->more_data, 1);

    c = cmd_at(msg->cmds, 2);
    ck_assert_str_eq(c->name, "Alert");
    ck_assert_str_eq(c->data, "1226");
    ck_assert_ptr_null(c->meta_type);
    it = item_at(c, 0);
    ck_assert_str_eq(it->source, "./Vendor/MSFT/X");
    ck_assert_str_eq(it->meta_type, "Reversed-Domain-Name:com.x");
    ck_assert_str_eq(it->meta_format, "int");
    ck_assert_str_eq(it->data, "0");

    c = cmd_at(msg->cmds, 3);
    ck_assert_str_eq(c->name, "Replace");
    ck_assert_int_eq(c->items->nelts, 2);
    ck_assert_str_eq(item_at(c, 0)->target, "./a");
    ck_assert_ptr_null(item_at(c, 0)->data);
    /* Escaped markup is text. */
    ck_assert_str_eq(item_at(c, 1)->data, "<x/>");

    c = cmd_at(msg->cmds, 4);
    ck_assert_str_eq(c->name, "Atomic");
    ck_assert_str_eq(c->cmd_id, "5");
    ck_assert_str_eq(c->meta_format, "chr");
    ck_assert_ptr_nonnull(c->children);
    ck_assert_int_eq(c->children->nelts, 2);
    k = cmd_at(c->children, 0);
    ck_assert_str_eq(k->name, "Replace");
    ck_assert_str_eq(k->cmd_id, "6");
    ck_assert_str_eq(item_at(k, 0)->data, "1");
    k = cmd_at(c->children, 1);
    ck_assert_str_eq(k->name, "Sequence");
    ck_assert_int_eq(k->children->nelts, 1);
    ck_assert_str_eq(cmd_at(k->children, 0)->name, "Exec");
    ck_assert_str_eq(cmd_at(k->children, 0)->cmd_id, "8");
    ck_assert_str_eq(item_at(cmd_at(k->children, 0), 0)->target, "./d");

    /* A command without CmdID is kept, CmdID NULL (the server answers
     * it 400). */
    c = cmd_at(msg->cmds, 5);
    ck_assert_str_eq(c->name, "Get");
    ck_assert_ptr_null(c->cmd_id);
}
END_TEST

START_TEST(reads_the_header)
{
    wm_syncml_msg_t *msg;

    msg = parse_ok(message(
        "<Cred><Meta><Format" MI ">b64</Format><Type" MI ">syncml:auth-md5"
        "</Type></Meta><Data> ZGlnZXN0 </Data></Cred><Meta><MaxMsgSize" MI
        ">1500</MaxMsgSize><MaxObjSize" MI ">4000000</MaxObjSize></Meta>"
        "<Unknown>skipped</Unknown>",
        "<Final/>"));
    ck_assert_str_eq(msg->hdr.ver_dtd, "1.2");
    ck_assert_str_eq(msg->hdr.ver_proto, "DM/1.2");
    ck_assert_str_eq(msg->hdr.session_id, "1A");
    ck_assert_str_eq(msg->hdr.msg_id, "3");
    ck_assert_str_eq(msg->hdr.target_uri, SERVER);
    ck_assert_str_eq(msg->hdr.source_uri, DEV_ID);
    ck_assert_ptr_null(msg->hdr.source_name);
    ck_assert_str_eq(msg->hdr.cred_type, "syncml:auth-md5");
    ck_assert_str_eq(msg->hdr.cred_format, "b64");
    ck_assert_str_eq(msg->hdr.cred_data, "ZGlnZXN0");
    ck_assert(msg->hdr.max_msg_size == 1500);
    ck_assert_int_eq(msg->cmds->nelts, 0);
    ck_assert_int_eq(msg->final, 1);

    /* LocName; a Cred without Data is an empty credential, not none. */
    msg = parse_ok(apr_pstrcat(
        wm_test_pool,
        "<SyncML><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>"
        "<SessionID>2</SessionID><MsgID>1</MsgID><Target><LocURI>x</LocURI>"
        "</Target><Source><LocURI>" DEV_ID "</LocURI><LocName>" DEV_ID
        "</LocName></Source><Cred><Meta><Type>syncml:auth-md5</Type></Meta>"
        "</Cred><Meta><MaxMsgSize>-5</MaxMsgSize></Meta></SyncHdr><SyncBody>"
        "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert></SyncBody>"
        "</SyncML>",
        NULL));
    ck_assert_str_eq(msg->hdr.source_name, DEV_ID);
    /* Meta children are read without a namespace too. */
    ck_assert_str_eq(msg->hdr.cred_type, "syncml:auth-md5");
    ck_assert_ptr_null(msg->hdr.cred_format);
    ck_assert_str_eq(msg->hdr.cred_data, "");
    ck_assert(msg->hdr.max_msg_size == 0);
    ck_assert_int_eq(msg->final, 0);
    ck_assert_int_eq(msg->cmds->nelts, 1);
    ck_assert_str_eq(cmd_at(msg->cmds, 0)->data, "1201");

    /* No Cred, no Meta. */
    msg = parse_ok(message("", "<Final/>"));
    ck_assert_ptr_null(msg->hdr.cred_type);
    ck_assert_ptr_null(msg->hdr.cred_data);
    ck_assert(msg->hdr.max_msg_size == 0);
}
END_TEST

START_TEST(refuses_bad_headers_and_oversize)
{
    wm_syncml_msg_t *msg;
    const char *err, *xml;
    char long_id[70];

    memset(long_id, 'A', 65);
    long_id[65] = '\0';
    xml = apr_pstrcat(wm_test_pool, "<SyncML><SyncHdr><SessionID>", long_id,
                      "</SessionID><MsgID>1</MsgID><Source><LocURI>d</LocURI>"
                      "</Source></SyncHdr><SyncBody/></SyncML>",
                      NULL);
    err = NULL;
    ck_assert_int_eq(
        wm_syncml_parse(&msg, xml, strlen(xml), 65536, &err, wm_test_pool),
        APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    xml = "<SyncML><SyncHdr><SessionID>1</SessionID><MsgID>"
          "12345678901234567</MsgID><Source><LocURI>d</LocURI></Source>"
          "</SyncHdr><SyncBody/></SyncML>";
    ck_assert_int_eq(
        wm_syncml_parse(&msg, xml, strlen(xml), 65536, &err, wm_test_pool),
        APR_EINVAL);
    xml = "<SyncML><SyncHdr><SessionID>1</SessionID><MsgID>1</MsgID><Source>"
          "<LocURI>d</LocURI></Source></SyncHdr></SyncML>";
    ck_assert_int_eq(
        wm_syncml_parse(&msg, xml, strlen(xml), 65536, &err, wm_test_pool),
        APR_EINVAL);
    xml = message("", "<Final/>");
    ck_assert_int_eq(wm_syncml_parse(&msg, xml, strlen(xml), strlen(xml) - 1,
                                     &err, wm_test_pool),
                     APR_ENOSPC);
    ck_assert_ptr_null(msg);
}
END_TEST

START_TEST(refuses_nesting_deeper_than_the_limit)
{
    wm_syncml_msg_t *msg;
    apr_array_header_t *cmds;
    const char *err, *xml;
    wm_sml_cmd_t *c;
    int depth = 0;

    /* WM_SYNCML_MAX_NEST containers, one in the other: a message. */
    msg = parse_ok(message("", nested(WM_SYNCML_MAX_NEST, "Atomic")));
    for (c = cmd_at(msg->cmds, 0); c->children; c = cmd_at(c->children, 0)) {
        depth++;
    }
    ck_assert_int_eq(depth, WM_SYNCML_MAX_NEST);
    ck_assert_str_eq(c->name, "Replace");

    /* One more is not. */
    xml = message("", nested(WM_SYNCML_MAX_NEST + 1, "Sequence"));
    err = NULL;
    ck_assert_int_eq(
        wm_syncml_parse(&msg, xml, strlen(xml), 1 << 20, &err, wm_test_pool),
        APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(msg);
    err = NULL;
    ck_assert_int_eq(wm_syncml_parse_commands(
                         &cmds, nested(WM_SYNCML_MAX_NEST + 1, "Atomic"),
                         1 << 20, &err, wm_test_pool),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(err);
    ck_assert_int_eq(
        wm_syncml_parse_commands(&cmds, nested(WM_SYNCML_MAX_NEST, "Atomic"),
                                 1 << 20, &err, wm_test_pool),
        APR_SUCCESS);
}
END_TEST

/* ------------------------------------------------------------- reply */

static wm_syncml_hdr_t *device_hdr(void)
{
    wm_syncml_hdr_t *h = apr_pcalloc(wm_test_pool, sizeof(*h));

    h->session_id = "1A";
    h->msg_id = "4";
    h->source_uri = DEV_ID;
    h->target_uri = SERVER;
    return h;
}

#define RAW_GET                                                                \
    "<Get><CmdID>42</CmdID><Item><Target><LocURI>./DevInfo/Man</LocURI>"       \
    "</Target></Item></Get>"

START_TEST(reply_puts_the_header_status_first)
{
    wm_sml_reply_t *rp =
        wm_sml_reply_new(device_hdr(), "4", SERVER, wm_test_pool);
    wm_syncml_msg_t *back;
    const char *out;
    apr_size_t size, len;
    wm_sml_cmd_t *c;
    int i, j;

    wm_sml_reply_status(rp, "4", "2", "Alert", WM_SC_OK);
    wm_sml_reply_status(rp, "4", "3", "Replace", WM_SC_NOT_SUPPORTED);
    wm_sml_reply_alert(rp, 1222);
    wm_sml_reply_raw(rp, RAW_GET);
    /* Set last, sent first. */
    wm_sml_reply_hdr_status(rp, WM_SC_OK, "Tk9OQ0U=");
    size = wm_sml_reply_size(rp);
    out = wm_sml_reply_finish(rp, 1, &len);
    ck_assert_uint_eq(len, strlen(out));
    ck_assert_uint_eq(size, len - strlen(CLOSING_FINAL));
    ck_assert_uint_le(len - size, WM_SML_REPLY_CLOSING);

    back = parse_ok(out);
    ck_assert_str_eq(back->hdr.session_id, "1A");
    ck_assert_str_eq(back->hdr.msg_id, "4");
    ck_assert_str_eq(back->hdr.target_uri, DEV_ID);
    ck_assert_str_eq(back->hdr.source_uri, SERVER);
    ck_assert_int_eq(back->final, 1);
    ck_assert_int_eq(back->cmds->nelts, 5);

    c = cmd_at(back->cmds, 0);
    ck_assert_str_eq(c->name, "Status");
    ck_assert_str_eq(c->cmd_id, "s1");
    ck_assert_str_eq(c->msg_ref, "4");
    ck_assert_str_eq(c->cmd_ref, "0");
    ck_assert_str_eq(c->cmd, "SyncHdr");
    ck_assert_str_eq(c->data, "200");
    ck_assert_str_eq(chal_nonce(c), "Tk9OQ0U=");
    ck_assert_str_eq(wm_xml_child_text(wm_xml_child(c->chal, NULL, "Meta"),
                                       NULL, "Type", wm_test_pool),
                     "syncml:auth-md5");
    ck_assert_str_eq(wm_xml_child_text(wm_xml_child(c->chal, NULL, "Meta"),
                                       NULL, "Format", wm_test_pool),
                     "b64");

    c = cmd_at(back->cmds, 1);
    ck_assert_str_eq(c->name, "Status");
    ck_assert_str_eq(c->cmd_ref, "2");
    ck_assert_str_eq(c->cmd, "Alert");
    ck_assert_str_eq(c->data, "200");
    ck_assert_ptr_null(c->chal);
    c = cmd_at(back->cmds, 2);
    ck_assert_str_eq(c->cmd_ref, "3");
    ck_assert_str_eq(c->data, "406");
    c = cmd_at(back->cmds, 3);
    ck_assert_str_eq(c->name, "Alert");
    ck_assert_str_eq(c->data, "1222");
    c = cmd_at(back->cmds, 4);
    ck_assert_str_eq(c->name, "Get");
    ck_assert_str_eq(c->cmd_id, "42");
    ck_assert_str_eq(item_at(c, 0)->target, "./DevInfo/Man");

    /* The server's own CmdIDs: "s<n>", unique, never an operation's. */
    for (i = 0; i < back->cmds->nelts; i++) {
        const char *id = cmd_at(back->cmds, i)->cmd_id;
        ck_assert_ptr_nonnull(id);
        if (i < 4) {
            ck_assert_int_eq(id[0], 's');
        }
        for (j = 0; j < i; j++) {
            ck_assert_str_ne(id, cmd_at(back->cmds, j)->cmd_id);
        }
    }
}
END_TEST

START_TEST(reply_size_follows_every_change)
{
    wm_sml_reply_t *rp =
        wm_sml_reply_new(device_hdr(), "4", SERVER, wm_test_pool);
    wm_syncml_msg_t *back;
    const char *out;
    apr_size_t size, len;

    /* A 407 with a challenge, replaced by a 200 without one: one SyncHdr
     * Status, and the size follows. */
    wm_sml_reply_hdr_status(rp, WM_SC_MISSING_CRED, "Tk9OQ0U=");
    wm_sml_reply_status(rp, "4", "", "Get", WM_SC_BAD_REQUEST);
    wm_sml_reply_hdr_status(rp, WM_SC_OK, NULL);
    size = wm_sml_reply_size(rp);
    out = wm_sml_reply_finish(rp, 0, &len);
    ck_assert_uint_eq(len, strlen(out));
    ck_assert_uint_eq(size, len - strlen(CLOSING));
    back = parse_ok(out);
    ck_assert_int_eq(back->final, 0);
    ck_assert_int_eq(back->cmds->nelts, 2);
    ck_assert_str_eq(cmd_at(back->cmds, 0)->cmd_id, "s1");
    ck_assert_str_eq(cmd_at(back->cmds, 0)->data, "200");
    ck_assert_ptr_null(cmd_at(back->cmds, 0)->chal);
    /* The blank CmdRef of a command that had no CmdID. */
    ck_assert_str_eq(cmd_at(back->cmds, 1)->cmd_ref, "");
    ck_assert_str_eq(cmd_at(back->cmds, 1)->data, "400");
    ck_assert_ptr_null(strstr(out, "Tk9OQ0U="));
}
END_TEST

START_TEST(reply_escapes_device_values)
{
    wm_syncml_hdr_t *h = device_hdr();
    wm_sml_reply_t *rp;
    wm_syncml_msg_t *back;
    const char *out;
    apr_size_t size, len;

    h->session_id = "<&>";
    h->msg_id = "\"1'";
    h->source_uri = "DEV&<1>";
    rp = wm_sml_reply_new(h, h->msg_id, SERVER "?a=1&b=2", wm_test_pool);
    wm_sml_reply_status(rp, h->msg_id, "a<b", "Alert", WM_SC_OK);
    wm_sml_reply_hdr_status(rp, WM_SC_INVALID_CRED, "a&b");
    size = wm_sml_reply_size(rp);
    out = wm_sml_reply_finish(rp, 1, &len);
    ck_assert_uint_eq(size, len - strlen(CLOSING_FINAL));
    back = parse_ok(out);
    ck_assert_str_eq(back->hdr.session_id, "<&>");
    ck_assert_str_eq(back->hdr.msg_id, "\"1'");
    ck_assert_str_eq(back->hdr.target_uri, "DEV&<1>");
    ck_assert_str_eq(back->hdr.source_uri, SERVER "?a=1&b=2");
    ck_assert_str_eq(cmd_at(back->cmds, 0)->msg_ref, "\"1'");
    ck_assert_str_eq(cmd_at(back->cmds, 0)->data, "401");
    ck_assert_str_eq(chal_nonce(cmd_at(back->cmds, 0)), "a&b");
    ck_assert_str_eq(cmd_at(back->cmds, 1)->cmd_ref, "a<b");
}
END_TEST

Suite *wm_test_syncml2_suite(void)
{
    Suite *s = suite_create("syncml2");
    TCase *parse = tcase_create("parse");
    TCase *reply = tcase_create("reply");

    wm_test_pool_fixture(parse);
    tcase_add_test(parse, parses_commands_items_and_meta);
    tcase_add_test(parse, reads_the_header);
    tcase_add_test(parse, refuses_bad_headers_and_oversize);
    tcase_add_test(parse, refuses_nesting_deeper_than_the_limit);
    suite_add_tcase(s, parse);

    wm_test_pool_fixture(reply);
    tcase_add_test(reply, reply_puts_the_header_status_first);
    tcase_add_test(reply, reply_size_follows_every_change);
    tcase_add_test(reply, reply_escapes_device_values);
    suite_add_tcase(s, reply);
    return s;
}
