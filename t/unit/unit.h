/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Shared by the core's unit tests (check): a pool per test, fixtures. */

#ifndef WM_UNIT_H
#define WM_UNIT_H

#include <check.h>
#include <apr_pools.h>

/** The pool of the running test, made by the fixture in each suite. */
extern apr_pool_t *wm_test_pool;

/** Adds the per-test pool fixture to a test case. */
void wm_test_pool_fixture(TCase *tc);

/** Reads a file of the repository's t/fixtures/ folder into the pool;
 *  fails the test when it cannot. */
const char *wm_test_fixture(const char *name, apr_size_t *plen);

Suite *wm_test_xml_suite(void);
Suite *wm_test_soap_suite(void);
Suite *wm_test_discovery_suite(void);
Suite *wm_test_store_suite(void);
Suite *wm_test_syncml_suite(void);
Suite *wm_test_ca_suite(void);
Suite *wm_test_cert_suite(void);
Suite *wm_test_enroll_suite(void);
Suite *wm_test_ops_suite(void);
Suite *wm_test_syncml2_suite(void);
Suite *wm_test_dm_suite(void);
Suite *wm_test_profile_suite(void);

#endif /* WM_UNIT_H */
