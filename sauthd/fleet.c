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

#define FLEET_RETRY_USEC (1000 * 1000)

struct Fleet {
        Manager *m;
        StoreFeed *feed;
        sd_event_source *io;
        sd_event_source *retry;
};

static void fleet_arm_retry(Fleet *f);

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

static void fleet_on_change(const char *kind, const char *id, void *userdata) {
        Fleet *f = userdata;
        Manager *m = f->m;
        int64_t now = time(NULL);
        int r = 0;

        if (streq(kind, "sessions") && *id)
                r = sessions_reload_revoked(m->sessions, m->store, id, (uint64_t) now);
        else if (streq(kind, "apikeys") && *id)
                r = apikeys_reload(m->apikeys, m->store, id, now);
        else if (streq(kind, "account") && *id)
                fleet_account_changed(m, id);
        else if (streq(kind, "keys"))
                r = sessions_load_fleet_keys(m->sessions, m->store, (uint64_t) now);
        if (r < 0) {
                /* The cache may now lag behind the store: read it all again
                 * once the store answers. */
                log_warning("fleet: cannot apply a change (%s): %s; reloading", kind, strerror(-r));
                store_feed_close(f->feed);
                f->feed = NULL;
                f->io = sd_event_source_disable_unref(f->io);
                fleet_arm_retry(f);
        }
}

static int fleet_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Fleet *f = userdata;

        if (store_feed_dispatch(f->feed, fleet_on_change, f) < 0 && f->feed) {
                log_warning("fleet: change feed lost; reconnecting");
                store_feed_close(f->feed);
                f->feed = NULL;
                f->io = sd_event_source_disable_unref(f->io);
                fleet_arm_retry(f);
        }
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

static int fleet_on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Fleet *f = userdata;

        if (fleet_listen(f) < 0 || fleet_reload_all(f) < 0) {
                if (f->feed) {
                        store_feed_close(f->feed);
                        f->feed = NULL;
                        f->io = sd_event_source_disable_unref(f->io);
                }
                fleet_arm_retry(f);
                return 0;
        }
        log_notice("fleet: change feed back; caches reloaded");
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
        free(f);
        m->fleet = NULL;
}
