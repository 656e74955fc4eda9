/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdint.h>

#include "store-internal.h"
#include "util.h"

/*
 * The mail outbox: messages written in the transaction of what they
 * announce, read back by the pump (sauthd/outbox.c) until they are sent
 * or expire. The body is sealed by the caller; nothing here can read it.
 */

static bool store_mail_valid(const StoreMail *m) {
        return !isempty(m->id) && !isempty(m->template_name) && !isempty(m->recipient) &&
               !isempty(m->body) && m->expires > m->created;
}

int store_mail_insert(Store *s, const StoreMail *m) {
        int r;

        if (!m)
                return 0;
        if (!store_mail_valid(m))
                return -EINVAL;
        /* next_attempt = created: due at once. */
        r = store_run(s, "INSERT INTO outbox (id, template, recipient, body, created, expires,"
                         " attempts, next_attempt, last_error) VALUES (?, ?, ?, ?, ?, ?, 0, ?, '')",
                      "ssssiii", m->id, m->template_name, m->recipient, m->body, m->created, m->expires,
                      m->created);
        return r < 0 ? r : 0;
}

int store_mail_add(Store *s, const StoreMail *m) {
        int r;

        if (!s || !m)
                return -EINVAL;
        r = store_begin(s);
        if (r < 0)
                return r;
        return store_end(s, store_mail_insert(s, m));
}

int store_token_add_mail(Store *s, const char *token_hash, const char *uid,
                         const char *purpose, int64_t expires, int64_t now, const StoreMail *mail) {
        int r;

        if (!s || isempty(token_hash) || isempty(uid) || isempty(purpose))
                return -EINVAL;
        r = store_begin(s);
        if (r < 0)
                return r;
        r = store_token_insert(s, token_hash, uid, purpose, expires, now);
        if (r >= 0)
                r = store_mail_insert(s, mail);
        return store_end(s, r);
}

static int store_mail_read(StoreCursor *q, StoreMail *m) {
        const char **text[] = { &m->id, &m->template_name, &m->recipient, &m->body, &m->last_error };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(text); i++) {
                r = store_column_text(q, (unsigned) i, text[i]);
                if (r < 0)
                        return r;
                if (!*text[i])
                        *text[i] = "";
        }
        m->created = store_column_int64(q, 5);
        m->expires = store_column_int64(q, 6);
        m->attempts = store_column_int64(q, 7);
        m->next_attempt = store_column_int64(q, 8);
        return 0;
}

int store_mail_foreach(Store *s, int64_t due, unsigned limit, store_mail_fn fn, void *userdata) {
        _cleanup_cursor_ StoreCursor q = {};
        int r;

        if (!s || !fn)
                return -EINVAL;
        r = store_query(s, &q,
                        "SELECT id, template, recipient, body, last_error, created, expires, attempts,"
                        " next_attempt FROM outbox WHERE next_attempt <= ?"
                        " ORDER BY next_attempt, created, id LIMIT ?",
                        "ii", due, (int64_t) limit);
        if (r < 0)
                return r;
        while ((r = store_step(s, &q)) > 0) {
                StoreMail m = {};

                r = store_mail_read(&q, &m);
                if (r >= 0)
                        r = fn(&m, userdata);
                if (r < 0)
                        return r;
        }
        return r;
}

int store_mail_delete(Store *s, const char *id) {
        int r;

        if (!s || isempty(id))
                return -EINVAL;
        r = store_run(s, "DELETE FROM outbox WHERE id = ?", "s", id);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

int store_mail_retry(Store *s, const char *id, int64_t next_attempt, const char *last_error) {
        int r;

        if (!s || isempty(id))
                return -EINVAL;
        /* Never later than the expiry: the pump wakes for either. */
        r = store_run(s, "UPDATE outbox SET attempts = attempts + 1, last_error = ?,"
                         " next_attempt = CASE WHEN ? < expires THEN ? ELSE expires END WHERE id = ?",
                      "siis", strempty(last_error), next_attempt, next_attempt, id);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

int store_mail_claim(Store *s, const char *id, int64_t seen_next_attempt, int64_t until) {
        int r;

        if (!s || isempty(id))
                return -EINVAL;
        /* Compare and set: of hosts that read the same row, one moves its
         * next_attempt, the others find it moved. */
        r = store_run(s, "UPDATE outbox SET next_attempt = CASE WHEN ? < expires THEN ? ELSE expires END"
                         " WHERE id = ? AND next_attempt = ?",
                      "iisi", until, until, id, seen_next_attempt);
        if (r < 0)
                return r;
        return r == 0 ? -EALREADY : 0;
}

int store_mail_next(Store *s, int64_t after, int64_t *ret) {
        if (!s || !ret)
                return -EINVAL;
        return store_query_int64(s, ret, "SELECT next_attempt FROM outbox WHERE next_attempt > ?"
                                         " ORDER BY next_attempt LIMIT 1", "i", after);
}
