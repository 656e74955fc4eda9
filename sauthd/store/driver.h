/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * The seam between the store and a database engine. store.c and the domain
 * files (accounts.c, passwords.c, tokens.c, lockout.c) see only this: typed
 * values in, typed values out, negative errno for every failure. Each
 * driver (sqlite.c now, PostgreSQL later) is one file and the only one
 * that includes its engine's headers.
 *
 * Errors: -EEXIST a uniqueness conflict, -ENOENT a reference to a row that
 * is not there, -EINVAL a CHECK or NOT NULL constraint, -ENOMEM,
 * -ETIMEDOUT a lock not got within the driver's busy timeout, -EIO
 * anything else. A driver logs what it returns, except -EEXIST, -ENOENT
 * and -ENOMEM (expected, or nothing useful to say), and never logs a
 * bound value.
 *
 * SQL given to prepare() and exec() uses '?' placeholders, numbered from 1
 * in order; a driver whose engine spells them otherwise rewrites them.
 */

typedef struct StoreConn StoreConn;     /* one connection, driver-defined */
typedef struct StoreStmt StoreStmt;     /* one prepared statement, driver-defined */
typedef struct StoreWatch StoreWatch;   /* a connection that listens for changes */

typedef struct StoreDriver {
        const char *name;
        /* The database is across a network (PostgreSQL): its calls may
         * wait on it, so they do not belong on the event loop. */
        bool remote;

        /* Opens the database at path (for SQLite a file, made 0600 and
         * refused if group or other may write it). */
        int (*open)(const char *path, StoreConn **ret);
        /* Optional: open() with every wait on the database bounded by
         * timeout_ms (0: the driver's default). */
        int (*open_timeout)(const char *target, unsigned timeout_ms, StoreConn **ret);
        /* Optional: c is another connection to first's database (a store
         * worker's); they share what they learn of the server's health. */
        void (*join)(StoreConn *c, StoreConn *first);
        /* Takes NULL. Finalizes every cached statement. */
        void (*close)(StoreConn *c);

        /* Constant SQL, one or more statements, no parameters; rows are
         * ignored. For DDL and migration steps. */
        int (*exec)(StoreConn *c, const char *sql);

        /* The statement for sql, prepared on first use and cached by the
         * address of sql: pass string literals only. The statement belongs
         * to the connection; hand it back with reset() after each use. */
        int (*prepare)(StoreConn *c, const char *sql, StoreStmt **ret);

        /* Parameters are numbered from 1. Text is not copied: it must stay
         * valid until reset(). */
        int (*bind_text)(StoreStmt *st, unsigned idx, const char *value);
        int (*bind_int64)(StoreStmt *st, unsigned idx, int64_t value);
        int (*bind_null)(StoreStmt *st, unsigned idx);

        /* 1 for a row, 0 when done, negative errno on error. */
        int (*step)(StoreStmt *st);

        /* Columns of the current row, numbered from 0. column_text() gives
         * NULL for SQL NULL, borrowed until the next step() or reset(). */
        bool (*column_is_null)(StoreStmt *st, unsigned col);
        int (*column_text)(StoreStmt *st, unsigned col, const char **ret);
        int64_t (*column_int64)(StoreStmt *st, unsigned col);

        /* Rows changed by the last statement that finished on c. */
        int (*changes)(StoreConn *c);

        /* Ends a use of the statement: drops its row, its locks and its
         * bindings (which may point at a caller's secret). Takes NULL. */
        void (*reset)(StoreStmt *st);

        /* A write transaction: begin() takes the write lock up front, so a
         * transaction that reads and then writes waits (up to the busy
         * timeout) instead of failing half way. rollback() is a no-op when
         * no transaction is open (some errors end one by themselves). */
        int (*begin)(StoreConn *c);
        int (*commit)(StoreConn *c);
        int (*rollback)(StoreConn *c);

        /* The schema version: schema_init() creates what records it if
         * missing (outside a transaction); schema_version_get() gives the
         * highest version applied, 0 for a new database;
         * schema_version_set() records one more step at time 'applied',
         * inside the step's transaction. */
        int (*schema_init)(StoreConn *c);
        int (*schema_version_get)(StoreConn *c, int *ret);
        int (*schema_version_set)(StoreConn *c, int version, int64_t applied);

        /* Optional, for a database several daemons share: held from before
         * schema_init() until the migrations are done, so that of daemons
         * starting together one migrates and the others find it done. */
        int (*migrate_lock)(StoreConn *c);
        int (*migrate_unlock)(StoreConn *c);

        /* Optional, for a database several daemons share: the change
         * feed. notify() tells every listener (this host's too) the
         * payload, at the commit of the transaction it is in, at once
         * outside one. watch_open() opens a second connection to the same
         * database that listens; its fd becomes readable when payloads
         * came; watch_read() hands each to fn without waiting, and fails
         * (-EIO) once the connection is lost: the caller reopens it and,
         * as payloads sent meanwhile are lost, reloads what it caches. */
        int (*notify)(StoreConn *c, const char *payload);
        int (*watch_open)(StoreConn *c, StoreWatch **ret);
        int (*watch_fd)(StoreWatch *w);
        int (*watch_read)(StoreWatch *w, void (*fn)(const char *payload, void *userdata), void *userdata);
        void (*watch_close)(StoreWatch *w);
} StoreDriver;

/* A driver calls these around every wait on the network (store.h,
 * store_set_wait_hooks()): the thread lets the daemon run meanwhile. */
void store_wait_begin(void);
void store_wait_end(void);

extern const StoreDriver store_driver_sqlite;
extern const StoreDriver store_driver_postgresql;
