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

/* Counts a wrong password against an account that has one. */
void lockout_record_failure(Manager *m, const StoreAccount *a, int64_t now);
