/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "pool.h"
#include "ratelimit.h"
#include "sauth-errors.h"
#include "util.h"

/*
 * The one path for "hold the request, work elsewhere, reply later".
 *
 * A Request holds a method call (or none, for internal work such as mail),
 * an admission ticket (a unit of a per-caller quota, released when the
 * request ends), the job's own data, and what to do when the work is done.
 * Work runs on a pool worker (request_run), on the loop at a time
 * (request_reply_at), or — for I/O driven by the loop, such as HTTP — is
 * finished by whoever drives it (request_finish).
 *
 * The rule that keeps every call answered: when a request's done callback
 * returns, the request has replied, or has been handed to a next stage
 * (request_run or request_reply_at again), or the module replies Internal
 * on its behalf. Then it is freed — the call unreferenced, the ticket given
 * back, the job freed (its free function wipes its secrets).
 *
 * The tracker counts requests alive, so that shutdown waits for the last
 * reply.
 */

typedef struct Request Request;

typedef struct RequestTracker {
        sd_event *event;
        unsigned alive;
        void (*idle)(void *userdata);   /* called when alive drops to 0 */
        void *idle_userdata;
        /* Where done callbacks run: NULL on the loop; else defer() takes
         * fn(arg) elsewhere (the store workers, store-work.h) and returns
         * >= 0, or fails and fn runs on the loop after all. */
        int (*defer)(void (*fn)(void *arg), void *arg, void *userdata);
        void *defer_userdata;
} RequestTracker;

/* Runs on a pool worker: no sd-bus, no store. */
typedef void (*request_work_fn)(void *job);
/* Runs once the work is done: on the loop, or where the tracker defers
 * it to (a store worker, under the daemon lock). */
typedef void (*request_done_fn)(Request *req, void *job);

/* A request for call (NULL for internal work), owning job (freed with
 * free_job, which may be NULL) — also when it fails. The call is referenced
 * until the end. */
int request_new(RequestTracker *t, sd_bus_message *call, void *job, void (*free_job)(void *job),
                Request **ret);

/* A round of work that must not overlap itself (a timer's batch, which
 * may wait on the store): request_round_start() says whether to start one
 * now; asked while one runs, the ask is kept, and request_round_end() says
 * whether to start another at once. */
typedef struct RequestRound {
        bool busy;
        bool again;
} RequestRound;

static inline bool request_round_start(RequestRound *r) {
        if (r->busy) {
                r->again = true;
                return false;
        }
        r->busy = true;
        return true;
}

static inline bool request_round_end(RequestRound *r) {
        bool again = r->again;

        r->busy = r->again = false;
        return again;
}

/* Runs fn(arg) where the tracker runs done callbacks (on a store worker
 * with a remote store), or at once when it has nowhere else. */
void request_tracker_defer(RequestTracker *t, void (*fn)(void *arg), void *arg);

/* Ends a request that was never started (its job is freed too). Takes NULL. */
Request *request_free(Request *req);
static inline void request_freep(Request **req) {
        request_free(*req);
}

/* Takes a unit of quota for key, unless exempt (admins). -EBUSY when the key
 * or the quota is at its cap. Released when the request ends. Also sets
 * the request's place in the pool: exempt ones go first, the others take
 * turns by key. */
int request_admit(Request *req, Quota *quota, uint64_t key, bool exempt);

/* Counts the request against its connection (the call's sender) and the
 * connections of key, unless exempt. -EBUSY at a cap. Released when the
 * request ends. */
int request_admit_connection(Request *req, ConnLimit *conns, uint64_t key, bool exempt);

/* Gives back what request_admit() and request_admit_connection() took,
 * before the request ends (a call handed on to a handler that admits it
 * again). */
void request_release(Request *req);

/* Queues work on pool; done runs on the loop after it. Ownership of req
 * passes to the pool on success; on failure (-EBUSY: pool full) the caller
 * still owns it. */
_must_check_ int request_run(Request *req, Pool *pool, request_work_fn work, request_done_fn done);

/* Replies with reply at CLOCK_MONOTONIC time when_usec (a fixed delay that
 * hides what the work took). Ownership of req passes to the timer. */
_must_check_ int request_reply_at(Request *req, sd_bus_message *reply, uint64_t when_usec);
/* The accuracy the timer of a delayed reply was given (sd-event's default
 * would coalesce it by up to 250 ms); -ENODATA without one. */
int request_timer_accuracy(Request *req, uint64_t *ret_usec);

/* For work driven by the loop itself: the caller keeps req and calls
 * request_finish() when the work is done, which runs done and ends it. */
void request_finish(Request *req, request_done_fn done);

/* An error reply at CLOCK_MONOTONIC time when_usec; as request_reply_at. */
_must_check_ int request_reply_error_at(Request *req, uint64_t when_usec, SauthStatus s, const char *fmt, ...)
        _printf_(4, 5);

/* Replies to the held call. */
int request_reply(Request *req, sd_bus_message *reply);
int request_reply_error(Request *req, SauthStatus s, const char *fmt, ...) _printf_(3, 4);
/* Replies with values, as sd_bus_reply_method_return() takes them. */
int request_reply_return(Request *req, const char *types, ...);
/* The held call (NULL for internal work), to build a reply from. */
sd_bus_message *request_call(Request *req);

/* The job, for stages that did not get it as an argument. */
void *request_job(Request *req);
