/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/*
 * The daemon lock: with a store across the network (PostgreSQL), the
 * daemon's state is touched by more than one thread — the event loop, and
 * the store workers that run what waits on the database (store-work.h).
 * Whoever runs daemon code holds this one lock, so that code still runs
 * one piece at a time as it does on the loop alone; a store worker lets
 * go of it only while its store call waits on the network (the driver's
 * wait hooks), and the loop only while it polls. Nothing else changes
 * hands: the daemon's structures need no locks of their own.
 *
 * The rule that comes with it, for code a store worker runs: a pointer
 * into shared state (a cache entry, a flow, a table row) taken before a
 * store call may be gone after it — copy what is needed, or look it up
 * again.
 *
 * Fair: waiting threads take it in the order they asked, so neither a
 * busy loop nor a busy worker keeps the others out. With the SQLite store
 * there are no store workers and the lock is never taken.
 */

void daemon_lock(void);
void daemon_unlock(void);

/* Whether this thread holds the lock. */
bool daemon_lock_held(void);
