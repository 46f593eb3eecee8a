/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Loading the device CA: real keys and certificates made with OpenSSL. */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "wm_ca.h"
#include "unit.h"

static EVP_PKEY *new_key(void)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    ck_assert_ptr_nonnull(k);
    return k;
}

/* Writes a self-signed certificate for key (CA:TRUE when is_ca) and the
 * key itself; returns the two paths through pcert/pkey. */
static void write_pair(EVP_PKEY *key, EVP_PKEY *cert_key, int is_ca,
                       long days_from, const char **pcert, const char **pkey)
{
    X509 *x = X509_new();
    X509_NAME *name;
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    char cpath[] = "/tmp/wm-ca-crt-XXXXXX", kpath[] = "/tmp/wm-ca-key-XXXXXX";
    FILE *f;
    int fd;

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), days_from * 86400L);
    X509_gmtime_adj(X509_getm_notAfter(x), (days_from + 30) * 86400L);
    X509_set_pubkey(x, cert_key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"Unit CA", -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                              is_ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert(X509_sign(x, cert_key, EVP_sha256()) > 0);

    fd = mkstemp(cpath);
    f = fdopen(fd, "w");
    PEM_write_X509(f, x);
    fclose(f);
    fd = mkstemp(kpath);
    f = fdopen(fd, "w");
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    *pcert = apr_pstrdup(wm_test_pool, cpath);
    *pkey = apr_pstrdup(wm_test_pool, kpath);
}

static apr_status_t load(const char *c, const char *k, wm_ca_t **pca,
                         const char **perr)
{
    apr_status_t rv = wm_ca_load(pca, c, k, perr, wm_test_pool);
    unlink(c);
    unlink(k);
    return rv;
}

START_TEST(loads_a_root_ca)
{
    EVP_PKEY *key = new_key();
    const char *c, *k, *err = NULL;
    wm_ca_t *ca;

    write_pair(key, key, 1, -1, &c, &k);
    ck_assert_int_eq(load(c, k, &ca, &err), APR_SUCCESS);
    ck_assert_int_eq((int)strlen(ca->sha1_hex), 40);
    ck_assert(ca->self_signed);
    ck_assert(strspn(ca->sha1_hex, "0123456789ABCDEF") == 40);
    ck_assert(strlen(ca->der_b64) > 100);
    EVP_PKEY_free(key);
}
END_TEST

START_TEST(refuses_bad_cas)
{
    EVP_PKEY *key = new_key(), *other = new_key();
    const char *c, *k, *err = NULL;
    wm_ca_t *ca;

    /* a key that is not the certificate's */
    write_pair(other, key, 1, -1, &c, &k);
    ck_assert_int_eq(load(c, k, &ca, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "does not match"));
    /* not a CA */
    write_pair(key, key, 0, -1, &c, &k);
    ck_assert_int_eq(load(c, k, &ca, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a CA"));
    /* not valid yet */
    write_pair(key, key, 1, 10, &c, &k);
    ck_assert_int_eq(load(c, k, &ca, &err), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not valid now"));
    /* missing files, and a key where the certificate should be */
    ck_assert_int_eq(
        wm_ca_load(&ca, "/nonexistent", "/nonexistent", &err, wm_test_pool),
        APR_EINVAL);
    write_pair(key, key, 1, -1, &c, &k);
    ck_assert_int_eq(wm_ca_load(&ca, k, k, &err, wm_test_pool), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "no PEM certificate"));
    unlink(c);
    unlink(k);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
}
END_TEST

Suite *wm_test_ca_suite(void)
{
    Suite *s = suite_create("ca");
    TCase *tc = tcase_create("load");

    wm_test_pool_fixture(tc);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, loads_a_root_ca);
    tcase_add_test(tc, refuses_bad_cas);
    suite_add_tcase(s, tc);
    return s;
}
