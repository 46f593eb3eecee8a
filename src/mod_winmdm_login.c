/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The federated sign-in page (MS-MDE2 3.2, spec/enrollment.md section 3):
 * the device's web authentication broker opens it with appru and
 * login_hint; a right password ends on a page that posts wresult=<token>
 * to appru by itself. The token is random, stored only as its SHA-256
 * with the user and an expiry, and appru must be an ms-app:// URI so the
 * page can never post a token to a web site (no open redirect). */

#include <string.h>

#include <apr_strings.h>
#include <apr_time.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_script.h>

#include "wm_secret.h"
#include "wm_store.h"
#include "mod_winmdm_auth.h"
#include "mod_winmdm_dbd.h"
#include "mod_winmdm_io.h"
#include "mod_winmdm_private.h"
#include "mod_winmdm_routes.h"

/* A sign-in form is small; more than this is not one. */
#define FORM_MAX 8192

typedef struct {
    const char *appru;
    const char *login_hint;
    const char *username;
    const char *password;
} login_form_t;

/* Reads "a=b&c=d" (URL-encoded) into the form's fields. */
static void parse_pairs(char *s, login_form_t *f)
{
    char *pair, *state = NULL;

    for (pair = apr_strtok(s, "&", &state); pair;
         pair = apr_strtok(NULL, "&", &state)) {
        char *eq = strchr(pair, '=');
        char *val = eq ? eq + 1 : (char *)"";
        if (eq) {
            *eq = '\0';
        }
        if (ap_unescape_urlencoded(pair) || ap_unescape_urlencoded(val)) {
            continue; /* a bad escape: ignore the pair */
        }
        if (!strcmp(pair, "appru")) {
            f->appru = val;
        }
        else if (!strcmp(pair, "login_hint")) {
            f->login_hint = val;
        }
        else if (!strcmp(pair, "username")) {
            f->username = val;
        }
        else if (!strcmp(pair, "password")) {
            f->password = val;
        }
    }
}

/* ms-app://<something>, nothing else (MS-MDE2 3.2: appru is the
 * application's callback in the broker, never a web address). */
static int appru_ok(const char *appru)
{
    const char *c;
    if (!appru || strncasecmp(appru, "ms-app://", 9) || !appru[9] ||
        strlen(appru) > 512) {
        return 0;
    }
    for (c = appru; *c; c++) {
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static const char page_head[] =
    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, "
    "initial-scale=1\"><title>%s</title><style>"
    "body{font-family:system-ui,'Segoe UI',sans-serif;margin:0;"
    "background:#f3f3f3;color:#1b1b1b}"
    "main{max-width:24rem;margin:2rem auto;padding:1.5rem;background:#fff;"
    "border-radius:.5rem;box-shadow:0 1px 4px rgba(0,0,0,.15)}"
    "h1{font-size:1.4rem;margin:0 0 1rem}"
    "label{display:block;margin:.8rem 0 .3rem;font-weight:600}"
    "input[type=email],input[type=text],input[type=password]{width:100%%;"
    "box-sizing:border-box;padding:.6rem;font-size:1rem;"
    "border:1px solid #767676;border-radius:.25rem}"
    "button{margin-top:1.2rem;width:100%%;padding:.7rem;font-size:1rem;"
    "border:0;border-radius:.25rem;background:#005a9e;color:#fff}"
    "button:focus,input:focus{outline:3px solid #ffb900}"
    "[role=alert]{background:#fde7e9;border-left:4px solid #a80000;"
    "padding:.6rem;margin-bottom:1rem}"
    "</style></head><body><main>";

static int send_page(request_rec *r, int status, const char *html)
{
    /* Never framed, never cached, never leaking the URL onward. */
    apr_table_setn(r->headers_out, "X-Frame-Options", "DENY");
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    return wm_io_send(r, status, "text/html; charset=utf-8", html,
                      strlen(html));
}

static int show_form(request_rec *r, const char *appru, const char *user,
                     const char *error)
{
    const char *html = apr_pstrcat(
        r->pool, apr_psprintf(r->pool, page_head, "Sign in"),
        "<h1>Sign in to enroll this device</h1>",
        error ? "<p role=\"alert\" id=\"err\">" : "",
        error ? ap_escape_html2(r->pool, error, 1) : "", error ? "</p>" : "",
        "<form method=\"post\" action=\"", ap_escape_html2(r->pool, r->uri, 1),
        "\">"
        "<input type=\"hidden\" name=\"appru\" value=\"",
        ap_escape_html2(r->pool, appru, 1),
        "\">"
        "<label for=\"username\">Work account</label>"
        "<input type=\"text\" inputmode=\"email\" id=\"username\" "
        "name=\"username\" "
        "autocomplete=\"username\" required value=\"",
        ap_escape_html2(r->pool, user ? user : "", 1), "\"",
        error ? " aria-describedby=\"err\"" : "",
        ">"
        "<label for=\"password\">Password</label>"
        "<input type=\"password\" id=\"password\" name=\"password\" "
        "autocomplete=\"current-password\" required",
        user && *user ? " autofocus" : "",
        ">"
        "<button type=\"submit\">Sign in</button></form></main></body>"
        "</html>",
        NULL);
    return send_page(r, HTTP_OK, html);
}

static int refuse_appru(request_rec *r)
{
    ap_log_rerror(
        APLOG_MARK, APLOG_INFO, 0, r,
        WMLOGNO(00025) "sign-in page refused: appru is not an ms-app:// URI");
    return send_page(
        r, HTTP_BAD_REQUEST,
        apr_pstrcat(r->pool, apr_psprintf(r->pool, page_head, "Bad request"),
                    "<h1>This page only serves Windows enrollment</h1>"
                    "<p>Start from Settings, Accounts, Access work or "
                    "school on the device.</p></main></body></html>",
                    NULL));
}

/* The last page: posts wresult to appru on load (MS-MDE2 3.2). */
static int post_token(request_rec *r, const char *appru, const char *token)
{
    const char *html = apr_pstrcat(
        r->pool, apr_psprintf(r->pool, page_head, "Working..."),
        "<form method=\"post\" action=\"", ap_escape_html2(r->pool, appru, 1),
        "\"><input type=\"hidden\" name=\"wresult\" value=\"", token,
        "\"><p>Signed in. Enrolling the device...</p>"
        "<noscript><button type=\"submit\">Continue</button></noscript>"
        "</form></main><script>document.forms[0].submit();</script>"
        "</body></html>",
        NULL);
    return send_page(r, HTTP_OK, html);
}

int wm_ep_login(request_rec *r, const wm_srv_conf_t *sc,
                const wm_route_t *route)
{
    login_form_t f = {NULL, NULL, NULL, NULL};
    const char *token, *body;
    apr_size_t len;
    apr_int64_t wait, now;
    wm_store_t *st;
    int status;

    (void)route;
    if (r->args) {
        parse_pairs(apr_pstrdup(r->pool, r->args), &f);
    }
    if (r->method_number == M_GET) {
        if (!appru_ok(f.appru)) {
            return refuse_appru(r);
        }
        return show_form(r, f.appru, f.login_hint, NULL);
    }

    /* Credentials come from the POST body only: a query string ends up
     * in access logs, proxies and browser history. */
    f.username = f.password = NULL;
    status = wm_io_read_body(r, FORM_MAX, &body, &len);
    if (status != OK) {
        return status;
    }
    parse_pairs(apr_pstrmemdup(r->pool, body, len), &f);
    if (!appru_ok(f.appru)) {
        return refuse_appru(r);
    }
    if (!f.username || !*f.username || !f.password) {
        return show_form(r, f.appru, f.username,
                         "Enter your work account and password.");
    }
    if (!wm_auth_domain_ok(sc, f.username)) {
        ap_log_rerror(
            APLOG_MARK, APLOG_INFO, 0, r,
            WMLOGNO(00026) "sign-in refused: %s is not in an enrolled domain",
            f.username);
        return show_form(r, f.appru, f.username,
                         "This account cannot enroll devices here.");
    }
    if (wm_dbd_store(r, &st) != APR_SUCCESS) {
        return show_form(r, f.appru, f.username,
                         "The service is unavailable. Try again later.");
    }
    switch (wm_auth_password(r, sc, st, f.username, f.password, &wait)) {
    case WM_PW_OK:
        break;
    case WM_PW_LOCKED:
        return show_form(r, f.appru, f.username,
                         apr_psprintf(r->pool,
                                      "Too many failed attempts. Try again "
                                      "in %" APR_INT64_T_FMT " seconds.",
                                      wait));
    case WM_PW_DENIED:
        return show_form(r, f.appru, f.username,
                         "The user name or password is incorrect.");
    default:
        return show_form(r, f.appru, f.username,
                         "The service is unavailable. Try again later.");
    }

    now = apr_time_sec(apr_time_now());
    if (!(token = wm_secret_token(r->pool)) ||
        wm_store_token_put(st, wm_secret_sha256_hex(token, r->pool), f.username,
                           now + wm_conf_token_lifetime(sc),
                           r->pool) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      WMLOGNO(00027) "cannot store a sign-in token: %s",
                      wm_store_error(st));
        return show_form(r, f.appru, f.username,
                         "The service is unavailable. Try again later.");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  WMLOGNO(00028) "sign-in token issued to %s", f.username);
    return post_token(r, f.appru, token);
}
