/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lockout.h"
#include "util.h"

bool lockout_locked_now(Manager *m, const StoreAccount *a, int64_t now) {
        _cleanup_(store_account_freep) StoreAccount *fresh = NULL;

        if (store_account_by_uid(m->store, a->uid, &fresh) < 0 || !streq(fresh->id, a->id))
                return true;
        return fresh->locked_until > now;
}

void lockout_record_failure(Manager *m, const StoreAccount *a, int64_t now) {
        const SauthConfig *c = m->config;
        int r;

        /* An account without a password cannot be guessed at: nothing to
         * count (and nothing to lock its owner out of setting one). */
        if (!a->password_hash)
                return;
        r = store_record_failure(m->store, a->id, now, c->deny, (int64_t) c->fail_interval, (int64_t) c->unlock_time);
        if (r < 0)
                log_error("account %s: failure not recorded: %s", a->username, strerror(-r));
        else if (c->deny > 0 && r == (int) c->deny)
                log_warning("account %s locked after %d failures", a->username, r);
}
