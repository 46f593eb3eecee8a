/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The OMA-DM session logic (see wm_dm.h). Every device message is
 * authenticated on its own (DESIGN.md section 1): by the TLS client
 * certificate issued to the DeviceID in SyncHdr/Source, or by an MD5
 * digest over a server nonce. An accepted message gets SyncHdr Status 200,
 * never 212. The reply's MsgID is the device's MsgID: the server answers
 * each message once, so its own sequence follows the device's. */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "wm_digest.h"
#include "wm_dm.h"
#include "wm_dm_profile.h"
#include "wm_log.h"
#include "wm_ops.h"
#include "wm_secret.h"

#define UNENROLL_TYPE "com.microsoft:mdm.unenrollment.userrequest"
/* The final result of an MSI job (EnterpriseDesktopAppManagement CSP,
 * "Alert example"). */
#define MSI_RESULT_TYPE                                                        \
    "Reversed-Domain-Name:com.microsoft.mdm.win32csp_install"
/* Space kept free in a reply for the SyncHdr Status with a Chal. */
#define REPLY_SLACK 512

typedef struct {
    wm_store_t *st;
    const wm_dm_conf_t *conf;
    const wm_syncml_msg_t *msg;
    const wm_syncml_hdr_t *hdr;
    wm_device_t *dev;
    wm_sml_reply_t *rp;
    wm_dm_result_t *res;
    apr_hash_t *inventory;  /* uri -> value as stored, read on first use */
    const char *nonce_used; /* the digest nonce of this message */
    int nonces_bound;       /* nonces bound to this session */
    int more_asked;         /* the reply asks for the next message (1222) */
    apr_size_t base_size;   /* the reply before any Status or command */
    apr_hash_t *settle;     /* profile operations answered in this message:
                               id -> wm_kv_t array of refused CmdRefs */
    int inventory_full;     /* said once in this message */
    apr_int64_t now;
    apr_pool_t *p;
} dm_t;

/* ---------------------------------------------------------- helpers */

/* A nonce for the device's next session: one never used yet, stored
 * unbound, good for the session that uses it first and for that one only.
 * An unused one is given again rather than a new one made, so refusals
 * cannot fill the table. */
static apr_status_t next_nonce(dm_t *dm, const char **pnonce)
{
    apr_array_header_t *nonces;
    const char *n;
    int i;

    *pnonce = NULL;
    if (wm_store_nonces_get(dm->st, dm->dev->device_id, dm->now, &nonces,
                            dm->p)) {
        return APR_EGENERAL;
    }
    for (i = 0; i < nonces->nelts; i++) {
        const wm_kv_t *kv = &APR_ARRAY_IDX(nonces, i, wm_kv_t);
        if (!kv->value) {
            *pnonce = kv->key;
            return APR_SUCCESS;
        }
    }
    if (!(n = wm_secret_random_b64(16, dm->p)) ||
        wm_store_nonce_put(dm->st, n, dm->dev->device_id,
                           dm->now + WM_DM_NONCE_LIFETIME, dm->p)) {
        return APR_EGENERAL;
    }
    *pnonce = n;
    return APR_SUCCESS;
}

/* Stores one inventory value, unless it is what the database holds:
 * package 1 reports the same DevInfo every session, and an unchanged
 * value costs no write. */
static apr_status_t inv_put(dm_t *dm, const char *uri, const char *value)
{
    const char *old;

    if (!dm->inventory) {
        apr_array_header_t *items;
        int i;
        if (wm_store_inventory_list(dm->st, dm->dev->device_id, &items,
                                    dm->p)) {
            return APR_EGENERAL;
        }
        dm->inventory = apr_hash_make(dm->p);
        for (i = 0; i < items->nelts; i++) {
            const wm_kv_t *kv = &APR_ARRAY_IDX(items, i, wm_kv_t);
            apr_hash_set(dm->inventory, kv->key, APR_HASH_KEY_STRING,
                         kv->value ? kv->value : "");
        }
    }
    old = apr_hash_get(dm->inventory, uri, APR_HASH_KEY_STRING);
    if (old && !strcmp(old, value)) {
        return APR_SUCCESS;
    }
    if (strlen(value) > WM_DM_INVENTORY_VALUE ||
        (!old && apr_hash_count(dm->inventory) >= WM_DM_INVENTORY_NODES)) {
        /* Bounded (wm_dm.h): the caller answers 420. */
        if (!dm->inventory_full++) {
            wm_log(WM_LOG_WARNING, 0, dm->p,
                   WM_LOGNO(00045) "device %s: inventory node %s not kept, "
                   "nor any other over the bound in this message (at most "
                   "%d nodes of %d bytes per device)",
                   dm->dev->device_id, uri, WM_DM_INVENTORY_NODES,
                   WM_DM_INVENTORY_VALUE);
        }
        return APR_ENOSPC;
    }
    apr_hash_set(dm->inventory, uri, APR_HASH_KEY_STRING, value);
    return wm_store_inventory_put(dm->st, dm->dev->device_id, uri, value,
                                  dm->now, dm->p);
}

/* ----------------------------------------------------- authentication */

typedef enum { AUTH_OK, AUTH_REFUSED, AUTH_ERROR } auth_e;

/* Within a digest session each message's MsgID must be greater than the
 * last one accepted on its nonce: a copy of a message of an open session,
 * sent again, is a replay (the nonce alone would accept it). */
static apr_int64_t msg_id_of(const wm_syncml_hdr_t *h)
{
    const char *m = h->msg_id;
    apr_int64_t id;
    char *end;

    if (!m || !*m || strlen(m) > 18 || (id = apr_strtoi64(m, &end, 10)) <= 0 ||
        *end) {
        return 0;
    }
    return id;
}

/* bound_now: the nonce was bound by this very message, which recorded its
 * MsgID with the binding (wm_store_nonce_bind): nothing more to write. */
static auth_e check_msg_id(dm_t *dm, const char *nonce, int bound_now)
{
    apr_int64_t id = msg_id_of(dm->hdr);
    int accepted = 0;

    if (!id) {
        dm->res->reason = "the MsgID is not a positive number";
        return AUTH_REFUSED;
    }
    if (bound_now) {
        return AUTH_OK;
    }
    if (wm_store_nonce_msg(dm->st, nonce, dm->dev->device_id,
                           dm->hdr->session_id, id, &accepted, dm->p)) {
        return AUTH_ERROR;
    }
    if (accepted != 1) {
        dm->res->reason = "the MsgID is not greater than that of the "
                          "session's last message (a replayed message)";
        return AUTH_REFUSED;
    }
    return AUTH_OK;
}

/* The digest over one of the device's nonces; a nonce already bound to
 * another session is a replay. */
static auth_e check_digest(dm_t *dm)
{
    const wm_syncml_hdr_t *h = dm->hdr;
    apr_array_header_t *nonces;
    int i, bound = 0;

    if (h->cred_type && strcmp(h->cred_type, "syncml:auth-md5")) {
        dm->res->reason = "only syncml:auth-md5 credentials are accepted";
        return AUTH_REFUSED;
    }
    if (h->source_name && strcmp(h->source_name, dm->dev->device_id)) {
        dm->res->reason = "the digest user name is not the DeviceID";
        return AUTH_REFUSED;
    }
    if (!dm->dev->digest_ha1) {
        dm->res->reason = "the device has no digest credentials";
        return AUTH_REFUSED;
    }
    if (wm_store_nonces_get(dm->st, dm->dev->device_id, dm->now, &nonces,
                            dm->p)) {
        return AUTH_ERROR;
    }
    for (i = 0; i < nonces->nelts; i++) {
        const wm_kv_t *n = &APR_ARRAY_IDX(nonces, i, wm_kv_t);
        dm->nonces_bound += n->value && !strcmp(n->value, h->session_id);
    }
    for (i = 0; i < nonces->nelts; i++) {
        const wm_kv_t *n = &APR_ARRAY_IDX(nonces, i, wm_kv_t);
        if (!wm_digest_check(dm->dev->digest_ha1, n->key, h->cred_data,
                             dm->p)) {
            continue;
        }
        dm->nonce_used = n->key;
        if (n->value) {
            if (!strcmp(n->value, h->session_id)) {
                return check_msg_id(dm, n->key, 0);
            }
            dm->res->reason = "the nonce belongs to another session";
            return AUTH_REFUSED;
        }
        if (wm_store_nonce_bind(dm->st, n->key, dm->dev->device_id,
                                h->session_id, msg_id_of(h), &bound, dm->p)) {
            return AUTH_ERROR;
        }
        if (bound == 1) {
            dm->nonces_bound++;
            return check_msg_id(dm, n->key, 1);
        }
        dm->res->reason = "the nonce was just used by another session";
        return AUTH_REFUSED;
    }
    dm->res->reason = "the digest does not match a current nonce";
    return AUTH_REFUSED;
}

/* Refuses the message: SyncHdr status and Final only, nothing processed.
 * A known, enrolled device is given a fresh nonce to retry with when
 * digest authentication is allowed (the nonce it has may be spent). */
static apr_status_t refuse(dm_t *dm, int code)
{
    const char *nonce = NULL;

    dm->res->hdr_status = code;
    if (dm->dev && code != WM_SC_FORBIDDEN && dm->conf->allow_digest &&
        next_nonce(dm, &nonce)) {
        return APR_EGENERAL;
    }
    wm_sml_reply_hdr_status(dm->rp, code, nonce);
    return APR_SUCCESS;
}

/* ----------------------------------------------------- the operations */

/* Removes index idx from a space-separated list of pending indexes (NULL:
 * 1..count); returns the list left, "" when none. */
static const char *ack(const char *pending, int count, int idx, apr_pool_t *p)
{
    apr_array_header_t *left = apr_array_make(p, 4, sizeof(const char *));
    char *list, *tok, *state = NULL;
    int i;

    if (!pending) {
        for (i = 1; i <= count; i++) {
            if (i != idx) {
                APR_ARRAY_PUSH(left, const char *) = apr_itoa(p, i);
            }
        }
    }
    else {
        list = apr_pstrdup(p, pending);
        for (tok = apr_strtok(list, " ", &state); tok;
             tok = apr_strtok(NULL, " ", &state)) {
            if (atoi(tok) != idx) {
                APR_ARRAY_PUSH(left, const char *) = tok;
            }
        }
    }
    return apr_array_pstrcat(p, left, ' ');
}

/* The device's operation a CmdRef names, sent in this session; NULL when
 * it names none of them (a Status or Results about anything else changes
 * nothing). */
static wm_op_t *op_of_ref(dm_t *dm, const char *cmd_ref, int *pidx)
{
    apr_int64_t id;
    wm_op_t *op = NULL;

    if (!wm_ops_cmdref(cmd_ref, &id, pidx) ||
        wm_store_op_get(dm->st, id, &op, dm->p) || !op ||
        strcmp(op->device_id, dm->dev->device_id) || !op->sent_session ||
        strcmp(op->sent_session, dm->hdr->session_id)) {
        return NULL;
    }
    return op;
}

/* Notes a profile operation this message answered, and a status of 300
 * or more it gave one of its commands (c, or NULL), for settle_profiles. */
static void to_settle(dm_t *dm, apr_int64_t id, const wm_sml_cmd_t *c)
{
    const char *key = apr_psprintf(dm->p, "%" APR_INT64_T_FMT, id);
    apr_array_header_t *failed;

    if (!dm->settle) {
        dm->settle = apr_hash_make(dm->p);
    }
    if (!(failed = apr_hash_get(dm->settle, key, APR_HASH_KEY_STRING))) {
        failed = apr_array_make(dm->p, 2, sizeof(wm_kv_t));
        apr_hash_set(dm->settle, key, APR_HASH_KEY_STRING, failed);
    }
    if (c) {
        wm_kv_t *kv = apr_array_push(failed);
        kv->key = c->cmd_ref;
        kv->value = c->data ? c->data : "";
    }
}

/* The profile operations this message completed move their device's
 * profile rows on (wm_dm_profile.h); a drifted profile is queued again. */
static apr_status_t settle_profiles(dm_t *dm)
{
    apr_hash_index_t *hi;
    apr_status_t rv;

    for (hi = dm->settle ? apr_hash_first(dm->p, dm->settle) : NULL; hi;
         hi = apr_hash_next(hi)) {
        const char *key;
        apr_array_header_t *failed;
        wm_op_t *op;
        int queued = 0;

        apr_hash_this(hi, (const void **)&key, NULL, (void **)&failed);
        if ((rv = wm_store_op_get(dm->st, apr_atoi64(key), &op, dm->p))) {
            return rv;
        }
        if (!op || (strcmp(op->state, "done") && strcmp(op->state, "failed"))) {
            continue; /* more statuses to come */
        }
        if ((rv = wm_dm_profile_settle(dm->st, dm->dev, op, failed,
                                       &dm->conf->profiles, dm->now, &queued,
                                       dm->p))) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* A device Status for one of our commands (OMA-DM status codes): 300 and
 * above fails the operation; it is done when every top-level command has
 * a 2xx (an Atomic's own status speaks for its commands). A command of
 * several items may get a Status per item (a Get of three nodes answered
 * 200, 200, 404): every one counts, so a failing status after the 2xx
 * that completed the operation in this session still fails it
 * (DESIGN.md section 1); the first failing status is the one kept. */
static apr_status_t on_status(dm_t *dm, const wm_sml_cmd_t *c)
{
    int idx, code = c->data ? atoi(c->data) : 0;
    const char *left;
    wm_op_t *op;

    if (!c->cmd_ref || !strcmp(c->cmd_ref, "0")) {
        return APR_SUCCESS; /* about our SyncHdr */
    }
    if (!(op = op_of_ref(dm, c->cmd_ref, &idx))) {
        return APR_SUCCESS;
    }
    if (wm_dm_profile_op(op->type)) {
        to_settle(dm, op->id, code >= 300 || code < 200 ? c : NULL);
    }
    if (code >= 300 || code < 200) {
        if (strcmp(op->state, "sent") && strcmp(op->state, "done")) {
            return APR_SUCCESS; /* already failed: the first code stays */
        }
        return wm_store_op_update(dm->st, op->id, "failed", code,
                                  op->cmds_pending, dm->now, dm->p);
    }
    if (strcmp(op->state, "sent")) {
        return APR_SUCCESS;
    }
    if (idx > op->cmd_count) {
        return APR_SUCCESS; /* a nested command's success */
    }
    if (!strcmp(op->type, "DISENROLL")) {
        /* The device accepted its unenrollment (DESIGN.md section 6): its
         * certificate and digest open no more sessions. */
        apr_status_t rv = wm_store_device_set_state(dm->st, dm->dev->device_id,
                                                    "unenrolled", dm->p);
        if (rv) {
            return rv;
        }
        dm->res->unenrolled = 1;
    }
    left = ack(op->cmds_pending, op->cmd_count, idx, dm->p);
    /* APP_INSTALL is done only by the final result (the MSI alert). */
    if (!*left && strcmp(op->type, "APP_INSTALL")) {
        return wm_store_op_update(dm->st, op->id, "done", code, NULL, dm->now,
                                  dm->p);
    }
    /* Still sent: awaiting more statuses, or (all accepted, left "") the
     * final result. */
    return wm_store_op_update(dm->st, op->id, "sent", code, left, 0, dm->p);
}

/* Inventory is the latest value of the identity and detail nodes. */
static int inventory_uri(const char *uri)
{
    return uri && (!strncmp(uri, "./DevInfo/", 10) ||
                   !strncmp(uri, "./DevDetail/", 12) ||
                   !strncmp(uri, "./Vendor/MSFT/DeviceStatus/", 27) ||
                   !strncmp(uri, "./Device/Vendor/MSFT/DeviceStatus/", 34) ||
                   !strcmp(uri, "./Vendor/MSFT/DMClient/HWDevID") ||
                   !strcmp(uri, "./Device/Vendor/MSFT/DMClient/HWDevID"));
}

/* Fails op because the device went over a bound: the results kept so far
 * stay, and one more item (no URI) says why. */
static apr_status_t fail_over_bound(dm_t *dm, wm_op_t *op, const char *why)
{
    apr_status_t rv;

    wm_log(WM_LOG_WARNING, 0, dm->p,
           WM_LOGNO(00046) "device %s: operation %" APR_INT64_T_FMT
           " failed: %s", dm->dev->device_id, op->id, why);
    if ((rv = wm_store_result_add(dm->st, op->id, NULL, why, dm->p))) {
        return rv;
    }
    op->state = "failed";
    return wm_store_op_update(dm->st, op->id, "failed", WM_SC_TOO_LARGE,
                              op->cmds_pending, dm->now, dm->p);
}

/* Checks one more chunk of len bytes for cmd_ref against the pending
 * bounds: *pcode 213 when it may be kept, 413 when the command's result
 * is too large (its chunks are dropped, the operation fails), 420 when
 * the device has too much pending (this chunk is not kept, the operation
 * fails, other commands' chunks stay). */
static apr_status_t chunk_bound(dm_t *dm, wm_op_t *op, const char *cmd_ref,
                                apr_size_t len, int *pcode)
{
    wm_store_usage_t u;
    apr_status_t rv;

    *pcode = WM_SC_CHUNK_ACCEPTED;
    if ((rv = wm_store_partial_usage(dm->st, dm->dev->device_id, cmd_ref, &u,
                                     dm->p))) {
        return rv;
    }
    if (u.cmd_chunks + 1 > WM_DM_CMD_CHUNKS ||
        u.cmd_bytes + (apr_int64_t)len > WM_DM_CMD_CHUNK_BYTES) {
        *pcode = WM_SC_TOO_LARGE;
        if ((rv = wm_store_partial_drop(dm->st, dm->dev->device_id, cmd_ref,
                                        dm->p))) {
            return rv;
        }
        return fail_over_bound(
            dm, op,
            apr_psprintf(dm->p,
                         "the result of command %s is larger than %d chunks "
                         "or %d bytes (a bound of this server)",
                         cmd_ref, WM_DM_CMD_CHUNKS, WM_DM_CMD_CHUNK_BYTES));
    }
    if (u.device_chunks + 1 > WM_DM_DEVICE_CHUNKS ||
        u.device_bytes + (apr_int64_t)len > WM_DM_DEVICE_CHUNK_BYTES) {
        *pcode = WM_SC_FULL;
        if ((rv = wm_store_partial_drop(dm->st, dm->dev->device_id, cmd_ref,
                                        dm->p))) {
            return rv;
        }
        return fail_over_bound(
            dm, op,
            apr_psprintf(dm->p,
                         "the device has more than %d chunks or %d bytes of "
                         "unfinished results pending (a bound of this "
                         "server); command %s was dropped",
                         WM_DM_DEVICE_CHUNKS, WM_DM_DEVICE_CHUNK_BYTES,
                         cmd_ref));
    }
    return APR_SUCCESS;
}

/* Checks one more result item of len bytes for op against the bound per
 * operation: *pover 1 when over (the operation is failed). */
static apr_status_t result_bound(dm_t *dm, wm_op_t *op, apr_size_t len,
                                 int *pover)
{
    apr_int64_t n, bytes;
    apr_status_t rv;

    *pover = 0;
    if ((rv = wm_store_result_usage(dm->st, op->id, &n, &bytes, dm->p))) {
        return rv;
    }
    if (n + 1 <= WM_DM_OP_RESULTS &&
        bytes + (apr_int64_t)len <= WM_DM_OP_RESULT_BYTES) {
        return APR_SUCCESS;
    }
    *pover = 1;
    if (!strcmp(op->state, "failed") && op->status == WM_SC_TOO_LARGE) {
        return APR_SUCCESS; /* said once already */
    }
    op->status = WM_SC_TOO_LARGE;
    return fail_over_bound(
        dm, op,
        apr_psprintf(dm->p,
                     "the results are larger than %d items or %d bytes per "
                     "operation (a bound of this server); the rest was not "
                     "kept",
                     WM_DM_OP_RESULTS, WM_DM_OP_RESULT_BYTES));
}

/* Results of a Get: stored per item on the operation; a result larger
 * than one message arrives in chunks (MoreData, OMA-DM 1.2.1 section 7),
 * each answered 213 and kept until the last one. */
static apr_status_t on_results(dm_t *dm, const wm_sml_cmd_t *c, int *pcode)
{
    const char *dev = dm->dev->device_id, *whole;
    wm_op_t *op;
    int i, idx;
    apr_status_t rv;

    if (!c->cmd_ref || !(op = op_of_ref(dm, c->cmd_ref, &idx))) {
        *pcode = WM_SC_FORBIDDEN;
        return APR_SUCCESS;
    }
    if (wm_dm_profile_op(op->type)) {
        to_settle(dm, op->id, NULL);
    }
    *pcode = WM_SC_OK;
    for (i = 0; i < c->items->nelts; i++) {
        wm_sml_item_t *it = APR_ARRAY_IDX(c->items, i, wm_sml_item_t *);
        const char *uri = it->source ? it->source : it->target;
        const char *data = it->data ? it->data : "";

        if (it->more_data) {
            int code;
            if ((rv = chunk_bound(dm, op, c->cmd_ref, strlen(data), &code))) {
                return rv;
            }
            if (code != WM_SC_CHUNK_ACCEPTED) {
                *pcode = code;
                continue;
            }
            if (*pcode == WM_SC_OK) {
                *pcode = WM_SC_CHUNK_ACCEPTED;
            }
            if ((rv = wm_store_partial_add(dm->st, dev, c->cmd_ref, uri, data,
                                           dm->now, dm->p))) {
                return rv;
            }
            continue;
        }
        if ((rv = wm_store_partial_take(dm->st, dev, c->cmd_ref, &whole,
                                        dm->p))) {
            return rv;
        }
        if (whole) {
            data = apr_pstrcat(dm->p, whole, data, NULL);
        }
        {
            int over;
            if ((rv = result_bound(dm, op, strlen(data), &over))) {
                return rv;
            }
            if (over) {
                *pcode = WM_SC_TOO_LARGE;
                continue;
            }
        }
        if ((rv = wm_store_result_add(dm->st, op->id, uri, data, dm->p))) {
            return rv;
        }
        if (inventory_uri(uri) && (rv = inv_put(dm, uri, data))) {
            if (rv != APR_ENOSPC) {
                return rv;
            }
            if (*pcode == WM_SC_OK) {
                *pcode = WM_SC_FULL; /* kept as a result, not in inventory */
            }
        }
    }
    return APR_SUCCESS;
}

/* An asynchronous result the device reports in an alert: the final
 * result of an MSI install (Alert 1224 in Windows' own form, 1226 too,
 * EnterpriseDesktopAppManagement CSP), or any other generic alert that
 * names a node of one of the device's operations. It is kept as a result
 * of the operation whose commands name its LocURI; for APP_INSTALL it is
 * the final word: Data 0 is success. */
static apr_status_t on_generic_alert(dm_t *dm, const wm_sml_item_t *it)
{
    const char *uri = it->source ? it->source : it->target;
    apr_int64_t id;
    wm_op_t *op;
    apr_status_t rv;

    if (!uri) {
        return APR_SUCCESS;
    }
    /* The device may write the product id's braces raw or escaped; the
     * operation's LocURI has them escaped. */
    if ((rv = wm_store_op_find_uri(dm->st, dm->dev->device_id,
                                   wm_ops_uri_key(uri, dm->p), &id, dm->p))) {
        return rv;
    }
    if (!id) {
        return APR_SUCCESS;
    }
    if ((rv = wm_store_op_get(dm->st, id, &op, dm->p))) {
        return rv;
    }
    if (op) {
        int over;
        if ((rv = result_bound(dm, op, it->data ? strlen(it->data) : 0,
                               &over))) {
            return rv;
        }
        if (over) {
            return APR_SUCCESS;
        }
    }
    if ((rv = wm_store_result_add(dm->st, id, uri, it->data ? it->data : "",
                                  dm->p))) {
        return rv;
    }
    if (op && !strcmp(op->type, "APP_INSTALL") && !strcmp(op->state, "sent")) {
        int ok = it->data && !strcmp(it->data, "0");
        return wm_store_op_update(dm->st, id, ok ? "done" : "failed",
                                  ok ? WM_SC_OK : WM_SC_COMMAND_FAILED, NULL,
                                  dm->now, dm->p);
    }
    return APR_SUCCESS;
}

static apr_status_t on_alert(dm_t *dm, const wm_sml_cmd_t *c)
{
    int code = c->data ? atoi(c->data) : 0, i;
    apr_status_t rv;

    for (i = 0; i < c->items->nelts; i++) {
        wm_sml_item_t *it = APR_ARRAY_IDX(c->items, i, wm_sml_item_t *);
        const char *type = it->meta_type ? it->meta_type : c->meta_type;

        if (code == 1224 && type &&
            (!strcmp(type, "com.microsoft/MDM/LoginStatus") ||
             !strcmp(type, "com.microsoft.mdm.synctype") ||
             !strcmp(type, "com.microsoft/MDM/DevicePrepSync"))) {
            /* Client events worth keeping (never the AADUserToken). */
            if ((rv = inv_put(dm, type, it->data ? it->data : "")) &&
                rv != APR_ENOSPC) {
                return rv;
            }
        }
        else if (code == 1226 && type && !strcmp(type, UNENROLL_TYPE)) {
            /* The user disconnected the device (or a server unenrollment
             * finished): its certificate opens no more sessions. */
            dm->res->unenrolled = 1;
            if ((rv = wm_store_device_set_state(dm->st, dm->dev->device_id,
                                                "unenrolled", dm->p))) {
                return rv;
            }
        }
        else if ((code == 1226 ||
                  (code == 1224 && type && !strcmp(type, MSI_RESULT_TYPE))) &&
                 (rv = on_generic_alert(dm, it))) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* Each device command gets a Status, in order (MS-MDM 2.2.6.1). */
static apr_status_t process(dm_t *dm)
{
    const char *ref = dm->hdr->msg_id;
    apr_status_t rv = APR_SUCCESS;
    int i, j, code;

    for (i = 0; i < dm->msg->cmds->nelts; i++) {
        const wm_sml_cmd_t *c = APR_ARRAY_IDX(dm->msg->cmds, i, wm_sml_cmd_t *);
        if (!strcmp(c->name, "Status")) {
            if ((rv = on_status(dm, c))) {
                return rv;
            }
            continue; /* a Status is never answered */
        }
        if (!c->cmd_id || !*c->cmd_id) {
            /* MS-MDM: a command without CmdID gets 400, CmdRef blank. */
            wm_sml_reply_status(dm->rp, ref, "", c->name, WM_SC_BAD_REQUEST);
            continue;
        }
        code = WM_SC_OK;
        if (!strcmp(c->name, "Results")) {
            rv = on_results(dm, c, &code);
        }
        else if (!strcmp(c->name, "Alert")) {
            rv = on_alert(dm, c);
        }
        else if (!strcmp(c->name, "Replace")) {
            /* Package 1 reports DevInfo with a Replace. */
            for (j = 0; j < c->items->nelts && !rv; j++) {
                wm_sml_item_t *it = APR_ARRAY_IDX(c->items, j, wm_sml_item_t *);
                const char *uri = it->source ? it->source : it->target;
                if (inventory_uri(uri)) {
                    rv = inv_put(dm, uri, it->data ? it->data : "");
                    if (rv == APR_ENOSPC) {
                        code = WM_SC_FULL; /* the rest is still kept */
                        rv = APR_SUCCESS;
                    }
                }
            }
        }
        else {
            code = WM_SC_NOT_SUPPORTED; /* the server takes no commands */
        }
        if (rv) {
            return rv;
        }
        wm_sml_reply_status(dm->rp, ref, c->cmd_id, c->name, code);
    }
    return APR_SUCCESS;
}

/* Pending operations, in creation order, as many as fit the device's
 * MaxMsgSize; the rest go back to the queue for the next message. */
static apr_status_t send_ops(dm_t *dm)
{
    apr_size_t max = dm->hdr->max_msg_size > 0
                         ? (apr_size_t)dm->hdr->max_msg_size
                         : WM_DM_DEFAULT_MAX_MSG;
    apr_array_header_t *ops;
    apr_status_t rv;
    int i, full = 0;

    if (dm->dev->poll_interval != dm->conf->poll_interval) {
        /* WinMDMPollInterval changed: tell the device (DMClient CSP). */
        wm_op_params_t params;
        const char *body, *err;
        apr_int64_t id;
        int count;

        memset(&params, 0, sizeof(params));
        params.provider_id = dm->conf->provider_id;
        params.poll_minutes = dm->conf->poll_interval;

        if ((rv = wm_ops_build("POLL", &params, 0, &body, &count, &err,
                               dm->p)) ||
            (rv = wm_store_op_add(dm->st, dm->dev->device_id, "POLL", body,
                                  count, dm->now, &id, dm->p)) ||
            (rv = wm_store_device_set_poll(dm->st, dm->dev->device_id,
                                           dm->conf->poll_interval, dm->p))) {
            return rv;
        }
    }
    if ((rv = wm_store_op_claim(dm->st, dm->dev->device_id, dm->hdr->session_id,
                                dm->now, WM_DM_CLAIM_LIMIT, &ops, dm->p))) {
        return rv;
    }
    for (i = 0; i < ops->nelts; i++) {
        wm_op_t *op = APR_ARRAY_IDX(ops, i, wm_op_t *);
        const char *xml = wm_ops_render(op->body, op->id, dm->p);
        apr_size_t need = strlen(xml) + WM_SML_REPLY_CLOSING + REPLY_SLACK;

        if (!full && wm_sml_reply_size(dm->rp) + need <= max) {
            wm_sml_reply_raw(dm->rp, xml);
            dm->res->ops_sent++;
            continue;
        }
        full = 1;
        if (dm->base_size + need > max) {
            /* Too large for any message this device accepts (it states a
             * MaxMsgSize below what queueing checked): status 413. */
            rv = wm_store_op_update(dm->st, op->id, "failed", 413, NULL,
                                    dm->now, dm->p);
        }
        else {
            /* It fits a reply with fewer statuses: a later message. */
            rv = wm_store_op_unclaim(dm->st, op->id, dm->p);
        }
        if (rv) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

int wm_dm_op_fits(const char *body, apr_size_t max)
{
    apr_size_t need = strlen(body) + WM_DM_REPLY_BASE + WM_SML_REPLY_CLOSING +
                      REPLY_SLACK;
    const char *c;

    /* Each placeholder "#n" becomes "<op id>.<n>": 20 more bytes at most. */
    for (c = body; (c = strstr(c, "<CmdID>#")); c += 8) {
        need += 20;
    }
    return need <= max;
}

/* -------------------------------------------------------- the message */

static apr_status_t handle(dm_t *dm, const char *cert_sha1, const char *cert_cn)
{
    const char *id = dm->hdr->source_uri, *nonce = NULL;
    apr_status_t rv;
    auth_e a;

    if ((rv = wm_store_device_get(dm->st, id, &dm->dev, dm->p))) {
        return rv;
    }
    if (!dm->dev || strcmp(dm->dev->state, "enrolled")) {
        dm->res->reason = dm->dev ? "the device is unenrolled"
                                  : "no device is enrolled with this DeviceID";
        dm->dev = NULL; /* nothing is stored for it, not even a nonce */
        return refuse(dm, WM_SC_FORBIDDEN);
    }
    if (cert_sha1 && dm->conf->allow_cert) {
        /* A certificate of device A never opens device B's session. */
        if (!cert_cn || strcmp(cert_cn, id) || !dm->dev->cert_sha1 ||
            strcmp(cert_sha1, dm->dev->cert_sha1)) {
            dm->res->reason = "the client certificate is not the current one "
                              "of this DeviceID";
            return refuse(dm, WM_SC_INVALID_CRED);
        }
        dm->res->how = "certificate";
    }
    else if (dm->hdr->cred_data && dm->conf->allow_digest) {
        if ((a = check_digest(dm)) == AUTH_ERROR) {
            return APR_EGENERAL;
        }
        if (a == AUTH_REFUSED) {
            return refuse(dm, WM_SC_INVALID_CRED);
        }
        dm->res->how = "digest";
    }
    else {
        dm->res->reason = "the message carries no credentials";
        return refuse(dm, WM_SC_MISSING_CRED);
    }

    /* last_seen is written at most once a minute: a session's later
     * messages, and bursts of sessions, cost no write for it. */
    if ((dm->now - dm->dev->last_seen >= WM_DM_SEEN_EVERY
         && (rv = wm_store_device_seen(dm->st, id, dm->now, dm->p))) ||
        (rv = process(dm)) || (rv = settle_profiles(dm))) {
        return rv;
    }
    if (dm->res->unenrolled) {
        dm->res->closed = 1;
    }
    else if (!dm->msg->final) {
        /* The device's package goes on: ask for its next message before
         * sending anything (OMA-DM 1.2.1 section 6). */
        wm_sml_reply_alert(dm->rp, 1222);
        dm->more_asked = 1;
    }
    else {
        int queued = 0;
        /* Profile work (wm_dm_profile.h) is known from the device row
         * itself: its generations and its read-back time. */
        if (wm_dm_profile_due(dm->dev, dm->now) &&
            (rv = wm_dm_profile_plan(dm->st, dm->dev, &dm->conf->profiles,
                                     dm->now, &queued, dm->p))) {
            return rv;
        }
        if ((rv = send_ops(dm))) {
            return rv;
        }
        dm->res->closed = dm->res->ops_sent == 0;
    }
    /* The last reply of a digest session names the next session's nonce,
     * and the nonce of the session that ends is spent: a copy of one of
     * its messages replayed later opens nothing. The spent nonce's row
     * usually becomes the next one (one write). */
    if (dm->res->closed && dm->res->how && !strcmp(dm->res->how, "digest")) {
        int rotated = 0;
        if (dm->res->unenrolled || dm->nonces_bound > 1) {
            /* Every nonce of the session goes (a 401 in the middle of it
             * may have bound a second one). */
            if ((rv = wm_store_nonce_spend(dm->st, dm->dev->device_id,
                                           dm->hdr->session_id, dm->p))) {
                return rv;
            }
        }
        if (!dm->res->unenrolled) {
            if (!(nonce = wm_secret_random_b64(16, dm->p))) {
                return APR_EGENERAL;
            }
            if (dm->nonces_bound == 1
                && (rv = wm_store_nonce_rotate(
                        dm->st, dm->dev->device_id, dm->nonce_used, nonce,
                        dm->now + WM_DM_NONCE_LIFETIME, &rotated, dm->p))) {
                return rv;
            }
            if (!rotated && (rv = next_nonce(dm, &nonce))) {
                return rv;
            }
        }
    }
    dm->res->hdr_status = WM_SC_OK;
    wm_sml_reply_hdr_status(dm->rp, WM_SC_OK, nonce);
    return APR_SUCCESS;
}

apr_status_t wm_dm_message(wm_store_t *st, const wm_dm_conf_t *conf,
                           const wm_syncml_msg_t *msg, const char *cert_sha1,
                           const char *cert_cn, apr_int64_t now,
                           const char **preply, apr_size_t *plen,
                           wm_dm_result_t *res, apr_pool_t *p)
{
    dm_t dm;
    apr_status_t rv;

    memset(res, 0, sizeof(*res));
    memset(&dm, 0, sizeof(dm));
    dm.st = st;
    dm.conf = conf;
    dm.msg = msg;
    dm.hdr = &msg->hdr;
    dm.res = res;
    dm.now = now;
    dm.p = p;
    dm.rp = wm_sml_reply_new(dm.hdr, dm.hdr->msg_id, conf->server_uri, p);
    dm.base_size = wm_sml_reply_size(dm.rp);
    *preply = NULL;
    *plen = 0;

    if ((rv = wm_store_begin(st, p))) {
        return rv;
    }
    if ((rv = handle(&dm, cert_sha1, cert_cn))) {
        wm_store_rollback(st, p);
        return rv;
    }
    /* Committed before the reply leaves: what the device is told was
     * received is stored. */
    if ((rv = wm_store_commit(st, p))) {
        return rv;
    }
    /* A reply that asks for the device's next message (Alert 1222) ends
     * no package and carries no Final: "The 'Next Message' response
     * contains Alert code 1222, status to the SyncHdr, no other commands,
     * and no Final flag" (OMA-DM 1.2.1 section 6, Multiple Messages in
     * Package). */
    *preply = wm_sml_reply_finish(dm.rp, !dm.more_asked, plen);
    return APR_SUCCESS;
}
