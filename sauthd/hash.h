/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Argon2id password hashes (libsodium crypto_pwhash_str). These block for
 * as long as the cost says: call them from pool workers only.
 */

typedef struct HashCost {
        unsigned long long ops;         /* t */
        unsigned long long mem_kib;     /* m, KiB */
} HashCost;

#define HASH_STR_MAX crypto_pwhash_STRBYTES

/* 0, or -ENOMEM when the memory cost cannot be had. */
int hash_password(const char *password, HashCost cost, char out[static HASH_STR_MAX]);

/* true only if password matches hash. A NULL or malformed hash is false. */
bool hash_verify(const char *hash, const char *password);

/* true if hash was made with another cost than 'cost'. */
bool hash_needs_rehash(const char *hash, HashCost cost);

/* A hash of a random secret, made once at startup, verified against for
 * unknown users and accounts without a password, so that every login costs
 * one verify at the configured parameters. */
int hash_make_dummy(HashCost cost, char out[static HASH_STR_MAX]);
