/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "failtable.h"

struct FailTable {
        unsigned char key[crypto_shorthash_KEYBYTES];
        size_t n_sets;
        FailEntry *entries;
};

int failtable_new(size_t n_entries, FailTable **ret) {
        FailTable *t = calloc(1, sizeof *t);

        if (!t)
                return -ENOMEM;
        t->n_sets = (n_entries + FAILTABLE_WAYS - 1) / FAILTABLE_WAYS;
        if (t->n_sets == 0)
                t->n_sets = 1;
        t->entries = calloc(t->n_sets * FAILTABLE_WAYS, sizeof *t->entries);
        if (!t->entries) {
                free(t);
                return -ENOMEM;
        }
        randombytes_buf(t->key, sizeof t->key);
        *ret = t;
        return 0;
}

void failtable_free(FailTable *t) {
        if (!t)
                return;
        free(t->entries);
        sodium_memzero(t->key, sizeof t->key);
        free(t);
}

/* SipHash of "a\0b": the pair's key; never 0, which marks a free entry. */
static uint64_t failtable_key(const FailTable *t, const char *a, const char *b) {
        unsigned char out[crypto_shorthash_BYTES];
        size_t la = strlen(a), lb = strlen(b);
        unsigned char *buf = malloc(la + lb + 1);
        uint64_t k = 0;

        if (buf) {
                memcpy(buf, a, la + 1);
                memcpy(buf + la + 1, b, lb);
                crypto_shorthash(out, buf, la + lb + 1, t->key);
                memcpy(&k, out, sizeof k);
                sodium_memzero(buf, la + lb + 1);
                free(buf);
        }
        return k ? k : 1;
}

static bool entry_spent(const FailEntry *e, int64_t now, int64_t window) {
        return e->first == 0 || (now - e->first > window && e->until <= now);
}

FailEntry *failtable_get(FailTable *t, const char *a, const char *b, int64_t now, int64_t window, bool create) {
        uint64_t k = failtable_key(t, a, b);
        FailEntry *set = t->entries + (k % t->n_sets) * FAILTABLE_WAYS, *victim = NULL;

        for (size_t i = 0; i < FAILTABLE_WAYS; i++) {
                FailEntry *e = &set[i];

                if (e->first != 0 && e->key == k) {
                        if (entry_spent(e, now, window))
                                *e = (FailEntry) { .key = k, .group = e->group, .first = now, .last = now };
                        return e;
                }
                /* A free or spent entry wins; else the least recently failed. */
                if (!victim || (!entry_spent(victim, now, window) &&
                                (entry_spent(e, now, window) || e->last < victim->last)))
                        victim = e;
        }
        if (!create)
                return NULL;
        *victim = (FailEntry) { .key = k, .group = failtable_key(t, a, ""), .first = now, .last = now };
        return victim;
}

void failtable_forget(FailTable *t, const char *a, const char *b) {
        uint64_t k = failtable_key(t, a, b);
        FailEntry *set = t->entries + (k % t->n_sets) * FAILTABLE_WAYS;

        for (size_t i = 0; i < FAILTABLE_WAYS; i++)
                if (set[i].first != 0 && set[i].key == k)
                        set[i] = (FailEntry) {};
}

void failtable_forget_all(FailTable *t, const char *a) {
        uint64_t g = failtable_key(t, a, "");

        for (size_t i = 0; i < t->n_sets * FAILTABLE_WAYS; i++)
                if (t->entries[i].first != 0 && t->entries[i].group == g)
                        t->entries[i] = (FailEntry) {};
}

size_t failtable_size(const FailTable *t) {
        return t->n_sets * FAILTABLE_WAYS;
}
