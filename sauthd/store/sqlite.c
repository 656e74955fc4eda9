/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "fsutil.h"
#include "log.h"
#include "util.h"

/*
 * The SQLite driver: the only file of the daemon that includes sqlite3.h.
 * Everything SQLite-specific lives here: the file's mode, the PRAGMAs, the
 * busy timeout, BEGIN IMMEDIATE, the statement cache and the mapping of
 * result codes to errno.
 */

/* Statements are prepared once and kept, keyed by the address of their SQL
 * text (every statement of the store is a string literal), then reset after
 * each use: preparing is most of the cost of a short query. */
#define SQLITE_STMT_CACHE 128
#define SQLITE_BUSY_TIMEOUT_MS 5000

struct StoreConn {
        sqlite3 *db;
        struct {
                const char *sql;
                sqlite3_stmt *stmt;
        } stmts[SQLITE_STMT_CACHE];
};

/* A StoreStmt is an sqlite3_stmt under another name: no wrapper to
 * allocate, and the statement knows its connection. */
static inline sqlite3_stmt *stmt_of(StoreStmt *st) {
        return (sqlite3_stmt *) st;
}

static inline void stmt_finalizep(sqlite3_stmt **stmt) {
        sqlite3_finalize(*stmt);        /* takes NULL */
}

/* Maps an SQLite result code to an errno. Expected conflicts are not logged;
 * everything else is, with SQLite's message, which names tables and
 * columns but never the values bound to a statement. */
static int sqlite_fail(sqlite3 *db, int rc, const char *what) {
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
                log_error("store: %s: %s", what, sqlite3_errmsg(db));
                return -EINVAL;
        default:
                log_error("store: %s: %s", what, sqlite3_errmsg(db));
                /* Extended codes are on: SQLITE_BUSY_* share the low byte.
                 * Another connection held the lock past busy_timeout. */
                return (rc & 0xff) == SQLITE_BUSY ? -ETIMEDOUT : -EIO;
        }
}

static int sqlite_exec(StoreConn *c, const char *sql) {
        const char *tail = sql;

        while (*tail) {
                _cleanup_(stmt_finalizep) sqlite3_stmt *stmt = NULL;
                const char *next = NULL;
                int rc;

                rc = sqlite3_prepare_v3(c->db, tail, -1, 0, &stmt, &next);
                if (rc != SQLITE_OK)
                        return sqlite_fail(c->db, rc, "prepare");
                if (!stmt) /* only whitespace or a comment was left */
                        break;
                do
                        rc = sqlite3_step(stmt);
                while (rc == SQLITE_ROW);
                if (rc != SQLITE_DONE)
                        return sqlite_fail(c->db, rc, "exec");
                tail = next;
        }
        return 0;
}

static int sqlite_prepare(StoreConn *c, const char *sql, StoreStmt **ret) {
        size_t i;
        int rc;

        for (i = 0; i < SQLITE_STMT_CACHE && c->stmts[i].sql; i++)
                if (c->stmts[i].sql == sql) {
                        *ret = (StoreStmt *) c->stmts[i].stmt;
                        return 0;
                }
        if (i == SQLITE_STMT_CACHE) {
                /* More distinct statements than the store has: a bug. */
                log_error("store: statement cache full");
                return -E2BIG;
        }
        rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[i].stmt, NULL);
        if (rc != SQLITE_OK)
                return sqlite_fail(c->db, rc, "prepare");
        c->stmts[i].sql = sql;
        *ret = (StoreStmt *) c->stmts[i].stmt;
        return 0;
}

static int sqlite_bind_text(StoreStmt *st, unsigned idx, const char *value) {
        sqlite3_stmt *stmt = stmt_of(st);
        int rc;

        if (idx > INT_MAX)
                return -EINVAL;
        rc = sqlite3_bind_text(stmt, (int) idx, value, -1, SQLITE_STATIC);
        return rc == SQLITE_OK ? 0 : sqlite_fail(sqlite3_db_handle(stmt), rc, "bind");
}

static int sqlite_bind_int64(StoreStmt *st, unsigned idx, int64_t value) {
        sqlite3_stmt *stmt = stmt_of(st);
        int rc;

        if (idx > INT_MAX)
                return -EINVAL;
        rc = sqlite3_bind_int64(stmt, (int) idx, value);
        return rc == SQLITE_OK ? 0 : sqlite_fail(sqlite3_db_handle(stmt), rc, "bind");
}

static int sqlite_bind_null(StoreStmt *st, unsigned idx) {
        sqlite3_stmt *stmt = stmt_of(st);
        int rc;

        if (idx > INT_MAX)
                return -EINVAL;
        rc = sqlite3_bind_null(stmt, (int) idx);
        return rc == SQLITE_OK ? 0 : sqlite_fail(sqlite3_db_handle(stmt), rc, "bind");
}

static int sqlite_step(StoreStmt *st) {
        sqlite3_stmt *stmt = stmt_of(st);
        int rc = sqlite3_step(stmt);

        if (rc == SQLITE_ROW)
                return 1;
        if (rc == SQLITE_DONE)
                return 0;
        return sqlite_fail(sqlite3_db_handle(stmt), rc, "step");
}

static bool sqlite_column_is_null(StoreStmt *st, unsigned col) {
        return col > INT_MAX || sqlite3_column_type(stmt_of(st), (int) col) == SQLITE_NULL;
}

static int sqlite_column_text(StoreStmt *st, unsigned col, const char **ret) {
        const unsigned char *t;

        if (sqlite_column_is_null(st, col)) {
                *ret = NULL;
                return 0;
        }
        /* NULL for a value that is not NULL: the conversion ran out of
         * memory. */
        t = sqlite3_column_text(stmt_of(st), (int) col);
        if (!t)
                return -ENOMEM;
        *ret = (const char *) t;
        return 0;
}

static int64_t sqlite_column_int64(StoreStmt *st, unsigned col) {
        return col > INT_MAX ? 0 : sqlite3_column_int64(stmt_of(st), (int) col);
}

static int sqlite_changes(StoreConn *c) {
        return sqlite3_changes(c->db);
}

static void sqlite_reset(StoreStmt *st) {
        if (!st)
                return;
        sqlite3_reset(stmt_of(st));
        sqlite3_clear_bindings(stmt_of(st));
}

/* IMMEDIATE takes the write lock at BEGIN rather than at the first write.
 * Every transaction of the store that reads and then writes (a token
 * checked then spent, a failure counted then compared with deny) relies on
 * that: nobody can write in between. */
static int sqlite_begin(StoreConn *c) {
        return sqlite_exec(c, "BEGIN IMMEDIATE");
}

static int sqlite_commit(StoreConn *c) {
        return sqlite_exec(c, "COMMIT");
}

static int sqlite_rollback(StoreConn *c) {
        /* Some errors (I/O, full disk) roll back by themselves. */
        if (sqlite3_get_autocommit(c->db))
                return 0;
        return sqlite_exec(c, "ROLLBACK");
}

/* Runs a cached query whose single row holds one integer; -ENOENT for no
 * row. */
static int sqlite_query_int64(StoreConn *c, const char *sql, int64_t *ret) {
        StoreStmt *st = NULL;
        int r;

        r = sqlite_prepare(c, sql, &st);
        if (r < 0)
                return r;
        r = sqlite_step(st);
        if (r > 0)
                *ret = sqlite_column_int64(st, 0);
        sqlite_reset(st);
        return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

static int sqlite_schema_init(StoreConn *c) {
        return sqlite_exec(c, "CREATE TABLE IF NOT EXISTS schema_version ("
                              " version INTEGER PRIMARY KEY,"
                              " applied BIGINT NOT NULL)");
}

static int sqlite_schema_version_get(StoreConn *c, int *ret) {
        int64_t v;
        int r;

        r = sqlite_query_int64(c, "SELECT COALESCE(MAX(version), 0) FROM schema_version", &v);
        if (r < 0)
                return r;
        if (v < 0 || v > INT_MAX)
                return -EIO;
        *ret = (int) v;
        return 0;
}

static int sqlite_schema_version_set(StoreConn *c, int version, int64_t applied) {
        StoreStmt *st = NULL;
        int r;

        r = sqlite_prepare(c, "INSERT INTO schema_version (version, applied) VALUES (?, ?)", &st);
        if (r < 0)
                return r;
        r = sqlite_bind_int64(st, 1, version);
        if (r >= 0)
                r = sqlite_bind_int64(st, 2, applied);
        if (r >= 0)
                r = sqlite_step(st);
        sqlite_reset(st);
        return r < 0 ? r : 0;
}

/* ---- opening ---- */

/* Creates the file 0600 before SQLite sees it, so the database is never
 * readable by others whatever the umask, and refuses one that others may
 * write. A file others may read is tightened: SQLite gives its -wal and
 * -shm files the database's mode. */
static int sqlite_prepare_file(const char *path) {
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
static int sqlite_tighten_sidecar(const char *path, const char *suffix) {
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

static int sqlite_journal_wal(StoreConn *c, const char *path) {
        _cleanup_(stmt_finalizep) sqlite3_stmt *stmt = NULL;
        const unsigned char *mode = NULL;
        int rc;

        rc = sqlite3_prepare_v3(c->db, "PRAGMA journal_mode = WAL", -1, 0, &stmt, NULL);
        if (rc != SQLITE_OK)
                return sqlite_fail(c->db, rc, "prepare");
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
                mode = sqlite3_column_text(stmt, 0);
        else if (rc != SQLITE_DONE)
                return sqlite_fail(c->db, rc, "step");
        if (!mode || strcmp((const char *) mode, "wal") != 0) {
                log_error("store: %s: cannot switch to WAL journal mode", path);
                return -EIO;
        }
        return 0;
}

static int sqlite_configure(StoreConn *c, const char *path) {
        int r;

        sqlite3_extended_result_codes(c->db, 1);
        sqlite3_busy_timeout(c->db, SQLITE_BUSY_TIMEOUT_MS);
        /* No writable_schema tricks, no functions run from schema content. */
        sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);

        /* synchronous=FULL with WAL: a committed transaction survives a
         * power cut. secure_delete: spent tokens and old hashes are zeroed
         * in the file, not left in free pages. */
        r = sqlite_exec(c, "PRAGMA foreign_keys = ON;"
                           "PRAGMA synchronous = FULL;"
                           "PRAGMA secure_delete = ON;");
        if (r < 0)
                return r;
        r = sqlite_journal_wal(c, path);
        if (r < 0)
                return r;
        r = sqlite_tighten_sidecar(path, "-wal");
        if (r >= 0)
                r = sqlite_tighten_sidecar(path, "-shm");
        if (r < 0)
                log_error("store: %s: cannot secure -wal/-shm files: %s", path, strerror(-r));
        return r;
}

static void sqlite_close(StoreConn *c) {
        if (!c)
                return;
        for (size_t i = 0; i < SQLITE_STMT_CACHE; i++)
                sqlite3_finalize(c->stmts[i].stmt);
        if (c->db && sqlite3_close(c->db) != SQLITE_OK)
                log_error("store: close: %s", sqlite3_errmsg(c->db));
        free(c);
}

static inline void sqlite_closep(StoreConn **c) {
        sqlite_close(*c);
}

static int sqlite_open(const char *path, StoreConn **ret) {
        _cleanup_(sqlite_closep) StoreConn *c = NULL;
        int rc, r;

        if (!path || !ret)
                return -EINVAL;
        r = sqlite_prepare_file(path);
        if (r < 0)
                return r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                log_error("store: %s: %s", path,
                        c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
                return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
        }
        r = sqlite_configure(c, path);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

const StoreDriver store_driver_sqlite = {
        .name = "sqlite",
        .open = sqlite_open,
        .close = sqlite_close,
        .exec = sqlite_exec,
        .prepare = sqlite_prepare,
        .bind_text = sqlite_bind_text,
        .bind_int64 = sqlite_bind_int64,
        .bind_null = sqlite_bind_null,
        .step = sqlite_step,
        .column_is_null = sqlite_column_is_null,
        .column_text = sqlite_column_text,
        .column_int64 = sqlite_column_int64,
        .changes = sqlite_changes,
        .reset = sqlite_reset,
        .begin = sqlite_begin,
        .commit = sqlite_commit,
        .rollback = sqlite_rollback,
        .schema_init = sqlite_schema_init,
        .schema_version_get = sqlite_schema_version_get,
        .schema_version_set = sqlite_schema_version_set,
};
