/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "caller.h"
#include "manager.h"
#include "store.h"

/*
 * Lockout, shared by logins and old-password checks (rule 3), counted per
 * account and per source (rule 8).
 *
 * A source is who tried: for a PAM stack (an admin caller) the remote host
 * it reports, or its service and tty for a local login without one; for
 * anyone else the caller's uid. Failures from PAM stacks count toward the
 * account lock ([lockout] deny, fail_interval, unlock_time), which lives
 * in the store. An ordinary caller's failures count only against that
 * caller for that account, in memory: its replies slow down, and after
 * deny failures it is answered RateLimited for caller_backoff seconds,
 * doubling each time — the account's owner is never locked out by them.
 * Every source is also limited over all accounts together
 * ([lockout] deny_per_source). Unknown user names are counted like
 * accounts, in a bounded table, so they lock and slow down alike.
 *
 * Failures of real accounts are not written at once: they wait in memory
 * and a timer writes them in one batch (manager_schedule_flush). The timer
 * runs after failures of unknown names too, and then makes the same kind
 * of write, so nothing the loop does after a failure tells a concurrent
 * caller whether the account exists (rule 11).
 */

typedef struct LockoutSource {
        bool pam;               /* an admin caller: counts toward the account lock */
        char key[400];          /* "rhost:HOST", "local:SERVICE:TTY" or "uid:N" */
} LockoutSource;

void lockout_source(const Caller *c, const char *service, const char *tty, const char *rhost,
                    LockoutSource *ret);

typedef enum LockoutVerdict {
        LOCKOUT_OPEN,
        LOCKOUT_LOCKED,         /* the account (or the unknown name) is locked */
        LOCKOUT_RATE_LIMITED,   /* this source must wait */
} LockoutVerdict;

/* Before an attempt: name as given, a the account it names (NULL: none). */
LockoutVerdict lockout_check(Manager *m, const LockoutSource *src, const char *name,
                             const StoreAccount *a, int64_t now);

/* Whether the account is locked at now, as the store and the failures not
 * yet written say now: attempts run in parallel, so a lock may have been
 * set while a hash was computed. Fails closed. */
bool lockout_locked_now(Manager *m, const StoreAccount *a, int64_t now);

/* The account's lock for AccountStatus: the store's, or the one the
 * failures not yet written make. 0 if none. */
int64_t lockout_locked_until(Manager *m, const StoreAccount *a, int64_t now);

/* The account's failures toward its lock for AccountStatus: the store's
 * count in its window and those not yet written. */
unsigned lockout_failures(Manager *m, const StoreAccount *a, int64_t now);

/* An admin's unlock, like faillock --reset: clears the account's lock and
 * failure count in the store, the failures not yet written, a hold, and
 * every source's in-memory count for the account. The per-source counts
 * over all accounts ([lockout] deny_per_source) belong to the source and
 * stay. Negative errno when the store refused the write (nothing changed). */
int lockout_unlock(Manager *m, const StoreAccount *a);

/* Counts a wrong password; returns how long (µs) the reply should wait:
 * ordinary callers are slowed down from their second failure on. */
uint64_t lockout_failure(Manager *m, const LockoutSource *src, const char *name,
                         const StoreAccount *a, int64_t now);

/* A right password: the source's count for this account starts afresh,
 * and failures of the account not yet written are dropped (the success
 * clears the store's count too). */
void lockout_success(Manager *m, const LockoutSource *src, const char *name, const StoreAccount *a);

/* Writes the failures not yet written, in one transaction, or the same
 * kind of write when only unknown names failed. The timer's work. */
void lockout_flush(Manager *m, int64_t now, bool wrote);

/*
 * Fail closed. When a failure (or a success) cannot be written, the account
 * is held in memory: every attempt is refused as if it were locked — right
 * and wrong passwords alike — until the store takes writes again. The
 * pending failures are written then; lockout_retry() tries, from the
 * housekeeping timer and before an attempt on a held account.
 */
bool lockout_held(Manager *m, const StoreAccount *a, int64_t now);
void lockout_hold(Manager *m, const StoreAccount *a, bool failure);
/* Tries to write what is pending; returns how many accounts are still held. */
size_t lockout_retry(Manager *m, int64_t now);

int lockout_init(Manager *m);
void lockout_done(Manager *m);
