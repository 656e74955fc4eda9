/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apikeys.h"
#include "fleet.h"
#include "log.h"
#include "manager.h"
#include "session.h"
#include "store.h"
#include "util.h"

/*
 * The other hosts' changes. The feed is read on the loop, where reading
 * never waits (the payloads are there when its fd is readable); what a
 * change means for the caches is read from the store on a store worker,
 * one round at a time and in the order the changes came.
 */

#define FLEET_RETRY_USEC (1000 * 1000)
/* Changes waiting at most; beyond, everything is read again instead. */
#define FLEET_QUEUE_MAX 4096

typedef struct FleetChange {
        struct FleetChange *next;
        char kind[32];
        char id[];
} FleetChange;

struct Fleet {
        Manager *m;
        StoreFeed *feed;
        sd_event_source *io;
        sd_event_source *retry;
        FleetChange *head, *tail;       /* read from the feed, not yet applied */
        unsigned n_queued;
        bool reload;            /* the queue overflowed: read everything again */
        bool busy;              /* a round runs (it may wait on the store) */
};

static void fleet_arm_retry(Fleet *f);

static void fleet_queue_clear(Fleet *f) {
        while (f->head) {
                FleetChange *c = f->head;

                f->head = c->next;
                free(c);
        }
        f->tail = NULL;
        f->n_queued = 0;
}

/* Everything another host may have changed, read again. */
static int fleet_reload_all(Fleet *f) {
        Manager *m = f->m;
        int64_t now = time(NULL);
        int r;

        r = sessions_reload_revoked(m->sessions, m->store, NULL, (uint64_t) now);
        if (r >= 0)
                r = apikeys_reload(m->apikeys, m->store, NULL, now);
        if (r >= 0)
                r = sessions_load_fleet_keys(m->sessions, m->store, (uint64_t) now);
        return r;
}

static void fleet_account_changed(Manager *m, const char *username) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;

        if (store_account_by_username(m->store, username, &a) >= 0)
                apikeys_set_account_active(m->apikeys, a->uid, streq(a->status, SAUTH_STATUS_ACTIVE));
}

static int fleet_apply(Manager *m, const FleetChange *c) {
        int64_t now = time(NULL);

        if (streq(c->kind, "sessions") && *c->id)
                return sessions_reload_revoked(m->sessions, m->store, c->id, (uint64_t) now);
        if (streq(c->kind, "apikeys") && *c->id)
                return apikeys_reload(m->apikeys, m->store, c->id, now);
        if (streq(c->kind, "account") && *c->id)
                fleet_account_changed(m, c->id);
        else if (streq(c->kind, "keys"))
                return sessions_load_fleet_keys(m->sessions, m->store, (uint64_t) now);
        return 0;
}

/* The feed is gone or the caches may lag behind the store: listen again
 * and read everything, once the store answers. */
static void fleet_lost(Fleet *f) {
        store_feed_close(f->feed);
        f->feed = NULL;
        f->io = sd_event_source_disable_unref(f->io);
        fleet_queue_clear(f);
        f->reload = false;
        fleet_arm_retry(f);
}

static void fleet_kick(Fleet *f);

/* On a store worker: the queued changes, in order. */
static void fleet_apply_round(void *userdata) {
        Fleet *f = userdata;
        int r = 0;

        while (r >= 0 && f->feed && (f->reload || f->head)) {
                if (f->reload) {
                        f->reload = false;
                        r = fleet_reload_all(f);
                        continue;
                }
                FleetChange *c = f->head;

                f->head = c->next;
                if (!f->head)
                        f->tail = NULL;
                f->n_queued--;
                r = fleet_apply(f->m, c);
                if (r < 0)
                        log_warning("fleet: cannot apply a change (%s): %s; reloading", c->kind, strerror(-r));
                free(c);
        }
        if (r < 0 && f->feed)
                fleet_lost(f);
        f->busy = false;
        fleet_kick(f);
}

static void fleet_kick(Fleet *f) {
        if (f->busy || !f->feed || (!f->head && !f->reload))
                return;
        f->busy = true;
        request_tracker_defer(&f->m->requests, fleet_apply_round, f);
}

static void fleet_on_change(const char *kind, const char *id, void *userdata) {
        Fleet *f = userdata;
        size_t len = strlen(id);
        FleetChange *c;

        if (f->reload)
                return;         /* everything is read again anyway */
        c = f->n_queued < FLEET_QUEUE_MAX && strlen(kind) < sizeof c->kind ? malloc(sizeof *c + len + 1) : NULL;
        if (!c) {
                fleet_queue_clear(f);
                f->reload = true;
                return;
        }
        c->next = NULL;
        strcpy(c->kind, kind);
        memcpy(c->id, id, len + 1);
        if (f->tail)
                f->tail->next = c;
        else
                f->head = c;
        f->tail = c;
        f->n_queued++;
}

static int fleet_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Fleet *f = userdata;

        if (store_feed_dispatch(f->feed, fleet_on_change, f) < 0) {
                log_warning("fleet: change feed lost; reconnecting");
                fleet_lost(f);
                return 0;
        }
        fleet_kick(f);
        return 0;
}

static int fleet_listen(Fleet *f) {
        int r;

        r = store_feed_open(f->m->store, &f->feed);
        if (r < 0)
                return r;
        r = sd_event_add_io(f->m->event, &f->io, store_feed_fd(f->feed), EPOLLIN, fleet_on_io, f);
        if (r < 0) {
                store_feed_close(f->feed);
                f->feed = NULL;
        }
        return r;
}

/* On a store worker: listen again, then read what may have changed
 * meanwhile; changes heard since are applied after. */
static void fleet_retry_round(void *userdata) {
        Fleet *f = userdata;

        if (fleet_listen(f) < 0 || fleet_reload_all(f) < 0) {
                if (f->feed)
                        fleet_lost(f);
                else
                        fleet_arm_retry(f);
        } else
                log_notice("fleet: change feed back; caches reloaded");
        f->busy = false;
        fleet_kick(f);
}

static int fleet_on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Fleet *f = userdata;

        if (f->busy || f->feed) {
                if (!f->feed)
                        fleet_arm_retry(f);
                return 0;
        }
        f->busy = true;
        request_tracker_defer(&f->m->requests, fleet_retry_round, f);
        return 0;
}

static void fleet_arm_retry(Fleet *f) {
        uint64_t now;

        if (sd_event_now(f->m->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        if (!f->retry) {
                if (sd_event_add_time(f->m->event, &f->retry, CLOCK_MONOTONIC, now + FLEET_RETRY_USEC,
                                      10 * 1000, fleet_on_retry, f) < 0)
                        log_error("fleet: cannot arm the reconnect timer");
                return;
        }
        (void) sd_event_source_set_time(f->retry, now + FLEET_RETRY_USEC);
        (void) sd_event_source_set_enabled(f->retry, SD_EVENT_ONESHOT);
}

int fleet_start(Manager *m) {
        Fleet *f;
        int r;

        /* One host alone has nobody to tell: no write at start. */
        if (!store_is_remote(m->store))
                return 0;
        r = sessions_publish_keys(m->sessions, m->store);
        if (r < 0) {
                log_error("cannot publish the session token keys in the store: %s", strerror(-r));
                return r;
        }
        r = sessions_load_fleet_keys(m->sessions, m->store, (uint64_t) time(NULL));
        if (r < 0) {
                log_error("cannot read the other hosts' session token keys: %s", strerror(-r));
                return r;
        }
        f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->m = m;
        m->fleet = f;
        r = fleet_listen(f);
        if (r < 0) {
                log_error("cannot listen for the other hosts' changes: %s", strerror(-r));
                return r;
        }
        return 0;
}

void fleet_stop(Manager *m) {
        Fleet *f = m->fleet;

        if (!f)
                return;
        sd_event_source_disable_unref(f->io);
        sd_event_source_disable_unref(f->retry);
        store_feed_close(f->feed);
        fleet_queue_clear(f);
        free(f);
        m->fleet = NULL;
}
