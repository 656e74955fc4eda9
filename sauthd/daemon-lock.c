/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>

#include "daemon-lock.h"

/* A ticket lock: each thread draws the next number and waits until it is
 * served. Threads are few (the loop and [store] pool_size workers), so one
 * condition for all of them costs nothing worth a queue per thread. */
static pthread_mutex_t lock_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lock_turn = PTHREAD_COND_INITIALIZER;
static uint64_t lock_next, lock_serving;
static _Thread_local bool lock_held;

void daemon_lock(void) {
        uint64_t ticket;

        assert(!lock_held);
        pthread_mutex_lock(&lock_mutex);
        ticket = lock_next++;
        while (ticket != lock_serving)
                pthread_cond_wait(&lock_turn, &lock_mutex);
        pthread_mutex_unlock(&lock_mutex);
        lock_held = true;
}

void daemon_unlock(void) {
        assert(lock_held);
        lock_held = false;
        pthread_mutex_lock(&lock_mutex);
        lock_serving++;
        pthread_cond_broadcast(&lock_turn);
        pthread_mutex_unlock(&lock_mutex);
}

bool daemon_lock_held(void) {
        return lock_held;
}
