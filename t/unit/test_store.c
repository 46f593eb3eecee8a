/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The store on a real SQLite file through apr_dbd: the same code the module
 * runs on mod_dbd's connections. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "wm_store.h"
#include "unit.h"

static const apr_dbd_driver_t *driver;
static char dbpath[64];

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

static wm_store_t *open_store(apr_hash_t **pprepared)
{
    apr_dbd_t *handle;
    apr_hash_t *prepared = apr_hash_make(wm_test_pool);
    wm_store_t *st;
    const char *err = NULL;

    ck_assert_int_eq(apr_dbd_get_driver(wm_test_pool, "sqlite3", &driver),
                     APR_SUCCESS);
    ck_assert_int_eq(
        apr_dbd_open_ex(driver, wm_test_pool, dbpath, &handle, &err),
        APR_SUCCESS);
    apr_pool_cleanup_register(wm_test_pool, handle, close_handle,
                              apr_pool_cleanup_null);
    ck_assert_int_eq(wm_store_attach(&st, driver, handle, prepared,
                                     wm_test_pool, wm_test_pool),
                     APR_SUCCESS);
    if (pprepared) {
        *pprepared = prepared;
    }
    return st;
}

static void db_setup(void)
{
    int fd;
    apr_cpystrn(dbpath, "/tmp/wm-unit-XXXXXX", sizeof(dbpath));
    fd = mkstemp(dbpath);
    close(fd);
    unlink(dbpath); /* the store creates it */
}

static void db_teardown(void)
{
    char path[sizeof(dbpath) + 8];

    /* Not from the test pool: its fixture may be torn down first. */
    unlink(dbpath);
    apr_snprintf(path, sizeof(path), "%s-wal", dbpath);
    unlink(path);
    apr_snprintf(path, sizeof(path), "%s-shm", dbpath);
    unlink(path);
}

static const char *first_value(wm_store_t *st, const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *v = NULL;

    ck_assert_int_eq(
        apr_dbd_select(st->driver, wm_test_pool, st->handle, &res, sql, 0), 0);
    while (apr_dbd_get_row(st->driver, wm_test_pool, res, &row, -1) == 0) {
        if (!v) {
            v = apr_pstrdup(wm_test_pool,
                            apr_dbd_get_entry(st->driver, row, 0));
        }
    }
    return v;
}

START_TEST(creates_schema_once_in_wal_mode)
{
    apr_hash_t *prepared;
    wm_store_t *st = open_store(&prepared), *again;
    int version;

    ck_assert_int_eq(wm_store_schema_version(st, &version, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(version, WM_STORE_SCHEMA_VERSION);
    ck_assert_str_eq(first_value(st, "PRAGMA journal_mode"), "wal");
    ck_assert_ptr_nonnull(
        apr_hash_get(prepared, "wm_device_get", APR_HASH_KEY_STRING));
    /* The same connection is not set up twice; a second one migrates
     * nothing and finds one row per version. */
    ck_assert_int_eq(wm_store_attach(&again, st->driver, st->handle, prepared,
                                     wm_test_pool, wm_test_pool),
                     APR_SUCCESS);
    again = open_store(NULL);
    ck_assert_str_eq(first_value(again, "SELECT COUNT(*) FROM wm_schema"),
                     apr_itoa(wm_test_pool, WM_STORE_SCHEMA_VERSION));
    ck_assert_str_eq(first_value(again, "SELECT COUNT(*) FROM sqlite_master "
                                        "WHERE type = 'table' AND name IN "
                                        "('devices', 'tokens', 'operations', "
                                        "'results', 'inventory', 'nonces', "
                                        "'auth_failures')"),
                     "7");
}
END_TEST

START_TEST(refuses_a_newer_schema)
{
    wm_store_t *st = open_store(NULL), *newer;
    apr_dbd_t *handle;
    const char *err;
    int n;

    ck_assert_int_eq(apr_dbd_query(st->driver, st->handle, &n,
                                   "INSERT INTO wm_schema VALUES (999)"),
                     0);
    ck_assert_int_eq(
        apr_dbd_open_ex(driver, wm_test_pool, dbpath, &handle, &err),
        APR_SUCCESS);
    apr_pool_cleanup_register(wm_test_pool, handle, close_handle,
                              apr_pool_cleanup_null);
    ck_assert_int_ne(wm_store_attach(&newer, driver, handle,
                                     apr_hash_make(wm_test_pool), wm_test_pool,
                                     wm_test_pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(newer);
}
END_TEST

START_TEST(stores_and_replaces_devices)
{
    wm_store_t *st = open_store(NULL);
    wm_device_t d, *got;

    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(wm_store_device_get(st, "DEV1", &got, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(got);

    d.device_id = "DEV1";
    d.user = "o'brien@example.test"; /* quotes are data, not SQL */
    d.hw_dev_id = "HW";
    d.enroll_type = "Full";
    d.os_version = "10.0.19043.2364";
    d.cert_sha1 = "ABCDEF";
    d.cert_not_after = APR_INT64_C(4102444800);
    d.enrolled_at = 1700000000;
    ck_assert_int_eq(wm_store_device_put(st, &d, wm_test_pool), APR_SUCCESS);
    ck_assert_int_eq(wm_store_device_get(st, "DEV1", &got, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got->user, "o'brien@example.test");
    ck_assert_str_eq(got->state, "enrolled");
    ck_assert_str_eq(got->cert_sha1, "ABCDEF");
    ck_assert(got->cert_not_after == APR_INT64_C(4102444800));
    ck_assert_ptr_null(got->device_name);
    ck_assert(got->last_seen == 0);

    /* Re-enrollment replaces the row: still one device. */
    d.cert_sha1 = "123456";
    d.state = "unenrolled";
    ck_assert_int_eq(wm_store_device_put(st, &d, wm_test_pool), APR_SUCCESS);
    ck_assert_int_eq(wm_store_device_get(st, "DEV1", &got, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_str_eq(got->cert_sha1, "123456");
    ck_assert_str_eq(got->state, "unenrolled");
    ck_assert_str_eq(first_value(st, "SELECT COUNT(*) FROM devices"), "1");
}
END_TEST

START_TEST(tokens_expire_and_purge)
{
    wm_store_t *st = open_store(NULL);
    const char *user;
    int purged = -1;

    ck_assert_int_eq(wm_store_token_put(st, "h1", "alice", 1000, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(wm_store_token_put(st, "h2", "bob", 3000, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(wm_store_token_get(st, "h1", 999, &user, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_str_eq(user, "alice");
    ck_assert_int_eq(wm_store_token_get(st, "h1", 1000, &user, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(user);
    ck_assert_int_eq(wm_store_token_get(st, "nope", 0, &user, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_ptr_null(user);
    /* A token hash is unique. */
    ck_assert_int_ne(
        wm_store_token_put(st, "h2", "mallory", 9000, wm_test_pool),
        APR_SUCCESS);
    ck_assert_ptr_nonnull(strstr(wm_store_error(st), "wm_token_put"));
    ck_assert_int_eq(wm_store_purge(st, 2000, &purged, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(purged, 1);
    ck_assert_int_eq(wm_store_token_get(st, "h2", 2000, &user, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_str_eq(user, "bob");
}
END_TEST

START_TEST(counts_failures_in_a_window)
{
    wm_store_t *st = open_store(NULL);
    apr_int64_t last;
    int n;

    ck_assert_int_eq(wm_store_failures_get(st, "u:x", &n, &last, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(n, 0);
    wm_store_failure_add(st, "u:x", 1000, 900, wm_test_pool);
    wm_store_failure_add(st, "u:x", 1010, 900, wm_test_pool);
    wm_store_failure_add(st, "a:1.2.3.4", 1010, 900, wm_test_pool);
    wm_store_failures_get(st, "u:x", &n, &last, wm_test_pool);
    ck_assert_int_eq(n, 2);
    ck_assert(last == 1010);
    /* After a quiet window the count starts again. */
    wm_store_failure_add(st, "u:x", 5000, 900, wm_test_pool);
    wm_store_failures_get(st, "u:x", &n, &last, wm_test_pool);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(wm_store_failure_clear(st, "u:x", wm_test_pool),
                     APR_SUCCESS);
    wm_store_failures_get(st, "u:x", &n, &last, wm_test_pool);
    ck_assert_int_eq(n, 0);
    wm_store_failures_get(st, "a:1.2.3.4", &n, &last, wm_test_pool);
    ck_assert_int_eq(n, 1);
}
END_TEST

/* One token enrolls one device: it is spent (exactly one unexpired row)
 * in the transaction that stores the device; a spent, unknown or expired
 * token stores nothing. */
START_TEST(spends_a_token_once)
{
    wm_store_t *st = open_store(NULL);
    wm_device_t d;

    memset(&d, 0, sizeof(d));
    d.user = "alice@example.test";
    d.enrolled_at = 1000;
    ck_assert_int_eq(wm_store_token_put(st, "t1", d.user, 2000, wm_test_pool),
                     APR_SUCCESS);
    d.device_id = "DEV-A";
    d.cert_sha1 = "AAAA";
    ck_assert_int_eq(wm_store_enroll_signed(st, &d, "n1", 9000, "t1", 1500,
                                            wm_test_pool),
                     APR_SUCCESS);
    d.device_id = "DEV-B";
    d.cert_sha1 = "BBBB";
    ck_assert_int_eq(wm_store_enroll_signed(st, &d, "n2", 9000, "t1", 1500,
                                            wm_test_pool),
                     APR_ENOENT);
    ck_assert_str_eq(first_value(st, "SELECT COUNT(*) FROM devices"), "1");
    ck_assert_str_eq(first_value(st, "SELECT COUNT(*) FROM nonces"), "1");
    /* An expired token is no better. */
    ck_assert_int_eq(wm_store_token_put(st, "t2", d.user, 2000, wm_test_pool),
                     APR_SUCCESS);
    ck_assert_int_eq(wm_store_enroll_signed(st, &d, "n3", 9000, "t2", 2000,
                                            wm_test_pool),
                     APR_ENOENT);
    ck_assert_str_eq(first_value(st, "SELECT COUNT(*) FROM tokens"), "1");
    ck_assert_str_eq(first_value(st, "SELECT cert_sha1 FROM devices"), "AAAA");
}
END_TEST

/* Within a session the MsgID must grow on its nonce; a rotated nonce
 * starts again. */
START_TEST(msg_ids_grow_within_a_session)
{
    wm_store_t *st = open_store(NULL);
    int ok = -1, bound = 0, rotated = 0;

    wm_store_nonce_put(st, "N1", "DEV", 9000, wm_test_pool);
    wm_store_nonce_bind(st, "N1", "DEV", "S1", 0, &bound, wm_test_pool);
    ck_assert_int_eq(bound, 1);
    wm_store_nonce_msg(st, "N1", "DEV", "S1", 1, &ok, wm_test_pool);
    ck_assert_int_eq(ok, 1);
    wm_store_nonce_msg(st, "N1", "DEV", "S1", 2, &ok, wm_test_pool);
    ck_assert_int_eq(ok, 1);
    wm_store_nonce_msg(st, "N1", "DEV", "S1", 2, &ok, wm_test_pool);
    ck_assert_int_eq(ok, 0);
    wm_store_nonce_msg(st, "N1", "DEV", "S1", 1, &ok, wm_test_pool);
    ck_assert_int_eq(ok, 0);
    wm_store_nonce_msg(st, "N1", "DEV", "S2", 3, &ok, wm_test_pool);
    ck_assert_int_eq(ok, 0);
    wm_store_nonce_rotate(st, "DEV", "N1", "N2", 9000, &rotated, wm_test_pool);
    ck_assert_int_eq(rotated, 1);
    /* Bound with its first message's MsgID: that MsgID is taken. */
    wm_store_nonce_bind(st, "N2", "DEV", "S3", 4, &bound, wm_test_pool);
    ck_assert_int_eq(bound, 1);
    wm_store_nonce_msg(st, "N2", "DEV", "S3", 4, &ok, wm_test_pool);
    ck_assert_int_eq(ok, 0);
    wm_store_nonce_msg(st, "N2", "DEV", "S3", 5, &ok, wm_test_pool);
    ck_assert_int_eq(ok, 1);
}
END_TEST

Suite *wm_test_store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("sqlite");

    wm_test_pool_fixture(tc);
    tcase_add_checked_fixture(tc, db_setup, db_teardown);
    tcase_add_test(tc, creates_schema_once_in_wal_mode);
    tcase_add_test(tc, refuses_a_newer_schema);
    tcase_add_test(tc, stores_and_replaces_devices);
    tcase_add_test(tc, tokens_expire_and_purge);
    tcase_add_test(tc, counts_failures_in_a_window);
    tcase_add_test(tc, spends_a_token_once);
    tcase_add_test(tc, msg_ids_grow_within_a_session);
    suite_add_tcase(s, tc);
    return s;
}
