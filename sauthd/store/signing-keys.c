/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "store-internal.h"

/*
 * The public session-token keys of the hosts sharing the store. Each
 * host publishes its own at start and after a rotation; every host reads
 * them all, so a token signed by one verifies on the others. The kid is
 * the thumbprint of the key: the reader checks that again, so a row
 * cannot pair a kid with another key.
 */

int store_signing_key_put(Store *s, const StoreSigningKey *k) {
        int r;

        if (!s || !k || !k->kid || !k->issuer || !k->public_key)
                return -EINVAL;
        r = store_begin(s);
        if (r < 0)
                return r;
        r = store_run(s, "INSERT INTO signing_keys (kid, issuer, public_key, created, not_after)"
                         " VALUES (?, ?, ?, ?, ?)"
                         " ON CONFLICT (kid) DO UPDATE SET not_after = excluded.not_after",
                      "sssii", k->kid, k->issuer, k->public_key, k->created, k->not_after);
        if (r >= 0)
                r = store_changed(s, "keys", "");
        return store_end(s, r < 0 ? r : 0);
}

int store_signing_keys_foreach(Store *s, int64_t now, store_signing_key_fn fn, void *userdata) {
        _cleanup_cursor_ StoreCursor q = {};
        int r;

        if (!s || !fn)
                return -EINVAL;
        r = store_query(s, &q, "SELECT kid, issuer, public_key, created, not_after FROM signing_keys"
                               " WHERE not_after = 0 OR not_after > ? ORDER BY created, kid",
                        "i", now);
        if (r < 0)
                return r;
        while ((r = store_step(s, &q)) > 0) {
                StoreSigningKey k = {
                        .created = store_column_int64(&q, 3),
                        .not_after = store_column_int64(&q, 4),
                };

                if (store_column_text(&q, 0, &k.kid) < 0 || store_column_text(&q, 1, &k.issuer) < 0 ||
                    store_column_text(&q, 2, &k.public_key) < 0)
                        return -ENOMEM;
                r = fn(&k, userdata);
                if (r < 0)
                        return r;
        }
        return r;
}
