/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "sauth-names.h"
#include "store-internal.h"
#include "util.h"

/*
 * People, their contacts and accounts: lookups, registration, new accounts
 * and the administrator's flags.
 */

void store_account_free(StoreAccount *a) {
        if (!a)
                return;
        free(a->id);
        free(a->uid);
        free(a->username);
        erase_and_free(a->password_hash);
        free(a->status);
        free(a->name);
        free(a->identity);
        free(a);
}

void store_ids_done(StoreIds *ids) {
        if (!ids)
                return;
        free(ids->uid);
        free(ids->contact_id);
        free(ids->account_id);
        *ids = (StoreIds) {};
}

/* The contact confirmed is the one of the person's identity: that is where
 * the confirmation mail went. */
#define STORE_ACCOUNT_SELECT                                                    \
        "SELECT a.id, a.uid, a.username, a.password, a.status, p.name,"        \
        " p.identity, a.must_change, a.is_admin,"                               \
        " (SELECT COUNT(*) FROM contacts c WHERE c.uid = a.uid"                 \
        "   AND c.info = p.identity AND c.status = 'active'),"                  \
        " a.failures, a.first_failure, a.locked_until, a.last_login"            \
        " FROM accounts a JOIN people p ON p.id = a.uid WHERE "

static int store_account_read(StoreCursor *q, StoreAccount **ret) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        int r;

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        char **text[] = { &a->id, &a->uid, &a->username, &a->password_hash,
                          &a->status, &a->name, &a->identity };
        for (size_t i = 0; i < ELEMENTSOF(text); i++) {
                r = store_column_dup(q, (unsigned) i, text[i]);
                if (r < 0)
                        return r;
        }
        a->must_change = store_column_int64(q, 7) != 0;
        a->is_admin = store_column_int64(q, 8) != 0;
        a->contact_confirmed = store_column_int64(q, 9) != 0;
        a->failures = store_column_int64(q, 10);
        a->first_failure = store_column_int64(q, 11);
        a->locked_until = store_column_int64(q, 12);
        a->last_login = store_column_int64(q, 13);
        *ret = TAKE_PTR(a);
        return 0;
}

static int store_account_lookup(Store *s, const char *sql, const char *key, StoreAccount **ret) {
        _cleanup_cursor_ StoreCursor q = {};
        int r;

        if (!s || !key || !ret)
                return -EINVAL;
        r = store_query(s, &q, sql, "s", key);
        if (r < 0)
                return r;
        r = store_step(s, &q);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        return store_account_read(&q, ret);
}

int store_account_by_username(Store *s, const char *username, StoreAccount **ret) {
        return store_account_lookup(s, STORE_ACCOUNT_SELECT "a.username = ?", username, ret);
}

int store_account_by_uid(Store *s, const char *uid, StoreAccount **ret) {
        return store_account_lookup(s, STORE_ACCOUNT_SELECT "a.uid = ?", uid, ret);
}

int store_account_by_identity(Store *s, const char *identity, StoreAccount **ret) {
        return store_account_lookup(s, STORE_ACCOUNT_SELECT "p.identity = ?", identity, ret);
}

int store_account_by_contact(Store *s, const char *info, StoreAccount **ret) {
        _cleanup_(store_account_freep) StoreAccount *a = NULL;
        _cleanup_cursor_ StoreCursor q = {};
        int r;

        if (!s || !info || !ret)
                return -EINVAL;
        r = store_query(s, &q, STORE_ACCOUNT_SELECT
                        "a.uid IN (SELECT c.uid FROM contacts c WHERE c.type = 'email'"
                        " AND c.info = ? AND c.status = 'active')"
                        " ORDER BY a.uid LIMIT 2", "s", info);
        if (r < 0)
                return r;
        r = store_step(s, &q);
        if (r <= 0)
                return r < 0 ? r : -ENOENT;
        r = store_account_read(&q, &a);
        if (r < 0)
                return r;
        r = store_step(s, &q);
        if (r != 0)
                return r < 0 ? r : -ENOTUNIQ;
        /* The contact that matched is confirmed, whatever became of the
         * identity's own. */
        a->contact_confirmed = true;
        *ret = TAKE_PTR(a);
        return 0;
}

static int store_account_insert(Store *s, const char *account_id, const char *uid,
                                const char *username, int64_t now) {
        int r;

        /* No password yet, so it must be set (through the confirmation
         * token) before the first login. */
        r = store_run(s, "INSERT INTO accounts (id, uid, username, password, must_change,"
                         " status, is_admin, created, last_login)"
                         " VALUES (?, ?, ?, NULL, 1, 'active', 0, ?, 0)",
                      "sssi", account_id, uid, username, now);
        return r < 0 ? r : 0;
}

static int store_register_rows(Store *s, const StoreRegistration *reg, const StoreIds *ids) {
        int r;

        r = store_run(s, "INSERT INTO people (id, name, identity, picture, created)"
                         " VALUES (?, ?, ?, ?, ?)",
                      "ssssi", ids->uid, reg->name, reg->identity,
                      reg->picture ? reg->picture : "", reg->now);
        if (r < 0)
                return r;
        r = store_run(s, "INSERT INTO contacts (id, uid, type, info, status, created)"
                         " VALUES (?, ?, 'email', ?, ?, ?)",
                      "ssssi", ids->contact_id, ids->uid, reg->identity,
                      reg->confirmed ? "active" : "unconfirmed", reg->now);
        if (r < 0)
                return r;
        /* No user name: the person and contact only (apicrud's two-step
         * registration; AccountAdd makes the account). */
        if (ids->account_id) {
                r = store_account_insert(s, ids->account_id, ids->uid, reg->username, reg->now);
                if (r < 0)
                        return r;
        }
        if (reg->token_hash) {
                r = store_token_insert(s, reg->token_hash, ids->uid, SAUTH_TOKEN_CONFIRM,
                                       reg->token_expires, reg->now);
                if (r < 0)
                        return r;
        }
        /* The confirmation mail with its token: both or neither. */
        return store_mail_insert(s, reg->mail);
}

int store_register(Store *s, const StoreRegistration *reg, StoreIds *ret) {
        _cleanup_(store_ids_done) StoreIds ids = {};
        int r;

        if (!s || !reg || !ret || isempty(reg->identity) || !reg->username || !reg->name)
                return -EINVAL;
        /* A confirmed contact needs no confirmation. */
        if (reg->confirmed && (reg->token_hash || reg->mail))
                return -EINVAL;

        /* The caller may have made the uid already: a mail rendered before
         * the transaction names it. */
        ids.uid = reg->uid ? strdup(reg->uid) : store_id_new();
        ids.contact_id = store_id_new();
        if (!isempty(reg->username))
                ids.account_id = store_id_new();
        if (!ids.uid || !ids.contact_id || (!isempty(reg->username) && !ids.account_id))
                return -ENOMEM;

        r = store_begin(s);
        if (r < 0)
                return r;
        r = store_end(s, store_register_rows(s, reg, &ids));
        if (r < 0)
                return r;
        *ret = ids;
        ids = (StoreIds) {}; /* handed over to the caller */
        return 0;
}

static int store_account_add_rows(Store *s, const char *uid, const char *username, const char *account_id,
                                  const char *token_hash, int64_t token_expires, int64_t now) {
        int64_t n;
        int r;

        /* The person cannot go away before the INSERT below: the write
         * lock of store_begin(), and the foreign key besides. */
        r = store_query_int64(s, &n, "SELECT COUNT(*) FROM people WHERE id = ?", "s", uid);
        if (r < 0)
                return r;
        if (n == 0)
                return -ENOENT;
        r = store_account_insert(s, account_id, uid, username, now);
        if (r < 0 || !token_hash)
                return r;
        return store_token_insert(s, token_hash, uid, SAUTH_TOKEN_CONFIRM, token_expires, now);
}

int store_account_add(Store *s, const char *uid, const char *username,
                      const char *token_hash, int64_t token_expires, int64_t now,
                      char **ret_account_id) {
        _cleanup_free_ char *id = NULL;
        int r;

        if (!s || isempty(uid) || isempty(username) || !ret_account_id)
                return -EINVAL;
        id = store_id_new();
        if (!id)
                return -ENOMEM;

        r = store_begin(s);
        if (r < 0)
                return r;
        r = store_end(s, store_account_add_rows(s, uid, username, id, token_hash, token_expires, now));
        if (r < 0)
                return r;
        *ret_account_id = TAKE_PTR(id);
        return 0;
}

/* ---- administration ---- */

int store_set_status(Store *s, const char *username, const char *status) {
        int r;

        if (!s || !username || !status)
                return -EINVAL;
        if (!streq(status, SAUTH_STATUS_ACTIVE) && !streq(status, SAUTH_STATUS_DISABLED))
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET status = ? WHERE username = ?", "ss", status, username);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        /* Other hosts hold the account's API keys as usable or not. */
        (void) store_changed(s, "account", username);
        return 0;
}

int store_set_admin(Store *s, const char *username, bool admin) {
        int r;

        if (!s || !username)
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET is_admin = ? WHERE username = ?",
                      "is", (int64_t) admin, username);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

int store_set_must_change(Store *s, const char *username, bool must_change) {
        int r;

        if (!s || !username)
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET must_change = ? WHERE username = ?",
                      "is", (int64_t) must_change, username);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}
