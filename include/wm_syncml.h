/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* OMA-DM SyncML 1.2 messages (spec/syncml.md sections 2 and 4): the parsed
 * SyncHdr of a device message and the server's reply header. The command
 * layer (SyncBody) builds on this. Element names are matched by local name:
 * Windows puts SyncML in the default namespace SYNCML:SYNCML1.2, other
 * clients use none. */

#ifndef WM_SYNCML_H
#define WM_SYNCML_H

#include <apr_pools.h>
#include <libxml/tree.h>

#define WM_SYNCML_CONTENT_TYPE "application/vnd.syncml.dm+xml"
#define WM_SYNCML_WBXML_TYPE "application/vnd.syncml.dm+wbxml"
#define WM_NS_SYNCML "SYNCML:SYNCML1.2"
#define WM_NS_METINF "syncml:metinf"

/* SyncML nests Atomic/Sequence, Item, Meta: 32 is ample for real clients. */
#define WM_SYNCML_MAX_DEPTH 32

/** OMA-DM status codes the server uses (OMA-TS-DM_RepPro 1.2, 10). */
#define WM_SC_OK 200
#define WM_SC_BAD_REQUEST 400
#define WM_SC_INVALID_CRED 401
#define WM_SC_MISSING_CRED 407
#define WM_SC_COMMAND_FAILED 500

/** The SyncHdr of a device message; strings trimmed, NULL when absent. */
typedef struct wm_syncml_hdr_t {
    const char *ver_dtd;
    const char *ver_proto;
    const char *session_id;
    const char *msg_id;
    const char *target_uri;   /* the server URL the device posted to */
    const char *source_uri;   /* the device: its DeviceID */
    xmlNodePtr cred;          /* Cred element, or NULL */
    apr_int64_t max_msg_size; /* Meta/MaxMsgSize, 0 when not stated */
} wm_syncml_hdr_t;

/** A parsed device message. */
typedef struct wm_syncml_msg_t {
    xmlDocPtr doc; /* freed with the pool */
    wm_syncml_hdr_t hdr;
    xmlNodePtr body; /* SyncBody */
} wm_syncml_msg_t;

/**
 * Parses a device message safely (wm_xml rules; the OMA DOCTYPE is allowed
 * but never loaded).
 * @return APR_SUCCESS; APR_ENOSPC over max; APR_EINVAL when it is not a
 *         SyncML message with SyncHdr (SessionID, MsgID, Source) and
 *         SyncBody, with *perr saying why
 */
apr_status_t wm_syncml_parse(wm_syncml_msg_t **pmsg, const char *buf,
                             apr_size_t len, apr_size_t max, const char **perr,
                             apr_pool_t *p);

/**
 * Builds a reply holding only the SyncHdr, its Status (CmdID 1, MsgRef =
 * the device's MsgID, CmdRef 0, Cmd SyncHdr, Data status) and Final: the
 * whole answer when the server refuses or ends a session.
 * @param hdr         the device's header; NULL when it could not be read
 *                    (then SessionID and MsgRef are empty)
 * @param msg_id      the server's MsgID for this reply
 * @param server_uri  Source LocURI of the reply (the URL served)
 */
const char *wm_syncml_reply_status_only(const wm_syncml_hdr_t *hdr,
                                        const char *msg_id,
                                        const char *server_uri, int status,
                                        apr_pool_t *p);

#endif /* WM_SYNCML_H */
