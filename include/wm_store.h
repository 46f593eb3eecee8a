/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The store: every table of DESIGN.md section 4 behind one small API, on
 * apr_dbd (APR-util, no httpd headers). The glue hands it the connection
 * mod_dbd gives; unit tests open SQLite with apr_dbd_open and run the very
 * same code. The first use of a connection sets it up (SQLite PRAGMAs,
 * schema migration, prepared statements): see wm_store_attach. */

#ifndef WM_STORE_H
#define WM_STORE_H

#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_dbd.h>
#include <apr_tables.h>

/** The schema version this build creates and expects. */
#define WM_STORE_SCHEMA_VERSION 6

/** A store bound to one database connection for one unit of work. */
typedef struct wm_store_t {
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    apr_hash_t *prepared; /* label -> apr_dbd_prepared_t * */
    int pgsql;            /* dialect: 1 PostgreSQL, 0 SQLite */
    const char *err;      /* the last database error, or NULL */
    int in_tx;            /* inside wm_store_begin .. commit/rollback */
    int locked;           /* holds this process's SQLite write lock */
    struct wm_store_conn_t *conn; /* the connection's own state, or NULL */
} wm_store_t;

/** Creates this process's SQLite write lock (see wm_store.c); call once
 *  per httpd child before its first request. */
apr_status_t wm_store_child_init(apr_pool_t *pchild);

/**
 * Binds a store to a connection, setting the connection up on its first
 * use: PRAGMAs on SQLite (WAL, synchronous=NORMAL, busy timeout), schema
 * creation and forward migration in one transaction, then every statement
 * prepared into the connection's prepared hash under a "wm_" label.
 * mod_dbd prepares its own registered statements when a connection opens
 * and drops the connection if one fails, which on a fresh database would be
 * every one of ours; so ours are prepared here, after the schema exists.
 * @param driver, handle  the open connection
 * @param prepared        the connection's statement hash (mod_dbd's
 *                        ap_dbd_t.prepared, or a hash the caller owns)
 * @param conn_pool       a pool living as long as the connection; the
 *                        statements are allocated in it
 * @param p               the pool of the unit of work; holds the result
 * @return APR_SUCCESS, or an error after logging the database's message
 */
apr_status_t wm_store_attach(wm_store_t **pst, const apr_dbd_driver_t *driver,
                             apr_dbd_t *handle, apr_hash_t *prepared,
                             apr_pool_t *conn_pool, apr_pool_t *p);

/** The last database error on this store, for the caller's log line. */
const char *wm_store_error(const wm_store_t *st);

/** Starts a transaction (on SQLite, holding the write lock from the
 *  start). Every begin is ended by a commit or a rollback on every path:
 *  the connection goes back to mod_dbd's pool afterwards. */
apr_status_t wm_store_begin(wm_store_t *st, apr_pool_t *p);

/** Commits the transaction. */
apr_status_t wm_store_commit(wm_store_t *st, apr_pool_t *p);

/** Rolls the transaction back. */
void wm_store_rollback(wm_store_t *st, apr_pool_t *p);

/** The schema version found in the database (0 if none); for tests. */
apr_status_t wm_store_schema_version(wm_store_t *st, int *pversion,
                                     apr_pool_t *p);

/* ---------------------------------------------------------------- devices */

/** A device row. Strings NULL when unset; times are seconds since 1970. */
typedef struct wm_device_t {
    const char *device_id;
    const char *hw_dev_id;
    const char *user;
    const char *enroll_type;
    const char *device_type;
    const char *os_edition;
    const char *os_version;
    const char *device_name;
    const char *cert_serial;
    const char *cert_sha1; /* upper-case hex thumbprint */
    apr_int64_t cert_not_after;
    const char *digest_ha1; /* hex MD5(name:secret), OMA-DM digest */
    const char *state;      /* "enrolled" or "unenrolled" */
    apr_int64_t enrolled_at;
    apr_int64_t last_seen; /* 0 when never seen */
    int poll_interval;     /* minutes the device was last told */
    apr_int64_t desired_gen; /* profiles: what it should hold changed ... */
    apr_int64_t applied_gen; /* ... since this generation was planned */
    apr_int64_t verify_at;   /* when its profiles are read back, 0: never */
} wm_device_t;

/** Reads one device; *pdev NULL (and APR_SUCCESS) when there is none. */
apr_status_t wm_store_device_get(wm_store_t *st, const char *device_id,
                                 wm_device_t **pdev, apr_pool_t *p);

/** What the device list shows; NULL fields (group -1, profile 0) do not
 *  filter. */
typedef struct wm_device_filter_t {
    const char *q;             /* prefix of the DeviceID, name or user */
    const char *state;         /* enrolled or unenrolled */
    const char *os_version;    /* prefix, e.g. "10.0.22631" */
    apr_int64_t group;         /* members of this group */
    apr_int64_t profile;       /* devices holding this profile ... */
    const char *profile_state; /* ... (or any) in this state */
} wm_device_filter_t;

/** Devices in DeviceID order after the cursor after (NULL or "": from
 *  the first), at most limit, that pass the filter f (NULL: all);
 *  *pdevs holds wm_device_t *. */
apr_status_t wm_store_device_list(wm_store_t *st,
                                  const wm_device_filter_t *f,
                                  const char *after, int limit,
                                  apr_array_header_t **pdevs, apr_pool_t *p);

/** Rows [state, count, seen within the hour, within the day (not the
 *  hour), longer ago, never], one per device state. */
apr_status_t wm_store_device_summary(wm_store_t *st, apr_int64_t now,
                                     apr_array_header_t **prows,
                                     apr_pool_t *p);

/** Inserts the device, or replaces every field of the existing row with
 *  the same DeviceID (re-enrollment; the caller decides it is allowed). */
apr_status_t wm_store_device_put(wm_store_t *st, const wm_device_t *dev,
                                 apr_pool_t *p);

/**
 * Records an enrollment in one transaction: the device row (inserted, or
 * replaced when it belongs to the same user or is unenrolled), the first
 * OMA-DM nonce, and the sign-in token used up (token_hash may be NULL).
 * @return APR_SUCCESS; APR_EACCES when the DeviceID is enrolled by another
 *         user (nothing changed); another error when the database failed
 */
apr_status_t wm_store_enroll(wm_store_t *st, const wm_device_t *dev,
                             const char *nonce, apr_int64_t nonce_expires,
                             const char *token_hash, apr_pool_t *p);

/**
 * wm_store_enroll, with the sign-in token spent first (exactly one row
 * unexpired at now, else APR_ENOENT and nothing changed), all in one
 * transaction: one token enrolls one device. The device's certificate is
 * signed before (an RSA signature inside the transaction would hold
 * SQLite's write lock for every child); a refused request's certificate
 * is neither stored nor sent.
 * @return as wm_store_enroll; APR_ENOENT when the token was not good
 */
apr_status_t wm_store_enroll_signed(wm_store_t *st, const wm_device_t *dev,
                                    const char *nonce,
                                    apr_int64_t nonce_expires,
                                    const char *token_hash, apr_int64_t now,
                                    apr_pool_t *p);

/** A key and a value (inventory nodes, nonces, results). */
typedef struct wm_kv_t {
    const char *key;
    const char *value;
} wm_kv_t;

/** Sets last_seen. */
apr_status_t wm_store_device_seen(wm_store_t *st, const char *device_id,
                                  apr_int64_t now, apr_pool_t *p);

/** Sets the state ("enrolled", "unenrolled"). */
apr_status_t wm_store_device_set_state(wm_store_t *st, const char *device_id,
                                       const char *state, apr_pool_t *p);

/** Records the poll interval the device now has, in minutes. */
apr_status_t wm_store_device_set_poll(wm_store_t *st, const char *device_id,
                                      int minutes, apr_pool_t *p);

/** Stores the latest value of one node the device reported. */
apr_status_t wm_store_inventory_put(wm_store_t *st, const char *device_id,
                                    const char *uri, const char *value,
                                    apr_int64_t now, apr_pool_t *p);

/** The device's inventory, wm_kv_t (uri, value) sorted by uri. */
apr_status_t wm_store_inventory_list(wm_store_t *st, const char *device_id,
                                     apr_array_header_t **pitems,
                                     apr_pool_t *p);

/* ----------------------------------------------------------------- tokens */

/** Stores a login-page token by its hash (hex SHA-256), user and expiry. */
apr_status_t wm_store_token_put(wm_store_t *st, const char *token_hash,
                                const char *user, apr_int64_t expires,
                                apr_pool_t *p);

/** Looks a token up; *puser NULL when unknown or expired at now. */
apr_status_t wm_store_token_get(wm_store_t *st, const char *token_hash,
                                apr_int64_t now, const char **puser,
                                apr_pool_t *p);

/** Forgets a token (after the enrollment it allowed). */
apr_status_t wm_store_token_delete(wm_store_t *st, const char *token_hash,
                                   apr_pool_t *p);

/* ----------------------------------------------------------------- nonces */

/** Stores an OMA-DM digest nonce the server gave device_id. */
apr_status_t wm_store_nonce_put(wm_store_t *st, const char *nonce,
                                const char *device_id, apr_int64_t expires,
                                apr_pool_t *p);

/** The device's unexpired nonces, wm_kv_t (nonce, session id or NULL). */
apr_status_t wm_store_nonces_get(wm_store_t *st, const char *device_id,
                                 apr_int64_t now, apr_array_header_t **pout,
                                 apr_pool_t *p);

/** Binds an unused nonce to session_id and records msg_id as the
 *  session's last MsgID (0: none yet), in one write; *pbound is 1 when
 *  this call bound it, 0 when it was already bound (a replay) or is
 *  unknown. */
apr_status_t wm_store_nonce_bind(wm_store_t *st, const char *nonce,
                                 const char *device_id, const char *session_id,
                                 apr_int64_t msg_id, int *pbound,
                                 apr_pool_t *p);

/** Replaces a spent nonce (that of a session that ended) by next,
 *  unbound, good until expires: one write where a delete and an insert
 *  would be two; *protated is 0 when there was no such nonce. */
apr_status_t wm_store_nonce_rotate(wm_store_t *st, const char *device_id,
                                   const char *nonce, const char *next,
                                   apr_int64_t expires, int *protated,
                                   apr_pool_t *p);

/** Records msg_id as the last message of session_id on its nonce, if it
 *  is greater than the last one: *paccepted 1, else 0 (a replayed or
 *  out-of-order message of the session). */
apr_status_t wm_store_nonce_msg(wm_store_t *st, const char *nonce,
                                const char *device_id, const char *session_id,
                                apr_int64_t msg_id, int *paccepted,
                                apr_pool_t *p);

/** Deletes the nonce bound to a session that ended. */
apr_status_t wm_store_nonce_spend(wm_store_t *st, const char *device_id,
                                  const char *session_id, apr_pool_t *p);

/* ------------------------------------------------- failed password checks */

/** Seconds a failure counter is kept without new failures. */
#define WM_STORE_FAILURE_KEEP 86400

/** The failure count of subject ("u:<user>" or "a:<address>") and the time
 *  of its last failure; 0 and 0 when none. */
apr_status_t wm_store_failures_get(wm_store_t *st, const char *subject,
                                   int *pcount, apr_int64_t *plast,
                                   apr_pool_t *p);

/** Counts one failure of subject at now; a count whose last failure is
 *  older than window seconds starts again at 1. */
apr_status_t wm_store_failure_add(wm_store_t *st, const char *subject,
                                  apr_int64_t now, apr_int64_t window,
                                  apr_pool_t *p);

/** Takes one back from subject's count (an attempt counted before its
 *  check that turned out right). */
apr_status_t wm_store_failure_refund(wm_store_t *st, const char *subject,
                                     apr_pool_t *p);

/** Starts a transaction that no other holder of key runs beside, across
 *  processes and nodes (SQLite: its write lock; PostgreSQL: an advisory
 *  lock on key). Ended by wm_store_commit or wm_store_rollback. */
apr_status_t wm_store_begin_serial(wm_store_t *st, int key, apr_pool_t *p);

/** Forgets subject's failures (after a success). */
apr_status_t wm_store_failure_clear(wm_store_t *st, const char *subject,
                                    apr_pool_t *p);

/** Deletes tokens and nonces that expired before now, and failure counts
 *  idle for WM_STORE_FAILURE_KEEP; *pcount gets the
 *  number of rows removed (may be NULL). */
apr_status_t wm_store_purge(wm_store_t *st, apr_int64_t now, int *pcount,
                            apr_pool_t *p);

/* ------------------------------------------------------------ operations */

/* An operation sent in one session and not answered is sent again in a
 * later session once it has waited this long (seconds): a concurrent
 * session of the same device never takes it. */
#define WM_STORE_RESEND_AFTER 120

/** An operation row. */
typedef struct wm_op_t {
    apr_int64_t id;
    const char *device_id;
    const char *type;         /* DEVICE_INFO, LOCK, SYNCML, ... */
    const char *body;         /* the commands, CmdIDs as placeholders */
    const char *state;        /* pending, sent, done, failed */
    int status;               /* the device's status code, -1 when none */
    int cmd_count;            /* top-level commands in body */
    const char *cmds_pending; /* indexes still awaiting a 2xx, NULL: all */
    apr_int64_t created, sent, completed; /* 0 when not yet */
    const char *sent_session;
    const char *created_by;   /* the administrator who queued it, or NULL */
} wm_op_t;

/** Queues an operation; *pid receives its id. */
apr_status_t wm_store_op_add(wm_store_t *st, const char *device_id,
                             const char *type, const char *body, int cmd_count,
                             apr_int64_t now, apr_int64_t *pid, apr_pool_t *p);

/**
 * Claims up to limit operations of device_id for session_id in one
 * statement: pending ones, and ones sent in another session at least
 * WM_STORE_RESEND_AFTER seconds ago. *pops receives the claimed rows
 * (wm_op_t *) in creation order.
 */
apr_status_t wm_store_op_claim(wm_store_t *st, const char *device_id,
                               const char *session_id, apr_int64_t now,
                               int limit, apr_array_header_t **pops,
                               apr_pool_t *p);

/** Gives a claimed operation back to the queue (it did not fit). */
apr_status_t wm_store_op_unclaim(wm_store_t *st, apr_int64_t id, apr_pool_t *p);

/** Reads one operation; *pop NULL when there is none. */
apr_status_t wm_store_op_get(wm_store_t *st, apr_int64_t id, wm_op_t **pop,
                             apr_pool_t *p);

/** A device's operations, newest first, with ids below before (0: any),
 *  at most limit. */
apr_status_t wm_store_op_list(wm_store_t *st, const char *device_id,
                              apr_int64_t before, int limit,
                              apr_array_header_t **pops, apr_pool_t *p);

/** Sets state, status (-1: none), pending commands and completion time
 *  (0: none). */
apr_status_t wm_store_op_update(wm_store_t *st, apr_int64_t id,
                                const char *state, int status,
                                const char *cmds_pending, apr_int64_t completed,
                                apr_pool_t *p);

/** The newest sent or done operation of device_id whose commands name
 *  uri; *pid 0 when none. */
apr_status_t wm_store_op_find_uri(wm_store_t *st, const char *device_id,
                                  const char *uri, apr_int64_t *pid,
                                  apr_pool_t *p);

/** Appends one result item (uri, data) to an operation. */
apr_status_t wm_store_result_add(wm_store_t *st, apr_int64_t op_id,
                                 const char *uri, const char *data,
                                 apr_pool_t *p);

/** An operation's results, wm_kv_t (uri, data) in arrival order. */
apr_status_t wm_store_results(wm_store_t *st, apr_int64_t op_id,
                              apr_array_header_t **pitems, apr_pool_t *p);

/** Keeps one chunk of a result arriving in several messages. */
apr_status_t wm_store_partial_add(wm_store_t *st, const char *device_id,
                                  const char *cmd_ref, const char *uri,
                                  const char *data, apr_int64_t now,
                                  apr_pool_t *p);

/** Result items and their bytes stored for an operation. */
apr_status_t wm_store_result_usage(wm_store_t *st, apr_int64_t op_id,
                                   apr_int64_t *pcount, apr_int64_t *pbytes,
                                   apr_pool_t *p);

/** Chunks a device has pending, in all and for one command. */
typedef struct wm_store_usage_t {
    apr_int64_t device_chunks, device_bytes;
    apr_int64_t cmd_chunks, cmd_bytes;
} wm_store_usage_t;

/** What device_id has pending, and for cmd_ref. */
apr_status_t wm_store_partial_usage(wm_store_t *st, const char *device_id,
                                    const char *cmd_ref,
                                    wm_store_usage_t *u, apr_pool_t *p);

/** Drops the chunks kept for cmd_ref (a result that can never be whole). */
apr_status_t wm_store_partial_drop(wm_store_t *st, const char *device_id,
                                   const char *cmd_ref, apr_pool_t *p);

/** Takes (reads in order, then deletes) the chunks kept for cmd_ref:
 *  *pdata the concatenated data, NULL when there were none. */
apr_status_t wm_store_partial_take(wm_store_t *st, const char *device_id,
                                   const char *cmd_ref, const char **pdata,
                                   apr_pool_t *p);

#endif /* WM_STORE_H */
