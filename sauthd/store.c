/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "sauth-names.h"
#include "store.h"
#include "tokens.h"
#include "util.h"

/*
 * Everything SQLite-specific is in the open path and in the transaction
 * helpers (PRAGMAs, BEGIN IMMEDIATE). Every statement with a value in it is
 * prepared and bound; the SQL text itself is always a constant.
 */

/* Statements are prepared once and kept, keyed by the address of their SQL
 * text (every statement here is a string literal), then reset after each
 * use: preparing is most of the cost of a short query. */
#define STORE_STMT_CACHE 64

struct Store {
        sqlite3 *db;
        struct {
                const char *sql;
                sqlite3_stmt *stmt;
        } stmts[STORE_STMT_CACHE];
};

#define STORE_ID_SIZE 19                /* id_new(): "x-" + 16 hex + NUL */
#define STORE_BUSY_TIMEOUT_MS 5000

static inline void stmt_finalizep(sqlite3_stmt **stmt) {
        sqlite3_finalize(*stmt);        /* takes NULL */
}

/* Hands a cached statement back: no row, no lock, no binding to the
 * caller's (possibly secret) memory is kept. */
static inline void stmt_resetp(sqlite3_stmt **stmt) {
        if (*stmt) {
                sqlite3_reset(*stmt);
                sqlite3_clear_bindings(*stmt);
        }
}
#define _cleanup_stmt_ _cleanup_(stmt_resetp)

/* The schema, one step per version, each applied in its own transaction
 * together with its row in schema_version. Never edit a released step:
 * add a new one. tests/data/schema-v1.sql is what step 1 made. */
static const char *const store_migrations[] = {
        /* 1: people, their contacts, their accounts, single-use tokens. */
        "CREATE TABLE people ("
        " id TEXT PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " identity TEXT NOT NULL UNIQUE,"
        " picture TEXT NOT NULL DEFAULT '',"
        " created BIGINT NOT NULL);"
        "CREATE TABLE contacts ("
        " id TEXT PRIMARY KEY,"
        " uid TEXT NOT NULL REFERENCES people(id),"
        " type TEXT NOT NULL,"
        " info TEXT NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('unconfirmed', 'active')),"
        " created BIGINT NOT NULL);"
        "CREATE INDEX contacts_uid ON contacts(uid);"
        "CREATE TABLE accounts ("
        " id TEXT PRIMARY KEY,"
        " uid TEXT NOT NULL UNIQUE REFERENCES people(id),"
        " username TEXT NOT NULL UNIQUE,"
        " password TEXT NULL,"
        " must_change INTEGER NOT NULL DEFAULT 1,"
        " status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),"
        " is_admin INTEGER NOT NULL DEFAULT 0,"
        " created BIGINT NOT NULL,"
        " last_login BIGINT NOT NULL DEFAULT 0);"
        "CREATE TABLE tokens ("
        " hash TEXT PRIMARY KEY,"
        " uid TEXT NOT NULL REFERENCES people(id),"
        " purpose TEXT NOT NULL,"
        " created BIGINT NOT NULL,"
        " expires BIGINT NOT NULL,"
        " used BIGINT NULL);"
        "CREATE INDEX tokens_uid_purpose ON tokens(uid, purpose, created);",

        /* 2: persisted lockout state and the password history. seq orders
         * the history even when two changes fall in the same second. */
        "ALTER TABLE accounts ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE accounts ADD COLUMN first_failure BIGINT NOT NULL DEFAULT 0;"
        "ALTER TABLE accounts ADD COLUMN locked_until BIGINT NOT NULL DEFAULT 0;"
        "CREATE TABLE password_history ("
        " account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
        " seq BIGINT NOT NULL,"
        " hash TEXT NOT NULL,"
        " created BIGINT NOT NULL,"
        " PRIMARY KEY (account_id, seq));",
};

_Static_assert(ELEMENTSOF(store_migrations) == STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* Maps an SQLite result code to an errno. Expected conflicts are not logged;
 * everything else is, with SQLite's message, which names tables and
 * columns but never the values bound to a statement. */
static int store_fail(Store *s, int rc, const char *what) {
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
                return -EEXIST;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
                return -ENOENT;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_NOTNULL:
                log_error("store: %s: %s", what, sqlite3_errmsg(s->db));
                return -EINVAL;
        default:
                log_error("store: %s: %s", what, sqlite3_errmsg(s->db));
                return -EIO;
        }
}

/* Runs constant SQL (one or more statements, no parameters); rows are
 * ignored. For PRAGMAs, transaction control and the migration steps. */
static int store_exec(Store *s, const char *sql) {
        const char *tail = sql;

        while (*tail) {
                _cleanup_(stmt_finalizep) sqlite3_stmt *stmt = NULL;
                const char *next = NULL;
                int rc;

                rc = sqlite3_prepare_v3(s->db, tail, -1, 0, &stmt, &next);
                if (rc != SQLITE_OK)
                        return store_fail(s, rc, "prepare");
                if (!stmt) /* only whitespace or a comment was left */
                        break;
                do
                        rc = sqlite3_step(stmt);
                while (rc == SQLITE_ROW);
                if (rc != SQLITE_DONE)
                        return store_fail(s, rc, "exec");
                tail = next;
        }
        return 0;
}

/* Binds parameters in order from a type string: 's' a const char *
 * (NULL binds SQL NULL), 'i' an int64_t — callers cast, never pass int. */
static int store_bindv(Store *s, sqlite3_stmt *stmt, const char *types, va_list ap) {
        for (int i = 0; types[i]; i++) {
                int rc;

                if (types[i] == 's')
                        rc = sqlite3_bind_text(stmt, i + 1, va_arg(ap, const char *), -1, SQLITE_STATIC);
                else
                        rc = sqlite3_bind_int64(stmt, i + 1, va_arg(ap, int64_t));
                if (rc != SQLITE_OK)
                        return store_fail(s, rc, "bind");
        }
        return 0;
}

/* The cached statement for sql, prepared on first use. */
static int store_prepare_cached(Store *s, const char *sql, sqlite3_stmt **ret) {
        size_t i;
        int rc;

        for (i = 0; i < STORE_STMT_CACHE && s->stmts[i].sql; i++)
                if (s->stmts[i].sql == sql) {
                        *ret = s->stmts[i].stmt;
                        return 0;
                }
        if (i == STORE_STMT_CACHE) {
                /* More distinct statements than store.c has: a bug. */
                log_error("store: statement cache full");
                return -E2BIG;
        }
        rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[i].stmt, NULL);
        if (rc != SQLITE_OK)
                return store_fail(s, rc, "prepare");
        s->stmts[i].sql = sql;
        *ret = s->stmts[i].stmt;
        return 0;
}

static int store_preparev(Store *s, sqlite3_stmt **ret, const char *sql, const char *types, va_list ap) {
        _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
        int r;

        r = store_prepare_cached(s, sql, &stmt);
        if (r < 0)
                return r;
        r = store_bindv(s, stmt, types, ap);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(stmt); /* the caller resets it (_cleanup_stmt_) */
        return 0;
}

/* Prepares sql and binds its parameters; the caller steps. */
static int store_query(Store *s, sqlite3_stmt **ret, const char *sql, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = store_preparev(s, ret, sql, types, ap);
        va_end(ap);
        return r;
}

/* 1 for a row, 0 when done, negative errno on error. */
static int store_step(Store *s, sqlite3_stmt *stmt) {
        int rc = sqlite3_step(stmt);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return store_fail(s, rc, "step");
}

/* Runs one statement that returns no rows; returns the rows it changed. */
static int store_run(Store *s, const char *sql, const char *types, ...) {
        _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
        va_list ap;
        int rc, r;

        va_start(ap, types);
        r = store_preparev(s, &stmt, sql, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        rc = sqlite3_step(stmt);
        if (rc != SQLITE_DONE)
                return store_fail(s, rc, "step");
        return sqlite3_changes(s->db);
}

/* Runs a query whose single row holds one integer; -ENOENT for no row. */
static int store_query_int64(Store *s, int64_t *ret, const char *sql, const char *types, ...) {
        _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = store_preparev(s, &stmt, sql, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        *ret = sqlite3_column_int64(stmt, 0);
        return 0;
}

/* BEGIN IMMEDIATE takes the write lock up front, so a transaction that
 * reads and then writes waits on busy_timeout instead of failing half way
 * when another connection wrote in between. */
static int store_begin(Store *s) {
        return store_exec(s, "BEGIN IMMEDIATE");
}

static void store_rollback(Store *s) {
        /* Some errors (I/O, full disk) roll back by themselves. */
        if (!sqlite3_get_autocommit(s->db))
                (void) store_exec(s, "ROLLBACK");
}

/* Ends the transaction begun by store_begin(): commits if r >= 0, else
 * rolls back. Returns r, or the error of a failed commit. */
static int store_end(Store *s, int r) {
        int q;

        if (r < 0) {
                store_rollback(s);
                return r;
        }
        q = store_exec(s, "COMMIT");
        if (q < 0) {
                store_rollback(s);
                return q;
        }
        return r;
}

static int store_column_dup(sqlite3_stmt *stmt, int col, char **ret) {
        const unsigned char *t;
        char *d;

        if (sqlite3_column_type(stmt, col) == SQLITE_NULL) {
                *ret = NULL;
                return 0;
        }
        t = sqlite3_column_text(stmt, col);
        if (!t)
                return -ENOMEM;
        d = strdup((const char *) t);
        if (!d)
                return -ENOMEM;
        *ret = d;
        return 0;
}

/* ---- opening and migrating ---- */

/* Creates the file 0600 before SQLite sees it, so the database is never
 * readable by others whatever the umask, and refuses one that others may
 * write. A file others may read is tightened: SQLite gives its -wal and
 * -shm files the database's mode. */
static int store_prepare_file(const char *path) {
        _cleanup_close_ int fd = -1;
        char msg[PATH_MAX + 128];
        struct stat st;
        int r;

        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0) {
                r = -errno;
                log_error("store: %s: %s", path, strerror(-r));
                return r;
        }
        r = fd_check_secure(fd, path, msg, sizeof msg);
        if (r < 0) {
                log_error("store: %s", msg);
                return r;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if ((st.st_mode & 077) != 0) {
                if (fchmod(fd, st.st_mode & 0700) < 0) {
                        r = -errno;
                        log_error("store: %s: cannot chmod: %s", path, strerror(-r));
                        return r;
                }
                log_notice("store: %s: was readable by group or other, now mode %04o",
                        path, (unsigned) (st.st_mode & 0700));
        }
        return 0;
}

/* The -wal and -shm files of an earlier run may predate the check above. */
static int store_tighten_sidecar(const char *path, const char *suffix) {
        char p[PATH_MAX];
        struct stat st;

        if (snprintf(p, sizeof p, "%s%s", path, suffix) >= (int) sizeof p)
                return -ENAMETOOLONG;
        if (lstat(p, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISREG(st.st_mode))
                return -EPERM;
        if ((st.st_mode & 077) != 0 && chmod(p, st.st_mode & 0700) < 0)
                return -errno;
        return 0;
}

static int store_configure(Store *s, const char *path) {
        _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
        const unsigned char *mode;
        int r;

        sqlite3_extended_result_codes(s->db, 1);
        sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
        /* No writable_schema tricks, no functions run from schema content. */
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);

        /* synchronous=FULL with WAL: a committed transaction survives a
         * power cut. secure_delete: spent tokens and old hashes are zeroed
         * in the file, not left in free pages. */
        r = store_exec(s, "PRAGMA foreign_keys = ON;"
                          "PRAGMA synchronous = FULL;"
                          "PRAGMA secure_delete = ON;");
        if (r < 0)
                return r;

        r = store_query(s, &stmt, "PRAGMA journal_mode = WAL", "");
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r < 0)
                return r;
        mode = r > 0 ? sqlite3_column_text(stmt, 0) : NULL;
        if (!mode || strcmp((const char *) mode, "wal") != 0) {
                log_error("store: %s: cannot switch to WAL journal mode", path);
                return -EIO;
        }
        r = store_tighten_sidecar(path, "-wal");
        if (r >= 0)
                r = store_tighten_sidecar(path, "-shm");
        if (r < 0)
                log_error("store: %s: cannot secure -wal/-shm files: %s", path, strerror(-r));
        return r;
}

static int store_version_read(Store *s, int *ret) {
        int64_t v;
        int r;

        r = store_query_int64(s, &v, "SELECT COALESCE(MAX(version), 0) FROM schema_version", "");
        if (r < 0)
                return r;
        if (v < 0 || v > INT_MAX)
                return -EIO;
        *ret = (int) v;
        return 0;
}

/* Inside a transaction: applies step 'version' unless another process did
 * while we waited for the lock. */
static int store_migrate_step(Store *s, int version) {
        int current, r;

        r = store_version_read(s, &current);
        if (r < 0 || current >= version)
                return r;
        r = store_exec(s, store_migrations[version - 1]);
        if (r < 0)
                return r;
        return store_run(s, "INSERT INTO schema_version (version, applied) VALUES (?, ?)",
                         "ii", (int64_t) version, (int64_t) time(NULL));
}

static int store_migrate(Store *s, const char *path, int target) {
        int current, r;

        r = store_exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
                          " version INTEGER PRIMARY KEY,"
                          " applied BIGINT NOT NULL)");
        if (r < 0)
                return r;
        r = store_version_read(s, &current);
        if (r < 0)
                return r;
        if (current > STORE_SCHEMA_VERSION) {
                log_error("store: %s: schema version %d is newer than this sauthd knows (%d)",
                        path, current, STORE_SCHEMA_VERSION);
                return -EIO;
        }
        for (int v = current + 1; v <= target; v++) {
                r = store_begin(s);
                if (r < 0)
                        return r;
                r = store_end(s, store_migrate_step(s, v));
                if (r < 0) {
                        log_error("store: %s: migration to schema version %d failed", path, v);
                        return r;
                }
        }
        return 0;
}

static int store_open_impl(const char *path, int target, Store **ret) {
        _cleanup_(store_closep) Store *s = NULL;
        int rc, r;

        r = store_prepare_file(path);
        if (r < 0)
                return r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                log_error("store: %s: %s", path,
                        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
                return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
        }
        r = store_configure(s, path);
        if (r < 0)
                return r;
        r = store_migrate(s, path, target);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int store_open_at_version(const char *path, int target, Store **ret) {
        mode_t old_umask;
        int r;

        if (!path || !ret || target < 0 || target > STORE_SCHEMA_VERSION)
                return -EINVAL;

        /* Whatever SQLite creates while we set up (-wal, -shm) is ours only. */
        old_umask = umask(0077);
        r = store_open_impl(path, target, ret);
        umask(old_umask);
        return r;
}

int store_open(const char *path, Store **ret) {
        return store_open_at_version(path, STORE_SCHEMA_VERSION, ret);
}

void store_close(Store *s) {
        if (!s)
                return;
        for (size_t i = 0; i < STORE_STMT_CACHE; i++)
                sqlite3_finalize(s->stmts[i].stmt);
        if (s->db && sqlite3_close(s->db) != SQLITE_OK)
                log_error("store: close: %s", sqlite3_errmsg(s->db));
        free(s);
}

int store_schema_version(Store *s) {
        int v, r;

        r = store_version_read(s, &v);
        return r < 0 ? r : v;
}

/* ---- accounts ---- */

void store_account_free(StoreAccount *a) {
        if (!a)
                return;
        free(a->id);
        free(a->uid);
        free(a->username);
        erase_and_free(a->password_hash);
        free(a->status);
        free(a->name);
        free(a->identity);
        free(a);
}

void store_ids_done(StoreIds *ids) {
        if (!ids)
                return;
        free(ids->uid);
        free(ids->contact_id);
        free(ids->account_id);
        *ids = (StoreIds) {};
}

/* The contact confirmed is the one of the person's identity: that is where
 * the confirmation mail went. */
#define STORE_ACCOUNT_SELECT                                                    \
        "SELECT a.id, a.uid, a.username, a.password, a.status, p.name,"        \
        " p.identity, a.must_change, a.is_admin,"                               \
        " (SELECT COUNT(*) FROM contacts c WHERE c.uid = a.uid"                 \
        "   AND c.info = p.identity AND c.status = 'active'),"                  \
        " a.failures, a.first_failure, a.locked_until, a.last_login"            \
        " FROM accounts a JOIN people p ON p.id = a.uid WHERE "

static int store_account_read(sqlite3_stmt *stmt, StoreAccount **ret) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        int r;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        char **text[] = { &a->id, &a->uid, &a->username, &a->password_hash,
                          &a->status, &a->name, &a->identity };
        for (size_t i = 0; i < ELEMENTSOF(text); i++) {
                r = store_column_dup(stmt, (int) i, text[i]);
                if (r < 0)
                        return r;
        }
        a->must_change = sqlite3_column_int64(stmt, 7) != 0;
        a->is_admin = sqlite3_column_int64(stmt, 8) != 0;
        a->contact_confirmed = sqlite3_column_int64(stmt, 9) != 0;
        a->failures = sqlite3_column_int64(stmt, 10);
        a->first_failure = sqlite3_column_int64(stmt, 11);
        a->locked_until = sqlite3_column_int64(stmt, 12);
        a->last_login = sqlite3_column_int64(stmt, 13);
        *ret = TAKE_PTR(a);
        return 0;
}

static int store_account_lookup(Store *s, const char *sql, const char *key, StoreAccount **ret) {
        _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
        int r;

        if (!s || !key || !ret)
                return -EINVAL;
        r = store_query(s, &stmt, sql, "s", key);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        return store_account_read(stmt, ret);
}

int store_account_by_username(Store *s, const char *username, StoreAccount **ret) {
        return store_account_lookup(s, STORE_ACCOUNT_SELECT "a.username = ?", username, ret);
}

int store_account_by_uid(Store *s, const char *uid, StoreAccount **ret) {
        return store_account_lookup(s, STORE_ACCOUNT_SELECT "a.uid = ?", uid, ret);
}

int store_account_by_identity(Store *s, const char *identity, StoreAccount **ret) {
        return store_account_lookup(s, STORE_ACCOUNT_SELECT "p.identity = ?", identity, ret);
}

static int store_token_insert(Store *s, const char *token_hash, const char *uid,
                              const char *purpose, int64_t expires, int64_t now) {
        int r;

        r = store_run(s, "INSERT INTO tokens (hash, uid, purpose, created, expires, used)"
                         " VALUES (?, ?, ?, ?, ?, NULL)",
                      "sssii", token_hash, uid, purpose, now, expires);
        return r < 0 ? r : 0;
}

static int store_account_insert(Store *s, const char *account_id, const char *uid,
                                const char *username, int64_t now) {
        int r;

        /* No password yet, so it must be set (through the confirmation
         * token) before the first login. */
        r = store_run(s, "INSERT INTO accounts (id, uid, username, password, must_change,"
                         " status, is_admin, created, last_login)"
                         " VALUES (?, ?, ?, NULL, 1, 'active', 0, ?, 0)",
                      "sssi", account_id, uid, username, now);
        return r < 0 ? r : 0;
}

static int store_register_rows(Store *s, const StoreRegistration *reg, const StoreIds *ids) {
        int r;

        r = store_run(s, "INSERT INTO people (id, name, identity, picture, created)"
                         " VALUES (?, ?, ?, ?, ?)",
                      "ssssi", ids->uid, reg->name, reg->identity,
                      reg->picture ? reg->picture : "", reg->now);
        if (r < 0)
                return r;
        r = store_run(s, "INSERT INTO contacts (id, uid, type, info, status, created)"
                         " VALUES (?, ?, 'email', ?, 'unconfirmed', ?)",
                      "sssi", ids->contact_id, ids->uid, reg->identity, reg->now);
        if (r < 0)
                return r;
        r = store_account_insert(s, ids->account_id, ids->uid, reg->username, reg->now);
        if (r < 0)
                return r;
        if (!reg->token_hash)
                return 0;
        return store_token_insert(s, reg->token_hash, ids->uid, SAUTH_TOKEN_CONFIRM,
                                  reg->token_expires, reg->now);
}

static char *store_id_new(void) {
        char *id = malloc(STORE_ID_SIZE);

        if (id)
                id_new(id);
        return id;
}

int store_register(Store *s, const StoreRegistration *reg, StoreIds *ret) {
        _cleanup_(store_ids_done) StoreIds ids = {};
        int r;

        if (!s || !reg || !ret || isempty(reg->identity) || isempty(reg->username) || !reg->name)
                return -EINVAL;

        ids.uid = store_id_new();
        ids.contact_id = store_id_new();
        ids.account_id = store_id_new();
        if (!ids.uid || !ids.contact_id || !ids.account_id)
                return -ENOMEM;

        r = store_begin(s);
        if (r < 0)
                return r;
        r = store_end(s, store_register_rows(s, reg, &ids));
        if (r < 0)
                return r;
        *ret = ids;
        ids = (StoreIds) {}; /* handed over to the caller */
        return 0;
}

static int store_account_add_rows(Store *s, const char *uid, const char *username, const char *account_id,
                                  const char *token_hash, int64_t token_expires, int64_t now) {
        int64_t n;
        int r;

        r = store_query_int64(s, &n, "SELECT COUNT(*) FROM people WHERE id = ?", "s", uid);
        if (r < 0)
                return r;
        if (n == 0)
                return -ENOENT;
        r = store_account_insert(s, account_id, uid, username, now);
        if (r < 0 || !token_hash)
                return r;
        return store_token_insert(s, token_hash, uid, SAUTH_TOKEN_CONFIRM, token_expires, now);
}

int store_account_add(Store *s, const char *uid, const char *username,
                      const char *token_hash, int64_t token_expires, int64_t now,
                      char **ret_account_id) {
        _cleanup_free_ char *id = NULL;
        int r;

        if (!s || isempty(uid) || isempty(username) || !ret_account_id)
                return -EINVAL;
        id = store_id_new();
        if (!id)
                return -ENOMEM;

        r = store_begin(s);
        if (r < 0)
                return r;
        r = store_end(s, store_account_add_rows(s, uid, username, id, token_hash, token_expires, now));
        if (r < 0)
                return r;
        *ret_account_id = TAKE_PTR(id);
        return 0;
}

/* ---- tokens ---- */

int store_token_add(Store *s, const char *token_hash, const char *uid,
                    const char *purpose, int64_t expires, int64_t now) {
        if (!s || isempty(token_hash) || isempty(uid) || isempty(purpose))
                return -EINVAL;
        return store_token_insert(s, token_hash, uid, purpose, expires, now);
}

int store_token_check(Store *s, const char *token_hash, const char *uid,
                      int64_t now, char **ret_purpose) {
        _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
        int r;

        if (!s)
                return -EINVAL;
        if (isempty(token_hash) || isempty(uid))
                return -EKEYREJECTED;
        r = store_query(s, &stmt,
                        "SELECT purpose FROM tokens"
                        " WHERE hash = ? AND uid = ? AND used IS NULL AND expires > ?",
                        "ssi", token_hash, uid, now);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r <= 0)
                return r < 0 ? r : -EKEYREJECTED;
        if (!ret_purpose)
                return 0;
        r = store_column_dup(stmt, 0, ret_purpose);
        return r;
}

int store_token_count_since(Store *s, const char *uid, const char *purpose,
                            int64_t since, unsigned *ret) {
        int64_t n;
        int r;

        if (!s || !uid || !purpose || !ret)
                return -EINVAL;
        r = store_query_int64(s, &n,
                              "SELECT COUNT(*) FROM tokens WHERE uid = ? AND purpose = ? AND created >= ?",
                              "ssi", uid, purpose, since);
        if (r < 0)
                return r;
        *ret = n > UINT_MAX ? UINT_MAX : (unsigned) n;
        return 0;
}

/* ---- passwords ---- */

/* Inside the password transaction: the token must still be valid for this
 * uid and of a purpose that may set a password; it is spent here, and a
 * confirmation token confirms the contact it was mailed to. */
static int store_token_consume(Store *s, const StorePasswordChange *chg) {
        _cleanup_free_ char *purpose = NULL;
        int r;

        r = store_token_check(s, chg->token_hash, chg->uid, chg->now, &purpose);
        if (r < 0)
                return r;
        if (!purpose || (!streq(purpose, SAUTH_TOKEN_CONFIRM) && !streq(purpose, SAUTH_TOKEN_RESET)))
                return -EKEYREJECTED;
        r = store_run(s, "UPDATE tokens SET used = ? WHERE hash = ? AND uid = ? AND used IS NULL",
                      "iss", chg->now, chg->token_hash, chg->uid);
        if (r < 0)
                return r;
        if (r != 1)
                return -EKEYREJECTED;
        if (!streq(purpose, SAUTH_TOKEN_CONFIRM))
                return 0;
        r = store_run(s, "UPDATE contacts SET status = 'active'"
                         " WHERE uid = ? AND info = (SELECT identity FROM people WHERE id = ?)",
                      "ss", chg->uid, chg->uid);
        return r < 0 ? r : 0;
}

/* Moves the current hash (if any) into the history and keeps the newest
 * 'history' entries. */
static int store_history_push(Store *s, const char *account_id, unsigned history, int64_t now) {
        int r;

        if (history == 0) {
                r = store_run(s, "DELETE FROM password_history WHERE account_id = ?", "s", account_id);
                return r < 0 ? r : 0;
        }
        r = store_run(s, "INSERT INTO password_history (account_id, seq, hash, created)"
                         " SELECT a.id, (SELECT COALESCE(MAX(h.seq), 0) + 1 FROM password_history h"
                         "               WHERE h.account_id = a.id), a.password, ?"
                         " FROM accounts a WHERE a.id = ? AND a.password IS NOT NULL",
                      "is", now, account_id);
        if (r < 0)
                return r;
        r = store_run(s, "DELETE FROM password_history WHERE account_id = ? AND seq <="
                         " (SELECT MAX(h.seq) FROM password_history h WHERE h.account_id = ?) - ?",
                      "ssi", account_id, account_id, (int64_t) history);
        return r < 0 ? r : 0;
}

static int store_set_password_rows(Store *s, const StorePasswordChange *chg) {
        _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
        const unsigned char *owner;
        int r;

        /* Takes the account row's write lock first. A no-op for SQLite,
         * whose BEGIN IMMEDIATE holds the whole database; on PostgreSQL it
         * serializes changes of one account, so that the history's
         * seq = MAX + 1 below cannot collide. */
        r = store_run(s, "UPDATE accounts SET must_change = must_change WHERE id = ?", "s", chg->account_id);
        if (r < 0)
                return r;
        r = store_query(s, &stmt, "SELECT uid FROM accounts WHERE id = ?", "s", chg->account_id);
        if (r < 0)
                return r;
        r = store_step(s, stmt);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        owner = sqlite3_column_text(stmt, 0);
        if (chg->uid && (!owner || !streq((const char *) owner, chg->uid)))
                /* A token for one person never sets another's password. */
                return chg->token_hash ? -EKEYREJECTED : -ENOENT;

        if (chg->token_hash) {
                r = store_token_consume(s, chg);
                if (r < 0)
                        return r;
        }
        r = store_history_push(s, chg->account_id, chg->history, chg->now);
        if (r < 0)
                return r;
        /* A new password ends every other reset or confirmation token of
         * the person: an old mail must not undo the change. */
        r = store_run(s, "UPDATE tokens SET used = ? WHERE used IS NULL"
                         " AND uid = (SELECT uid FROM accounts WHERE id = ?)",
                      "is", chg->now, chg->account_id);
        if (r < 0)
                return r;
        r = store_run(s, "UPDATE accounts SET password = ?, must_change = 0, failures = 0,"
                         " first_failure = 0, locked_until = 0 WHERE id = ?",
                      "ss", chg->new_hash, chg->account_id);
        return r < 0 ? r : 0;
}

int store_set_password(Store *s, const StorePasswordChange *chg) {
        int r;

        if (!s || !chg || isempty(chg->account_id) || isempty(chg->new_hash))
                return -EINVAL;
        if (chg->token_hash && isempty(chg->uid))
                return -EKEYREJECTED;

        r = store_begin(s);
        if (r < 0)
                return r;
        return store_end(s, store_set_password_rows(s, chg));
}

int store_password_history(Store *s, const char *account_id, unsigned max, char ***ret) {
        _cleanup_stmt_ sqlite3_stmt *stmt = NULL;
        _cleanup_strv_erase_ char **l = NULL;
        size_t n = 0;
        int r;

        if (!s || !account_id || !ret)
                return -EINVAL;
        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        r = store_query(s, &stmt, "SELECT hash FROM password_history WHERE account_id = ?"
                                  " ORDER BY seq DESC LIMIT ?",
                        "si", account_id, (int64_t) max);
        if (r < 0)
                return r;
        while ((r = store_step(s, stmt)) > 0) {
                char **m = realloc(l, (n + 2) * sizeof *l);
                if (!m)
                        return -ENOMEM;
                l = m;
                l[n + 1] = NULL;
                r = store_column_dup(stmt, 0, &l[n]);
                if (r < 0)
                        return r;
                if (l[n])
                        n++;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int store_rehash(Store *s, const char *account_id, const char *old_hash, const char *new_hash) {
        int r;

        if (!s || !account_id || isempty(old_hash) || isempty(new_hash))
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET password = ? WHERE id = ? AND password = ?",
                      "sss", new_hash, account_id, old_hash);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

/* ---- lockout ---- */

/* Like pam_faillock: failures count inside a window of fail_interval
 * seconds from the first one; a lock that has run out starts afresh.
 * Each step is one UPDATE computed from the row's own values, so that
 * concurrent writers (a shared PostgreSQL store) never lose a count. */
static int store_failure_rows(Store *s, const char *account_id, int64_t now,
                              unsigned deny, int64_t fail_interval, int64_t unlock_time) {
        int64_t failures, locked;
        int r;

        r = store_run(s, "UPDATE accounts SET"
                         " failures = CASE WHEN first_failure = 0 OR ? - first_failure > ?"
                         "   OR (locked_until <> 0 AND locked_until <= ?) THEN 1 ELSE failures + 1 END,"
                         " first_failure = CASE WHEN first_failure = 0 OR ? - first_failure > ?"
                         "   OR (locked_until <> 0 AND locked_until <= ?) THEN ? ELSE first_failure END,"
                         " locked_until = CASE WHEN locked_until <> 0 AND locked_until <= ? THEN 0"
                         "   ELSE locked_until END"
                         " WHERE id = ?",
                      "iiiiiiiis", now, fail_interval, now, now, fail_interval, now, now, now, account_id);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;

        if (deny > 0) {
                if (__builtin_add_overflow(now, unlock_time, &locked))
                        locked = INT64_MAX;
                r = store_run(s, "UPDATE accounts SET locked_until = ? WHERE id = ? AND failures >= ?",
                              "isi", locked, account_id, (int64_t) deny);
                if (r < 0)
                        return r;
        }
        r = store_query_int64(s, &failures, "SELECT failures FROM accounts WHERE id = ?", "s", account_id);
        if (r < 0)
                return r;
        return failures > INT_MAX ? INT_MAX : (int) failures;
}

int store_record_failure(Store *s, const char *account_id, int64_t now,
                         unsigned deny, int64_t fail_interval, int64_t unlock_time) {
        int r;

        if (!s || !account_id)
                return -EINVAL;
        r = store_begin(s);
        if (r < 0)
                return r;
        return store_end(s, store_failure_rows(s, account_id, now, deny, fail_interval, unlock_time));
}

int store_record_success(Store *s, const char *account_id, int64_t now) {
        int r;

        if (!s || !account_id)
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET failures = 0, first_failure = 0, locked_until = 0,"
                         " last_login = ? WHERE id = ?",
                      "is", now, account_id);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

/* ---- administration ---- */

int store_set_status(Store *s, const char *username, const char *status) {
        int r;

        if (!s || !username || !status)
                return -EINVAL;
        if (!streq(status, SAUTH_STATUS_ACTIVE) && !streq(status, SAUTH_STATUS_DISABLED))
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET status = ? WHERE username = ?", "ss", status, username);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

int store_set_admin(Store *s, const char *username, bool admin) {
        int r;

        if (!s || !username)
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET is_admin = ? WHERE username = ?",
                      "is", (int64_t) admin, username);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

int store_set_must_change(Store *s, const char *username, bool must_change) {
        int r;

        if (!s || !username)
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET must_change = ? WHERE username = ?",
                      "is", (int64_t) must_change, username);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}
