/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * A map from short strings (ids: API key ids, token jtis) to pointers, for
 * the lookups that must not touch the store on every call. Open addressing
 * with SipHash keyed at random per map (libsodium's crypto_shorthash), so a
 * caller who picks the ids cannot make lookups slow. Loop thread only.
 */

typedef struct IdMap IdMap;

int idmap_new(IdMap **ret);
/* Frees the map; free_value (may be NULL) is called for every value. */
void idmap_free(IdMap *m, void (*free_value)(void *value));

size_t idmap_size(const IdMap *m);
void *idmap_get(const IdMap *m, const char *key);
/* Adds key (copied). -EEXIST if present, -EINVAL for a key longer than
 * IDMAP_KEY_MAX, -ENOMEM. */
int idmap_put(IdMap *m, const char *key, void *value);
/* Removes key; returns its value, or NULL if absent. */
void *idmap_remove(IdMap *m, const char *key);

/* Removes every entry for which match(key, value, userdata) is true,
 * handing its value to free_value (may be NULL). Returns how many. */
size_t idmap_remove_if(IdMap *m, bool (*match)(const char *key, void *value, void *userdata), void *userdata,
                       void (*free_value)(void *value));

/* Walks the map: start with *cursor = 0; false when done. The map must not
 * change during a walk: collect the keys to remove, remove them after. */
bool idmap_next(IdMap *m, size_t *cursor, const char **ret_key, void **ret_value);

#define IDMAP_KEY_MAX 127
