/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "ratelimit.h"

void ratelimit_init(RateLimit *rl, double rate_per_sec, double burst) {
        memset(rl, 0, sizeof *rl);
        rl->rate_per_sec = rate_per_sec;
        rl->burst = burst;
}

static RateBucket *ratelimit_bucket(RateLimit *rl, uint64_t key, uint64_t now_usec) {
        RateBucket *victim = NULL;

        for (size_t i = 0; i < RATELIMIT_SLOTS; i++) {
                RateBucket *b = &rl->slots[i];

                if (b->used && b->key == key)
                        return b;
                /* A free slot wins; else the one idle the longest. */
                if (!victim || (victim->used && (!b->used || b->last_usec < victim->last_usec)))
                        victim = b;
        }
        *victim = (RateBucket) { .key = key, .tokens = rl->burst, .last_usec = now_usec, .used = true };
        return victim;
}

bool ratelimit_allow(RateLimit *rl, uint64_t key, uint64_t now_usec) {
        RateBucket *b = ratelimit_bucket(rl, key, now_usec);
        double elapsed;

        if (now_usec > b->last_usec) {
                elapsed = (double) (now_usec - b->last_usec) / 1e6;
                b->tokens += elapsed * rl->rate_per_sec;
                if (b->tokens > rl->burst)
                        b->tokens = rl->burst;
                b->last_usec = now_usec;
        }
        if (b->tokens < 1.0)
                return false;
        b->tokens -= 1.0;
        return true;
}

void quota_init(Quota *q, unsigned per_key, unsigned total) {
        memset(q, 0, sizeof *q);
        q->per_key = per_key;
        q->total = total;
}

bool quota_acquire(Quota *q, uint64_t key) {
        typeof(q->slots[0]) *free_slot = NULL;

        if (q->used >= q->total)
                return false;
        for (size_t i = 0; i < QUOTA_SLOTS; i++) {
                if (q->slots[i].n > 0 && q->slots[i].key == key) {
                        if (q->slots[i].n >= q->per_key)
                                return false;
                        q->slots[i].n++;
                        q->used++;
                        return true;
                }
                if (q->slots[i].n == 0 && !free_slot)
                        free_slot = &q->slots[i];
        }
        /* More distinct keys in flight than slots: refuse, fail closed. */
        if (!free_slot)
                return false;
        free_slot->key = key;
        free_slot->n = 1;
        q->used++;
        return true;
}

void quota_release(Quota *q, uint64_t key) {
        for (size_t i = 0; i < QUOTA_SLOTS; i++)
                if (q->slots[i].n > 0 && q->slots[i].key == key) {
                        q->slots[i].n--;
                        q->used--;
                        return;
                }
}

void connlimit_init(ConnLimit *c, unsigned per_conn, unsigned conns_per_key) {
        memset(c, 0, sizeof *c);
        c->per_conn = per_conn;
        c->conns_per_key = conns_per_key;
}

bool connlimit_acquire(ConnLimit *c, const char *sender, uint64_t key) {
        typeof(c->slots[0]) *free_slot = NULL;
        unsigned conns = 0;

        if (!sender || strlen(sender) >= CONNLIMIT_NAME_MAX)
                return false;
        for (size_t i = 0; i < CONNLIMIT_SLOTS; i++) {
                if (c->slots[i].n == 0) {
                        if (!free_slot)
                                free_slot = &c->slots[i];
                        continue;
                }
                if (strcmp(c->slots[i].sender, sender) == 0) {
                        if (c->slots[i].n >= c->per_conn)
                                return false;
                        c->slots[i].n++;
                        return true;
                }
                if (c->slots[i].key == key)
                        conns++;
        }
        if (!free_slot || conns >= c->conns_per_key)
                return false;
        strcpy(free_slot->sender, sender);
        free_slot->key = key;
        free_slot->n = 1;
        return true;
}

void connlimit_release(ConnLimit *c, const char *sender) {
        for (size_t i = 0; i < CONNLIMIT_SLOTS; i++)
                if (c->slots[i].n > 0 && strcmp(c->slots[i].sender, sender) == 0) {
                        if (--c->slots[i].n == 0)
                                c->slots[i].sender[0] = '\0';
                        return;
                }
}
