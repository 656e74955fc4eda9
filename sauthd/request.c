/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "log.h"
#include "request.h"

/* A delayed reply may fire this much after its time: sd-event's default
 * accuracy (250 ms) would add that much to every fixed delay. */
#define REQUEST_TIMER_ACCURACY_USEC 1000

struct Request {
        RequestTracker *tracker;
        sd_bus_message *call;
        void *job;
        void (*free_job)(void *job);

        Quota *quota;                   /* non-NULL while a unit is held */
        uint64_t quota_key;
        ConnLimit *conns;               /* non-NULL while a call of sender is counted */
        char sender[CONNLIMIT_NAME_MAX];
        bool first;                     /* admitted as an admin: hashes go first */
        uint64_t key;                   /* the caller's uid, for the pool's round */

        request_work_fn work;
        request_done_fn done;
        bool handed_on;                 /* done() passed it to a next stage */
        bool replied;

        sd_event_source *timer;
        sd_bus_message *delayed_reply;
};

int request_new(RequestTracker *t, sd_bus_message *call, void *job, void (*free_job)(void *job),
                Request **ret) {
        Request *req = calloc(1, sizeof *req);

        if (!req) {
                if (free_job)
                        free_job(job);
                return -ENOMEM;
        }
        *req = (Request) {
                .tracker = t,
                .call = sd_bus_message_ref(call),   /* held until the request ends */
                .job = job,
                .free_job = free_job,
        };
        t->alive++;
        *ret = req;
        return 0;
}

void request_release(Request *req) {
        if (req->quota)
                quota_release(req->quota, req->quota_key);
        if (req->conns)
                connlimit_release(req->conns, req->sender);
        req->quota = NULL;
        req->conns = NULL;
}

Request *request_free(Request *req) {
        RequestTracker *t;

        if (!req)
                return NULL;
        t = req->tracker;
        request_release(req);
        if (req->free_job)
                req->free_job(req->job);
        sd_event_source_disable_unref(req->timer);
        sd_bus_message_unref(req->delayed_reply);
        sd_bus_message_unref(req->call);
        free(req);

        if (--t->alive == 0 && t->idle)
                t->idle(t->idle_userdata);
        return NULL;
}

int request_admit_connection(Request *req, ConnLimit *conns, uint64_t key, bool exempt) {
        const char *sender = req->call ? sd_bus_message_get_sender(req->call) : NULL;

        req->first = exempt;
        req->key = key;
        if (exempt || req->conns || !sender)
                return 0;
        if (!connlimit_acquire(conns, sender, key))
                return -EBUSY;
        req->conns = conns;
        strcpy(req->sender, sender);    /* connlimit_acquire() checked its length */
        return 0;
}

int request_admit(Request *req, Quota *quota, uint64_t key, bool exempt) {
        req->first = exempt;
        req->key = key;
        if (exempt || req->quota)
                return 0;
        if (!quota_acquire(quota, key))
                return -EBUSY;
        req->quota = quota;
        req->quota_key = key;
        return 0;
}

/* After a stage: the request has replied, moved on, or is answered here. */
static void request_complete(Request *req) {
        request_done_fn done = req->done;

        req->done = NULL;
        req->handed_on = false;
        if (done)
                done(req, req->job);
        if (req->handed_on)
                return;
        if (req->call && !req->replied) {
                log_error("request %s ended without a reply; answering Internal",
                          sd_bus_message_get_member(req->call) ?: "?");
                (void) request_reply_error(req, SAUTH_E_INTERNAL, "Internal error.");
        }
        request_free(req);
}

static void request_pool_work(void *userdata) {
        Request *req = userdata;

        req->work(req->job);
}

void request_tracker_defer(RequestTracker *t, void (*fn)(void *arg), void *arg) {
        if (t->defer && t->defer(fn, arg, t->defer_userdata) >= 0)
                return;
        fn(arg);
}

static void request_complete_cb(void *userdata) {
        request_complete(userdata);
}

/* Runs the done callback where the tracker says (done callbacks may
 * write to the store). */
static void request_complete_deferred(Request *req) {
        request_tracker_defer(req->tracker, request_complete_cb, req);
}

static void request_pool_done(void *userdata) {
        request_complete_deferred(userdata);
}

int request_run(Request *req, Pool *pool, request_work_fn work, request_done_fn done) {
        int r;

        req->work = work;
        req->done = done;
        r = pool_submit_for(pool, req->first, req->key, request_pool_work, request_pool_done, req);
        if (r < 0)
                return r;
        req->handed_on = true;
        return 0;
}

void request_finish(Request *req, request_done_fn done) {
        req->done = done;
        request_complete_deferred(req);
}

static int request_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Request *req = userdata;
        sd_bus_message *reply = TAKE_PTR(req->delayed_reply);

        (void) request_reply(req, reply);
        sd_bus_message_unref(reply);
        request_free(req);
        return 0;
}

int request_reply_at(Request *req, sd_bus_message *reply, uint64_t when_usec) {
        int r;

        r = sd_event_add_time(req->tracker->event, &req->timer, CLOCK_MONOTONIC, when_usec,
                              REQUEST_TIMER_ACCURACY_USEC, request_on_timer, req);
        if (r < 0)
                return r;
        req->delayed_reply = sd_bus_message_ref(reply);
        req->handed_on = true;
        return 0;
}

int request_timer_accuracy(Request *req, uint64_t *ret_usec) {
        if (!req->timer)
                return -ENODATA;
        return sd_event_source_get_time_accuracy(req->timer, ret_usec);
}

int request_reply(Request *req, sd_bus_message *reply) {
        req->replied = true;
        return sd_bus_send(NULL, reply, NULL);
}

int request_reply_error(Request *req, SauthStatus s, const char *fmt, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *name = sauth_status_error_name(s);
        va_list ap;

        if (!req->call)
                return 0;
        va_start(ap, fmt);
        (void) sd_bus_error_setfv(&error, name ?: sauth_status_error_name(SAUTH_E_INTERNAL), fmt, ap);
        va_end(ap);
        req->replied = true;
        return sd_bus_reply_method_error(req->call, &error);
}

int request_reply_error_at(Request *req, uint64_t when_usec, SauthStatus s, const char *fmt, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *name = sauth_status_error_name(s);
        va_list ap;
        int r;

        va_start(ap, fmt);
        (void) sd_bus_error_setfv(&error, name ?: sauth_status_error_name(SAUTH_E_INTERNAL), fmt, ap);
        va_end(ap);
        r = sd_bus_message_new_method_error(req->call, &reply, &error);
        if (r < 0)
                return r;
        return request_reply_at(req, reply, when_usec);
}

int request_reply_return(Request *req, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_reply_method_returnv(req->call, types, ap);
        va_end(ap);
        req->replied = true;
        return r;
}

sd_bus_message *request_call(Request *req) {
        return req->call;
}

void *request_job(Request *req) {
        return req->job;
}
