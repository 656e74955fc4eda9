/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "sauth-names.h"
#include "store-internal.h"
#include "util.h"

/*
 * Password hashes and their history: setting a password (with the token
 * that allowed it), the rehash after a login, the history for reuse
 * checks.
 */

/* Inside the password transaction: the token must still be valid for this
 * uid and of a purpose that may set a password; it is spent here, and a
 * confirmation token confirms the contact it was mailed to. */
static int store_token_consume(Store *s, const StorePasswordChange *chg) {
        _cleanup_free_ char *purpose = NULL;
        int r;

        r = store_token_check(s, chg->token_hash, chg->uid, chg->now, &purpose);
        if (r < 0)
                return r;
        if (!purpose || (!streq(purpose, SAUTH_TOKEN_CONFIRM) && !streq(purpose, SAUTH_TOKEN_RESET)))
                return -EKEYREJECTED;
        /* Relies on the write lock of store_begin(): no one spends the
         * token between the check above and this UPDATE. "used IS NULL"
         * and the count of one make it single-use even on an engine whose
         * transaction locked less. */
        r = store_run(s, "UPDATE tokens SET used = ? WHERE hash = ? AND uid = ? AND used IS NULL",
                      "iss", chg->now, chg->token_hash, chg->uid);
        if (r < 0)
                return r;
        if (r != 1)
                return -EKEYREJECTED;
        if (!streq(purpose, SAUTH_TOKEN_CONFIRM))
                return 0;
        r = store_run(s, "UPDATE contacts SET status = 'active'"
                         " WHERE uid = ? AND info = (SELECT identity FROM people WHERE id = ?)",
                      "ss", chg->uid, chg->uid);
        return r < 0 ? r : 0;
}

/* Moves the current hash (if any) into the history and keeps the newest
 * 'history' entries. */
static int store_history_push(Store *s, const char *account_id, unsigned history, int64_t now) {
        int r;

        if (history == 0) {
                r = store_run(s, "DELETE FROM password_history WHERE account_id = ?", "s", account_id);
                return r < 0 ? r : 0;
        }
        r = store_run(s, "INSERT INTO password_history (account_id, seq, hash, created)"
                         " SELECT a.id, (SELECT COALESCE(MAX(h.seq), 0) + 1 FROM password_history h"
                         "               WHERE h.account_id = a.id), a.password, ?"
                         " FROM accounts a WHERE a.id = ? AND a.password IS NOT NULL",
                      "is", now, account_id);
        if (r < 0)
                return r;
        r = store_run(s, "DELETE FROM password_history WHERE account_id = ? AND seq <="
                         " (SELECT MAX(h.seq) FROM password_history h WHERE h.account_id = ?) - ?",
                      "ssi", account_id, account_id, (int64_t) history);
        return r < 0 ? r : 0;
}

static int store_set_password_rows(Store *s, const StorePasswordChange *chg) {
        _cleanup_cursor_ StoreCursor q = {};
        const char *owner;
        int r;

        /* Takes the account row's write lock first. A no-op for SQLite,
         * whose BEGIN IMMEDIATE holds the whole database; on PostgreSQL it
         * serializes changes of one account, so that the history's
         * seq = MAX + 1 below cannot collide. */
        r = store_run(s, "UPDATE accounts SET must_change = must_change WHERE id = ?", "s", chg->account_id);
        if (r < 0)
                return r;
        r = store_query(s, &q, "SELECT uid FROM accounts WHERE id = ?", "s", chg->account_id);
        if (r < 0)
                return r;
        r = store_step(s, &q);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        r = store_column_text(&q, 0, &owner);
        if (r < 0)
                return r;
        if (chg->uid && (!owner || !streq(owner, chg->uid)))
                /* A token for one person never sets another's password. */
                return chg->token_hash ? -EKEYREJECTED : -ENOENT;

        if (chg->token_hash) {
                r = store_token_consume(s, chg);
                if (r < 0)
                        return r;
        }
        r = store_history_push(s, chg->account_id, chg->history, chg->now);
        if (r < 0)
                return r;
        /* A new password ends every other reset or confirmation token of
         * the person: an old mail must not undo the change. */
        r = store_run(s, "UPDATE tokens SET used = ? WHERE used IS NULL"
                         " AND uid = (SELECT uid FROM accounts WHERE id = ?)",
                      "is", chg->now, chg->account_id);
        if (r < 0)
                return r;
        /* And every session of the account: whoever held the old password
         * holds no session past its change. */
        r = store_run(s, "UPDATE sessions SET revoked = ? WHERE revoked = 0 AND account_id = ?",
                      "is", chg->now, chg->account_id);
        if (r > 0)
                r = store_changed(s, "sessions", owner);
        if (r < 0)
                return r;
        r = store_run(s, "UPDATE accounts SET password = ?, must_change = 0, failures = 0,"
                         " first_failure = 0, locked_until = 0 WHERE id = ?",
                      "ss", chg->new_hash, chg->account_id);
        if (r < 0)
                return r;
        return store_mail_insert(s, chg->mail);
}

int store_set_password(Store *s, const StorePasswordChange *chg) {
        int r;

        if (!s || !chg || isempty(chg->account_id) || isempty(chg->new_hash))
                return -EINVAL;
        if (chg->token_hash && isempty(chg->uid))
                return -EKEYREJECTED;

        r = store_begin(s);
        if (r < 0)
                return r;
        return store_end(s, store_set_password_rows(s, chg));
}

int store_password_history(Store *s, const char *account_id, unsigned max, char ***ret) {
        _cleanup_cursor_ StoreCursor q = {};
        _cleanup_strv_erase_ char **l = NULL;
        size_t n = 0;
        int r;

        if (!s || !account_id || !ret)
                return -EINVAL;
        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        r = store_query(s, &q, "SELECT hash FROM password_history WHERE account_id = ?"
                                  " ORDER BY seq DESC LIMIT ?",
                        "si", account_id, (int64_t) max);
        if (r < 0)
                return r;
        while ((r = store_step(s, &q)) > 0) {
                char **m = realloc(l, (n + 2) * sizeof *l);
                if (!m)
                        return -ENOMEM;
                l = m;
                l[n + 1] = NULL;
                r = store_column_dup(&q, 0, &l[n]);
                if (r < 0)
                        return r;
                if (l[n])
                        n++;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

int store_rehash(Store *s, const char *account_id, const char *old_hash, const char *new_hash) {
        int r;

        if (!s || !account_id || isempty(old_hash) || isempty(new_hash))
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET password = ? WHERE id = ? AND password = ?",
                      "sss", new_hash, account_id, old_hash);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}
