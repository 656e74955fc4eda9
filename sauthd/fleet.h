/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Hosts sharing one store (a fleet on PostgreSQL). Each host caches what
 * it must answer without SQL: revoked session tokens, API keys, the other
 * hosts' public keys. The store's change feed says when another host
 * changed one of them; this file applies it on the loop. When the feed's
 * connection is lost, it is reopened every second, and once it is back
 * every cache is read again in full, as changes made meanwhile were not
 * seen. On a store only this host uses (SQLite) nothing here runs.
 */

typedef struct Manager Manager;
typedef struct Fleet Fleet;

/* On a shared store: publishes this host's public keys, reads the other
 * hosts' and starts listening. Nothing on SQLite. */
int fleet_start(Manager *m);
void fleet_stop(Manager *m);
