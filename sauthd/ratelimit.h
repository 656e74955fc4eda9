/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * A token bucket per key (a caller's uid), in a small fixed table: cheap
 * enough to sit in front of every CheckPassword call. The oldest bucket is
 * recycled when the table is full.
 */

#define RATELIMIT_SLOTS 64

typedef struct RateBucket {
        uint64_t key;
        double tokens;
        uint64_t last_usec;
        bool used;
} RateBucket;

typedef struct RateLimit {
        double rate_per_sec;
        double burst;
        RateBucket slots[RATELIMIT_SLOTS];
} RateLimit;

void ratelimit_init(RateLimit *rl, double rate_per_sec, double burst);

/* CheckPassword per caller uid. A password dialog checks as the user
 * types: a fast typist makes 10 keys a second, bursts of 15, and pasting
 * or holding a key more; 5 a second (as before) refused such a dialog
 * after its burst ran out, a few seconds into a long password. 20 a second
 * sustained, with 60 at once, is twice a typist's pace, while a script
 * gets no more than that: the check costs zxcvbn and pwquality, never a
 * hash, and guesses nothing (no password is compared). */
#define CHECK_RATE_PER_SEC 20.0
#define CHECK_BURST 60.0

/* true if the call for key may go ahead at now_usec. */
bool ratelimit_allow(RateLimit *rl, uint64_t key, uint64_t now_usec);

/*
 * Work in flight per key (a caller's uid), for hash jobs: one local user
 * cannot fill the pool and keep everyone else from logging in. A key may
 * hold at most per_key units, all keys together at most total.
 */

#define QUOTA_SLOTS 64

typedef struct Quota {
        unsigned per_key;
        unsigned total;
        unsigned used;
        struct {
                uint64_t key;
                unsigned n;
        } slots[QUOTA_SLOTS];
} Quota;

void quota_init(Quota *q, unsigned per_key, unsigned total);

/* true and one unit taken, or false when key or the total is at its cap. */
bool quota_acquire(Quota *q, uint64_t key);

void quota_release(Quota *q, uint64_t key);

/*
 * Calls held per bus connection (a unique name) and connections with calls
 * held per key (a caller's uid): a flood of connections from one local
 * user, each keeping calls in flight, is refused (LimitExceeded) before it
 * can grow sauthd's memory. Beyond CONNLIMIT_SLOTS connections with calls
 * held, new ones are refused too (fail closed; admins are exempt).
 */

#define CONNLIMIT_SLOTS 256
#define CONNLIMIT_NAME_MAX 32

typedef struct ConnLimit {
        unsigned per_conn;
        unsigned conns_per_key;
        struct {
                char sender[CONNLIMIT_NAME_MAX];   /* "" = free */
                uint64_t key;
                unsigned n;
        } slots[CONNLIMIT_SLOTS];
} ConnLimit;

void connlimit_init(ConnLimit *c, unsigned per_conn, unsigned conns_per_key);

/* true and one call counted for sender (of key), or false at a cap. */
bool connlimit_acquire(ConnLimit *c, const char *sender, uint64_t key);

void connlimit_release(ConnLimit *c, const char *sender);
