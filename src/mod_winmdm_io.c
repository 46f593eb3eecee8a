/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Body reading with the brigade loop of httpd's util_xml.c: it handles
 * chunked request bodies, which r->remaining (0 for them) cannot size, and
 * stops at the configured limit. */

#include <string.h>

#include <apr_buckets.h>
#include <apr_strings.h>

#include <httpd.h>
#include <http_log.h>
#include <http_protocol.h>
#include <util_filter.h>

#include "mod_winmdm_io.h"
#include "mod_winmdm_private.h"

/* Read granularity; each read is bounded so the limit is enforced before
 * the memory is spent. */
#define READ_BLOCK 8192

int wm_io_read_body(request_rec *r, apr_off_t limit, const char **pbuf,
                    apr_size_t *plen)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_bucket_brigade *bb;
    apr_size_t total = 0, cap = READ_BLOCK;
    char *buf;
    int seen_eos = 0;
    apr_status_t rv;

    *pbuf = NULL;
    *plen = 0;
    /* A declared length over the limit is refused before reading. */
    if (cl) {
        apr_off_t n;
        char *end;
        if (apr_strtoff(&n, cl, &end, 10) == APR_SUCCESS && !*end &&
            n > limit) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          WMLOGNO(00002) "request body of %s bytes exceeds "
                                         "WinMDMMaxMessageSize %" APR_OFF_T_FMT,
                          cl, limit);
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
    }
    buf = apr_palloc(r->pool, cap + 1);
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    do {
        apr_bucket *b;

        rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                            APR_BLOCK_READ, READ_BLOCK);
        if (rv != APR_SUCCESS) {
            apr_brigade_destroy(bb);
            ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, r,
                          WMLOGNO(00003) "reading the request body failed");
            return ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t len;

            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b)) {
                continue;
            }
            rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
            if (rv != APR_SUCCESS) {
                apr_brigade_destroy(bb);
                return HTTP_BAD_REQUEST;
            }
            if ((apr_off_t)(total + len) > limit) {
                apr_brigade_destroy(bb);
                ap_log_rerror(
                    APLOG_MARK, APLOG_INFO, 0, r,
                    WMLOGNO(00004) "request body exceeds WinMDMMaxMessageSize "
                                   "%" APR_OFF_T_FMT,
                    limit);
                return HTTP_REQUEST_ENTITY_TOO_LARGE;
            }
            if (total + len > cap) {
                char *grown;
                while (total + len > cap) {
                    cap *= 2;
                }
                grown = apr_palloc(r->pool, cap + 1);
                memcpy(grown, buf, total);
                buf = grown;
            }
            memcpy(buf + total, data, len);
            total += len;
        }
        apr_brigade_cleanup(bb);
    } while (!seen_eos);
    apr_brigade_destroy(bb);
    buf[total] = '\0';
    *pbuf = buf;
    *plen = total;
    return OK;
}

int wm_io_send(request_rec *r, int status, const char *content_type,
               const char *body, apr_size_t len)
{
    r->status = status;
    ap_set_content_type(r, content_type);
    ap_set_content_length(r, (apr_off_t)len);
    /* mod_deflate would drop Content-Length and chunk the reply. */
    apr_table_setn(r->subprocess_env, "no-gzip", "1");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (!r->header_only) {
        wm_io_write(r, body, len);
    }
    return OK;
}

/* ap_rwrite takes an int: a body of 2 GiB or more would be cut (or its
 * length turn negative), so it goes out in slices of at most 1 GiB. */
void wm_io_write(request_rec *r, const char *body, apr_size_t len)
{
    while (len > 0) {
        apr_size_t n = len > WM_IO_WRITE_SLICE ? WM_IO_WRITE_SLICE : len;
        if (ap_rwrite(body, (int)n, r) < 0) {
            return; /* the client went away */
        }
        body += n;
        len -= n;
    }
}

int wm_io_soap_fault(request_rec *r, wm_fault_e sub, const char *action,
                     const char *relates_to, const char *reason)
{
    const char *body =
        wm_soap_fault(sub, action, relates_to, reason, NULL, r->pool);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  WMLOGNO(00005) "SOAP fault %s: %s", wm_soap_subcode_name(sub),
                  reason);
    return wm_io_send(r, HTTP_INTERNAL_SERVER_ERROR, WM_SOAP_CONTENT_TYPE, body,
                      strlen(body));
}

wm_soap_env_t *wm_io_read_soap(request_rec *r, apr_off_t max,
                               const char *action, const char *reply_action,
                               int *pstatus)
{
    wm_soap_env_t *env;
    const char *buf, *err;
    apr_size_t len;
    apr_status_t rv;

    *pstatus = wm_io_read_body(r, max, &buf, &len);
    if (*pstatus != OK) {
        return NULL;
    }
    rv = wm_soap_parse(&env, buf, len, (apr_size_t)max, &err, r->pool);
    if (rv == APR_ENOSPC) {
        *pstatus = HTTP_REQUEST_ENTITY_TOO_LARGE;
        return NULL;
    }
    if (rv != APR_SUCCESS) {
        *pstatus = wm_io_soap_fault(r, WM_FAULT_MESSAGE_FORMAT, reply_action,
                                    NULL, err);
        return NULL;
    }
    if (env->action && strcmp(env->action, action)) {
        *pstatus = wm_io_soap_fault(
            r, WM_FAULT_MESSAGE_FORMAT, reply_action, env->message_id,
            apr_pstrcat(r->pool, "this endpoint answers the action ", action,
                        " only", NULL));
        return NULL;
    }
    return env;
}
