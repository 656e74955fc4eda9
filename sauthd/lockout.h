/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "manager.h"
#include "store.h"

/*
 * Lockout ([lockout] deny, fail_interval, unlock_time), shared by logins
 * and old-password checks (rule 3). The counts live in the store.
 */

/* Whether the account is locked at now, as the store says now: attempts
 * run in parallel, so a lock may have been set while a hash was computed.
 * Fails closed. */
bool lockout_locked_now(Manager *m, const StoreAccount *a, int64_t now);

/* Counts a wrong password against an account that has one. If the store
 * cannot take the count, the account is held (rule 9). */
void lockout_record_failure(Manager *m, const StoreAccount *a, int64_t now);

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
void lockout_done(Manager *m);
