/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>

#include "store-internal.h"
#include "util.h"

/*
 * Session tokens: one row per token issued. Verification never reads these
 * rows (sauthd keeps the revoked jtis in memory); they are what ListSessions
 * shows and what survives a restart. A revoked row stays until the token
 * would have expired anyway, then store_prune() drops it.
 */

int store_session_add(Store *s, const StoreSession *x) {
        int r;

        if (!s || !x || isempty(x->jti) || isempty(x->uid) || isempty(x->account_id) || !x->method)
                return -EINVAL;
        r = store_run(s, "INSERT INTO sessions (jti, uid, account_id, method, service, tty, rhost,"
                         " issued, expires, revoked) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                      "sssssssii", x->jti, x->uid, x->account_id, x->method,
                      strempty(x->service), strempty(x->tty), strempty(x->rhost), x->issued, x->expires);
        return r < 0 ? r : 0;
}

/* Other hosts reload the revocations of the session's person. The row
 * is revoked already: a failure here is logged by the driver, and the
 * other hosts learn of it at their next full reload. */
static int store_session_revoked_changed(Store *s, const char *jti) {
        _cleanup_cursor_ StoreCursor q = {};
        const char *uid = NULL;

        if (store_query(s, &q, "SELECT uid FROM sessions WHERE jti = ?", "s", jti) >= 0 &&
            store_step(s, &q) > 0 && store_column_text(&q, 0, &uid) >= 0 && uid)
                (void) store_changed(s, "sessions", uid);
        return 1;
}

int store_session_revoke(Store *s, const char *jti, int64_t now) {
        int64_t revoked;
        int r;

        if (!s || isempty(jti))
                return -EINVAL;
        r = store_run(s, "UPDATE sessions SET revoked = ? WHERE jti = ? AND revoked = 0", "is", now, jti);
        if (r > 0 && store_shared(s))
                return store_session_revoked_changed(s, jti);
        if (r != 0)
                return r < 0 ? r : 1;
        r = store_query_int64(s, &revoked, "SELECT revoked FROM sessions WHERE jti = ?", "s", jti);
        return r < 0 ? r : 0;
}

int store_sessions_foreach(Store *s, StoreSessionFilter filter, const char *uid, int64_t now,
                           store_session_fn fn, void *userdata) {
        _cleanup_cursor_ StoreCursor q = {};
        int r;

        if (!s || !fn || (filter == STORE_SESSIONS_ACTIVE && isempty(uid)))
                return -EINVAL;
        if (filter == STORE_SESSIONS_ACTIVE)
                r = store_query(s, &q,
                                "SELECT jti, uid, account_id, method, service, tty, rhost, issued, expires, revoked"
                                " FROM sessions WHERE uid = ? AND revoked = 0 AND expires > ? ORDER BY issued, jti",
                                "si", uid, now);
        else
                r = store_query(s, &q,
                                "SELECT jti, uid, account_id, method, service, tty, rhost, issued, expires, revoked"
                                " FROM sessions WHERE revoked <> 0 AND expires > ? AND (uid = ? OR ? = '')",
                                "iss", now, strempty(uid), strempty(uid));
        if (r < 0)
                return r;
        while ((r = store_step(s, &q)) > 0) {
                StoreSession x = {};
                const char **text[] = { &x.jti, &x.uid, &x.account_id, &x.method, &x.service, &x.tty, &x.rhost };

                for (size_t i = 0; i < ELEMENTSOF(text); i++) {
                        r = store_column_text(&q, (unsigned) i, text[i]);
                        if (r < 0)
                                return r;
                }
                x.issued = store_column_int64(&q, 7);
                x.expires = store_column_int64(&q, 8);
                x.revoked = store_column_int64(&q, 9);
                r = fn(&x, userdata);
                if (r < 0)
                        return r;
        }
        return r;
}
