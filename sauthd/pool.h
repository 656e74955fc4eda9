/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "util.h"

/*
 * A fixed pool of worker threads for work that must not run on the event
 * loop (Argon2id, sending mail). A job's work() runs on a worker; its done()
 * runs later on the loop thread, woken through an eventfd watched by
 * sd-event. Jobs never touch sd-bus or the store from work().
 */

typedef struct Pool Pool;

typedef void (*pool_work_fn)(void *userdata);
typedef void (*pool_done_fn)(void *userdata);

/* n_workers = 0 means the number of CPUs. At most max_queue jobs wait or
 * run at once; more are refused with -EBUSY. */
int pool_new(sd_event *event, const char *name, unsigned n_workers, unsigned max_queue, Pool **ret);

/* The same, with n_first_workers more workers kept for "first" jobs (idle
 * while only others wait), and the n_workers others running at nice value
 * worker_nice (0: the process's). */
int pool_new_full(sd_event *event, const char *name, unsigned n_workers, unsigned n_first_workers,
                  int worker_nice, unsigned max_queue, Pool **ret);

/* Queues a job. userdata belongs to the job until done() runs. */
_must_check_ int pool_submit(Pool *p, pool_work_fn work, pool_done_fn done, void *userdata);

/* Queues a job in its class: "first" jobs (admin callers: PAM stacks) are
 * taken by the next free worker before any other; the others wait in one
 * queue per key (a caller's uid), and the keys are served in turn, one
 * job each — so one busy uid cannot make another wait behind all of its
 * jobs. */
_must_check_ int pool_submit_for(Pool *p, bool first, uint64_t key, pool_work_fn work, pool_done_fn done,
                                 void *userdata);

/* Jobs submitted and not yet done. */
unsigned pool_pending(const Pool *p);

unsigned pool_workers(const Pool *p);

/* Called on the loop whenever the pool becomes idle (for shutdown). */
void pool_set_idle_callback(Pool *p, void (*idle)(void *userdata), void *userdata);

/* Waits for running jobs, runs every pending done(), stops the threads. */
void pool_free(Pool *p);
static inline void pool_freep(Pool **p) {
        pool_free(*p);
}
