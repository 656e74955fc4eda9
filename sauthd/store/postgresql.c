/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dlopen-util.h"
#include "driver.h"
#include "log.h"
#include "util.h"

/*
 * The PostgreSQL driver: the only file of the daemon that includes
 * libpq-fe.h. What it does that SQLite did by itself:
 *
 * - '?' placeholders become $1, $2, ... once, when a statement is first
 *   prepared on a connection; statements are prepared server-side under a
 *   name and cached per connection, keyed by the address of their SQL (as
 *   in sqlite.c). A reconnect forgets them; they are prepared again.
 * - Values travel as text with their type (int8 or text), so the server
 *   types every parameter from the first use and never has to guess.
 * - Every wait on the server is bounded by the connection's timeout: the
 *   queries go out with libpq's asynchronous calls and the driver polls the
 *   socket with a deadline. A server that does not answer in time costs
 *   the connection and -EHOSTDOWN; until a thread has connected again,
 *   every call fails at once with -EHOSTDOWN (see pg_reconnect()).
 * - begin() takes a transaction-scoped advisory lock, the same for every
 *   host: write transactions of the whole fleet run one at a time, as they
 *   do on one SQLite file, so every read-then-write of the store keeps the
 *   meaning it has there (see docs/decisions.md).
 * - SQLSTATEs map to errno as the driver interface asks; a message is
 *   logged only for classes that cannot quote a bound value (not 22 data
 *   exceptions, not 23 constraint violations: their text holds the key).
 */

/* libpq is loaded when the store is first opened on PostgreSQL: linked,
 * it maps libssl, libcrypto, Kerberos and LDAP into every sauthd, also
 * the SQLite ones (see dlopen-util.h). Never closed. */
#define PQ_SONAME "libpq.so.5"

#define PQ_SYM(name) static typeof(name) *sym_##name
PQ_SYM(PQclear);
PQ_SYM(PQcmdStatus);
PQ_SYM(PQcmdTuples);
PQ_SYM(PQconnectdbParams);
PQ_SYM(PQconninfo);
PQ_SYM(PQconninfoFree);
PQ_SYM(PQconsumeInput);
PQ_SYM(PQerrorMessage);
PQ_SYM(PQfinish);
PQ_SYM(PQfreemem);
PQ_SYM(PQftype);
PQ_SYM(PQgetResult);
PQ_SYM(PQgetisnull);
PQ_SYM(PQgetvalue);
PQ_SYM(PQisBusy);
PQ_SYM(PQnfields);
PQ_SYM(PQnotifies);
PQ_SYM(PQntuples);
PQ_SYM(PQreset);
PQ_SYM(PQresultErrorField);
PQ_SYM(PQresultStatus);
PQ_SYM(PQsendPrepare);
PQ_SYM(PQsendQuery);
PQ_SYM(PQsendQueryPrepared);
PQ_SYM(PQsetNoticeProcessor);
PQ_SYM(PQsetnonblocking);
PQ_SYM(PQsocket);
PQ_SYM(PQstatus);
PQ_SYM(PQtransactionStatus);
#undef PQ_SYM

static const DlSymbol pq_symbols[] = {
        DL_SYMBOL(PQclear),
        DL_SYMBOL(PQcmdStatus),
        DL_SYMBOL(PQcmdTuples),
        DL_SYMBOL(PQconnectdbParams),
        DL_SYMBOL(PQconninfo),
        DL_SYMBOL(PQconninfoFree),
        DL_SYMBOL(PQconsumeInput),
        DL_SYMBOL(PQerrorMessage),
        DL_SYMBOL(PQfinish),
        DL_SYMBOL(PQfreemem),
        DL_SYMBOL(PQftype),
        DL_SYMBOL(PQgetResult),
        DL_SYMBOL(PQgetisnull),
        DL_SYMBOL(PQgetvalue),
        DL_SYMBOL(PQisBusy),
        DL_SYMBOL(PQnfields),
        DL_SYMBOL(PQnotifies),
        DL_SYMBOL(PQntuples),
        DL_SYMBOL(PQreset),
        DL_SYMBOL(PQresultErrorField),
        DL_SYMBOL(PQresultStatus),
        DL_SYMBOL(PQsendPrepare),
        DL_SYMBOL(PQsendQuery),
        DL_SYMBOL(PQsendQueryPrepared),
        DL_SYMBOL(PQsetNoticeProcessor),
        DL_SYMBOL(PQsetnonblocking),
        DL_SYMBOL(PQsocket),
        DL_SYMBOL(PQstatus),
        DL_SYMBOL(PQtransactionStatus),
};

static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static int pq_result = -EOPNOTSUPP;

static void pq_load_once(void) {
        void *dl;

        pq_result = dlopen_symbols(PQ_SONAME, pq_symbols, ELEMENTSOF(pq_symbols), &dl);
}

static int pq_load(void) {
        (void) pthread_once(&pq_once, pq_load_once);
        return pq_result;
}

#define PG_STMT_CACHE 128
#define PG_MAX_PARAMS 32
#define PG_DEFAULT_TIMEOUT_MS 5000
/* Any 64-bit number the fleet agrees on: the write lock and the migration
 * lock of the sessionauth schema. */
#define PG_LOCK_WRITE "5999009442393325569"
#define PG_LOCK_MIGRATE "5999009442392965121"

#define PG_OID_BOOL 16
#define PG_OID_INT8 20
#define PG_OID_TEXT 25

struct StoreStmt {
        StoreConn *conn;
        const char *sql;                /* the key: the caller's literal */
        char *text;                     /* with $n placeholders */
        char name[16];
        unsigned n_params;
        unsigned generation;            /* of the connection it was prepared on; 0 never */
        const char *values[PG_MAX_PARAMS];
        char ints[PG_MAX_PARAMS][24];
        unsigned types[PG_MAX_PARAMS];  /* Oid */
        PGresult *res;
        int row;
};

/* What the connections of one store know together: the server stopped
 * answering one of them, so the others fail at once instead of each
 * waiting the timeout, until a connection is made again. Shared by the
 * store's first connection and its workers' (join()). */
typedef struct PgHealth {
        _Atomic bool down;
        _Atomic unsigned epoch; /* bumped by every connection made */
        unsigned refs;          /* changed only while opening and closing */
        pthread_mutex_t lock;   /* members */
        StoreConn *members;     /* the connections sharing it, by health_next */
} PgHealth;

struct StoreConn {
        PGconn *pg;
        PgHealth *health;
        unsigned generation;            /* bumped by every (re)connect */
        int timeout_ms;
        int changes;
        bool broken;                    /* reopen before the next use */
        bool in_tx;                     /* between begin() and commit() / rollback() */
        bool down;                      /* unreachable: calls fail at once until the thread reconnects */
        pthread_mutex_t lock;           /* fresh, closing: shared with the reconnecting thread */
        pthread_cond_t wake;
        pthread_t thread;
        bool thread_running;
        bool closing;
        bool retry_now;                 /* another connection got through: try at once */
        unsigned seen_epoch;            /* the health's epoch when the thread started */
        PGconn *fresh;
        StoreConn *health_next;
        StoreStmt *stmts[PG_STMT_CACHE];
};

/* The change feed's connection has no health of its own to share. */
static void pg_health_set(StoreConn *c, bool down) {
        if (c->health)
                atomic_store(&c->health->down, down);
}

/* A connection was made: the server answers. */
static void pg_health_up(StoreConn *c) {
        if (!c->health)
                return;
        atomic_fetch_add(&c->health->epoch, 1);
        atomic_store(&c->health->down, false);
}

static int pg_health_new(StoreConn *c) {
        c->health = calloc(1, sizeof *c->health);
        if (!c->health)
                return -ENOMEM;
        pthread_mutex_init(&c->health->lock, NULL);
        c->health->refs = 1;
        c->health->members = c;
        return 0;
}

/* Takes c out of its health, which goes with its last member. */
static void pg_health_leave(StoreConn *c) {
        PgHealth *h = c->health;
        bool last;

        if (!h)
                return;
        pthread_mutex_lock(&h->lock);
        for (StoreConn **i = &h->members; *i; i = &(*i)->health_next)
                if (*i == c) {
                        *i = c->health_next;
                        break;
                }
        last = --h->refs == 0;
        pthread_mutex_unlock(&h->lock);
        c->health = NULL;
        c->health_next = NULL;
        if (last) {
                pthread_mutex_destroy(&h->lock);
                free(h);
        }
}

/* The server answers c again: the other connections' reconnect threads,
 * which wait a second between tries, try now, rather than leave their
 * workers failing calls for up to that second. */
static void pg_health_wake_others(StoreConn *c) {
        PgHealth *h = c->health;

        if (!h)
                return;
        pthread_mutex_lock(&h->lock);
        for (StoreConn *o = h->members; o; o = o->health_next) {
                if (o == c)
                        continue;
                pthread_mutex_lock(&o->lock);
                o->retry_now = true;
                pthread_cond_broadcast(&o->wake);
                pthread_mutex_unlock(&o->lock);
        }
        pthread_mutex_unlock(&h->lock);
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Notices ("relation already exists, skipping") are not errors. */
static void pg_notice(void *arg, const char *message) {
        (void) arg;
        (void) message;
}

/* ---- errors ---- */

static int pg_errno_of_state(const char *state) {
        if (!state)
                return -EIO;
        if (streq(state, "23505"))
                return -EEXIST;
        if (streq(state, "23503"))
                return -ENOENT;
        if (streq(state, "23502") || streq(state, "23514"))
                return -EINVAL;
        if (streq(state, "53200"))
                return -ENOMEM;
        /* lock_timeout, statement_timeout, serialization and deadlock:
         * the database was too busy to answer in time. */
        if (streq(state, "55P03") || streq(state, "57014") || streq(state, "40001") || streq(state, "40P01"))
                return -ETIMEDOUT;
        return -EIO;
}

static int pg_fail_result(StoreConn *c, const PGresult *res, const char *what) {
        const char *state = res ? sym_PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        int r = pg_errno_of_state(state);

        if (sym_PQstatus(c->pg) != CONNECTION_OK) {
                c->broken = true;
                log_error("store: %s: connection to PostgreSQL lost", what);
                return -EHOSTDOWN;
        }
        if (r == -EEXIST || r == -ENOENT || r == -ENOMEM)
                return r;
        if (state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0)) {
                const char *table = sym_PQresultErrorField(res, PG_DIAG_TABLE_NAME);
                const char *constraint = sym_PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);

                log_error("store: %s: SQLSTATE %s (table %s, constraint %s)", what, state,
                          table ?: "-", constraint ?: "-");
        } else
                log_error("store: %s: SQLSTATE %s: %s", what, state ?: "-",
                          res ? sym_PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?: "-" : sym_PQerrorMessage(c->pg));
        return r;
}

/* ---- the connection ---- */

static void pg_forget_statements(StoreConn *c) {
        for (size_t i = 0; i < PG_STMT_CACHE && c->stmts[i]; i++) {
                sym_PQclear(c->stmts[i]->res);
                c->stmts[i]->res = NULL;
                c->stmts[i]->generation = 0;
        }
}

/* A connection made off the loop, for a server that did not answer in
 * time or refused us: the loop never waits for it. The thread owns a copy
 * of the connection parameters (wiped when it ends) and hands a working
 * connection over through c->fresh. */
typedef struct PgParams {
        StoreConn *c;
        char **keys, **values;
        size_t n;
} PgParams;

static void pg_params_free(PgParams *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                free(p->keys[i]);
                if (p->values[i]) {
                        /* It may be the password. */
                        explicit_bzero(p->values[i], strlen(p->values[i]));
                        free(p->values[i]);
                }
        }
        free(p->keys);
        free(p->values);
        free(p);
}

static PgParams *pg_params_of(StoreConn *c) {
        PQconninfoOption *opts = sym_PQconninfo(c->pg);
        PgParams *p;
        size_t n = 0;

        if (!opts)
                return NULL;
        for (PQconninfoOption *o = opts; o->keyword; o++)
                n++;
        p = calloc(1, sizeof *p);
        if (p) {
                p->c = c;
                p->keys = calloc(n + 1, sizeof *p->keys);
                p->values = calloc(n + 1, sizeof *p->values);
        }
        if (!p || !p->keys || !p->values) {
                sym_PQconninfoFree(opts);
                pg_params_free(p);
                return NULL;
        }
        for (PQconninfoOption *o = opts; o->keyword; o++) {
                if (!o->val || !*o->val)
                        continue;
                p->keys[p->n] = strdup(o->keyword);
                p->values[p->n] = strdup(o->val);
                if (!p->keys[p->n] || !p->values[p->n]) {
                        p->n++;
                        sym_PQconninfoFree(opts);
                        pg_params_free(p);
                        return NULL;
                }
                p->n++;
        }
        sym_PQconninfoFree(opts);
        return p;
}

static void *pg_reconnect_thread(void *arg) {
        PgParams *p = arg;
        StoreConn *c = p->c;

        for (unsigned attempt = 0;; attempt++) {
                PGconn *pg = sym_PQconnectdbParams((const char *const *) p->keys, (const char *const *) p->values, 0);
                bool stop;

                if (pg && sym_PQstatus(pg) == CONNECTION_OK) {
                        pthread_mutex_lock(&c->lock);
                        c->fresh = pg;
                        /* A call may be waiting for it (pg_await_thread). */
                        pthread_cond_broadcast(&c->wake);
                        pthread_mutex_unlock(&c->lock);
                        /* The server answers again: the other connections
                         * may try theirs, now. */
                        pg_health_up(c);
                        pg_health_wake_others(c);
                        break;
                }
                if (attempt == 0)
                        log_error("store: PostgreSQL unreachable, retrying every second: %s",
                                  pg ? sym_PQerrorMessage(pg) : "out of memory");
                sym_PQfinish(pg);
                pthread_mutex_lock(&c->lock);
                if (!c->closing && !c->retry_now) {
                        struct timespec until;

                        clock_gettime(CLOCK_MONOTONIC, &until);
                        until.tv_sec += 1;
                        (void) pthread_cond_timedwait(&c->wake, &c->lock, &until);
                }
                c->retry_now = false;
                stop = c->closing;
                pthread_mutex_unlock(&c->lock);
                if (stop)
                        break;
        }
        pg_params_free(p);
        return NULL;
}

/* Another connection reached the server since this one's thread started,
 * and the thread is still between tries: have it try now, and wait for
 * it, at most the timeout, rather than fail a call that a moment later
 * would work (a login's last lock check failing closed would say
 * "locked"). Once per connection made elsewhere (the epoch), so a thread
 * that keeps failing on its own costs one wait, not one per call. The
 * daemon lock is let go meanwhile, as around any wait on the server. */
static void pg_await_thread(StoreConn *c) {
        struct timespec until;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += c->timeout_ms / 1000;
        until.tv_nsec += (long) (c->timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
        }
        store_wait_begin();
        pthread_mutex_lock(&c->lock);
        c->retry_now = true;
        pthread_cond_broadcast(&c->wake);
        while (!c->fresh && !c->closing &&
               pthread_cond_timedwait(&c->wake, &c->lock, &until) != ETIMEDOUT)
                ;
        pthread_mutex_unlock(&c->lock);
        store_wait_end();
}

/* Takes the connection the thread made, if it is done. */
static bool pg_adopt(StoreConn *c) {
        PGconn *fresh;

        pthread_mutex_lock(&c->lock);
        fresh = TAKE_PTR(c->fresh);
        pthread_mutex_unlock(&c->lock);
        if (!fresh)
                return false;
        (void) pthread_join(c->thread, NULL);
        c->thread_running = false;
        sym_PQfinish(c->pg);
        c->pg = fresh;
        return true;
}

static void pg_connected(StoreConn *c) {
        sym_PQsetNoticeProcessor(c->pg, pg_notice, NULL);
        c->broken = c->down = false;
        pg_health_up(c);
        pg_health_wake_others(c);
        c->generation++;
        log_notice("store: reconnected to PostgreSQL");
}

/* Starts the thread that connects again; -EHOSTDOWN (or -ENOMEM). */
static int pg_spawn_reconnect(StoreConn *c) {
        PgParams *p;

        if (c->thread_running)
                return -EHOSTDOWN;
        p = pg_params_of(c);
        if (!p)
                return -ENOMEM;
        /* No thread runs: nothing else reads these now. */
        c->retry_now = false;
        c->seen_epoch = c->health ? atomic_load(&c->health->epoch) : 0;
        if (pthread_create(&c->thread, NULL, pg_reconnect_thread, p) != 0) {
                pg_params_free(p);
                return -EHOSTDOWN;
        }
        c->thread_running = true;
        return -EHOSTDOWN;
}

/* Reopens a connection that failed. Only between transactions: a
 * transaction that lost its connection is gone and its caller has had
 * -EHOSTDOWN. A server that closed the connection (a restart, a
 * failover) is asked once at once, bounded by the timeout; a server that
 * did not answer in time, or would not take us, is left to the thread,
 * and until it has a connection every call fails at once with
 * -EHOSTDOWN: the loop does not wait on a server that is not there. */
static int pg_reconnect(StoreConn *c) {
        pg_forget_statements(c);
        if (c->thread_running && c->health && atomic_load(&c->health->epoch) != c->seen_epoch) {
                c->seen_epoch = atomic_load(&c->health->epoch);
                pg_await_thread(c);
        }
        if (pg_adopt(c)) {
                pg_connected(c);
                return 0;
        }
        if (c->thread_running)
                return -EHOSTDOWN;
        if (!c->down) {
                store_wait_begin();
                sym_PQreset(c->pg);
                store_wait_end();
                if (sym_PQstatus(c->pg) == CONNECTION_OK) {
                        pg_connected(c);
                        return 0;
                }
                c->down = true;
        }
        return pg_spawn_reconnect(c);
}

/* Before a statement outside a transaction: a connection the server
 * closed while we were idle (a restart, a failover, an administrator's
 * pg_terminate_backend) has said so on its socket. Reading that now lets
 * us reconnect before sending, instead of failing the statement. */
static bool pg_closed_while_idle(StoreConn *c) {
        struct pollfd p = { .fd = sym_PQsocket(c->pg), .events = POLLIN };

        if (c->in_tx || p.fd < 0)
                return p.fd < 0;
        /* The server's last words, then the end of the stream: each may
         * take a read of its own. */
        for (unsigned i = 0; i < 4 && poll(&p, 1, 0) > 0; i++)
                if (!sym_PQconsumeInput(c->pg) || sym_PQstatus(c->pg) != CONNECTION_OK)
                        return true;
        return false;
}

static int pg_ready(StoreConn *c) {
        /* Another connection found the server silent: do not wait on it
         * too. Its thread tells when the server answers again. */
        if (c->health && atomic_load(&c->health->down) && !c->broken && !c->down)
                return -EHOSTDOWN;
        if (!c->broken && sym_PQstatus(c->pg) == CONNECTION_OK && !pg_closed_while_idle(c))
                return 0;
        if (c->in_tx)
                return -EHOSTDOWN;      /* the transaction is gone with its connection */
        c->broken = true;
        return pg_reconnect(c);
}

/* Waits for the result of what was sent, at most the timeout. The last
 * result is the one returned (a multi-statement exec gives several); an
 * error result wins over the others. NULL with *ret_r set on failure. */
static PGresult *pg_wait(StoreConn *c, const char *what, int *ret_r) {
        int64_t deadline = now_ms() + c->timeout_ms;
        PGresult *keep = NULL, *res;

        for (;;) {
                while (!sym_PQisBusy(c->pg)) {
                        res = sym_PQgetResult(c->pg);
                        if (!res) {
                                if (!keep)
                                        *ret_r = pg_fail_result(c, NULL, what);
                                return keep;
                        }
                        if (keep && sym_PQresultStatus(keep) == PGRES_FATAL_ERROR)
                                sym_PQclear(res);
                        else {
                                sym_PQclear(keep);
                                keep = res;
                        }
                }
                int64_t left = deadline - now_ms();
                struct pollfd p = { .fd = sym_PQsocket(c->pg), .events = POLLIN };
                int k;

                if (left <= 0) {
                        /* The server may still be working on it: the
                         * connection cannot be trusted with the next
                         * query. */
                        sym_PQclear(keep);
                        log_error("store: %s: PostgreSQL did not answer within %d ms", what, c->timeout_ms);
                        c->broken = true;
                        c->down = true;
                        pg_health_set(c, true);
                        /* The change feed's connection (no health) is
                         * reopened by the fleet, not by a thread. */
                        if (c->health)
                                (void) pg_spawn_reconnect(c);
                        *ret_r = -EHOSTDOWN;
                        return NULL;
                }
                store_wait_begin();
                k = poll(&p, 1, (int) left);
                if (k < 0)
                        k = -errno;
                store_wait_end();
                if (k < 0 && k != -EINTR) {
                        sym_PQclear(keep);
                        *ret_r = k;
                        return NULL;
                }
                if (k > 0 && !sym_PQconsumeInput(c->pg)) {
                        sym_PQclear(keep);
                        *ret_r = pg_fail_result(c, NULL, what);
                        return NULL;
                }
        }
}

/* Takes what pg_wait() gave: 0 (command), 1 (rows, *ret keeps them), or a
 * negative errno. */
static int pg_take(StoreConn *c, PGresult *res, const char *what, PGresult **ret) {
        switch (sym_PQresultStatus(res)) {
        case PGRES_COMMAND_OK:
                c->changes = atoi(sym_PQcmdTuples(res));
                sym_PQclear(res);
                return 0;
        case PGRES_TUPLES_OK:
                c->changes = atoi(sym_PQcmdTuples(res));
                if (ret) {
                        *ret = res;
                        return 1;
                }
                sym_PQclear(res);
                return 0;
        default: {
                int r = pg_fail_result(c, res, what);

                sym_PQclear(res);
                return r;
        }
        }
}

static int pg_simple(StoreConn *c, const char *sql, const char *what, PGresult **ret) {
        PGresult *res;
        int r = 0;

        if (!sym_PQsendQuery(c->pg, sql))
                return pg_fail_result(c, NULL, what);
        res = pg_wait(c, what, &r);
        if (!res)
                return r;
        return pg_take(c, res, what, ret);
}

static int pg_exec(StoreConn *c, const char *sql) {
        int r = pg_ready(c);

        return r < 0 ? r : pg_simple(c, sql, "exec", NULL);
}

/* ---- statements ---- */

/* '?' outside quotes becomes $n. The store's SQL quotes only with '. */
static int pg_rewrite(const char *sql, char **ret, unsigned *ret_n) {
        size_t len = strlen(sql), o = 0;
        unsigned n = 0;
        bool quoted = false;
        char *out;

        out = malloc(len * 3 + 1);      /* "?" -> "$NN" at most */
        if (!out)
                return -ENOMEM;
        for (const char *p = sql; *p; p++) {
                if (*p == '\'')
                        quoted = !quoted;
                if (*p == '?' && !quoted) {
                        if (++n > PG_MAX_PARAMS) {
                                free(out);
                                return -E2BIG;
                        }
                        o += (size_t) sprintf(out + o, "$%u", n);
                } else
                        out[o++] = *p;
        }
        out[o] = 0;
        *ret = out;
        *ret_n = n;
        return 0;
}

static void pg_stmt_free(StoreStmt *st) {
        if (!st)
                return;
        sym_PQclear(st->res);
        free(st->text);
        free(st);
}

static int pg_prepare(StoreConn *c, const char *sql, StoreStmt **ret) {
        StoreStmt *st;
        size_t i;
        int r;

        for (i = 0; i < PG_STMT_CACHE && c->stmts[i]; i++)
                if (c->stmts[i]->sql == sql) {
                        *ret = c->stmts[i];
                        return 0;
                }
        if (i == PG_STMT_CACHE) {
                log_error("store: statement cache full");
                return -E2BIG;
        }
        st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;
        r = pg_rewrite(sql, &st->text, &st->n_params);
        if (r < 0) {
                free(st);
                return r;
        }
        st->conn = c;
        st->sql = sql;
        st->row = -1;
        snprintf(st->name, sizeof st->name, "s%zu", i);
        c->stmts[i] = st;
        *ret = st;
        return 0;
}

static int pg_bind_check(StoreStmt *st, unsigned idx) {
        return idx >= 1 && idx <= st->n_params ? 0 : -EINVAL;
}

static int pg_bind_text(StoreStmt *st, unsigned idx, const char *value) {
        if (pg_bind_check(st, idx) < 0)
                return -EINVAL;
        st->values[idx - 1] = value;
        if (!st->types[idx - 1])
                st->types[idx - 1] = PG_OID_TEXT;
        return 0;
}

static int pg_bind_int64(StoreStmt *st, unsigned idx, int64_t value) {
        if (pg_bind_check(st, idx) < 0)
                return -EINVAL;
        snprintf(st->ints[idx - 1], sizeof st->ints[idx - 1], "%" PRId64, value);
        st->values[idx - 1] = st->ints[idx - 1];
        if (!st->types[idx - 1])
                st->types[idx - 1] = PG_OID_INT8;
        return 0;
}

static int pg_bind_null(StoreStmt *st, unsigned idx) {
        if (pg_bind_check(st, idx) < 0)
                return -EINVAL;
        st->values[idx - 1] = NULL;
        return 0;
}

/* Prepares the statement on this connection if it is not yet: the types
 * are those of the first binding (a NULL leaves the server to infer). */
static int pg_stmt_ready(StoreStmt *st) {
        StoreConn *c = st->conn;
        PGresult *res;
        int r = 0;

        if (st->generation == c->generation)
                return 0;
        if (!sym_PQsendPrepare(c->pg, st->name, st->text, (int) st->n_params, st->types))
                return pg_fail_result(c, NULL, "prepare");
        res = pg_wait(c, "prepare", &r);
        if (!res)
                return r;
        r = pg_take(c, res, "prepare", NULL);
        if (r < 0)
                return r;
        st->generation = c->generation;
        return 0;
}

static int pg_execute(StoreStmt *st) {
        StoreConn *c = st->conn;
        PGresult *res;
        int r;

        r = pg_stmt_ready(st);
        if (r < 0)
                return r;
        if (!sym_PQsendQueryPrepared(c->pg, st->name, (int) st->n_params, st->values, NULL, NULL, 0))
                return pg_fail_result(c, NULL, "step");
        res = pg_wait(c, "step", &r);
        if (!res)
                return r;
        r = pg_take(c, res, "step", &st->res);
        if (r < 0)
                return r;
        if (r == 0)
                st->res = NULL;
        st->row = -1;
        return 1;
}

/* Whether a statement may be sent again after its connection failed:
 * a read outside a transaction changes nothing. */
static bool pg_idempotent(StoreStmt *st) {
        return strncmp(st->sql, "SELECT", 6) == 0 && !st->conn->in_tx;
}

static int pg_step(StoreStmt *st) {
        StoreConn *c = st->conn;
        int r;

        if (st->row == -1 && !st->res) {
                /* First step of this use: send it. A connection that broke
                 * outside a transaction is reopened first. */
                if (c->broken && c->in_tx)
                        return -EHOSTDOWN;
                r = pg_ready(c);
                if (r < 0)
                        return r;
                r = pg_execute(st);
                if (r < 0 && c->broken && !c->down && pg_idempotent(st) && pg_reconnect(c) >= 0)
                        r = pg_execute(st);
                if (r < 0)
                        return r;
                if (!st->res) {
                        st->row = 0;    /* done, no rows */
                        return 0;
                }
        }
        if (!st->res)
                return 0;
        st->row++;
        return st->row < sym_PQntuples(st->res) ? 1 : 0;
}

static bool pg_column_is_null(StoreStmt *st, unsigned col) {
        return !st->res || col >= (unsigned) sym_PQnfields(st->res) || st->row < 0 ||
               st->row >= sym_PQntuples(st->res) || sym_PQgetisnull(st->res, st->row, (int) col);
}

static int pg_column_text(StoreStmt *st, unsigned col, const char **ret) {
        if (pg_column_is_null(st, col)) {
                *ret = NULL;
                return 0;
        }
        *ret = sym_PQgetvalue(st->res, st->row, (int) col);
        return 0;
}

static int64_t pg_column_int64(StoreStmt *st, unsigned col) {
        const char *v;

        if (pg_column_is_null(st, col))
                return 0;
        v = sym_PQgetvalue(st->res, st->row, (int) col);
        /* A comparison is a boolean in PostgreSQL, 0 or 1 in SQLite. */
        if (sym_PQftype(st->res, (int) col) == PG_OID_BOOL)
                return v[0] == 't';
        return strtoll(v, NULL, 10);
}

static int pg_changes(StoreConn *c) {
        return c->changes;
}

static void pg_reset(StoreStmt *st) {
        if (!st)
                return;
        sym_PQclear(st->res);
        st->res = NULL;
        st->row = -1;
        /* Bindings may point at a caller's secret: forget them. */
        for (unsigned i = 0; i < st->n_params; i++)
                st->values[i] = NULL;
        explicit_bzero(st->ints, sizeof st->ints);
}

/* ---- transactions ---- */

static int pg_rollback(StoreConn *c);

static int pg_begin(StoreConn *c) {
        int r;

        r = pg_ready(c);
        if (r < 0)
                return r;
        r = pg_simple(c, "BEGIN", "begin", NULL);
        /* BEGIN changes nothing: once more on a fresh connection. */
        if (r < 0 && c->broken && !c->down && pg_reconnect(c) >= 0)
                r = pg_simple(c, "BEGIN", "begin", NULL);
        if (r < 0)
                return r;
        c->in_tx = true;
        r = pg_simple(c, "SELECT pg_advisory_xact_lock(" PG_LOCK_WRITE ")", "begin", NULL);
        if (r < 0)
                (void) pg_rollback(c);
        return r;
}

static int pg_rollback(StoreConn *c);

static int pg_commit(StoreConn *c) {
        PGresult *res;
        int r = 0;

        if (c->broken) {
                c->in_tx = false;
                return -EHOSTDOWN;
        }
        if (!sym_PQsendQuery(c->pg, "COMMIT"))
                return pg_fail_result(c, NULL, "commit");
        res = pg_wait(c, "commit", &r);
        if (!res)
                return r;
        /* COMMIT of a transaction that had failed answers ROLLBACK. */
        if (sym_PQresultStatus(res) == PGRES_COMMAND_OK && !streq(sym_PQcmdStatus(res), "COMMIT")) {
                sym_PQclear(res);
                log_error("store: commit: the transaction was rolled back");
                c->in_tx = false;
                return -EIO;
        }
        r = pg_take(c, res, "commit", NULL);
        if (r >= 0)
                c->in_tx = false;
        return r;
}

static int pg_rollback(StoreConn *c) {
        c->in_tx = false;
        if (c->broken || sym_PQtransactionStatus(c->pg) == PQTRANS_IDLE)
                return 0;
        return pg_simple(c, "ROLLBACK", "rollback", NULL);
}

/* ---- the schema version and the migration lock ---- */

static int pg_schema_init(StoreConn *c) {
        return pg_exec(c, "CREATE TABLE IF NOT EXISTS schema_version ("
                          " version INTEGER PRIMARY KEY,"
                          " applied BIGINT NOT NULL)");
}

static int pg_schema_version_get(StoreConn *c, int *ret) {
        PGresult *res = NULL;
        int64_t v;
        int r;

        r = pg_ready(c);
        if (r < 0)
                return r;
        r = pg_simple(c, "SELECT COALESCE(MAX(version), 0) FROM schema_version", "schema", &res);
        if (r < 0)
                return r;
        if (r == 0 || sym_PQntuples(res) != 1) {
                sym_PQclear(res);
                return -EIO;
        }
        v = strtoll(sym_PQgetvalue(res, 0, 0), NULL, 10);
        sym_PQclear(res);
        if (v < 0 || v > INT_MAX)
                return -EIO;
        *ret = (int) v;
        return 0;
}

static int pg_schema_version_set(StoreConn *c, int version, int64_t applied) {
        char sql[128];

        snprintf(sql, sizeof sql, "INSERT INTO schema_version (version, applied) VALUES (%d, %" PRId64 ")",
                 version, applied);
        return pg_simple(c, sql, "schema", NULL);
}

/* Session-scoped: held from before schema_init() to after the last step,
 * so that of two hosts starting at once one migrates and the other finds
 * the work done. Waits at most the timeout. */
static int pg_migrate_lock(StoreConn *c) {
        int r = pg_ready(c);

        return r < 0 ? r : pg_simple(c, "SELECT pg_advisory_lock(" PG_LOCK_MIGRATE ")", "migrate", NULL);
}

static int pg_migrate_unlock(StoreConn *c) {
        return pg_simple(c, "SELECT pg_advisory_unlock(" PG_LOCK_MIGRATE ")", "migrate", NULL);
}

/* ---- the change feed ---- */

#define PG_CHANNEL "sauthd"

struct StoreWatch {
        StoreConn conn;         /* for pg_simple()'s deadline; no statements */
};

static int pg_notify(StoreConn *c, const char *payload) {
        static const char sql[] = "SELECT pg_notify('" PG_CHANNEL "', ?)";
        StoreStmt *st = NULL;
        int r;

        r = pg_prepare(c, sql, &st);
        if (r < 0)
                return r;
        r = pg_bind_text(st, 1, payload);
        if (r >= 0)
                r = pg_step(st);
        pg_reset(st);
        return r < 0 ? r : 0;
}

/* The listening connection gets the parameters of c's (libpq hands them
 * back, password included), so the conninfo need not be kept. */
static int pg_watch_open(StoreConn *c, StoreWatch **ret) {
        const char *keys[64], *values[64];
        PQconninfoOption *opts;
        StoreWatch *w;
        size_t n = 0;
        int r;

        /* Not while the server is unreachable: that would wait here. */
        r = pg_ready(c);
        if (r < 0)
                return r;
        opts = sym_PQconninfo(c->pg);
        if (!opts)
                return -ENOMEM;
        for (PQconninfoOption *o = opts; o->keyword && n < ELEMENTSOF(keys) - 1; o++)
                if (o->val && *o->val) {
                        keys[n] = o->keyword;
                        values[n++] = o->val;
                }
        keys[n] = values[n] = NULL;
        w = calloc(1, sizeof *w);
        if (!w) {
                sym_PQconninfoFree(opts);
                return -ENOMEM;
        }
        w->conn.timeout_ms = c->timeout_ms;
        store_wait_begin();
        w->conn.pg = sym_PQconnectdbParams(keys, values, 0);
        store_wait_end();
        sym_PQconninfoFree(opts);
        if (!w->conn.pg || sym_PQstatus(w->conn.pg) != CONNECTION_OK) {
                log_error("store: change feed: cannot connect to PostgreSQL: %s",
                          w->conn.pg ? sym_PQerrorMessage(w->conn.pg) : "out of memory");
                sym_PQfinish(w->conn.pg);
                free(w);
                return -EIO;
        }
        sym_PQsetNoticeProcessor(w->conn.pg, pg_notice, NULL);
        r = pg_simple(&w->conn, "LISTEN " PG_CHANNEL, "listen", NULL);
        if (r < 0 || sym_PQsetnonblocking(w->conn.pg, 1) < 0) {
                sym_PQfinish(w->conn.pg);
                free(w);
                return r < 0 ? r : -EIO;
        }
        *ret = w;
        return 0;
}

static int pg_watch_fd(StoreWatch *w) {
        return sym_PQsocket(w->conn.pg);
}

static int pg_watch_read(StoreWatch *w, void (*fn)(const char *payload, void *userdata), void *userdata) {
        PGnotify *n;

        if (!sym_PQconsumeInput(w->conn.pg) || sym_PQstatus(w->conn.pg) != CONNECTION_OK) {
                log_error("store: change feed: connection to PostgreSQL lost");
                return -EIO;
        }
        while ((n = sym_PQnotifies(w->conn.pg))) {
                fn(n->extra, userdata);
                sym_PQfreemem(n);
        }
        return 0;
}

static void pg_watch_close(StoreWatch *w) {
        if (!w)
                return;
        sym_PQfinish(w->conn.pg);
        free(w);
}

/* ---- opening ---- */

static void pg_close(StoreConn *c) {
        if (!c)
                return;
        if (c->thread_running) {
                pthread_mutex_lock(&c->lock);
                c->closing = true;
                pthread_cond_broadcast(&c->wake);
                pthread_mutex_unlock(&c->lock);
                (void) pthread_join(c->thread, NULL);
        }
        sym_PQfinish(c->fresh);
        pg_health_leave(c);
        pthread_mutex_destroy(&c->lock);
        pthread_cond_destroy(&c->wake);
        for (size_t i = 0; i < PG_STMT_CACHE; i++)
                pg_stmt_free(c->stmts[i]);
        sym_PQfinish(c->pg);        /* takes NULL */
        free(c);
}

static inline void pg_closep(StoreConn **c) {
        pg_close(*c);
}

/* conninfo is a libpq connection string or URI and may hold a password:
 * it is never logged. The timeout bounds the connect too, unless the
 * conninfo sets connect_timeout itself. */
static int pg_open_timeout(const char *conninfo, unsigned timeout_ms, StoreConn **ret) {
        _cleanup_(pg_closep) StoreConn *c = NULL;
        char connect_timeout[16], options[96];
        int server_ms;
        /* Later keys override earlier ones: what the conninfo says wins. */
        const char *keys[] = { "connect_timeout", "options", "application_name", "dbname", NULL };
        const char *values[] = { connect_timeout, options, "sauthd", conninfo, NULL };

        if (!conninfo || !ret)
                return -EINVAL;
        if (pq_load() < 0)
                return -EOPNOTSUPP;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        pthread_mutex_init(&c->lock, NULL);
        {
                /* Timed waits on it count monotonic time: a clock set
                 * back must not stretch them. */
                pthread_condattr_t attr;

                pthread_condattr_init(&attr);
                pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
                pthread_cond_init(&c->wake, &attr);
                pthread_condattr_destroy(&attr);
        }
        if (pg_health_new(c) < 0)
                return -ENOMEM;
        c->timeout_ms = timeout_ms ? (int) MIN(timeout_ms, (unsigned) INT_MAX) : PG_DEFAULT_TIMEOUT_MS;
        snprintf(connect_timeout, sizeof connect_timeout, "%d", MAX(2, (c->timeout_ms + 999) / 1000));
        /* The server gives up on its side a little before we do, so that
         * a statement that is only slow (a lock another host holds) ends
         * with the server's error and the connection stays usable; our
         * deadline is for a server that does not answer at all. */
        server_ms = MAX(c->timeout_ms - 500, c->timeout_ms / 2);
        snprintf(options, sizeof options, "-c statement_timeout=%d -c lock_timeout=%d", server_ms, server_ms);
        c->pg = sym_PQconnectdbParams(keys, values, 1);
        if (!c->pg)
                return -ENOMEM;
        if (sym_PQstatus(c->pg) != CONNECTION_OK) {
                /* libpq's message names the host and the reason, not the
                 * password. */
                log_error("store: cannot connect to PostgreSQL: %s", sym_PQerrorMessage(c->pg));
                return -EIO;
        }
        sym_PQsetNoticeProcessor(c->pg, pg_notice, NULL);
        c->generation = 1;
        *ret = TAKE_PTR(c);
        return 0;
}

static int pg_open(const char *conninfo, StoreConn **ret) {
        return pg_open_timeout(conninfo, 0, ret);
}

static void pg_join(StoreConn *c, StoreConn *first) {
        PgHealth *h = first->health;

        pg_health_leave(c);
        pthread_mutex_lock(&h->lock);
        c->health = h;
        c->health_next = h->members;
        h->members = c;
        h->refs++;
        pthread_mutex_unlock(&h->lock);
}

const StoreDriver store_driver_postgresql = {
        .name = "postgresql",
        .remote = true,
        .open = pg_open,
        .open_timeout = pg_open_timeout,
        .join = pg_join,
        .close = pg_close,
        .exec = pg_exec,
        .prepare = pg_prepare,
        .bind_text = pg_bind_text,
        .bind_int64 = pg_bind_int64,
        .bind_null = pg_bind_null,
        .step = pg_step,
        .column_is_null = pg_column_is_null,
        .column_text = pg_column_text,
        .column_int64 = pg_column_int64,
        .changes = pg_changes,
        .reset = pg_reset,
        .begin = pg_begin,
        .commit = pg_commit,
        .rollback = pg_rollback,
        .schema_init = pg_schema_init,
        .schema_version_get = pg_schema_version_get,
        .schema_version_set = pg_schema_version_set,
        .migrate_lock = pg_migrate_lock,
        .migrate_unlock = pg_migrate_unlock,
        .notify = pg_notify,
        .watch_open = pg_watch_open,
        .watch_fd = pg_watch_fd,
        .watch_read = pg_watch_read,
        .watch_close = pg_watch_close,
};
