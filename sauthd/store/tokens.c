/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdint.h>

#include "store-internal.h"
#include "util.h"

/*
 * Single-use reset and confirmation tokens, stored as hashes. A token is
 * spent inside the password transaction (passwords.c), whose write lock
 * makes the check and the spending one step.
 */

int store_token_insert(Store *s, const char *token_hash, const char *uid,
                       const char *purpose, int64_t expires, int64_t now) {
        int r;

        r = store_run(s, "INSERT INTO tokens (hash, uid, purpose, created, expires, used)"
                         " VALUES (?, ?, ?, ?, ?, NULL)",
                      "sssii", token_hash, uid, purpose, now, expires);
        return r < 0 ? r : 0;
}

int store_token_add(Store *s, const char *token_hash, const char *uid,
                    const char *purpose, int64_t expires, int64_t now) {
        if (!s || isempty(token_hash) || isempty(uid) || isempty(purpose))
                return -EINVAL;
        return store_token_insert(s, token_hash, uid, purpose, expires, now);
}

int store_token_check(Store *s, const char *token_hash, const char *uid,
                      int64_t now, char **ret_purpose) {
        _cleanup_cursor_ StoreCursor q = {};
        int r;

        if (!s)
                return -EINVAL;
        if (isempty(token_hash) || isempty(uid))
                return -EKEYREJECTED;
        r = store_query(s, &q,
                        "SELECT purpose FROM tokens"
                        " WHERE hash = ? AND uid = ? AND used IS NULL AND expires > ?",
                        "ssi", token_hash, uid, now);
        if (r < 0)
                return r;
        r = store_step(s, &q);
        if (r <= 0)
                return r < 0 ? r : -EKEYREJECTED;
        if (!ret_purpose)
                return 0;
        r = store_column_dup(&q, 0, ret_purpose);
        return r;
}

int store_token_count_since(Store *s, const char *uid, const char *purpose,
                            int64_t since, unsigned *ret) {
        int64_t n;
        int r;

        if (!s || !uid || !purpose || !ret)
                return -EINVAL;
        r = store_query_int64(s, &n,
                              "SELECT COUNT(*) FROM tokens WHERE uid = ? AND purpose = ? AND created >= ?",
                              "ssi", uid, purpose, since);
        if (r < 0)
                return r;
        *ret = n > UINT_MAX ? UINT_MAX : (unsigned) n;
        return 0;
}
