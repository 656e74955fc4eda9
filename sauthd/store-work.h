/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "store.h"
#include "util.h"

/*
 * The store workers: with a store across the network (PostgreSQL), what
 * calls the store runs here instead of on the event loop — method
 * handlers, the ends of requests, the timers that write — so that a slow
 * or unreachable database holds up only the calls that need it, never
 * Methods, VerifyToken or anything else the loop answers from memory.
 *
 * [store] pool_size threads, each with a store connection of its own
 * (store_thread_bind()). A job runs under the daemon lock (daemon-lock.h),
 * which the thread lets go while its store call waits on the network; after
 * each job the loop is woken, so that what the job armed (a timer, a reply
 * queued on the bus) is taken up at once.
 *
 * A job that waited in the queue longer than max_wait (the store's timeout)
 * runs its expired() instead: the caller gets "store unavailable" within
 * the timeout, whatever queued up in front of it.
 *
 * store_work_new() also sets the store's wait hooks: a thread holding the
 * daemon lock lets it go around each wait on the network, and wakes the
 * loop first.
 */

typedef struct StoreWork StoreWork;

typedef void (*store_work_fn)(void *userdata);

/* Starts store_workers(store) threads, with room for max_queue jobs. */
int store_work_new(sd_event *event, Store *store, unsigned max_queue, uint64_t max_wait_usec, StoreWork **ret);

/* Queues fn(userdata); expired instead if it waited too long. A call
 * (expired given) is refused with -EBUSY when max_queue jobs are queued or
 * running; internal work (expired NULL: a request's end, a timer's round,
 * bounded where it comes from, and run however late) never is, so that it
 * never falls back to the loop. -ESHUTDOWN once stopping; the caller keeps
 * userdata then. Under the daemon lock. */
_must_check_ int store_work_submit(StoreWork *w, store_work_fn fn, store_work_fn expired, void *userdata);

/* Runs what is queued, then stops the threads. Called by the lock's holder,
 * which lets it go while the workers finish. */
void store_work_free(StoreWork *w);
static inline void store_work_freep(StoreWork **w) {
        store_work_free(*w);
}
