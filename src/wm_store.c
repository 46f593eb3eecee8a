/* Licensed under the Apache License, Version 2.0 (the "License"); you may not
 * use this file except in compliance with the License. You may obtain a copy
 * of the License at http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
 * WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 */

/* The store on apr_dbd: connection set-up (PRAGMAs, schema migration,
 * prepared statements) and the data statements. One set of data statements
 * serves SQLite and PostgreSQL; only the DDL differs (identity columns).
 * Times are integers (seconds since 1970). apr_dbd writes placeholders as
 * %s and maps them to each driver's own. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "wm_log.h"
#include "wm_store.h"
#include "wm_store_private.h"
#include "wm_store_profile.h"

/* SQLite writes of this process go one at a time. apr-util's SQLite
 * driver holds one process-wide mutex around every call, and SQLite's busy
 * handler sleeps inside the call while another connection holds the write
 * lock: if that other connection is in this process and needs the driver
 * for its next statement, both wait until the busy timeout. Taking this
 * lock before the database's write lock avoids that wait; other processes
 * meet only SQLite's own lock. NULL (no locking) until wm_store_child_init. */
static apr_thread_mutex_t *sqlite_writes;

/* A key in the prepared hash saying this connection is set up; its value
 * is the connection's wm_store_conn_t. */
#define READY_LABEL "wm_store_ready"

/* A PostgreSQL connection idle this long is asked whether its backend
 * still has the statements (check_pgsql) before it is used again. */
#define PG_IDLE_CHECK apr_time_from_sec(1)

/* What the store keeps of one pooled connection, in the connection's own
 * pool, beside its prepared statements. */
typedef struct wm_store_conn_t {
    apr_time_t used;  /* when a unit of work last attached to it */
    int suspect;      /* a statement failed on it since the last check */
} wm_store_conn_t;

/* ------------------------------------------------------------ migrations */

/* Each migration is a list of DDL statements; "@ID@" is replaced by the
 * dialect's auto-increment primary key. Append, never edit: a database
 * created by an older build is brought forward one version at a time. */
static const char *const migration_1[] = {
    "CREATE TABLE devices ("
    " id @ID@,"
    " device_id VARCHAR(255) NOT NULL UNIQUE,"
    " hw_dev_id VARCHAR(255),"
    " user_name VARCHAR(255) NOT NULL,"
    " enroll_type VARCHAR(32),"
    " device_type VARCHAR(64),"
    " os_edition VARCHAR(32),"
    " os_version VARCHAR(64),"
    " device_name VARCHAR(255),"
    " cert_serial VARCHAR(64),"
    " cert_sha1 VARCHAR(40),"
    " cert_not_after BIGINT,"
    " digest_ha1 VARCHAR(32),"
    " state VARCHAR(16) NOT NULL DEFAULT 'enrolled',"
    " enrolled_at BIGINT NOT NULL,"
    " last_seen BIGINT NOT NULL DEFAULT 0)",
    "CREATE INDEX devices_cert ON devices (cert_sha1)",
    "CREATE TABLE tokens ("
    " token_hash VARCHAR(64) PRIMARY KEY,"
    " user_name VARCHAR(255) NOT NULL,"
    " expires BIGINT NOT NULL)",
    "CREATE INDEX tokens_expires ON tokens (expires)",
    "CREATE TABLE operations ("
    " id @ID@,"
    " device_id VARCHAR(255) NOT NULL,"
    " type VARCHAR(32) NOT NULL,"
    " body TEXT NOT NULL,"
    " state VARCHAR(16) NOT NULL DEFAULT 'pending',"
    " status INTEGER,"
    " created BIGINT NOT NULL,"
    " sent BIGINT,"
    " completed BIGINT)",
    "CREATE INDEX operations_queue ON operations (device_id, state, id)",
    "CREATE TABLE results ("
    " op_id BIGINT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " uri TEXT,"
    " data TEXT,"
    " PRIMARY KEY (op_id, seq))",
    "CREATE TABLE inventory ("
    " device_id VARCHAR(255) NOT NULL,"
    " uri VARCHAR(255) NOT NULL,"
    " value TEXT,"
    " updated BIGINT NOT NULL,"
    " PRIMARY KEY (device_id, uri))",
    "CREATE TABLE nonces ("
    " nonce VARCHAR(64) PRIMARY KEY,"
    " device_id VARCHAR(255) NOT NULL,"
    " expires BIGINT NOT NULL)",
    "CREATE INDEX nonces_expires ON nonces (expires)",
    NULL};

/* 2: failed password checks per user and per address, to slow guessing
 * down across every httpd child and node. */
static const char *const migration_2[] = {"CREATE TABLE auth_failures ("
                                          " subject VARCHAR(300) PRIMARY KEY,"
                                          " failures INTEGER NOT NULL,"
                                          " last_failure BIGINT NOT NULL)",
                                          NULL};

/* 3: OMA-DM sessions: which commands of an operation await a status and
 * in which session it was sent, what each device was told about polling,
 * the session a digest nonce belongs to, and results arriving in several
 * messages. */
static const char *const migration_3[] = {
    "ALTER TABLE operations ADD COLUMN cmds_pending TEXT",
    "ALTER TABLE operations ADD COLUMN sent_session VARCHAR(64)",
    "ALTER TABLE operations ADD COLUMN cmd_count INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE devices ADD COLUMN poll_interval INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE nonces ADD COLUMN session_id VARCHAR(64)",
    "CREATE INDEX nonces_device ON nonces (device_id)",
    "CREATE TABLE partials ("
    " device_id VARCHAR(255) NOT NULL,"
    " cmd_ref VARCHAR(64) NOT NULL,"
    " seq INTEGER NOT NULL,"
    " uri TEXT,"
    " data TEXT,"
    " created BIGINT NOT NULL,"
    " PRIMARY KEY (device_id, cmd_ref, seq))",
    NULL};

/* 4: bounds on what a device makes the server keep (DESIGN.md section 5):
 * the bytes of each pending chunk and of each result, summed per device
 * and per operation; and the last MsgID of the digest session a nonce is
 * bound to (a message of an open session is never accepted twice). */
static const char *const migration_4[] = {
    "ALTER TABLE partials ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE results ADD COLUMN bytes BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE nonces ADD COLUMN msg_id BIGINT",
    NULL};

/* 5: profiles (wm_store_profile.h): groups and their members, profiles and
 * their versions, assignments, each device's state per profile and the
 * generations that tell a check-in it has profile work; who queued each
 * operation and the audit log of administrators' actions; indexes for the
 * device list's filters. */
static const char *const migration_5[] = {
    "ALTER TABLE devices ADD COLUMN desired_gen BIGINT NOT NULL DEFAULT 1",
    "ALTER TABLE devices ADD COLUMN applied_gen BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE devices ADD COLUMN verify_at BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE operations ADD COLUMN created_by VARCHAR(255)",
    "CREATE TABLE device_groups ("
    " id @ID@,"
    " name VARCHAR(128) NOT NULL UNIQUE,"
    " created BIGINT NOT NULL)",
    "CREATE TABLE group_members ("
    " group_id BIGINT NOT NULL,"
    " device_id VARCHAR(255) NOT NULL,"
    " PRIMARY KEY (group_id, device_id))",
    "CREATE INDEX group_members_device ON group_members (device_id)",
    "CREATE TABLE profiles ("
    " id @ID@,"
    " name VARCHAR(128) NOT NULL UNIQUE,"
    " version INTEGER NOT NULL,"
    " definition TEXT NOT NULL,"
    " created BIGINT NOT NULL,"
    " updated BIGINT NOT NULL)",
    "CREATE TABLE profile_versions ("
    " profile_id BIGINT NOT NULL,"
    " version INTEGER NOT NULL,"
    " apply_body TEXT NOT NULL,"
    " verify_body TEXT NOT NULL,"
    " remove_body TEXT,"
    " nodes TEXT NOT NULL,"
    " created BIGINT NOT NULL,"
    " PRIMARY KEY (profile_id, version))",
    "CREATE TABLE profile_targets ("
    " profile_id BIGINT NOT NULL,"
    " group_id BIGINT NOT NULL,"
    " PRIMARY KEY (profile_id, group_id))",
    "CREATE INDEX profile_targets_group ON profile_targets (group_id)",
    "CREATE TABLE device_profiles ("
    " device_id VARCHAR(255) NOT NULL,"
    " profile_id BIGINT NOT NULL,"
    " version INTEGER NOT NULL,"
    " state VARCHAR(16) NOT NULL,"
    " op_id BIGINT,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " error TEXT,"
    " updated BIGINT NOT NULL,"
    " verified BIGINT NOT NULL DEFAULT 0,"
    " PRIMARY KEY (device_id, profile_id))",
    "CREATE INDEX device_profiles_state ON device_profiles "
    "(profile_id, state, device_id)",
    "CREATE TABLE audit_log ("
    " id @ID@,"
    " at BIGINT NOT NULL,"
    " actor VARCHAR(255) NOT NULL,"
    " action VARCHAR(64) NOT NULL,"
    " object_type VARCHAR(32) NOT NULL,"
    " object_id VARCHAR(255),"
    " device_id VARCHAR(255),"
    " detail TEXT)",
    "CREATE INDEX audit_device ON audit_log (device_id, id)",
    "CREATE INDEX audit_object ON audit_log (object_type, object_id, id)",
    "CREATE INDEX devices_state ON devices (state, device_id)",
    "CREATE INDEX devices_os ON devices (os_version, device_id)",
    "CREATE INDEX devices_user ON devices (user_name)",
    "CREATE INDEX devices_name ON devices (device_name)",
    NULL};

/* 6: the rows every check-in writes, updated in place. PostgreSQL writes
 * a new row version on each UPDATE; when no indexed column changes and
 * the row's page has room, the version stays on the page and no index
 * gets an entry (a HOT update). A digest session's nonce row is bound
 * and rotated in each session, and rotation changed two indexed columns
 * (the nonce, its primary key, and expires): three index entries per
 * session, and as many dead ones for VACUUM. Every statement finds a
 * nonce by its device (nonces_device), none by the nonce alone, and the
 * hourly purge reads the table whole; so the table is rebuilt without
 * those two indexes (SQLite cannot drop a primary key in place). On
 * PostgreSQL, pages of devices and nonces keep 10% free, so that the
 * first update of a freshly loaded row (last_seen, the nonce) stays on
 * its page too: a full page sends the new version elsewhere, with an
 * entry in each of the devices table's seven indexes. "@PG@" marks a
 * statement for PostgreSQL only. */
static const char *const migration_6[] = {
    "CREATE TABLE nonces_v6 ("
    " nonce VARCHAR(64) NOT NULL,"
    " device_id VARCHAR(255) NOT NULL,"
    " expires BIGINT NOT NULL,"
    " session_id VARCHAR(64),"
    " msg_id BIGINT)",
    "INSERT INTO nonces_v6 (nonce, device_id, expires, session_id, msg_id) "
    "SELECT nonce, device_id, expires, session_id, msg_id FROM nonces",
    "DROP TABLE nonces",
    "ALTER TABLE nonces_v6 RENAME TO nonces",
    "CREATE INDEX nonces_device ON nonces (device_id)",
    "@PG@ALTER TABLE nonces SET (fillfactor = 90)",
    "@PG@ALTER TABLE devices SET (fillfactor = 90)",
    NULL};

static const char *const *const migrations[] = {
    migration_1,
    migration_2,
    migration_3,
    migration_4,
    migration_5,
    migration_6,
};

/* One migration per schema version, no more, no fewer. */
typedef char
    migrations_match_version[sizeof(migrations) / sizeof(migrations[0]) ==
                                     WM_STORE_SCHEMA_VERSION
                                 ? 1
                                 : -1];

/* ------------------------------------------------------------ statements */

#define DEVICE_COLS                                                            \
    "device_id, hw_dev_id, user_name, enroll_type, device_type, "              \
    "os_edition, os_version, device_name, cert_serial, cert_sha1, "            \
    "cert_not_after, digest_ha1, state, enrolled_at, last_seen, "              \
    "poll_interval"

/* What a check-in needs to know of the device's profiles, read with the
 * device itself (wm_store_profile.h): no lookup of its own. */
#define DEVICE_GENS "desired_gen, applied_gen, verify_at"

/* An integer argument. apr_dbd declares a %s argument varchar when it
 * prepares for PostgreSQL, which then refuses to compare it with a BIGINT
 * column; %lld declares it bigint. Values are still passed as strings. */
#define INT_ARG "%lld"

/* A sent operation some of whose commands still await a status (NULL: all
 * of them). One whose commands were all accepted but that waits for a
 * final result (APP_INSTALL's Alert 1226) is not sent again. */
#define UNANSWERED "(cmds_pending IS NULL OR cmds_pending <> '')"

#define OP_COLS                                                                \
    "id, device_id, type, body, state, status, cmd_count, cmds_pending, "      \
    "created, sent, completed, sent_session, created_by"

static const wm_store_sql_t statements[] = {
    {"wm_device_get",
     "SELECT " DEVICE_COLS ", " DEVICE_GENS " FROM devices WHERE device_id = "
     "%s"},
    {"wm_device_insert", "INSERT INTO devices (" DEVICE_COLS ") VALUES "
                         "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, " INT_ARG
                         ", %s, %s, " INT_ARG ", " INT_ARG ", " INT_ARG ")"},
    {"wm_device_update",
     "UPDATE devices SET hw_dev_id = %s, user_name = %s, enroll_type = %s, "
     "device_type = %s, os_edition = %s, os_version = %s, device_name = %s, "
     "cert_serial = %s, cert_sha1 = %s, cert_not_after = " INT_ARG ", "
     "digest_ha1 = %s, state = %s, enrolled_at = " INT_ARG
     ", last_seen = " INT_ARG ", "
     "poll_interval = " INT_ARG " WHERE device_id = %s"},
    /* The device list walks the DeviceID index from the cursor; each
     * filter is off when its argument is NULL (group -1, profile 0): a
     * prefix of the DeviceID, name or user, the state, an OS version
     * prefix, a group, a profile and/or a profile state. */
    {"wm_device_list",
     "SELECT " DEVICE_COLS ", " DEVICE_GENS " FROM devices WHERE device_id > "
     "%s AND (%s IS NULL OR device_id LIKE %s ESCAPE '!' OR device_name LIKE "
     "%s ESCAPE '!' OR user_name LIKE %s ESCAPE '!') AND (%s IS NULL OR "
     "state = %s) AND (%s IS NULL OR os_version LIKE %s ESCAPE '!') AND "
     "(CAST(" INT_ARG " AS BIGINT) < 0 OR device_id IN (SELECT device_id FROM "
     "group_members WHERE group_id = " INT_ARG ")) AND ((CAST(" INT_ARG
     " AS BIGINT) = 0 AND %s IS NULL) OR EXISTS (SELECT 1 FROM "
     "device_profiles d WHERE d.device_id = devices.device_id AND (%s IS NULL "
     "OR d.state = %s) AND (CAST(" INT_ARG " AS BIGINT) = 0 OR d.profile_id = "
     "CAST(" INT_ARG " AS BIGINT)))) ORDER BY device_id LIMIT " INT_ARG},
    /* Devices by state, and by when they were last seen: within the hour,
     * the day, longer ago, never. */
    {"wm_device_summary",
     "SELECT state, COUNT(*), SUM(CASE WHEN last_seen >= " INT_ARG
     " THEN 1 ELSE 0 END), SUM(CASE WHEN last_seen > 0 AND last_seen < "
     INT_ARG " AND last_seen >= " INT_ARG " THEN 1 ELSE 0 END), SUM(CASE "
     "WHEN last_seen > 0 AND last_seen < " INT_ARG " THEN 1 ELSE 0 END), "
     "SUM(CASE WHEN last_seen = 0 THEN 1 ELSE 0 END) FROM devices GROUP BY "
     "state ORDER BY state"},
    {"wm_device_seen",
     "UPDATE devices SET last_seen = " INT_ARG " WHERE device_id = %s"},
    {"wm_device_state", "UPDATE devices SET state = %s WHERE device_id = %s"},
    {"wm_device_poll",
     "UPDATE devices SET poll_interval = " INT_ARG " WHERE device_id = %s"},
    {"wm_inventory_put",
     "INSERT INTO inventory (device_id, uri, value, updated) "
     "VALUES (%s, %s, %s, " INT_ARG
     ") ON CONFLICT (device_id, uri) DO UPDATE SET "
     "value = excluded.value, updated = excluded.updated"},
    {"wm_inventory_list",
     "SELECT uri, value FROM inventory WHERE device_id = %s ORDER BY uri"},
    {"wm_token_put",
     "INSERT INTO tokens (token_hash, user_name, expires) VALUES (%s, %s, " INT_ARG
     ")"},
    {"wm_token_get",
     "SELECT user_name FROM tokens WHERE token_hash = %s AND expires > " INT_ARG},
    {"wm_token_delete", "DELETE FROM tokens WHERE token_hash = %s"},
    /* Spending a token: exactly one unexpired row, or it was not good. */
    {"wm_token_spend",
     "DELETE FROM tokens WHERE token_hash = %s AND expires > " INT_ARG},
    {"wm_token_purge", "DELETE FROM tokens WHERE expires <= " INT_ARG},
    {"wm_nonce_put",
     "INSERT INTO nonces (nonce, device_id, expires) VALUES (%s, %s, " INT_ARG
     ")"},
    {"wm_nonce_list",
     "SELECT nonce, session_id FROM nonces WHERE device_id = %s AND "
     "expires > " INT_ARG},
    /* Binds an unused nonce to the session that used it first, with the
     * MsgID of that first message (NULL when it has none that counts):
     * one write of the row where a bind and wm_nonce_msg were two. */
    {"wm_nonce_bind",
     "UPDATE nonces SET session_id = %s, msg_id = " INT_ARG " WHERE nonce = "
     "%s AND device_id = %s AND session_id IS NULL"},
    /* The nonce of a session that ends becomes the next session's. */
    {"wm_nonce_rotate",
     "UPDATE nonces SET nonce = %s, session_id = NULL, msg_id = NULL, "
     "expires = " INT_ARG
     " WHERE device_id = %s AND nonce = %s"},
    {"wm_nonce_spend",
     "DELETE FROM nonces WHERE device_id = %s AND session_id = %s"},
    {"wm_nonce_purge", "DELETE FROM nonces WHERE expires <= " INT_ARG},
    /* operations: the queue, claimed in one statement */
    {"wm_op_add",
     "INSERT INTO operations (device_id, type, body, state, created, "
     "cmd_count) VALUES (%s, %s, %s, 'pending', " INT_ARG ", " INT_ARG
     ") RETURNING id"},
    /* Pending operations, and those sent in another session at least
     * WM_STORE_RESEND_AFTER seconds ago and never answered, in creation
     * order; the outer condition repeats the inner one so that a row
     * another session claimed meanwhile is not taken twice. */
    {"wm_op_claim",
     "UPDATE operations SET state = 'sent', sent = " INT_ARG
     ", sent_session = %s, "
     "cmds_pending = NULL WHERE id IN (SELECT id FROM operations WHERE "
     "device_id = %s AND (state = 'pending' OR (state = 'sent' AND "
     "sent_session <> %s AND sent < " INT_ARG " AND " UNANSWERED
     ")) ORDER BY id "
     "LIMIT " INT_ARG ") AND (state = 'pending' OR (state = 'sent' AND "
     "sent_session <> %s AND sent < " INT_ARG " AND " UNANSWERED
     ")) RETURNING id"},
    {"wm_op_unclaim",
     "UPDATE operations SET state = 'pending', sent = NULL, "
     "sent_session = NULL WHERE id = " INT_ARG " AND state = 'sent'"},
    {"wm_op_get", "SELECT " OP_COLS " FROM operations WHERE id = " INT_ARG},
    {"wm_op_list",
     "SELECT " OP_COLS " FROM operations WHERE device_id = %s AND id < " INT_ARG
     " ORDER BY id DESC LIMIT " INT_ARG},
    {"wm_op_update", "UPDATE operations SET state = %s, status = " INT_ARG
                     ", cmds_pending = %s, "
                     "completed = " INT_ARG " WHERE id = " INT_ARG},
    {"wm_op_find_uri",
     "SELECT id FROM operations WHERE device_id = %s AND state IN ('sent', "
     "'done') AND body LIKE %s ESCAPE '!' ORDER BY id DESC LIMIT 1"},
    {"wm_result_add",
     "INSERT INTO results (op_id, seq, uri, data, bytes) VALUES (" INT_ARG
     ", (SELECT COALESCE(MAX(seq), 0) + 1 FROM results WHERE op_id = " INT_ARG
     "), %s, %s, " INT_ARG ")"},
    {"wm_result_usage",
     "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM results WHERE op_id = "
     INT_ARG},
    {"wm_result_list",
     "SELECT uri, data FROM results WHERE op_id = " INT_ARG " ORDER BY seq"},
    {"wm_partial_add",
     "INSERT INTO partials (device_id, cmd_ref, seq, uri, data, created, "
     "bytes) VALUES (%s, %s, (SELECT COALESCE(MAX(seq), 0) + 1 FROM partials "
     "WHERE device_id = %s AND cmd_ref = %s), %s, %s, " INT_ARG ", " INT_ARG
     ")"},
    /* What a device has pending: chunks and bytes, in all and for one
     * command. */
    {"wm_partial_usage",
     "SELECT COUNT(*), COALESCE(SUM(bytes), 0), COALESCE(SUM(CASE WHEN "
     "cmd_ref = %s THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN cmd_ref = "
     "%s THEN bytes ELSE 0 END), 0) FROM partials WHERE device_id = %s"},
    /* The MsgID of a digest session's message must grow. */
    {"wm_nonce_msg",
     "UPDATE nonces SET msg_id = " INT_ARG " WHERE nonce = %s AND "
     "device_id = %s AND session_id = %s AND (msg_id IS NULL OR msg_id < "
     INT_ARG ")"},
    {"wm_partial_list",
     "SELECT uri, data FROM partials WHERE device_id = %s AND cmd_ref = %s "
     "ORDER BY seq"},
    {"wm_partial_delete",
     "DELETE FROM partials WHERE device_id = %s AND cmd_ref = %s"},
    {"wm_partial_purge", "DELETE FROM partials WHERE created < " INT_ARG},
    {"wm_failure_get",
     "SELECT failures, last_failure FROM auth_failures WHERE subject = %s"},
    /* A failure older than the window starts the count again. */
    {"wm_failure_add",
     "INSERT INTO auth_failures (subject, failures, last_failure) "
     "VALUES (%s, 1, " INT_ARG ") ON CONFLICT (subject) DO UPDATE SET "
     "failures = CASE WHEN auth_failures.last_failure < " INT_ARG " THEN 1 "
     "ELSE auth_failures.failures + 1 END, "
     "last_failure = excluded.last_failure"},
    {"wm_failure_clear", "DELETE FROM auth_failures WHERE subject = %s"},
    {"wm_failure_refund",
     "UPDATE auth_failures SET failures = failures - 1 WHERE subject = %s "
     "AND failures > 0"},
    {"wm_failure_purge",
     "DELETE FROM auth_failures WHERE last_failure < " INT_ARG},
};

/* ------------------------------------------------------------- helpers */

/* Keeps the database's message for wm_store_error; the caller decides
 * whether the failure is worth an error line (a retried race is not). */
apr_status_t wm_store_db_error(wm_store_t *st, int rc, const char *what,
                               apr_pool_t *p)
{
    const char *msg = apr_dbd_error(st->driver, st->handle, rc);
    st->err =
        apr_psprintf(p, "%s failed: %s", what, msg ? msg : "(no message)");
    if (st->conn) {
        /* The backend may be gone: mod_dbd resets a broken connection onto
         * a new backend, which has none of the statements. */
        st->conn->suspect = 1;
    }
    wm_log(WM_LOG_DEBUG, 0, p, WM_LOGNO(00018) "store: %s", st->err);
    return APR_EGENERAL;
}

const char *wm_store_error(const wm_store_t *st)
{
    return st->err ? st->err : "no database error";
}

/* Runs a statement that may return rows, draining them all; the first
 * column of the first row goes to *pfirst when it is not NULL. */
apr_status_t wm_store_select(wm_store_t *st, const char *sql,
                             const char **pfirst, apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rc;

    if (pfirst) {
        *pfirst = NULL;
    }
    if ((rc = apr_dbd_select(st->driver, p, st->handle, &res, sql, 1))) {
        return wm_store_db_error(st, rc, sql, p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        if (pfirst && !*pfirst) {
            const char *v = apr_dbd_get_entry(st->driver, row, 0);
            *pfirst = apr_pstrdup(p, v ? v : "");
        }
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_exec(wm_store_t *st, const char *sql, apr_pool_t *p)
{
    int nrows = 0, rc;
    if ((rc = apr_dbd_query(st->driver, st->handle, &nrows, sql))) {
        return wm_store_db_error(st, rc, sql, p);
    }
    return APR_SUCCESS;
}

static const size_t statements_count =
    sizeof(statements) / sizeof(statements[0]);

/* Every statement a connection prepares: the store's own, then those of
 * the profile store (wm_store_profile.c). */
static const struct {
    const wm_store_sql_t *sql;
    const size_t *count;
} tables[] = {
    {statements, &statements_count},
    {wm_store_profile_sql, &wm_store_profile_sql_count},
};

apr_dbd_prepared_t *wm_store_stmt(wm_store_t *st, const char *label)
{
    return apr_hash_get(st->prepared, label, APR_HASH_KEY_STRING);
}

const char *wm_store_i64(apr_int64_t v, apr_pool_t *p)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

apr_int64_t wm_store_to_i64(const char *s)
{
    return s ? apr_atoi64(s) : 0;
}

static int placeholders(const char *sql)
{
    int n = 0;
    for (; *sql; sql++) {
        n += sql[0] == '%' && (sql[1] == 's' || sql[1] == 'l');
    }
    return n;
}

static void write_lock(wm_store_t *st)
{
    if (!st->pgsql && sqlite_writes && !st->in_tx) {
        apr_thread_mutex_lock(sqlite_writes);
        st->locked = 1;
    }
}

static void write_unlock(wm_store_t *st)
{
    if (st->locked) {
        st->locked = 0;
        apr_thread_mutex_unlock(sqlite_writes);
    }
}

apr_status_t wm_store_child_init(apr_pool_t *pchild)
{
    return apr_thread_mutex_create(&sqlite_writes, APR_THREAD_MUTEX_DEFAULT,
                                   pchild);
}

/* The argument count is the statement's: a mismatch is a bug, caught
 * here rather than read past the arguments. */
static apr_status_t check_args(wm_store_t *st, const char *label, int nargs,
                               apr_pool_t *p)
{
    size_t k, j;

    for (k = 0; k < sizeof(tables) / sizeof(tables[0]); k++) {
        for (j = 0; j < *tables[k].count; j++) {
            const wm_store_sql_t *q = &tables[k].sql[j];
            if (!strcmp(q->label, label) && placeholders(q->sql) != nargs) {
                st->err = apr_psprintf(p, "%s takes %d arguments, not %d",
                                       label, placeholders(q->sql), nargs);
                return APR_EINVAL;
            }
        }
    }
    return APR_SUCCESS;
}

/* apr_dbd takes the arguments as an array; a NULL is SQL NULL. */
static const char **args_of(int nargs, va_list ap, apr_pool_t *p)
{
    const char **args = apr_palloc(p, sizeof(const char *) * (nargs + 1));
    int i;

    for (i = 0; i < nargs; i++) {
        args[i] = va_arg(ap, const char *);
    }
    return args;
}

apr_status_t wm_store_run(wm_store_t *st, const char *label, int *pnrows,
                          apr_pool_t *p, int nargs, ...)
{
    const char **args;
    int nrows = 0, rc, taken = 0;
    apr_status_t rv;
    va_list ap;

    if ((rv = check_args(st, label, nargs, p))) {
        return rv;
    }
    va_start(ap, nargs);
    args = args_of(nargs, ap, p);
    va_end(ap);
    if (!st->locked) {
        write_lock(st);
        taken = st->locked;
    }
    rc = apr_dbd_pquery(st->driver, p, st->handle, &nrows,
                        wm_store_stmt(st, label), nargs, args);
    if (taken) {
        write_unlock(st);
    }
    if (pnrows) {
        *pnrows = nrows;
    }
    return rc ? wm_store_db_error(st, rc, label, p) : APR_SUCCESS;
}

apr_status_t wm_store_kv_list(wm_store_t *st, const char *label,
                              apr_array_header_t **pitems, apr_pool_t *p,
                              const char *a1, const char *a2)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *items = apr_array_make(p, 8, sizeof(wm_kv_t));
    int rc;

    *pitems = items;
    rc = apr_dbd_pvselect(st->driver, p, st->handle, &res,
                          wm_store_stmt(st, label), 1, a1, a2);
    if (rc) {
        return wm_store_db_error(st, rc, label, p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        wm_kv_t *kv = apr_array_push(items);
        kv->key = wm_store_entry(st, row, 0, p);
        kv->value = wm_store_entry(st, row, 1, p);
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_rows(wm_store_t *st, const char *label, int ncols,
                           apr_array_header_t **prows, apr_pool_t *p,
                           int nargs, ...)
{
    apr_array_header_t *rows = apr_array_make(p, 8, sizeof(const char **));
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char **args;
    int rc, i, taken = 0;
    apr_status_t rv;
    va_list ap;

    *prows = rows;
    if ((rv = check_args(st, label, nargs, p))) {
        return rv;
    }
    va_start(ap, nargs);
    args = args_of(nargs, ap, p);
    va_end(ap);
    /* A statement with RETURNING writes: one writer at a time (SQLite). */
    if (!st->locked) {
        write_lock(st);
        taken = st->locked;
    }
    rc = apr_dbd_pselect(st->driver, p, st->handle, &res,
                         wm_store_stmt(st, label), 1, nargs, args);
    if (!rc) {
        while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
            const char **r = apr_palloc(p, sizeof(const char *) * ncols);
            for (i = 0; i < ncols; i++) {
                r[i] = wm_store_entry(st, row, i, p);
            }
            APR_ARRAY_PUSH(rows, const char **) = r;
        }
    }
    if (taken) {
        write_unlock(st);
    }
    return rc ? wm_store_db_error(st, rc, label, p) : APR_SUCCESS;
}

const char *wm_store_entry(wm_store_t *st, apr_dbd_row_t *row, int col,
                           apr_pool_t *p)
{
    char *v = NULL;

    /* apr_dbd_get_entry gives "" for a PostgreSQL NULL; datum_get tells
     * NULL (APR_ENOENT) apart on both drivers. */
    if (apr_dbd_datum_get(st->driver, row, col, APR_DBD_TYPE_STRING, &v) !=
            APR_SUCCESS ||
        !v) {
        return NULL;
    }
    return apr_pstrdup(p, v);
}

/* ----------------------------------------------------------- set-up */

/* The statement in this dialect, or NULL when it is not for it. */
static const char *ddl_for(wm_store_t *st, const char *ddl, apr_pool_t *p)
{
    const char *at;

    if (!strncmp(ddl, "@PG@", 4)) {
        if (!st->pgsql) {
            return NULL;
        }
        ddl += 4;
    }
    if (!(at = strstr(ddl, "@ID@"))) {
        return ddl;
    }
    return apr_pstrcat(p, apr_pstrmemdup(p, ddl, (apr_size_t)(at - ddl)),
                       st->pgsql ? "BIGINT GENERATED BY DEFAULT AS IDENTITY "
                                   "PRIMARY KEY"
                                 : "INTEGER PRIMARY KEY AUTOINCREMENT",
                       at + 4, NULL);
}

apr_status_t wm_store_schema_version(wm_store_t *st, int *pversion,
                                     apr_pool_t *p)
{
    const char *v;
    apr_status_t rv;

    *pversion = 0;
    if ((rv = wm_store_select(st, "SELECT MAX(version) FROM wm_schema", &v,
                              p))) {
        return rv;
    }
    *pversion = (v && *v) ? atoi(v) : 0;
    return APR_SUCCESS;
}

/* Creates or brings the schema forward inside one transaction that holds
 * the database's write lock, so that several httpd children opening a
 * fresh database at once migrate it exactly once. */
static apr_status_t migrate(wm_store_t *st, apr_pool_t *p)
{
    int version, v, i;
    apr_status_t rv;
    const char *const *ddl;

    if ((rv = wm_store_begin(st, p))) {
        return rv;
    }
    if (st->pgsql) {
        /* Serialises concurrent migrations across nodes; the key is an
         * arbitrary constant of this module. */
        if ((rv = wm_store_select(st, "SELECT pg_advisory_xact_lock(7061964)",
                                  NULL, p))) {
            goto leave;
        }
    }
    if ((rv = wm_store_exec(st,
                            "CREATE TABLE IF NOT EXISTS wm_schema "
                            "(version INTEGER NOT NULL)",
                            p)) ||
        (rv = wm_store_schema_version(st, &version, p))) {
        goto leave;
    }
    if (version > WM_STORE_SCHEMA_VERSION) {
        st->err = apr_psprintf(p,
                               "the database has schema version %d, "
                               "newer than this module's %d",
                               version, WM_STORE_SCHEMA_VERSION);
        rv = APR_EGENERAL;
        goto leave;
    }
    for (v = version + 1; v <= WM_STORE_SCHEMA_VERSION; v++) {
        ddl = migrations[v - 1];
        for (i = 0; ddl[i]; i++) {
            const char *sql = ddl_for(st, ddl[i], p);
            if (sql && (rv = wm_store_exec(st, sql, p))) {
                goto leave;
            }
        }
        if ((rv = wm_store_exec(st,
                                apr_psprintf(p,
                                             "INSERT INTO wm_schema (version) "
                                             "VALUES (%d)",
                                             v),
                                p))) {
            goto leave;
        }
        wm_log(WM_LOG_NOTICE, 0, p,
               WM_LOGNO(00019) "store: schema migrated to version %d", v);
    }
leave:
    if (rv) {
        wm_store_rollback(st, p);
        return rv;
    }
    return wm_store_commit(st, p);
}

/* WAL is a property of the database file: set once, it stays. Switching
 * needs the database to itself, so when several children open a fresh
 * database at once only one switch succeeds; the others find WAL set. */
static int is_wal(wm_store_t *st, apr_pool_t *p)
{
    const char *mode;
    return wm_store_select(st, "PRAGMA journal_mode", &mode, p) ==
               APR_SUCCESS &&
           mode && !strcasecmp(mode, "wal");
}

/* WAL is a property of the database file: set once, it stays. Switching
 * needs the file to itself, so while other children have a fresh database
 * open the switch quietly keeps the old mode; it is tried again a few
 * times, and failing that the connection works on in the old mode (the
 * next connection switches). */
static apr_status_t use_wal(wm_store_t *st, apr_pool_t *p)
{
    int attempt;

    for (attempt = 0; attempt < 20; attempt++) {
        if (is_wal(st, p)) {
            return APR_SUCCESS;
        }
        wm_store_select(st, "PRAGMA journal_mode = WAL", NULL, p);
        if (is_wal(st, p)) {
            return APR_SUCCESS;
        }
        apr_sleep(apr_time_from_msec(50));
    }
    wm_log(WM_LOG_NOTICE, 0, p,
           WM_LOGNO(00040) "store: the database is not in WAL mode yet; "
                           "another connection will switch it");
    return APR_SUCCESS;
}

static apr_status_t setup_connection(wm_store_t *st, apr_pool_t *conn_pool,
                                     apr_pool_t *p)
{
    apr_status_t rv;
    size_t i, t;
    int rc, attempt;

    if (!st->pgsql) {
        /* The busy timeout first: everything after it may meet a writer.
         * With WAL (use_wal) NORMAL syncs at checkpoints only, which WAL
         * keeps crash-safe. PRAGMAs that return rows cannot go in
         * DBDInitSQL, so they are run here. */
        if ((rv =
                 wm_store_select(st, "PRAGMA busy_timeout = 10000", NULL, p)) ||
            (rv = wm_store_exec(st, "PRAGMA synchronous = NORMAL", p))) {
            return rv;
        }
    }
    /* Children that open a fresh database together race to create it;
     * the loser sees "schema has changed" or a lock, and a retry finds
     * the schema made. */
    for (attempt = 0; (rv = migrate(st, p)) && attempt < 4; attempt++) {
        apr_sleep(apr_time_from_msec(50));
    }
    if (rv) {
        return rv;
    }
    if (!st->pgsql && (rv = use_wal(st, p))) {
        return rv;
    }
    /* The statements live in the connection's own pool: the SQLite driver
     * walks its list of statements when it closes the connection, so they
     * must not be freed before it. */
    for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
        for (i = 0; i < *tables[t].count; i++) {
            const wm_store_sql_t *q = &tables[t].sql[i];
            apr_dbd_prepared_t *ps = NULL;
            rc = apr_dbd_prepare(st->driver, conn_pool, st->handle, q->sql,
                                 q->label, &ps);
            if (rc) {
                return wm_store_db_error(st, rc, q->label, p);
            }
            apr_hash_set(st->prepared, q->label, APR_HASH_KEY_STRING, ps);
        }
    }
    apr_hash_set(st->prepared, READY_LABEL, APR_HASH_KEY_STRING,
                 apr_pcalloc(conn_pool, sizeof(wm_store_conn_t)));
    return APR_SUCCESS;
}

/* PostgreSQL keeps prepared statements per backend. After the server
 * restarts, a pooled connection is dead though libpq does not know it yet
 * (mod_dbd's check passes); once a query fails, apr_dbd_check_conn resets
 * it onto a new backend, which has none of the statements. One catalog
 * query tells, and the connection is reset and set up again at once, so
 * the first request after an outage already works.
 *
 * The query materialises every prepared statement of the backend (about
 * a hundred, with their text): it cost more than any statement of a
 * check-in, on every request. So it runs only when the answer may have
 * changed: after a statement failed on this connection, or when the
 * connection sat idle long enough for the server to have restarted. A
 * connection in steady use that meets a restart fails one request, and
 * is checked before the next. */
static apr_status_t check_pgsql(wm_store_t *st, wm_store_conn_t *conn,
                                apr_time_t now, apr_pool_t *p)
{
    const char *n = NULL;
    apr_status_t rv;

    if (!conn->suspect && now - conn->used < PG_IDLE_CHECK) {
        return APR_SUCCESS;
    }
    rv = wm_store_select(st,
                         "SELECT COUNT(*) FROM pg_prepared_statements "
                         "WHERE name = 'wm_device_get'",
                         &n, p);
    if (rv != APR_SUCCESS) {
        if (apr_dbd_check_conn(st->driver, p, st->handle) != APR_SUCCESS) {
            return rv; /* still down */
        }
        n = "0";
    }
    conn->suspect = 0;
    if (n && !strcmp(n, "0")) {
        apr_hash_set(st->prepared, READY_LABEL, APR_HASH_KEY_STRING, NULL);
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_attach(wm_store_t **pst, const apr_dbd_driver_t *driver,
                             apr_dbd_t *handle, apr_hash_t *prepared,
                             apr_pool_t *conn_pool, apr_pool_t *p)
{
    wm_store_t *st = apr_pcalloc(p, sizeof(*st));
    wm_store_conn_t *conn;
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    *pst = NULL;
    st->driver = driver;
    st->handle = handle;
    st->prepared = prepared;
    st->pgsql = !strcmp(apr_dbd_name(driver), "pgsql");
    if (!st->pgsql && strcmp(apr_dbd_name(driver), "sqlite3")) {
        /* neither SQLite nor PostgreSQL: the DDL has no dialect for it */
        wm_log(WM_LOG_ERR, 0, p,
               WM_LOGNO(00021) "store: unsupported DBDriver %s (use "
                               "sqlite3 or pgsql)",
               apr_dbd_name(driver));
        return APR_ENOTIMPL;
    }
    conn = apr_hash_get(prepared, READY_LABEL, APR_HASH_KEY_STRING);
    if ((st->pgsql && conn && (rv = check_pgsql(st, conn, now, p)))
        || (!apr_hash_get(prepared, READY_LABEL, APR_HASH_KEY_STRING)
            && (rv = setup_connection(st, conn_pool, p)))) {
        wm_log(WM_LOG_ERR, 0, p,
               WM_LOGNO(00020) "store: setting up the %s connection "
                               "failed: %s",
               apr_dbd_name(driver), wm_store_error(st));
        return rv;
    }
    st->conn = apr_hash_get(prepared, READY_LABEL, APR_HASH_KEY_STRING);
    st->conn->used = now;
    *pst = st;
    return APR_SUCCESS;
}

/* ----------------------------------------------------------- devices */

static wm_device_t *device_of(wm_store_t *st, apr_dbd_row_t *row, apr_pool_t *p)
{
    wm_device_t *dev = apr_pcalloc(p, sizeof(*dev));
    dev->device_id = wm_store_entry(st, row, 0, p);
    dev->hw_dev_id = wm_store_entry(st, row, 1, p);
    dev->user = wm_store_entry(st, row, 2, p);
    dev->enroll_type = wm_store_entry(st, row, 3, p);
    dev->device_type = wm_store_entry(st, row, 4, p);
    dev->os_edition = wm_store_entry(st, row, 5, p);
    dev->os_version = wm_store_entry(st, row, 6, p);
    dev->device_name = wm_store_entry(st, row, 7, p);
    dev->cert_serial = wm_store_entry(st, row, 8, p);
    dev->cert_sha1 = wm_store_entry(st, row, 9, p);
    dev->cert_not_after = wm_store_to_i64(wm_store_entry(st, row, 10, p));
    dev->digest_ha1 = wm_store_entry(st, row, 11, p);
    dev->state = wm_store_entry(st, row, 12, p);
    dev->enrolled_at = wm_store_to_i64(wm_store_entry(st, row, 13, p));
    dev->last_seen = wm_store_to_i64(wm_store_entry(st, row, 14, p));
    dev->poll_interval = (int)wm_store_to_i64(wm_store_entry(st, row, 15, p));
    dev->desired_gen = wm_store_to_i64(wm_store_entry(st, row, 16, p));
    dev->applied_gen = wm_store_to_i64(wm_store_entry(st, row, 17, p));
    dev->verify_at = wm_store_to_i64(wm_store_entry(st, row, 18, p));
    return dev;
}

apr_status_t wm_store_device_get(wm_store_t *st, const char *device_id,
                                 wm_device_t **pdev, apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rc;

    *pdev = NULL;
    rc = apr_dbd_pvselect(st->driver, p, st->handle, &res,
                          wm_store_stmt(st, "wm_device_get"), 1, device_id);
    if (rc) {
        return wm_store_db_error(st, rc, "wm_device_get", p);
    }
    /* Drain every row (DESIGN: never break out of apr_dbd_get_row). */
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        if (!*pdev) {
            *pdev = device_of(st, row, p);
        }
    }
    return APR_SUCCESS;
}

const char *wm_store_like(const char *text, int anywhere, apr_pool_t *p)
{
    char *out = apr_palloc(p, strlen(text) * 2 + 3), *o = out;
    if (anywhere) {
        *o++ = '%';
    }
    for (; *text; text++) {
        if (*text == '%' || *text == '_' || *text == '!') {
            *o++ = '!';
        }
        *o++ = *text;
    }
    *o++ = '%';
    *o = '\0';
    return out;
}

apr_status_t wm_store_device_list(wm_store_t *st,
                                  const wm_device_filter_t *f,
                                  const char *after, int limit,
                                  apr_array_header_t **pdevs, apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    apr_array_header_t *devs = apr_array_make(p, limit, sizeof(wm_device_t *));
    wm_device_filter_t none;
    const char *q, *os;
    int rc;

    if (!f) {
        memset(&none, 0, sizeof(none));
        none.group = -1;
        f = &none;
    }
    q = f->q ? wm_store_like(f->q, 0, p) : NULL;
    os = f->os_version ? wm_store_like(f->os_version, 0, p) : NULL;
    *pdevs = devs;
    rc = apr_dbd_pvselect(
        st->driver, p, st->handle, &res, wm_store_stmt(st, "wm_device_list"), 1,
        after ? after : "", q, q, q, q, f->state, f->state, os, os,
        wm_store_i64(f->group, p), wm_store_i64(f->group, p),
        wm_store_i64(f->profile, p), f->profile_state, f->profile_state,
        f->profile_state, wm_store_i64(f->profile, p),
        wm_store_i64(f->profile, p), wm_store_i64(limit, p));
    if (rc) {
        return wm_store_db_error(st, rc, "wm_device_list", p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        APR_ARRAY_PUSH(devs, wm_device_t *) = device_of(st, row, p);
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_device_summary(wm_store_t *st, apr_int64_t now,
                                     apr_array_header_t **prows,
                                     apr_pool_t *p)
{
    const char *hour = wm_store_i64(now - 3600, p);
    const char *day = wm_store_i64(now - 86400, p);
    return wm_store_rows(st, "wm_device_summary", 6, prows, p, 4, hour, hour,
                         day, day);
}

apr_status_t wm_store_device_put(wm_store_t *st, const wm_device_t *d,
                                 apr_pool_t *p)
{
    const char *state = d->state ? d->state : "enrolled";
    int nrows = 0;
    apr_status_t rv;

    rv = wm_store_run(st, "wm_device_update", &nrows, p, 16, d->hw_dev_id,
                      d->user, d->enroll_type, d->device_type, d->os_edition,
                      d->os_version, d->device_name, d->cert_serial,
                      d->cert_sha1, wm_store_i64(d->cert_not_after, p),
                      d->digest_ha1, state, wm_store_i64(d->enrolled_at, p),
                      wm_store_i64(d->last_seen, p),
                      wm_store_i64(d->poll_interval, p), d->device_id);
    if (rv || nrows > 0) {
        return rv;
    }
    return wm_store_run(st, "wm_device_insert", NULL, p, 16, d->device_id,
                        d->hw_dev_id, d->user, d->enroll_type, d->device_type,
                        d->os_edition, d->os_version, d->device_name,
                        d->cert_serial, d->cert_sha1,
                        wm_store_i64(d->cert_not_after, p), d->digest_ha1,
                        state, wm_store_i64(d->enrolled_at, p),
                        wm_store_i64(d->last_seen, p),
                        wm_store_i64(d->poll_interval, p));
}

/* ------------------------------------------------------------ tokens */

apr_status_t wm_store_token_put(wm_store_t *st, const char *token_hash,
                                const char *user, apr_int64_t expires,
                                apr_pool_t *p)
{
    return wm_store_run(st, "wm_token_put", NULL, p, 3, token_hash, user,
                        wm_store_i64(expires, p));
}

apr_status_t wm_store_token_get(wm_store_t *st, const char *token_hash,
                                apr_int64_t now, const char **puser,
                                apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rc;

    *puser = NULL;
    rc = apr_dbd_pvselect(st->driver, p, st->handle, &res,
                          wm_store_stmt(st, "wm_token_get"), 1, token_hash,
                          wm_store_i64(now, p));
    if (rc) {
        return wm_store_db_error(st, rc, "wm_token_get", p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        if (!*puser) {
            *puser = wm_store_entry(st, row, 0, p);
        }
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_purge(wm_store_t *st, apr_int64_t now, int *pcount,
                            apr_pool_t *p)
{
    const char *t = wm_store_i64(now, p);
    const char *idle = wm_store_i64(now - WM_STORE_FAILURE_KEEP, p);
    int n1 = 0, n2 = 0, n3 = 0, n4 = 0;
    apr_status_t rv;

    if ((rv = wm_store_run(st, "wm_token_purge", &n1, p, 1, t))
        || (rv = wm_store_run(st, "wm_nonce_purge", &n2, p, 1, t))
        || (rv = wm_store_run(st, "wm_failure_purge", &n3, p, 1, idle))
        || (rv = wm_store_run(st, "wm_partial_purge", &n4, p, 1, idle))) {
        return rv;
    }
    if (pcount) {
        *pcount = n1 + n2 + n3 + n4;
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_token_delete(wm_store_t *st, const char *token_hash,
                                   apr_pool_t *p)
{
    return wm_store_run(st, "wm_token_delete", NULL, p, 1, token_hash);
}

apr_status_t wm_store_nonce_put(wm_store_t *st, const char *nonce,
                                const char *device_id, apr_int64_t expires,
                                apr_pool_t *p)
{
    return wm_store_run(st, "wm_nonce_put", NULL, p, 3, nonce, device_id,
                        wm_store_i64(expires, p));
}

/* --------------------------------------------------------- failures */

apr_status_t wm_store_failures_get(wm_store_t *st, const char *subject,
                                   int *pcount, apr_int64_t *plast,
                                   apr_pool_t *p)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    int rc, seen = 0;

    *pcount = 0;
    *plast = 0;
    rc = apr_dbd_pvselect(st->driver, p, st->handle, &res,
                          wm_store_stmt(st, "wm_failure_get"), 1, subject);
    if (rc) {
        return wm_store_db_error(st, rc, "wm_failure_get", p);
    }
    while (apr_dbd_get_row(st->driver, p, res, &row, -1) == 0) {
        if (!seen++) {
            *pcount = (int)wm_store_to_i64(wm_store_entry(st, row, 0, p));
            *plast = wm_store_to_i64(wm_store_entry(st, row, 1, p));
        }
    }
    return APR_SUCCESS;
}

apr_status_t wm_store_failure_add(wm_store_t *st, const char *subject,
                                  apr_int64_t now, apr_int64_t window,
                                  apr_pool_t *p)
{
    return wm_store_run(st, "wm_failure_add", NULL, p, 3, subject,
                        wm_store_i64(now, p), wm_store_i64(now - window, p));
}

apr_status_t wm_store_failure_clear(wm_store_t *st, const char *subject,
                                    apr_pool_t *p)
{
    return wm_store_run(st, "wm_failure_clear", NULL, p, 1, subject);
}

apr_status_t wm_store_failure_refund(wm_store_t *st, const char *subject,
                                     apr_pool_t *p)
{
    return wm_store_run(st, "wm_failure_refund", NULL, p, 1, subject);
}

apr_status_t wm_store_begin_serial(wm_store_t *st, int key, apr_pool_t *p)
{
    apr_status_t rv;

    if ((rv = wm_store_begin(st, p))) {
        return rv;
    }
    /* SQLite's BEGIN IMMEDIATE already holds the database's write lock;
     * PostgreSQL gets a transaction-scoped advisory lock. */
    if (st->pgsql &&
        (rv = wm_store_select(st,
                              apr_psprintf(p,
                                           "SELECT pg_advisory_xact_lock(%d)",
                                           key),
                              NULL, p))) {
        wm_store_rollback(st, p);
    }
    return rv;
}

/* ------------------------------------------------------- enrollment */

apr_status_t wm_store_enroll(wm_store_t *st, const wm_device_t *dev,
                             const char *nonce, apr_int64_t nonce_expires,
                             const char *token_hash, apr_pool_t *p)
{
    return wm_store_enroll_signed(st, dev, nonce, nonce_expires, token_hash,
                                  0, p);
}

apr_status_t wm_store_enroll_signed(wm_store_t *st, const wm_device_t *dev,
                                    const char *nonce,
                                    apr_int64_t nonce_expires,
                                    const char *token_hash, apr_int64_t now,
                                    apr_pool_t *p)
{
    wm_device_t *old = NULL;
    apr_status_t rv;
    int spent = 0;

    /* One transaction, holding SQLite's write lock from the start, so two
     * enrollments of one DeviceID cannot both pass the owner check. */
    if ((rv = wm_store_begin(st, p))) {
        return rv;
    }
    /* PostgreSQL: serialise enrollments (an arbitrary module constant). */
    if (st->pgsql &&
        (rv = wm_store_select(st, "SELECT pg_advisory_xact_lock(7061965)", NULL,
                              p))) {
        goto leave;
    }
    /* The sign-in token is spent first, inside the transaction: exactly
     * one unexpired row goes, or another enrollment has used it. */
    if (token_hash) {
        if ((rv = wm_store_run(st, "wm_token_spend", &spent, p, 2, token_hash,
                               wm_store_i64(now, p)))) {
            goto leave;
        }
        if (spent != 1) {
            st->err = "the sign-in token is unknown, expired or used";
            rv = APR_ENOENT;
            goto leave;
        }
    }
    if ((rv = wm_store_device_get(st, dev->device_id, &old, p))) {
        goto leave;
    }
    if (old && old->state && !strcmp(old->state, "enrolled") && old->user &&
        strcmp(old->user, dev->user)) {
        st->err = "the DeviceID is enrolled by another user";
        rv = APR_EACCES;
        goto leave;
    }
    /* A device that enrolls again (reset, reinstalled) may hold none of
     * its profiles' settings: it gets them all again. */
    if ((rv = wm_store_device_put(st, dev, p)) ||
        (old && (rv = wm_store_device_profiles_reset(st, dev->device_id, p))) ||
        (nonce && (rv = wm_store_nonce_put(st, nonce, dev->device_id,
                                           nonce_expires, p)))) {
        goto leave;
    }
leave:
    if (rv) {
        wm_store_rollback(st, p);
        return rv;
    }
    return wm_store_commit(st, p);
}

/* -------------------------------------------------- device upkeep */

apr_status_t wm_store_device_seen(wm_store_t *st, const char *device_id,
                                  apr_int64_t now, apr_pool_t *p)
{
    return wm_store_run(st, "wm_device_seen", NULL, p, 2, wm_store_i64(now, p),
                        device_id);
}

apr_status_t wm_store_device_set_state(wm_store_t *st, const char *device_id,
                                       const char *state, apr_pool_t *p)
{
    apr_status_t rv = wm_store_run(st, "wm_device_state", NULL, p, 2, state,
                                   device_id);
    /* An unenrolled device holds no profile any more. */
    if (!rv && !strcmp(state, "unenrolled")) {
        rv = wm_store_device_profiles_reset(st, device_id, p);
    }
    return rv;
}

apr_status_t wm_store_device_set_poll(wm_store_t *st, const char *device_id,
                                      int minutes, apr_pool_t *p)
{
    return wm_store_run(st, "wm_device_poll", NULL, p, 2,
                        wm_store_i64(minutes, p), device_id);
}

apr_status_t wm_store_inventory_put(wm_store_t *st, const char *device_id,
                                    const char *uri, const char *value,
                                    apr_int64_t now, apr_pool_t *p)
{
    return wm_store_run(st, "wm_inventory_put", NULL, p, 4, device_id, uri,
                        value, wm_store_i64(now, p));
}

apr_status_t wm_store_inventory_list(wm_store_t *st, const char *device_id,
                                     apr_array_header_t **pitems,
                                     apr_pool_t *p)
{
    return wm_store_kv_list(st, "wm_inventory_list", pitems, p, device_id,
                            NULL);
}

/* ------------------------------------------------------------ nonces */

apr_status_t wm_store_nonces_get(wm_store_t *st, const char *device_id,
                                 apr_int64_t now, apr_array_header_t **pout,
                                 apr_pool_t *p)
{
    return wm_store_kv_list(st, "wm_nonce_list", pout, p, device_id,
                            wm_store_i64(now, p));
}

apr_status_t wm_store_nonce_bind(wm_store_t *st, const char *nonce,
                                 const char *device_id, const char *session_id,
                                 apr_int64_t msg_id, int *pbound,
                                 apr_pool_t *p)
{
    return wm_store_run(st, "wm_nonce_bind", pbound, p, 4, session_id,
                        msg_id > 0 ? wm_store_i64(msg_id, p) : NULL, nonce,
                        device_id);
}

/* ----------------------------------------------------- transactions */

apr_status_t wm_store_begin(wm_store_t *st, apr_pool_t *p)
{
    apr_status_t rv;

    /* SQLite: take the write lock now, not at the first write, so two
     * writers never deadlock on a lock upgrade; this process's lock first
     * (see sqlite_writes). */
    write_lock(st);
    rv = wm_store_exec(st, st->pgsql ? "BEGIN" : "BEGIN IMMEDIATE", p);
    if (rv) {
        write_unlock(st);
        return rv;
    }
    st->in_tx = 1;
    return APR_SUCCESS;
}

apr_status_t wm_store_commit(wm_store_t *st, apr_pool_t *p)
{
    apr_status_t rv = wm_store_exec(st, "COMMIT", p);
    if (rv) {
        /* a failed COMMIT leaves the transaction open: end it */
        wm_store_exec(st, "ROLLBACK", p);
    }
    st->in_tx = 0;
    write_unlock(st);
    return rv;
}

void wm_store_rollback(wm_store_t *st, apr_pool_t *p)
{
    wm_store_exec(st, "ROLLBACK", p);
    st->in_tx = 0;
    write_unlock(st);
}

apr_status_t wm_store_nonce_spend(wm_store_t *st, const char *device_id,
                                  const char *session_id, apr_pool_t *p)
{
    return wm_store_run(st, "wm_nonce_spend", NULL, p, 2, device_id,
                        session_id);
}

apr_status_t wm_store_nonce_msg(wm_store_t *st, const char *nonce,
                               const char *device_id, const char *session_id,
                               apr_int64_t msg_id, int *paccepted,
                               apr_pool_t *p)
{
    const char *m = wm_store_i64(msg_id, p);
    return wm_store_run(st, "wm_nonce_msg", paccepted, p, 5, m, nonce,
                        device_id, session_id, m);
}

apr_status_t wm_store_nonce_rotate(wm_store_t *st, const char *device_id,
                                   const char *nonce, const char *next,
                                   apr_int64_t expires, int *protated,
                                   apr_pool_t *p)
{
    return wm_store_run(st, "wm_nonce_rotate", protated, p, 4, next,
                        wm_store_i64(expires, p), device_id, nonce);
}
