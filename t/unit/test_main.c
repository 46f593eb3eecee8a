/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The unit test runner: every suite of the core, one process per test
 * (check's fork mode), so a crash fails one test, not the run. */

#include <stdio.h>
#include <stdlib.h>

#include <apr_dbd.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "wm_log.h"
#include "wm_store.h"
#include "wm_xml.h"
#include "unit.h"

apr_pool_t *wm_test_pool;
static apr_pool_t *root_pool;

static void pool_setup(void)
{
    apr_pool_create(&wm_test_pool, root_pool);
}

static void pool_teardown(void)
{
    apr_pool_destroy(wm_test_pool);
    wm_test_pool = NULL;
}

void wm_test_pool_fixture(TCase *tc)
{
    tcase_add_checked_fixture(tc, pool_setup, pool_teardown);
}

const char *wm_test_fixture(const char *name, apr_size_t *plen)
{
    const char *dir = getenv("WM_FIXTURES");
    const char *path;
    apr_file_t *f;
    apr_finfo_t fi;
    char *buf;
    apr_size_t n;

    path =
        apr_pstrcat(wm_test_pool, dir ? dir : "../fixtures", "/", name, NULL);
    ck_assert_msg(apr_file_open(&f, path, APR_FOPEN_READ, 0, wm_test_pool) ==
                      APR_SUCCESS,
                  "cannot open fixture %s", path);
    apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    n = (apr_size_t)fi.size;
    buf = apr_palloc(wm_test_pool, n + 1);
    ck_assert_int_eq(apr_file_read_full(f, buf, n, &n), APR_SUCCESS);
    buf[n] = '\0';
    apr_file_close(f);
    *plen = n;
    return buf;
}

/* Errors the core logs go to stderr, next to the failing assertion. */
static void log_to_stderr(int level, apr_status_t rv, const char *msg,
                          apr_pool_t *p)
{
    (void)rv, (void)p;
    if (level <= WM_LOG_ERR) {
        fprintf(stderr, "core log: %s\n", msg);
    }
}

int main(void)
{
    SRunner *sr;
    int failed;

    apr_initialize();
    atexit(apr_terminate);
    apr_pool_create(&root_pool, NULL);
    apr_dbd_init(root_pool);
    wm_xml_init();
    wm_log_set(log_to_stderr);
    /* As an httpd child does: the store's SQLite write lock. */
    wm_store_child_init(root_pool);

    sr = srunner_create(wm_test_xml_suite());
    srunner_add_suite(sr, wm_test_soap_suite());
    srunner_add_suite(sr, wm_test_discovery_suite());
    srunner_add_suite(sr, wm_test_store_suite());
    srunner_add_suite(sr, wm_test_syncml_suite());
    srunner_add_suite(sr, wm_test_ca_suite());
    srunner_add_suite(sr, wm_test_cert_suite());
    srunner_add_suite(sr, wm_test_enroll_suite());
    srunner_add_suite(sr, wm_test_ops_suite());
    srunner_add_suite(sr, wm_test_syncml2_suite());
    srunner_add_suite(sr, wm_test_dm_suite());
    srunner_add_suite(sr, wm_test_profile_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
