/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "apikey.h"
#include "idmap.h"
#include "store.h"

/*
 * API keys in use, held in memory by id: ApiAccess is one map lookup and
 * one keyed BLAKE2b of the secret, no SQL and no NSS. The store has the
 * same keys (loaded at start); creation and revocation write it first,
 * last_used is written in batches (apikeys_flush()). Nothing here knows
 * sd-bus; loop thread only.
 */

typedef struct ApiKeyEntry {
        char id[APIKEY_ID_LEN + 1];
        char *uid;
        char *name;
        char **scopes;
        unsigned char hash[APIKEY_HASH_BYTES];
        int64_t created;
        int64_t expires;        /* 0: never */
        int64_t last_used;
        bool account_active;
        bool dirty;             /* last_used not yet in the store */
} ApiKeyEntry;

typedef struct ApiKeys {
        ApikeyPepper *pepper;
        IdMap *keys;            /* id -> ApiKeyEntry */
        char **allowed_scopes;
        unsigned max_per_user;
} ApiKeys;

int apikeys_new(const char *pepper_file, const char *allowed_scopes, unsigned max_per_user, Store *store,
                int64_t now, ApiKeys **ret, char *msg, size_t msg_size);
void apikeys_free(ApiKeys *k);
static inline void apikeys_freep(ApiKeys **k) {
        apikeys_free(*k);
}

/* Whether every scope is allowed (and there is at least one, no repeats). */
bool apikeys_scopes_valid(const ApiKeys *k, char *const *scopes);

/* A new key for uid. *ret_full is the key to show once (wipe and free it).
 * -EINVAL bad scopes or expiry, -EDQUOT over the limit. */
int apikeys_create(ApiKeys *k, Store *store, const char *uid, const char *name, char *const *scopes,
                   int64_t expires, int64_t now, bool account_active, char **ret_id, char **ret_full);

/* -ENOENT if no such key in use. */
int apikeys_revoke(ApiKeys *k, Store *store, const char *id, int64_t now);

/* The owner (uid) of a key in use, or NULL. */
const char *apikeys_owner(const ApiKeys *k, const char *id);

typedef enum ApiAccessResult {
        API_ACCESS_OK,
        API_ACCESS_REFUSED,     /* malformed, unknown, wrong secret, revoked, expired, disabled */
        API_ACCESS_SCOPE,       /* the key lacks a required scope */
} ApiAccessResult;

/* Checks a key as a caller presents it; on OK *ret is the key's entry
 * (valid until the next change of the map) and last_used is noted. */
ApiAccessResult apikeys_access(ApiKeys *k, const char *full, char *const *required, int64_t now,
                               const ApiKeyEntry **ret);

/* The owner's account became active or not: its keys follow at once. */
/* Reads the keys of uid (of everyone when NULL) from the store again:
 * another host sharing it made or revoked some. */
int apikeys_reload(ApiKeys *k, Store *store, const char *uid, int64_t now);

void apikeys_set_account_active(ApiKeys *k, const char *uid, bool active);

/* Writes the noted last_used times to the store. */
int apikeys_flush(ApiKeys *k, Store *store);

/* Forgets keys expired at now (the store prunes its rows itself). */
void apikeys_prune(ApiKeys *k, int64_t now);
