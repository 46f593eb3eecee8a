/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The OMA-DM session logic (wm_dm.h) on a real SQLite store, as the glue
 * drives it: device messages are written here as strings, parsed with the
 * core's SyncML parser and handed to wm_dm_message with the certificate the
 * glue would have checked; every reply is parsed back. Covered: who the
 * device is (certificate, MD5 digest with its nonces, refusals), what its
 * statuses, results and alerts do to the queue and the inventory, and
 * which operations go out, in what order, under which CmdIDs and within
 * which MaxMsgSize (spec/syncml.md sections 2 to 7, DESIGN.md section 1). */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "wm_digest.h"
#include "wm_dm.h"
#include "wm_ops.h"
#include "wm_secret.h"
#include "wm_store.h"
#include "wm_syncml.h"
#include "wm_xml.h"
#include "unit.h"

#define DEV_A "DEV-A"
#define DEV_B "DEV-B"
#define REAL_ID "B5B954E81FBCB94EB79BD08BE625F4EE"
#define SECRET "secret"
#define SHA1_A "0123456789ABCDEF0123456789ABCDEF01234567"
#define SHA1_B "89ABCDEF0123456789ABCDEF0123456789ABCDEF"
#define NONCE "AAECAwQFBgcICQoLDA0ODw=="
#define SERVER "https://mdm.example.test/devicemgt"
#define NOW APR_INT64_C(1700000000)
#define MI " xmlns=\"syncml:metinf\""
#define ALERT_1201 "<Alert><CmdID>1</CmdID><Data>1201</Data></Alert>"

static const apr_dbd_driver_t *driver;
static char dbdir[64];
static char dbpath[96];
static wm_dm_conf_t conf;

/* apr_dbd_open_ex ties nothing to the pool (mod_dbd closes its own
 * connections), so each connection a test opens is closed with the test's
 * pool; otherwise every test leaks its SQLite connection (make valgrind).
 * Registered before the store prepares its statements on the same pool:
 * cleanups run last-in first-out, so the statements are finalized before
 * the connection closes, which SQLite requires. */
static apr_status_t close_handle(void *handle)
{
    apr_dbd_close(driver, handle);
    return APR_SUCCESS;
}

/* ---------------------------------------------------------- fixtures */

/* The database of each test lives in a directory made for the test case
 * and removed with everything in it by the runner (the parent process),
 * so a failing test leaves no file behind either. */
static void dir_setup(void)
{
    apr_cpystrn(dbdir, "/tmp/wm-unit-dm-XXXXXX", sizeof(dbdir));
    ck_assert_ptr_nonnull(mkdtemp(dbdir));
}

static void dir_teardown(void)
{
    static const char *const files[] = {"dm.db", "dm.db-wal", "dm.db-shm",
                                        "dm.db-journal", NULL};
    char path[sizeof(dbpath)];
    int i;

    for (i = 0; files[i]; i++) {
        apr_snprintf(path, sizeof(path), "%s/%s", dbdir, files[i]);
        unlink(path);
    }
    rmdir(dbdir);
}

static void db_teardown(void);

static void db_setup(void)
{
    apr_snprintf(dbpath, sizeof(dbpath), "%s/dm.db", dbdir);
    db_teardown(); /* what a failed test left */
    conf.server_uri = SERVER;
    conf.provider_id = "mod_winmdm";
    conf.poll_interval = 15;
    conf.allow_cert = 1;
    conf.allow_digest = 1;
}

static void db_teardown(void)
{
    char path[sizeof(dbpath) + 8];

    unlink(dbpath);
    apr_snprintf(path, sizeof(path), "%s-wal", dbpath);
    unlink(path);
    apr_snprintf(path, sizeof(path), "%s-shm", dbpath);
    unlink(path);
}

static wm_store_t *open_store(void)
{
    apr_dbd_t *handle;
    wm_store_t *st;
    const char *err = NULL;

    ck_assert_int_eq(apr_dbd_get_driver(wm_test_pool, "sqlite3", &driver),
                     APR_SUCCESS);
    ck_assert_int_eq(
        apr_dbd_open_ex(driver, wm_test_pool, dbpath, &handle, &err),
        APR_SUCCESS);
    apr_pool_cleanup_register(wm_test_pool, handle, close_handle,
                              apr_pool_cleanup_null);
    ck_assert_int_eq(wm_store_attach(&st, driver, handle,
                                     apr_hash_make(wm_test_pool), wm_test_pool,
                                     wm_test_pool),
                     APR_SUCCESS);
    return st;
}

/* ----------------------------------------------------------- helpers */

static const char *sql_value(wm_store_t *st, const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v = NULL;

    ck_assert_int_eq(
        apr_dbd_select(st->driver, wm_test_pool, st->handle, &res, sql, 0), 0);
    while (apr_dbd_get_row(st->driver, wm_test_pool, res, &row, -1) == 0) {
        if (!v) {
            const char *e = apr_dbd_get_entry(st->driver, row, 0);
            v = e ? apr_pstrdup(wm_test_pool, e) : "(null)";
        }
    }
    return v;
}

static int sql_count(wm_store_t *st, const char *sql)
{
    return atoi(sql_value(st, sql));
}

static const char *ha1_of(const char *device_id, const char *secret)
{
    return wm_secret_md5_hex(
        apr_pstrcat(wm_test_pool, device_id, ":", secret, NULL), wm_test_pool);
}

/* An enrolled (or unenrolled) device with a certificate and a digest
 * secret. */
static void enroll(wm_store_t *st, const char *id, const char *sha1,
                   const char *state, int poll)
{
    wm_device_t d;

    memset(&d, 0, sizeof(d));
    d.device_id = id;
    d.user = "alice@example.test";
    d.enroll_type = "Full";
    d.cert_sha1 = sha1;
    d.cert_not_after = NOW + 86400 * 365;
    d.digest_ha1 = ha1_of(id, SECRET);
    d.state = state;
    d.enrolled_at = NOW - 3600;
    d.poll_interval = poll;
    ck_assert_int_eq(wm_store_device_put(st, &d, wm_test_pool), APR_SUCCESS);
}

static wm_device_t *device(wm_store_t *st, const char *id)
{
    wm_device_t *d = NULL;

    ck_assert_int_eq(wm_store_device_get(st, id, &d, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(d);
    return d;
}

/* A Cred with the digest of secret over nonce. */
static const char *cred(const char *device_id, const char *secret,
                        const char *nonce)
{
    const char *d =
        wm_digest_expected(ha1_of(device_id, secret), nonce, wm_test_pool);

    ck_assert_ptr_nonnull(d);
    return apr_pstrcat(wm_test_pool,
                       "<Cred><Meta><Format" MI ">b64</Format><Type" MI
                       ">syncml:auth-md5</Type></Meta><Data>",
                       d, "</Data></Cred>", NULL);
}

/* A device message; hdr_extra (Cred, Meta) follows Source, which names the
 * digest user when there is a Cred. */
static const char *dev_msg(const char *session, const char *msg_id,
                           const char *id, const char *hdr_extra,
                           const char *body, int final)
{
    int has_cred = hdr_extra && strstr(hdr_extra, "<Cred>") != NULL;

    return apr_pstrcat(
        wm_test_pool,
        "<SyncML xmlns=\"" WM_NS_SYNCML "\"><SyncHdr><VerDTD>1.2</VerDTD>"
        "<VerProto>DM/1.2</VerProto><SessionID>",
        session, "</SessionID><MsgID>", msg_id,
        "</MsgID><Target><LocURI>" SERVER "</LocURI></Target><Source><LocURI>",
        id, "</LocURI>",
        has_cred
            ? apr_pstrcat(wm_test_pool, "<LocName>", id, "</LocName>", NULL)
            : "",
        "</Source>", hdr_extra ? hdr_extra : "", "</SyncHdr><SyncBody>", body,
        final ? "<Final/>" : "", "</SyncBody></SyncML>", NULL);
}

static const char *max_msg(apr_size_t max)
{
    return apr_psprintf(
        wm_test_pool,
        "<Meta><MaxMsgSize" MI ">%" APR_SIZE_T_FMT "</MaxMsgSize></Meta>", max);
}

/* A device Status for one of the server's commands. */
static const char *st_xml(const char *cmd_ref, const char *cmd, int code)
{
    static int next = 10;

    return apr_psprintf(wm_test_pool,
                        "<Status><CmdID>%d</CmdID><MsgRef>1</MsgRef><CmdRef>%s"
                        "</CmdRef><Cmd>%s</Cmd><Data>%d</Data></Status>",
                        next++, cmd_ref, cmd, code);
}

static const char *id_str(apr_int64_t id)
{
    return apr_psprintf(wm_test_pool, "%" APR_INT64_T_FMT, id);
}

static wm_syncml_msg_t *parse(const char *xml)
{
    wm_syncml_msg_t *msg = NULL;
    const char *err = NULL;

    ck_assert_msg(wm_syncml_parse(&msg, xml, strlen(xml), 1 << 20, &err,
                                  wm_test_pool) == APR_SUCCESS,
                  "wm_syncml_parse: %s: %s", err ? err : "?", xml);
    return msg;
}

typedef struct {
    wm_dm_result_t res;
    const char *reply;
    apr_size_t len;
    wm_syncml_msg_t *back;
} out_t;

/* True when the reply holds an Alert 1222. */
static int asks_next(const wm_syncml_msg_t *back)
{
    int i;
    for (i = 0; i < back->cmds->nelts; i++) {
        const wm_sml_cmd_t *c = APR_ARRAY_IDX(back->cmds, i, wm_sml_cmd_t *);
        if (!strcmp(c->name, "Alert") && c->data &&
            !strcmp(c->data, "1222")) {
            return 1;
        }
    }
    return 0;
}

/* Runs one device message through the core and parses the reply; checks
 * what every reply must hold: the SyncHdr Status first, answering the
 * device's MsgID with the code in res, and Final. */
static out_t *run(wm_store_t *st, const char *xml, const char *sha1,
                  const char *cn, apr_int64_t now)
{
    out_t *o = apr_pcalloc(wm_test_pool, sizeof(*o));
    wm_syncml_msg_t *msg = parse(xml);
    wm_sml_cmd_t *h;

    ck_assert_int_eq(wm_dm_message(st, &conf, msg, sha1, cn, now, &o->reply,
                                   &o->len, &o->res, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(o->reply);
    ck_assert_uint_eq(o->len, strlen(o->reply));
    o->back = parse(o->reply);
    ck_assert_str_eq(o->back->hdr.session_id, msg->hdr.session_id);
    ck_assert_str_eq(o->back->hdr.msg_id, msg->hdr.msg_id);
    ck_assert_str_eq(o->back->hdr.target_uri, msg->hdr.source_uri);
    ck_assert_str_eq(o->back->hdr.source_uri, SERVER);
    /* Final, but in a reply asking for the device's next message (Alert
     * 1222), which ends no package (OMA-DM 1.2.1 section 6). */
    ck_assert_int_eq(o->back->final, !asks_next(o->back));
    ck_assert_int_ge(o->back->cmds->nelts, 1);
    h = APR_ARRAY_IDX(o->back->cmds, 0, wm_sml_cmd_t *);
    ck_assert_str_eq(h->name, "Status");
    ck_assert_str_eq(h->cmd_id, "s1");
    ck_assert_str_eq(h->cmd_ref, "0");
    ck_assert_str_eq(h->cmd, "SyncHdr");
    ck_assert_str_eq(h->msg_ref, msg->hdr.msg_id);
    ck_assert_int_eq(atoi(h->data), o->res.hdr_status);
    return o;
}

static out_t *run_cert(wm_store_t *st, const char *xml, apr_int64_t now)
{
    return run(st, xml, SHA1_A, DEV_A, now);
}

static wm_sml_cmd_t *cmd_at(const out_t *o, int i)
{
    ck_assert_int_gt(o->back->cmds->nelts, i);
    return APR_ARRAY_IDX(o->back->cmds, i, wm_sml_cmd_t *);
}

/* The NextNonce of the reply's SyncHdr Status, NULL without Chal. */
static const char *next_nonce(const out_t *o)
{
    const wm_sml_cmd_t *h = cmd_at(o, 0);

    if (!h->chal) {
        return NULL;
    }
    return wm_xml_child_text(wm_xml_child(h->chal, NULL, "Meta"), NULL,
                             "NextNonce", wm_test_pool);
}

/* The Status answering the device's command cmd_ref, NULL when none. */
static wm_sml_cmd_t *status_for(const out_t *o, const char *cmd_ref)
{
    int i;

    for (i = 1; i < o->back->cmds->nelts; i++) {
        wm_sml_cmd_t *c = APR_ARRAY_IDX(o->back->cmds, i, wm_sml_cmd_t *);
        if (!strcmp(c->name, "Status") && c->cmd_ref &&
            !strcmp(c->cmd_ref, cmd_ref)) {
            return c;
        }
    }
    return NULL;
}

static void assert_status(const out_t *o, const char *cmd_ref, const char *cmd,
                          const char *code)
{
    wm_sml_cmd_t *c = status_for(o, cmd_ref);

    ck_assert_msg(c != NULL, "no Status for CmdRef %s in %s", cmd_ref,
                  o->reply);
    ck_assert_str_eq(c->cmd, cmd);
    ck_assert_str_eq(c->data, code);
}

/* The CmdIDs of the reply's commands that are neither Status nor Alert
 * (the operations sent), nested ones too, space-separated. */
static void collect_ids(const apr_array_header_t *cmds, apr_array_header_t *ids)
{
    int i;

    for (i = 0; i < cmds->nelts; i++) {
        wm_sml_cmd_t *c = APR_ARRAY_IDX(cmds, i, wm_sml_cmd_t *);
        if (!strcmp(c->name, "Status") || !strcmp(c->name, "Alert")) {
            continue;
        }
        APR_ARRAY_PUSH(ids, const char *) = c->cmd_id ? c->cmd_id : "?";
        if (c->children) {
            collect_ids(c->children, ids);
        }
    }
}

static const char *sent_ids(const out_t *o)
{
    apr_array_header_t *ids =
        apr_array_make(wm_test_pool, 8, sizeof(const char *));

    collect_ids(o->back->cmds, ids);
    return apr_array_pstrcat(wm_test_pool, ids, ' ');
}

/* Whether the reply carries an Alert with code. */
static int has_alert(const out_t *o, const char *code)
{
    int i;

    for (i = 1; i < o->back->cmds->nelts; i++) {
        wm_sml_cmd_t *c = APR_ARRAY_IDX(o->back->cmds, i, wm_sml_cmd_t *);
        if (!strcmp(c->name, "Alert") && c->data && !strcmp(c->data, code)) {
            return 1;
        }
    }
    return 0;
}

static apr_int64_t queue(wm_store_t *st, const char *dev, const char *type,
                         const char *syncml)
{
    wm_op_params_t params;
    const char *body, *err = NULL;
    apr_int64_t id = 0;
    int count;

    memset(&params, 0, sizeof(params));
    params.provider_id = "mod_winmdm";
    params.poll_minutes = 15;
    params.syncml = syncml;
    ck_assert_msg(wm_ops_build(type, &params, 65536, &body, &count, &err,
                               wm_test_pool) == APR_SUCCESS,
                  "%s: %s", type, err ? err : "?");
    ck_assert_int_eq(
        wm_store_op_add(st, dev, type, body, count, NOW, &id, wm_test_pool),
        APR_SUCCESS);
    return id;
}

static wm_op_t *op(wm_store_t *st, apr_int64_t id)
{
    wm_op_t *o = NULL;

    ck_assert_int_eq(wm_store_op_get(st, id, &o, wm_test_pool), APR_SUCCESS);
    ck_assert_ptr_nonnull(o);
    return o;
}

/* The inventory value of uri, NULL when the device has none. */
static const char *inventory(wm_store_t *st, const char *dev, const char *uri)
{
    apr_array_header_t *items;
    int i;

    ck_assert_int_eq(wm_store_inventory_list(st, dev, &items, wm_test_pool),
                     APR_SUCCESS);
    for (i = 0; i < items->nelts; i++) {
        wm_kv_t *kv = &APR_ARRAY_IDX(items, i, wm_kv_t);
        if (!strcmp(kv->key, uri)) {
            return kv->value;
        }
    }
    return NULL;
}

static int inventory_count(wm_store_t *st, const char *dev)
{
    apr_array_header_t *items;

    ck_assert_int_eq(wm_store_inventory_list(st, dev, &items, wm_test_pool),
                     APR_SUCCESS);
    return items->nelts;
}

static apr_array_header_t *results(wm_store_t *st, apr_int64_t id)
{
    apr_array_header_t *items;

    ck_assert_int_eq(wm_store_results(st, id, &items, wm_test_pool),
                     APR_SUCCESS);
    return items;
}

/* ------------------------------------------------------ authentication */

START_TEST(no_credentials_get_407_with_a_nonce)
{
    wm_store_t *st = open_store();
    apr_int64_t id;
    out_t *o;
    const char *n;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    id = queue(st, DEV_A, "LOCK", NULL);
    o = run(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 1), NULL, NULL, NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_MISSING_CRED);
    ck_assert_ptr_null(o->res.how);
    ck_assert_ptr_nonnull(o->res.reason);
    ck_assert_int_eq(o->res.ops_sent, 0);
    /* Only the SyncHdr Status, and Final. */
    ck_assert_int_eq(o->back->cmds->nelts, 1);
    n = next_nonce(o);
    ck_assert_ptr_nonnull(n);
    /* The nonce is the device's, unused, good for a week. */
    ck_assert_int_eq(
        sql_count(st, apr_psprintf(wm_test_pool,
                                   "SELECT COUNT(*) FROM nonces WHERE nonce "
                                   "= '%s' AND device_id = '" DEV_A
                                   "' AND session_id IS NULL AND expires = "
                                   "%" APR_INT64_T_FMT,
                                   n, NOW + WM_DM_NONCE_LIFETIME)),
        1);
    ck_assert_str_eq(op(st, id)->state, "pending");
    ck_assert(device(st, DEV_A)->last_seen == 0);

    /* Asking again gives the unused nonce again: refusals do not fill the
     * table. */
    o = run(st, dev_msg("1", "2", DEV_A, NULL, ALERT_1201, 1), NULL, NULL,
            NOW + 1);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_MISSING_CRED);
    ck_assert_str_eq(next_nonce(o), n);
    ck_assert_int_eq(sql_count(st, "SELECT COUNT(*) FROM nonces"), 1);

    /* Digest not allowed: no challenge to answer. */
    conf.allow_digest = 0;
    o = run(st, dev_msg("1", "3", DEV_A, cred(DEV_A, SECRET, n), ALERT_1201, 1),
            NULL, NULL, NOW + 2);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_MISSING_CRED);
    ck_assert_ptr_null(next_nonce(o));
    ck_assert_int_eq(o->back->cmds->nelts, 1);
}
END_TEST

START_TEST(right_digest_gets_200_and_statuses)
{
    wm_store_t *st = open_store();
    const char *c, *n;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    ck_assert_int_eq(
        wm_store_nonce_put(st, NONCE, DEV_A, NOW + 1000, wm_test_pool),
        APR_SUCCESS);
    c = cred(DEV_A, SECRET, NONCE);
    o = run(st,
            dev_msg("1", "1", DEV_A, c,
                    ALERT_1201
                    "<Replace><CmdID>2</CmdID><Item><Source><LocURI>"
                    "./DevInfo/Man</LocURI></Source><Data>Contoso</Data>"
                    "</Item></Replace>"
                    "<Alert><CmdID>3</CmdID><Data>1224</Data><Item><Meta>"
                    "<Type" MI ">com.microsoft/MDM/AADUserToken</Type>"
                    "</Meta><Data>eyJ0eXAi</Data></Item></Alert>"
                    "<Exec><CmdID>4</CmdID><Item><Target><LocURI>./x"
                    "</LocURI></Target></Item></Exec>"
                    "<Replace><Item><Source><LocURI>./DevInfo/Mod</LocURI>"
                    "</Source><Data>M</Data></Item></Replace>",
                    1),
            NULL, NULL, NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    ck_assert_str_eq(o->res.how, "digest");
    ck_assert_int_eq(o->res.closed, 1);
    /* One Status per command, in order. */
    ck_assert_int_eq(o->back->cmds->nelts, 6);
    ck_assert_str_eq(cmd_at(o, 1)->cmd_ref, "1");
    assert_status(o, "1", "Alert", "200");
    ck_assert_str_eq(cmd_at(o, 2)->cmd_ref, "2");
    assert_status(o, "2", "Replace", "200");
    assert_status(o, "3", "Alert", "200");
    assert_status(o, "4", "Exec", "406");
    /* A command without CmdID: 400, blank CmdRef, nothing stored. */
    assert_status(o, "", "Replace", "400");
    ck_assert_str_eq(inventory(st, DEV_A, "./DevInfo/Man"), "Contoso");
    ck_assert_ptr_null(inventory(st, DEV_A, "./DevInfo/Mod"));
    /* The AAD token is never kept. */
    ck_assert_int_eq(inventory_count(st, DEV_A), 1);
    ck_assert(device(st, DEV_A)->last_seen == NOW);
    /* Session 1 closed: its nonce is spent (no later replay of its
     * messages opens anything); the last reply names the next session's
     * nonce, a new one. */
    ck_assert_ptr_null(sql_value(
        st, "SELECT session_id FROM nonces WHERE nonce = '" NONCE "'"));
    n = next_nonce(o);
    ck_assert_ptr_nonnull(n);
    ck_assert_str_ne(n, NONCE);
    ck_assert_int_eq(
        sql_count(st, apr_psprintf(wm_test_pool,
                                   "SELECT COUNT(*) FROM nonces WHERE nonce "
                                   "= '%s' AND device_id = '" DEV_A
                                   "' AND session_id IS NULL",
                                   n)),
        1);

    /* The session was closed: a message of it coming again (a copy
     * replayed) no longer authenticates. Every message of a session that
     * stays open does (the operation tests below send several). */
    o = run(st, dev_msg("1", "2", DEV_A, c, ALERT_1201, 1), NULL, NULL,
            NOW + 5);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_INVALID_CRED);
    /* The next session uses the nonce it was given. */
    o = run(st, dev_msg("2", "1", DEV_A, cred(DEV_A, SECRET, n), ALERT_1201, 1),
            NULL, NULL, NOW + 60);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    ck_assert_str_eq(o->res.how, "digest");
}
END_TEST

START_TEST(nonce_of_another_session_is_a_replay)
{
    wm_store_t *st = open_store();
    const char *c;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    wm_store_nonce_put(st, NONCE, DEV_A, NOW + 1000, wm_test_pool);
    c = cred(DEV_A, SECRET, NONCE);
    o = run(st, dev_msg("1", "1", DEV_A, c, ALERT_1201, 1), NULL, NULL, NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);

    o = run(st,
            dev_msg("2", "1", DEV_A, c,
                    ALERT_1201 "<Replace><CmdID>2</CmdID><Item><Source>"
                               "<LocURI>./DevInfo/Man</LocURI></Source>"
                               "<Data>Replayed</Data></Item></Replace>",
                    1),
            NULL, NULL, NOW + 10);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_INVALID_CRED);
    ck_assert_ptr_null(o->res.how);
    ck_assert_ptr_nonnull(o->res.reason);
    ck_assert_int_eq(o->back->cmds->nelts, 1);
    ck_assert_ptr_nonnull(next_nonce(o));
    ck_assert_str_ne(next_nonce(o), NONCE);
    ck_assert_ptr_null(inventory(st, DEV_A, "./DevInfo/Man"));
    ck_assert(device(st, DEV_A)->last_seen == NOW);
    /* Still spent: the replay bound nothing. */
    ck_assert_ptr_null(sql_value(
        st, "SELECT session_id FROM nonces WHERE nonce = '" NONCE "'"));
}
END_TEST

START_TEST(nonce_serves_every_message_of_an_open_session)
{
    wm_store_t *st = open_store();
    const char *c;
    apr_int64_t a;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    wm_store_nonce_put(st, NONCE, DEV_A, NOW + 1000, wm_test_pool);
    a = queue(st, DEV_A, "LOCK", NULL);
    c = cred(DEV_A, SECRET, NONCE);
    o = run(st, dev_msg("1", "1", DEV_A, c, ALERT_1201, 1), NULL, NULL, NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    ck_assert_int_eq(o->res.closed, 0);
    /* The session goes on: no nonce for the next one yet. */
    ck_assert_ptr_null(next_nonce(o));
    ck_assert_str_eq(
        sql_value(st,
                  "SELECT session_id FROM nonces WHERE nonce = '" NONCE "'"),
        "1");
    /* A second message of the session, the same digest: accepted. */
    o = run(st, dev_msg("1", "2", DEV_A, c, st_xml(id_str(a), "Exec", 200), 1),
            NULL, NULL, NOW + 2);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    ck_assert_str_eq(o->res.how, "digest");
    ck_assert_str_eq(op(st, a)->state, "done");
    ck_assert_int_eq(o->res.closed, 1);
    ck_assert_ptr_nonnull(next_nonce(o));
}
END_TEST

START_TEST(wrong_digest_gets_401)
{
    wm_store_t *st = open_store();
    out_t *o;
    const char *bad[4];
    int i;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    enroll(st, DEV_B, SHA1_B, NULL, 15);
    wm_store_nonce_put(st, NONCE, DEV_A, NOW + 1000, wm_test_pool);
    wm_store_nonce_put(st, "Tk9OQ0UtQg==", DEV_B, NOW + 1000, wm_test_pool);
    /* Another secret; another device's nonce; an expired nonce; no
     * digest at all. */
    bad[0] = cred(DEV_A, "guess", NONCE);
    bad[1] = cred(DEV_A, SECRET, "Tk9OQ0UtQg==");
    bad[2] = cred(DEV_A, SECRET, "RVhQSVJFRA==");
    bad[3] = "<Cred><Meta><Type" MI ">syncml:auth-md5</Type></Meta></Cred>";
    wm_store_nonce_put(st, "RVhQSVJFRA==", DEV_A, NOW, wm_test_pool);
    for (i = 0; i < 4; i++) {
        o = run(st, dev_msg("1", "1", DEV_A, bad[i], ALERT_1201, 1), NULL, NULL,
                NOW);
        ck_assert_int_eq(o->res.hdr_status, WM_SC_INVALID_CRED);
        ck_assert_int_eq(o->back->cmds->nelts, 1);
        ck_assert_ptr_nonnull(next_nonce(o));
    }
    /* Nothing was bound to the session. */
    ck_assert_int_eq(
        sql_count(st,
                  "SELECT COUNT(*) FROM nonces WHERE session_id IS NOT NULL"),
        0);
    ck_assert(device(st, DEV_A)->last_seen == 0);
}
END_TEST

START_TEST(certificate_of_the_device_opens_its_session)
{
    wm_store_t *st = open_store();
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    enroll(st, DEV_B, SHA1_B, NULL, 15);
    o = run(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 1), SHA1_A, DEV_A,
            NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    ck_assert_str_eq(o->res.how, "certificate");
    assert_status(o, "1", "Alert", "200");
    /* No digest in use: no challenge. */
    ck_assert_ptr_null(next_nonce(o));
    ck_assert(device(st, DEV_A)->last_seen == NOW);

    /* B's certificate, a certificate naming B, or an old certificate of
     * A never open A's session. */
    o = run(st, dev_msg("1", "2", DEV_A, NULL, ALERT_1201, 1), SHA1_B, DEV_B,
            NOW + 1);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_INVALID_CRED);
    ck_assert_int_eq(o->back->cmds->nelts, 1);
    ck_assert_ptr_null(o->res.how);
    o = run(st, dev_msg("1", "2", DEV_A, NULL, ALERT_1201, 1), SHA1_A, DEV_B,
            NOW + 1);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_INVALID_CRED);
    o = run(st, dev_msg("1", "2", DEV_A, NULL, ALERT_1201, 1), SHA1_B, DEV_A,
            NOW + 1);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_INVALID_CRED);
    ck_assert_int_eq(o->back->cmds->nelts, 1);
    ck_assert(device(st, DEV_A)->last_seen == NOW);

    /* Certificates not allowed: the message carries no credential. */
    conf.allow_cert = 0;
    o = run(st, dev_msg("1", "3", DEV_A, NULL, ALERT_1201, 1), SHA1_A, DEV_A,
            NOW + 2);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_MISSING_CRED);
}
END_TEST

START_TEST(unknown_device_gets_403_and_no_nonce)
{
    wm_store_t *st = open_store();
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    o = run(st,
            dev_msg("1", "1", "DEV-UNKNOWN", cred("DEV-UNKNOWN", SECRET, NONCE),
                    ALERT_1201, 1),
            NULL, NULL, NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_FORBIDDEN);
    ck_assert_ptr_nonnull(o->res.reason);
    ck_assert_int_eq(o->back->cmds->nelts, 1);
    ck_assert_ptr_null(next_nonce(o));
    o = run(st, dev_msg("1", "2", "DEV-UNKNOWN", NULL, ALERT_1201, 1), SHA1_A,
            "DEV-UNKNOWN", NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_FORBIDDEN);
    o = run(st, dev_msg("1", "3", "DEV-UNKNOWN", NULL, ALERT_1201, 1), NULL,
            NULL, NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_FORBIDDEN);
    ck_assert_int_eq(sql_count(st, "SELECT COUNT(*) FROM nonces"), 0);
    ck_assert_int_eq(sql_count(st, "SELECT COUNT(*) FROM devices"), 1);
}
END_TEST

START_TEST(unenrolled_device_gets_403)
{
    wm_store_t *st = open_store();
    apr_int64_t id;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, "unenrolled", 15);
    wm_store_nonce_put(st, NONCE, DEV_A, NOW + 1000, wm_test_pool);
    id = queue(st, DEV_A, "LOCK", NULL);
    o = run(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 1), SHA1_A, DEV_A,
            NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_FORBIDDEN);
    ck_assert_int_eq(o->back->cmds->nelts, 1);
    ck_assert_ptr_null(next_nonce(o));
    o = run(st,
            dev_msg("1", "2", DEV_A, cred(DEV_A, SECRET, NONCE), ALERT_1201, 1),
            NULL, NULL, NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_FORBIDDEN);
    ck_assert_ptr_null(next_nonce(o));
    o = run(st, dev_msg("1", "3", DEV_A, NULL, ALERT_1201, 1), NULL, NULL, NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_FORBIDDEN);
    ck_assert_int_eq(sql_count(st, "SELECT COUNT(*) FROM nonces"), 1);
    ck_assert_int_eq(
        sql_count(st,
                  "SELECT COUNT(*) FROM nonces WHERE session_id IS NOT NULL"),
        0);
    ck_assert_str_eq(op(st, id)->state, "pending");
    ck_assert(device(st, DEV_A)->last_seen == 0);
}
END_TEST

/* ---------------------------------------------------------- the queue */

#define GET_TWO                                                                \
    "<Get><Item><Target><LocURI>./DevInfo/Man</LocURI></Target></Item></Get>"  \
    "<Get><Item><Target><LocURI>./DevInfo/Mod</LocURI></Target></Item></Get>"

START_TEST(operations_go_out_in_id_order)
{
    wm_store_t *st = open_store();
    apr_int64_t a, b, c;
    out_t *o;
    wm_op_t *x;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    enroll(st, DEV_B, SHA1_B, NULL, 15);
    a = queue(st, DEV_A, "LOCK", NULL);
    queue(st, DEV_B, "LOCK", NULL);
    b = queue(st, DEV_A, "SYNCML", GET_TWO);
    c = queue(st, DEV_A, "REBOOT", NULL);
    o = run_cert(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 1), NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    ck_assert_int_eq(o->res.ops_sent, 3);
    ck_assert_int_eq(o->res.closed, 0);
    ck_assert_str_eq(sent_ids(o),
                     apr_psprintf(wm_test_pool,
                                  "%" APR_INT64_T_FMT " %" APR_INT64_T_FMT
                                  ".1 %" APR_INT64_T_FMT ".2 %" APR_INT64_T_FMT,
                                  a, b, b, c));
    /* The statuses come before the commands. */
    ck_assert_str_eq(cmd_at(o, 1)->name, "Status");
    ck_assert_str_eq(cmd_at(o, 2)->name, "Exec");
    x = op(st, b);
    ck_assert_str_eq(x->state, "sent");
    ck_assert_str_eq(x->sent_session, "1");
    ck_assert(x->sent == NOW);
    /* B's operation stays B's. */
    ck_assert_int_eq(
        sql_count(st,
                  "SELECT COUNT(*) FROM operations WHERE device_id = '" DEV_B
                  "' AND state = 'pending'"),
        1);
}
END_TEST

START_TEST(device_statuses_complete_operations)
{
    wm_store_t *st = open_store();
    apr_int64_t a, b, c, d;
    out_t *o;
    wm_op_t *x;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    a = queue(st, DEV_A, "LOCK", NULL);
    b = queue(st, DEV_A, "REBOOT", NULL);
    c = queue(st, DEV_A, "WIPE", NULL);
    d = queue(st, DEV_A, "SYNCML", GET_TWO);
    o = run_cert(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 1), NOW);
    ck_assert_int_eq(o->res.ops_sent, 4);

    o = run_cert(st,
                 dev_msg("1", "2", DEV_A, NULL,
                         apr_pstrcat(wm_test_pool, st_xml("0", "SyncHdr", 200),
                                     st_xml(id_str(a), "Exec", 200),
                                     st_xml(id_str(b), "Exec", 405),
                                     st_xml(id_str(c), "Exec", 202),
                                     st_xml(apr_pstrcat(wm_test_pool, id_str(d),
                                                        ".1", NULL),
                                            "Get", 200),
                                     NULL),
                         1),
                 NOW + 5);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    /* Statuses are never answered; nothing left to send ends it. */
    ck_assert_int_eq(o->back->cmds->nelts, 1);
    ck_assert_int_eq(o->res.closed, 1);
    x = op(st, a);
    ck_assert_str_eq(x->state, "done");
    ck_assert_int_eq(x->status, 200);
    ck_assert(x->completed == NOW + 5);
    x = op(st, b);
    ck_assert_str_eq(x->state, "failed");
    ck_assert_int_eq(x->status, 405);
    ck_assert(x->completed == NOW + 5);
    x = op(st, c);
    ck_assert_str_eq(x->state, "done");
    ck_assert_int_eq(x->status, 202);
    /* One of two commands answered: still waiting for the other. */
    x = op(st, d);
    ck_assert_str_eq(x->state, "sent");
    ck_assert_str_eq(x->cmds_pending, "2");
    ck_assert(x->completed == 0);

    o = run_cert(
        st,
        dev_msg("1", "3", DEV_A, NULL,
                st_xml(apr_pstrcat(wm_test_pool, id_str(d), ".2", NULL), "Get",
                       200),
                1),
        NOW + 6);
    x = op(st, d);
    ck_assert_str_eq(x->state, "done");
    ck_assert_int_eq(x->status, 200);

    /* A late status changes nothing any more. */
    run_cert(st,
             dev_msg("1", "4", DEV_A, NULL, st_xml(id_str(b), "Exec", 200), 1),
             NOW + 7);
    ck_assert_str_eq(op(st, b)->state, "failed");
}
END_TEST

#define GET_THREE                                                              \
    "<Get><Item><Target><LocURI>./DevInfo/Man</LocURI></Target></Item>"        \
    "<Item><Target><LocURI>./DevDetail/SwV</LocURI></Target></Item>"           \
    "<Item><Target><LocURI>./Vendor/MSFT/Policy/Config/A/B</LocURI>"           \
    "</Target></Item></Get>"

static const char *results_xml(const char *cmd_id, const char *cmd_ref,
                               const char *items)
{
    return apr_pstrcat(wm_test_pool, "<Results><CmdID>", cmd_id,
                       "</CmdID><MsgRef>1</MsgRef><CmdRef>", cmd_ref,
                       "</CmdRef><Cmd>Get</Cmd>", items, "</Results>", NULL);
}

static const char *item_xml(const char *uri, const char *data, int more)
{
    return apr_pstrcat(wm_test_pool, "<Item><Source><LocURI>", uri,
                       "</LocURI></Source><Data>", data, "</Data>",
                       more ? "<MoreData/>" : "", "</Item>", NULL);
}

START_TEST(results_are_stored_with_inventory)
{
    wm_store_t *st = open_store();
    apr_array_header_t *r;
    apr_int64_t a;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    a = queue(st, DEV_A, "SYNCML", GET_THREE);
    o = run_cert(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 1), NOW);
    ck_assert_str_eq(sent_ids(o), id_str(a));

    o = run_cert(
        st,
        dev_msg(
            "1", "2", DEV_A, NULL,
            apr_pstrcat(
                wm_test_pool, st_xml(id_str(a), "Get", 200),
                results_xml(
                    "7", id_str(a),
                    apr_pstrcat(
                        wm_test_pool, item_xml("./DevInfo/Man", "Contoso", 0),
                        item_xml("./DevDetail/SwV", "10.0.19043", 0),
                        item_xml("./Vendor/MSFT/Policy/Config/A/B", "1", 0),
                        NULL)),
                NULL),
            1),
        NOW + 3);
    assert_status(o, "7", "Results", "200");
    ck_assert_str_eq(op(st, a)->state, "done");
    r = results(st, a);
    ck_assert_int_eq(r->nelts, 3);
    ck_assert_str_eq(APR_ARRAY_IDX(r, 0, wm_kv_t).key, "./DevInfo/Man");
    ck_assert_str_eq(APR_ARRAY_IDX(r, 0, wm_kv_t).value, "Contoso");
    ck_assert_str_eq(APR_ARRAY_IDX(r, 1, wm_kv_t).key, "./DevDetail/SwV");
    ck_assert_str_eq(APR_ARRAY_IDX(r, 1, wm_kv_t).value, "10.0.19043");
    ck_assert_str_eq(APR_ARRAY_IDX(r, 2, wm_kv_t).key,
                     "./Vendor/MSFT/Policy/Config/A/B");
    ck_assert_str_eq(APR_ARRAY_IDX(r, 2, wm_kv_t).value, "1");
    /* Inventory: the DevInfo and DevDetail nodes only. */
    ck_assert_int_eq(inventory_count(st, DEV_A), 2);
    ck_assert_str_eq(inventory(st, DEV_A, "./DevInfo/Man"), "Contoso");
    ck_assert_str_eq(inventory(st, DEV_A, "./DevDetail/SwV"), "10.0.19043");
}
END_TEST

START_TEST(results_for_another_devices_operation_are_refused)
{
    wm_store_t *st = open_store();
    apr_int64_t b;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    enroll(st, DEV_B, SHA1_B, NULL, 15);
    b = queue(st, DEV_B, "SYNCML", GET_THREE);
    /* Sent to B in a session with the same SessionID A then uses. */
    o = run(st, dev_msg("1", "1", DEV_B, NULL, ALERT_1201, 1), SHA1_B, DEV_B,
            NOW);
    ck_assert_int_eq(o->res.ops_sent, 1);

    o = run_cert(
        st,
        dev_msg("1", "1", DEV_A, NULL,
                apr_pstrcat(wm_test_pool, st_xml(id_str(b), "Get", 200),
                            results_xml("5", id_str(b),
                                        item_xml("./DevInfo/Man", "Evil", 0)),
                            results_xml("6", "s3",
                                        item_xml("./DevInfo/Mod", "Evil", 0)),
                            NULL),
                1),
        NOW + 1);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    assert_status(o, "5", "Results", "403");
    assert_status(o, "6", "Results", "403");
    ck_assert_int_eq(results(st, b)->nelts, 0);
    ck_assert_int_eq(sql_count(st, "SELECT COUNT(*) FROM results"), 0);
    ck_assert_int_eq(inventory_count(st, DEV_A), 0);
    ck_assert_int_eq(inventory_count(st, DEV_B), 0);
    /* A's Status for B's operation changes nothing either. */
    ck_assert_str_eq(op(st, b)->state, "sent");
}
END_TEST

START_TEST(message_without_final_asks_for_the_next)
{
    wm_store_t *st = open_store();
    apr_int64_t a;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    a = queue(st, DEV_A, "LOCK", NULL);
    o = run_cert(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 0), NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    ck_assert_int_eq(has_alert(o, "1222"), 1);
    ck_assert_int_eq(o->back->final, 0);
    assert_status(o, "1", "Alert", "200");
    ck_assert_int_eq(o->back->cmds->nelts, 3);
    ck_assert_str_eq(sent_ids(o), "");
    ck_assert_int_eq(o->res.ops_sent, 0);
    ck_assert_int_eq(o->res.closed, 0);
    ck_assert_str_eq(op(st, a)->state, "pending");

    o = run_cert(st, dev_msg("1", "2", DEV_A, NULL, "", 1), NOW + 1);
    ck_assert_int_eq(has_alert(o, "1222"), 0);
    ck_assert_str_eq(sent_ids(o), id_str(a));
}
END_TEST

START_TEST(chunked_results_are_joined)
{
    wm_store_t *st = open_store();
    const char *ref;
    apr_array_header_t *r;
    apr_int64_t a;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    a = queue(st, DEV_A, "SYNCML",
              "<Get><Item><Target><LocURI>./DevDetail/Ext/Microsoft/"
              "DeviceName</LocURI></Target></Item></Get>");
    ref = id_str(a);
    run_cert(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 1), NOW);

    o = run_cert(
        st,
        dev_msg("1", "2", DEV_A, NULL,
                apr_pstrcat(wm_test_pool, st_xml(ref, "Get", 200),
                            results_xml("3", ref,
                                        item_xml("./DevDetail/Ext/Microsoft/"
                                                 "DeviceName",
                                                 "part1-", 1)),
                            NULL),
                0),
        NOW + 1);
    assert_status(o, "3", "Results", "213");
    ck_assert_int_eq(has_alert(o, "1222"), 1);
    ck_assert_int_eq(results(st, a)->nelts, 0);

    o = run_cert(st,
                 dev_msg("1", "3", DEV_A, NULL,
                         results_xml("3", ref,
                                     item_xml("./DevDetail/Ext/Microsoft/"
                                              "DeviceName",
                                              "part2-", 1)),
                         0),
                 NOW + 2);
    assert_status(o, "3", "Results", "213");
    ck_assert_int_eq(results(st, a)->nelts, 0);

    o = run_cert(st,
                 dev_msg("1", "4", DEV_A, NULL,
                         results_xml("3", ref,
                                     item_xml("./DevDetail/Ext/Microsoft/"
                                              "DeviceName",
                                              "part3", 0)),
                         1),
                 NOW + 3);
    assert_status(o, "3", "Results", "200");
    r = results(st, a);
    ck_assert_int_eq(r->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(r, 0, wm_kv_t).value, "part1-part2-part3");
    ck_assert_str_eq(
        inventory(st, DEV_A, "./DevDetail/Ext/Microsoft/DeviceName"),
        "part1-part2-part3");
    ck_assert_int_eq(sql_count(st, "SELECT COUNT(*) FROM partials"), 0);
}
END_TEST

START_TEST(max_msg_size_limits_the_operations_sent)
{
    wm_store_t *st = open_store();
    apr_int64_t ids[8];
    apr_array_header_t *order =
        apr_array_make(wm_test_pool, 8, sizeof(const char *));
    const apr_size_t max = 1500;
    const char *acks = ALERT_1201;
    int i, msgs = 0, sent = 0, most = 0;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    for (i = 0; i < 8; i++) {
        ids[i] = queue(st, DEV_A, "LOCK", NULL);
    }
    while (sent < 8) {
        ck_assert_int_lt(msgs, 10);
        o = run_cert(st,
                     dev_msg("1", apr_itoa(wm_test_pool, msgs + 1), DEV_A,
                             max_msg(max), acks, 1),
                     NOW + msgs);
        msgs++;
        ck_assert_msg(o->len <= max, "reply of %" APR_SIZE_T_FMT " bytes",
                      o->len);
        ck_assert_int_gt(o->res.ops_sent, 0);
        if (o->res.ops_sent > most) {
            most = o->res.ops_sent;
        }
        /* What did not fit waits in the queue, unsent. */
        ck_assert_int_eq(
            sql_count(
                st, "SELECT COUNT(*) FROM operations WHERE state = 'pending'"),
            8 - sent - o->res.ops_sent);
        acks = "";
        for (i = 0; i < o->res.ops_sent; i++) {
            const char *id = id_str(ids[sent + i]);
            APR_ARRAY_PUSH(order, const char *) = id;
            acks =
                apr_pstrcat(wm_test_pool, acks, st_xml(id, "Exec", 200), NULL);
        }
        sent += o->res.ops_sent;
        ck_assert_int_eq(o->res.closed, 0);
    }
    /* More than one message, each as full as it could be, and every
     * operation once, in id order. */
    ck_assert_int_gt(msgs, 1);
    ck_assert_int_gt(most, 1);
    ck_assert_int_eq(order->nelts, 8);
    o = run_cert(st, dev_msg("1", "99", DEV_A, max_msg(max), acks, 1),
                 NOW + 20);
    ck_assert_int_eq(o->res.ops_sent, 0);
    ck_assert_int_eq(o->res.closed, 1);
    ck_assert_int_eq(
        sql_count(st, "SELECT COUNT(*) FROM operations WHERE state = 'done'"),
        8);
}
END_TEST

/* An operation is never split: one that fits no reply is refused when
 * queued (wm_dm_op_fits); one larger than a MaxMsgSize the device states
 * fails with 413 when it comes up, and one that only waits for room is
 * sent in a later message. */
START_TEST(operation_larger_than_a_reply)
{
    wm_store_t *st = open_store();
    const char *big = apr_pstrcat(
        wm_test_pool,
        "<Replace><CmdID>#1</CmdID><Item><Target><LocURI>./A</LocURI>"
        "</Target><Data>",
        apr_psprintf(wm_test_pool, "%0900d", 0), "</Data></Item></Replace>",
        NULL);
    apr_int64_t a, b;
    out_t *o;

    ck_assert(wm_dm_op_fits(big, WM_DM_DEFAULT_MAX_MSG));
    ck_assert(!wm_dm_op_fits(big, strlen(big) + WM_DM_REPLY_BASE));
    ck_assert(wm_dm_op_fits(big, strlen(big) + WM_DM_REPLY_BASE + 20 +
                                     WM_SML_REPLY_CLOSING + 512));

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    a = queue(st, DEV_A, "SYNCML", big);
    /* The device states 800 bytes: the operation fits no reply of it. */
    o = run_cert(st, dev_msg("1", "1", DEV_A, max_msg(800), ALERT_1201, 1),
                 NOW);
    ck_assert_int_eq(o->res.ops_sent, 0);
    ck_assert_str_eq(op(st, a)->state, "failed");
    ck_assert_int_eq(op(st, a)->status, 413);

    /* 2000 bytes: room for it alone, not beside a LOCK sent first. */
    b = queue(st, DEV_A, "LOCK", NULL);
    a = queue(st, DEV_A, "SYNCML", big);
    o = run_cert(st, dev_msg("2", "1", DEV_A, max_msg(2000), ALERT_1201, 1),
                 NOW + 1);
    ck_assert_int_eq(o->res.ops_sent, 1);
    ck_assert_str_eq(op(st, b)->state, "sent");
    ck_assert_str_eq(op(st, a)->state, "pending");
    o = run_cert(st,
                 dev_msg("2", "2", DEV_A, max_msg(2000),
                         st_xml(id_str(b), "Exec", 200), 1),
                 NOW + 2);
    ck_assert_int_eq(o->res.ops_sent, 1);
    ck_assert_str_eq(op(st, a)->state, "sent");
}
END_TEST

START_TEST(claim_limit_bounds_a_reply)
{
    wm_store_t *st = open_store();
    apr_int64_t first = 0, id;
    const char *acks = "";
    out_t *o;
    int i;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    for (i = 0; i < WM_DM_CLAIM_LIMIT + 3; i++) {
        id = queue(st, DEV_A, "LOCK", NULL);
        first = first ? first : id;
    }
    /* No MaxMsgSize: every one would fit, the claim limit applies. */
    o = run_cert(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 1), NOW);
    ck_assert_int_eq(o->res.ops_sent, WM_DM_CLAIM_LIMIT);
    ck_assert_uint_le(o->len, WM_DM_DEFAULT_MAX_MSG);
    for (i = 0; i < WM_DM_CLAIM_LIMIT; i++) {
        acks = apr_pstrcat(wm_test_pool, acks,
                           st_xml(id_str(first + i), "Exec", 200), NULL);
    }
    o = run_cert(st, dev_msg("1", "2", DEV_A, NULL, acks, 1), NOW + 1);
    ck_assert_int_eq(o->res.ops_sent, 3);
    ck_assert_str_eq(sent_ids(o),
                     apr_psprintf(wm_test_pool,
                                  "%" APR_INT64_T_FMT " %" APR_INT64_T_FMT
                                  " %" APR_INT64_T_FMT,
                                  first + WM_DM_CLAIM_LIMIT,
                                  first + WM_DM_CLAIM_LIMIT + 1,
                                  first + WM_DM_CLAIM_LIMIT + 2));
}
END_TEST

START_TEST(unenroll_alert_ends_the_enrollment)
{
    wm_store_t *st = open_store();
    const char *xml;
    apr_size_t len;
    apr_int64_t a;
    out_t *o;

    enroll(st, REAL_ID, SHA1_A, NULL, 15);
    a = queue(st, REAL_ID, "LOCK", NULL);
    xml = wm_test_fixture(
        "windows10/syncml_s2_m1_unenroll_alert1226_win10_19043.xml", &len);
    o = run(st, xml, SHA1_A, REAL_ID, NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    ck_assert_int_eq(o->res.unenrolled, 1);
    ck_assert_int_eq(o->res.closed, 1);
    ck_assert_int_eq(o->res.ops_sent, 0);
    assert_status(o, "2", "Alert", "200");
    assert_status(o, "3", "Alert", "200");
    assert_status(o, "4", "Alert", "200");
    assert_status(o, "5", "Replace", "200");
    ck_assert_str_eq(sent_ids(o), "");
    ck_assert_str_eq(device(st, REAL_ID)->state, "unenrolled");
    ck_assert_str_eq(op(st, a)->state, "pending");

    /* Its certificate opens no more sessions. */
    o = run(st, xml, SHA1_A, REAL_ID, NOW + 60);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_FORBIDDEN);
}
END_TEST

#define MSI_NODE                                                               \
    "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/%7BAB_1%7D/"      \
    "DownloadInstall"

START_TEST(generic_alert_is_a_result_of_its_operation)
{
    wm_store_t *st = open_store();
    apr_array_header_t *r;
    apr_int64_t a, other;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    other = queue(st, DEV_A, "LOCK", NULL);
    a = queue(st, DEV_A, "SYNCML",
              "<Exec><Item><Target><LocURI>" MSI_NODE "</LocURI></Target>"
              "<Data>x</Data></Item></Exec>");
    run_cert(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 1), NOW);
    run_cert(st,
             dev_msg("1", "2", DEV_A, NULL,
                     apr_pstrcat(wm_test_pool, st_xml(id_str(a), "Exec", 202),
                                 st_xml(id_str(other), "Exec", 200), NULL),
                     1),
             NOW + 1);
    ck_assert_str_eq(op(st, a)->state, "done");

    o = run_cert(
        st,
        dev_msg("2", "1", DEV_A, NULL,
                "<Alert><CmdID>2</CmdID><Data>1226</Data><Item><Source>"
                "<LocURI>" MSI_NODE "</LocURI></Source><Meta><Type" MI
                ">Reversed-Domain-Name:com.microsoft.mdm.win32csp_install"
                "</Type><Format" MI ">int</Format></Meta><Data>0</Data>"
                "</Item></Alert>"
                "<Alert><CmdID>3</CmdID><Data>1226</Data><Item><Source>"
                "<LocURI>./Vendor/MSFT/Nothing/Sent</LocURI></Source><Meta>"
                "<Type" MI ">com.x</Type></Meta><Data>1</Data></Item>"
                "</Alert>",
                1),
        NOW + 100);
    assert_status(o, "2", "Alert", "200");
    assert_status(o, "3", "Alert", "200");
    ck_assert_int_eq(o->res.unenrolled, 0);
    ck_assert_str_eq(device(st, DEV_A)->state, "enrolled");
    r = results(st, a);
    ck_assert_int_eq(r->nelts, 1);
    ck_assert_str_eq(APR_ARRAY_IDX(r, 0, wm_kv_t).key, MSI_NODE);
    ck_assert_str_eq(APR_ARRAY_IDX(r, 0, wm_kv_t).value, "0");
    ck_assert_int_eq(sql_count(st, "SELECT COUNT(*) FROM results"), 1);
}
END_TEST

/* A Status per item of a Get of three nodes (OMA-DM 1.2.1 Representation
 * 6.6.15: a Status may name the item it is about with TargetRef): every
 * status counts, the first of 300 or more fails the operation, in any
 * order (DESIGN.md section 1). */
static const char *item_status(const char *cmd_ref, const char *uri, int code)
{
    static int next = 100;

    return apr_psprintf(wm_test_pool,
                        "<Status><CmdID>%d</CmdID><MsgRef>1</MsgRef><CmdRef>%s"
                        "</CmdRef><Cmd>Get</Cmd><TargetRef>%s</TargetRef>"
                        "<Data>%d</Data></Status>",
                        next++, cmd_ref, uri, code);
}

START_TEST(every_item_status_counts)
{
    static const int codes[][3] = {
        {200, 200, 404}, {404, 200, 200}, {200, 405, 404}, {200, 200, 200}};
    static const char *const uris[] = {"./DevInfo/Man", "./DevDetail/SwV",
                                       "./Vendor/MSFT/Policy/Config/A/B"};
    wm_store_t *st = open_store();
    int k;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    for (k = 0; k < 4; k++) {
        const char *ref, *statuses = "", *session = apr_itoa(wm_test_pool, k);
        apr_int64_t a;
        wm_op_t *x;
        int i;

        a = queue(st, DEV_A, "SYNCML", GET_THREE);
        run_cert(st, dev_msg(session, "1", DEV_A, NULL, ALERT_1201, 1), NOW);
        ref = id_str(a);
        for (i = 0; i < 3; i++) {
            statuses = apr_pstrcat(wm_test_pool, statuses,
                                   item_status(ref, uris[i], codes[k][i]),
                                   NULL);
        }
        run_cert(st, dev_msg(session, "2", DEV_A, NULL, statuses, 1),
                 NOW + 1);
        x = op(st, a);
        if (k == 3) {
            ck_assert_str_eq(x->state, "done");
            ck_assert_int_eq(x->status, 200);
        }
        else {
            ck_assert_str_eq(x->state, "failed");
            ck_assert_int_eq(x->status, k == 2 ? 405 : 404);
        }
    }
}
END_TEST

/* The final result of an MSI install: Alert 1224 with the Meta Type of
 * the EnterpriseDesktopAppManagement CSP's "Alert example" (Alert 1226
 * accepted too), the product id's braces raw or escaped, in upper or
 * lower case; Data 0 completes APP_INSTALL, anything else fails it. */
START_TEST(msi_result_alert_completes_app_install)
{
    static const struct {
        const char *code, *uri, *data, *state;
    } cases[] = {
        {"1224",
         "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/"
         "%7BABCDEF01-2345-6789-ABCD-EF0123456789%7D/DownloadInstall",
         "0", "done"},
        {"1224",
         "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/"
         "{abcdef01-2345-6789-abcd-ef0123456789}/DownloadInstall",
         "0", "done"},
        {"1226",
         "./Device/Vendor/MSFT/EnterpriseDesktopAppManagement/MSI/"
         "%7babcdef01-2345-6789-ABCD-EF0123456789%7d/DownloadInstall",
         "1603", "failed"},
        {NULL, NULL, NULL, NULL}};
    wm_store_t *st = open_store();
    int k;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    for (k = 0; cases[k].code; k++) {
        const char *s1 = apr_psprintf(wm_test_pool, "a%d", k);
        const char *s2 = apr_psprintf(wm_test_pool, "b%d", k);
        wm_op_params_t params;
        const char *body, *err = NULL, *alert;
        apr_int64_t a;
        wm_op_t *x;
        int count;
        out_t *o;

        memset(&params, 0, sizeof(params));
        params.product_id = "{ABCDEF01-2345-6789-abcd-EF0123456789}";
        params.version = "1.0.0";
        params.url = "https://example.test/app.msi";
        params.sha256 = "0123456789abcdef0123456789abcdef"
                        "0123456789abcdef0123456789abcdef";
        ck_assert_int_eq(wm_ops_build("APP_INSTALL", &params, 65536, &body,
                                      &count, &err, wm_test_pool),
                         APR_SUCCESS);
        ck_assert_int_eq(wm_store_op_add(st, DEV_A, "APP_INSTALL", body,
                                         count, NOW, &a, wm_test_pool),
                         APR_SUCCESS);
        run_cert(st, dev_msg(s1, "1", DEV_A, NULL, ALERT_1201, 1), NOW);
        run_cert(st,
                 dev_msg(s1, "2", DEV_A, NULL,
                         apr_pstrcat(wm_test_pool,
                                     st_xml(apr_pstrcat(wm_test_pool,
                                                        id_str(a), ".1", NULL),
                                            "Add", 200),
                                     st_xml(apr_pstrcat(wm_test_pool,
                                                        id_str(a), ".2", NULL),
                                            "Exec", 202),
                                     NULL),
                         1),
                 NOW + 1);
        /* Accepted, not yet installed. */
        ck_assert_str_eq(op(st, a)->state, "sent");
        alert = apr_pstrcat(
            wm_test_pool, "<Alert><CmdID>2</CmdID><Data>", cases[k].code,
            "</Data><Item><Source><LocURI>", cases[k].uri,
            "</LocURI></Source><Meta><Type" MI
            ">Reversed-Domain-Name:com.microsoft.mdm.win32csp_install"
            "</Type><Format" MI ">int</Format><Mark" MI
            ">informational</Mark></Meta><Data>",
            cases[k].data, "</Data></Item></Alert>", NULL);
        o = run_cert(st, dev_msg(s2, "1", DEV_A, NULL, alert, 1), NOW + 60);
        assert_status(o, "2", "Alert", "200");
        x = op(st, a);
        ck_assert_str_eq(x->state, cases[k].state);
        ck_assert_int_eq(results(st, a)->nelts, 1);
    }
}
END_TEST

START_TEST(changed_poll_interval_is_sent)
{
    wm_store_t *st = open_store();
    apr_array_header_t *ops;
    wm_sml_cmd_t *c = NULL;
    wm_sml_item_t *it;
    wm_op_t *x;
    out_t *o;
    int i;

    enroll(st, DEV_A, SHA1_A, NULL, 5);
    o = run_cert(st, dev_msg("1", "1", DEV_A, NULL, ALERT_1201, 1), NOW);
    ck_assert_int_eq(o->res.ops_sent, 1);
    ck_assert_int_eq(wm_store_op_list(st, DEV_A, 0, 10, &ops, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(ops->nelts, 1);
    x = APR_ARRAY_IDX(ops, 0, wm_op_t *);
    ck_assert_str_eq(x->type, "POLL");
    ck_assert_str_eq(x->state, "sent");
    for (i = 1; i < o->back->cmds->nelts; i++) {
        if (!strcmp(cmd_at(o, i)->name, "Replace")) {
            c = cmd_at(o, i);
        }
    }
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->cmd_id, id_str(x->id));
    it = APR_ARRAY_IDX(c->items, 5, wm_sml_item_t *);
    ck_assert_str_eq(it->target, "./Vendor/MSFT/DMClient/Provider/mod_winmdm/"
                                 "Poll/IntervalForRemainingScheduledRetries");
    ck_assert_str_eq(it->data, "15");
    ck_assert_int_eq(device(st, DEV_A)->poll_interval, 15);

    /* Told once. */
    o = run_cert(st, dev_msg("2", "1", DEV_A, NULL, ALERT_1201, 1), NOW + 10);
    ck_assert_int_eq(o->res.ops_sent, 0);
    ck_assert_int_eq(sql_count(st, "SELECT COUNT(*) FROM operations"), 1);
}
END_TEST

START_TEST(unanswered_operation_is_resent_in_a_later_session)
{
    wm_store_t *st = open_store();
    apr_int64_t a;
    out_t *o;

    enroll(st, DEV_A, SHA1_A, NULL, 15);
    a = queue(st, DEV_A, "LOCK", NULL);
    o = run_cert(st, dev_msg("A", "1", DEV_A, NULL, ALERT_1201, 1), NOW);
    ck_assert_str_eq(sent_ids(o), id_str(a));

    /* Not again in its own session, however late. */
    o = run_cert(st, dev_msg("A", "2", DEV_A, NULL, "", 1), NOW + 1000);
    ck_assert_int_eq(o->res.ops_sent, 0);
    ck_assert_int_eq(o->res.closed, 1);
    /* Another session: only once it has waited long enough. */
    o = run_cert(st, dev_msg("B", "1", DEV_A, NULL, ALERT_1201, 1),
                 NOW + WM_STORE_RESEND_AFTER - 10);
    ck_assert_int_eq(o->res.ops_sent, 0);
    ck_assert_str_eq(op(st, a)->sent_session, "A");
    o = run_cert(st, dev_msg("B", "2", DEV_A, NULL, ALERT_1201, 1), NOW + 200);
    ck_assert_int_eq(o->res.ops_sent, 1);
    ck_assert_str_eq(sent_ids(o), id_str(a));
    ck_assert_str_eq(op(st, a)->sent_session, "B");
    ck_assert(op(st, a)->sent == NOW + 200);

    /* A status from the old session no longer counts. */
    run_cert(st,
             dev_msg("A", "3", DEV_A, NULL, st_xml(id_str(a), "Exec", 500), 1),
             NOW + 201);
    ck_assert_str_eq(op(st, a)->state, "sent");
    run_cert(st,
             dev_msg("B", "3", DEV_A, NULL, st_xml(id_str(a), "Exec", 200), 1),
             NOW + 202);
    ck_assert_str_eq(op(st, a)->state, "done");
}
END_TEST

START_TEST(real_first_package_with_digest)
{
    wm_store_t *st = open_store();
    const char *xml, *at;
    apr_size_t len;
    out_t *o;

    enroll(st, REAL_ID, NULL, NULL, 15);
    wm_store_nonce_put(st, NONCE, REAL_ID, NOW + 1000, wm_test_pool);
    xml = wm_test_fixture("windows10/syncml_s1_m1_client_init_win10_19043.xml",
                          &len);
    at = strstr(xml, "</SyncHdr>");
    ck_assert_ptr_nonnull(at);
    xml = apr_pstrcat(wm_test_pool,
                      apr_pstrmemdup(wm_test_pool, xml, (apr_size_t)(at - xml)),
                      cred(REAL_ID, SECRET, NONCE), at, NULL);
    o = run(st, xml, NULL, NULL, NOW);
    ck_assert_int_eq(o->res.hdr_status, WM_SC_OK);
    ck_assert_str_eq(o->res.how, "digest");
    ck_assert_int_eq(o->back->cmds->nelts, 4);
    assert_status(o, "2", "Alert", "200");
    assert_status(o, "3", "Alert", "200");
    assert_status(o, "4", "Replace", "200");
    ck_assert_ptr_nonnull(next_nonce(o));
    ck_assert_str_eq(inventory(st, REAL_ID, "com.microsoft/MDM/LoginStatus"),
                     "user");
    ck_assert_str_eq(inventory(st, REAL_ID, "./DevInfo/DevId"), REAL_ID);
    ck_assert_str_eq(inventory(st, REAL_ID, "./DevInfo/Man"), "VMware, Inc.");
    ck_assert_str_eq(inventory(st, REAL_ID, "./DevInfo/Mod"), "VMware7,1");
    ck_assert_str_eq(inventory(st, REAL_ID, "./DevInfo/DmV"), "1.3");
    ck_assert_str_eq(inventory(st, REAL_ID, "./DevInfo/Lang"), "en-US");
    ck_assert_int_eq(inventory_count(st, REAL_ID), 6);
}
END_TEST

Suite *wm_test_dm_suite(void)
{
    Suite *s = suite_create("dm");
    TCase *auth = tcase_create("auth");
    TCase *q = tcase_create("queue");

    tcase_add_unchecked_fixture(auth, dir_setup, dir_teardown);
    wm_test_pool_fixture(auth);
    tcase_add_checked_fixture(auth, db_setup, db_teardown);
    tcase_add_test(auth, no_credentials_get_407_with_a_nonce);
    tcase_add_test(auth, right_digest_gets_200_and_statuses);
    tcase_add_test(auth, nonce_of_another_session_is_a_replay);
    tcase_add_test(auth, nonce_serves_every_message_of_an_open_session);
    tcase_add_test(auth, wrong_digest_gets_401);
    tcase_add_test(auth, certificate_of_the_device_opens_its_session);
    tcase_add_test(auth, unknown_device_gets_403_and_no_nonce);
    tcase_add_test(auth, unenrolled_device_gets_403);
    tcase_add_test(auth, real_first_package_with_digest);
    suite_add_tcase(s, auth);

    tcase_add_unchecked_fixture(q, dir_setup, dir_teardown);
    wm_test_pool_fixture(q);
    tcase_add_checked_fixture(q, db_setup, db_teardown);
    tcase_add_test(q, operations_go_out_in_id_order);
    tcase_add_test(q, device_statuses_complete_operations);
    tcase_add_test(q, results_are_stored_with_inventory);
    tcase_add_test(q, results_for_another_devices_operation_are_refused);
    tcase_add_test(q, message_without_final_asks_for_the_next);
    tcase_add_test(q, chunked_results_are_joined);
    tcase_add_test(q, max_msg_size_limits_the_operations_sent);
    tcase_add_test(q, claim_limit_bounds_a_reply);
    tcase_add_test(q, operation_larger_than_a_reply);
    tcase_add_test(q, unenroll_alert_ends_the_enrollment);
    tcase_add_test(q, generic_alert_is_a_result_of_its_operation);
    tcase_add_test(q, changed_poll_interval_is_sent);
    tcase_add_test(q, every_item_status_counts);
    tcase_add_test(q, msi_result_alert_completes_app_install);
    tcase_add_test(q, unanswered_operation_is_resent_in_a_later_session);
    suite_add_tcase(s, q);
    return s;
}
