/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "failtable.h"
#include "lockout.h"
#include "util.h"

/* Entries of the in-memory tables: (name, source) pairs, sources, unknown
 * names. Each entry is 48 bytes: 4096 of them take 192 KiB. */
#define LOCKOUT_TABLE_ENTRIES 4096

/* An ordinary caller's replies wait this long after its second failure
 * for an account, doubling with each next one, up to the cap. */
#define LOCKOUT_DELAY_USEC (250 * 1000)
#define LOCKOUT_DELAY_MAX_USEC (4 * 1000 * 1000)

/* Failures of a real account from PAM stacks, not yet written. */
typedef struct Pending {
        char *username;         /* for the log */
        unsigned failures;
        bool forgiven;          /* in the flush, and a success or unlock came meanwhile */
} Pending;

static void pending_free(void *p) {
        Pending *x = p;

        if (x) {
                free(x->username);
                free(x);
        }
}

typedef struct Held {
        char *username;         /* for the log */
        unsigned failures;      /* not yet written, nor being written */
        uint64_t serial;        /* which hold: an unlock and a new hold make another */
        bool writing;           /* lockout_release() is at work on it */
} Held;

static uint64_t held_serial;

static void held_free(void *p) {
        Held *h = p;

        if (h) {
                free(h->username);
                free(h);
        }
}

static void lockout_hold_id(Manager *m, const char *id, const char *username, unsigned failures) {
        Held *h;

        if (!m->held && idmap_new(&m->held) < 0)
                return;
        h = idmap_get(m->held, id);
        if (!h) {
                h = calloc(1, sizeof *h);
                if (!h || !(h->username = strdup(username)) || idmap_put(m->held, id, h) < 0) {
                        held_free(h);
                        return;
                }
                h->serial = ++held_serial;
                log_warning("account %s: held until the store takes writes again", username);
        }
        h->failures = MIN(h->failures + failures, m->config->deny + 1);
}

void lockout_hold(Manager *m, const StoreAccount *a, bool failure) {
        lockout_hold_id(m, a->id, a->username, failure ? 1 : 0);
}

/* The hold of account_id that is serial, or NULL if it went meanwhile. */
static Held *held_find(Manager *m, const char *account_id, uint64_t serial) {
        Held *h = idmap_get(m->held, account_id);

        return h && h->serial == serial ? h : NULL;
}

/* Writes a held account's pending failures and, once the store took them,
 * releases the account. 0 when it is no longer held, negative errno while
 * it is.
 *
 * The daemon lock is let go while the store waits, so the entry is not
 * held on to across a write: its failures are taken out first (another
 * attempt for the account, lockout_retry() or an unlock may run
 * meanwhile), the entry is marked so that no other call writes it at the
 * same time, and it is looked up again after each wait. Failures added
 * meanwhile are written in the next round; an unlock meanwhile drops
 * what was not written. */
static int lockout_release(Manager *m, const char *account_id, int64_t now) {
        const SauthConfig *c = m->config;
        _cleanup_free_ char *username = NULL;
        Held *h = idmap_get(m->held, account_id);
        uint64_t serial;
        int r;

        if (!h)
                return 0;
        if (h->writing)
                return -EBUSY;
        username = strdup(h->username);
        if (!username)
                return -ENOMEM;
        serial = h->serial;

        for (;;) {
                unsigned failures = h->failures, written = 0;

                h->failures = 0;
                h->writing = true;
                for (r = 0; written < failures; written++) {
                        r = store_record_failure(m->store, account_id, now, c->deny, (int64_t) c->fail_interval,
                                                 (int64_t) c->unlock_time);
                        if (r < 0 && r != -ENOENT)
                                break;
                        r = 0;
                }
                /* A write that changes nothing tells whether the store
                 * takes writes again (also when the hold came from a
                 * success). */
                if (r >= 0)
                        r = store_account_touch(m->store, account_id);

                h = held_find(m, account_id, serial);
                if (!h)
                        return 0;       /* unlocked meanwhile */
                h->writing = false;
                if (r < 0) {
                        h->failures = MIN(h->failures + (failures - written), c->deny + 1);
                        return r;
                }
                if (h->failures == 0)
                        break;
        }
        log_notice("account %s: the store takes writes again, no longer held", username);
        held_free(idmap_remove(m->held, account_id));
        return 0;
}

size_t lockout_retry(Manager *m, int64_t now) {
        _cleanup_strv_free_ char **ids = NULL;
        size_t n = 0, cursor = 0;
        const char *id;
        void *value;

        if (idmap_size(m->held) == 0)
                return 0;
        /* The ids first, copied: the map changes while the store is
         * written (the daemon lock is let go then), and must not during a
         * walk. */
        ids = calloc(idmap_size(m->held) + 1, sizeof *ids);
        if (!ids)
                return idmap_size(m->held);
        while (idmap_next(m->held, &cursor, &id, &value))
                if (!(ids[n++] = strdup(id)))
                        return idmap_size(m->held);
        for (size_t i = 0; i < n; i++)
                (void) lockout_release(m, ids[i], now);
        return idmap_size(m->held);
}

bool lockout_held(Manager *m, const StoreAccount *a, int64_t now) {
        return lockout_release(m, a->id, now) < 0;
}

void lockout_done(Manager *m) {
        idmap_free(m->held, held_free);
        m->held = NULL;
        idmap_free(m->pending, pending_free);
        m->pending = NULL;
        failtable_free(m->fail_pairs);
        failtable_free(m->fail_sources);
        failtable_free(m->fail_unknown);
        m->fail_pairs = m->fail_sources = m->fail_unknown = NULL;
}

int lockout_init(Manager *m) {
        int r;

        r = idmap_new(&m->pending);
        if (r >= 0)
                r = failtable_new(LOCKOUT_TABLE_ENTRIES, &m->fail_pairs);
        if (r >= 0)
                r = failtable_new(LOCKOUT_TABLE_ENTRIES, &m->fail_sources);
        if (r >= 0)
                r = failtable_new(LOCKOUT_TABLE_ENTRIES, &m->fail_unknown);
        return r;
}

void lockout_source(const Caller *c, const char *service, const char *tty, const char *rhost,
                    LockoutSource *ret) {
        *ret = (LockoutSource) { .pam = c->is_admin };
        if (!c->is_admin)
                snprintf(ret->key, sizeof ret->key, "uid:%u", (unsigned) c->uid);
        else if (!isempty(rhost))
                snprintf(ret->key, sizeof ret->key, "rhost:%s", rhost);
        else
                snprintf(ret->key, sizeof ret->key, "local:%s:%s", strempty(service), strempty(tty));
}

/* What the pair table knows a name by: the account's id (so that a user
 * name and an identity count together), or the name as given. */
static const char *lockout_name(const char *name, const StoreAccount *a) {
        return a ? a->id : name;
}

/* Failures not yet in the store: waiting for the flush, and those the
 * flush is writing (the daemon lock is let go while it waits, and they
 * must count meanwhile). */
static unsigned pending_failures(Manager *m, const StoreAccount *a) {
        Pending *p = idmap_get(m->pending, a->id);
        Pending *f = m->flushing ? idmap_get(m->flushing, a->id) : NULL;

        return (p ? p->failures : 0) + (f && !f->forgiven ? f->failures : 0);
}

/* A success or an unlock while the flush writes this account's failures:
 * whichever write lands last, the flush clears the count again after its
 * own, so that failures from before the success do not come back. True
 * if the account is in the batch. */
static bool lockout_forgive_flushing(Manager *m, const char *account_id) {
        Pending *f = m->flushing ? idmap_get(m->flushing, account_id) : NULL;

        if (f)
                f->forgiven = true;
        return f;
}

/* The store's count in its window, as store_record_failure() sees it. */
static int64_t window_failures(const SauthConfig *c, const StoreAccount *a, int64_t now) {
        if (a->first_failure == 0 || now - a->first_failure > (int64_t) c->fail_interval ||
            (a->locked_until != 0 && a->locked_until <= now))
                return 0;
        return a->failures;
}

static bool account_locked(Manager *m, const StoreAccount *a, int64_t now) {
        const SauthConfig *c = m->config;

        if (a->locked_until > now || idmap_get(m->held, a->id))
                return true;
        return c->deny > 0 && window_failures(c, a, now) + pending_failures(m, a) >= c->deny;
}

unsigned lockout_failures(Manager *m, const StoreAccount *a, int64_t now) {
        return (unsigned) MIN(window_failures(m->config, a, now) + pending_failures(m, a), (int64_t) UINT32_MAX);
}

int lockout_unlock(Manager *m, const StoreAccount *a) {
        bool flush_before = m->flushing;
        uint64_t seq = m->flush_seq;
        int r;

        /* The store first: if it cannot take the write, nothing changes
         * and a held account stays held (rule 9). */
        r = store_clear_failures(m->store, a->id);
        if (r < 0)
                return r;
        /* A flush that overlapped this write may have landed after it:
         * one still at work clears again after its write; one that ended
         * meanwhile is made up for here. */
        if (!lockout_forgive_flushing(m, a->id) && (flush_before || m->flush_seq != seq)) {
                r = store_clear_failures(m->store, a->id);
                if (r < 0)
                        return r;
        }
        pending_free(idmap_remove(m->pending, a->id));
        held_free(idmap_remove(m->held, a->id));
        /* Every source's count for this account (the pairs are known by
         * the account's id), and one kept by its name before it existed. */
        failtable_forget_all(m->fail_pairs, a->id);
        failtable_forget_all(m->fail_pairs, a->username);
        return 0;
}

int64_t lockout_locked_until(Manager *m, const StoreAccount *a, int64_t now) {
        if (a->locked_until > now)
                return a->locked_until;
        return account_locked(m, a, now) ? now + (int64_t) m->config->unlock_time : 0;
}

LockoutVerdict lockout_check(Manager *m, const LockoutSource *src, const char *name,
                             const StoreAccount *a, int64_t now) {
        const SauthConfig *c = m->config;
        int64_t window = (int64_t) c->fail_interval;
        FailEntry *e;

        e = failtable_get(m->fail_sources, "", src->key, now, window, false);
        if (e && e->until > now)
                return LOCKOUT_RATE_LIMITED;
        e = failtable_get(m->fail_pairs, lockout_name(name, a), src->key, now, window, false);
        if (e && e->until > now)
                return LOCKOUT_RATE_LIMITED;
        /* A held account first tries to write what is pending (and is
         * released when that works), before the lock is looked at. */
        if (a && (lockout_held(m, a, now) || account_locked(m, a, now)))
                return LOCKOUT_LOCKED;
        if (a && a->password_hash)
                return LOCKOUT_OPEN;
        /* No account, or one with no password yet (no password can let
         * it in): counted by name in memory, so the two lock alike. */
        e = failtable_get(m->fail_unknown, name, "", now, window, false);
        return e && e->until > now ? LOCKOUT_LOCKED : LOCKOUT_OPEN;
}

bool lockout_locked_now(Manager *m, const StoreAccount *a, int64_t now) {
        _cleanup_(store_account_freep) StoreAccount *fresh = NULL;

        if (idmap_get(m->held, a->id))
                return true;
        if (store_account_by_uid(m->store, a->uid, &fresh) < 0 || !streq(fresh->id, a->id))
                return true;
        return account_locked(m, fresh, now);
}

/* Counts one failure in e; at limit (0: none) blocks for block seconds. */
static bool lockout_count(FailEntry *e, unsigned limit, uint64_t block, int64_t now) {
        e->failures++;
        e->last = now;
        if (limit == 0 || e->failures < limit)
                return false;
        e->failures = 0;
        e->until = now + (int64_t) MIN(block, (uint64_t) INT32_MAX);
        return true;
}

static void lockout_pending_add(Manager *m, const StoreAccount *a) {
        Pending *p = idmap_get(m->pending, a->id);

        if (!p) {
                p = calloc(1, sizeof *p);
                if (!p || !(p->username = strdup(a->username)) || idmap_put(m->pending, a->id, p) < 0) {
                        /* Not counted is not an option: hold it (rule 9). */
                        pending_free(p);
                        lockout_hold(m, a, true);
                        return;
                }
        }
        if (p->failures < m->config->deny + 1)
                p->failures++;
}

uint64_t lockout_failure(Manager *m, const LockoutSource *src, const char *name,
                         const StoreAccount *a, int64_t now) {
        const SauthConfig *c = m->config;
        int64_t window = (int64_t) c->fail_interval;
        FailEntry *e;
        uint64_t delay = 0;

        e = failtable_get(m->fail_sources, "", src->key, now, window, true);
        if (lockout_count(e, c->deny_per_source, c->unlock_time, now))
                log_warning("source %s: %u failures over all accounts, refused for %" PRIu64 " s",
                            src->key, c->deny_per_source, c->unlock_time);

        if (!src->pam) {
                e = failtable_get(m->fail_pairs, lockout_name(name, a), src->key, now, window, true);
                if (e->failures >= 1)
                        delay = MIN(LOCKOUT_DELAY_USEC << MIN(e->failures - 1, 16u), LOCKOUT_DELAY_MAX_USEC);
                if (lockout_count(e, c->deny, c->caller_backoff << MIN(e->strikes, 16u), now))
                        e->strikes++;
        } else if (a && a->password_hash)
                lockout_pending_add(m, a);
        else {
                /* As lockout_check(): no password, counted like no account. */
                e = failtable_get(m->fail_unknown, name, "", now, window, true);
                (void) lockout_count(e, c->deny, c->unlock_time, now);
        }
        /* For every failure, of a real account or not: the timer's write. */
        manager_schedule_flush(m);
        return delay;
}

void lockout_success(Manager *m, const LockoutSource *src, const char *name, const StoreAccount *a) {
        failtable_forget(m->fail_pairs, lockout_name(name, a), src->key);
        if (a) {
                pending_free(idmap_remove(m->pending, a->id));
                (void) lockout_forgive_flushing(m, a->id);
        }
}

static void pending_map_freep(IdMap **m) {
        idmap_free(*m, pending_free);
}

void lockout_flush(Manager *m, int64_t now, bool wrote) {
        const SauthConfig *c = m->config;
        size_t n = idmap_size(m->pending), cursor = 0, k = 0;
        _cleanup_(pending_map_freep) IdMap *batch = NULL, *fresh = NULL;
        _cleanup_free_ char **ids = NULL;
        _cleanup_free_ unsigned *counts = NULL;
        _cleanup_free_ int *after = NULL;
        const char *id;
        void *value;
        int r;

        if (n == 0 && wrote)
                return;
        ids = calloc(n + 1, sizeof *ids);
        counts = calloc(n + 1, sizeof *counts);
        after = calloc(n + 1, sizeof *after);
        if (!ids || !counts || !after || idmap_new(&fresh) < 0)
                return; /* kept in memory, where they count already; the next tick tries again */
        /* This batch is taken out of the table before it is written: the
         * daemon lock is let go while the store waits, and failures counted
         * meanwhile go into a new table, for the next flush. */
        batch = TAKE_PTR(m->pending);
        m->pending = TAKE_PTR(fresh);
        while (idmap_next(batch, &cursor, &id, &value)) {
                ids[k] = (char *) id;
                counts[k++] = ((Pending *) value)->failures;
        }
        m->flushing = batch;
        m->flush_seq++;
        r = store_record_failures(m->store, ids, counts, n, now, c->deny, (int64_t) c->fail_interval,
                                  (int64_t) c->unlock_time, after);
        m->flushing = NULL;
        for (size_t i = 0; i < n; i++) {
                Pending *p = idmap_get(batch, ids[i]);

                if (p->forgiven) {
                        /* After our write, whatever the order of the two. */
                        if (r >= 0 && store_clear_failures(m->store, ids[i]) < 0)
                                log_warning("account %s: failures from before a success not cleared",
                                            p->username);
                        continue;
                }
                if (r < 0) {
                        log_error("account %s: failure not recorded: %s", p->username, strerror(-r));
                        lockout_hold_id(m, ids[i], p->username, p->failures);
                } else if (c->deny > 0 && after[i] >= (int) c->deny && after[i] - (int) p->failures < (int) c->deny)
                        log_warning("account %s locked after %d failures", p->username, after[i]);
        }
        /* ids point into the batch's keys, freed only now. */
}
