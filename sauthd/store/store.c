/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "secret-file.h"
#include "sauth-names.h"
#include "store-internal.h"
#include "tokens.h"
#include "util.h"

/*
 * The store on top of a driver: opening, migrating, and the helpers every
 * domain file uses (query, step, run, transactions). Nothing here knows
 * which engine is underneath; every statement with a value in it is
 * prepared and bound, and the SQL text itself is always a constant.
 */

/* The schema, one step per version, each applied in its own transaction
 * together with its row in schema_version. Never edit a released step:
 * add a new one. tests/data/schema-v1.sql is what step 1 made. Only types
 * and statements that PostgreSQL also takes (TEXT, BIGINT, INTEGER,
 * ALTER TABLE ... ADD COLUMN). */
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

        /* 3: session tokens (one row per token issued, revoked ones kept
         * until they would have expired) and API keys (a keyed hash of the
         * secret only). */
        "CREATE TABLE sessions ("
        " jti TEXT PRIMARY KEY,"
        " uid TEXT NOT NULL REFERENCES people(id),"
        " account_id TEXT NOT NULL REFERENCES accounts(id),"
        " method TEXT NOT NULL,"
        " service TEXT NOT NULL DEFAULT '',"
        " tty TEXT NOT NULL DEFAULT '',"
        " rhost TEXT NOT NULL DEFAULT '',"
        " issued BIGINT NOT NULL,"
        " expires BIGINT NOT NULL,"
        " revoked BIGINT NOT NULL DEFAULT 0);"
        "CREATE INDEX sessions_uid ON sessions(uid, expires);"
        "CREATE INDEX sessions_expires ON sessions(expires);"
        "CREATE TABLE api_keys ("
        " id TEXT PRIMARY KEY,"
        " uid TEXT NOT NULL REFERENCES people(id),"
        " name TEXT NOT NULL,"
        " scopes TEXT NOT NULL,"
        " hash TEXT NOT NULL,"
        " created BIGINT NOT NULL,"
        " expires BIGINT NOT NULL DEFAULT 0,"
        " revoked BIGINT NOT NULL DEFAULT 0,"
        " last_used BIGINT NOT NULL DEFAULT 0);"
        "CREATE INDEX api_keys_uid ON api_keys(uid);",

        /* 4: memberships, the source of the roles <resource>-<id>-<level>.
         * The primary key answers "this membership"; the second index
         * holds every column GetRoles and a login read, in the order they
         * filter by (uid, then member_model, resource, resource_id), so
         * the memberships of one user are one range of one index, never
         * a query per membership. */
        "CREATE TABLE memberships ("
        " uid TEXT NOT NULL REFERENCES people(id),"
        " member_model TEXT NOT NULL,"
        " resource TEXT NOT NULL,"
        " resource_id TEXT NOT NULL,"
        " level TEXT NOT NULL,"
        " status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),"
        " created BIGINT NOT NULL,"
        " PRIMARY KEY (uid, member_model, resource, resource_id));"
        "CREATE INDEX memberships_roles ON memberships(uid, member_model, resource, resource_id, level, status);",

        /* 5: the mail outbox. A message is written in the transaction of
         * the token it carries (or of the change it announces) and deleted
         * once sent or expired. body is the rendered message sealed with
         * the outbox key (base64 of nonce and secretbox), never clear
         * text: it holds the token. next_attempt is never later than
         * expires, so one index orders both the due and the expired. */
        "CREATE TABLE outbox ("
        " id TEXT PRIMARY KEY,"
        " template TEXT NOT NULL,"
        " recipient TEXT NOT NULL,"
        " body TEXT NOT NULL,"
        " created BIGINT NOT NULL,"
        " expires BIGINT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_attempt BIGINT NOT NULL,"
        " last_error TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX outbox_next ON outbox(next_attempt, created);",

        /* 6: the public session-token keys of every host sharing the
         * store (a fleet on PostgreSQL; on SQLite only this host's), so
         * that a token one host signed verifies on the others. kid is the
         * RFC 7638 thumbprint of public_key (base64url); not_after 0 for
         * a host's current key. */
        "CREATE TABLE signing_keys ("
        " kid TEXT PRIMARY KEY,"
        " issuer TEXT NOT NULL,"
        " public_key TEXT NOT NULL,"
        " created BIGINT NOT NULL,"
        " not_after BIGINT NOT NULL DEFAULT 0);",

        /* 7: an OAuth identity that is no one's primary identity is looked
         * up among the confirmed contacts; without an index every unknown
         * identity a provider sends would scan them all. */
        "CREATE INDEX contacts_info ON contacts(info);",
};

_Static_assert(ELEMENTSOF(store_migrations) == STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* A driver's error as callers of store.h see it. A lock not got within
 * the busy timeout has always been -EIO to them: the bus glue answers
 * Internal for it, where -ETIMEDOUT would reach sd-bus as a Timeout that
 * the PAM module reads as "daemon unreachable" (and unavail=ignore would
 * wave through). The driver has logged it already. */
static int store_errno(int r) {
        return r == -ETIMEDOUT ? -EIO : r;
}

char *store_id_new(void) {
        char *id = malloc(STORE_ID_SIZE);

        if (id)
                id_new(id);
        return id;
}

/* ---- the helpers of the domain files ---- */

static int store_bindv(Store *s, StoreStmt *stmt, const char *types, va_list ap) {
        for (unsigned i = 0; types[i]; i++) {
                int r;

                if (types[i] == 's') {
                        const char *v = va_arg(ap, const char *);

                        r = v ? s->driver->bind_text(stmt, i + 1, v) : s->driver->bind_null(stmt, i + 1);
                } else
                        r = s->driver->bind_int64(stmt, i + 1, va_arg(ap, int64_t));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int store_preparev(Store *s, StoreCursor *q, const char *sql, const char *types, va_list ap) {
        _cleanup_cursor_ StoreCursor c = { .driver = s->driver };
        int r;

        r = s->driver->prepare(store_conn(s), sql, &c.stmt);
        if (r < 0)
                return store_errno(r);
        r = store_bindv(s, c.stmt, types, ap);
        if (r < 0)
                return store_errno(r);
        *q = c;
        c.stmt = NULL; /* the caller resets it (_cleanup_cursor_) */
        return 0;
}

int store_query(Store *s, StoreCursor *q, const char *sql, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = store_preparev(s, q, sql, types, ap);
        va_end(ap);
        return r;
}

int store_step(Store *s, StoreCursor *q) {
        (void) s;
        return store_errno(q->driver->step(q->stmt));
}

int store_run(Store *s, const char *sql, const char *types, ...) {
        _cleanup_cursor_ StoreCursor q = {};
        va_list ap;
        int r;

        va_start(ap, types);
        r = store_preparev(s, &q, sql, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = store_step(s, &q);
        if (r < 0)
                return r;
        if (r > 0) {
                /* A statement that returns rows has no place here. */
                log_error("store: run: statement returned a row");
                return -EIO;
        }
        return s->driver->changes(store_conn(s));
}

int store_query_int64(Store *s, int64_t *ret, const char *sql, const char *types, ...) {
        _cleanup_cursor_ StoreCursor q = {};
        va_list ap;
        int r;

        va_start(ap, types);
        r = store_preparev(s, &q, sql, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        r = store_step(s, &q);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        *ret = store_column_int64(&q, 0);
        return 0;
}

int store_column_text(StoreCursor *q, unsigned col, const char **ret) {
        return q->driver->column_text(q->stmt, col, ret);
}

int store_column_dup(StoreCursor *q, unsigned col, char **ret) {
        const char *t;
        char *d;
        int r;

        r = store_column_text(q, col, &t);
        if (r < 0)
                return r;
        if (!t) {
                *ret = NULL;
                return 0;
        }
        d = strdup(t);
        if (!d)
                return -ENOMEM;
        *ret = d;
        return 0;
}

int64_t store_column_int64(StoreCursor *q, unsigned col) {
        return q->driver->column_int64(q->stmt, col);
}

int store_begin(Store *s) {
        return store_errno(s->driver->begin(store_conn(s)));
}

int store_end(Store *s, int r) {
        int q;

        if (r < 0) {
                (void) s->driver->rollback(store_conn(s));
                return r;
        }
        q = s->driver->commit(store_conn(s));
        if (q < 0) {
                (void) s->driver->rollback(store_conn(s));
                return store_errno(q);
        }
        return r;
}

/* ---- the change feed ---- */

int store_changed(Store *s, const char *kind, const char *id) {
        char payload[STORE_CHANGE_MAX];

        if (!s->driver->notify)
                return 0;       /* one host: nobody else caches */
        if (snprintf(payload, sizeof payload, "%s:%s", kind, id ? id : "") >= (int) sizeof payload)
                return -E2BIG;
        return store_errno(s->driver->notify(store_conn(s), payload));
}

struct StoreFeed {
        const StoreDriver *driver;
        StoreWatch *watch;
};

int store_feed_open(Store *s, StoreFeed **ret) {
        StoreFeed *f;
        int r;

        if (!s || !ret)
                return -EINVAL;
        if (!s->driver->watch_open)
                return -EOPNOTSUPP;
        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->driver = s->driver;
        r = s->driver->watch_open(s->conn, &f->watch);
        if (r < 0) {
                free(f);
                return store_errno(r);
        }
        *ret = f;
        return 0;
}

int store_feed_fd(StoreFeed *f) {
        return f->driver->watch_fd(f->watch);
}

typedef struct FeedCall {
        store_change_fn fn;
        void *userdata;
} FeedCall;

static void store_feed_one(const char *payload, void *userdata) {
        FeedCall *call = userdata;
        char kind[32];
        const char *colon = strchr(payload, ':');

        /* Anything else on the channel is not ours: passed over. */
        if (!colon || (size_t) (colon - payload) >= sizeof kind)
                return;
        memcpy(kind, payload, (size_t) (colon - payload));
        kind[colon - payload] = 0;
        call->fn(kind, colon + 1, call->userdata);
}

int store_feed_dispatch(StoreFeed *f, store_change_fn fn, void *userdata) {
        FeedCall call = { fn, userdata };

        return store_errno(f->driver->watch_read(f->watch, store_feed_one, &call));
}

void store_feed_close(StoreFeed *f) {
        if (!f)
                return;
        f->driver->watch_close(f->watch);
        free(f);
}

/* ---- opening and migrating ---- */

/* Inside a transaction: applies step 'version' unless another process did
 * while we waited for the lock. */
static int store_migrate_step(Store *s, int version) {
        int current, r;

        r = s->driver->schema_version_get(store_conn(s), &current);
        if (r < 0 || current >= version)
                return store_errno(r);
        r = s->driver->exec(store_conn(s), store_migrations[version - 1]);
        if (r < 0)
                return store_errno(r);
        return store_errno(s->driver->schema_version_set(store_conn(s), version, (int64_t) time(NULL)));
}

static int store_migrate_locked(Store *s, const char *path, int target) {
        int current, r;

        r = s->driver->schema_init(store_conn(s));
        if (r < 0)
                return store_errno(r);
        r = s->driver->schema_version_get(store_conn(s), &current);
        if (r < 0)
                return store_errno(r);
        if (current > STORE_SCHEMA_VERSION) {
                log_error("store: %s: the database has schema version %d, newer than this sauthd knows (%d): "
                          "refused; run the sauthd that migrated it, or a newer one",
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

static int store_migrate(Store *s, const char *path, int target) {
        int r, q;

        if (!s->driver->migrate_lock)
                return store_migrate_locked(s, path, target);
        r = s->driver->migrate_lock(store_conn(s));
        if (r < 0) {
                log_error("store: %s: cannot take the migration lock", path);
                return store_errno(r);
        }
        r = store_migrate_locked(s, path, target);
        q = s->driver->migrate_unlock(store_conn(s));
        return r < 0 ? r : store_errno(q);
}

/* ---- threads ---- */

static _Thread_local Store *thread_store;
static _Thread_local StoreConn *thread_conn;
static void (*wait_leave)(void);
static void (*wait_enter)(void);

StoreConn *store_conn(Store *s) {
        if (thread_store == s && thread_conn)
                return thread_conn;
        if (s->loop_forbidden) {
                static bool said;

                if (!said || s->strict)
                        log_error("store: called from a thread without a connection of its own "
                                  "(the event loop?): it may wait on the database there");
                said = true;
                if (s->strict)
                        abort();
        }
        return s->conn;
}

int store_thread_bind(Store *s, unsigned i) {
        if (!s) {
                thread_store = NULL;
                thread_conn = NULL;
                return 0;
        }
        if (i >= s->n_workers)
                return -EINVAL;
        thread_store = s;
        thread_conn = s->workers[i];
        return 0;
}

unsigned store_workers(Store *s) {
        return s ? s->n_workers : 0;
}

void store_forbid_unbound(Store *s, bool forbid) {
        const char *e = getenv("SAUTH_STORE_STRICT");

        s->loop_forbidden = forbid && s->driver->remote;
        s->strict = e && streq(e, "1");
}

void store_set_wait_hooks(void (*leave)(void), void (*enter)(void)) {
        wait_leave = leave;
        wait_enter = enter;
}

void store_wait_begin(void) {
        if (wait_leave)
                wait_leave();
}

void store_wait_end(void) {
        if (wait_enter)
                wait_enter();
}

/* path is what the driver opens; label names it in the log (a conninfo
 * may hold a password: its file's name is logged instead). n_workers more
 * connections are opened for the store workers. */
static int store_open_impl(const StoreDriver *driver, const char *path, const char *label, unsigned timeout_ms,
                           unsigned n_workers, int target, Store **ret) {
        _cleanup_(store_closep) Store *s = NULL;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->driver = driver;
        r = driver->open_timeout ? driver->open_timeout(path, timeout_ms, &s->conn) : driver->open(path, &s->conn);
        if (r < 0)
                return store_errno(r);
        r = store_migrate(s, label, target);
        if (r < 0)
                return r;
        if (n_workers > 0) {
                s->workers = calloc(n_workers, sizeof *s->workers);
                if (!s->workers)
                        return -ENOMEM;
                for (; s->n_workers < n_workers; s->n_workers++) {
                        r = driver->open_timeout ? driver->open_timeout(path, timeout_ms, &s->workers[s->n_workers])
                                                 : driver->open(path, &s->workers[s->n_workers]);
                        if (r < 0)
                                return store_errno(r);
                        if (driver->join)
                                driver->join(s->workers[s->n_workers], s->conn);
                }
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int store_open_at_version(const char *path, int target, Store **ret) {
        mode_t old_umask;
        int r;

        if (!path || !ret || target < 0 || target > STORE_SCHEMA_VERSION)
                return -EINVAL;

        /* Whatever the driver creates while we set up (SQLite's -wal and
         * -shm) is ours only. */
        old_umask = umask(0077);
        r = store_open_impl(&store_driver_sqlite, path, path, 0, 0, target, ret);
        umask(old_umask);
        return r;
}

int store_open_conninfo_at_version(const char *conninfo, int target, Store **ret) {
        if (!conninfo || !ret || target < 0 || target > STORE_SCHEMA_VERSION)
                return -EINVAL;
        return store_open_impl(&store_driver_postgresql, conninfo, "postgresql", 0, 0, target, ret);
}

const StoreDriver *store_driver_by_name(const char *name) {
        if (!name || streq(name, "sqlite"))
                return &store_driver_sqlite;
        if (streq(name, "postgresql"))
                return &store_driver_postgresql;
        return NULL;
}

int store_open_with(const StoreOptions *o, Store **ret) {
        _cleanup_secret_ char *conninfo = NULL;
        const StoreDriver *driver;
        char msg[PATH_MAX + 160];
        size_t len;
        int r;

        if (!o || !ret)
                return -EINVAL;
        driver = store_driver_by_name(o->driver);
        if (!driver)
                return -EINVAL;
        if (driver == &store_driver_sqlite)
                return store_open(o->path, ret);

        /* The conninfo may hold a password: the file gets the checks of
         * every secret file of the daemon, its text lives in guarded
         * memory and is never logged; a trailing newline is not part of
         * it. */
        if (!o->conninfo_file)
                return -EINVAL;
        r = secret_file_read(o->conninfo_file, 4096, &conninfo, &len, msg, sizeof msg);
        if (r < 0) {
                if (r == -ENOENT)
                        log_error("store: %s: no such file", o->conninfo_file);
                else
                        log_error("store: %s", msg);
                return r;
        }
        while (len > 0 && (conninfo[len - 1] == '\n' || conninfo[len - 1] == '\r'))
                conninfo[--len] = 0;
        return store_open_impl(driver, conninfo, o->conninfo_file, o->timeout_ms, driver->remote ? o->n_workers : 0,
                               STORE_SCHEMA_VERSION, ret);
}

bool store_is_remote(Store *s) {
        return s && s->driver->remote;
}

int store_open(const char *path, Store **ret) {
        return store_open_at_version(path, STORE_SCHEMA_VERSION, ret);
}

void store_close(Store *s) {
        if (!s)
                return;
        if (s->driver) {
                for (unsigned i = 0; i < s->n_workers; i++)
                        s->driver->close(s->workers[i]);
                s->driver->close(s->conn);
        }
        free(s->workers);
        free(s);
}

int store_schema_version(Store *s) {
        int v, r;

        r = s->driver->schema_version_get(store_conn(s), &v);
        return r < 0 ? store_errno(r) : v;
}

/* Housekeeping across the domains, in one transaction. */
/* People who never confirmed: no confirmed contact, no confirmation token
 * left that could still confirm one, and no account with a password (an
 * admin may have set one; that account stays). Their registration expired
 * with its token: the name and the identity are free again. */
#define STORE_UNCONFIRMED                                                       \
        "SELECT p.id FROM people p WHERE p.created < ?"                         \
        " AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.uid = p.id AND c.status = 'active')" \
        " AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.uid = p.id AND t.purpose = '" SAUTH_TOKEN_CONFIRM "'" \
        "   AND t.used IS NULL AND t.expires > ?)"                              \
        " AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.uid = p.id AND a.password IS NOT NULL)"

int store_prune(Store *s, int64_t now) {
        static const char *const unconfirmed[] = {
                /* children first; password_history goes with its account */
                "DELETE FROM sessions WHERE uid IN (" STORE_UNCONFIRMED ")",
                "DELETE FROM api_keys WHERE uid IN (" STORE_UNCONFIRMED ")",
                "DELETE FROM memberships WHERE uid IN (" STORE_UNCONFIRMED ")",
                "DELETE FROM tokens WHERE uid IN (" STORE_UNCONFIRMED ")",
                "DELETE FROM accounts WHERE uid IN (" STORE_UNCONFIRMED ")",
                "DELETE FROM contacts WHERE uid IN (" STORE_UNCONFIRMED ")",
                "DELETE FROM people WHERE id IN (" STORE_UNCONFIRMED ")",
        };
        int r, total = 0;

        if (!s)
                return -EINVAL;
        r = store_begin(s);
        if (r < 0)
                return r;
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(unconfirmed); i++) {
                /* "created < now": a registration of this very second has
                 * its token already; the bound only keeps the subquery honest. */
                r = store_run(s, unconfirmed[i], "ii", now, now);
                if (r >= 0 && i == ELEMENTSOF(unconfirmed) - 1)
                        total += r;
        }
        if (r >= 0)
                r = store_run(s, "DELETE FROM sessions WHERE expires <= ?", "i", now);
        if (r >= 0) {
                total += r;
                /* Tokens count for the hourly reset limit for an hour after
                 * they were made, spent or not. */
                r = store_run(s, "DELETE FROM tokens WHERE (used IS NOT NULL OR expires <= ?) AND created < ?",
                              "ii", now, now - 3600);
        }
        if (r >= 0) {
                total += r;
                r = store_run(s, "DELETE FROM api_keys WHERE revoked <> 0 OR (expires <> 0 AND expires <= ?)",
                              "i", now);
        }
        if (r >= 0)
                total += r;
        r = store_end(s, r < 0 ? r : 0);
        return r < 0 ? r : total;
}
