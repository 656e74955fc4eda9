/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "idmap.h"
#include "log.h"
#include "outbox-key.h"
#include "outbox.h"
#include "tokens.h"
#include "util.h"

/*
 * The outbox pump: see outbox.h. Everything here runs on the loop, or
 * with a remote store on a store worker under the daemon lock; the mail
 * pool's workers see only a rendered message and its recipient.
 */

#define USEC_PER_SEC UINT64_C(1000000)
/* The pump runs this soon after a kick: a mailed token may live only
 * seconds ([tokens] confirm_lifetime). */
#define OUTBOX_TIMER_ACCURACY_USEC 1000
/* A claimed message waits this long past [mail] timeout before another host
 * takes it over. */
#define OUTBOX_CLAIM_SLACK 30

struct Outbox {
        sd_event *event;
        Store *store;
        Pool *pool;
        RequestTracker *requests;
        const SauthConfig *config;
        OutboxKey *key;
        sd_event_source *timer; /* CLOCK_REALTIME: next_attempt is UNIX time */
        IdMap *in_flight;       /* id -> OutboxSending, handed to the pool */
        bool stopping;
        RequestRound pass;      /* on a store worker, a pass may wait */
};

/* One message on its way: what the result needs to be recorded. */
typedef struct OutboxSending {
        Outbox *outbox;
        char *id;
        char *template_name;
        char *recipient;
        int64_t attempts;
        int64_t expires;
} OutboxSending;

/* One due row, copied out of the walk (the store is written afterwards). */
typedef struct OutboxDue {
        char *id, *template_name, *recipient, *body, *last_error;
        int64_t attempts, expires, next_attempt;
} OutboxDue;

static void outbox_sending_free(OutboxSending *s) {
        if (!s)
                return;
        free(s->id);
        free(s->template_name);
        free(s->recipient);
        free(s);
}

static void outbox_due_done(OutboxDue *d) {
        free(d->id);
        free(d->template_name);
        free(d->recipient);
        free(d->body);
        free(d->last_error);
        *d = (OutboxDue) {};
}

int64_t outbox_backoff(unsigned retry_min, int64_t attempts) {
        int64_t d = retry_min > 0 ? retry_min : 1;

        for (int64_t i = 1; i < attempts && d < OUTBOX_RETRY_MAX_SEC; i++)
                d *= 2;
        return d < OUTBOX_RETRY_MAX_SEC ? d : OUTBOX_RETRY_MAX_SEC;
}

/* ---- preparing a message ---- */

void outbox_mail_done(OutboxMail *m) {
        if (!m)
                return;
        free(m->template_name);
        free(m->recipient);
        free(m->body);
        *m = (OutboxMail) {};
}

int outbox_prepare(Outbox *o, const char *template_name, const MailFields *f, int64_t now, int64_t expires,
                   OutboxMail *ret) {
        _cleanup_erase_ char *message = NULL;
        OutboxMail m = {};
        int r;

        if (!o || !f || !f->to || expires <= now)
                return -EINVAL;
        r = mail_render(o->config, template_name, f, &message);
        if (r < 0)
                return r;
        id_new(m.id);
        m.template_name = strdup(template_name);
        m.recipient = strdup(f->to);
        r = m.template_name && m.recipient ? outbox_seal(o->key, message, &m.body) : -ENOMEM;
        if (r < 0) {
                outbox_mail_done(&m);
                return r;
        }
        *ret = m;
        ret->row = (StoreMail) {
                .id = ret->id, .template_name = ret->template_name, .recipient = ret->recipient,
                .body = ret->body, .created = now, .expires = expires, .next_attempt = now,
        };
        return 0;
}

/* ---- the pump ---- */

static int outbox_on_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* Runs the pump at UNIX time when (seconds), or earlier if it is due
 * earlier already. */
static void outbox_schedule(Outbox *o, int64_t when) {
        uint64_t usec = when <= 0 ? 1 : (uint64_t) when * USEC_PER_SEC, cur = 0;
        int enabled = SD_EVENT_OFF, r;

        if (o->stopping || !o->timer)
                return;
        (void) sd_event_source_get_enabled(o->timer, &enabled);
        if (enabled != SD_EVENT_OFF && sd_event_source_get_time(o->timer, &cur) >= 0 && cur <= usec)
                return;
        r = sd_event_source_set_time(o->timer, usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(o->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error("outbox: cannot arm the pump: %s", strerror(-r));
}

void outbox_kick(Outbox *o) {
        if (o)
                outbox_schedule(o, 0);
}

void outbox_stop(Outbox *o) {
        if (!o)
                return;
        o->stopping = true;
        if (o->timer)
                (void) sd_event_source_set_enabled(o->timer, SD_EVENT_OFF);
}

static void outbox_delete(Outbox *o, const char *id, const char *why) {
        int r = store_mail_delete(o->store, id);

        if (r < 0 && r != -ENOENT)
                log_error("outbox: message %s %s, but not removed from the outbox: %s", id, why, strerror(-r));
}

static void outbox_expired(Outbox *o, const char *id, const char *template_name, const char *recipient,
                           int64_t attempts, const char *last_error) {
        log_error("mail %s (%s to %s): not sent, expired after %lld attempts%s%s", id, template_name,
                  recipient, (long long) attempts, isempty(last_error) ? "" : "; last error: ",
                  strempty(last_error));
        outbox_delete(o, id, "expired");
}

static void outbox_on_sent(void *userdata, int r, const char *reason) {
        OutboxSending *s = userdata;
        Outbox *o = s->outbox;
        int64_t now = time(NULL), attempts = s->attempts + 1;

        (void) idmap_remove(o->in_flight, s->id);
        if (r >= 0) {
                log_info("mail %s (%s) sent", s->id, s->template_name);
                outbox_delete(o, s->id, "sent");
        } else if (now >= s->expires)
                outbox_expired(o, s->id, s->template_name, s->recipient, attempts, reason);
        else {
                int64_t delay = outbox_backoff(o->config->mail_retry_min, attempts);
                int q = store_mail_retry(o->store, s->id, now + delay, reason);

                if (q < 0)
                        log_error("outbox: attempt %lld of message %s not recorded: %s", (long long) attempts,
                                  s->id, strerror(-q));
                else
                        log_warning("mail %s (%s): attempt %lld failed, next in %lld s", s->id, s->template_name,
                                    (long long) attempts, (long long) delay);
        }
        outbox_sending_free(s);
        outbox_kick(o);
}

/* Hands one due message to the pool. -EBUSY when the pool is full. */
static int outbox_hand(Outbox *o, const OutboxDue *d) {
        _cleanup_erase_ char *message = NULL;
        OutboxSending *s;
        int r;

        if (store_is_remote(o->store)) {
                /* Other hosts pump the same outbox: take the message for
                 * as long as a send may take, so that it goes out once. A
                 * host that dies meanwhile leaves it to the others after
                 * that. */
                r = store_mail_claim(o->store, d->id, d->next_attempt,
                                     (int64_t) time(NULL) + o->config->mail_timeout + OUTBOX_CLAIM_SLACK);
                if (r == -EALREADY)
                        return 0;
                if (r < 0)
                        return r;
        }
        r = outbox_unseal(o->key, d->body, &message);
        if (r < 0 && store_is_remote(o->store)) {
                /* Perhaps sealed by a host with another key: not ours to
                 * delete. It expires like any message no host can send. */
                log_error("mail %s (%s to %s): cannot be opened with this host's outbox key: %s "
                          "(every host sharing the store needs the same [mail] outbox_key_file)",
                          d->id, d->template_name, d->recipient, strerror(-r));
                return 0;
        }
        if (r < 0) {
                /* Another key, or a damaged row: it can never be sent. */
                log_error("mail %s (%s to %s): not sent, cannot be opened with the outbox key: %s", d->id,
                          d->template_name, d->recipient, strerror(-r));
                outbox_delete(o, d->id, "unreadable");
                return 0;
        }
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        *s = (OutboxSending) {
                .outbox = o, .id = strdup(d->id), .template_name = strdup(d->template_name),
                .recipient = strdup(d->recipient), .attempts = d->attempts, .expires = d->expires,
        };
        r = s->id && s->template_name && s->recipient ? idmap_put(o->in_flight, s->id, s) : -ENOMEM;
        if (r < 0) {
                outbox_sending_free(s);
                return r;
        }
        r = mail_send_async(o->requests, o->pool, o->config, d->template_name, d->recipient, &message,
                            outbox_on_sent, s);
        if (r < 0) {
                (void) idmap_remove(o->in_flight, s->id);
                outbox_sending_free(s);
        }
        return r;
}

typedef struct OutboxWalk {
        OutboxDue rows[2 * OUTBOX_IN_FLIGHT_MAX];
        size_t n;
} OutboxWalk;

static int outbox_collect(const StoreMail *m, void *userdata) {
        OutboxWalk *w = userdata;
        OutboxDue *d = &w->rows[w->n];

        if (w->n >= ELEMENTSOF(w->rows))
                return -E2BIG;
        *d = (OutboxDue) {
                .id = strdup(m->id), .template_name = strdup(m->template_name),
                .recipient = strdup(m->recipient), .body = strdup(m->body), .last_error = strdup(m->last_error),
                .attempts = m->attempts, .expires = m->expires, .next_attempt = m->next_attempt,
        };
        w->n++;
        if (!d->id || !d->template_name || !d->recipient || !d->body || !d->last_error)
                return -ENOMEM;
        return 0;
}

static void outbox_walk_done(OutboxWalk *w) {
        for (size_t i = 0; i < w->n; i++)
                outbox_due_done(&w->rows[i]);
        w->n = 0;
}

/* One pass: expired messages go (with a log line), due ones are handed
 * to the pool while it has room. Returns whether a full batch was seen
 * (there may be more right away). */
static int outbox_pump(Outbox *o, int64_t now) {
        _cleanup_(outbox_walk_done) OutboxWalk w = {};
        size_t in_flight = idmap_size(o->in_flight);
        bool pool_full = false;
        int r;

        /* The in-flight messages are due too and may come first: ask for
         * them and a pool's worth more. */
        r = store_mail_foreach(o->store, now, (unsigned) (in_flight + OUTBOX_IN_FLIGHT_MAX), outbox_collect, &w);
        if (r < 0)
                return r;
        for (size_t i = 0; i < w.n; i++) {
                const OutboxDue *d = &w.rows[i];

                if (idmap_get(o->in_flight, d->id))
                        continue;
                if (d->expires <= now)
                        outbox_expired(o, d->id, d->template_name, d->recipient, d->attempts, d->last_error);
                else if (!pool_full && idmap_size(o->in_flight) < OUTBOX_IN_FLIGHT_MAX) {
                        r = outbox_hand(o, d);
                        if (r == -EBUSY)
                                pool_full = true; /* the next send's end runs the pump again */
                        else if (r < 0)
                                log_error("outbox: message %s not handed to the mail pool: %s", d->id, strerror(-r));
                }
        }
        return w.n == in_flight + OUTBOX_IN_FLIGHT_MAX && !pool_full &&
               idmap_size(o->in_flight) < OUTBOX_IN_FLIGHT_MAX;
}

static void outbox_pass(Outbox *o) {
        int64_t now = time(NULL), next;
        int r;

        if (o->stopping)
                return;
        r = outbox_pump(o, now);
        if (r < 0) {
                /* The store may be busy or full: try again later. */
                log_error("outbox: cannot read the outbox: %s", strerror(-r));
                outbox_schedule(o, now + 1);
                return;
        }
        if (r > 0) {
                outbox_kick(o);
                return;
        }
        /* Messages due now and not handed on wait for the end of a send,
         * which runs the pump again; the timer is for later ones. */
        r = store_mail_next(o->store, now, &next);
        if (r >= 0)
                outbox_schedule(o, next);
        else if (r != -ENOENT)
                outbox_schedule(o, now + 1);
}

/* One pass at a time, where the store is called (a store worker, with a
 * remote store); a kick meanwhile runs another pass after it. */
static void outbox_pass_deferred(void *userdata) {
        Outbox *o = userdata;

        outbox_pass(o);
        if (request_round_end(&o->pass))
                outbox_kick(o);
}

static int outbox_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Outbox *o = userdata;

        if (!o->stopping && request_round_start(&o->pass))
                request_tracker_defer(o->requests, outbox_pass_deferred, o);
        return 0;
}

/* ---- life ---- */

int outbox_new(const OutboxSetup *setup, Outbox **ret, char *msg, size_t msg_size) {
        _cleanup_(outbox_freep) Outbox *o = NULL;
        int r;

        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        *o = (Outbox) {
                .event = setup->event, .store = setup->store, .pool = setup->mail_pool,
                .requests = setup->requests, .config = setup->config,
        };
        r = outbox_key_load_or_create(setup->config->mail_outbox_key_file, &o->key, msg, msg_size);
        if (r < 0)
                return r;
        r = idmap_new(&o->in_flight);
        if (r < 0)
                return r;
        /* Armed at once: whatever the last run left is sent first. */
        r = sd_event_add_time(o->event, &o->timer, CLOCK_REALTIME, 1, OUTBOX_TIMER_ACCURACY_USEC,
                              outbox_on_timer, o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static void outbox_sending_free_void(void *s) {
        outbox_sending_free(s);
}

void outbox_free(Outbox *o) {
        if (!o)
                return;
        /* The pool is gone by now (manager_free): nothing is in flight. */
        idmap_free(o->in_flight, outbox_sending_free_void);
        sd_event_source_disable_unref(o->timer);
        outbox_key_free(o->key);
        free(o);
}
