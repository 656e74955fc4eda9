/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "store-internal.h"
#include "util.h"

/*
 * API keys: the id, the owner, the scopes and a keyed hash of the secret.
 * sauthd answers ApiAccess from memory; these rows are what it loads at
 * start and what survives it. last_used is written in batches.
 */

int store_apikey_add(Store *s, const StoreApiKey *k, unsigned max_per_user, int64_t now) {
        int64_t n;
        int r;

        if (!s || !k || isempty(k->id) || isempty(k->uid) || !k->name || isempty(k->scopes) || isempty(k->hash))
                return -EINVAL;
        /* The count and the insert in one write transaction: two requests
         * at once cannot both take the last free place. */
        r = store_begin(s);
        if (r < 0)
                return r;
        r = store_query_int64(s, &n,
                              "SELECT COUNT(*) FROM api_keys WHERE uid = ? AND revoked = 0"
                              " AND (expires = 0 OR expires > ?)",
                              "si", k->uid, now);
        if (r >= 0 && n >= (int64_t) max_per_user)
                r = -EDQUOT;
        if (r >= 0)
                r = store_run(s, "INSERT INTO api_keys (id, uid, name, scopes, hash, created, expires,"
                                 " revoked, last_used) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)",
                              "sssssii", k->id, k->uid, k->name, k->scopes, k->hash, k->created, k->expires);
        if (r >= 0)
                r = store_changed(s, "apikeys", k->uid);
        return store_end(s, r < 0 ? r : 0);
}

static int store_apikey_revoked_changed(Store *s, const char *id) {
        _cleanup_cursor_ StoreCursor q = {};
        const char *uid = NULL;
        int r;

        r = store_query(s, &q, "SELECT uid FROM api_keys WHERE id = ?", "s", id);
        if (r >= 0)
                r = store_step(s, &q);
        if (r > 0)
                r = store_column_text(&q, 0, &uid);
        if (r < 0)
                return r;
        return store_changed(s, "apikeys", uid);
}

int store_apikey_revoke(Store *s, const char *id, int64_t now) {
        int r;

        if (!s || isempty(id))
                return -EINVAL;
        if (!store_shared(s)) {
                r = store_run(s, "UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked = 0", "is", now, id);
                if (r < 0)
                        return r;
                return r == 0 ? -ENOENT : 0;
        }
        /* Shared: the revocation and its notice in one transaction, so no
         * host keeps accepting a key revoked here. */
        r = store_begin(s);
        if (r < 0)
                return r;
        r = store_run(s, "UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked = 0", "is", now, id);
        if (r == 0)
                r = -ENOENT;
        if (r > 0)
                r = store_apikey_revoked_changed(s, id);
        return store_end(s, r < 0 ? r : 0);
}

int store_apikeys_foreach(Store *s, const char *uid, int64_t now, store_apikey_fn fn, void *userdata) {
        _cleanup_cursor_ StoreCursor q = {};
        int r;

        if (!s || !fn)
                return -EINVAL;
        /* "? IS NULL OR": one statement for one owner and for everyone. */
        r = store_query(s, &q,
                        "SELECT k.id, k.uid, k.name, k.scopes, k.hash, k.created, k.expires, k.last_used,"
                        " a.status"
                        " FROM api_keys k JOIN accounts a ON a.uid = k.uid"
                        " WHERE (k.uid = ? OR ? = '') AND k.revoked = 0 AND (k.expires = 0 OR k.expires > ?)"
                        " ORDER BY k.created, k.id",
                        "ssi", strempty(uid), strempty(uid), now);
        if (r < 0)
                return r;
        while ((r = store_step(s, &q)) > 0) {
                StoreApiKey k = {};
                const char *status = NULL;
                const char **text[] = { &k.id, &k.uid, &k.name, &k.scopes, &k.hash };

                for (size_t i = 0; i < ELEMENTSOF(text); i++) {
                        r = store_column_text(&q, (unsigned) i, text[i]);
                        if (r < 0)
                                return r;
                }
                k.created = store_column_int64(&q, 5);
                k.expires = store_column_int64(&q, 6);
                k.last_used = store_column_int64(&q, 7);
                r = store_column_text(&q, 8, &status);
                if (r < 0)
                        return r;
                k.account_active = streq(status, "active");
                r = fn(&k, userdata);
                if (r < 0)
                        return r;
        }
        return r;
}

int store_apikeys_touch(Store *s, const char *const *ids, const int64_t *last_used, size_t n) {
        int r;

        if (!s || (n > 0 && (!ids || !last_used)))
                return -EINVAL;
        if (n == 0)
                return 0;
        r = store_begin(s);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = store_run(s, "UPDATE api_keys SET last_used = ? WHERE id = ? AND last_used < ?",
                              "isi", last_used[i], ids[i], last_used[i]);
        return store_end(s, r < 0 ? r : 0);
}
