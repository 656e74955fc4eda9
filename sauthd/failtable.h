/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Failure counts that live in memory only: per (name, source) pair, per
 * source, and per unknown user name. The table is bounded: a fixed number
 * of sets of FAILTABLE_WAYS entries; an entry's set is chosen by SipHash
 * (libsodium's crypto_shorthash) of its key under a random key per table,
 * so a caller cannot aim names at one set. When a set is full, the entry
 * whose count ran out first (or the oldest) makes room. Loop thread only.
 */

#define FAILTABLE_WAYS 8

typedef struct FailEntry {
        uint64_t key;
        uint64_t group;         /* the key of (a, ""): every b of one a */
        uint32_t failures;      /* in the window that began at first */
        uint32_t strikes;       /* times blocked: the back-off doubles */
        int64_t first;          /* UNIX time the window began, 0: free */
        int64_t until;          /* blocked or locked until (UNIX time) */
        int64_t last;           /* last failure: the least recent goes first */
} FailEntry;

typedef struct FailTable FailTable;

/* n_entries is rounded up to a multiple of FAILTABLE_WAYS. */
int failtable_new(size_t n_entries, FailTable **ret);
void failtable_free(FailTable *t);

/* The entry of (a, b), window and block reset when both ran out at now
 * (after window seconds). NULL when absent and !create. */
FailEntry *failtable_get(FailTable *t, const char *a, const char *b, int64_t now, int64_t window, bool create);

/* Forgets (a, b). */
void failtable_forget(FailTable *t, const char *a, const char *b);

/* Forgets (a, b) for every b: an admin's unlock of the account a. Walks
 * the whole table (an admin's rare call, a few thousand entries). */
void failtable_forget_all(FailTable *t, const char *a);

size_t failtable_size(const FailTable *t);
