/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "lockout.h"
#include "util.h"

typedef struct Held {
        char *username;         /* for the log */
        unsigned failures;      /* not yet written */
} Held;

static void held_free(void *p) {
        Held *h = p;

        if (h) {
                free(h->username);
                free(h);
        }
}

void lockout_hold(Manager *m, const StoreAccount *a, bool failure) {
        Held *h;

        if (!m->held && idmap_new(&m->held) < 0)
                return;
        h = idmap_get(m->held, a->id);
        if (!h) {
                h = calloc(1, sizeof *h);
                if (!h || !(h->username = strdup(a->username)) || idmap_put(m->held, a->id, h) < 0) {
                        held_free(h);
                        return;
                }
                log_warning("account %s: held until the store takes writes again", a->username);
        }
        if (failure && h->failures < m->config->deny + 1)
                h->failures++;
}

/* Writes one held account's pending failures; 0 once nothing is pending. */
static int lockout_write_pending(Manager *m, const char *account_id, Held *h, int64_t now) {
        const SauthConfig *c = m->config;
        int r;

        while (h->failures > 0) {
                r = store_record_failure(m->store, account_id, now, c->deny, (int64_t) c->fail_interval,
                                         (int64_t) c->unlock_time);
                if (r < 0 && r != -ENOENT)
                        return r;
                h->failures--;
        }
        /* A write that changes nothing tells whether the store takes
         * writes again (also when the hold came from a success). */
        return store_account_touch(m->store, account_id);
}

size_t lockout_retry(Manager *m, int64_t now) {
        _cleanup_strv_free_ char **done = NULL;
        const char *id;
        void *value;
        size_t cursor = 0, n = 0;

        if (idmap_size(m->held) == 0)
                return 0;
        done = calloc(idmap_size(m->held) + 1, sizeof *done);
        if (!done)
                return idmap_size(m->held);
        while (idmap_next(m->held, &cursor, &id, &value))
                if (lockout_write_pending(m, id, value, now) >= 0 && (done[n] = strdup(id)))
                        n++;
        for (size_t i = 0; i < n; i++) {
                Held *h = idmap_remove(m->held, done[i]);

                log_notice("account %s: the store takes writes again, no longer held", h->username);
                held_free(h);
        }
        return idmap_size(m->held);
}

bool lockout_held(Manager *m, const StoreAccount *a, int64_t now) {
        Held *h = idmap_get(m->held, a->id);

        if (!h)
                return false;
        if (lockout_write_pending(m, a->id, h, now) < 0)
                return true;
        log_notice("account %s: the store takes writes again, no longer held", h->username);
        held_free(idmap_remove(m->held, a->id));
        return false;
}

void lockout_done(Manager *m) {
        idmap_free(m->held, held_free);
        m->held = NULL;
}

bool lockout_locked_now(Manager *m, const StoreAccount *a, int64_t now) {
        _cleanup_(store_account_freep) StoreAccount *fresh = NULL;

        if (idmap_get(m->held, a->id))
                return true;
        if (store_account_by_uid(m->store, a->uid, &fresh) < 0 || !streq(fresh->id, a->id))
                return true;
        return fresh->locked_until > now;
}

void lockout_record_failure(Manager *m, const StoreAccount *a, int64_t now) {
        const SauthConfig *c = m->config;
        int r;

        /* An account without a password cannot be guessed at: nothing to
         * count (and nothing to lock its owner out of setting one). */
        if (!a->password_hash)
                return;
        r = store_record_failure(m->store, a->id, now, c->deny, (int64_t) c->fail_interval, (int64_t) c->unlock_time);
        if (r < 0) {
                log_error("account %s: failure not recorded: %s", a->username, strerror(-r));
                lockout_hold(m, a, true);
        }
        else if (c->deny > 0 && r == (int) c->deny)
                log_warning("account %s locked after %d failures", a->username, r);
}
