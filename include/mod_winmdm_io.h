/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* Request bodies in, whole responses out. Every response carries
 * Content-Length and is never chunked: the Windows enrollment client
 * rejects chunked answers (spec/enrollment.md 0.1). */

#ifndef MOD_WINMDM_IO_H
#define MOD_WINMDM_IO_H

#include <httpd.h>

#include "wm_soap.h"

#define WM_SOAP_CONTENT_TYPE "application/soap+xml; charset=utf-8"

/**
 * Reads the whole request body, chunked or not, up to limit bytes.
 * @param pbuf  receives the body, NUL-terminated, in r->pool
 * @return OK; HTTP_REQUEST_ENTITY_TOO_LARGE over limit; another HTTP error
 *         status when the client's body could not be read
 */
int wm_io_read_body(request_rec *r, apr_off_t limit, const char **pbuf,
                    apr_size_t *plen);

/** Sends body with the status and type given, Content-Length set; returns
 *  OK for the handler to return. */
int wm_io_send(request_rec *r, int status, const char *content_type,
               const char *body, apr_size_t len);

/** The largest slice wm_io_write hands ap_rwrite (which takes an int). */
#define WM_IO_WRITE_SLICE ((apr_size_t)1 << 30)

/** Writes len bytes of body, of any size: in slices that an int holds. */
void wm_io_write(request_rec *r, const char *body, apr_size_t len);

/** Sends a SOAP fault with HTTP 500 (DESIGN.md section 1) and logs why at
 *  info level. */
int wm_io_soap_fault(request_rec *r, wm_fault_e sub, const char *action,
                     const char *relates_to, const char *reason);

/**
 * Reads and parses a SOAP request and checks its a:Action (when it has
 * one) against action. Every enrollment endpoint starts so.
 * @return the envelope, or NULL after answering: a fault with
 *         reply_action, or an HTTP error in *pstatus (413 over max)
 */
wm_soap_env_t *wm_io_read_soap(request_rec *r, apr_off_t max,
                               const char *action, const char *reply_action,
                               int *pstatus);

#endif /* MOD_WINMDM_IO_H */
