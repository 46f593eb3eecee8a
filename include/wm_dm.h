/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* One OMA-DM message of a management session (spec/syncml.md sections 5
 * to 7, DESIGN.md section 1): who the device is, what its statuses,
 * results and alerts mean for the queue and the inventory, and what goes
 * back: statuses, then as many pending operations as fit, or the end of
 * the session. Core code: the glue hands it the parsed message, the TLS
 * client certificate it checked, and a store. */

#ifndef WM_DM_H
#define WM_DM_H

#include <apr_pools.h>

#include "wm_dm_profile.h"
#include "wm_store.h"
#include "wm_syncml.h"

/* When the device states no MaxMsgSize, replies stay under this. */
#define WM_DM_DEFAULT_MAX_MSG 65536
/* Room a reply's SyncHdr (two LocURIs of up to a few hundred bytes) takes
 * before its first command, at the most, for the queue-time size check. */
#define WM_DM_REPLY_BASE 1024
/* Operations claimed for one reply at the most. */
#define WM_DM_CLAIM_LIMIT 32
/* last_seen is written when it is older than this (seconds). */
#define WM_DM_SEEN_EVERY 60
/* How long a digest nonce given for the next session stays good. */
#define WM_DM_NONCE_LIFETIME (7 * 86400)

/* Bounds on what one device can make the server keep (DESIGN.md section
 * 5); a device over one gets a SyncML status that says so (413 or 420)
 * and a WM00045..WM00048 log line, and nothing else it sent is lost.
 * Chunks of a result arriving in several messages (MoreData), pending
 * per command and per device: */
#define WM_DM_CMD_CHUNKS 128
#define WM_DM_CMD_CHUNK_BYTES (4 * 1024 * 1024)
#define WM_DM_DEVICE_CHUNKS 256
#define WM_DM_DEVICE_CHUNK_BYTES (8 * 1024 * 1024)
/* Results kept per operation; beyond, the operation fails (status 413)
 * with a result item (no URI) that says why: */
#define WM_DM_OP_RESULTS 1024
#define WM_DM_OP_RESULT_BYTES (8 * 1024 * 1024)
/* Inventory nodes kept per device, and the longest value kept: */
#define WM_DM_INVENTORY_NODES 256
#define WM_DM_INVENTORY_VALUE 4096

/** What the vhost's configuration says. */
typedef struct wm_dm_conf_t {
    const char *server_uri;  /* Source LocURI of replies */
    const char *provider_id; /* WinMDMProviderID */
    int poll_interval;       /* WinMDMPollInterval, minutes */
    int allow_cert;          /* WinMDMDeviceAuth cert or any */
    int allow_digest;        /* WinMDMDeviceAuth digest or any */
    wm_profile_conf_t profiles;
} wm_dm_conf_t;

/** What happened, for the glue's log line. */
typedef struct wm_dm_result_t {
    int hdr_status;     /* the SyncHdr status sent */
    const char *how;    /* "certificate" or "digest" when authenticated */
    const char *reason; /* why the device was refused */
    int ops_sent;       /* operations sent in the reply */
    int closed;         /* the reply ends the session */
    int unenrolled;     /* the device unenrolled in this message */
} wm_dm_result_t;

/**
 * Whether an operation's body (placeholder CmdIDs) fits a reply of max
 * bytes on its own: its commands once their CmdIDs are filled in, the
 * SyncHdr, its Status with a Chal and the closing tags. An operation that
 * does not is refused when it is queued (an operation is never split).
 */
int wm_dm_op_fits(const char *body, apr_size_t max);

/**
 * Handles one device message in one transaction.
 * @param cert_sha1, cert_cn  the TLS client certificate the glue checked
 *                            against the device CA, or NULL
 * @param preply, plen        the reply to send (HTTP 200)
 * @return APR_SUCCESS, or an error when the database failed (nothing is
 *         half-written; the glue answers a 500 status)
 */
apr_status_t wm_dm_message(wm_store_t *st, const wm_dm_conf_t *conf,
                           const wm_syncml_msg_t *msg, const char *cert_sha1,
                           const char *cert_cn, apr_int64_t now,
                           const char **preply, apr_size_t *plen,
                           wm_dm_result_t *res, apr_pool_t *p);

#endif /* WM_DM_H */
