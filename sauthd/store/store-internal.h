/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "driver.h"
#include "store.h"
#include "util.h"

/*
 * Shared by store.c and the domain files (accounts.c, passwords.c,
 * tokens.c, lockout.c), never included outside sauthd/store/. The helpers
 * below are the only way a domain file reaches the driver: constant SQL
 * with '?' placeholders, values bound from a type string, rows read
 * through a StoreCursor. Every error they return is one the callers of
 * store.h already know (see store_errno()).
 */

struct Store {
        const StoreDriver *driver;
        StoreConn *conn;        /* opening, migrating, shutdown; SQLite: everything */
        StoreConn **workers;    /* remote: one per store worker thread (store_thread_bind()) */
        unsigned n_workers;
        bool loop_forbidden;    /* store_forbid_unbound(): calls need a bound thread */
        bool strict;            /* ...or abort (SAUTH_STORE_STRICT=1, tests) */
};

/* The connection this thread uses: its own when it is a store worker
 * (store_thread_bind()), else the store's first. */
StoreConn *store_conn(Store *s);

/* One use of a prepared statement. Declare it with _cleanup_cursor_ so
 * the statement is reset (row, lock and bindings dropped) on every path. */
typedef struct StoreCursor {
        const StoreDriver *driver;
        StoreStmt *stmt;
} StoreCursor;

static inline void store_cursor_done(StoreCursor *q) {
        if (q->stmt)
                q->driver->reset(q->stmt);
        q->stmt = NULL;
}
#define _cleanup_cursor_ _cleanup_(store_cursor_done)

#define STORE_ID_SIZE 19                /* id_new(): "x-" + 16 hex + NUL */

/* A new object id, or NULL when out of memory. */
char *store_id_new(void);

/* Types: 's' a const char * (NULL binds SQL NULL), 'i' an int64_t —
 * callers cast, never pass int. */

/* Prepares sql and binds its parameters; the caller steps. */
int store_query(Store *s, StoreCursor *q, const char *sql, const char *types, ...);
/* 1 for a row, 0 when done, negative errno on error. */
int store_step(Store *s, StoreCursor *q);
/* Runs one statement that returns no rows; returns the rows it changed. */
int store_run(Store *s, const char *sql, const char *types, ...);
/* Runs a query whose single row holds one integer; -ENOENT for no row. */
int store_query_int64(Store *s, int64_t *ret, const char *sql, const char *types, ...);

/* Columns of the cursor's current row, numbered from 0. */
int store_column_dup(StoreCursor *q, unsigned col, char **ret);       /* NULL for SQL NULL */
int store_column_text(StoreCursor *q, unsigned col, const char **ret); /* borrowed */
int64_t store_column_int64(StoreCursor *q, unsigned col);

/* A write transaction: store_begin() takes the write lock at once (on
 * SQLite, BEGIN IMMEDIATE), so whatever the transaction reads cannot
 * change before it writes. store_end() commits if r >= 0, else rolls back;
 * it returns r, or the error of a failed commit. */
int store_begin(Store *s);
int store_end(Store *s, int r);

/* Tells the other hosts sharing the store that something they may cache
 * changed: kind and id as store_change_fn gets them. Inside a transaction
 * it goes out at the commit (and not at all on a rollback). A no-op on a
 * store only one host uses. */
#define STORE_CHANGE_MAX 128
int store_changed(Store *s, const char *kind, const char *id);
/* Whether other hosts may share the store (a change feed exists): what is
 * read only to name a change is not read otherwise. */
static inline bool store_shared(Store *s) {
        return s->driver->notify != NULL;
}

/* Domain helpers used by more than one domain file. */
int store_token_insert(Store *s, const char *token_hash, const char *uid,
                       const char *purpose, int64_t expires, int64_t now);
/* Inside the caller's transaction: one outbox row; NULL m writes nothing. */
int store_mail_insert(Store *s, const StoreMail *m);
