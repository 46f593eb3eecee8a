/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* OMA-DM SyncML 1.2 messages (spec/syncml.md sections 2 to 4): parsing a
 * device message into headers, commands and items, and building the
 * server's reply. Element names are matched by local name: Windows puts
 * SyncML in the default namespace SYNCML:SYNCML1.2, other clients use
 * none; Meta children are read in any namespace for the same reason.
 * Unknown elements are skipped. */

#ifndef WM_SYNCML_H
#define WM_SYNCML_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <libxml/tree.h>

#define WM_SYNCML_CONTENT_TYPE "application/vnd.syncml.dm+xml"
#define WM_SYNCML_WBXML_TYPE "application/vnd.syncml.dm+wbxml"
#define WM_NS_SYNCML "SYNCML:SYNCML1.2"
#define WM_NS_METINF "syncml:metinf"

/* SyncML nests Atomic/Sequence, Item, Meta: 32 is ample for real clients. */
#define WM_SYNCML_MAX_DEPTH 32
/* Atomic and Sequence may nest; deeper than this is not a real message. */
#define WM_SYNCML_MAX_NEST 8

/** OMA-DM status codes the server uses (OMA-TS-DM_RepPro 1.2, 10). */
#define WM_SC_OK 200
#define WM_SC_CHUNK_ACCEPTED 213
#define WM_SC_BAD_REQUEST 400
#define WM_SC_INVALID_CRED 401
#define WM_SC_FORBIDDEN 403
#define WM_SC_NOT_SUPPORTED 406
#define WM_SC_MISSING_CRED 407
#define WM_SC_TOO_LARGE 413 /* request entity too large: over a bound */
#define WM_SC_FULL 420      /* device full: the server keeps no more */
#define WM_SC_COMMAND_FAILED 500

/** An Item: Target/Source LocURI, Meta, Data (text, or the inner markup
 *  of a Data holding XML), MoreData. */
typedef struct wm_sml_item_t {
    const char *target;
    const char *source;
    const char *meta_type;
    const char *meta_format;
    const char *data; /* NULL when there is no Data element */
    int more_data;
} wm_sml_item_t;

/** A command of SyncBody (or nested in Atomic/Sequence). */
typedef struct wm_sml_cmd_t {
    const char *name;      /* element name: Alert, Status, Results, ... */
    const char *cmd_id;    /* CmdID, NULL when missing */
    const char *msg_ref;   /* Status, Results */
    const char *cmd_ref;   /* Status, Results */
    const char *cmd;       /* Status: the command answered */
    const char *data;      /* Status code, Alert code */
    const char *meta_type; /* the command's own Meta */
    const char *meta_format;
    xmlNodePtr chal;              /* Status: Chal, or NULL */
    apr_array_header_t *items;    /* wm_sml_item_t * */
    apr_array_header_t *children; /* Atomic, Sequence: wm_sml_cmd_t * */
} wm_sml_cmd_t;

/** The SyncHdr of a device message; strings trimmed, NULL when absent. */
typedef struct wm_syncml_hdr_t {
    const char *ver_dtd;
    const char *ver_proto;
    const char *session_id;
    const char *msg_id;
    const char *target_uri;   /* the server URL the device posted to */
    const char *source_uri;   /* the device: its DeviceID */
    const char *source_name;  /* Source/LocName: the digest user name */
    const char *cred_type;    /* Cred/Meta/Type, e.g. syncml:auth-md5 */
    const char *cred_format;  /* Cred/Meta/Format, e.g. b64 */
    const char *cred_data;    /* Cred/Data */
    apr_int64_t max_msg_size; /* Meta/MaxMsgSize, 0 when not stated */
} wm_syncml_hdr_t;

/** A parsed device message. */
typedef struct wm_syncml_msg_t {
    xmlDocPtr doc; /* freed with the pool */
    wm_syncml_hdr_t hdr;
    xmlNodePtr body;          /* SyncBody */
    apr_array_header_t *cmds; /* wm_sml_cmd_t *, in document order */
    int final;                /* SyncBody ends with Final */
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
 * Parses the SyncBody commands of a fragment: what an administrator queues
 * as raw SyncML ("<Get>...</Get><Replace>...</Replace>"). Only Get, Add,
 * Replace, Delete, Exec, Atomic and Sequence are accepted, each with at
 * least one Item with a Target LocURI (Atomic/Sequence: at least one
 * command).
 * @return APR_SUCCESS or APR_EINVAL with *perr set
 */
apr_status_t wm_syncml_parse_commands(apr_array_header_t **pcmds,
                                      const char *xml, apr_size_t max,
                                      const char **perr, apr_pool_t *p);

/* ---------------------------------------------------------------- reply */

/** A server reply under construction. */
typedef struct wm_sml_reply_t wm_sml_reply_t;

/**
 * Starts a reply to hdr: SyncHdr with the device's SessionID, the given
 * MsgID, Target = the device, Source = server_uri.
 * @param hdr  the device's header; NULL when it could not be read
 */
wm_sml_reply_t *wm_sml_reply_new(const wm_syncml_hdr_t *hdr, const char *msg_id,
                                 const char *server_uri, apr_pool_t *p);

/**
 * Sets the SyncHdr Status, always the first Status (CmdID "s1", CmdRef 0,
 * MsgRef the device's MsgID); it can be set last, once the server knows
 * whether the session ends. next_nonce, when not NULL, adds a Chal with
 * that NextNonce (syncml:auth-md5, spec/syncml.md section 7). A reply whose
 * header status is never set is not a valid message.
 */
void wm_sml_reply_hdr_status(wm_sml_reply_t *rp, int code,
                             const char *next_nonce);

/** Appends a Status (CmdID chosen by the reply: "s<n>", which no
 *  operation CmdID can equal). */
void wm_sml_reply_status(wm_sml_reply_t *rp, const char *msg_ref,
                         const char *cmd_ref, const char *cmd, int code);

/** Appends an Alert with the given code (e.g. 1222, next message). */
void wm_sml_reply_alert(wm_sml_reply_t *rp, int code);

/** Appends ready command markup (queued operations). */
void wm_sml_reply_raw(wm_sml_reply_t *rp, const char *xml);

/** The size the reply has now, in bytes, without the closing part. */
apr_size_t wm_sml_reply_size(const wm_sml_reply_t *rp);

/** Bytes the closing part adds (Final and the end tags). */
#define WM_SML_REPLY_CLOSING 48

/** Closes the reply (with Final when final) and returns it. */
const char *wm_sml_reply_finish(wm_sml_reply_t *rp, int final,
                                apr_size_t *plen);

/** The whole reply holding only the SyncHdr Status and Final. */
const char *wm_syncml_reply_status_only(const wm_syncml_hdr_t *hdr,
                                        const char *msg_id,
                                        const char *server_uri, int status,
                                        apr_pool_t *p);

#endif /* WM_SYNCML_H */
