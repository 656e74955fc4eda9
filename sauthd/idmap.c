/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "util.h"

typedef struct IdMapSlot {
        char *key;              /* NULL: free */
        void *value;
} IdMapSlot;

struct IdMap {
        IdMapSlot *slots;
        size_t n_slots;         /* a power of two */
        size_t n_items;
        unsigned char hash_key[crypto_shorthash_KEYBYTES];
};

#define IDMAP_MIN_SLOTS 16

static size_t idmap_slot_of(const IdMap *m, const char *key) {
        unsigned char h[crypto_shorthash_BYTES];
        uint64_t v;

        crypto_shorthash(h, (const unsigned char *) key, strlen(key), m->hash_key);
        memcpy(&v, h, sizeof v);
        return (size_t) (v & (m->n_slots - 1));
}

int idmap_new(IdMap **ret) {
        IdMap *m;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->slots = calloc(IDMAP_MIN_SLOTS, sizeof *m->slots);
        if (!m->slots) {
                free(m);
                return -ENOMEM;
        }
        m->n_slots = IDMAP_MIN_SLOTS;
        crypto_shorthash_keygen(m->hash_key);
        *ret = m;
        return 0;
}

void idmap_free(IdMap *m, void (*free_value)(void *value)) {
        if (!m)
                return;
        for (size_t i = 0; i < m->n_slots; i++)
                if (m->slots[i].key) {
                        free(m->slots[i].key);
                        if (free_value)
                                free_value(m->slots[i].value);
                }
        free(m->slots);
        free(m);
}

size_t idmap_size(const IdMap *m) {
        return m ? m->n_items : 0;
}

/* The slot holding key, or the free slot where it would go. */
static size_t idmap_find(const IdMap *m, const char *key) {
        size_t i = idmap_slot_of(m, key);

        while (m->slots[i].key && !streq(m->slots[i].key, key))
                i = (i + 1) & (m->n_slots - 1);
        return i;
}

void *idmap_get(const IdMap *m, const char *key) {
        if (!m || !key)
                return NULL;
        return m->slots[idmap_find(m, key)].value;
}

static int idmap_resize(IdMap *m, size_t n_slots) {
        IdMapSlot *old = m->slots;
        size_t n_old = m->n_slots;

        m->slots = calloc(n_slots, sizeof *m->slots);
        if (!m->slots) {
                m->slots = old;
                return -ENOMEM;
        }
        m->n_slots = n_slots;
        for (size_t i = 0; i < n_old; i++)
                if (old[i].key)
                        m->slots[idmap_find(m, old[i].key)] = old[i];
        free(old);
        return 0;
}

int idmap_put(IdMap *m, const char *key, void *value) {
        size_t i;
        int r;

        if (!m || !key || strlen(key) > IDMAP_KEY_MAX)
                return -EINVAL;
        /* At most half full: probes stay short. */
        if ((m->n_items + 1) * 2 > m->n_slots) {
                r = idmap_resize(m, m->n_slots * 2);
                if (r < 0)
                        return r;
        }
        i = idmap_find(m, key);
        if (m->slots[i].key)
                return -EEXIST;
        m->slots[i].key = strdup(key);
        if (!m->slots[i].key)
                return -ENOMEM;
        m->slots[i].value = value;
        m->n_items++;
        return 0;
}

void *idmap_remove(IdMap *m, const char *key) {
        size_t i, j;
        void *value;

        if (!m || !key)
                return NULL;
        i = idmap_find(m, key);
        if (!m->slots[i].key)
                return NULL;
        value = m->slots[i].value;
        free(m->slots[i].key);
        m->slots[i] = (IdMapSlot) {};
        m->n_items--;

        /* Backward shift: entries after the hole that could live in it
         * move up, so no lookup stops early at the hole. */
        for (j = (i + 1) & (m->n_slots - 1); m->slots[j].key; j = (j + 1) & (m->n_slots - 1)) {
                size_t home = idmap_slot_of(m, m->slots[j].key);
                bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);

                if (movable) {
                        m->slots[i] = m->slots[j];
                        m->slots[j] = (IdMapSlot) {};
                        i = j;
                }
        }
        return value;
}

size_t idmap_remove_if(IdMap *m, bool (*match)(const char *key, void *value, void *userdata), void *userdata,
                       void (*free_value)(void *value)) {
        size_t n = 0;

        if (!m)
                return 0;
        for (size_t i = 0; i < m->n_slots;) {
                void *value;

                if (!m->slots[i].key || !match(m->slots[i].key, m->slots[i].value, userdata)) {
                        i++;
                        continue;
                }
                /* The backward shift may move a later entry into slot i:
                 * look at it again before going on (an entry it moves
                 * from the start of the table was looked at already). */
                value = idmap_remove(m, m->slots[i].key);
                if (free_value)
                        free_value(value);
                n++;
        }
        return n;
}

bool idmap_next(IdMap *m, size_t *cursor, const char **ret_key, void **ret_value) {
        if (!m)
                return false;
        for (; *cursor < m->n_slots; (*cursor)++)
                if (m->slots[*cursor].key) {
                        *ret_key = m->slots[*cursor].key;
                        *ret_value = m->slots[*cursor].value;
                        (*cursor)++;
                        return true;
                }
        return false;
}
