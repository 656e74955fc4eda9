/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "apikeys.h"
#include "log.h"
#include "util.h"

static void entry_free(void *p) {
        ApiKeyEntry *e = p;

        if (!e)
                return;
        free(e->uid);
        free(e->name);
        strv_free(e->scopes);
        sodium_memzero(e->hash, sizeof e->hash);
        free(e);
}

/* Space-separated words into a list; NULL-terminated, never NULL. */
static char **split_words(const char *s) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = strdup(s ? s : "");
        size_t n = 0;
        char *save = NULL;

        if (!copy)
                return NULL;
        l = calloc(strlen(copy) / 2 + 2, sizeof *l);
        if (!l)
                return NULL;
        for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                l[n] = strdup(w);
                if (!l[n++])
                        return NULL;
        }
        return TAKE_PTR(l);
}

static char *join_words(char *const *l) {
        size_t len = 1;
        char *s;

        for (size_t i = 0; l && l[i]; i++)
                len += strlen(l[i]) + 1;
        s = calloc(1, len);
        if (!s)
                return NULL;
        for (size_t i = 0; l && l[i]; i++) {
                if (i > 0)
                        strcat(s, " ");
                strcat(s, l[i]);
        }
        return s;
}

static bool strv_contains(char *const *l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

static int entry_from_store(const StoreApiKey *x, ApiKeyEntry **ret) {
        ApiKeyEntry *e;
        size_t len = 0;

        if (!apikey_id_valid(x->id) || strlen(x->hash) != 2 * APIKEY_HASH_BYTES)
                return -EBADMSG;
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        snprintf(e->id, sizeof e->id, "%s", x->id);
        e->uid = strdup(x->uid);
        e->name = strdup(x->name);
        e->scopes = split_words(x->scopes);
        if (!e->uid || !e->name || !e->scopes) {
                entry_free(e);
                return -ENOMEM;
        }
        if (sodium_hex2bin(e->hash, sizeof e->hash, x->hash, strlen(x->hash), NULL, &len, NULL) < 0 ||
            len != sizeof e->hash) {
                entry_free(e);
                return -EBADMSG;
        }
        e->created = x->created;
        e->expires = x->expires;
        e->last_used = x->last_used;
        e->account_active = x->account_active;
        *ret = e;
        return 0;
}

static int apikeys_load_one(const StoreApiKey *x, void *userdata) {
        ApiKeys *k = userdata;
        ApiKeyEntry *e;
        int r;

        r = entry_from_store(x, &e);
        if (r == -EBADMSG) {
                log_warning("API key %s: malformed row in the store, ignored", x->id);
                return 0;
        }
        if (r < 0)
                return r;
        r = idmap_put(k->keys, e->id, e);
        if (r < 0)
                entry_free(e);
        return r;
}

/* Puts e in the place of an entry with the same id, if there is one. A
 * last use noted on that entry and not yet written stays noted. Takes e,
 * also on failure. */
static int apikeys_put(IdMap *keys, ApiKeyEntry *e) {
        ApiKeyEntry *old = idmap_remove(keys, e->id);
        int r;

        if (old && old->dirty && old->last_used > e->last_used) {
                e->last_used = old->last_used;
                e->dirty = true;
        }
        entry_free(old);
        r = idmap_put(keys, e->id, e);
        if (r < 0)
                entry_free(e);
        return r;
}

int apikeys_new(const char *pepper_file, const char *allowed_scopes, unsigned max_per_user, Store *store,
                int64_t now, ApiKeys **ret, char *msg, size_t msg_size) {
        _cleanup_(apikeys_freep) ApiKeys *k = NULL;
        int r;

        k = calloc(1, sizeof *k);
        if (!k)
                return -ENOMEM;
        k->max_per_user = max_per_user;
        k->allowed_scopes = split_words(allowed_scopes);
        if (!k->allowed_scopes)
                return -ENOMEM;
        r = idmap_new(&k->keys);
        if (r < 0)
                return r;
        r = apikey_pepper_load_or_create(pepper_file, &k->pepper, msg, msg_size);
        if (r < 0)
                return r;
        r = store_apikeys_foreach(store, NULL, now, apikeys_load_one, k);
        if (r < 0) {
                snprintf(msg, msg_size, "cannot read the API keys: %s", strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(k);
        return 0;
}

void apikeys_free(ApiKeys *k) {
        if (!k)
                return;
        apikey_pepper_free(k->pepper);
        idmap_free(k->keys, entry_free);
        strv_free(k->allowed_scopes);
        free(k);
}

bool apikeys_scopes_valid(const ApiKeys *k, char *const *scopes) {
        if (!scopes || !scopes[0])
                return false;
        for (size_t i = 0; scopes[i]; i++) {
                if (!strv_contains(k->allowed_scopes, scopes[i]))
                        return false;
                for (size_t j = 0; j < i; j++)
                        if (streq(scopes[i], scopes[j]))
                                return false;
        }
        return true;
}

int apikeys_create(ApiKeys *k, Store *store, const char *uid, const char *name, char *const *scopes,
                   int64_t expires, int64_t now, bool account_active, char **ret_id, char **ret_full) {
        char id[APIKEY_ID_LEN + 1], secret[APIKEY_SECRET_LEN + 1], full[APIKEY_LEN + 1];
        char hash_hex[2 * APIKEY_HASH_BYTES + 1];
        _cleanup_free_ char *joined = NULL, *id_copy = NULL;
        ApiKeyEntry *e = NULL;
        int r;

        if (!apikeys_scopes_valid(k, scopes) || (expires != 0 && expires <= now))
                return -EINVAL;
        joined = join_words(scopes);
        if (!joined)
                return -ENOMEM;

        /* 40 random bits of id: a collision is rare, but possible; a new
         * key is drawn then, a few times at most. */
        for (unsigned attempt = 0;; attempt++) {
                apikey_generate(id, secret, full);
                r = apikey_hash_hex(k->pepper, secret, hash_hex);
                if (r >= 0)
                        r = store_apikey_add(store, &(StoreApiKey) {
                                .id = id, .uid = uid, .name = name, .scopes = joined, .hash = hash_hex,
                                .created = now, .expires = expires,
                        }, k->max_per_user, now);
                if (r != -EEXIST || attempt >= 4)
                        break;
        }
        sodium_memzero(secret, sizeof secret);
        if (r >= 0)
                r = entry_from_store(&(StoreApiKey) {
                        .id = id, .uid = uid, .name = name, .scopes = joined, .hash = hash_hex,
                        .created = now, .expires = expires, .account_active = account_active,
                }, &e);
        sodium_memzero(hash_hex, sizeof hash_hex);
        /* The entry may be there already: the store announces the new key,
         * this host hears its own announcement too, and its reload may have
         * read the key while the store was written. Then this one replaces
         * it (the same key). */
        if (r >= 0)
                r = apikeys_put(k->keys, e);
        if (r >= 0) {
                id_copy = strdup(id);
                *ret_full = strdup(full);
                if (!id_copy || !*ret_full) {
                        free(*ret_full);
                        *ret_full = NULL;
                        r = -ENOMEM;
                }
        }
        sodium_memzero(full, sizeof full);
        if (r < 0)
                return r;
        *ret_id = TAKE_PTR(id_copy);
        return 0;
}

int apikeys_revoke(ApiKeys *k, Store *store, const char *id, int64_t now) {
        int r;

        /* The store first: a revocation that a restart would undo is not
         * made. */
        r = store_apikey_revoke(store, id, now);
        if (r < 0)
                return r;
        entry_free(idmap_remove(k->keys, id));
        return 0;
}

const char *apikeys_owner(const ApiKeys *k, const char *id) {
        const ApiKeyEntry *e = idmap_get(k->keys, id);

        return e ? e->uid : NULL;
}

ApiAccessResult apikeys_access(ApiKeys *k, const char *full, char *const *required, int64_t now,
                               const ApiKeyEntry **ret) {
        char id[APIKEY_ID_LEN + 1], secret[APIKEY_SECRET_LEN + 1];
        static const unsigned char none[APIKEY_HASH_BYTES];
        ApiKeyEntry *e;
        bool ok;

        if (apikey_parse(full, id, secret) < 0)
                return API_ACCESS_REFUSED;
        /* Every well-formed key costs one keyed hash, known id or not. */
        e = idmap_get(k->keys, id);
        ok = apikey_verify(k->pepper, secret, e ? e->hash : none) && e;
        sodium_memzero(secret, sizeof secret);
        if (!ok || !e->account_active || (e->expires != 0 && e->expires <= now))
                return API_ACCESS_REFUSED;
        for (size_t i = 0; required && required[i]; i++)
                if (!strv_contains(e->scopes, required[i]))
                        return API_ACCESS_SCOPE;
        if (e->last_used != now) {
                e->last_used = now;
                e->dirty = true;
        }
        *ret = e;
        return API_ACCESS_OK;
}

void apikeys_set_account_active(ApiKeys *k, const char *uid, bool active) {
        const char *id;
        void *value;
        size_t cursor = 0;

        while (idmap_next(k->keys, &cursor, &id, &value)) {
                ApiKeyEntry *e = value;

                if (streq(e->uid, uid))
                        e->account_active = active;
        }
}

int apikeys_flush(ApiKeys *k, Store *store) {
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_free_ int64_t *times = NULL;
        size_t n = 0, cursor = 0, size = idmap_size(k->keys);
        const char *id;
        void *value;
        int r;

        if (size == 0)
                return 0;
        ids = calloc(size + 1, sizeof *ids);
        times = calloc(size, sizeof *times);
        if (!ids || !times)
                return -ENOMEM;
        while (idmap_next(k->keys, &cursor, &id, &value)) {
                ApiKeyEntry *e = value;

                if (e->dirty) {
                        /* A copy of the id: the daemon lock is let go while
                         * the store is written, and the entry may go
                         * meanwhile (a revocation, a reload, a prune). */
                        ids[n] = strdup(e->id);
                        if (!ids[n])
                                return -ENOMEM;
                        times[n++] = e->last_used;
                }
        }
        r = store_apikeys_touch(store, (const char *const *) ids, times, n);
        if (r < 0)
                return r;
        /* Written: the entries still there whose last use is the one
         * written. A use noted meanwhile stays for the next flush. */
        for (size_t i = 0; i < n; i++) {
                ApiKeyEntry *e = idmap_get(k->keys, ids[i]);

                if (e && e->last_used == times[i])
                        e->dirty = false;
        }
        return (int) n;
}

typedef struct Reload {
        const char *uid;        /* NULL: everyone's */
        IdMap *fresh;
} Reload;

/* An entry of the keys reloaded that the store no longer has. */
static bool entry_gone(const char *key, void *value, void *userdata) {
        const Reload *x = userdata;

        return (!x->uid || streq(((const ApiKeyEntry *) value)->uid, x->uid)) && !idmap_get(x->fresh, key);
}

static void entry_map_freep(IdMap **m) {
        idmap_free(*m, entry_free);
}

int apikeys_reload(ApiKeys *k, Store *store, const char *uid, int64_t now) {
        _cleanup_(entry_map_freep) IdMap *fresh = NULL;
        size_t cursor = 0;
        const char *id;
        void *value;
        int r, ret = 0;

        /* What this host counted is written before its entries go. */
        r = apikeys_flush(k, store);
        if (r < 0)
                log_warning("API keys: last use not written before a reload: %s", strerror(-r));

        /* Read into a map of its own, which replaces the entries once the
         * store has answered: the daemon lock is let go while it is read,
         * and ApiAccess meanwhile finds the keys as they were, not none. */
        r = idmap_new(&fresh);
        if (r < 0)
                return r;
        r = store_apikeys_foreach(store, uid, now, apikeys_load_one, &(ApiKeys) { .keys = fresh });
        if (r < 0)
                return r;
        (void) idmap_remove_if(k->keys, entry_gone, &(Reload) { uid, fresh }, entry_free);
        while (idmap_next(fresh, &cursor, &id, &value)) {
                r = apikeys_put(k->keys, value);
                if (r < 0)
                        ret = r;
        }
        /* Every entry went into k->keys (or was freed): the map only. */
        idmap_free(TAKE_PTR(fresh), NULL);
        return ret;
}

static bool entry_expired(const char *key, void *value, void *userdata) {
        const ApiKeyEntry *e = value;

        return e->expires != 0 && e->expires <= *(int64_t *) userdata;
}

void apikeys_prune(ApiKeys *k, int64_t now) {
        (void) idmap_remove_if(k->keys, entry_expired, &now, entry_free);
}
