/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdint.h>

#include "store-internal.h"
#include "util.h"

/*
 * The persisted failure counts and locks of accounts. The rules (deny,
 * fail_interval, unlock_time) come from ../lockout.c; this file only
 * counts.
 */

/* Like pam_faillock: failures count inside a window of fail_interval
 * seconds from the first one; a lock that has run out starts afresh.
 * Each step is one UPDATE computed from the row's own values, so that
 * concurrent writers (a shared PostgreSQL store) never lose a count. */
static int store_failure_rows(Store *s, const char *account_id, int64_t now,
                              unsigned deny, int64_t fail_interval, int64_t unlock_time) {
        int64_t failures, locked;
        int r;

        r = store_run(s, "UPDATE accounts SET"
                         " failures = CASE WHEN first_failure = 0 OR ? - first_failure > ?"
                         "   OR (locked_until <> 0 AND locked_until <= ?) THEN 1 ELSE failures + 1 END,"
                         " first_failure = CASE WHEN first_failure = 0 OR ? - first_failure > ?"
                         "   OR (locked_until <> 0 AND locked_until <= ?) THEN ? ELSE first_failure END,"
                         " locked_until = CASE WHEN locked_until <> 0 AND locked_until <= ? THEN 0"
                         "   ELSE locked_until END"
                         " WHERE id = ?",
                      "iiiiiiiis", now, fail_interval, now, now, fail_interval, now, now, now, account_id);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;

        /* The lock and the count read below are those of the UPDATE above
         * only because store_begin() holds the write lock (on PostgreSQL,
         * the row lock that UPDATE took) until the commit. */
        if (deny > 0) {
                if (__builtin_add_overflow(now, unlock_time, &locked))
                        locked = INT64_MAX;
                r = store_run(s, "UPDATE accounts SET locked_until = ? WHERE id = ? AND failures >= ?",
                              "isi", locked, account_id, (int64_t) deny);
                if (r < 0)
                        return r;
        }
        r = store_query_int64(s, &failures, "SELECT failures FROM accounts WHERE id = ?", "s", account_id);
        if (r < 0)
                return r;
        return failures > INT_MAX ? INT_MAX : (int) failures;
}

int store_record_failure(Store *s, const char *account_id, int64_t now,
                         unsigned deny, int64_t fail_interval, int64_t unlock_time) {
        int r;

        if (!s || !account_id)
                return -EINVAL;
        r = store_begin(s);
        if (r < 0)
                return r;
        return store_end(s, store_failure_rows(s, account_id, now, deny, fail_interval, unlock_time));
}

static int store_failure_batch(Store *s, char *const *ids, const unsigned *counts, size_t n, int64_t now,
                               unsigned deny, int64_t fail_interval, int64_t unlock_time, int *ret_failures) {
        bool wrote = false;
        int r;

        for (size_t i = 0; i < n; i++) {
                r = -ENOENT;
                for (unsigned k = 0; k < counts[i]; k++) {
                        r = store_failure_rows(s, ids[i], now, deny, fail_interval, unlock_time);
                        if (r == -ENOENT)
                                break;
                        if (r < 0)
                                return r;
                        wrote = true;
                }
                if (ret_failures)
                        ret_failures[i] = r;
        }
        if (wrote)
                return 0;
        /* Nothing real in the batch: the same kind of write, on whichever
         * row comes first. */
        r = store_run(s, "UPDATE accounts SET failures = failures"
                         " WHERE id = (SELECT MIN(id) FROM accounts)", "");
        return r < 0 ? r : 0;
}

int store_record_failures(Store *s, char *const *ids, const unsigned *counts, size_t n, int64_t now,
                          unsigned deny, int64_t fail_interval, int64_t unlock_time, int *ret_failures) {
        int r;

        if (!s || (n > 0 && (!ids || !counts)))
                return -EINVAL;
        r = store_begin(s);
        if (r < 0)
                return r;
        return store_end(s, store_failure_batch(s, ids, counts, n, now, deny, fail_interval, unlock_time,
                                                ret_failures));
}

int store_record_success(Store *s, const char *account_id, int64_t now) {
        int r;

        if (!s || !account_id)
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET failures = 0, first_failure = 0, locked_until = 0,"
                         " last_login = ? WHERE id = ?",
                      "is", now, account_id);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

int store_clear_failures(Store *s, const char *account_id) {
        int r;

        if (!s || isempty(account_id))
                return -EINVAL;
        r = store_run(s, "UPDATE accounts SET failures = 0, first_failure = 0, locked_until = 0 WHERE id = ?",
                      "s", account_id);
        if (r < 0)
                return r;
        return r == 0 ? -ENOENT : 0;
}

int store_account_touch(Store *s, const char *account_id) {
        int r;

        if (!s || isempty(account_id))
                return -EINVAL;
        /* Changes nothing, but is a write: it fails while the store
         * cannot take writes. */
        r = store_run(s, "UPDATE accounts SET failures = failures WHERE id = ?", "s", account_id);
        return r < 0 ? r : 0;
}
